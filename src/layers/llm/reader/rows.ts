/**
 * One line read as a result: the name, then a value, then flag / unit / range in any order.
 * Each place the name could end is tried, and the first reading that understands the whole rest
 * of the line wins (rowRest.ts reads what follows the name). The flag printed by the lab wins
 * over the one the range gives (rowFlags.ts).
 */
import { splitCells } from "./columns.js"
import { findAnalyteMention, lookupAnalyte } from "./lexicon/analytes.js"
import { applyLegend, type Legend } from "./marks.js"
import { isMetadataLine } from "./metadata.js"
import { MAX_ROW_CHARS, NUM, type NumberStyle } from "./text.js"
import { readFlag, readUnit, STRONG_QUALITATIVE } from "./tokens.js"
import { type RangeSpec, readRange } from "./ranges.js"
import { readRest, type RowParse } from "./rowRest.js"
import { criticalDirection, decideFlag } from "./rowFlags.js"
import type { ParsedRange, ParsedResult } from "./types.js"

/** A name with a range at its end (the range column came first). Examples: "Hemoglobin 12.0-16.0", "LDL (<100)", "PSA [0 - 4]". */
export const RANGE_BEFORE_VALUE = new RegExp(
  String.raw`^(.*\p{L}.*?)\s+((?:[([]\s*)?(?:${NUM}\s*(?:-|–|—|to)\s*${NUM}|(?:<=|>=|≤|≥|<|>)\s*${NUM})(?:\s*[)\]])?)$`,
  "u"
)

/** A unit printed with the name. Examples: "Glucose (mg/dL)", "Hemoglobin, g/dL", "WBC [10^9/L]". */
export const UNIT_IN_NAME = /^(.*\p{L}.*?)\s*(?:,\s*|\(|\[)([^()[\],\s]+)[)\]]?$/u

/** Results that have no unit and are often printed without a range. Examples: "INR", "Urine pH", "Albumin/Creatinine Ratio". */
export const UNITLESS_ANALYTES = /^(?:inr|ph|urine\s+ph|specific\s+gravity|sg|.*\bratio|.*\bindex)$/i

/** Words a test name never ends with ("Level of", "Your"): the text is prose. */
export const NAME_STOP_WORDS = new Set("is was are were of the and or for to with at on in by from be a an your my if than".split(" "))

/** Header and label words that are never a test name. Examples: "Test", "Your Results", "Reference Range", "Total", "Date". */
export const NOT_A_NAME =
  /^(?:tests?|(?:your\s+)?(?:results?|values?)|(?:standard|normal|reference|ref\.?)\s+(?:range|interval|values?)|flags?|units?|range|reference(?:\s+range)?|status|interpretation|comments?|notes?|total|page|date|time|final|preliminary|corrected|specimen|sample)$/i

/** A name without bullets, leaders or trailing marks: "• Sodium:" → "Sodium", "Glucose ....." → "Glucose". */
export const cleanName = (raw: string): string =>
  raw
    // a lead of bullets, marks and item numbers: "• ", "> ", "*", "!", "[3] ", "12. "; a tail of
    // footnote marks ("¹", "²") and of ":", "=", dots, underscores; runs of spaces
    .replace(/^[\s•·>*!-]+/, "")
    .replace(/^(?:\[\d{1,3}\]|\d{1,3}[.)])\s+/, "")
    .replace(/[\s¹²³⁴⁵⁶⁷⁸⁹⁰*†‡]+$/, "")
    // a footnote letter after a bracket: "Treponema pallidum antibodies (CLIA) a"
    .replace(/(\))\s+[a-z]$/, "$1")
    .replace(/[\s:=.·_-]+$/, "")
    .replace(/\s+/g, " ")
    .trim()

/** A treatment target, not a measurement: "objectif individualisé HbA1c ≤ 7,0 %", "Target LDL < 1.8 mmol/L", "Zielwert HbA1c". */
export const TARGET_NAME_RE =
  /^(?:(?:individual(?:ised|ized)?|personal|your)\s+)?(?:target|goal|aim|objecti(?:f|ve|vo)|cible|ziel(?:wert|bereich)?|obiettivo|meta|streefwaarde|cel)\b/i

