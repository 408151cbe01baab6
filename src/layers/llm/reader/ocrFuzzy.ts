/**
 * Names and units as OCR misreads them, matched back to the lexicon: a weighted edit distance in
 * which the confusions OCR makes ("c"/"e", "l"/"1", "rn"/"m", "^"/"7") cost half an edit, and a
 * match is taken only when it is close for the word's length and no other name is nearly as
 * close. Never a guess between two: "Mev" is MCV (one confusion away), but a word equally far
 * from MCH and MCV matches neither.
 */
import { ANALYTES, type Analyte, knownNames, normaliseName, unitFits } from "./lexicon/analytes.js"
import { toUcum } from "./units.js"

/** Characters OCR takes for one another (compared in lower case). */
const CONFUSABLE: ReadonlyArray<string> = [
  "ce", "l1", "i1", "il", "o0", "s5", "b8", "g9", "z2", "nm", "uv", "tf", "ao", "ec", "hb",
  "^7", "^°", "^%", "^\"", "^'", "^*", ".,", "/l", "/1", "/|", "l|", "1|", "i|", "/i"
]
const PAIRS = new Set(CONFUSABLE.flatMap((p) => [p, [...p].reverse().join("")]))
/** One character OCR reads as two, or the reverse. */
const SPLITS: ReadonlyArray<readonly [string, string]> = [["m", "rn"], ["m", "nn"], ["d", "cl"], ["w", "vv"], ["u", "ii"], ["h", "li"]]

const substitution = (a: string, b: string): number => (a === b ? 0 : PAIRS.has(a + b) ? 0.5 : 1)

const SPLIT_OF = new Map(SPLITS.map(([one, two]) => [two, one] as const))

/** For each position i (1-based end), the one character the two ending there may have been ("rn" → "m"), else "". */
const splitsAt = (s: string): Array<string> => {
  const out = new Array<string>(s.length + 1).fill("")
  for (let i = 2; i <= s.length; i++) out[i] = SPLIT_OF.get(s.slice(i - 2, i)) ?? ""
  return out
}

/** The weighted edit distance between two strings (lower-cased by the caller), or Infinity once it passes `limit`. */
export const ocrDistance = (a: string, b: string, limit = Number.POSITIVE_INFINITY): number => {
  // a deletion costs 1, a split ("rn" for "m") half an edit for one character: lengths further apart than this cannot match
  if (Math.abs(a.length - b.length) > 2 * limit) return Number.POSITIVE_INFINITY
  const rows = a.length + 1
  const cols = b.length + 1
  const splitA = splitsAt(a)
  const splitB = splitsAt(b)
  const d = new Float64Array(rows * cols)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    let rowMin = Number.POSITIVE_INFINITY
    const ai = a[i - 1] ?? ""
    for (let j = 1; j < cols; j++) {
      const bj = b[j - 1] ?? ""
      let best = Math.min(
        (d[(i - 1) * cols + j] ?? 0) + 1,
        (d[i * cols + j - 1] ?? 0) + 1,
        (d[(i - 1) * cols + j - 1] ?? 0) + substitution(ai, bj)
      )
      if (splitA[i] !== "" && splitA[i] === bj) best = Math.min(best, (d[(i - 2) * cols + j - 1] ?? 0) + 0.5)
      if (splitB[j] !== "" && splitB[j] === ai) best = Math.min(best, (d[(i - 1) * cols + j - 2] ?? 0) + 0.5)
      d[i * cols + j] = best
      if (best < rowMin) rowMin = best
    }
    if (rowMin > limit) return Number.POSITIVE_INFINITY
  }
  const result = d[rows * cols - 1] ?? Number.POSITIVE_INFINITY
  return result > limit ? Number.POSITIVE_INFINITY : result
}

/** How far a word of this length may be from what it matches: one confusion for a short word, more for a long one. */
export const allowedDistance = (length: number): number => (length <= 3 ? 0.5 : length <= 5 ? 1 : length <= 9 ? 1.5 : 2)

/** The one candidate within the allowed distance with no rival within half an edit of it, or undefined. */
export const closest = <A>(
  word: string,
  candidates: ReadonlyArray<{ readonly key: string; readonly value: A }>,
  sameMeaning: (a: A, b: A) => boolean = (a, b) => a === b,
  limit = allowedDistance(word.length)
): { readonly value: A; readonly distance: number } | undefined => {
  let best: { value: A; distance: number } | undefined
  let rival = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = ocrDistance(word, candidate.key, limit + 0.5)
    if (!Number.isFinite(distance)) continue
    if (best === undefined || distance < best.distance) {
      if (best !== undefined && !sameMeaning(best.value, candidate.value)) rival = Math.min(rival, best.distance)
      best = { value: candidate.value, distance }
    } else if (!sameMeaning(best.value, candidate.value)) {
      rival = Math.min(rival, distance)
    }
  }
  if (best === undefined || best.distance > limit || rival - best.distance < 0.5) return undefined
  return best
}

const squash = (s: string) => s.replace(/\s+/g, "")

