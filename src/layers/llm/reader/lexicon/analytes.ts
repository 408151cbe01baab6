/**
 * The analyte lexicon: which analyte a printed test name means.
 *
 * Names are compared after normalisation (normaliseName): case, accents (Hämoglobin = Hamoglobin),
 * compatibility forms (pO₂ = pO2), British spelling (haemoglobin), German ß, punctuation and
 * simple plurals ("Platelets" = "Platelet") do not matter. Qualifiers that do not change the
 * analyte are dropped when the name as printed is not known: specimen words ("serum", "plasma",
 * ", blood"), the Nordic/German specimen prefixes "S-", "P-", "B-" ("S-Kalium"), "(calc)",
 * "fasting", "level". The urine prefix "U-" and suffix ", urine" are not dropped but read as
 * "urine", because they do change the analyte.
 *
 * Never a guess between two analytes: a name listed for two analytes, or declared ambiguous below
 * ("Protein": serum total protein or urine protein; "Neutrophils": the absolute count or the
 * percentage; "pH": blood or urine), looks up as undefined. lookupAnalyteForUnit settles those by
 * the printed unit when exactly one candidate's unit fits.
 *
 * Documented defaults (a report's section may say otherwise; the reader then asks for the urine
 * name, e.g. "Urine glucose"): "Glucose", "Bilirubin" and "Albumin" are the serum analytes,
 * "Leukocytes" is the blood count (German "Leukozyten"), "Calcium"/"Ca" is total calcium, "T3"
 * and "T4" are the total hormones, "Ketones", "Nitrite", "Specific gravity", "Color",
 * "Appearance", "Casts", "Bacteria" are urine (nothing else on a routine report has them).
 */
import { convert } from "../units.js"
import { type Analyte, TABLE } from "./table.js"

export type { Analyte } from "./table.js"

export const ANALYTES: ReadonlyArray<Analyte> = TABLE

/** A token as read from text: the normalised form and where it was in the original. */
interface Token {
  readonly norm: string
  readonly start: number
  readonly end: number
}

/**
 * One word in comparable form: compatibility and accent marks gone (NFKD then drop marks: "pO₂"
 * → "po2", "Hämoglobin" → "hamoglobin"), lower case, "ß" → "ss", British "haem"/"colour" →
 * American, and a plural "s" dropped from words of five letters or more (not "…ss", "…us",
 * "…is": "excess", "status", "analysis").
 */
const normaliseWord = (word: string): string => {
  const plain = word
    .normalize("NFKD")
    // combining marks left by NFKD, e.g. the diaeresis of "ä"
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    // German sharp s, e.g. "Gesamteiweiß" = "Gesamteiweiss"
    .replace(/ß/g, "ss")
    // letters NFKD does not take apart: Turkish dotless ı ("Açlık" = "ACLIK"), Polish ł, Danish ø and æ
    .replace(/ı/g, "i")
    .replace(/ł/g, "l")
    .replace(/ø/g, "o")
    .replace(/æ/g, "ae")
    // British spellings: "haemoglobin", "haematocrit", "colour"
    .replace(/haem/g, "hem")
    .replace(/colour/g, "color")
  // a plural: "platelets", "ketones", "plaquetas" (but not "excess", "status", "analysis")
  return plain.length >= 5 && /[^su]s$/.test(plain) && !/is$/.test(plain) ? plain.slice(0, -1) : plain
}

