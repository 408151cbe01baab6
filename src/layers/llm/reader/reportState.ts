/**
 * What parseLabReport (report.ts) knows while it reads a document line by line: the document's own
 * facts, found once (its lines, legend, number style, date order, latest date), and what the lines
 * read so far have left (results and readings, the headers in force, the lines kept in case the
 * next ones complete them). The reading phases (reportRows.ts, reportVitals.ts) are given both.
 */
import type { LabHeader } from "./columns.js"
import { type DateOrder, findDateTime, monthYearEnd } from "./dates.js"
import { headingTitle, readHeading } from "./headings.js"
import type { Legend } from "./marks.js"
import type { PositionedLine } from "./positioned.js"
import { MAX_ROW_CHARS, type NumberStyle } from "./text.js"
import type { ParsedResult, ParsedUnreadLine, ParsedVital } from "./types.js"
import type { VisitColumns } from "./flowsheet.js"
import { isPlausibleVital } from "./vitalValues.js"
import type { VitalsHeader } from "./vitals.js"
import type { Unparsed } from "./wrappedNames.js"

/** What is known of the whole document before its first line is read. */
export interface DocumentFacts {
  readonly lines: ReadonlyArray<PositionedLine>
  readonly legend: Legend | undefined
  readonly style: NumberStyle
  readonly order: DateOrder
  readonly latestDate: () => string | undefined
}

/**
 * The latest full date the document prints, to give a year to a diary's "Mon 06/04": found on first need only
 * (a scan of every line, a tenth of a lab report's reading time).
 */
export const latestDateOf = (lines: ReadonlyArray<PositionedLine>, order: DateOrder): (() => string | undefined) => {
  let latest: { readonly date: string | undefined } | undefined
  const latestDate = (): string | undefined => {
    latest ??= {
      // every date of a line: "Période : du 02/06/2026 au 03/06/2026" ends on the 3rd; a month with its year
      // ("Monat: November 2026") ends on its last day
      date: lines.reduce<string | undefined>((found, l) => {
        let text = l.text.slice(0, MAX_ROW_CHARS)
        const monthEnd = monthYearEnd(text)
        let latestHere = monthEnd !== undefined && (found === undefined || monthEnd > found) ? monthEnd : found
        for (let n = 0; n < 4; n++) {
          const date = findDateTime(text, order)
          if (date === undefined) break
          if (latestHere === undefined || date.date > latestHere) latestHere = date.date
          text = text.slice(date.start + Math.max(1, date.length))
        }
        return latestHere
      }, undefined)
    }
    return latest.date
  }
  return latestDate
}

/** What the lines read so far have left; the phases change it as they read. */
export interface ReportState {
  readonly results: Array<ParsedResult>
  readonly vitals: Array<ParsedVital>
  readonly titles: Array<string>
  collectedAt: string | undefined
  currentDate: string | undefined
  labHeader: LabHeader | undefined
  vitalsHeader: VitalsHeader | undefined
  /** The time of the vitals table's last row without a date of its own, to see a night go past midnight. */
  lastTableTime: string | undefined
  /** The vitals header before a blank line: a diary that leaves a blank line between its days goes on with it. */
  vitalsHeaderBeforeBlank: VitalsHeader | undefined
  linesSinceTable: number
  visitColumns: VisitColumns | undefined
  pendingHeading: string | undefined
  proseLines: number
  /** The line and time of the last vitals sentence, for the line that goes on from it. */
  sentenceStamp: { readonly index: number; readonly stamp: string } | undefined
  /** The unparsed lines right before this one, oldest first. */
  recent: Array<Unparsed>
  /** Lines that look like results but were not read (yet: a later line may complete them), by index. */
  readonly unread: Map<number, ParsedUnreadLine>
  /** The line being read: what a result or reading is stamped with. */
  at: PositionedLine
  /** Lines already read as part of a block above them (a portal block's range and flag lines). */
  readonly skip: Set<number>
}

export const newReportState = (): ReportState => ({
  results: [],
  vitals: [],
  titles: [],
  collectedAt: undefined,
  currentDate: undefined,
  labHeader: undefined,
  vitalsHeader: undefined,
  lastTableTime: undefined,
  vitalsHeaderBeforeBlank: undefined,
  linesSinceTable: 0,
  visitColumns: undefined,
  pendingHeading: undefined,
  proseLines: 0,
  sentenceStamp: undefined,
  recent: [],
  unread: new Map<number, ParsedUnreadLine>(),
  at: { text: "", page: 1, line: 1 },
  skip: new Set<number>()
})

/** A result read on the line being read: a heading pending above it becomes one of the document's titles. */
export const emitResult = (s: ReportState, result: ParsedResult) => {
  if (s.pendingHeading !== undefined) {
    const title = headingTitle(s.pendingHeading)
    if (title !== undefined && !s.titles.includes(title)) s.titles.push(title)
    s.pendingHeading = undefined
  }
  s.results.push({ ...result, page: s.at.page, line: s.at.line })
  s.recent = []
}

/** Readings read on the line being read (a reading no body can have is a misread — "Pulse monitor error x2" is no pulse of 2 — and is not shown). */
export const emitVitals = (s: ReportState, read: ReadonlyArray<ParsedVital>) => {
  for (const vital of read) if (isPlausibleVital(vital)) s.vitals.push({ ...vital, page: s.at.page, line: s.at.line })
}

/** A remembered line became part of a result: it was not a heading after all, nor unread. */
export const consume = (s: ReportState, entry: Unparsed) => {
  s.unread.delete(entry.index)
  if (s.pendingHeading !== undefined && s.pendingHeading === readHeading(entry.text)) s.pendingHeading = entry.headingBefore
}
