/**
 * The phases of parseLabReport (report.ts) that read vital signs: flowsheets, vitals tables (and
 * the diaries that go on after a blank line), diary lines under a date, readings in sentences and
 * after their names, lines that start with their date. Each phase takes the document's facts and
 * the reading state explicitly, and says whether it took the line (the next phases then do not
 * see it): the order they are tried in is report.ts's.
 */
import { readLabHeader } from "./columns.js"
import { type DateOrder, findDateTime, isoDate, monthNumber } from "./dates.js"
import { readVisitColumns, readVisitRow, readVisitTimes, readTimeColumns } from "./flowsheet.js"
import { INLINE_VITAL_RE, readDiaryLine, readInlineVitals } from "./inlineVitals.js"
import { BIRTH_RE, isMetadataLine } from "./metadata.js"
import type { PositionedLine } from "./positioned.js"
import { type DocumentFacts, emitVitals, type ReportState } from "./reportState.js"
import { MAX_ROW_CHARS } from "./text.js"
import { isEmptyVitalsRow, readVitalsHeader, readVitalsRow } from "./vitals.js"
import { dayWithoutYear, leadingTime, TIME_IN_LINE_RE } from "./vitalTimes.js"
import { AVERAGE_WORDS, VITAL_NAME_RE } from "./vitalWords.js"

/** Does the text hold a time? (TIME_IN_LINE_RE is global: .test on it would move its lastIndex for later matchAll calls.) */
const hasTime = (text: string): boolean => [...text.matchAll(TIME_IN_LINE_RE)].length > 0

/** The day after an ISO date: "2026-11-06" → "2026-11-07". */
const nextDay = (date: string): string => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)

/**
 * The date printed on one of the few lines above `index` (not a birth date), for a table that prints times only. A
 * range whose start lacks the year ("night of Fri Nov 6 → Sat Nov 7, 2026") starts on its first day.
 */
const dateAbove = (lines: ReadonlyArray<PositionedLine>, index: number, order: DateOrder): string | undefined => {
  for (let k = index - 1; k >= Math.max(0, index - 6); k--) {
    const above = (lines[k]?.text ?? "").slice(0, MAX_ROW_CHARS)
    if (BIRTH_RE.test(above)) continue
    const found = findDateTime(above, order)
    if (found === undefined) continue
    const start = /(\p{L}{3,9})\.?\s+(\d{1,2})\s*(?:→|->|–|—|-|to|until|bis|au|al)\s*(?:\p{L}{2,9}\.?,?\s+)?$/u.exec(above.slice(0, found.start))
    const month = start === null ? undefined : monthNumber(start[1] ?? "")
    const first = month === undefined ? undefined : isoDate(Number(found.date.slice(0, 4)), month, Number(start?.[2]))
    return first !== undefined && first <= found.date ? first : found.date
  }
  return undefined
}

const AVERAGE_RE = new RegExp(String.raw`(?<!\p{L})(?:${AVERAGE_WORDS})(?!\p{L})`, "iu")

/** A rule under a table's header: "----  ------------  ------", "|---|---|", "====". */
const RULE_LINE_RE = /^[\s\-=_+|:]+$/