// a decimal number kept whole ("12.5", "3,1": so "Ca 12.5" is never "CA 12-5"), a word (letters,
// marks, digits: "Hämoglobin", "25", "pO₂"), or one significant symbol: "%" in "Neutrophils %",
// "#" in "NEUT#", "+" in "K+", "/" in "A/G ratio"
const TOKEN = /\p{N}+(?:[.,]\p{N}+)+|[\p{L}\p{M}\p{N}]+|[%#+/]/gu

const tokenise = (text: string): ReadonlyArray<Token> =>
  [...text.matchAll(TOKEN)].map((m) => ({
    norm: normaliseWord(m[0]),
    start: m.index,
    end: m.index + m[0].length
  }))

/** The comparable form of a name: its normalised words joined by single spaces. */
export const normaliseName = (name: string): string => tokenise(name).map((t) => t.norm).join(" ")

/** Specimen and method words that do not change which analyte a name means. */
const LEADING_QUALIFIERS = new Set(["s", "p", "b", "fs", "fp", "se", "pl", "serum", "plasma", "blood", "fasting", "random", "ser"])
const TRAILING_QUALIFIERS = new Set([
  "serum", "plasma", "blood", "ser", "plas", "s", "p", "b", "bld", "calc", "calculated", "calculation", "level", "lvl", "conc",
  "concentration", "fasting", "random", "venous", "result", "value", "test", "quantitative", "quant", "automated", "auto", "whole",
  "sp", "serique", "serico", "sanguin",
  // "fasting" in other languages (nüchtern, à jeun, en ayunas, em jejum, a digiuno, nuchter, na czczo, nalačno, açlık), Polish serum
  "nuchtern", "jeun", "ayuna", "ayunas", "jejum", "digiuno", "nuchter", "czczo", "nalacno", "aclik", "surowica"
])
/** Words marking urine: leading "U-", "Ur", "Urine", "Harn"; trailing ", urine", "UA", "Urin". */
const URINE_LEADING = new Set(["u", "ur", "urine", "urin", "harn"])
const URINE_TRAILING = new Set(["urine", "urin", "ua", "orina", "urinaire"])

/**
 * The forms of a name with specimen qualifiers dropped from either end, fewest dropped words
 * first, a dropped urine marker moved to the front ("Protein, urine" and "U-Protein" → "urine
 * protein"). Trying every such form, not just the barest, matters when a qualifier-looking word
 * belongs to the name ("Blood, urine, serum" is "blood urine", not "urine serum").
 */
const canonicalStages = (words: ReadonlyArray<string>): ReadonlyArray<ReadonlyArray<string>> => {
  const droppableLeading = (w: string) => LEADING_QUALIFIERS.has(w) || URINE_LEADING.has(w)
  const droppableTrailing = (w: string) => TRAILING_QUALIFIERS.has(w) || URINE_TRAILING.has(w)
  let maxLeading = 0
  while (maxLeading < words.length - 1 && droppableLeading(words[maxLeading] ?? "")) maxLeading++
  let maxTrailing = 0
  while (maxTrailing < words.length - 1 && droppableTrailing(words[words.length - 1 - maxTrailing] ?? "")) maxTrailing++
  const stages: Array<{ readonly dropped: number; readonly words: ReadonlyArray<string> }> = []
  for (let lead = 0; lead <= maxLeading; lead++) {
    for (let trail = 0; trail <= maxTrailing && lead + trail < words.length; trail++) {
      if (lead + trail === 0) continue
      const kept = words.slice(lead, words.length - trail)
      const dropped = [...words.slice(0, lead), ...words.slice(words.length - trail)]
      const urine = dropped.some((w) => w === "urine" || URINE_LEADING.has(w) || URINE_TRAILING.has(w))
      stages.push({ dropped: lead + trail, words: urine && kept[0] !== "urine" ? ["urine", ...kept] : kept })
    }
  }
  return stages.sort((a, b) => a.dropped - b.dropped).map((s) => s.words)
}

/**
 * Names deliberately left ambiguous: lookupAnalyte returns undefined for them, whatever table
 * entries say. Each lists the analytes it may mean (for lookupAnalyteForUnit).
 */
const DECLARED_AMBIGUOUS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["Protein", ["total_protein", "urine_protein"]],
  ["pH", ["ph_blood", "urine_ph"]],
  ["TP", ["total_protein", "pt"]],
  ["Saturation", ["transferrin_saturation", "o2_saturation"]],
  ["Leukocytes urine", ["urine_leukocyte_esterase", "urine_wbc"]],
  ...(
    [
      ["neutrophils", ["Neutrophils", "Neutrophil", "Neut", "Neutro", "Neutrophile", "Neutrophiles", "Neutrófilos", "Neutrofili", "Neutrofielen", "Segmented neutrophils", "Segs", "PNN", "Polynucléaires neutrophiles"]],
      ["lymphocytes", ["Lymphocytes", "Lymphocyte", "Lymph", "Lymphs", "Lym", "Lymphozyten", "Linfocitos", "Linfociti", "Lymfocyten"]],
      ["monocytes", ["Monocytes", "Monocyte", "Mono", "Monos", "Monozyten", "Monocitos", "Monociti", "Monocyten"]],
      ["eosinophils", ["Eosinophils", "Eosinophil", "Eos", "Eosinophile", "Eosinophiles", "Eosinófilos", "Eosinofili", "Eosinofielen", "Polynucléaires éosinophiles"]],
      ["basophils", ["Basophils", "Basophil", "Baso", "Basos", "Basophile", "Basophiles", "Basófilos", "Basofili", "Basofielen", "Polynucléaires basophiles"]]
    ] as const
  ).flatMap(([id, names]) => names.map((n) => [n, [`${id}_abs`, `${id}_pct`]] as const))
]

