/**
 * Units as lab reports print them, read into UCUM codes, validated and converted with NLM's
 * @lhncbc/ucum-lhc.
 *
 * ucum-lhc alone is not enough to read printed units: it is case-sensitive ("MG/DL" is invalid)
 * and it accepts some printed forms with a meaning no lab intends ("K/uL" is kelvin per microlitre,
 * "10^3/uL" parses as valid). So printed text is first rewritten here, token by token, into the
 * UCUM code a lab means, and only that code is handed to ucum-lhc for validation. A printed unit
 * that this module does not recognise is undefined rather than a guess.
 *
 * The ucum-lhc instance loads its unit tables (a ~230 kB JSON) when it is created; it is created
 * on first use so that importing this module (e.g. just to call looksLikeUnit) stays cheap.
 */
import ucum, { type UcumLhcUtils } from "@lhncbc/ucum-lhc"

/** A unit as printed on a report, read: the UCUM code when it has one that @lhncbc/ucum-lhc validates. */
export interface UnitReading {
  readonly printed: string
  readonly ucum: string | undefined
}

let utilsInstance: UcumLhcUtils | undefined
const ucumUtils = (): UcumLhcUtils => {
  utilsInstance ??= ucum.UcumLhcUtils.getInstance()
  return utilsInstance
}

const SUPERSCRIPT_DIGITS: Readonly<Record<string, string>> = {
  "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9"
}

/**
 * Printed text in one spelling: superscript exponents become "^n" (before NFKC, which would turn
 * "10³" into "103"), the micro sign and Greek mu become "u", whitespace goes.
 */
const canonicalText = (printed: string): string =>
  printed
    .trim()
    // a run of superscript digits, e.g. "³" in "10³/µL" or "²" in "1.73m²"
    .replace(/[⁰¹²³⁴⁵⁶⁷⁸⁹]+/g, (run) => "^" + [...run].map((c) => SUPERSCRIPT_DIGITS[c] ?? "").join(""))
    .normalize("NFKC")
    // micro sign (U+00B5) or Greek mu (U+03BC), e.g. "µmol/L"
    .replace(/[µμ]/g, "u")
    // any whitespace, e.g. the spaces in "x 10^9 / L" or "mm Hg"
    .replace(/\s+/g, "")

/** Whole printed units (lower-cased, no spaces) that are not built from the atoms below. */
const WHOLE: Readonly<Record<string, string>> = {
  "%": "%",
  percent: "%",
  ratio: "{ratio}",
  "°c": "Cel",
  "ºc": "Cel",
  degc: "Cel",
  celsius: "Cel",
  "°f": "[degF]",
  "ºf": "[degF]",
  degf: "[degF]",
  fahrenheit: "[degF]",
  mmhg: "mm[Hg]",
  "mm[hg]": "mm[Hg]",
  cmh2o: "cm[H2O]",
  kpa: "kPa",
  lb: "[lb_av]",
  lbs: "[lb_av]",
  in: "[in_i]",
  inch: "[in_i]",
  inches: "[in_i]",
  bpm: "/min",
  "beats/min": "/min",
  "breaths/min": "/min",
  "/min": "/min",
  hpf: "/[HPF]",
  "/hpf": "/[HPF]",
  "per/hpf": "/[HPF]",
  lpf: "/[LPF]",
  "/lpf": "/[LPF]",
  sec: "s",
  secs: "s",
  seconds: "s",
  "mm/hr": "mm/h",
  "mm/h": "mm/h",
  "mm/1hr": "mm/h",
  "mm/1h": "mm/h",
  "eu/dl": "{Ehrlich'U}/dL"
}

/**
 * Unit atoms (lower-cased) that lab units are built from, with their UCUM code. Keys are lower
 * case because reports print "mg/dl", "MG/DL", "mmol/l" for the same thing; no two lab atoms
 * differ only in case except the ones handled before this table is consulted (G/L, T/L, M/uL).
 */
