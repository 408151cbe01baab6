/**
 * Vital signs in tables with a row per reading: the header's columns (in any order and spelling),
 * then each row's cells under them. The other layouts have modules of their own: flowsheets with a
 * column per visit (flowsheet.ts), diaries and inline readings (inlineVitals.ts); the vocabulary,
 * values and times they share are vitalWords.ts, vitalValues.ts and vitalTimes.ts.
 */
import type { VitalKind } from "../../../services/llm.js"
import { looksLikeCsv, type Separator, splitCells } from "./columns.js"
import { type DateOrder, readDateTime, readTime } from "./dates.js"
import { anyOf } from "./text.js"
import type { ParsedVital } from "./types.js"
import {
  AVERAGE_WORDS,
  BP_KEY_RE,
  BP_WORDS,
  DATE_KEY_RE,
  DATE_WORDS,
  DIA_KEY_RE,
  DIA_WORDS,
  PULSE_KEY_RE,
  PULSE_WORDS,
  SYS_KEY_RE,
  SYS_WORDS,
  TEMP_KEY_RE,
  TEMP_WORDS,
  TIME_KEY_RE,
  TIME_WORDS,
  WEIGHT_KEY_RE,
  WEIGHT_WORDS
} from "./vitalWords.js"
import { bloodPressure, temperatureUnit, vitalNumber, weightUnit } from "./vitalValues.js"
import { dayWithoutYear, dottedTime, type LatestDate } from "./vitalTimes.js"

/** What a column of a vitals table holds: a date or time, a measurement (with its unit), or something else. */
export type VitalColumn =
  | { readonly kind: "date" | "time" | "datetime" | "other" }
  | { readonly kind: "measure"; readonly vital: VitalKind | "systolic" | "diastolic"; readonly unit?: string }

/** A vitals table header: its separator and its columns, where each starts and ends. */
export interface VitalsHeader {
  readonly separator: Separator
  readonly columns: ReadonlyArray<{ readonly column: VitalColumn; readonly start: number; readonly end: number }>
}

/**
 * A vitals column label at `lastIndex` (sticky), with its unit. Examples: "Date/Time", "Systolic", "BP", "Heart rate",
 * "Weight(kg)", "Temp (°F)", "SpO2 (%)"; not "Pulses" (the label ends at a word boundary).
 */
export const VITAL_HEADER_RE = anyOf(
  [
    String.raw`date\s*(?:\/|and|&)\s*time|date\/time|datetime|timestamp|date|time`,
    String.raw`systolic|sys|sbp|diastolic|dia|dbp|blood\s+pressure|bp|pulse|heart\s+rate|hr|weight|wt|body\s+weight`,
    String.raw`spo2|sp02|sao2|o2\s+sat(?:uration)?|oxygen(?:\s+saturation)?|saturation|sat|temp(?:erature)?`,
    String.raw`notes?|comments?|arm|position`,
    String.raw`${SYS_WORDS}|${DIA_WORDS}|${BP_WORDS}|${PULSE_WORDS}|${TEMP_WORDS}|${WEIGHT_WORDS}|${DATE_WORDS}|${TIME_WORDS}`
  ],
  // the label, then an optional unit in brackets ("Weight(kg)", "Temp (°F)") or after a space ("systolic mmHg", from "systolic_mmHg")
  (labels) => String.raw`(${labels})\b\s*(?:[([]\s*([^)\]]{1,12})\s*[)\]]|(?<=\s)(mmhg|bpm|kg|lbs?|°\s?[cf]|%)(?![\p{L}]))?`,
  "giy"
)