/** Whether a candidate name looks like a test name rather than prose, a label or two results. */
export const isPlausibleName = (name: string): boolean => {
  if (name.length < 2 || name.length > 70) return false
  // at least two letters, or a known one-letter symbol ("K+", "K"); starts with a letter, digit or "(": "25-OH Vitamin D", "(Free) T4"
  if ((name.match(/\p{L}/gu)?.length ?? 0) < 2 && !(name.length <= 3 && lookupAnalyte(name) !== undefined)) return false
  if (!/^[\p{L}\p{N}(]/u.test(name)) return false
  const words = name.split(" ")
  if (words.length > 10) return false
  if (NAME_STOP_WORDS.has((words[words.length - 1] ?? "").toLowerCase())) return false
  if (NOT_A_NAME.test(name)) return false
  // a number's first group is no part of a name: "Platelets 1" of "Platelets  1 250  x10^9/L"
  if (/\s\d{1,3}$/.test(name) && lookupAnalyte(name) === undefined && lookupAnalyte(name.replace(/\s\d{1,3}$/, "")) !== undefined) return false
  // a dipstick grade or a bracketed amount is a value, not part of a name: "GLUCOSE 4+ (>=1000) A mg/dL"
  if (/(?:^|\s)[1-4]\+(?:\s|$)|\((?:[<>]=?|≥|≤)\s*\d/.test(name)) return false
  // a unit is no name: "g/mol" of "8,2 *  g/mol  < 3,0  6,9"
  if (/^(?:[munpfµμk]?(?:g|mol|l|iu|u|eq|kat)|%|cells|copies)\/(?:[dmµμnp]?l|mol|[mk]?g|h|hr|min|s|hpf|lpf)$/i.test(name)) return false
  // a summary of readings, not a measurement: "Average SpO2 during sleep", "Lowest", "Mittelwert Woche 1"
  if (/^(?:average|avg\.?|lowest|highest|median|mittelwert|durchschnitt|moyenne|promedio|m[ée]dia|gemiddeld[e]?|medel(?:v[äa]rde)?|gennemsnit)\b/i.test(name)) return false
  if (TARGET_NAME_RE.test(name)) return false
  // what the sample was taken under, not a result: "Patient temp 37.0 °C", "O2 flow 2 L/min", "PEEP 8" (an FiO2 is read: labs print it among the results)
  if (/^(?:patient(?:'s)?\s+(?:temp(?:erature)?|weight|height|age)|o2\s+(?:flow|therapy)|flow\s+rate|peep|sample\s+\p{L}+|specimen\s+\p{L}+)\b/iu.test(name)) return false
  // a page number: "… LABORATORY REPORT   PAGE 2"
  if (/\b(?:page|seite|p[áa]gina|strana|strona|sayfa|sida|side|blad)$/i.test(name)) return false
  // a block's label, not a name: "Result <" of "Result .... < 2.0 U/mL", "Result Not" of "Result .... Not detected", "Expected"
  if (/^(?:(?:your\s+)?(?:results?|values?)|expected)(?:\s|$)/i.test(name)) return false
  // a comparator belongs to the value after it: "CA 19-9 <" of "CA 19-9 < 2.0"
  if (/[<>≤≥]$/.test(name)) return false
  // "Blood Group: O" is a label and the start of its value; "Sedimento: leucócitos" is a section and a test
  if (/:\s/.test(name) && findAnalyteMention(name.slice(name.lastIndexOf(":") + 1)) === undefined) return false
  // "Sodium 139 mmol/L 135-145 Potassium", "B-LPK 12,4H x10⁹/L 3,5-8,8 P-Kalium": two results side by side, not one name
  if (/(?:^|\s)[<>]?\d+(?:[.,]\d+)?(?:[HLA*!]{1,2})?\s+(?:[A-Z*!]{1,4}\s+)?(?:[a-zA-Zµμ%][^\s]*\/\S+|%)(?:\s|$)/.test(name)) return false
  // a decimal number (maybe with its flag glued on), or a bracketed range, with more words after it: "MCV 101.2 fL (80-100) Magnesium", two results
  if (/\s[<>]?\d+[.,]\d+(?:[HLA*!]{1,2})?\s+\S/.test(name) || /\(\s*[<>]?\d+(?:[.,]\d+)?\s*[-–]\s*\d+(?:[.,]\d+)?\s*\)\s+\S/.test(name)) return false
  // a number (maybe flagged), a unit and more words: "B-MCV 89 fL 82-98 P-ALAT", "B-SR 62H mm <30 P-Glukos", two results
  for (const m of name.matchAll(/(?:^|\s)[<>]?\d+(?:[.,]\d+)?[HLA*!]{0,2}\s+(\S+)\s+\S/g)) {
    const unit = m[1] ?? ""
    if (/\p{L}|%/u.test(unit) && readUnit(unit)?.length === unit.length) return false
  }
  // a value and a range inside the name: "Sodium 139 135-145"
  if (/(?:^|\s)\d+(?:[.,]\d+)?\s+\d+(?:[.,]\d+)?\s*[-–]\s*\d/.test(name)) return false
  // a date at the start ("2026-05-12 07:05 …") or a blood pressure inside ("… 128/84 …"): a diary line, not a name
  if (/^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b/.test(name) || /(?<![\d/])\d{2,3}\/\d{2,3}(?![\d/])/.test(name)) return false
  // a number with decimals ends no name: "Kreatinin 1,18" is a name and its value
  if (/\s\d+[.,]\d+$/.test(name)) return false
  // digits broken apart ("Sodium 1 3" of "Sodium 1 3 9 mmol/L"): a misprint, not a name
  if (/(?:^|\s)\d(?:\s\d)+$/.test(name)) return false
  // a sentence, not a label: "Fasting. Please note" (a full stop, a capitalised word, a lower-case word)
  if (/[.!?]\s+\p{Lu}\p{Ll}+\s+\p{Ll}/u.test(name)) return false
  return true
}

/** Where a new column starts: after two or more spaces (pipes and tabs have become those): "Sodium  139" → 8. */
export const columnStarts = (line: string): ReadonlySet<number> =>
  new Set([...line.matchAll(/\s{2,}(?=\S)/g)].map((m) => (m.index ?? 0) + m[0].length))

/** Candidate starts of the value: column boundaries first (the layout says where the name ends), then every word. */
export const splitPoints = (line: string, columns: ReadonlySet<number>): ReadonlyArray<number> => {
  const words: Array<number> = []
  // every word start: the space before "139" in "Sodium 139"
  for (const m of line.matchAll(/\s(?=\S)/g)) words.push((m.index ?? 0) + 1)
  // "Hemoglobin:11.2" has no space before its value; also "Na=<140"
  for (const m of line.matchAll(/[:=](?=[<>]?\d)/g)) words.push((m.index ?? 0) + 1)
  return [...new Set([...columns, ...words.sort((a, b) => a - b)])]
}


/** A row with leaders, unicode hyphens, "/1.73 m²" and starred values made plain for the grammar. */
export const normalizeRow = (line: string): string =>
  line
    // a range written with an ellipsis: "135 ... 145", "3,5 … 5,1" (three dots or one "…" between spaces; longer runs are leaders)
    .replace(/(\d) (?:\.{3}|…) (?=[<>]?\d)/g, "$1 - ")
    // dotted or underscored leaders between a name and its value: "Sodium ....... 139", "Na . . . 139", "K ____ 4.1", "Ca ---- 9.5"
    .replace(/\s*(?:\.{3,}|…+|(?:\s?\.){3,}|_{3,}|-{4,})\s*/g, "  ")
    // "/1.73 m2", "/1,73 m²" → "/1.73m2": the body-surface unit in one token
    .replace(/(\/1[.,]73)\s+(m2|m²|m\^2)/gi, "$1$2")
    // hyphen, non-breaking hyphen and minus sign as "-"
    .replace(/[\u2010\u2011\u2212]/g, "-")
    // a value between asterisks marks it out of range: "*131*" reads as "131 *"
    .replace(/(^|\s)\*([<>]?\d[\d.,]*)\*(?=\s|$)/g, "$1$2 *")
    // or with one before it only: "*31" reads as "31 *"
    .replace(/(\s)\*([<>]?\d[\d.,]*)(?=\s|$)/g, "$1$2 *")
    // trailing spaces
    .replace(/\s+$/, "")
    // a labelled range at the end of the row, its label dropped: "11.2  %   Non-diabetic : < 5.7", "139  mmol/L  Adults: 135-145"
    .replace(/(\S\s{2,})\p{L}[\p{L}-]*(?: [\p{L}-]+){0,3}\s?:\s*(?=(?:[<>≤≥]=?\s*)?\d[\d.,]*(?:\s*[-–]\s*\d[\d.,]*)?$)/u, "$1")

/** What is known about a row from the rest of the document. */
export interface RowContext {
  readonly style?: NumberStyle
  /** A table header is in force: weak qualitative words ("Yellow", "Trace") may be values. */
  readonly inTable?: boolean
  /** The report's legend for its own marks (`+ = above the reference range`), if it prints one. */
  readonly legend?: Legend
  /** The line ended in a call-back note ("called to Dr. … 16:35"): the lab treated the value as critical. */
  readonly calledBack?: boolean
}

/** A range as results carry it: its bounds and the text as printed (no range: empty text). */
export const toParsedRange = (range: RangeSpec | undefined): ParsedRange =>
  range === undefined
    ? { text: "" }
    : {
        ...(range.low === undefined ? {} : { low: range.low }),
        ...(range.high === undefined ? {} : { high: range.high }),
        text: range.text
      }

/** Parses one line as a lab result, or undefined when it is not one. */
export const parseResultLine = (line: string, context: RowContext = {}): ParsedResult | undefined => {
  if (line.length > MAX_ROW_CHARS || line.trim() === "") return undefined
  if (isMetadataLine(line)) return undefined
  const style = context.style ?? { decimalComma: false }
  const marked = context.legend === undefined ? line : applyLegend(line, context.legend)
  const { cells, separator } = splitCells(marked)
  const spaced = separator === "space" ? marked : cells.map((c) => c.text).join("  ")
  // leading spaces
  const row = normalizeRow(spaced).replace(/^\s+/, "")
  // a decimal point with a space beside it ("4 . 1", "4. 1"): the number is broken, and reading
  // either half would put a wrong value under a right name
  if (/\d\s+\.\s*\d|\d\.\s+\d/.test(row)) return undefined
  // a mark before the name: "* Glucose", "!!Potassium"
  const leadingMark = /^[*!]+\s*/.exec(row)
  const body = leadingMark === null ? row : row.slice(leadingMark[0].length)
  const columns = columnStarts(body)
  for (const at of splitPoints(body, columns)) {
    let name = cleanName(body.slice(0, at))
    let parsed = readRest(body.slice(at), style)
    if (parsed === undefined) continue
    // the flag column before the result's: "S-Natrium      L      131   136 - 145   mmol/l"
    const flagFirst = /^(.*\S)\s{2,}(\S{1,8})\s*$/.exec(body.slice(0, at))
    const leadingFlag = flagFirst === null ? undefined : readFlag(flagFirst[2] ?? "", false)
    if (flagFirst !== null && leadingFlag !== undefined && leadingFlag.length === (flagFirst[2] ?? "").length) {
      name = cleanName(flagFirst[1] ?? "")
      if (parsed.flag === undefined) parsed = { ...parsed, flag: leadingFlag.flag }
    }
    // "Hemoglobin  12.0-16.0  11.2  g/dL": the range column came before the result
    const leadingRange = name.length <= 90 ? RANGE_BEFORE_VALUE.exec(name) : null
    if (leadingRange !== null && parsed.range === undefined) {
      const range = readRange(leadingRange[2] ?? "", style, false)
      if (range !== undefined && range.length === (leadingRange[2] ?? "").length) {
        name = cleanName(leadingRange[1] ?? "")
        parsed = { ...parsed, range: range.spec }
      }
    }
    // "Glucose (mg/dL)", "Hemoglobin, g/dL": the unit printed with the name
    const unitInName = parsed.unit === undefined ? UNIT_IN_NAME.exec(name) : null
    if (unitInName !== null) {
      const unit = readUnit(unitInName[2] ?? "")
      // a unit with a slash or percent sign ("mg/dL", "%"), or letters only ("mmHg"); not "A" or "2"
      if (unit !== undefined && unit.length === (unitInName[2] ?? "").length && /[/%]|^\p{L}{2,}$/u.test(unit.unit)) {
        name = cleanName(unitInName[1] ?? "")
        parsed = { ...parsed, unit: unit.unit }
      }
    }
    if (!isPlausibleName(name)) continue
    const { value } = parsed
    // a bare value is a result only in a table's own column, or for the few tests that have no unit:
    // "INR     1.1" under a header is; "Suite 200", "Room 4" or "Yellow" in running text are not
    const tableCell = context.inTable === true && columns.has(at)
    if (parsed.unit === undefined && parsed.range === undefined && parsed.flag === undefined) {
      const bareOk = value.qualitative
        ? STRONG_QUALITATIVE.test(String(value.value)) || tableCell
        : tableCell || UNITLESS_ANALYTES.test(name)
      if (!bareOk) continue
    }
    const weakQualitative = value.qualitative && !STRONG_QUALITATIVE.test(String(value.value))
    if (weakQualitative && parsed.range === undefined && !tableCell) continue
    const withMark: RowParse =
      leadingMark !== null && parsed.flag === undefined ? { ...parsed, flag: { _tag: "abnormal" } } : parsed
    const referenceRange = toParsedRange(parsed.range)
    const calledBack: RowParse =
      context.calledBack === true && (withMark.flag === undefined || withMark.flag._tag !== "critical")
        ? { ...withMark, flag: { _tag: "critical", ...criticalDirection(withMark.flag) } }
        : withMark
    const decided = decideFlag(calledBack)
    return {
      name,
      value: value.value,
      unit: parsed.unit ?? "",
      referenceRange,
      flag: decided.flag,
      ...(decided.source === undefined ? {} : { flagSource: decided.source })
    }
  }
  return undefined
}

/**
 * One table row: the whole line, else without a trailing performing-lab code ("01", "EN") whose
 * header was on another page, else two or three results printed side by side.
 */
export const parseRow = (row: string, context: RowContext, depth = 0): ReadonlyArray<ParsedResult> => {
  // a page printed in two columns with one rule between them: "Haemoglobin 5.6 g/dL (13.0-17.0)  | Sodium 136 mmol/L (133-146)";
  // a half without a digit is a heading beside a row ("COAGULATION  | ALP 96 U/L (30-130)")
  const halves = depth === 0 && row.length <= MAX_ROW_CHARS ? row.split(/\s+\|\s+/) : []
  if (halves.length === 2 && !/^\s*\|/.test(row)) {
    const read = halves.map((half) => (/\d/.test(half) ? parseRow(half, context, depth + 1) : undefined))
    if (read.some((r) => r !== undefined && r.length > 0) && read.every((r) => r === undefined || r.length > 0)) {
      return read.flatMap((r) => r ?? [])
    }
  }
  const whole = parseResultLine(row, context)
  if (whole !== undefined) return [whole]
  // a code in its own column at the end: "  01", "  EN"; /\s{2,}\S+$/ cuts it
  if (/\s{2,}(?:[A-Z]{2}|\d{2})$/.test(row)) {
    const withoutCode = parseResultLine(row.replace(/\s{2,}\S+$/, ""), context)
    if (withoutCode !== undefined) return [withoutCode]
  }
  if (depth >= 2 || row.length > MAX_ROW_CHARS) return []
  // four or more spaces before a letter: "Sodium 139 mmol/L    Potassium 4.1 mmol/L"
  for (const gap of row.matchAll(/(?<=\S)\s{4,}(?=\p{L})/gu)) {
    const cut = gap.index ?? 0
    const left = parseResultLine(row.slice(0, cut), context)
    if (left === undefined) continue
    const right = parseRow(row.slice(cut + gap[0].length), context, depth + 1)
    if (right.length > 0) return [left, ...right]
  }
  return []
}