const ATOMS: Readonly<Record<string, string>> = {
  g: "g", gm: "g", mg: "mg", ug: "ug", mcg: "ug", ng: "ng", pg: "pg", kg: "kg",
  l: "L", dl: "dL", ml: "mL", ul: "uL", mcl: "uL", nl: "nL", fl: "fL", mm3: "mm3", "mm^3": "mm3", cumm: "mm3", cmm: "mm3",
  mol: "mol", mmol: "mmol", umol: "umol", mcmol: "umol", nmol: "nmol", pmol: "pmol",
  eq: "eq", meq: "meq",
  u: "U", mu: "mU", uu: "uU", ku: "kU", iu: "[IU]", miu: "m[IU]", uiu: "u[IU]", kiu: "k[IU]",
  // French and Spanish reports print "UI" for international units ("UI/L", "mUI/mL")
  ui: "[IU]", mui: "m[IU]", uui: "u[IU]",
  ukat: "ukat", nkat: "nkat",
  s: "s", sec: "s", min: "min", h: "h", hr: "h", d: "d", day: "d"
}

/**
 * Atoms that are not read as a unit when they stand alone: a lone "L" or "H" is a flag (low,
 * high), a lone "K" or "U" is more often a name or a letter than a unit.
 */
const NOT_ALONE = new Set(["l", "u", "h", "d", "k", "m", "eq", "mol", "ul", "dl", "ml", "nl", "hr", "day"])

/** "cells/uL", "#/uL", "{cells}/uL": the count noun is dropped, leaving a per-volume count ("/uL"). */
const COUNT_NOUNS = new Set(["", "cells", "cell", "#", "{cells}", "count"])

/** Volumes a blood count is given per (lower-cased): thousand per microlitre, per litre, per cubic mm. */
const COUNT_VOLUMES: Readonly<Record<string, string>> = {
  ul: "uL", mcl: "uL", l: "L", nl: "nL", mm3: "mm3", "mm^3": "mm3", cumm: "mm3", cmm: "mm3"
}

// a power of ten written in any of the ways reports print it, then a volume:
// "x10^9/L", "10*3/uL", "x10E3/uL", "10e9/l", "x10(9)/L", "×10^12/L", "10**3/uL", "10³/mm³"
const POWER_OF_TEN = /^[x×*]?10(?:(?:\^|\*\*?|e)\(?(\d{1,2})\)?|\((\d{1,2})\))\/([a-z0-9^]+)$/i

// a word or letter for thousand / million / hundred thousand (lakh) before a volume: "K/uL", "thou/uL", "x1000/uL",
// "mill/mm3", "Tsd/µl" and "tys/µl" (German, Polish thousand), "mln/µl", "milhões/mm³", "lakhs/cumm"
const WORD_MULTIPLIER = /^(k|thou|thousand|x1000|x10\^3|tsd\.?|tausend|tys\.?|m|mil|mill|million|mln|mio\.?|milh[õo]es|millones|lakhs?|lacs?)\/([a-z0-9^]+)$/i

/** The power of ten a multiplier word stands for. "mil" is a thousand per mm³ in Portuguese ("412 mil/mm³"), a million per cumm in Indian reports ("4.5 mil/cumm"). */
const multiplierExponent = (word: string, volume: string): number => {
  const w = word.toLowerCase().replace(/\.$/, "")
  if (["k", "thou", "thousand", "x1000", "x10^3", "tsd", "tausend", "tys"].includes(w)) return 3
  if (/^lak|^lac/.test(w)) return 5
  if (w === "mil") return /^(?:cumm|cmm)$/i.test(volume) ? 6 : 3
  return 6
}

// French SI prefixes used as counts (case matters: "g/L" is grams per litre): "G/L" (giga), "T/L" (tera).
// An all-capitals report's "G/L" meaning grams is therefore read as a count; for a mass analyte
// (hemoglobin) it then does not convert, and the critical/plausibility checks say undefined
// rather than a wrong number.
const SI_COUNT = /^([GT])\/L$/

// eGFR's body-surface normalisation in its printed forms: "mL/min/1.73m²", "ml/min/1,73 m2", "mL/min/1.73m^2"
const EGFR = /^ml\/min\/(?:per)?1[.,]73m\^?2$/i

const countCode = (exponent: number, volume: string): string | undefined => {
  const v = COUNT_VOLUMES[volume.toLowerCase()]
  return v === undefined ? undefined : `10*${exponent}/${v}`
}

/**
 * The UCUM code a printed unit means, built by the rules above without asking ucum-lhc; undefined
 * when the text is not a unit this module knows. Cheap: used by looksLikeUnit on every token.
 */