/** The column a header label and its bracketed unit name: "Weight" + "lbs" → weight in lb. */
export const columnFor = (label: string, unitText: string | undefined): VitalColumn => {
  // spaces collapsed (/\s+/g), then whole labels: "date and time", "sys", "heart rate", "o2 saturation", "temperature";
  // units by a letter: "lbs" lb, "Kg" kg, "°F" °F, "C" °C
  const l = label.toLowerCase().replace(/\s+/g, " ")
  const u = (unitText ?? "").trim()
  if (/^(?:date ?(?:\/|and|&) ?time|date\/time|datetime|timestamp)$/.test(l)) return { kind: "datetime" }
  if (l === "date" || DATE_KEY_RE.test(l)) return { kind: "date" }
  if (l === "time" || TIME_KEY_RE.test(l)) return { kind: "time" }
  if (/^(?:systolic|sys|sbp)$/.test(l) || SYS_KEY_RE.test(l)) return { kind: "measure", vital: "systolic" }
  if (/^(?:diastolic|dia|dbp)$/.test(l) || DIA_KEY_RE.test(l)) return { kind: "measure", vital: "diastolic" }
  if (/^(?:blood pressure|bp)$/.test(l) || BP_KEY_RE.test(l)) return { kind: "measure", vital: "blood_pressure" }
  if (/^(?:pulse|heart rate|hr)$/.test(l) || PULSE_KEY_RE.test(l)) return { kind: "measure", vital: "pulse" }
  if (/^(?:weight|wt|body weight)$/.test(l) || WEIGHT_KEY_RE.test(l)) {
    const unit = /lb/i.test(u) ? "lb" : /kg/i.test(u) ? "kg" : undefined
    return unit === undefined ? { kind: "measure", vital: "weight" } : { kind: "measure", vital: "weight", unit }
  }
  if (/^(?:spo2|sp02|sao2|o2 sat(?:uration)?|oxygen(?: saturation)?|saturation|sat)$/.test(l)) {
    return { kind: "measure", vital: "spo2", unit: "%" }
  }
  if (/^temp(?:erature)?$/.test(l) || TEMP_KEY_RE.test(l)) {
    const unit = /f/i.test(u) ? "°F" : /c/i.test(u) ? "°C" : undefined
    return unit === undefined ? { kind: "measure", vital: "temperature" } : { kind: "measure", vital: "temperature", unit }
  }
  return { kind: "other" }
}

/** `Date  Time  Systolic  Diastolic  Pulse  Weight(kg)  SpO2(%)  Temp(C)` in any order and spelling. */
export const readVitalsHeader = (raw: string): VitalsHeader | undefined => {
  // an app's export names its columns in snake case: "systolic_mmHg", "pulse_bpm" (same length, so positions hold)
  const line = raw.replace(/_/g, " ")
  // two digits in a row, outside brackets ("(kg)") and SpO2 / SaO2 / O2, are a reading, not a label
  if (/\d{2}/.test(line.replace(/\([^)]*\)|\[[^\]]*\]|spo2|sp02|sao2|o2/gi, ""))) return undefined
  const separator: Separator = line.includes("|") ? "pipe" : line.includes("\t") ? "tab" : looksLikeCsv(line) ? "comma" : "space"
  const columns: Array<{ column: VitalColumn; start: number; end: number }> = []
  let i = 0
  while (i < line.length) {
    // separators between labels: spaces, "|", ",", ";"
    const skip = /^[\s|,;]*/.exec(line.slice(i))?.[0].length ?? 0
    i += skip
    if (i >= line.length) break
    VITAL_HEADER_RE.lastIndex = i
    const m = VITAL_HEADER_RE.exec(line)
    if (m === null) {
      // an unknown column (e.g. "Notes", "Arm") is tolerated once; prose is not a header
      // the unknown word, up to a space, pipe, comma or semicolon: "Notes", "irregular"
      // (in a CSV, pipe or tab table the whole cell: "irregular heartbeat")
      const word = (separator === "space" ? /^[^\s|]+/ : /^[^|,;\t]+/).exec(line.slice(i))
      if (word === null) return undefined
      columns.push({ column: { kind: "other" }, start: i, end: i + word[0].length })
      i += word[0].length
      continue
    }
    columns.push({ column: columnFor(m[1] ?? "", m[2] ?? m[3]), start: i, end: i + m[0].length })
    i += m[0].length
  }
  const measures = columns.filter((c) => c.column.kind === "measure").length
  const times = columns.filter((c) => c.column.kind !== "measure" && c.column.kind !== "other").length
  const others = columns.filter((c) => c.column.kind === "other").length
  // a wide diary names more columns than it measures ("Wks  Date  Time  BP (mmHg)  Pulse  Urine dip  Symptoms  Init"):
  // up to two unknown words per known column (less two) once a date or time and two measures are named
  const tolerated = measures >= 2 && times >= 1 ? 2 * (measures + times) - 2 : 2
  if (others > tolerated || measures === 0 || measures + times < 2) return undefined
  return { separator, columns }
}

