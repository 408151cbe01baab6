/**
 * The offline provider's plain-language summary: counts, each flagged result in words, and a
 * nudge to talk to a clinician when anything is flagged. Templated, so it never guesses at a
 * condition; the words a diagnosis would need are simply not in the templates.
 */
import type { DocumentType, ResultFlag, VitalKind } from "../../services/llm.js"
import type { ParsedRange, ParsedResult, ParsedVital } from "./reader/index.js"

export interface SummaryInput {
  readonly documentType: DocumentType
  readonly results: ReadonlyArray<ParsedResult>
  readonly vitals: ReadonlyArray<ParsedVital>
  /** Lines that look like results but were not read: while there are any, nothing is called normal. */
  readonly unreadLines?: ReadonlyArray<unknown>
}

/** The sentence about unread lines, or undefined when every line was read. */
export const unreadSentence = (count: number): string | undefined =>
  count === 0
    ? undefined
    : `${plural(count, "line looks", "lines look")} like ${count === 1 ? "a result" : "results"} but could not be read; ` +
      `please check ${count === 1 ? "it" : "them"} on the original document.`

export const TALK_TO_CLINICIAN = "Please talk to your clinician about the flagged results."
export const ALL_WITHIN_RANGE = "All results are within the reference ranges given on the report."
export const NOTHING_READ =
  "The offline reader could not find lab results or vital signs in this document, so there is nothing to summarise. The original document is the place to look."

/** How many flagged results are spelled out before the rest are only counted. */
const MAX_LISTED = 12

export const isFlagged = (flag: ResultFlag): boolean => flag !== "normal" && flag !== "unknown"

const BETWEEN = /^\s*([-+]?[\d.,]+)\s*(?:-|–|—|to|\.\.)\s*([-+]?[\d.,]+)\s*$/i
const COMPARATOR = /^\s*(<=|>=|=<|=>|≤|≥|<\s*or\s*=|>\s*or\s*=|<|>|less than|greater than|under|below|over|above|up to|at least)\s*([-+]?[\d.,]+)\s*$/i

/** A reference range in words, keeping the report's own digits: "12.0–16.0", "below 200", "40 or more". */
export const rangeInWords = (range: ParsedRange): string => {
  const text = range.text.trim()
  const between = BETWEEN.exec(text)
  if (between !== null) return `${between[1]}–${between[2]}`
  const cmp = COMPARATOR.exec(text)
  if (cmp !== null) {
    const op = (cmp[1] ?? "").toLowerCase().replace(/\s+/g, "")
    const n = cmp[2] ?? ""
    if (["<=", "=<", "≤", "<or=", "upto"].includes(op)) return `${n} or less`
    if ([">=", "=>", "≥", ">or=", "atleast"].includes(op)) return `${n} or more`
    if (["<", "lessthan", "under", "below"].includes(op)) return `below ${n}`
    return `above ${n}`
  }
  if (text !== "") return text
  if (range.low !== undefined && range.high !== undefined) return `${range.low}–${range.high}`
  if (range.high !== undefined) return `up to ${range.high}`
  if (range.low !== undefined) return `from ${range.low}`
  return ""
}

export const valueWithUnit = (result: Pick<ParsedResult, "value" | "unit">): string => {
  const value = String(result.value)
  if (result.unit === "") return value
  return result.unit === "%" ? `${value}%` : `${value} ${result.unit}`
}

export const FLAG_WORDS: Record<ResultFlag, string> = {
  low: "low",
  high: "high",
  critical_low: "critically low",
  critical_high: "critically high",
  abnormal: "abnormal",
  normal: "within the reference range",
  unknown: "not flagged"
}