/** A flowsheet: its date row (or a row of times under a date printed above) opens it, its rows are read under it. */
export const readFlowsheet = (s: ReportState, doc: DocumentFacts, index: number, line: string): boolean => {
  const { lines, order, latestDate } = doc
  // (or a row of times under a date printed a few lines above: "DATE: Wed 18/11/2026" … "TIME  02:00  06:00")
  const dayAbove = () => dateAbove(lines, index, order) ?? s.currentDate
  // (not the times row of a flowsheet whose dates are open: readVisitTimes below gives those their dates)
  const timeRow = s.visitColumns === undefined && /^\s*\p{L}{2,8}\s*:?\s+\d{1,2}[:.h]\d{2}\s+\d{1,2}[:.h]\d{2}/u.test(line) ? dayAbove() : undefined
  const visits = readVisitColumns(line, order, latestDate) ?? (timeRow === undefined ? undefined : readTimeColumns(line, timeRow))
  if (visits !== undefined) {
    s.visitColumns = visits
    if (timeRow !== undefined) s.currentDate = timeRow
    return true
  }
  if (s.visitColumns !== undefined) {
    const withTimes = readVisitTimes(line, s.visitColumns)
    if (withTimes !== undefined) {
      s.visitColumns = withTimes
      return true
    }
    const readings = readVisitRow(line, s.visitColumns)
    if (readings !== undefined) {
      emitVitals(s, readings)
      return true
    }
    // other rows of the flowsheet (height, BMI, pain score) are measurements, not lab results, and a
    // line of bracketed alternatives under a row ("(101.1 °F)  (98.1 °F)") belongs to it
    // a short label, then two spaces and a value: "Height  170 cm", "Pain score  3", "Resp. rate /min  22"; a line of brackets only
    // (anything in the label's brackets: "BMI (kg/m²)  28,2")
    if (/^\s*\p{L}(?:[\p{L}\p{N} .%/-]|\([^)]{0,20}\)){0,30}?\s{2,}\S/u.test(line) && !isMetadataLine(line)) return true
    if (/^\s*(?:\([^)]*\)\s*)+$/.test(line)) return true
    // a rule under the dates keeps the flowsheet
    if (RULE_LINE_RE.test(line)) return true
    s.visitColumns = undefined
  }
  return false
}

/** A vitals table: its header opens it (or a row that starts a day after a blank line resumes it), its rows are read under it. */
export const readVitalsTable = (s: ReportState, doc: DocumentFacts, index: number, line: string): boolean => {
  const { lines, order, latestDate } = doc
  const newVitalsHeader = readVitalsHeader(line)
  if (newVitalsHeader !== undefined && readLabHeader(line, order) === undefined) {
    s.vitalsHeader = newVitalsHeader
    s.vitalsHeaderBeforeBlank = undefined
    s.labHeader = undefined
    // a table with times but no dates takes its day from the lines above it ("night of Fri Nov 6 → Sat Nov 7, 2026")
    if (!newVitalsHeader.columns.some((c) => c.column.kind === "date" || c.column.kind === "datetime")) {
      s.currentDate = dateAbove(lines, index, order) ?? s.currentDate
    }
    s.lastTableTime = undefined
    return true
  }
  // a rule under a vitals header ("----  ------------  ------") keeps it, as does a line of units in brackets
  // under the labels ("(mmHg)   (mmHg)   (/min)")
  if (s.vitalsHeader !== undefined && (RULE_LINE_RE.test(line) || /^\s*(?:[([][^)\]]{1,12}[)\]]\s*)+$/.test(line))) return true
  // after a blank line, the table goes on only with a row that starts a day of its own ("Mar 10/03  matin  06:50  147  93  69")
  // (a few lines between them, a week's heading or an average: "-- second week --", "1st week average 152/93"; not a
  // table header it could not read, whose rows are another table's: "Tarikh  Masa  BP (mmHg)  Nadi")
  if (s.vitalsHeaderBeforeBlank !== undefined && /^\s*\p{L}[\p{L} ()/.%-]*(?:\s{2,}\p{L}[\p{L} ()/.%-]*){2,}\s*$/u.test(line)) s.vitalsHeaderBeforeBlank = undefined
  const resumed = s.vitalsHeader === undefined && s.vitalsHeaderBeforeBlank !== undefined ? readVitalsRow(line, s.vitalsHeaderBeforeBlank, order, s.currentDate, latestDate) : undefined
  if (resumed?.date !== undefined) {
    s.vitalsHeader = s.vitalsHeaderBeforeBlank
    s.vitalsHeaderBeforeBlank = undefined
    s.linesSinceTable = 0
  } else if (s.vitalsHeader === undefined && ++s.linesSinceTable > 3) s.vitalsHeaderBeforeBlank = undefined
  if (s.vitalsHeader !== undefined) {
    let row = readVitalsRow(line, s.vitalsHeader, order, s.currentDate, latestDate)
    // rows with a time and no date that go past midnight ("11:00 PM … 12:00 AM") are on the next day
    const rowTime = row?.vitals[0]?.time.slice(11, 16)
    if (row !== undefined && row.date === undefined && s.currentDate !== undefined && rowTime !== undefined && rowTime !== "") {
      if (s.lastTableTime !== undefined && s.lastTableTime >= "18:00" && rowTime < "12:00") {
        s.currentDate = nextDay(s.currentDate)
        row = readVitalsRow(line, s.vitalsHeader, order, s.currentDate, latestDate) ?? row
      }
    }
    // (every row's time counts, a dated row's too: "Mar 10/03  06:50" then "06:52" is the same morning)
    if (rowTime !== undefined && rowTime !== "") s.lastTableTime = rowTime
    if (row !== undefined) {
      emitVitals(s, row.vitals)
      if (row.date !== undefined) s.currentDate = row.date
      return true
    }
    // a row with nothing measured keeps the table: dashes for the readings, or a day and a note ("Sun 15  did not do it")
    if (isEmptyVitalsRow(line) || /^\s*\p{L}{2,9}\.?,?\s+\d{1,2}(?:st|nd|rd|th|\.)?\s{2,}\p{L}/u.test(line)) return true
    s.vitalsHeader = undefined
  }
  return false
}