type Entry = { readonly kind: "one"; readonly analyte: Analyte } | { readonly kind: "ambiguous"; readonly ids: ReadonlyArray<string> }

/** Two analytes sharing a normalised name: kept for the test that proves there are none. */
export interface Collision {
  readonly key: string
  readonly ids: ReadonlyArray<string>
}

const buildIndex = () => {
  const index = new Map<string, Entry>()
  const collisions: Array<Collision> = []
  const add = (key: string, analyte: Analyte) => {
    if (key === "") return
    const existing = index.get(key)
    if (existing === undefined) index.set(key, { kind: "one", analyte })
    else if (existing.kind === "one" && existing.analyte.id !== analyte.id) {
      collisions.push({ key, ids: [existing.analyte.id, analyte.id] })
      index.set(key, { kind: "ambiguous", ids: [existing.analyte.id, analyte.id] })
    } else if (existing.kind === "ambiguous" && !existing.ids.includes(analyte.id)) {
      collisions.push({ key, ids: [...existing.ids, analyte.id] })
      index.set(key, { kind: "ambiguous", ids: [...existing.ids, analyte.id] })
    }
  }
  for (const a of TABLE) {
    for (const printed of [a.name, ...a.synonyms]) {
      const words = tokenise(printed).map((t) => t.norm)
      add(words.join(" "), a)
      // "Protein, urine" is also found as "urine protein"
      const urineForm = canonicalStages(words).find((stage) => stage[0] === "urine" && words[0] !== "urine")
      if (urineForm !== undefined) add(urineForm.join(" "), a)
    }
  }
  const declared: Array<Collision> = []
  for (const [name, ids] of DECLARED_AMBIGUOUS) {
    const key = normaliseName(name)
    const existing = index.get(key)
    if (existing?.kind === "one") declared.push({ key, ids: [existing.analyte.id] })
    index.set(key, { kind: "ambiguous", ids })
  }
  return { index, collisions, declaredButListed: declared }
}

const { index: INDEX, collisions: COLLISIONS, declaredButListed: DECLARED_BUT_LISTED } = buildIndex()

/** For the tests: synonyms that normalise alike for two analytes, and declared-ambiguous names that a table entry also lists. Both must be empty. */
export const lexiconProblems = (): { readonly collisions: ReadonlyArray<Collision>; readonly declaredButListed: ReadonlyArray<Collision> } => ({
  collisions: COLLISIONS,
  declaredButListed: DECLARED_BUT_LISTED
})

const BY_ID = new Map(TABLE.map((a) => [a.id, a] as const))

export const analyteById = (id: string): Analyte | undefined => BY_ID.get(id)

/** The index entry for a name's words: as printed, else with qualifiers dropped. */
const entryFor = (words: ReadonlyArray<string>): Entry | undefined => {
  if (words.length === 0) return undefined
  const direct = INDEX.get(words.join(" "))
  if (direct !== undefined) return direct
  for (const stage of canonicalStages(words)) {
    const entry = INDEX.get(stage.join(" "))
    if (entry !== undefined) return entry
  }
  return undefined
}

