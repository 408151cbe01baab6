/**
 * The vitals reader of last resort. The table, flowsheet, diary and sentence readers (vitals.ts,
 * flowsheet.ts, inlineVitals.ts, reportVitals.ts) know layouts; a home diary or a ward chart comes
 * in more shapes than they know. A line that looks like it holds readings and that none of them
 * took is read here on its own terms (what it knows of the layout above it: looseLayout.ts), from
 * what identifies a reading whatever the layout:
 *
 * - a pressure by its shape: "142/91" (systolic 60–260 over a lower diastolic);
 * - a value after a vital sign's name, in the languages diaries are written in: "ЧСС 78",
 *   "Puls: 72", "t 37,2", "体温 37.8", "맥박 72", "SpO2 94";
 * - a value with its unit: "72 bpm", "72 уд/мин", "37,9 °C", "38.1℃", "78,4 кг", "168 lbs";
 * - a pulse printed right after a pressure with nothing between: "138/88  72";
 * - under a header line that names the kinds ("血氧饱和度SpO2(%)  脉率(次/分)  体温(℃)"), a bare
 *   number takes the kind of the header label printed nearest above it.
 *
 * Each reading is dated from its line (a date at the line's start or anywhere in it: "3.11. пн",
 * "1月8日", "Mon 11/3", "2025-11-03 07:30"), else from the last date printed above (a day's
 * heading); a year left out is the one of the document's latest full date. Its time is the time
 * printed before it on the line ("утро 7:30 АД 152/94", "6:45a 148/92 … 9:10p 138/86"), else the
 * reading has its date alone. A line that still gives no reading stays unread (report.ts).
 * Nothing is a reading that is a limit ("≥160/110", "call if above 38 °C") or no body can have.
 */
import type { VitalKind } from "../../../services/llm.js"
import { isMetadataLine } from "./metadata.js"
import { MAX_ROW_CHARS } from "./text.js"
import type { DateOrder } from "./dates.js"
import type { ParsedResult, ParsedVital } from "./types.js"
import { looksLikeVital, looksLikeVitalsRow, namesVitals, isLimit, notAReading, RANGE_RE, separatorOf } from "./vitalLike.js"
import { bloodPressure, temperatureUnit, weightUnit, withoutUnitTwins, isPlausibleVital } from "./vitalValues.js"
import type { LatestDate } from "./vitalTimes.js"
import {
  CASED,
  columnsOf,
  dayOfLine,
  type Grid,
  gridDays,
  gridTimes,
  type HeaderLabel,
  headerLabels,
  LABEL_RES,
  namesReading,
  nearest,
  NUMBER,
  timesOf,
  VALUE_AFTER_NAME_RE
} from "./looseLayout.js"

const NUMBER_RE = new RegExp(NUMBER, "g")
/** A data export's cell that is a value and nothing else. */
const VALUE_CELL_RE = new RegExp(String.raw`^\s*(${NUMBER})\s*$`, "u")
/** A pressure with a pulse right after it, nothing but spaces or a comma between: "138/88  72" (not "144/90", a unit or a decimal). */
const PULSE_AFTER_PRESSURE_RE = /^\d{2,3}\s?[/x×]\s?\d{2,3}[\s,;]+(\d{2,3})(?![\d.,:/%°℃]|\s*(?:kg|lbs?|°|℃|%|[/]))/

/** A value with its unit, and the kind the unit says: "72 bpm", "72 уд/мин", "37,9 °C", "38.1℃", "78,4 кг", "168 lbs". */
const UNIT_VALUE_RE = new RegExp(
  String.raw`(${NUMBER}) ?(bpm|beats?\s*(?:\/|per)\s*min(?:ute)?|count\s*\/\s*min|lpm|ppm|次\s*\/\s*分|회\s*\/\s*분|уд\.?\s*\/\s*мин|[°º]\s?[CF]|deg\s?[CF]|[CF]|℃|℉|kg|кг|公斤|lbs?)(?![${CASED}])`,
  "giu"
)
const unitKind = (unit: string): { readonly kind: VitalKind; readonly unit: string } => {
  const u = unit.toLowerCase().replace(/\s+/g, "")
  if (/[°º]f|℉|degf|^f$/.test(u)) return { kind: "temperature", unit: "°F" }
  if (/[°º]c|℃|degc|^c$/.test(u)) return { kind: "temperature", unit: "°C" }
  if (/lb/.test(u)) return { kind: "weight", unit: "lb" }
  if (/kg|кг|公斤/.test(u)) return { kind: "weight", unit: "kg" }
  return { kind: "pulse", unit: "bpm" }
}

