/**
 * A row's flag: the one the lab printed wins over the one its range gives (low / normal / high
 * from a number, normal / abnormal from expected words, a count per field against its bounds).
 */
import type { FlagSource, ResultFlag } from "../../../services/llm.js"
import { NEGATIVE_CLASS, POSITIVE_CLASS, QUAL_RE, qualKey, type ReportFlag } from "./tokens.js"
import type { RangeSpec } from "./ranges.js"
import type { RowParse } from "./rowRest.js"

/** The part of a value a range flag needs: the number and its comparator. */
export interface FlagInput {
  readonly numeric?: number
  readonly comparator?: "lt" | "le" | "gt" | "ge"
}

/** low / normal / high from the value and a numeric range; `unknown` when the range cannot tell. */
export const flagFromRange = (value: FlagInput, range: RangeSpec): "low" | "normal" | "high" | "unknown" => {
  const v = value.numeric
  if (v === undefined) return "unknown"
  const { low, high } = range
  if (low === undefined && high === undefined) return "unknown"
  const belowLow = (x: number) => low !== undefined && (range.lowInclusive ? x < low : x <= low)
  const aboveHigh = (x: number) => high !== undefined && (range.highInclusive ? x > high : x >= high)
  const cmp = value.comparator
  if (cmp === undefined) return belowLow(v) ? "low" : aboveHigh(v) ? "high" : "normal"
  // "<0.5": the true value is under the bound, so it is low only if the bound is, normal if the bound is in range
  if (cmp === "lt" || cmp === "le") {
    if (low !== undefined && v <= low) return "low"
    if (high !== undefined) return aboveHigh(v) && !(cmp === "lt" && v === high) ? "unknown" : "normal"
    return "unknown"
  }
  if (high !== undefined && v >= high) return "high"
  if (high === undefined && low !== undefined) return belowLow(v) && !(cmp === "gt" && v === low) ? "unknown" : "normal"
  return "unknown"
}

/** normal / abnormal from a qualitative value and the expected words ("Positive" where "Negative" is expected). */
export const qualitativeFlag = (value: string, range: RangeSpec): ResultFlag => {
  if (range.expected === undefined) return "unknown"
  const v = qualKey(value)
  const r = qualKey(range.expected)
  // any word the range lists is expected: "Few" within "None-Few", "Rare" within "None / rare"
  // (a word with a dash of its own, "Non-reactive", is one word)
  const whole = QUAL_RE.exec(range.text)?.[0].length === range.text.length
  const listed = whole ? [r] : range.text.split(/\s*(?:-|–|\/|,|\bto\b|\bor\b)\s*/i).map(qualKey)
  if (v === r || listed.includes(v) || (NEGATIVE_CLASS.has(v) && NEGATIVE_CLASS.has(r))) return "normal"
  if (NEGATIVE_CLASS.has(r) || (POSITIVE_CLASS.has(r) && NEGATIVE_CLASS.has(v))) return "abnormal"
  // another word of the same kind than the one expected ("Cloudy" where "Clear" is, "Dark yellow" where "Yellow" is)
  if (QUAL_RE.test(value) && QUAL_RE.test(range.expected)) return "abnormal"
  return "unknown"
}

/** A flag and where it came from. */
export interface Decided {
  readonly flag: ResultFlag
  readonly source: FlagSource | undefined
}

/** A count per field printed as a span ("0-2", "25-50") against a numeric range: within it, or wholly above or below. */
export const spanFlag = (value: string, range: RangeSpec): ResultFlag | undefined => {
  // "0-2", "25-50"; not "0-2+" nor "<5"
  const m = /^(\d+)-(\d+)$/.exec(value)
  if (m === null || (range.low === undefined && range.high === undefined)) return undefined
  const lo = Number(m[1])
  const hi = Number(m[2])
  if (range.high !== undefined && lo > range.high) return "high"
  if (range.low !== undefined && hi < range.low) return "low"
  if ((range.low === undefined || lo >= range.low) && (range.high === undefined || hi <= range.high)) return "normal"
  return "unknown"
}

/** The printed flag when there is one (source `report`), else the one the range gives (source `range`). */
export const decideFlag = (row: RowParse): Decided => {
  const range = row.range
  const computed: ResultFlag =
    range === undefined
      ? "unknown"
      : row.value.qualitative
        ? (spanFlag(String(row.value.value), range) ?? qualitativeFlag(String(row.value.value), range))
        : flagFromRange(row.value, range)
  const reported = row.flag
  if (reported === undefined) return { flag: computed, source: computed === "unknown" ? undefined : "range" }
  switch (reported._tag) {
    case "direction":
      return { flag: reported.flag, source: "report" }
    case "critical": {
      const direction = reported.direction ?? (computed === "low" || computed === "high" ? computed : undefined)
      return {
        flag: direction === "low" ? "critical_low" : direction === "high" ? "critical_high" : "abnormal",
        source: "report"
      }
    }
    case "abnormal":
      return { flag: computed === "low" || computed === "high" ? computed : "abnormal", source: "report" }
  }
}

/** A call-back note makes a printed H or L critical in the same direction. */
export const criticalDirection = (flag: ReportFlag | undefined): { readonly direction?: "low" | "high" } =>
  flag?._tag === "direction" && flag.flag !== "normal" ? { direction: flag.flag } : {}