const single = (entry: Entry | undefined): Analyte | undefined => (entry?.kind === "one" ? entry.analyte : undefined)

/** A bracketed part, e.g. "(K)" in "Potassium (K)" or "[calc]" */
const BRACKETED = /\(([^()]*)\)|\[([^[\]]*)\]/g

/**
 * The entry a printed name refers to: the whole name first (brackets read as words, so
 * "Calcium (ionized)" is "calcium ionized"), else the name without its bracketed parts, but only
 * when every bracketed part is a qualifier ("(calc)", "(serum)") or another name of the same
 * analyte ("Potassium (K)"): "Calcium (corrected)" is not quietly read as calcium.
 */
/**
 * A blood-gas analyser's name: "c" (concentration), "ct" (total concentration) or "F" (fraction) before the
 * symbol, maybe the specimen and conditions in brackets after it. Examples: "cK+", "cGlu", "ctHb", "cHCO3-(P,st)".
 */
const ANALYSER_NAME_RE = /^(?:ct|c|F)(?=[A-Z])([A-Za-z][A-Za-z0-9]*[+-]?\d?[+-]?)(?:\([^)]*\))?$/

const lookupEntry = (printedName: string): Entry | undefined => {
  const whole = entryFor(tokenise(printedName).map((t) => t.norm))
  if (whole !== undefined) return whole
  const analyser = ANALYSER_NAME_RE.exec(printedName.trim())
  if (analyser !== null) return entryFor(tokenise(analyser[1] ?? "").map((t) => t.norm))
  const parts = [...printedName.matchAll(BRACKETED)].map((m) => m[1] ?? m[2] ?? "")
  if (parts.length === 0) return undefined
  const base = entryFor(tokenise(printedName.replace(BRACKETED, " ")).map((t) => t.norm))
  if (base === undefined) return undefined
  const consistent = parts.every((part) => {
    const words = tokenise(part).map((t) => t.norm)
    if (words.every((w) => TRAILING_QUALIFIERS.has(w) || LEADING_QUALIFIERS.has(w))) return true
    const entry = entryFor(words)
    return base.kind === "one" && entry?.kind === "one" && entry.analyte.id === base.analyte.id
  })
  return consistent ? base : undefined
}

/** The analyte a printed name refers to, or undefined (unknown or ambiguous). Normalises case, accents optional (Hämoglobin/Hamoglobin), punctuation, trailing qualifiers ("serum", "plasma", "(calc)", ", blood", "S-", "P-", "B-" prefixes of Nordic/German reports), British/American spelling (haemoglobin). Never guesses between two analytes. */
export const lookupAnalyte = (printedName: string): Analyte | undefined => single(lookupEntry(printedName))

/** Every analyte a printed name may mean: one for a known name, several for an ambiguous one, none for an unknown one. */
export const analyteCandidates = (printedName: string): ReadonlyArray<Analyte> => {
  const entry = lookupEntry(printedName)
  if (entry === undefined) return []
  if (entry.kind === "one") return [entry.analyte]
  return entry.ids.flatMap((id) => {
    const a = BY_ID.get(id)
    return a === undefined ? [] : [a]
  })
}

/** Can a value in `ucumUnit` be expressed in the analyte's unit? (Its own units, or convertible with its molar mass and charge.) */
export const unitFits = (analyte: Analyte, ucumUnit: string): boolean =>
  ucumUnit === analyte.unit ||
  (analyte.alternateUnits ?? []).includes(ucumUnit) ||
  convert(1, ucumUnit, analyte.unit, analyte.molarMass, analyte.charge) !== undefined

/**
 * The analyte a printed name refers to, settling an ambiguous name by its printed unit when
 * exactly one candidate's unit fits ("Neutrophils" with "%" is the percentage, with "10*3/uL"
 * the absolute count). Still undefined when the unit does not decide ("Protein" in mg/dL).
 */