/** Spans of a line already read, so that a number is read once. */
type Spans = Array<readonly [number, number]>
const overlaps = (spans: Spans, start: number, end: number) => spans.some(([s, e]) => start < e && end > s)

const toNumber = (text: string) => Number(text.replace(",", "."))

/** The unit of a reading known by its name or column, not its unit: a weight in lb only when the line says so, a temperature guessed from its value (vitalValues.ts). */
const unitFor = (kind: VitalKind, value: number, pounds: boolean): string =>
  kind === "pulse" ? "bpm" : kind === "spo2" ? "%" : kind === "weight" ? weightUnit(pounds ? "lb" : "", undefined) : kind === "blood_pressure" ? "mmHg" : temperatureUnit("", undefined, value)

/**
 * The readings of one line, stamped with the line's day and the time printed before each (or the
 * day alone), with a header above it naming the kinds of its bare numbers.
 */
export const readLooseLine = (
  printed: string,
  day: string,
  header: ReadonlyArray<HeaderLabel> | undefined,
  grid?: Grid | undefined
): ReadonlyArray<ParsedVital> => {
  // ranges blanked out with spaces ("11 a 16 kg", "95–100 %"): no readings, and positions stay as printed
  const line = printed.replace(RANGE_RE, (range) => " ".repeat(range.length))
  const marks = timesOf(printed)
  const spans: Spans = marks.map((m) => [m.at, m.at + 5] as const)
  const stampAt = (at: number) => {
    // the time printed last before the reading, else the first after it ("PA 110x72 (manhã, 8h10)", a CSV's timestamp column)
    const before = marks.filter((m) => m.at < at)
    const mark = before[before.length - 1] ?? marks.find((m) => m.at > at)
    return mark === undefined ? day : `${day}T${mark.time}`
  }
  const found: Array<ParsedVital & { readonly at: number }> = []
  const add = (vital: ParsedVital, start: number, end: number) => {
    if (!isPlausibleVital(vital) || isLimit(line, start, end)) return
    spans.push([start, end])
    found.push({ ...vital, at: start })
  }
  // pressures by their shape
  // ("108x70" in Portuguese and Spanish diaries)
  for (const m of line.matchAll(/(?<![\d/.,])(\d{2,3})\s?[/x×]\s?(\d{2,3})(?![\d/]|[.,]\d)/g)) {
    const start = m.index ?? 0
    if (overlaps(spans, start, start + m[0].length)) continue
    add(bloodPressure(stampAt(start), Number(m[1]), Number(m[2])), start, start + m[0].length)
  }
  // values after their names ("ЧСС 78", "t 37,2", "SYS 142 DIA 91"), a few characters between
  const sides: { systolic?: { value: number; at: number }; diastolic?: { value: number; at: number } } = {}
  for (const [kind, re] of LABEL_RES) {
    for (const m of line.matchAll(re)) {
      const after = (m.index ?? 0) + m[0].length
      const value = VALUE_AFTER_NAME_RE.exec(line.slice(after))
      if (value === null) continue
      // nothing between the name and the value that is a reading or another name: "P 77", "Puls: 72", "t° 37,2"
      const start = after + value[0].length - (value[1] ?? "").length
      const end = after + value[0].length
      if (overlaps(spans, start, end) || /\d/.test(value[0].slice(0, value[0].length - (value[1] ?? "").length))) continue
      const n = toNumber(value[1] ?? "")
      if (kind === "systolic" || kind === "diastolic") {
        sides[kind] = { value: n, at: start }
        spans.push([start, end])
        continue
      }
      const unit = unitFor(kind, n, /^\s*lbs?/i.test(line.slice(end)))
      add({ kind, time: stampAt(start), value: n, unit }, start, end)
    }
  }
  if (sides.systolic !== undefined && sides.diastolic !== undefined) {
    const at = Math.min(sides.systolic.at, sides.diastolic.at)
    add(bloodPressure(stampAt(at), sides.systolic.value, sides.diastolic.value), at, at)
  }
  // values with their units
  for (const m of line.matchAll(UNIT_VALUE_RE)) {
    const start = m.index ?? 0
    const end = start + (m[1] ?? "").length
    if (overlaps(spans, start, end)) continue
    const { kind, unit } = unitKind(m[2] ?? "")
    add({ kind, time: stampAt(start), value: toNumber(m[1] ?? ""), unit }, start, end)
  }
  // under a header: a bare number takes the kind of the label printed nearest above it
  const separator = header?.[0]?.cell === undefined ? undefined : separatorOf(line)
  if (header !== undefined && separator !== undefined) {
    // a row of a data export: each cell is the kind its header cell names
    let at = 0
    for (const [index, cell] of line.split(separator).entries()) {
      const label = header.find((l) => l.cell === index)
      const value = VALUE_CELL_RE.exec(cell)
      if (label !== undefined && value !== null && !overlaps(spans, at, at + cell.length)) {
        const n = toNumber(value[1] ?? "")
        if (label.kind === "systolic" || label.kind === "diastolic") sides[label.kind] = { value: n, at }
        else if (label.kind !== "blood_pressure" && label.kind !== "other") {
          const unit = unitFor(label.kind, n, false)
          add({ kind: label.kind, time: stampAt(at), value: n, unit }, at, at + cell.length)
        }
      }
      at += cell.length + separator.length
    }
    if (sides.systolic !== undefined && sides.diastolic !== undefined) {
      const first = Math.min(sides.systolic.at, sides.diastolic.at)
      add(bloodPressure(stampAt(first), sides.systolic.value, sides.diastolic.value), first, first)
    }
  } else if (header !== undefined) {
    const columns = columnsOf(line)
    // a row whose pressures are written whole ("138/88") has no separate systolic and diastolic numbers
    const labels = found.some((v) => v.kind === "blood_pressure") ? header.filter((l) => l.kind !== "systolic" && l.kind !== "diastolic") : header
    for (const m of line.matchAll(NUMBER_RE)) {
      const start = m.index ?? 0
      const end = start + m[0].length
      if (overlaps(spans, start, end)) continue
      const middle = ((columns[start] ?? start) + (columns[end] ?? end)) / 2
      const nearest = [...labels].sort((a, b) => Math.abs((a.start + a.end) / 2 - middle) - Math.abs((b.start + b.end) / 2 - middle))[0]
      if (nearest === undefined || Math.abs((nearest.start + nearest.end) / 2 - middle) > 12) continue
      const n = toNumber(m[0])
      if (nearest.kind === "systolic" || nearest.kind === "diastolic") {
        sides[nearest.kind] = { value: n, at: start }
        spans.push([start, end])
        continue
      }
      if (nearest.kind === "blood_pressure" || nearest.kind === "other") continue
      const unit = unitFor(nearest.kind, n, false)
      add({ kind: nearest.kind, time: stampAt(start), value: n, unit }, start, end)
    }
    if (sides.systolic !== undefined && sides.diastolic !== undefined && !found.some((v) => v.kind === "blood_pressure")) {
      const at = Math.min(sides.systolic.at, sides.diastolic.at)
      add(bloodPressure(stampAt(at), sides.systolic.value, sides.diastolic.value), at, at)
    }
  }
  // a row of a chart with a column per day, named by its first word ("Pulse (AM)  74   71   76"): each number is one
  // (a chart's section letter may stand before the name: "E  Temperature °C   37.6   38.1")
  const rowLabel = grid === undefined ? undefined : LABEL_RES.find(([, re]) => [...line.matchAll(re)].some((m) => m[0].length > 1 && /^[\s|│]*(?:\p{L}{1,2}\s+)?$/u.test(line.slice(0, m.index ?? 0))))
  if (rowLabel !== undefined && rowLabel[0] !== "systolic" && rowLabel[0] !== "diastolic") {
    const kind = rowLabel[0]
    for (const m of line.matchAll(NUMBER_RE)) {
      const start = m.index ?? 0
      const end = start + m[0].length
      if (overlaps(spans, start, end)) continue
      const n = toNumber(m[0])
      const unit = unitFor(kind, n, /\blbs?\b/i.test(line))
      if (kind !== "blood_pressure") add({ kind, time: day, value: n, unit }, start, end)
    }
  }
  // a pulse right after a pressure, nothing but spaces or a comma between: "138/88  72", "148/92 144/90 78"
  if (!found.some((v) => v.kind === "pulse")) {
    for (const bp of found.filter((v) => v.kind === "blood_pressure")) {
      const rest = line.slice(bp.at)
      const m = PULSE_AFTER_PRESSURE_RE.exec(rest)
      if (m === null) continue
      const start = bp.at + m[0].length - (m[1] ?? "").length
      if (overlaps(spans, start, start + (m[1] ?? "").length)) continue
      add({ kind: "pulse", time: bp.time, value: Number(m[1]), unit: "bpm" }, start, start + (m[1] ?? "").length)
    }
  }
  const kept = withoutUnitTwins(found)
  // in a chart with a column per day, readings spread over two columns or more take their column's day and time
  if (grid !== undefined) {
    const columns = columnsOf(line)
    const placed = kept.map((v) => ({ v, day: nearest(grid.days, (columns[v.at] ?? v.at) + 2, 8) }))
    if (new Set(placed.map((p) => p.day?.value)).size >= 2 && placed.every((p) => p.day !== undefined)) {
      return placed.map(({ v: { at, ...vital }, day: column }) => {
        const time = grid.times === undefined ? undefined : nearest(grid.times, (columns[at] ?? at) + 2, 8)
        return { ...vital, time: time === undefined ? (column?.value ?? day) : `${column?.value ?? day}T${time.value}` }
      })
    }
  }
  return kept.sort((a, b) => a.at - b.at).map(({ at: _at, ...vital }) => vital)
}

