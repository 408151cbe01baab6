/**
 * Flowsheets: a column per visit (or per time of one day), a row per measurement, the readings of
 * a row each under its visit's date and time.
 */
import { type DateOrder, readDateTime } from "./dates.js"
import type { ParsedVital } from "./types.js"
import { readInlineVitals } from "./inlineVitals.js"
import { BP_KEY_RE, TIME_WORDS, VITAL_KEYS } from "./vitalWords.js"
import { bloodPressure } from "./vitalValues.js"
import { dayWithoutYear, type LatestDate, leadingTime } from "./vitalTimes.js"

/**
 * A flowsheet with one column per visit: "Visit date  01/07/2026  02/04/2026", maybe "Time  09:20
 * 10:45", then one row per measurement. The readings of a row are its values outside brackets,
 * in order ("36.8 °C (98.2 °F)" is one reading in °C): a row with as many as there are visits.
 */
export interface VisitColumns {
  readonly dates: ReadonlyArray<string>
  readonly times: ReadonlyArray<string | undefined>
  /** Where each visit's column starts on the date line, when known: a row with blank cells is read by position. */
  readonly starts?: ReadonlyArray<number>
}

/** The label of a flowsheet's date row, with the space after it. Examples: "Visit date  ", "Date: ", "Encounter date ". */
export const VISIT_LABEL_RE = new RegExp(
  String.raw`^\s*(?:visit\s+date|date\s+of\s+visit|visit|date|encounter(?:\s+date)?|datum|data|fecha|dato|tarih|date\s+de\s+(?:la\s+)?visite|data\s+(?:della\s+)?visita)\s*[:]?\s+`,
  "i"
)

/**
 * A chart of one day whose date is printed above it: "TIME   02:00   06:00   10:00" (or "Zeit", "Heure", "Hora"), each
 * time a column of `day`. Undefined unless two or more times and nothing else follow the label.
 */
export const readTimeColumns = (line: string, day: string): VisitColumns | undefined => {
  const label = new RegExp(String.raw`^\s*(?:time|${TIME_WORDS})\s*:?\s+`, "i").exec(line)
  if (label === null) return undefined
  const times: Array<string> = []
  const starts: Array<number> = []
  for (const m of line.slice(label[0].length).matchAll(/\S+/g)) {
    const clock = /^\d{1,2}[:.h]\d{2}$/.test(m[0]) ? leadingTime(`${m[0]} `) : undefined
    if (clock === undefined) return undefined
    times.push(clock.time)
    starts.push(label[0].length + (m.index ?? 0))
  }
  return times.length >= 2 ? { dates: times.map(() => day), times, starts } : undefined
}

/** The visits of a flowsheet date row ("Visit date  01/07/2026  02/04/2026"): two or more dates, maybe with times. */
export const readVisitColumns = (line: string, order: DateOrder, latestDate?: LatestDate): VisitColumns | undefined => {
  // (or no label: a row of dates alone far in, over the columns: "                  Tue 01/12   Tue 01/12   Wed 02/12")
  const label = VISIT_LABEL_RE.exec(line) ?? TIME_LABEL_RE.exec(line) ?? /^\s{8,}(?=(?:\p{L}{2,9}\.?,?\s+)?\d)/u.exec(line)
  if (label === null) return undefined
  const dates: Array<string> = []
  const times: Array<string | undefined> = []
  const starts: Array<number> = []
  let rest = line.slice(label[0].length)
  const at = () => line.length - rest.length
  // dates one after another, each maybe with its time ("02/11/2026 14:10"), and nothing else
  while (rest.trim() !== "") {
    // separators between dates: spaces, "|", ",", ";"
    const lead = /^[\s|,;]*/.exec(rest)?.[0].length ?? 0
    // a day without its year and its time: "11/21 08:00" (a flowsheet "all 2026")
    const short = /^(\d{1,2}[/.]\d{1,2})\.?\s+(\d{1,2}:\d{2})(?=\s|$)/.exec(rest.slice(lead))
    const shortDay = short === null ? undefined : dayWithoutYear(short[1] ?? "", order, latestDate)
    if (short !== null && shortDay !== undefined) {
      starts.push(at() + lead)
      dates.push(shortDay)
      times.push(leadingTime(`${short[2] ?? ""} `)?.time)
      rest = rest.slice(lead + short[0].length)
      continue
    }
    // a weekday and a day without its year: "Tue 01/12", "Mi 02.12."
    const weekdayDay = /^\p{L}{2,9}\.?,?\s+(\d{1,2}[/.]\d{1,2}\.?)(?=\s|$)/u.exec(rest.slice(lead))
    const weekdayDate = weekdayDay === null ? undefined : dayWithoutYear(weekdayDay[1] ?? "", order, latestDate)
    if (weekdayDay !== null && weekdayDate !== undefined) {
      starts.push(at() + lead)
      dates.push(weekdayDate)
      times.push(undefined)
      rest = rest.slice(lead + weekdayDay[0].length)
      continue
    }
    const date = readDateTime(rest.slice(lead), order)
    // a chart of one day: "Date 28/11/2026   02:00   06:00   10:00", each time a column of that date
    const time = date === undefined && dates.length > 0 ? /^(\d{1,2}[:.]\d{2})(?=\s|$)/.exec(rest.slice(lead)) : null
    if (time !== null && time !== undefined) {
      const clock = leadingTime(`${time[1] ?? ""} `)
      if (clock === undefined) return undefined
      starts.push(at() + lead)
      dates.push(dates[dates.length - 1] ?? "")
      times.push(clock.time)
      rest = rest.slice(lead + time[0].length)
      continue
    }
    if (date === undefined) return undefined
    starts.push(at() + lead)
    dates.push(date.date)
    times.push(date.iso.length > date.date.length ? date.iso.slice(11, 16) : undefined)
    rest = rest.slice(lead + date.length)
  }
  return dates.length >= 2 ? { dates, times, starts } : undefined
}

