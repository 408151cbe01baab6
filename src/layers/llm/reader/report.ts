/**
 * The whole document: lines with their page and line number, classified one by one
 * (metadata, headings, headers, legends, vitals, result rows, blocks over several lines) and
 * every line that looks like a result but was not read kept as unread: nothing disappears in
 * silence. Pure functions, no Effect; never throws.
 * The phases that read vital signs are reportVitals.ts, those that read a result over more than
 * one line reportRows.ts, and what they share while reading is reportState.ts.
 */
import type { DocumentType } from "../../../services/llm.js"
import { readLabHeader } from "./columns.js"
import { detectDateOrder, findCollectedAt, findDateTime, readDateTime } from "./dates.js"
import { makeTitle, readHeading } from "./headings.js"
import { lookupAnalyte } from "./lexicon/analytes.js"
import { readLooseVitals } from "./looseVitals.js"
import { findLegend, isLegendLine, splitCallBack } from "./marks.js"
import { isMetadataLine } from "./metadata.js"
import { type PositionedLine, positionLines } from "./positioned.js"
import { readProseResults } from "./prose.js"
import { readPortalBlock, readRows, readUnderResult } from "./reportRows.js"
import { type DocumentFacts, emitResult, latestDateOf, newReportState } from "./reportState.js"
import { readDatedDiary, readDayDiary, readDiaryUnderDate, readFlowsheet, readNamedVital, readVitalsSentence, readVitalsTable } from "./reportVitals.js"
import { looksLikeResult, readMicroRow } from "./resultLike.js"
import { parseResultLine, type RowContext } from "./rows.js"
import { detectNumberStyle, MAX_LINES, MAX_ROW_CHARS } from "./text.js"
import type { ParsedReport, ParsedResult, ParseOptions } from "./types.js"
import { withoutUnitTwins } from "./vitalValues.js"
import { VITAL_NAME_RE } from "./vitalWords.js"