/** One flagged result as a sentence: "Hemoglobin is 11.2 g/dL, below the reference range 12.0–16.0." */
export const describeFlagged = (result: ParsedResult): string => {
  const words = rangeInWords(result.referenceRange)
  // "the reference range 12.0–16.0" but "the reference range (below 200)"
  const range = /^[-+\d.,]+–[-+\d.,]+$/.test(words) || words === "" ? words : `(${words})`
  const head = `${result.name} is ${valueWithUnit(result)}`
  switch (result.flag) {
    case "low":
      return range === "" ? `${head}, marked low on the report.` : `${head}, below the reference range ${range}.`
    case "high":
      return range === "" ? `${head}, marked high on the report.` : `${head}, above the reference range ${range}.`
    case "critical_low":
    case "critical_high":
      return range === ""
        ? `${head}, marked ${FLAG_WORDS[result.flag]} on the report.`
        : `${head}, marked ${FLAG_WORDS[result.flag]} on the report (reference range ${words}).`
    case "abnormal":
      return range === "" ? `${head}, marked abnormal on the report.` : `${head}, marked abnormal (expected ${words}).`
    case "normal":
    case "unknown":
      return `${head}.`
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

const labSummary = (results: ReadonlyArray<ParsedResult>, unread: number): ReadonlyArray<string> => {
  const flagged = results.filter((r) => isFlagged(r.flag))
  const normal = results.filter((r) => r.flag === "normal").length
  const unknown = results.filter((r) => r.flag === "unknown").length
  const sentences = [`This report lists ${plural(results.length, "lab result", "lab results")}.`]
  if (flagged.length > 0) {
    sentences.push(
      `${plural(flagged.length, "result is", "results are")} flagged and ${plural(normal, "is", "are")} within the reference range.`
    )
    for (const result of flagged.slice(0, MAX_LISTED)) sentences.push(describeFlagged(result))
    if (flagged.length > MAX_LISTED) {
      sentences.push(`${plural(flagged.length - MAX_LISTED, "more result is", "more results are")} flagged on the report.`)
    }
  } else if (unknown === 0 && unread === 0) {
    sentences.push(ALL_WITHIN_RANGE)
  } else if (normal > 0) {
    sentences.push(`${plural(normal, "result is", "results are")} within the reference ranges given on the report.`)
  }
  if (unknown > 0) {
    sentences.push(`${plural(unknown, "result has", "results have")} no reference range or flag to compare with.`)
  }
  if (flagged.length > 0) sentences.push(TALK_TO_CLINICIAN)
  return sentences
}

const VITAL_LABELS: Record<VitalKind, string> = {
  blood_pressure: "Blood pressure",
  pulse: "Pulse",
  spo2: "Oxygen saturation (SpO2)",
  temperature: "Temperature",
  weight: "Weight"
}

const vitalValue = (v: ParsedVital) =>
  v.kind === "blood_pressure" ? `${v.value}/${v.diastolic ?? "?"}` : String(v.value)

const withUnit = (value: string, unit: string) => (unit === "%" ? `${value}%` : `${value} ${unit}`)

const vitalsSummary = (vitals: ReadonlyArray<ParsedVital>): ReadonlyArray<string> => {
  const times = [...new Set(vitals.map((v) => v.time))].sort()
  const first = times[0]
  const last = times[times.length - 1]
  const count = plural(vitals.length, "measurement", "measurements")
  const at = (time: string) => time.replace("T", " ")
  const sentences = [
    first === undefined || last === undefined || first === last
      ? `This log has ${count}${first === undefined ? "" : ` from ${at(first)}`}.`
      : `This log has ${count} taken between ${at(first)} and ${at(last)}.`
  ]
  for (const kind of Object.keys(VITAL_LABELS) as Array<VitalKind>) {
    const readings = vitals.filter((v) => v.kind === kind)
    const latest = readings.reduce<ParsedVital | undefined>((a, b) => (a === undefined || b.time >= a.time ? b : a), undefined)
    if (latest === undefined) continue
    const label = VITAL_LABELS[kind]
    if (readings.length === 1) {
      sentences.push(`${label}: ${withUnit(vitalValue(latest), latest.unit)}.`)
      continue
    }
    const byValue = [...readings].sort((a, b) => a.value - b.value || (a.diastolic ?? 0) - (b.diastolic ?? 0))
    const lowest = byValue[0] ?? latest
    const highest = byValue[byValue.length - 1] ?? latest
    const units = new Set(readings.map((r) => r.unit))
    const spread =
      units.size === 1
        ? `from ${vitalValue(lowest)} to ${withUnit(vitalValue(highest), latest.unit)}`
        : `across ${readings.length} readings`
    sentences.push(`${label} ranged ${spread}; the latest was ${withUnit(vitalValue(latest), latest.unit)}.`)
  }
  sentences.push(
    "The log gives no reference ranges to compare the readings with; bring it to your clinician if you want to discuss them."
  )
  return sentences
}

/** The summary of a parsed document. Never empty. */
export const summarize = (input: SummaryInput): string => {
  const parts: Array<string> = []
  const unread = input.unreadLines?.length ?? 0
  if (input.results.length > 0) parts.push(...labSummary(input.results, unread))
  if (input.vitals.length > 0) parts.push(...vitalsSummary(input.vitals))
  if (parts.length === 0) parts.push(NOTHING_READ)
  const unreadText = unreadSentence(unread)
  if (unreadText !== undefined) parts.push(unreadText)
  return parts.join(" ")
}