/** A flowsheet's row of date-times labelled "Time" or "Date/time": "Time   11/21 08:00   11/21 20:00". */
export const TIME_LABEL_RE = /^\s*(?:date\s*(?:\/|&|and)\s*time|time)\s*[:]?\s+(?=\d{1,2}[/.]\d{1,2})/i

/** The visits with the times a row under the dates prints, one per visit, or undefined. */
export const readVisitTimes = (line: string, visits: VisitColumns): VisitColumns | undefined => {
  // "Time  09:20  10:45", or the times alone under the dates; split on runs of whitespace (/\s+/)
  // ("Time", "Ora", "Uhrzeit", "Hora", "Heure", "Godzina")
  const label = new RegExp(String.raw`^\s*(?:(?:visit\s+)?(?:time|${TIME_WORDS})\s*[:]?)?\s+`, "i").exec(` ${line}`) ?? { 0: " " }
  line = ` ${line}`
  const times = line
    .slice(label[0].length)
    .trim()
    .split(/\s+/)
    .map((cell) => leadingTime(` ${cell} `.slice(1))?.time)
  return times.length === visits.dates.length && times.every((t) => t !== undefined) ? { ...visits, times } : undefined
}

/** One flowsheet row: its readings, one per visit, or undefined when it is not a vital sign with one per visit. */
export const readVisitRow = (line: string, visits: VisitColumns): ReadonlyArray<ParsedVital> | undefined => {
  // the vital's name and whatever precedes the first digit: "Temperature (°C)  36.8", "BP  128/84"
  // bracketed readings and notes blanked, keeping positions: "36.8 °C (98.2 °F)", "SpO2 % (O2)  92 (2 L NC)"
  const blanked = line.replace(/\([^)]*\)/g, (m) => " ".repeat(m.length))
  // a row that carries its own times ("Weight (kg, chair scales): 01/12 06:00  52.4 kg") is no row of the visits
  if (/(?<![\d:])\d{1,2}:\d{2}(?![\d:])/.test(blanked)) return undefined
  // (a label the unit in brackets makes a temperature: "TC (°C)", "Temp. corp. (°C)")
  const degrees = /^\s*(\p{L}[\p{L}. ]{0,20}?)\s*\(\s*°\s?([CF])\s*\)/iu.exec(line)
  const name = degrees !== null ? /^[^\d]*?(?=\d)/.exec(blanked) : new RegExp(String.raw`^\s*(${VITAL_KEYS})\b[^\d]*?(?=\d)`, "iu").exec(blanked)
  if (name === null) return undefined
  const key = degrees !== null ? "temperature" : (name[1] ?? "").toLowerCase()
  const rest = blanked.slice(name[0].length)
  const stamps = visits.dates.map((date, i) => (visits.times[i] === undefined ? date : `${date}T${visits.times[i]}`))
  // blank cells: each reading goes to the visit whose column it starts under (the date line's positions)
  const columnOf = (m: RegExpMatchArray): number | undefined => {
    const starts = visits.starts
    if (starts === undefined || starts.length !== stamps.length) return undefined
    const x = name[0].length + (m.index ?? 0)
    let best = 0
    starts.forEach((start, i) => {
      if (Math.abs(start - x) < Math.abs((starts[best] ?? 0) - x)) best = i
    })
    return Math.abs((starts[best] ?? 0) - x) <= 4 ? best : undefined
  }
  if (/^(?:blood\s+pressure|bp)$/.test(key) || BP_KEY_RE.test(key)) {
    // each pressure: "128/84", "131 / 86"; with blank cells, each under its visit's column
    const pressures = [...rest.matchAll(/(\d{2,3})\s?\/\s?(\d{2,3})/g)]
    const at = pressures.length === stamps.length ? pressures.map((_, i) => i) : pressures.map(columnOf)
    if (pressures.length === 0 || at.some((c) => c === undefined) || new Set(at).size !== at.length) return undefined
    return pressures.map((m, i) => bloodPressure(stamps[at[i] ?? 0] ?? "", Number(m[1]), Number(m[2])))
  }
  // each number with its unit: "36.8 °C", "74,6 kg", "72 bpm", "98%"
  const readings = [...rest.matchAll(/(\d+(?:[.,]\d+)?)\s*(°\s?[cf]|kg|lbs?|bpm|%|\/min)?/gi)]
  const columns = readings.length === stamps.length ? readings.map((_, i) => i) : readings.map(columnOf)
  if (readings.length === 0 || readings.length > stamps.length || columns.some((c) => c === undefined) || new Set(columns).size !== columns.length) {
    return undefined
  }
  // the unit the row's label gives ("Weight kg (lb)", "Temp °C (°F)") for readings printed without one
  const labelUnit = degrees !== null ? `°${degrees[2] ?? "C"}` : (/(°\s?[cf]|kg|lbs?|bpm|%)(?![\p{L}])/iu.exec(name[0])?.[1] ?? "")
  return readings.flatMap((m, i) =>
    readInlineVitals(`${degrees !== null ? "Temperature" : (name[1] ?? "")} ${m[1] ?? ""} ${m[2] ?? labelUnit}`, stamps[columns[i] ?? 0] ?? "")
  )
}