/** A cell of a vitals row and where it is on the line. */
export interface VitalToken {
  readonly text: string
  readonly start: number
  readonly end: number
}

/**
 * The cells of a space-separated vitals row, in order of preference: a date ("2026-04-18 07:42", "04/18/2026"), a time
 * ("7:42 AM"), a blood pressure ("128/84 mmHg"), a number with its unit ("36.8 °C", "98%", "74.6 kg", "72 bpm"), an
 * empty cell ("-", "N/A"), else any word.
 */
export const VITAL_TOKEN_RE = anyOf(
  [
    String.raw`\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}`,
    String.raw`\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp]\.?[Mm]\.?)?`,
    String.raw`\d{2,3}\s?\/\s?\d{2,3}(?:\s?mm\s?Hg)?`,
    String.raw`[-+]?\d+(?:[.,]\d+)?(?:\s?(?:°\s?[CF]|[CF]\b|%|kg|lbs?|bpm|mmHg|\/min))?`,
    String.raw`(?<!\S)(?:-|—|–|n\/a|NA|N\/A)(?!\S)`,
    String.raw`[^\s|]+`
  ],
  (tokens) => tokens,
  "g"
)

/** The cells of a vitals row: split by its separator, or read as tokens when it is spaced. */
export const vitalTokens = (line: string, separator: Separator): ReadonlyArray<VitalToken> => {
  if (separator !== "space") {
    return splitCells(line, separator).cells.map((c) => ({ text: c.text, start: c.start, end: c.end }))
  }
  return [...line.matchAll(VITAL_TOKEN_RE)].map((m) => ({ text: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }))
}

/** Words that open a summary of readings: "Average", "Mean", "Media", "Mittelwert", "Moyenne", "Promedio", "Średnia", "Min", "Max". */
export const SUMMARY_WORD_RE = new RegExp(String.raw`^(?:${AVERAGE_WORDS}|median|lowest|highest|min(?:imum)?|max(?:imum)?|total)(?![\p{L}\p{N}])`, "iu")

/** A row of a vitals table with nothing measured: a time and dashes for every reading ("mié 14/01  07:15  --  --  --  Error E2"). */
export const isEmptyVitalsRow = (line: string): boolean =>
  (line.match(/(?<!\S)(?:--?|—|–)(?!\S)/g)?.length ?? 0) >= 2 && /\d{1,2}[:.h]\d{2}|\d{1,2}[/.]\d{1,2}/.test(line)