/** Days from one ISO date to another. */
const daysBetween = (from: string, to: string) => (Date.parse(to.slice(0, 10)) - Date.parse(from.slice(0, 10))) / 86_400_000

/** A line of the document, where it is printed. */
interface Line {
  readonly text: string
  readonly page: number
  readonly line: number
}

/**
 * The pass of last resort over a whole document, once the other readers are done: a line that looks like it holds a
 * vitals reading ("128/84", "Puls 72", "37,9 °C") that no reader took, nor a result, is read by readLooseLine, dated
 * by its line or the day printed above it, under the header and chart columns printed above it; else it is unread,
 * so that a diary or chart laid out in a way the readers do not know loses no reading in silence. In a document that
 * names vital signs and is no lab report, a row of bare numbers counts too ("03.11.2026  07:10  142  91  68"). A row
 * another reader read in part (its pressure and pulse, where "SpO2 %" and "Temp °C" columns are printed too) has the
 * kinds it left out read here, from numbers it did not use. In a lab report nothing is added unless three lines or
 * more hold readings (a table or a diary of them; one or two are a pulse copied from the requisition, a blood-gas
 * sample's temperature, a sentence of the clinical notes).
 */
export const readLooseVitals = (document: {
  readonly lines: ReadonlyArray<Line>
  readonly results: ReadonlyArray<ParsedResult>
  readonly vitals: ReadonlyArray<ParsedVital>
  /** Lines already unread (by index): a reading found on one makes it read. */
  readonly unread: ReadonlySet<number>
  readonly order: DateOrder
  readonly latestDate: LatestDate
}): {
  readonly vitals: ReadonlyArray<ParsedVital & { readonly index: number }>
  readonly unread: ReadonlyArray<Line & { readonly index: number }>
} => {
  const { lines, results, vitals, order, latestDate } = document
  const at = (v: { readonly page?: number | undefined; readonly line?: number | undefined }) => `${v.page}:${v.line}`
  const said = new Set([...results, ...vitals].map(at))
  // the readings each line gave the readers above, and the header each line is (both found once)
  const readAt = new Map<string, Array<ParsedVital>>()
  for (const v of vitals) readAt.set(at(v), [...(readAt.get(at(v)) ?? []), v])
  const texts = lines.map((l) => l.text.slice(0, MAX_ROW_CHARS))
  const headers = texts.map((text) => headerLabels(text))
  const vitalsDocument = vitals.length > 0 || results.length === 0
  const vitalsTable = vitalsDocument && texts.some((text, i) => namesVitals(text) || headers[i] !== undefined)
  const found: Array<ParsedVital & { readonly index: number }> = []
  const unread: Array<Line & { readonly index: number }> = []
  let looseDay: string | undefined
  let header: ReadonlyArray<HeaderLabel> | undefined
  let grid: Grid | undefined
  lines.forEach((positioned, index) => {
    const text = texts[index] ?? ""
    if (text.trim() === "") return
    // (a diary goes on over New Year: "WED 12/31" then "THU 1/1" is the next day, not January of the year before)
    const printedDay = dayOfLine(text, order, latestDate)
    const nextYear = printedDay === undefined ? undefined : `${Number(printedDay.slice(0, 4)) + 1}${printedDay.slice(4)}`
    const lineDay =
      printedDay !== undefined && nextYear !== undefined && looseDay !== undefined && printedDay < looseDay && nextYear >= looseDay && daysBetween(looseDay, nextYear) <= 62
        ? nextYear
        : printedDay
    header = headers[index] ?? header
    // a chart with a column per day: its days, then maybe a row of times under them
    const days = gridDays(text, order, latestDate)
    if (days !== undefined) grid = { days }
    else if (grid !== undefined) {
      const times = gridTimes(text)
      if (times !== undefined) grid = { ...grid, times }
    }
    const readHere = readAt.get(at(positioned)) ?? []
    // (a line already unread as a result may hold readings: "днём 14:00 болела голова. АД 165/100 !! ЧСС 84")
    const candidate =
      !said.has(at(positioned)) && (looksLikeVital(text) || (vitalsTable && !isMetadataLine(text) && (looksLikeVitalsRow(text) || namesReading(text))))
    if (candidate) {
      const day = lineDay ?? looseDay ?? grid?.days[0]?.value
      const read = day === undefined ? [] : readLooseLine(text, day, header, grid)
      if (read.length > 0) found.push(...read.map((vital) => ({ ...vital, page: positioned.page, line: positioned.line, index })))
      else if (!document.unread.has(index)) unread.push({ ...positioned, index })
    } else if (readHere.length > 0 && !notAReading(text)) {
      // a row or sentence a reader above read in part: the kinds it left out, at the time of what it read, from numbers
      // it did not use (a number printed twice, "138/92  92", may be read twice)
      const kinds = new Set(readHere.map((v) => v.kind))
      const time = readHere[0]?.time ?? ""
      const printed = [...text.matchAll(/(?<![\d.,])\d+(?:[.,]\d+)?(?![\d])/g)].map((m) => toNumber(m[0]))
      const used = readHere.flatMap((v) => (v.diastolic === undefined ? [v.value] : [v.value, v.diastolic]))
      const left = (n: number) => printed.filter((p) => p === n).length > used.filter((u) => u === n).length
      for (const vital of readLooseLine(text, time.slice(0, 10), header)) {
        // (not the other unit in brackets of a reading printed on the line above: "(102.6 °F), SpO2 89 %")
        const otherUnit = (vital.unit === "°F" || vital.unit === "lb") && new RegExp(String.raw`\(\s*${String(vital.value).replace(".", "[.,]")}`).test(text)
        if (!kinds.has(vital.kind) && left(vital.value) && !otherUnit) found.push({ ...vital, time, page: positioned.page, line: positioned.line, index })
      }
    }
    // (a date in brackets is of something else, not the day of the lines below: "Dosing wt (from pre-admission testing
    // 10/28/25): 78.2 kg" under "Date of surgery: 11/04/2025")
    if (lineDay !== undefined && (!/[([]/.test(text) || dayOfLine(text.replace(/\([^)]*\)|\[[^\]]*\]/g, " "), order, latestDate) !== undefined)) looseDay = lineDay
  })
  const linesWithReadings = new Set([...found.map((v) => v.index), ...unread.map((u) => u.index)]).size
  return vitalsDocument || linesWithReadings >= 3 ? { vitals: found, unread } : { vitals: [], unread: [] }
}