/** A diary line under the date line above it. */
export const readDiaryUnderDate = (s: ReportState, line: string): boolean => {
  // (after a vitals table's own rows, which name their columns) a diary line: its time (or times: "07:05 128/84 … 21:40 139/88"), its readings, under the date line above it
  // (the time may follow a word for the time of day: "abends  21:15 Uhr   RR 133 / 82   P 71", "evening 21:40 139/88")
  // (not a weekday and a day: "Sa 07.11.")
  const timeOfDay = /^\s*\p{L}{1,12}\.?,?\s+(?:\p{L}{2,12}\s+)?(?=\d{1,2}[:.h]\d{2}(?![\d.]))/u.exec(line)
  const diaryLine = timeOfDay === null ? line : line.slice(timeOfDay[0].length)
  const diaryTime = s.currentDate === undefined ? undefined : leadingTime(diaryLine)
  if (diaryTime !== undefined && s.currentDate !== undefined) {
    const readings = readDiaryLine(diaryLine, s.currentDate)
    if (readings.length > 0) {
      emitVitals(s, readings)
      return true
    }
  }
  return false
}

/** A diary row that starts with its day (without the year). */
export const readDayDiary = (s: ReportState, doc: DocumentFacts, trimmed: string): boolean => {
  const { order, latestDate } = doc
  // a diary row that starts with a day without its year: "│ Mo 02.11. │ 07:10  148/91  74 │ 21:05  139/86  70 │"
  // (a weekday written out, "Mittwoch, 11.11.", and a word for the time of day before the time: "früh 6.45")
  // (a weekday in brackets after the day: "10/5  (月)  6:40", or what a PDF without the font left of it: "(?)")
  const dayOnly = /^\|?\s*(?:\p{L}{2,10}\.?,?\s+)?(\d{1,2}[./]\d{1,2}\.?)\s*\|?\s+(?:[([][^)\]\s]{1,4}[)\]]\s+)?(?:\p{L}{2,12}\.?\s+)?(?=\d{1,2}[:.h]\d{2}\b)/u.exec(trimmed)
  const dayDate = dayOnly === null ? undefined : dayWithoutYear(dayOnly[1] ?? "", order, latestDate)
  if (dayOnly !== null && dayDate !== undefined) {
    const diary = readDiaryLine(trimmed.slice(dayOnly[0].length), dayDate)
    if (diary.length > 0) {
      emitVitals(s, diary)
      s.currentDate = dayDate
      return true
    }
  }
  return false
}