/** One row of a vitals table → one VitalSign per measurement, stamped with the row's date and time. */
export const readVitalsRow = (
  line: string,
  header: VitalsHeader,
  order: DateOrder,
  fallbackDate: string | undefined,
  latestDate?: LatestDate
): { readonly vitals: ReadonlyArray<ParsedVital>; readonly date?: string } | undefined => {
  const tokens = vitalTokens(line, header.separator)
  if (tokens.length === 0) return undefined
  const assigned = new Map<number, string>()
  // cells split by a separator go in order; spaced ones by where they stand ("lun 12/01" is two tokens in one column)
  if (header.separator !== "space" && tokens.length === header.columns.length) {
    tokens.forEach((t, i) => assigned.set(i, t.text))
  } else if (header.separator === "space") {
    for (const token of tokens) {
      // the column the token overlaps most, else the nearest
      let best = -1
      let bestScore = -Infinity
      header.columns.forEach((col, i) => {
        const next = header.columns[i + 1]
        const spanEnd = next === undefined ? Infinity : next.start
        const overlap = Math.min(token.end, spanEnd) - Math.max(token.start, col.start)
        // (equal overlaps: the column that starts nearest the token, "81" one space left of "pulse")
        const score = overlap > 0 ? overlap * 1000 - Math.abs(token.start - col.start) : -Math.min(Math.abs(token.start - col.start), Math.abs(token.end - col.end))
        if (score > bestScore) {
          bestScore = score
          best = i
        }
      })
      if (best >= 0) assigned.set(best, [assigned.get(best), token.text].filter((x) => x !== undefined).join(" "))
    }
  } else {
    return undefined
  }
  // a summary row ("Media semana 1   132   84   72", "Average  131/83"): no reading of its own
  if ([...assigned.values()].some((cell) => SUMMARY_WORD_RE.test(cell.trim()))) return undefined
  let date: string | undefined
  let time: string | undefined
  header.columns.forEach((col, i) => {
    const cell = assigned.get(i)
    if (cell === undefined) return
    if (col.column.kind === "date" || col.column.kind === "datetime") {
      // (a weekday before the date: "lun 2 nov 2026", "Tue 04/11/2026")
      const dt = readDateTime(cell.trim(), order) ?? readDateTime(cell.trim().replace(/^\p{L}{2,9}\.?,?\s+(?=\d)/u, ""), order)
      if (dt !== undefined) {
        date = dt.date
        if (dt.iso.includes("T")) time = dt.iso.slice(11)
      } else {
        date = dayWithoutYear(cell.trim(), order, latestDate) ?? date
      }
    }
    // "07:35", or "07.35" / "7h35" / "7.15am" / "10pm" in a time column
    if (col.column.kind === "time") time = readTime(cell.trim())?.time ?? dottedTime(cell.trim()) ?? time
  })
  const day = date ?? fallbackDate
  if (day === undefined) return undefined
  const stamp = time === undefined ? day : `${day}T${time}`
  const vitals: Array<ParsedVital> = []
  let systolic: number | undefined
  let diastolic: number | undefined
  header.columns.forEach((col, i) => {
    const cell = assigned.get(i)
    if (cell === undefined || col.column.kind !== "measure") return
    // a blood pressure: "128/84", "128 / 84 mmHg"
    const bp = /^(\d{2,3})\s?\/\s?(\d{2,3})/.exec(cell.trim())
    const value = vitalNumber(cell)
    switch (col.column.vital) {
      case "blood_pressure":
        if (bp !== null) vitals.push(bloodPressure(stamp, Number(bp[1]), Number(bp[2])))
        return
      case "systolic":
        systolic = bp === null ? value : Number(bp[1])
        if (bp !== null) diastolic = Number(bp[2])
        return
      case "diastolic":
        diastolic = value
        return
      case "pulse":
        if (value !== undefined) vitals.push({ kind: "pulse", time: stamp, value, unit: "bpm" })
        return
      case "spo2":
        if (value !== undefined) vitals.push({ kind: "spo2", time: stamp, value, unit: "%" })
        return
      case "temperature":
        if (value !== undefined) {
          vitals.push({ kind: "temperature", time: stamp, value, unit: temperatureUnit(cell, col.column.unit, value) })
        }
        return
      case "weight":
        if (value !== undefined) vitals.push({ kind: "weight", time: stamp, value, unit: weightUnit(cell, col.column.unit) })
        return
    }
  })
  if (systolic !== undefined && diastolic !== undefined) {
    vitals.unshift(bloodPressure(stamp, systolic, diastolic))
  }
  if (vitals.length === 0) return undefined
  return date === undefined ? { vitals } : { vitals, date }
}