const candidate = (printed: string): string | undefined => {
  const text = canonicalText(printed)
  if (text === "") return undefined
  const lower = text.toLowerCase()
  const whole = WHOLE[lower]
  if (whole !== undefined) return whole
  if (EGFR.test(text)) return "mL/min/{1.73_m2}"
  const si = SI_COUNT.exec(text)
  if (si !== null) return si[1] === "G" ? "10*9/L" : "10*12/L"
  const power = POWER_OF_TEN.exec(text)
  if (power !== null) return countCode(Number(power[1] ?? power[2]), power[3] ?? "")
  const word = WORD_MULTIPLIER.exec(text)
  if (word !== null) {
    const multiplier = (word[1] ?? "").toLowerCase()
    // "m/uL" in lower case is not a count anyone prints; only "M/uL" means million per microlitre
    if (multiplier === "m" && word[1] !== "M") return undefined
    return countCode(multiplierExponent(multiplier, word[2] ?? ""), word[2] ?? "")
  }
  const parts = lower.split("/")
  if (parts.length > 3) return undefined
  const [head = "", ...rest] = parts
  if (rest.length === 0) return NOT_ALONE.has(head) ? undefined : ATOMS[head]
  const headCode = COUNT_NOUNS.has(head) ? "" : ATOMS[head]
  if (headCode === undefined) return undefined
  const restCodes = rest.map((p) => ATOMS[p])
  if (restCodes.some((c) => c === undefined)) return undefined
  return [headCode, ...restCodes].join("/")
}

/** Does this token read as a unit (mg/dL, x10^9/L, 10*3/uL, K/uL, µmol/L, umol/L, mL/min/1.73m², mEq/L, IU/L, mIU/mL, fL, pg, %, /HPF, ratio, mmHg, °C, °F, kg, lb, bpm, …)? Cheap, no ucum call: used to classify tokens. */
export const looksLikeUnit = (token: string): boolean => candidate(token) !== undefined

const validCodes = new Map<string, boolean>()

/** Is this exactly a valid UCUM code (not merely one ucum-lhc could suggest a substitute for)? Cached. */
export const isValidUcum = (code: string): boolean => {
  const known = validCodes.get(code)
  if (known !== undefined) return known
  let valid = false
  try {
    const result = ucumUtils().validateUnitString(code)
    valid = result.status === "valid" && result.ucumCode === code
  } catch {
    valid = false
  }
  validCodes.set(code, valid)
  return valid
}

/** The UCUM code for a printed unit (validated with ucum-lhc, result cached), or undefined. Examples: "10^3/uL"→"10*3/uL", "x10E3/uL"→"10*3/uL", "K/uL"→"10*3/uL", "x10^9/L"→"10*9/L", "µmol/L"|"umol/L"|"mcmol/L"→"umol/L", "mL/min/1.73m²"→"mL/min/{1.73_m2}", "IU/L"→"[IU]/L", "mEq/L"→"meq/L", "mmHg"→"mm[Hg]", "°C"→"Cel", "°F"→"[degF]", "lb"→"[lb_av]", "%"→"%", "ratio"→"{ratio}", "/HPF"→"/[HPF]", "cells/uL"→"/uL". */
export const toUcum = (printed: string): string | undefined => {
  const code = candidate(printed)
  return code !== undefined && isValidUcum(code) ? code : undefined
}

export const readUnit = (printed: string): UnitReading => ({ printed, ucum: toUcum(printed) })

/**
 * value converted from one UCUM unit to another (mass↔substance with molarMass g/mol), or
 * undefined when not convertible. `charge` (absolute ionic charge, e.g. 1 for Na⁺, 2 for Ca²⁺) is
 * what ucum-lhc needs between equivalents and moles (mEq/L ↔ mmol/L).
 */
export const convert = (
  value: number,
  fromUcum: string,
  toUcum: string,
  molarMass?: number,
  charge?: number
): number | undefined => {
  if (!Number.isFinite(value)) return undefined
  if (fromUcum === toUcum) return isValidUcum(fromUcum) ? value : undefined
  if (!isValidUcum(fromUcum) || !isValidUcum(toUcum)) return undefined
  try {
    const result = ucumUtils().convertUnitTo(fromUcum, value, toUcum, {
      ...(molarMass === undefined ? {} : { molecularWeight: molarMass }),
      ...(charge === undefined ? {} : { charge })
    })
    return result.status === "succeeded" && typeof result.toVal === "number" && Number.isFinite(result.toVal)
      ? result.toVal
      : undefined
  } catch {
    return undefined
  }
}
