/**
 * The whole document: lines with their page and line number, classified one by one
 * (metadata, headings, headers, legends, vitals, result rows, blocks over several lines) and
 * every line that looks like a result but was not read kept as unread: nothing disappears in
 * silence. Pure functions, no Effect; never throws.
 */
import { lookupAnalyte } from "./lexicon/analytes.js"
import type { DocumentType } from "../../../services/llm.js"
import { dropIgnoredColumns, type LabHeader, readLabHeader } from "./columns.js"
import { type DateOrder, detectDateOrder, findCollectedAt, findDateTime, isoDate, monthNumber, monthYearEnd, readDateTime } from "./dates.js"
import { headingTitle, makeTitle, readHeading, SECTION_ONLY } from "./headings.js"
import { findAnalyteMention } from "./lexicon/analytes.js"
import { findLegend, isLegendLine, splitCallBack } from "./marks.js"
import { BIRTH_RE, isMetadataLine } from "./metadata.js"
import { readProseResults } from "./prose.js"
import { normalizeRow, parseResultLine, parseRow, type RowContext } from "./rows.js"
import { detectNumberStyle, MAX_LINES, MAX_ROW_CHARS } from "./text.js"
import { QUAL_RE, readFlag, readUnit } from "./tokens.js"
import type { ParsedReport, ParsedResult, ParsedUnreadLine, ParsedVital, ParseOptions } from "./types.js"
import {
  dayWithoutYear,
  leadingTime,
  readDiaryLine,
  readInlineVitals,
  readTimeColumns,
  readVisitColumns,
  readVisitRow,
  readVisitTimes,
  AVERAGE_WORDS,
  isEmptyVitalsRow,
  isPlausibleVital,
  withoutUnitTwins,
  readVitalsHeader,
  readVitalsRow,
  INLINE_VITAL_RE,
  TIME_IN_LINE_RE,
  type VisitColumns,
  VITAL_NAME_RE,
  type VitalsHeader
} from "./vitals.js"
import { readLooseVitals } from "./looseVitals.js"

/** A line of the document and where it is. */
export interface PositionedLine {
  readonly text: string
  /** 1-based; a form feed starts a new page. */
  readonly page: number
  /** 1-based, on its page. */
  readonly line: number
}

/** The document's lines with their page and line numbers (a form feed starts a new page). */
/** Does the text hold a time? (TIME_IN_LINE_RE is global: .test on it would move its lastIndex for later matchAll calls.) */
const hasTime = (text: string): boolean => [...text.matchAll(TIME_IN_LINE_RE)].length > 0

export const positionLines = (text: string): Array<PositionedLine> => {
  const out: Array<PositionedLine> = []
  let page = 1
  let line = 0
  for (const raw of text.split("\n")) {
    const parts = raw.split("\f")
    parts.forEach((part, i) => {
      if (i > 0) {
        page++
        line = 0
      }
      // a form feed alone on its line only turns the page
      if (i > 0 && part.trim() === "" && parts.length === 2 && raw.trim() === "") return
      line++
      out.push({ text: part, page, line })
    })
  }
  return out
}

/**
 * The remembered lines right above this one that begin its name, oldest first: each continued by
 * the next (see continuesName), or the next one indented under it. Empty when the row stands alone.
 */
export const nameChain = (recent: ReadonlyArray<Unparsed>, index: number, row: string): ReadonlyArray<Unparsed> => {
  const chain: Array<Unparsed> = []
  // "Your value 97 U/L" under a name is a portal block, read as one below
  if (VALUE_LINE_RE.test(unleadered(row)) || RANGE_LINE_RE.test(unleadered(row))) return chain
  // indented: two or more spaces, then a letter ("  Protein   3.8")
  let next = { text: row.trim(), index, indented: /^\s{2,}\p{L}/u.test(row) }
  for (let k = recent.length - 1; k >= 0; k--) {
    const above = recent[k]
    if (above === undefined || above.index !== next.index - 1) break
    // a value, not a name that starts with digits ("25-OH Vitamin D"): "131  mg/dL", "<0.5 ", "25-50 /HPF"
    const startsWithValue = /^[<>]?\d+(?:[.,]\d+)?(?:\s|$)|^\d{1,3}\s?-\s?\d{1,3}\s/.test(next.text)
    const indentedUnder = next.indented && !above.indented && nameLike(above.text, true)
    // a specimen or qualifier word that ends a wrapped name: "…Ratio, Random" over "Urine   41  H  mg/g creat"; not "Urinary"
    const qualifierTail = !startsWithValue && /^(?:urine|serum|plasma|blood|random|total|free|direct|calculated|fasting)\b/i.test(next.text)
    // a section's heading over its first row ends no name: "Blood gas values" over "  pH   7.21L", "Calculated values"
    if (SECTION_TAIL_RE.test(above.text)) break
    if (!startsWithValue && !continuesName(above.text, next.text) && !indentedUnder && !(qualifierTail && nameLike(above.text))) break
    if (startsWithValue && !nameLike(above.text, true)) break
    chain.unshift(above)
    next = above
  }
  return chain
}

/**
 * The rest of a result's name printed under it, after the value's line: indented to the name's column, one
 * cell with no digit, at most five words, not a sentence nor a label. Examples: "[relativ aktivitet; INR];P",
 * "N-terminalt fragment [NT-proBNP];P" under "Natriuretisk peptid B prohormon   1870   < 300 ng/L".
 */