export const lookupAnalyteForUnit = (printedName: string, ucumUnit: string | undefined): Analyte | undefined => {
  const candidates = analyteCandidates(printedName)
  if (candidates.length <= 1 || ucumUnit === undefined) return candidates.length === 1 ? candidates[0] : undefined
  const fitting = candidates.filter((a) => unitFits(a, ucumUnit))
  return fitting.length === 1 ? fitting[0] : undefined
}

/** The most words any indexed name has: the longest span findAnalyte tries. */
const MAX_WORDS = Math.max(...[...INDEX.keys()].map((k) => k.split(" ").length))

/** Words that make the following word a person's name: "Dr. Kalium" is a physician, not potassium. */
const HONORIFICS = new Set(["dr", "prof", "mr", "mrs", "ms", "mme", "frau", "herr", "sr", "sra", "dott", "dra"])

/** A name of at most two letters ("K", "Na", "Ca", "Hb", "BE"), which in running text is too often something else. */
const isShort = (key: string): boolean =>
  // spaces and symbols do not count as letters, e.g. "na +" (from "Na+") is two letters
  key.replace(/[ +#/%-]/g, "").length <= 2

/** A name found in text: the analytes it may mean (several for an ambiguous name) and where it is. */
export interface AnalyteMention {
  readonly candidates: ReadonlyArray<Analyte>
  readonly start: number
  readonly end: number
}

/**
 * The first analyte name in the text as whole words, ambiguous ones included ("Neutrophils 60 %"
 * gives both neutrophil analytes; the reader settles it with lookupAnalyteForUnit). The rules are
 * findAnalyte's, below.
 */
export const findAnalyteMention = (text: string): AnalyteMention | undefined => {
  const tokens = tokenise(text)
  let leading = true
  for (let i = 0; i < tokens.length; i++) {
    const previous = tokens[i - 1]?.norm
    const afterHonorific = previous !== undefined && HONORIFICS.has(previous)
    for (let n = Math.min(MAX_WORDS, tokens.length - i); n >= 1; n--) {
      const span = tokens.slice(i, i + n)
      const entry = INDEX.get(span.map((t) => t.norm).join(" "))
      if (entry === undefined) continue
      const first = span[0]
      const last = span[span.length - 1]
      if (afterHonorific || (isShort(span.map((t) => t.norm).join(" ")) && !leading) || first === undefined || last === undefined) break
      const candidates = entry.kind === "one" ? [entry.analyte] : entry.ids.flatMap((id) => BY_ID.get(id) ?? [])
      // a name that opens a bracket ("LDL cholesterol (calc") ends after its closing one
      const opened = text.slice(first.start, last.end).split("(").length - text.slice(first.start, last.end).split(")").length
      const end = opened > 0 && text[last.end] === ")" ? last.end + 1 : last.end
      return { candidates, start: first.start, end }
    }
    if (!LEADING_QUALIFIERS.has(tokens[i]?.norm ?? "")) leading = false
  }
  return undefined
}

/** Does this text contain a known analyte name as whole words anywhere (for classifying a line that may hold a result)? Returns the analyte and the character span.
 *
 * Whole words only: "Kalium" is not found in "Kaliumchlorid". The leftmost name wins, and at one
 * place the longest ("MCHC" not "MCH", "CA 125" not "Ca", "Free T3" not "T3"). A name right after
 * an honorific is a person ("Ordering physician: Dr. Kalium" finds nothing). Names of one or two
 * letters ("K", "Na", "Hb") only count at the start of the text, after specimen prefixes
 * ("S-K 4.1"), which is where a result line has them. An ambiguous name ("Neutrophils") makes
 * the answer undefined (findAnalyteMention returns its candidates), never a shorter name inside it.
 */
export const findAnalyte = (
  text: string
): { readonly analyte: Analyte; readonly start: number; readonly end: number } | undefined => {
  const mention = findAnalyteMention(text)
  const [analyte, ...others] = mention?.candidates ?? []
  return mention === undefined || analyte === undefined || others.length > 0
    ? undefined
    : { analyte, start: mention.start, end: mention.end }
}

/** Every name the lexicon knows, in comparable form (normaliseName): what OCR's misread names are matched against. */
export const knownNames = (): ReadonlyArray<string> => [...INDEX.keys()]