/** A messaging app's export of a message: its date, time and sender before the text. Examples: "14/11/2026, 09:55 - Kilimani Clinic: ", "[14/11/26, 09:55:10] Dr Otieno: ". */
// (a sender that is a reading's name is no sender: "12/03/2026, 07:05 - BP: 128/84" is a diary line)
const CHAT_HEADER_RE = /^(?:\[\d{1,2}[/.]\d{1,2}[/.]\d{2,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?\]|\d{1,2}[/.]\d{1,2}[/.]\d{2,4},?\s+\d{1,2}:\d{2}(?:\s?[AaPp][Mm])?\s+-)\s+([^:\d]{1,40}):\s/

/** Reads a whole lab report or vitals log. Never throws; unknown input gives an empty `other` document. */
export const parseLabReport = (text: string, options: ParseOptions = {}): ParsedReport => {
  // without a byte-order mark; CRLF and CR as LF; no-break and figure spaces as spaces; zero-width characters dropped
  const normalized = text
    .replace(/^\ufeff/, "")
    .replace(/\r\n?/g, "\n")
    .replace(/[\u00a0\u2007\u202f]/g, " ")
    .replace(/[\u200b\u200c\u200d\u2060]/g, "")
  const lines: Array<PositionedLine> = positionLines(normalized).slice(0, MAX_LINES)
  const legend = findLegend(lines.map((l) => l.text))
  const style = detectNumberStyle(normalized.slice(0, 200_000))
  const order = detectDateOrder(normalized.slice(0, 200_000))
  const latestDate = latestDateOf(lines, order)
  const doc: DocumentFacts = { lines, legend, style, order, latestDate }
  const s = newReportState()

  for (const [index, positioned] of lines.entries()) {
    if (s.skip.has(index)) continue
    s.at = positioned
    // trailing spaces dropped
    // box-drawing tables as plain ones: "│" a column rule, "┌──┬──┐" lines a rule of dashes
    // a chat export's message header dropped: "14/11/2026, 09:55 - Kilimani Clinic: RBS 5.9 mmol/l", "[14/11/26, 09:55:10] Clinic: …"
    const unboxed = positioned.text
      .replace(/[│┃║]/g, "|")
      .replace(/[─━═┌┐└┘├┤┬┴┼╔╗╚╝╠╣╦╩╬]/g, "-")
      .replace(CHAT_HEADER_RE, (header, sender: string) => (VITAL_NAME_RE.test(sender.trim()) || lookupAnalyte(sender.trim()) !== undefined ? header : ""))
    const callBack = splitCallBack(unboxed.replace(/\s+$/, ""))
    const line = callBack.text
    if (line.trim() === "") {
      if (s.vitalsHeader !== undefined) s.linesSinceTable = 0
      s.vitalsHeaderBeforeBlank = s.vitalsHeader ?? s.vitalsHeaderBeforeBlank
      s.vitalsHeader = undefined
      s.recent = []
      continue
    }
    if (line.length > MAX_ROW_CHARS * 4) {
      s.proseLines++
      continue
    }
    if (readUnderResult(s, doc, index, line)) continue
    if (isLegendLine(line, legend)) {
      s.recent = []
      continue
    }
    if (isMetadataLine(line)) {
      const found = findCollectedAt(line, order)
      if (found !== undefined) {
        s.collectedAt ??= found
        s.currentDate ??= found.slice(0, 10)
      // a labelled date that dates the rows below: "Date: 2026-04-18", "Visit date: 04/18/2026", "Date of service # …"
      } else if (/^\s*(?:date(?:\s+of\s+service)?|visit\s+date|service\s+date)\s*[:#]/i.test(line)) {
        // (a later one dates the rows below it, not the first one's)
        s.currentDate = findDateTime(line, order)?.date ?? s.currentDate
      }
      s.recent = []
      continue
    }
    // "Collected on Apr 18, 2026 7:42 AM" has no colon but is metadata all the same
    const collected = line.length <= 120 ? findCollectedAt(line, order) : undefined
    if (collected !== undefined && parseResultLine(line) === undefined) {
      s.collectedAt ??= collected
      s.currentDate ??= collected.slice(0, 10)
      s.recent = []
      continue
    }
    if (readFlowsheet(s, doc, index, line)) continue
    if (readVitalsTable(s, doc, index, line)) continue
    if (readDiaryUnderDate(s, line)) continue
    const newLabHeader = readLabHeader(line, order)
    if (newLabHeader !== undefined) {
      s.labHeader = newLabHeader
      continue
    }
    const trimmed = line.trim()
    if (readDayDiary(s, doc, trimmed)) continue
    if (readVitalsSentence(s, doc, index, trimmed)) continue
    if (readNamedVital(s, doc, line, trimmed)) continue
    const context: RowContext = {
      style,
      inTable: s.labHeader !== undefined,
      ...(legend === undefined ? {} : { legend }),
      calledBack: callBack.calledBack
    }
    if (readRows(s, index, line, context)) continue
    if (readPortalBlock(s, doc, index, trimmed, context)) continue
    if (readDatedDiary(s, doc, line, trimmed)) continue
    // a line that is only a date ("Monday 2026-05-04", "== 2026-05-11 (Mon) ==", "Tue, 12 May 2026:")
    // dates the rows that follow it
    // decoration cut ("== ", " ==", ":"), then a bracketed weekday at the end ("(Mon)"), then one at the start ("Tue, ")
    const bare = trimmed
      .replace(/^[=*#_~\-–—\s]+|[=*#_~\-–—:\s]+$/g, "")
      .replace(/\s*[([]\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s*[)\]]\s*$/i, "")
    const weekday = /^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?/i.exec(bare)?.[0].length ?? 0
    const lone = readDateTime(bare.slice(weekday), order)
    if (lone !== undefined && lone.length === bare.length - weekday) {
      s.currentDate = lone.date
      continue
    }
    // a culture's finding in words: "ORGANISM     Escherichia coli", "Germe identifié ....: Escherichia coli"
    const micro = readMicroRow(trimmed)
    if (micro !== undefined) {
      emitResult(s, micro)
      continue
    }
    // results written in sentences: "Your haemoglobin was 118 g/L (normal for women 120 to 150)."
    // (not a note that repeats a result: ">> CRITICAL RESULT(S) Glucose 38 mg/dL … called to", "Interpret with caution: Hb 96 g/L")
    const sameTest = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || (lookupAnalyte(a) !== undefined && lookupAnalyte(a)?.id === lookupAnalyte(b)?.id)
    const repeats = (r: ParsedResult) => s.results.some((o) => o.value === r.value && o.unit === r.unit && sameTest(o.name, r.name))
    const prose = callBack.calledBack || /^\s*(?:>>|\*{2,}|!{2,})|\bcritical\b/i.test(line) ? [] : readProseResults(line, style, lines[index + 1]?.text, lines[index - 1]?.text).filter((r) => !repeats(r))
    if (prose.length > 0) {
      for (const result of prose) emitResult(s, result)
      continue
    }
    // indented: two or more spaces before the text; the unread text has its runs of whitespace collapsed
    // a pipe table's row with its name cell alone ("| Índice de saturación de |  |  |") remembers that cell, so the
    // row under it ("|   transferrina | 3,8 | % |") can continue it
    const pipeCells = /^\s*\|/.test(line) ? line.replace(/^\s*\|/, "").replace(/\|\s*$/, "").split("|") : []
    const loneCell = pipeCells.length >= 2 && pipeCells.slice(1).every((c) => c.trim() === "") ? pipeCells[0] : undefined
    s.recent = [
      ...s.recent.slice(-2),
      loneCell !== undefined && loneCell.trim() !== ""
        ? { text: loneCell.trim(), index, indented: /^\s{2,}\S/.test(loneCell), headingBefore: s.pendingHeading }
        : { text: trimmed, index, indented: /^\s{2,}\S/.test(line), headingBefore: s.pendingHeading }
    ]
    if (looksLikeResult(line, s.labHeader !== undefined)) {
      s.unread.set(index, { page: positioned.page, line: positioned.line, text: trimmed.replace(/\s+/g, " ").slice(0, 300) })
    }
    const heading = readHeading(line)
    if (heading !== undefined) {
      s.pendingHeading = heading
      continue
    }
    // four words or more (runs of letters): a line of prose
    if ((trimmed.match(/\p{L}+/gu)?.length ?? 0) >= 4) s.proseLines++
  }
  const { results, vitals, titles, collectedAt, unread, proseLines } = s

  // in a vitals document, a "result" in a vital sign's unit or under its name is a reading the lab-row reader took
  // ("Gewicht vor HD (06:58, Stuhlwaage) = 77.6 kg", "Oxygen saturation 97 %"): it is given back to the readers below
  // (a vitals document: as many readings as results, or results that are mostly such readings)
  const isReading = (r: ParsedResult) => {
    const unit = r.unit.toLowerCase().replace(/\s+/g, "")
    return /^(?:kg|lbs?|mmhg|bpm|[°º][cf])$/.test(unit) || (unit === "%" && /sat|spo2|oxygen|sauerstoff|oxyg[eè]ne/i.test(r.name))
  }
  const readings = results.filter(isReading).length
  if (readings > 0 && ((vitals.length > 0 && vitals.length >= results.length) || readings * 2 > results.length)) {
    for (let i = results.length - 1; i >= 0; i--) if (results[i] !== undefined && isReading(results[i] as ParsedResult)) results.splice(i, 1)
  }
  // what no reader above took: the reader of last resort for vitals, and the lines that look like readings but gave none
  // (looseVitals.ts)
  const pass = readLooseVitals({ lines, results, vitals, unread: new Set(unread.keys()), order, latestDate })
  for (const { index, ...vital } of pass.vitals) {
    unread.delete(index)
    vitals.push(vital)
  }
  vitals.sort((a, b) => (a.page ?? 1) - (b.page ?? 1) || (a.line ?? 0) - (b.line ?? 0))
  for (const { index, page, line, text } of pass.unread) unread.set(index, { page, line, text: text.trim().replace(/\s+/g, " ").slice(0, 300) })
  // (one reading printed in two units is kept once, in °C or kg)
  vitals.splice(0, vitals.length, ...withoutUnitTwins(vitals))

  const vitalsDominate = vitals.length > 0 && vitals.length > results.length
  const tie = vitals.length > 0 && vitals.length === results.length
  const hint = options.documentTypeHint
  const documentType: DocumentType =
    tie && (hint === "vitals" || hint === "lab_results")
      ? hint
      : vitalsDominate
        ? "vitals"
        : results.length > 0
          ? "lab_results"
          : hint === "report" || hint === "other"
            ? hint
            : proseLines >= 3
              ? "report"
              : "other"

  const title = makeTitle(documentType, titles, vitals)
  return {
    documentType,
    title,
    ...(collectedAt === undefined ? {} : { collectedAt }),
    results,
    vitals,
    unreadLines: [...unread.entries()].sort(([a], [b]) => a - b).map(([, line]) => line)
  }
}
