/**
 * Scoring the document reader against the lab corpus (test/fixtures/lab-corpus): pure functions,
 * no I/O. A truth file says what a careful reader finds in one document; `scoreDocument` pairs
 * those rows with what the reader returned and counts what it got right. Counts add up across
 * documents (`addCounts`), and `metrics` turns counts into the ratios that are printed and held
 * above floors.
 *
 * Pairing: by normalized name (case, whitespace, trailing punctuation and dotted leaders, µ ≈ u;
 * equal to the name or to one of its aliases). When the reader says which line a row came from,
 * a pairing on the same line is made first; the rest pair in document order (for OCR, whose line
 * numbers may drift from the text's, `pairByValue` pairs by name and value before name alone).
 */
import { Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// The truth format

export const TruthFlag = Schema.Literals(["low", "normal", "high", "critical_low", "critical_high", "abnormal", "unknown"])
export type TruthFlag = typeof TruthFlag.Type

const PositiveInt = Schema.Number.pipe(Schema.check(Schema.isInt()), Schema.check(Schema.isGreaterThan(0)))

export const TruthRange = Schema.Struct({
  low: Schema.optional(Schema.Number),
  high: Schema.optional(Schema.Number),
  text: Schema.NonEmptyString
})

export const TruthResult = Schema.Struct({
  line: PositiveInt,
  name: Schema.Trimmed.check(Schema.isNonEmpty()),
  aliases: Schema.optional(Schema.Array(Schema.Trimmed.check(Schema.isNonEmpty()))),
  value: Schema.Union([Schema.Number, Schema.Trimmed.check(Schema.isNonEmpty())]),
  unit: Schema.String,
  range: Schema.NullOr(TruthRange),
  flag: TruthFlag,
  critical: Schema.Boolean
}).check(
  Schema.makeFilter((row) =>
    row.critical === (row.flag === "critical_low" || row.flag === "critical_high")
      ? true
      : `${row.name}: critical must go with a critical_low/critical_high flag and only with one`
  )
)
export type TruthResult = typeof TruthResult.Type

export const TruthVitalKind = Schema.Literals(["blood_pressure", "pulse", "spo2", "temperature", "weight"])

export const TruthVital = Schema.Struct({
  line: PositiveInt,
  kind: TruthVitalKind,
  time: Schema.String.pipe(Schema.check(Schema.isPattern(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$/))),
  value: Schema.Number,
  diastolic: Schema.optional(Schema.Number),
  unit: Schema.NonEmptyString
}).check(
  Schema.makeFilter((vital) =>
    (vital.kind === "blood_pressure") === (vital.diastolic !== undefined)
      ? true
      : `line ${vital.line}: a blood pressure has a diastolic value and nothing else has one`
  )
)
export type TruthVital = typeof TruthVital.Type

export const LAYOUT_CLASSES = Array.from({ length: 16 }, (_, i) => i + 1)

export const Truth = Schema.Struct({
  layouts: Schema.NonEmptyArray(Schema.Number.pipe(Schema.check(Schema.isInt()), Schema.check(Schema.isBetween({ minimum: 1, maximum: LAYOUT_CLASSES.length })))),
  documentType: Schema.Literals(["lab_results", "vitals"]),
  results: Schema.Array(TruthResult),
  vitals: Schema.Array(TruthVital)
})
export type Truth = typeof Truth.Type

// ---------------------------------------------------------------------------------------------
// What the reader returns (InterpretedDocument, with the fields being added treated as optional)

export interface ReadResult {
  readonly name: string
  readonly value: number | string
  readonly unit: string
  readonly referenceRange: { readonly low?: number | undefined; readonly high?: number | undefined; readonly text: string }
  readonly flag: string
  readonly line?: number | undefined
  readonly page?: number | undefined
}

export interface ReadVital {
  readonly kind: string
  readonly time: string
  readonly value: number
  readonly diastolic?: number | undefined
  readonly unit: string
  readonly line?: number | undefined
  readonly page?: number | undefined
}

export interface ReadDocument {
  readonly results: ReadonlyArray<ReadResult>
  readonly vitals: ReadonlyArray<ReadVital>
  readonly unreadLines?: ReadonlyArray<{ readonly page?: number | undefined; readonly line: number; readonly text: string }> | undefined
}

export const EMPTY_DOCUMENT: ReadDocument = { results: [], vitals: [] }

// ---------------------------------------------------------------------------------------------
// Normalization

const MICRO = /[\u00b5\u03bc]/g

/** A test name for pairing: lower case, NFC, µ → u, whitespace collapsed, leaders and trailing punctuation gone. */
export const normalizeName = (name: string): string =>
  name
    .normalize("NFC")
    .toLowerCase()
    .replace(MICRO, "u")
    .replace(/\s+/g, " ")
    .replace(/(?:\s*\.){2,}/g, " ") // dotted leaders inside a name ("Glycémie ..... ")
    .replace(/^[\s*•·\-–—.:;,=_]+/, "")
    .replace(/[\s*•·\-–—.:;,=_]+$/, "")
    .trim()

const SUPERSCRIPTS: Record<string, string> = {
  "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-"
}

/** A unit for comparison: case, spaces, µ/u/mc, powers of ten (x10^9, 10*9, 10E9, 10(9)), K/uL, ², °. */
export const normalizeUnit = (unit: string): string => {
  const digits = (s: string) => s.replace(/[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]/g, (c) => SUPERSCRIPTS[c] ?? c)
  let u = unit.normalize("NFC").replace(/10([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)/g, (_, power: string) => `10^${digits(power)}`)
  u = digits(u)
  u = u.toLowerCase().replace(/\s+/g, "").replace(MICRO, "u")
  u = u.replace(/(^|[^a-z])mc(?=[a-z])/g, "$1u") // mcg → ug, mcmol → umol, mcL → uL
  u = u.replace(/(\d),(\d)/g, "$1.$2") // 1,73m² → 1.73m2
  u = u.replace(/(?:x|×|\*)?10(?:\^|\*\*|\*|e)(-?\d+)/g, "10^$1")
  u = u.replace(/(?:x|×|\*)?10\((-?\d+)\)/g, "10^$1")
  u = u.replace(/^k\//, "10^3/").replace(/^m\/(?=u)/, "10^6/")
  u = u.replace(/°/g, "").replace(/^(degc|celsius)$/, "c").replace(/^(degf|fahrenheit)$/, "f")
  u = u.replace(/^(beats\/min|b\/min|\/min|beats\/minute|bpm)$/, "bpm")
  return u
}

export const unitsEquivalent = (a: string, b: string): boolean => normalizeUnit(a) === normalizeUnit(b)

const PLAIN_NUMBER = /^[-+]?\d+(?:\.\d+)?$/

/** Text as compared: case and spaces ignored; a comparator with a number keeps both ("< 0,50" → "<0.5"). */
const normalizeTextValue = (value: string): string => {
  const text = value.normalize("NFC").toLowerCase().replace(/\s+/g, "")
  const comparator = /^(<=|>=|[<>≤≥])(\d+(?:[.,]\d+)?)$/.exec(text)
  if (comparator === null) return text
  const sign = ({ "<=": "≤", ">=": "≥" } as Record<string, string>)[comparator[1]!] ?? comparator[1]!
  return `${sign}${Number(comparator[2]!.replace(",", "."))}`
}

/** Numbers within 1e-9 (a plain numeric string counts as its number); text case- and space-insensitive, comparators kept. */
export const valuesEqual = (truth: number | string, returned: number | string): boolean => {
  const asNumber = (v: number | string): number | undefined =>
    typeof v === "number" ? v : PLAIN_NUMBER.test(v.trim()) ? Number(v.trim()) : undefined
  const t = asNumber(truth)
  const r = asNumber(returned)
  if (t !== undefined || r !== undefined) return t !== undefined && r !== undefined && Math.abs(t - r) <= 1e-9
  return normalizeTextValue(String(truth)) === normalizeTextValue(String(returned))
}

const CRITICAL_FLAGS = new Set(["critical_low", "critical_high"])

// ---------------------------------------------------------------------------------------------
// Pairing

/**
 * Truth index → returned index; same-line pairs first, then (when given) pairs that also satisfy
 * `sameValue`, then the rest in document order.
 */
const pairRows = <T, R>(
  truth: ReadonlyArray<T>,
  returned: ReadonlyArray<R>,
  matches: (t: T, r: R) => boolean,
  sameLine: (t: T, r: R) => boolean,
  sameValue?: (t: T, r: R) => boolean
): Map<number, number> => {
  const pairs = new Map<number, number>()
  const used = new Set<number>()
  const pass = (also: (t: T, r: R) => boolean) =>
    truth.forEach((t, ti) => {
      if (pairs.has(ti)) return
      const ri = returned.findIndex((r, i) => !used.has(i) && matches(t, r) && also(t, r))
      if (ri >= 0) {
        pairs.set(ti, ri)
        used.add(ri)
      }
    })
  pass(sameLine)
  if (sameValue !== undefined) pass(sameValue)
  pass(() => true)
  return pairs
}

/** Where a truth line sits when the document is split into pages at form feeds. */
export interface LineLocation {
  readonly line: number
  readonly page: number
  readonly pageLine: number
}

/** Page and line within the page of every line of a text (1-based; a line starting with \f opens a page). */
export const lineLocations = (text: string): ReadonlyArray<LineLocation> => {
  let page = 1
  let pageLine = 0
  return text.split("\n").map((content, i) => {
    if (content.includes("\f") && i > 0) {
      page += 1
      pageLine = 0
    }
    pageLine += 1
    return { line: i + 1, page, pageLine }
  })
}

/**
 * The reader's line matches the truth's: equal as lines of the whole text when no page is given;
 * with a page (and the text known), the same page and either the page's own line or the whole text's.
 */
export const sameLocation = (truthLine: number, locations: ReadonlyArray<LineLocation> | undefined, line?: number, page?: number) => {
  if (line === undefined) return false
  const location = locations?.[truthLine - 1]
  if (page === undefined || location === undefined) return line === truthLine
  return location.page === page && (location.pageLine === line || location.line === line)
}

export const namesMatch = (truth: Pick<TruthResult, "name" | "aliases">, name: string): boolean => {
  const n = normalizeName(name)
  return n.length > 0 && [truth.name, ...(truth.aliases ?? [])].some((candidate) => normalizeName(candidate) === n)
}

/** A reading's time against the truth's: same date, and same hour:minute when both have one. */
export const timesMatch = (truth: string, returned: string): boolean => {
  const parse = (s: string) => /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?/.exec(s.trim())
  const t = parse(truth)
  const r = parse(returned)
  if (t === null || r === null) return false
  return t[1] === r[1] && (t[2] === undefined || r[2] === undefined || t[2] === r[2])
}

// ---------------------------------------------------------------------------------------------
// Scores

export interface Counts {
  readonly documents: number
  readonly truthRows: number
  readonly returnedRows: number
  /** Truth rows with a returned row paired (= returned rows paired). */
  readonly paired: number
  readonly valueUnit: number
  readonly flag: number
  readonly criticalRows: number
  readonly criticalMarked: number
  readonly unread: number
  /** Truth rows missed with nothing read from their line and no unread line for it: dropped in silence (needs the reader's line numbers and the text). */
  readonly silent: number
  readonly truthVitals: number
  readonly returnedVitals: number
  readonly pairedVitals: number
  readonly accurateVitals: number
  /** Truth vitals missed with nothing read from their line (no reading, no row) and no unread line for it: dropped in silence. */
  readonly silentVitals: number
  /** Documents the reader failed on (counted as returning nothing). */
  readonly failures: number
}

export const emptyCounts: Counts = {
  documents: 0,
  truthRows: 0,
  returnedRows: 0,
  paired: 0,
  valueUnit: 0,
  flag: 0,
  criticalRows: 0,
  criticalMarked: 0,
  unread: 0,
  silent: 0,
  truthVitals: 0,
  returnedVitals: 0,
  pairedVitals: 0,
  accurateVitals: 0,
  silentVitals: 0,
  failures: 0
}

export const addCounts = (a: Counts, b: Counts): Counts => {
  const sum = { ...a } as Record<keyof Counts, number>
  for (const key of Object.keys(b) as Array<keyof Counts>) sum[key] = a[key] + b[key]
  return sum
}

export interface Metrics {
  readonly recall: number
  readonly valueUnit: number
  readonly flag: number
  /** 1 when there are no critical rows. */
  readonly critical: number
  /** Returned results that are results; 1 when none was returned. */
  readonly precision: number
  readonly unread: number
  readonly silent: number
  readonly vitalsRecall: number
  readonly vitalsAccuracy: number
  /** Returned vitals that pair with a truth vital; 1 when none was returned. */
  readonly vitalsPrecision: number
  readonly silentVitals: number
}

const ratio = (n: number, d: number, empty = 1) => (d === 0 ? empty : n / d)

export const metrics = (c: Counts): Metrics => ({
  recall: ratio(c.paired, c.truthRows),
  valueUnit: ratio(c.valueUnit, c.truthRows),
  flag: ratio(c.flag, c.truthRows),
  critical: ratio(c.criticalMarked, c.criticalRows),
  precision: ratio(c.paired, c.returnedRows),
  unread: c.unread,
  silent: c.silent,
  vitalsRecall: ratio(c.pairedVitals, c.truthVitals),
  vitalsAccuracy: ratio(c.accurateVitals, c.truthVitals),
  vitalsPrecision: ratio(c.pairedVitals, c.returnedVitals),
  silentVitals: c.silentVitals
})

export interface RowMismatch {
  readonly truth: TruthResult
  readonly returned: ReadResult
  readonly problems: ReadonlyArray<"value" | "unit" | "flag">
}

/** A paired vitals reading whose value, diastolic or unit differs from the truth's. */
export interface VitalMismatch {
  readonly truth: TruthVital
  readonly returned: ReadVital
  readonly problems: ReadonlyArray<"value" | "unit">
}

export interface DocumentScore {
  readonly counts: Counts
  readonly missed: ReadonlyArray<TruthResult>
  /** Returned rows that pair with no truth row: not results. */
  readonly unpaired: ReadonlyArray<ReadResult>
  readonly mismatches: ReadonlyArray<RowMismatch>
  readonly missedVitals: ReadonlyArray<TruthVital>
  readonly unpairedVitals: ReadonlyArray<ReadVital>
  /** Paired vitals readings with a wrong value (systolic, diastolic) or unit. */
  readonly vitalMismatches: ReadonlyArray<VitalMismatch>
}

export interface ScoreOptions {
  /**
   * Pair by name and value before pairing by name alone: for a document read by OCR, whose line
   * numbers are the reader's layout of the image and may not be the text's. Rows still pair on the
   * same line first; then a truth row takes a returned row of its name with its value (on its page
   * when the reader gives one) over the first row of its name. Off by default (the corpus scores
   * are unchanged).
   */
  readonly pairByValue?: boolean
}

/**
 * One document's score. `text` (the document as written, when given) lets a returned row's
 * `page` + `line` be matched against the truth's line numbers.
 */
export const scoreDocument = (truth: Truth, document: ReadDocument, text?: string, options: ScoreOptions = {}): DocumentScore => {
  const locations = text === undefined ? undefined : lineLocations(text)
  const samePage = (truthLine: number, page: number | undefined) => {
    const location = locations?.[truthLine - 1]
    return page === undefined || location === undefined || location.page === page
  }
  const pairs = pairRows(
    truth.results,
    document.results,
    (t, r) => namesMatch(t, r.name),
    (t, r) => sameLocation(t.line, locations, r.line, r.page),
    options.pairByValue === true ? (t, r) => valuesEqual(t.value, r.value) && samePage(t.line, r.page) : undefined
  )
  const mismatches: Array<RowMismatch> = []
  let valueUnit = 0
  let flag = 0
  let criticalMarked = 0
  truth.results.forEach((t, ti) => {
    const ri = pairs.get(ti)
    if (ri === undefined) return
    const r = document.results[ri]!
    const problems: Array<"value" | "unit" | "flag"> = []
    if (!valuesEqual(t.value, r.value)) problems.push("value")
    if (!unitsEquivalent(t.unit, r.unit)) problems.push("unit")
    if (r.flag !== t.flag) problems.push("flag")
    if (!problems.includes("value") && !problems.includes("unit")) valueUnit += 1
    if (!problems.includes("flag")) flag += 1
    if (t.critical && CRITICAL_FLAGS.has(r.flag)) criticalMarked += 1
    if (problems.length > 0) mismatches.push({ truth: t, returned: r, problems })
  })
  const pairedReturned = new Set(pairs.values())

  const vitalPairs = pairRows(
    truth.vitals,
    document.vitals,
    (t, r) => t.kind === r.kind && timesMatch(t.time, r.time),
    (t, r) => sameLocation(t.line, locations, r.line, r.page)
  )
  let accurateVitals = 0
  const vitalMismatches: Array<VitalMismatch> = []
  truth.vitals.forEach((t, ti) => {
    const ri = vitalPairs.get(ti)
    if (ri === undefined) return
    const r = document.vitals[ri]!
    const diastolicOk = t.diastolic === undefined ? r.diastolic === undefined : r.diastolic !== undefined && Math.abs(t.diastolic - r.diastolic) <= 1e-9
    const problems: Array<"value" | "unit"> = []
    if (!(Math.abs(t.value - r.value) <= 1e-9 && diastolicOk)) problems.push("value")
    if (!unitsEquivalent(t.unit, r.unit)) problems.push("unit")
    if (problems.length === 0) accurateVitals += 1
    else vitalMismatches.push({ truth: t, returned: r, problems })
  })
  const pairedVitalIndexes = new Set(vitalPairs.values())
  const missed = truth.results.filter((_, ti) => !pairs.has(ti))
  // missed, and nothing at all said about its line: no row read from it (a misread is not silent), no unread line
  const silent = missed.filter(
    (t) =>
      !(document.unreadLines ?? []).some((u) => sameLocation(t.line, locations, u.line, u.page)) &&
      !document.results.some((r) => sameLocation(t.line, locations, r.line, r.page))
  ).length
  const saidOf = (line: number) =>
    (document.unreadLines ?? []).some((u) => sameLocation(line, locations, u.line, u.page)) ||
    document.results.some((r) => sameLocation(line, locations, r.line, r.page)) ||
    document.vitals.some((r) => sameLocation(line, locations, r.line, r.page))
  const silentVitals = truth.vitals.filter((t, ti) => !vitalPairs.has(ti) && !saidOf(t.line)).length

  return {
    counts: {
      documents: 1,
      truthRows: truth.results.length,
      returnedRows: document.results.length,
      paired: pairs.size,
      valueUnit,
      flag,
      criticalRows: truth.results.filter((t) => t.critical).length,
      criticalMarked,
      unread: document.unreadLines?.length ?? 0,
      silent,
      truthVitals: truth.vitals.length,
      returnedVitals: document.vitals.length,
      pairedVitals: vitalPairs.size,
      accurateVitals,
      silentVitals,
      failures: 0
    },
    missed,
    unpaired: document.results.filter((_, ri) => !pairedReturned.has(ri)),
    mismatches,
    missedVitals: truth.vitals.filter((_, ti) => !vitalPairs.has(ti)),
    unpairedVitals: document.vitals.filter((_, ri) => !pairedVitalIndexes.has(ri)),
    vitalMismatches
  }
}

/** The score of a document the reader failed on: everything missed. */
export const scoreFailure = (truth: Truth): DocumentScore => {
  const score = scoreDocument(truth, EMPTY_DOCUMENT)
  return { ...score, counts: { ...score.counts, failures: 1 } }
}