interface NameCandidate {
  readonly key: string
  readonly value: { readonly printed: string; readonly id: string }
}

let names: ReadonlyMap<number, ReadonlyArray<NameCandidate>> | undefined
/**
 * Every printed name of every analyte, in comparable form without spaces, with the form it is
 * printed in, by length: a word is only compared with names of a length it could be misread from.
 */
const nameCandidates = (): ReadonlyMap<number, ReadonlyArray<NameCandidate>> => {
  if (names !== undefined) return names
  const known = new Set(knownNames())
  const out: Array<NameCandidate> = []
  for (const analyte of ANALYTES) {
    for (const printed of [analyte.name, ...analyte.synonyms]) {
      const norm = normaliseName(printed)
      // only the forms the lexicon looks up as this one analyte (ambiguous names are left to the reader)
      if (!known.has(norm) || norm.length < 3) continue
      out.push({ key: squash(norm), value: { printed, id: analyte.id } })
    }
  }
  const byLength = new Map<number, Array<NameCandidate>>()
  for (const candidate of out) byLength.set(candidate.key.length, [...(byLength.get(candidate.key.length) ?? []), candidate])
  names = byLength
  return byLength
}

const nearInLength = (word: string): ReadonlyArray<NameCandidate> => {
  const reach = 2 * allowedDistance(word.length) + 1
  const all = nameCandidates()
  const out: Array<NameCandidate> = []
  for (let length = Math.max(1, word.length - reach); length <= word.length + reach; length++) out.push(...(all.get(length) ?? []))
  return out
}

/**
 * The lexicon's printed form of a name OCR misread ("Henogl obi n" → "Hemoglobin", "Mev" →
 * "MCV", "Hemoglobin Alc" → "Hemoglobin A1c"), or undefined when it is not unambiguously one.
 * (A name the lexicon knows as printed comes back in the lexicon's form: callers ask only for
 * names the lexicon does not look up.)
 */
export const repairName = (printed: string): string | undefined => {
  const word = squash(normaliseName(printed))
  if (repairedNames.has(word)) return repairedNames.get(word)
  const repaired = repairWord(word)
  // the same headings and names come back on every report: remembered, within a bound
  if (repairedNames.size >= 10_000) repairedNames.clear()
  repairedNames.set(word, repaired)
  return repaired
}

const repairedNames = new Map<string, string | undefined>()

const repairWord = (word: string): string | undefined => {
  if (word.length < 2) return undefined
  // names longer than any the lexicon has are headings or sentences, not a misread test
  if (word.length > 40) return undefined
  return closest(word, nearInLength(word), (a, b) => a.id === b.id)?.value.printed
}

/** Units as labs print them: what OCR's misread units are matched against. */
export const PRINTED_UNITS: ReadonlyArray<string> = [
  "10^3/uL", "10^6/uL", "10^9/L", "10^12/L", "x10^9/L", "x10^12/L", "K/uL", "M/uL", "g/dL", "g/L", "mg/dL", "mg/L", "ug/dL", "ug/L",
  "ng/mL", "ng/dL", "pg/mL", "mmol/L", "umol/L", "nmol/L", "pmol/L", "mEq/L", "U/L", "IU/L", "mIU/L", "mIU/mL", "uIU/mL", "fL", "pg",
  "%", "mL/min/1.73m2", "mm/hr", "sec", "mmHg", "bpm", "kg", "lb", "/hpf", "mg/g", "g/24h", "ratio"
]
let units: ReadonlyArray<{ readonly key: string; readonly value: string }> | undefined
const unitCandidates = (): ReadonlyArray<{ readonly key: string; readonly value: string }> =>
  (units ??= PRINTED_UNITS.filter((u) => toUcum(u) !== undefined).map((u) => ({ key: u.toLowerCase(), value: u })))

/**
 * The printed unit an OCR-misread unit stands for ("1073/uL" → "10^3/uL", "mmol /L" →
 * "mmol/L"), or undefined when it is not unambiguously one. Among `allowed` when given (the few
 * units the row's test is reported in), where a short unit may be a whole edit away ("UL" →
 * "U/L" for ALT); among every printed unit otherwise, where it may not.
 */
export const repairUnit = (printed: string, allowed?: ReadonlyArray<string>): string | undefined => {
  const word = squash(printed).toLowerCase()
  if (word.length < 2 || /^\d+([.,]\d+)?$/.test(word)) return undefined
  const pool = allowed === undefined
    ? unitCandidates()
    : allowed.map((u) => ({ key: u.toLowerCase(), value: u }))
  const limit = allowed === undefined ? allowedDistance(word.length) : Math.max(1, allowedDistance(word.length))
  return closest(word, pool, (a, b) => toUcum(a) === toUcum(b), limit)?.value
}

/** The printed units a test is reported in (its own and alternates, or convertible to them). */
export const unitsOf = (analyte: Analyte): ReadonlyArray<string> =>
  PRINTED_UNITS.filter((u) => {
    const code = toUcum(u)
    return code !== undefined && unitFits(analyte, code)
  })