export const nameTail = (above: string, name: string, line: string, below = ""): string | undefined => {
  // a pipe table's row that only goes on with the name: "| sedimentazione (VES) | | | | |" under "| Velocità di eritro- | 48 | …"
  // (a table: the row above has cells of its own; a box around a ticket is not one)
  const aboveCells = above.split("|").filter((c) => c.trim() !== "").length
  if (aboveCells >= 2 && line.includes("|")) {
    const cells = line.replace(/^\s*\|/, "").split("|").map((c) => c.trim())
    const filled = cells.filter((c) => c !== "")
    // (digits only inside brackets: "stimata (eGFR, CKD-EPI 2021)")
    const first = cells[0] ?? ""
    if (!(filled.length === 1 && first !== "" && !/\d/.test(first.replace(/\([^)]*\)/g, "")) && first.length <= 60)) return undefined
    // a section's heading in capitals ("| BIOQUÍMICA |  |  |") under a name that is not is no part of it
    if (/\p{Lu}{3}/u.test(first) && first === first.toUpperCase() && name !== name.toUpperCase()) return undefined
    // the start of the next row's name, which goes on indented or in lower case under it: "| Índice de saturación de |"
    // over "|   transferrina | 3,8 | % |"
    const next = below.replace(/^\s*\|/, "").split("|")
    if (next.length >= 2 && /\d/.test(next.slice(1).join("|")) && /^(?:\s{2,}\S|\s*\p{Ll})/u.test(next[0] ?? "")) return undefined
    return first
  }
  const text = line.trim()
  // a name over its own value ("Specific gravity (refractometer)" over "   1.031   1.003 - 1.035") starts the next row
  if (/^\s*[<>≤≥]?\s*\d/.test(below) || DECORATED_RE.test(line)) return undefined
  const column = above.indexOf(name.split(" ")[0] ?? name)
  const indent = line.length - line.trimStart().length
  // one cell only: "Clarity      Turbid    Clear" is a row of its own
  if (column < 0 || text === "" || /\d|\S\s{2,}\S|\t/.test(text) || text.length > 60 || text.split(/\s+/).length > 5) return undefined
  // under the name: at its column, or further in when it opens with a bracket or a lower-case word (a name at the
  // line's start: only after a name that ends with a comma, "Immature Granulocytes," over "  Absolute"; a line at
  // the start under such a name is the next heading or row)
  const underName = column > 0 && (Math.abs(indent - column) <= 1 || (indent > column && /^[([\p{Ll}]/u.test(text)))
  // (at the line's start, further in: after a comma, or the name's abbreviation in brackets: "   (PCV)", "   Concentration (MCHC)")
  const indentedTail = indent > column && (/,$/.test(name) || /\([\p{L}\d-]{2,10}\)$/u.test(text))
  if (!underName && !indentedTail) return undefined
  // the start of the next row's name, which goes on further in and in lower case under it: "  Polynucléaires" over
  // "    neutrophiles   0,08   G/L"
  const belowIndentAt = below.length - below.trimStart().length
  if (/\d/.test(below) && belowIndentAt > indent && /^\p{Ll}/u.test(below.trimStart())) return undefined
  // a known test's name is whole; a line under it that the next row follows at its column is a heading ("Oximetry values")
  if (lookupAnalyte(name) !== undefined && !/[,(/-]$/.test(name) && /^\s*\S.*?\s\d/.test(below) && !/^\s*[<>≤≥]?\s*\d/.test(below)) {
    const belowIndent = below.length - below.trimStart().length
    if (Math.abs(belowIndent - indent) <= 1 && !/^[([]/.test(text)) return undefined
  }
  // (an abbreviation in brackets alone, "(PCV)", is in capitals like a heading, but is none)
  const abbreviation = /^\([\p{L}\d-]{2,10}\)$/u.test(text)
  if (/[.:!?]$|\.\s|:\s/.test(text) || isMetadataLine(text) || (!abbreviation && readHeading(text) !== undefined)) return undefined
  return text
}

/** A messaging app's export of a message: its date, time and sender before the text. Examples: "14/11/2026, 09:55 - Kilimani Clinic: ", "[14/11/26, 09:55:10] Dr Otieno: ". */
// (a sender that is a reading's name is no sender: "12/03/2026, 07:05 - BP: 128/84" is a diary line)
const CHAT_HEADER_RE = /^(?:\[\d{1,2}[/.]\d{1,2}[/.]\d{2,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?\]|\d{1,2}[/.]\d{1,2}[/.]\d{2,4},?\s+\d{1,2}:\d{2}(?:\s?[AaPp][Mm])?\s+-)\s+([^:\d]{1,40}):\s/

/** The last word of a section's heading: "Blood gas values", "Calculated values", "Renal panel", "Liver profile", "Electrolytes". */
const SECTION_TAIL_RE = /\b(?:values|results|parameters|panel|profile|tests|status|studies|gas(?:es)?|electrolytes|metabolites|oximetry|chemistry|ha?ematology|biochemistry|serology|urinalysis|examination)$/i

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

/** A heading between rules: "---- Blood gas (37.0 C) ----", "== Electrolytes ==", "*** Metabolites ***". */
export const DECORATED_RE = /^\s*[-=*#~_]{2,}\s*\S.*\S\s*[-=*#~_]{2,}\s*$/

/** Text that can be (the start of) a test name: short, no digits at its end, not a sentence or a label. */
export const nameLike = (text: string, continued = false): boolean =>
  text.length <= 60 &&
  !DECORATED_RE.test(text) &&
  // names do not end in a number or a full stop, nor start with a house number ("1 Main St"): "Result:", "Glucose 95", "Fasting."
  !/[:.!?]\s*$|\d\s*$|^\d+\s/.test(text) &&
  // at most six words
  text.split(/\s+/).length <= 6 &&
  !isMetadataLine(text) &&
  // a heading has the look of a name; an indented line under it says it was one after all
  (continued ? !(text === text.toUpperCase() || SECTION_ONLY.test(text)) : readHeading(text) === undefined)

/**
 * Does the line above end a name that this line continues? It ends with a connector ("Vitamin D,",
 * "Alanine", "of", "and", "(" or "/") or this line starts with a lower-case word or a bracket
 * ("(LDL), calculated"). Short and without a colon, so a heading or a label is not taken.
 */
export const continuesName = (above: string, line: string): boolean => {
  // a decorated heading ("---- Blood gas (37.0 C) ----", "== Electrolytes ==") starts no name
  if (DECORATED_RE.test(above) || DECORATED_RE.test(line)) return false
  // not after a label or sentence end ("Note:", "Fasting.") nor a number ("Sodium 139"); at most six words
  if (above.length > 60 || /[:.!?]\s*$/.test(above) || /\d\s*$/.test(above)) return false
  if (above.split(/\s+/).length > 6 || isMetadataLine(above)) return false
  // a connector at the end: "Vitamin D,", "Alkaline (", "AST/", "Protein +", "Level of", "Ratio to", "Índice de saturación de",
  // "Velocità di", "Clairance de la"; not one letter ("Vitamin E", "Hepatitis A")
  if (/[,(/&+-]$|\b(?:and|of|for|with|by|to|in|per|de|del|de la|des|du|di|della|dei|da|do|dos|das|der|von|van|och|og|und|et|od|ve)$/i.test(above)) return true
  // "(LDL), calculated …" or "calculated …" (three lower-case letters or more), but not "eGFR …" or "pH …", which start
  // names of their own
  return /^\(/.test(line) || (/^\p{Ll}{3,}\b/u.test(line) && findAnalyteMention(line.split(/\s/)[0] ?? "") === undefined)
}

/**
 * Does the line look like it holds a result, though it was not read as one? A number with a unit
 * after it ("139 mmol/L", "7.2x10^9/L") or a flag beside a number ("139 H", "*131*"), or a known
 * test name with a number. Such a line must not disappear: it is reported as unread.
 */
export const looksLikeResult = (line: string, inTable = false): boolean => {
  if (isMetadataLine(line)) return false
  // under a table header, a short line that starts with a word and has a number or a second
  // column ("Crystals   Calcium oxalate, few") is a row of it
  // words split on spaces; columns on two spaces, a tab or a pipe
  const words = line.replace(/\|/g, " ").trim().split(/\s+/)
  const columns = line.trim().split(/\s{2,}|\t|\|/).filter((c) => c.trim() !== "").length
  // starts with a letter ("Crystals", or "| Kappa/Lambda Ratio |" inside a table's rule), does not end a sentence
  // ("… noted."), has a digit
  if (inTable && /^[\s|]*\p{L}/u.test(line) && words.length <= 12 && !/[.!?]\s*$/.test(line) && (/\d/.test(line) || columns >= 2)) {
    return true
  }
  // no digit: a result in words ("Nitrite   Positive", "Culture ....: positive*", "Germe identifié : Escherichia coli")
  // when a test's name or a microbiology label stands before a qualitative word or an organism, as a row is laid out
  // (a column gap, a leader or a colon between them); else nothing to read
  if (!/\d/.test(line)) return wordResult(line, columns)
  const mention = findAnalyteMention(line)
  // a digit after a known analyte: "Sodium was 139"
  if (mention !== undefined && /\d/.test(line.slice(mention.end))) return true
  const s = normalizeRow(line)
  // a name, then a number and a range after it: "Ferritina   8   13 - 150", "Urato .... 7,6 (3,4-7,0)"
  if (/^\s*\p{L}[^\d]{2,60}?\s[<>≤≥]?\d+(?:[.,]\d+)?\s*[*!]?\s+[([]?\s*[<>≤≥]?\s*\d+(?:[.,]\d+)?\s*(?:[-–]|to|a|bis)\s*\d/u.test(s)) return true
  // after every number ("139 ", "7.2"), a unit or a flag
  for (const m of s.matchAll(/\d(?:[.,]\d+)?\s*/g)) {
    const after = s.slice((m.index ?? 0) + m[0].length)
    if (readUnit(after) !== undefined) return true
    const flag = readFlag(after, false)
    if (flag !== undefined && flag.flag._tag !== "direction") return true
    // a capital H or L alone: "139 H"; not "139 Hz" nor "4 Lab"
    if (flag !== undefined && /^[HL]\b/.test(after)) return true
  }
  // a digit outside the first test name found ("T4" alone has none): "T4 1.2", "Sodium 139"
  return false
}

/** Microbiology labels whose value is an organism or a finding in words. Examples: "Organism", "Culture", "Germe identifié", "Erreger", "Gram stain". */
const MICRO_LABEL_RE = /\b(?:organism|isolate|culture|growth|gram(?:\s+stain)?|germe?s?|erreger|keim|bakteri[ae]n?|microorganismo|organismo|cultivo|coltura|kweek|examen\s+direct)\b/i

/**
 * A microbiology label and its finding in words, with no number: "ORGANISM   Escherichia coli   SB",
 * "Examen direct (Gram) ....: bacilles Gram négatif". The finding is kept as printed, its flag unknown
 * (no range says what is expected).
 */
export const MICRO_ROW_RE =
  /^([\p{L}][\p{L} ()/.'-]{1,40}?)(?:\s*\.{3,}\s*:?\s*|\s*:\s+|\s{2,})(\p{L}[\p{L} ()'.,-]{1,60}?)(?:\s{2,}[A-Z]{1,4})?\s*$/u

export const readMicroRow = (line: string): ParsedResult | undefined => {
  const m = MICRO_ROW_RE.exec(line)
  if (m === null || /\d/.test(line) || isMetadataLine(line)) return undefined
  const name = (m[1] ?? "").trim()
  const value = (m[2] ?? "").trim()
  // only under a culture's own labels (a growth, an organism, a Gram stain), never a heading or a sentence
  if (!MICRO_LABEL_RE.test(name) || /[.!?]$/.test(value) || value.split(/\s+/).length > 6) return undefined
  return { name, value, unit: "", referenceRange: { text: "" }, flag: "unknown" }
}

/** Does a line without a digit hold a result in words? See looksLikeResult. */
const wordResult = (line: string, columns: number): boolean => {
  const text = line.trim()
  if (text.length > 120 || /[.!?]\s*$/.test(text)) return false
  // name and value apart: a column gap, a leader, a colon
  const split = /\S(?:\s{2,}|\s*\.{3,}\s*|\s*:\s+|\t|\s*\|\s*)\S/.exec(text)
  if (split === null && columns < 2) return false
  const value = text.slice((split?.index ?? 0) + 1).replace(/^[\s.:|]+/, "")
  const name = text.slice(0, (split?.index ?? 0) + 1)
  const named = findAnalyteMention(name) !== undefined || MICRO_LABEL_RE.test(name)
  const wordy = QUAL_RE.test(value) || /^\p{Lu}\p{Ll}+\s+\p{Ll}{3,}\b/u.test(value) || readFlag(value.split(/\s{2,}/).pop() ?? "", false) !== undefined
  return named && wordy
}

/** "Value: 11.2 g/dL", "Your value 134", "Result = Negative": the colon may be missing before a number; not "Results pending". */
export const VALUE_LINE_RE = /^(?:your\s+)?(?:value|result)(?:\s*[:=]\s*|\s+(?=[<>≤≥]?\s*\d)|\s{2,})(.+)$/i

/** A portal block's flag on a line of its own, labelled: "Flag   High", "Status: Abnormal"; not "Flagged" (a space must follow). */
export const FLAG_LINE_RE = /^(?:flag|status|result\s+flag|interpretation)\s*[:=]?\s+(.+)$/i

/** A portal block's range on a line of its own: "Standard range 135 - 145 mmol/L", "Reference interval: <5.7"; not "Range 1-2". */
export const RANGE_LINE_RE = /^(?:(?:normal|standard|reference|ref\.?)\s+(?:range|interval|values?)|expected(?:\s+(?:range|values?))?)\s*[:=]?\s*(.+)$/i

/** A block's line of earlier results: "Past results:  241 mg/dL (Jul 15, 2025)", "Previous value 4.0". */
export const PAST_LINE_RE = /^(?:past|previous|prior|earlier|last)\s+(?:results?|values?)\b/i

/** A flag at the end of a block's name line, after a gap: "Glucose      [ HIGH ]", "LDL Chol Calc (NIH)     ! High". */
export const NAME_BADGE_RE = /^(.*?\S)\s{2,}(?:\[\s*([^\]]{1,20})\]|(?:!\s*)?([\p{L}]{1,12}(?:\s[\p{L}]{1,12})?))\s*$/u

/** A labelled line with dot leaders read as if spaced: "Result .......... 9.8 IU/L" → "Result  9.8 IU/L". */
export const unleadered = (line: string): string => line.trim().replace(/\s*(?:\.{3,}|…+)\s*/g, "  ")

/** A line that produced nothing yet, kept in case the next lines complete it (a wrapped name, a name above its value). */
export interface Unparsed {
  readonly text: string
  /** Its index among the document's lines. */
  readonly index: number
  /** It starts further right than a name column would: a continuation of the line above. */
  readonly indented: boolean
  /** What was pending as a section heading before this line was read. */
  readonly headingBefore: string | undefined
}

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
  // the latest full date the document prints, to give a year to a diary's "Mon 06/04": found on first need only
  // (a scan of every line, a tenth of a lab report's reading time)
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

  const results: Array<ParsedResult> = []
  const vitals: Array<ParsedVital> = []
  const titles: Array<string> = []
  let collectedAt: string | undefined
  let currentDate: string | undefined
  let labHeader: LabHeader | undefined
  let vitalsHeader: VitalsHeader | undefined
  // the time of the vitals table's last row without a date of its own, to see a night go past midnight
  let lastTableTime: string | undefined
  // the vitals header before a blank line: a diary that leaves a blank line between its days goes on with it
  let vitalsHeaderBeforeBlank: VitalsHeader | undefined
  let linesSinceTable = 0
  let visitColumns: VisitColumns | undefined
  let pendingHeading: string | undefined
  let proseLines = 0
  // the line and time of the last vitals sentence, for the line that goes on from it
  let sentenceStamp: { readonly index: number; readonly stamp: string } | undefined
  // the unparsed lines right before this one, oldest first
  let recent: Array<Unparsed> = []
  // lines that look like results but were not read (yet: a later line may complete them), by index
  const unread = new Map<number, ParsedUnreadLine>()
  let at: PositionedLine = { text: "", page: 1, line: 1 }

  const emitResult = (result: ParsedResult) => {
    if (pendingHeading !== undefined) {
      const title = headingTitle(pendingHeading)
      if (title !== undefined && !titles.includes(title)) titles.push(title)
      pendingHeading = undefined
    }
    results.push({ ...result, page: at.page, line: at.line })
    recent = []
  }
  // (a reading no body can have is a misread — "Pulse monitor error x2" is no pulse of 2 — and is not shown)
  const emitVitals = (read: ReadonlyArray<ParsedVital>) => {
    for (const vital of read) if (isPlausibleVital(vital)) vitals.push({ ...vital, page: at.page, line: at.line })
  }
  /** A remembered line became part of a result: it was not a heading after all, nor unread. */
  const consume = (entry: Unparsed) => {
    unread.delete(entry.index)
    if (pendingHeading !== undefined && pendingHeading === readHeading(entry.text)) pendingHeading = entry.headingBefore
  }

  // lines already read as part of a block above them (a portal block's range and flag lines)
  const skip = new Set<number>()
  for (const [index, positioned] of lines.entries()) {
    if (skip.has(index)) continue
    at = positioned
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
      if (vitalsHeader !== undefined) linesSinceTable = 0
      vitalsHeaderBeforeBlank = vitalsHeader ?? vitalsHeaderBeforeBlank
      vitalsHeader = undefined
      recent = []
      continue
    }
    if (line.length > MAX_ROW_CHARS * 4) {
      proseLines++
      continue
    }
    // a name that goes on under itself after its value: "Koagulationsfaktor II+VII+X   5,8   < 1,2" over "[relativ aktivitet; INR];P"
    const above = lines[index - 1]
    const last = results[results.length - 1]
    if (above !== undefined && last !== undefined && last.page === above.page && last.line === above.line) {
      const tail = nameTail(above.text, last.name, line, lines[index + 1]?.text)
      if (tail !== undefined) {
        results[results.length - 1] = { ...last, name: `${last.name} ${tail}` }
        continue
      }
      // the same result in a second unit under it: "Glycémie à jeun ... : 1,02 g/L (0,70 - 1,10)" over "   5,66 mmol/L (3,89 - 6,11)"
      if (/^\s{8,}[<>]?\d/.test(line)) {
        const again = parseResultLine(`${last.name}  ${line.trim()}`, { style, inTable: true })
        if (again !== undefined && again.unit !== "" && again.unit !== last.unit && again.value !== last.value) continue
      }
    }
    if (isLegendLine(line, legend)) {
      recent = []
      continue
    }
    if (isMetadataLine(line)) {
      const found = findCollectedAt(line, order)
      if (found !== undefined) {
        collectedAt ??= found
        currentDate ??= found.slice(0, 10)
      // a labelled date that dates the rows below: "Date: 2026-04-18", "Visit date: 04/18/2026", "Date of service # …"
      } else if (/^\s*(?:date(?:\s+of\s+service)?|visit\s+date|service\s+date)\s*[:#]/i.test(line)) {
        // (a later one dates the rows below it, not the first one's)
        currentDate = findDateTime(line, order)?.date ?? currentDate
      }
      recent = []
      continue
    }
    // "Collected on Apr 18, 2026 7:42 AM" has no colon but is metadata all the same
    const collected = line.length <= 120 ? findCollectedAt(line, order) : undefined
    if (collected !== undefined && parseResultLine(line) === undefined) {
      collectedAt ??= collected
      currentDate ??= collected.slice(0, 10)
      recent = []
      continue
    }
    // (or a row of times under a date printed a few lines above: "DATE: Wed 18/11/2026" … "TIME  02:00  06:00")
    const dayAbove = () => dateAbove(lines, index, order) ?? currentDate
    // (not the times row of a flowsheet whose dates are open: readVisitTimes below gives those their dates)
    const timeRow = visitColumns === undefined && /^\s*\p{L}{2,8}\s*:?\s+\d{1,2}[:.h]\d{2}\s+\d{1,2}[:.h]\d{2}/u.test(line) ? dayAbove() : undefined
    const visits = readVisitColumns(line, order, latestDate) ?? (timeRow === undefined ? undefined : readTimeColumns(line, timeRow))
    if (visits !== undefined) {
      visitColumns = visits
      if (timeRow !== undefined) currentDate = timeRow
      continue
    }
    if (visitColumns !== undefined) {
      const withTimes = readVisitTimes(line, visitColumns)
      if (withTimes !== undefined) {
        visitColumns = withTimes
        continue
      }
      const readings = readVisitRow(line, visitColumns)
      if (readings !== undefined) {
        emitVitals(readings)
        continue
      }
      // other rows of the flowsheet (height, BMI, pain score) are measurements, not lab results, and a
      // line of bracketed alternatives under a row ("(101.1 °F)  (98.1 °F)") belongs to it
      // a short label, then two spaces and a value: "Height  170 cm", "Pain score  3", "Resp. rate /min  22"; a line of brackets only
      // (anything in the label's brackets: "BMI (kg/m²)  28,2")
      if (/^\s*\p{L}(?:[\p{L}\p{N} .%/-]|\([^)]{0,20}\)){0,30}?\s{2,}\S/u.test(line) && !isMetadataLine(line)) continue
      if (/^\s*(?:\([^)]*\)\s*)+$/.test(line)) continue
      // a rule under the dates keeps the flowsheet
      if (RULE_LINE_RE.test(line)) continue
      visitColumns = undefined
    }
    const newVitalsHeader = readVitalsHeader(line)
    if (newVitalsHeader !== undefined && readLabHeader(line, order) === undefined) {
      vitalsHeader = newVitalsHeader
      vitalsHeaderBeforeBlank = undefined
      labHeader = undefined
      // a table with times but no dates takes its day from the lines above it ("night of Fri Nov 6 → Sat Nov 7, 2026")
      if (!newVitalsHeader.columns.some((c) => c.column.kind === "date" || c.column.kind === "datetime")) {
        currentDate = dateAbove(lines, index, order) ?? currentDate
      }
      lastTableTime = undefined
      continue
    }
    // a rule under a vitals header ("----  ------------  ------") keeps it, as does a line of units in brackets
    // under the labels ("(mmHg)   (mmHg)   (/min)")
    if (vitalsHeader !== undefined && (RULE_LINE_RE.test(line) || /^\s*(?:[([][^)\]]{1,12}[)\]]\s*)+$/.test(line))) continue
    // after a blank line, the table goes on only with a row that starts a day of its own ("Mar 10/03  matin  06:50  147  93  69")
    // (a few lines between them, a week's heading or an average: "-- second week --", "1st week average 152/93"; not a
    // table header it could not read, whose rows are another table's: "Tarikh  Masa  BP (mmHg)  Nadi")
    if (vitalsHeaderBeforeBlank !== undefined && /^\s*\p{L}[\p{L} ()/.%-]*(?:\s{2,}\p{L}[\p{L} ()/.%-]*){2,}\s*$/u.test(line)) vitalsHeaderBeforeBlank = undefined
    const resumed = vitalsHeader === undefined && vitalsHeaderBeforeBlank !== undefined ? readVitalsRow(line, vitalsHeaderBeforeBlank, order, currentDate, latestDate) : undefined
    if (resumed?.date !== undefined) {
      vitalsHeader = vitalsHeaderBeforeBlank
      vitalsHeaderBeforeBlank = undefined
      linesSinceTable = 0
    } else if (vitalsHeader === undefined && ++linesSinceTable > 3) vitalsHeaderBeforeBlank = undefined
    if (vitalsHeader !== undefined) {
      let row = readVitalsRow(line, vitalsHeader, order, currentDate, latestDate)
      // rows with a time and no date that go past midnight ("11:00 PM … 12:00 AM") are on the next day
      const rowTime = row?.vitals[0]?.time.slice(11, 16)
      if (row !== undefined && row.date === undefined && currentDate !== undefined && rowTime !== undefined && rowTime !== "") {
        if (lastTableTime !== undefined && lastTableTime >= "18:00" && rowTime < "12:00") {
          currentDate = nextDay(currentDate)
          row = readVitalsRow(line, vitalsHeader, order, currentDate, latestDate) ?? row
        }
      }
      // (every row's time counts, a dated row's too: "Mar 10/03  06:50" then "06:52" is the same morning)
      if (rowTime !== undefined && rowTime !== "") lastTableTime = rowTime
      if (row !== undefined) {
        emitVitals(row.vitals)
        if (row.date !== undefined) currentDate = row.date
        continue
      }
      // a row with nothing measured keeps the table: dashes for the readings, or a day and a note ("Sun 15  did not do it")
      if (isEmptyVitalsRow(line) || /^\s*\p{L}{2,9}\.?,?\s+\d{1,2}(?:st|nd|rd|th|\.)?\s{2,}\p{L}/u.test(line)) continue
      vitalsHeader = undefined
    }
    // (after a vitals table's own rows, which name their columns) a diary line: its time (or times: "07:05 128/84 … 21:40 139/88"), its readings, under the date line above it
    // (the time may follow a word for the time of day: "abends  21:15 Uhr   RR 133 / 82   P 71", "evening 21:40 139/88")
    // (not a weekday and a day: "Sa 07.11.")
    const timeOfDay = /^\s*\p{L}{1,12}\.?,?\s+(?:\p{L}{2,12}\s+)?(?=\d{1,2}[:.h]\d{2}(?![\d.]))/u.exec(line)
    const diaryLine = timeOfDay === null ? line : line.slice(timeOfDay[0].length)
    const diaryTime = currentDate === undefined ? undefined : leadingTime(diaryLine)
    if (diaryTime !== undefined && currentDate !== undefined) {
      const readings = readDiaryLine(diaryLine, currentDate)
      if (readings.length > 0) {
        emitVitals(readings)
        continue
      }
    }
    const newLabHeader = readLabHeader(line, order)
    if (newLabHeader !== undefined) {
      labHeader = newLabHeader
      continue
    }
    const trimmed = line.trim()
    // a diary row that starts with a day without its year: "│ Mo 02.11. │ 07:10  148/91  74 │ 21:05  139/86  70 │"
    // (a weekday written out, "Mittwoch, 11.11.", and a word for the time of day before the time: "früh 6.45")
    // (a weekday in brackets after the day: "10/5  (月)  6:40", or what a PDF without the font left of it: "(?)")
    const dayOnly = /^\|?\s*(?:\p{L}{2,10}\.?,?\s+)?(\d{1,2}[./]\d{1,2}\.?)\s*\|?\s+(?:[([][^)\]\s]{1,4}[)\]]\s+)?(?:\p{L}{2,12}\.?\s+)?(?=\d{1,2}[:.h]\d{2}\b)/u.exec(trimmed)
    const dayDate = dayOnly === null ? undefined : dayWithoutYear(dayOnly[1] ?? "", order, latestDate)
    if (dayOnly !== null && dayDate !== undefined) {
      const diary = readDiaryLine(trimmed.slice(dayOnly[0].length), dayDate)
      if (diary.length > 0) {
        emitVitals(diary)
        currentDate = dayDate
        continue
      }
    }
    // vitals in a sentence, dated on the line or by the sentence it goes on from: "Admission vitals (ED triage,
    // 11/20/2026 19:42): BP 168/98 mmHg, HR 118 bpm, Temp 39.2 °C" over "(102.6 °F), SpO2 89 % on room air, …";
    // not a target or a threshold ("BP below 130/80 mmHg", "if temperature above 38.0 °C")
    const named = [...trimmed.matchAll(INLINE_VITAL_RE)].length
    const threshold = new RegExp(String.raw`\b(?:target|goal|aim|if|${AVERAGE_WORDS})\b|\b(?:below|above|under|over|less\s+than|more\s+than)\s+\d`, "iu")
    if (named >= 2 && !threshold.test(trimmed)) {
      const dated = findDateTime(trimmed, order)
      // else the sentence it goes on from, else the date above with the line's own time ("Morgens 07:10: RR 128/84, Puls 72")
      const clock = leadingTime(`${/(?<![\d/.:-])\d{1,2}[:.h]\d{2}(?![\d.])/.exec(trimmed)?.[0] ?? ""} `)
      const goesOn = sentenceStamp?.index === index - 1 ? sentenceStamp.stamp : undefined
      const day = goesOn?.slice(0, 10) ?? currentDate
      const stamp = dated?.iso ?? (clock !== undefined && day !== undefined ? `${day}T${clock.time}` : (goesOn ?? currentDate))
      // the bracket with the date and time is not a reading: "(ED triage, 11/20/2026 19:42)"
      const inline = stamp === undefined ? [] : readInlineVitals(trimmed.replace(/\([^)]*\d{1,2}[:/.-]\d{1,2}[^)]*\)/g, " "), stamp)
      if (stamp !== undefined && inline.length > 0) {
        emitVitals(inline)
        sentenceStamp = { index, stamp }
        continue
      }
    }
    // a bullet dropped first: "• BP 128/84"; not an average ("Peso medio settimana: 80,1 kg")
    if (VITAL_NAME_RE.test(trimmed.replace(/^[•·*\-–]\s*/, "")) && !AVERAGE_RE.test(trimmed)) {
      const leading = findDateTime(trimmed.slice(0, 24), order)
      // or a day without its year and a time before the reading: "Weight (kg, chair scales): 01/12 06:00  52.4 kg"
      const dayTime = leading === undefined ? /(?<![\d/.])(\d{1,2}[/.]\d{1,2})\.?\s+(\d{1,2}:\d{2})(?!\d)/.exec(trimmed) : null
      const day = dayTime === null ? undefined : dayWithoutYear(dayTime[1] ?? "", order, latestDate)
      const stamp = leading?.iso ?? (day !== undefined && dayTime !== null ? `${day}T${(dayTime[2] ?? "").padStart(5, "0")}` : undefined) ?? collectedAt ?? currentDate
      if (stamp !== undefined) {
        // (what follows that time, when it is printed before the reading)
        const inline = readInlineVitals(dayTime === null || day === undefined ? line : `${trimmed.slice(0, dayTime.index)} ${trimmed.slice(dayTime.index + dayTime[0].length)}`, stamp)
        if (inline.length > 0) {
          emitVitals(inline)
          continue
        }
      }
    }
    const context: RowContext = {
      style,
      inTable: labHeader !== undefined,
      ...(legend === undefined ? {} : { legend }),
      calledBack: callBack.calledBack
    }
    // a page in two columns with one rule between them keeps its rule: parseRow reads each half
    const twoColumns = labHeader === undefined && (line.match(/\s\|\s/g) ?? []).length === 1 && !/^\s*\|/.test(line)
    const row = twoColumns ? line : dropIgnoredColumns(line, labHeader)
    // a long name wrapped onto two or three lines: "Low Density Lipoprotein" over "(LDL), calculated
    // 131  mg/dL  <100", or a name over an indented continuation ("  Protein   3.8  H  mg/L")
    // a row that reads on its own under a name the lexicon knows ("  Sodium: 139 mmol/L" under the
    // heading "Kidney function") continues no name above it
    const alone = parseRow(row, context)
    const aboveText = recent[recent.length - 1]?.text ?? ""
    const standsAlone =
      alone.length === 1 &&
      alone[0] !== undefined &&
      lookupAnalyte(alone[0].name) !== undefined &&
      // "(AST)  10 U/L" under "Aspartate Aminotransferase" or after "…," still continues it
      !/^\(/.test(row.trim()) &&
      !continuesName(aboveText, row.trim())
    // a pipe table's name cell indented under the name above ("|   de transferrina | 12 | % |") is indented like a plain row
    const chain = standsAlone ? [] : nameChain(recent, index, /^\s*\|\s{2,}\p{L}/u.test(line) ? `  ${row.trimStart()}` : row)
    // the longest chain that reads (a heading above the name is not part of it); a row that starts
    // with its value keeps the gap that separates it from the name
    // starts with a value: "131  mg/dL", "<0.5"
    const gap = /^[<>]?\d/.test(row.trim()) ? "  " : " "
    const joined = chain
      .map((_, k) => chain.slice(k))
      .map((part) => ({ part, read: parseResultLine(`${part.map((e) => e.text).join(" ")}${gap}${row.trim()}`, context) }))
      .find((attempt) => attempt.read !== undefined)
    if (joined?.read !== undefined) {
      joined.part.forEach(consume)
      emitResult(joined.read)
      continue
    }
    // a name wrapped where the lexicon can tell: "PARTIAL THROMBOPLASTIN" over "TIME (APTT) ....... 38 SEC",
    // "Coefficient de saturation" over "de la transferrine ... : 11* %" (the whole is a known test, the tail is not)
    const head = recent[recent.length - 1]
    const only = alone.length === 1 ? alone[0] : undefined
    if (only !== undefined && head !== undefined && head.index === index - 1 && !/\d/.test(head.text) && head.text.length <= 40) {
      const whole = `${head.text} ${only.name}`
      if (lookupAnalyte(only.name) === undefined && lookupAnalyte(whole) !== undefined) {
        consume(head)
        emitResult({ ...only, name: whole })
        continue
      }
    }
    const rowResults = alone
    if (rowResults.length > 0) {
      rowResults.forEach(emitResult)
      continue
    }
    // a long name wrapped onto its own line, the values on the next
    const previous = recent[recent.length - 1]
    // the row starts with a value: "  131  mg/dL", ">90"
    if (previous !== undefined && /^\s*[<>]?\d/.test(row) && previous.text.length <= 60) {
      const joined = parseResultLine(`${previous.text}  ${row.trim()}`, context)
      if (joined !== undefined) {
        consume(previous)
        emitResult(joined)
        continue
      }
    }
    // patient-portal blocks: the name, then "Value: 11.2 g/dL" (or "Your value 134"), the range
    // ("Standard range 135 - 145 mmol/L") before or after it, and a flag word on a line of its own
    const valueLine = VALUE_LINE_RE.exec(unleadered(trimmed))
    if (valueLine !== null) {
      const ahead: Array<number> = []
      const pastLines: Array<number> = []
      let rangeMore = ""
      for (let j = index + 1; j < Math.min(lines.length, index + 5); j++) {
        const raw = lines[j]?.text ?? ""
        const next = unleadered(raw)
        if (next === "" || VALUE_LINE_RE.test(next)) break
        const flagged = FLAG_LINE_RE.exec(next)?.[1] ?? next
        if (RANGE_LINE_RE.test(next) || readFlag(flagged, true)?.length === flagged.length) ahead.push(j)
        // earlier results of the same test ("Past results:  241 mg/dL (Jul 15, 2025)") are part of the block, not results
        else if (PAST_LINE_RE.test(next)) pastLines.push(j)
        // a range too long for its line goes on, indented, on the next ("postmenopausal 25.8-134.8")
        // (with a number, and not a labelled line of its own: "Comment ...... macroprolactin screen", "Note: …")
        else if (ahead.length > 0 && /^\s{4,}\S/.test(raw) && /\d/.test(raw) && !/\.{3,}|…|^\s*\p{L}[\p{L} ]*:/u.test(raw) && RANGE_LINE_RE.test(unleadered(lines[ahead[ahead.length - 1] ?? 0]?.text ?? ""))) {
          ahead.push(j)
          rangeMore += ` ${next}`
        } else break
      }
      const aheadText = ahead.map((j) => unleadered(lines[j]?.text ?? "")).filter((t) => !rangeMore.includes(t))
      // the name is the last line above that is neither a range nor a value, a few lines up at most
      const nameEntry = [...recent].reverse().find((e) => !RANGE_LINE_RE.test(e.text) && !VALUE_LINE_RE.test(e.text))
      const nameNear = nameEntry !== undefined && index - nameEntry.index <= 3 ? nameEntry : undefined
      // a range above the value belongs to this block only when it is under its name: never an earlier block's
      const rangeAbove = nameNear === undefined ? undefined : recent.find((e) => e.index > nameNear.index && RANGE_LINE_RE.test(e.text))
      const rangeLine = rangeAbove?.text ?? aheadText.find((t) => RANGE_LINE_RE.test(t))
      const rangeText = rangeLine === undefined ? undefined : `${RANGE_LINE_RE.exec(rangeLine)?.[1] ?? ""}${rangeMore}`.trim()
      const flagLine = aheadText.find((t) => !RANGE_LINE_RE.test(t))
      const flagText = flagLine === undefined ? undefined : (FLAG_LINE_RE.exec(flagLine)?.[1] ?? flagLine)
      const range = rangeText === undefined ? "" : `  ref: ${rangeText}`
      // a flag printed on the name's line: "Glucose          [ HIGH ]", "Cholesterol, Total     ! High"
      const badge = nameNear === undefined ? null : NAME_BADGE_RE.exec(nameNear.text)
      const badgeFlag = badge === null ? undefined : (badge[2] ?? badge[3] ?? "").trim()
      const nameFlag = badgeFlag !== undefined && readFlag(badgeFlag, true)?.length === badgeFlag.length ? badgeFlag : undefined
      const blockName = nameFlag === undefined || badge === null ? (nameNear?.text ?? "") : (badge[1] ?? "")
      // a flag word in a column of its own after the value: "Your value   Cloudy   Abnormal" (before the range is added,
      // it would read as the value of a name ending in "Cloudy")
      const valueCells = (valueLine[1] ?? "").trim().split(/\s{2,}/)
      const lastCell = valueCells[valueCells.length - 1] ?? ""
      const trailingFlag = valueCells.length >= 2 && readFlag(lastCell, true)?.length === lastCell.length ? lastCell : undefined
      const valueText = trailingFlag === undefined ? (valueLine[1] ?? "") : valueCells.slice(0, -1).join("  ")
      const flagWord = flagText ?? nameFlag ?? trailingFlag
      const flag = flagWord === undefined ? "" : `  ${flagWord}`
      const blockContext = { ...context, inTable: true }
      const readBlock = (withRange: string) =>
        nameNear === undefined ? undefined : parseResultLine(`${blockName}  ${valueText}${withRange}${flag}`, blockContext)
      // a range in words ("follicular 3.5-12.5 / luteal 1.7-7.7") is kept as printed, and decides no flag
      const withoutRange = rangeText === undefined ? undefined : readBlock("")
      const block =
        readBlock(range) ??
        (withoutRange === undefined || rangeText === undefined
          ? undefined
          : { ...withoutRange, referenceRange: { text: rangeText.slice(0, 200) } })
      if (nameNear !== undefined && block !== undefined) {
        consume(nameNear)
        if (rangeAbove !== undefined) consume(rangeAbove)
        emitResult(block)
        for (const j of [...ahead, ...pastLines]) skip.add(j)
        continue
      }
    }
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
        emitVitals(diary)
        currentDate = leadingDate.date
        continue
      }
    }
    // a line that is only a date ("Monday 2026-05-04", "== 2026-05-11 (Mon) ==", "Tue, 12 May 2026:")
    // dates the rows that follow it
    // decoration cut ("== ", " ==", ":"), then a bracketed weekday at the end ("(Mon)"), then one at the start ("Tue, ")
    const bare = trimmed
      .replace(/^[=*#_~\-–—\s]+|[=*#_~\-–—:\s]+$/g, "")
      .replace(/\s*[([]\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s*[)\]]\s*$/i, "")
    const weekday = /^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?/i.exec(bare)?.[0].length ?? 0
    const lone = readDateTime(bare.slice(weekday), order)
    if (lone !== undefined && lone.length === bare.length - weekday) {
      currentDate = lone.date
      continue
    }
    // a culture's finding in words: "ORGANISM     Escherichia coli", "Germe identifié ....: Escherichia coli"
    const micro = readMicroRow(trimmed)
    if (micro !== undefined) {
      emitResult(micro)
      continue
    }
    // results written in sentences: "Your haemoglobin was 118 g/L (normal for women 120 to 150)."
    // (not a note that repeats a result: ">> CRITICAL RESULT(S) Glucose 38 mg/dL … called to", "Interpret with caution: Hb 96 g/L")
    const sameTest = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || (lookupAnalyte(a) !== undefined && lookupAnalyte(a)?.id === lookupAnalyte(b)?.id)
    const repeats = (r: ParsedResult) => results.some((o) => o.value === r.value && o.unit === r.unit && sameTest(o.name, r.name))
    const prose = callBack.calledBack || /^\s*(?:>>|\*{2,}|!{2,})|\bcritical\b/i.test(line) ? [] : readProseResults(line, style, lines[index + 1]?.text, lines[index - 1]?.text).filter((r) => !repeats(r))
    if (prose.length > 0) {
      for (const result of prose) emitResult(result)
      continue
    }
    // indented: two or more spaces before the text; the unread text has its runs of whitespace collapsed
    // a pipe table's row with its name cell alone ("| Índice de saturación de |  |  |") remembers that cell, so the
    // row under it ("|   transferrina | 3,8 | % |") can continue it
    const pipeCells = /^\s*\|/.test(line) ? line.replace(/^\s*\|/, "").replace(/\|\s*$/, "").split("|") : []
    const loneCell = pipeCells.length >= 2 && pipeCells.slice(1).every((c) => c.trim() === "") ? pipeCells[0] : undefined
    recent = [
      ...recent.slice(-2),
      loneCell !== undefined && loneCell.trim() !== ""
        ? { text: loneCell.trim(), index, indented: /^\s{2,}\S/.test(loneCell), headingBefore: pendingHeading }
        : { text: trimmed, index, indented: /^\s{2,}\S/.test(line), headingBefore: pendingHeading }
    ]
    if (looksLikeResult(line, labHeader !== undefined)) {
      unread.set(index, { page: positioned.page, line: positioned.line, text: trimmed.replace(/\s+/g, " ").slice(0, 300) })
    }
    const heading = readHeading(line)
    if (heading !== undefined) {
      pendingHeading = heading
      continue
    }
    // four words or more (runs of letters): a line of prose
    if ((trimmed.match(/\p{L}+/gu)?.length ?? 0) >= 4) proseLines++
  }

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