/** Readings in a sentence. */
export const readVitalsSentence = (s: ReportState, doc: DocumentFacts, index: number, trimmed: string): boolean => {
  const { order } = doc
  // vitals in a sentence, dated on the line or by the sentence it goes on from: "Admission vitals (ED triage,
  // 11/20/2026 19:42): BP 168/98 mmHg, HR 118 bpm, Temp 39.2 °C" over "(102.6 °F), SpO2 89 % on room air, …";
  // not a target or a threshold ("BP below 130/80 mmHg", "if temperature above 38.0 °C")
  const named = [...trimmed.matchAll(INLINE_VITAL_RE)].length
  const threshold = new RegExp(String.raw`\b(?:target|goal|aim|if|${AVERAGE_WORDS})\b|\b(?:below|above|under|over|less\s+than|more\s+than)\s+\d`, "iu")
  if (named >= 2 && !threshold.test(trimmed)) {
    const dated = findDateTime(trimmed, order)
    // else the sentence it goes on from, else the date above with the line's own time ("Morgens 07:10: RR 128/84, Puls 72")
    const clock = leadingTime(`${/(?<![\d/.:-])\d{1,2}[:.h]\d{2}(?![\d.])/.exec(trimmed)?.[0] ?? ""} `)
    const goesOn = s.sentenceStamp?.index === index - 1 ? s.sentenceStamp.stamp : undefined
    const day = goesOn?.slice(0, 10) ?? s.currentDate
    const stamp = dated?.iso ?? (clock !== undefined && day !== undefined ? `${day}T${clock.time}` : (goesOn ?? s.currentDate))
    // the bracket with the date and time is not a reading: "(ED triage, 11/20/2026 19:42)"
    const inline = stamp === undefined ? [] : readInlineVitals(trimmed.replace(/\([^)]*\d{1,2}[:/.-]\d{1,2}[^)]*\)/g, " "), stamp)
    if (stamp !== undefined && inline.length > 0) {
      emitVitals(s, inline)
      s.sentenceStamp = { index, stamp }
      return true
    }
  }
  return false
}

/** A line that starts with a vital sign's name. */
export const readNamedVital = (s: ReportState, doc: DocumentFacts, line: string, trimmed: string): boolean => {
  const { order, latestDate } = doc
  // a bullet dropped first: "• BP 128/84"; not an average ("Peso medio settimana: 80,1 kg")
  if (VITAL_NAME_RE.test(trimmed.replace(/^[•·*\-–]\s*/, "")) && !AVERAGE_RE.test(trimmed)) {
    const leading = findDateTime(trimmed.slice(0, 24), order)
    // or a day without its year and a time before the reading: "Weight (kg, chair scales): 01/12 06:00  52.4 kg"
    const dayTime = leading === undefined ? /(?<![\d/.])(\d{1,2}[/.]\d{1,2})\.?\s+(\d{1,2}:\d{2})(?!\d)/.exec(trimmed) : null
    const day = dayTime === null ? undefined : dayWithoutYear(dayTime[1] ?? "", order, latestDate)
    const stamp = leading?.iso ?? (day !== undefined && dayTime !== null ? `${day}T${(dayTime[2] ?? "").padStart(5, "0")}` : undefined) ?? s.collectedAt ?? s.currentDate
    if (stamp !== undefined) {
      // (what follows that time, when it is printed before the reading)
      const inline = readInlineVitals(dayTime === null || day === undefined ? line : `${trimmed.slice(0, dayTime.index)} ${trimmed.slice(dayTime.index + dayTime[0].length)}`, stamp)
      if (inline.length > 0) {
        emitVitals(s, inline)
        return true
      }
    }
  }
  return false
}

/** A diary line that starts with its date. */
export const readDatedDiary = (s: ReportState, doc: DocumentFacts, line: string, trimmed: string): boolean => {
  const { order } = doc
  const leadingDate = findDateTime(trimmed.slice(0, 24), order)
  if (leadingDate !== undefined && trimmed.indexOf(leadingDate.iso.slice(0, 4)) <= 12) {
    const inline = readInlineVitals(line, leadingDate.iso)
    // a diary line that starts with its date: "2026-03-02  07:05 128/84 72 bpm  21:40 139/88 77 bpm",
    // "2 March 2026, 9:40 pm: 139/88, pulse 72" (what follows the date and its time, read as a diary)
    const afterDate = trimmed.slice(leadingDate.start + leadingDate.length)
    // (the date's own time stamps what follows it, up to the next time on the line)
    const timed = leadingDate.iso.length > 10 ? `${leadingDate.iso.slice(11, 16)} ${afterDate}` : afterDate
    const fromDiary = hasTime(timed) ? readDiaryLine(timed, leadingDate.date) : readInlineVitals(afterDate, leadingDate.iso, true)
    const diary = fromDiary.length > inline.length ? fromDiary : inline
    if (diary.length > 0) {
      emitVitals(s, diary)
      s.currentDate = leadingDate.date
      return true
    }
  }
  return false
}
