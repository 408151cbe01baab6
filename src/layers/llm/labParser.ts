/**
 * The offline provider's reader: plain text of a lab report or vitals log in, structured results
 * out. Pure functions, no Effect: a line is a lab row when a name is followed by a value and the
 * rest of the line reads, in any order, as flag / unit / reference range; metadata (patient,
 * dates, ids, addresses, page furniture) is recognised first and never becomes a result.
 */
import type { DocumentType, FlagSource, ResultFlag, VitalKind } from "../../services/llm.js"
import { findAnalyteMention } from "./reader/lexicon/analytes.js"
import { applyLegend, findLegend, isLegendLine, type Legend, splitCallBack } from "./reader/marks.js"

// ---------------------------------------------------------------------------------------------
// Output shapes (the encoded side of the LLM schemas, so they decode as they are)

export interface ParsedRange {
  readonly low?: number | undefined
  readonly high?: number | undefined
  readonly text: string
}

export interface ParsedResult {
  readonly name: string
  readonly value: number | string
  readonly unit: string
  readonly referenceRange: ParsedRange
  readonly flag: ResultFlag
  readonly flagSource?: FlagSource | undefined
  readonly loinc?: string | undefined
  readonly ucumUnit?: string | undefined
  /** 1-based page (form feeds separate pages) and line on that page of the line that holds the value. */
  readonly page?: number | undefined
  readonly line?: number | undefined
}

export interface ParsedUnreadLine {
  readonly page: number
  readonly line: number
  readonly text: string
}

export interface ParsedVital {
  readonly kind: VitalKind
  readonly time: string
  readonly value: number
  readonly diastolic?: number | undefined
  readonly unit: string
  readonly page?: number | undefined
  readonly line?: number | undefined
}

export interface ParsedReport {
  readonly documentType: DocumentType
  readonly title: string
  readonly collectedAt?: string
  readonly results: ReadonlyArray<ParsedResult>
  readonly vitals: ReadonlyArray<ParsedVital>
  /** Lines that look like results but were not read (see looksLikeResult). */
  readonly unreadLines: ReadonlyArray<ParsedUnreadLine>
}

export interface ParseOptions {
  /** What the uploader says the document is; only breaks ties. */
  readonly documentTypeHint?: DocumentType
}

/** A regular expression from alternatives written one group per line. */
const anyOf = (parts: ReadonlyArray<string>, wrap: (alternation: string) => string, flags: string) =>
  new RegExp(wrap(parts.join("|")), flags)

/** Longer lines are prose or garbage, never a table row; bounds the work per line. */
const MAX_ROW_CHARS = 300
/** Lines beyond this are not read (a text upload is bounded, but the parser should be too). */
const MAX_LINES = 20_000

// ---------------------------------------------------------------------------------------------
// Numbers

/** A number as printed: `12`, `12.5`, `.5`, `1,234` (thousands), `3,5` (decimal comma), `−2`. */
const NUM = String.raw`[-−+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)`

interface NumberStyle {
  /** The document writes decimals with a comma (`3,5`), so `1,234` is 1.234 and not 1234. */
  readonly decimalComma: boolean
}

const toNumber = (raw: string, style: NumberStyle): number | undefined => {
  let s = raw.replace("−", "-").replace(/^\+/, "")
  if (s.includes(",") && s.includes(".")) s = s.replace(/,/g, "")
  else if (/^-?\d{1,3}(?:,\d{3})+$/.test(s) && !style.decimalComma) s = s.replace(/,/g, "")
  else s = s.replace(",", ".")
  if (s.replace(/\D/g, "").length > 15) return undefined
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

const detectNumberStyle = (text: string): NumberStyle => {
  const comma = text.match(/(?<![\d,.])\d+,\d{1,2}(?![\d,])/g)?.length ?? 0
  const dot = text.match(/(?<![\d.])\d+\.\d+(?![\d.])/g)?.length ?? 0
  return { decimalComma: comma >= 2 && comma > dot }
}

// ---------------------------------------------------------------------------------------------
// Dates

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
const MONTH = String.raw`(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?`

export type DateOrder = "mdy" | "dmy"

const pad2 = (n: number) => String(n).padStart(2, "0")

const isoDate = (year: number, month: number, day: number): string | undefined => {
  if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31) return undefined
  const d = new Date(Date.UTC(year, month - 1, day))
  if (d.getUTCMonth() !== month - 1) return undefined
  return `${year}-${pad2(month)}-${pad2(day)}`
}

const fullYear = (y: string) => (y.length === 2 ? 2000 + Number(y) : Number(y))

interface DatePattern {
  readonly re: RegExp
  readonly read: (m: RegExpExecArray, order: DateOrder) => string | undefined
}

const DATE_PATTERNS: ReadonlyArray<DatePattern> = [
  {
    re: /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)/,
    read: (m) => isoDate(Number(m[1]), Number(m[2]), Number(m[3]))
  },
  {
    re: /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/.-]\d)/,
    read: (m, order) => {
      const a = Number(m[1])
      const b = Number(m[3])
      const year = fullYear(m[4] ?? "")
      // day-first when it cannot be month-first, when the document is day-first, or dotted (European)
      const dayFirst = a > 12 || (b <= 12 && (order === "dmy" || m[2] === "."))
      return dayFirst ? isoDate(year, b, a) : isoDate(year, a, b)
    }
  },
  {
    re: new RegExp(String.raw`^(\d{1,2})(?:st|nd|rd|th)?[\s-]+(${MONTH})[\s,-]+(\d{4})(?!\d)`, "i"),
    read: (m) => monthDate(m[3], m[2], m[1])
  },
  {
    re: new RegExp(String.raw`^(${MONTH})\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)`, "i"),
    read: (m) => monthDate(m[3], m[1], m[2])
  }
]

const monthDate = (year: string | undefined, month: string | undefined, day: string | undefined) => {
  const index = MONTHS.indexOf((month ?? "").slice(0, 3).toLowerCase())
  return index < 0 ? undefined : isoDate(Number(year), index + 1, Number(day))
}

const TIME_RE = anyOf(
  [
    String.raw`(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?(?![\d:])`,
    // military time right after a date: "04/18/2026 0742"
    String.raw`([01]\d|2[0-3])([0-5]\d)(?=\s|$)`
  ],
  (times) => String.raw`^(?:at\s+|@\s*|,\s*|\/\s*|-\s*|T)?(?:${times})`,
  "i"
)

const readTime = (s: string): { readonly time: string; readonly length: number } | undefined => {
  const m = TIME_RE.exec(s)
  if (m === null) return undefined
  let hour = Number(m[1] ?? m[5])
  const minute = Number(m[2] ?? m[6])
  const meridiem = m[4]?.toLowerCase()
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return undefined
    hour = (hour % 12) + (meridiem === "p" ? 12 : 0)
  }
  if (hour > 23 || minute > 59) return undefined
  const seconds = m[3] !== undefined && Number(m[3]) > 0 ? `:${m[3]}` : ""
  return { time: `${pad2(hour)}:${pad2(minute)}${seconds}`, length: m[0].length }
}

/** A date (and the time right after it, if any) at the start of `s`, as ISO 8601. */
export const readDateTime = (
  s: string,
  order: DateOrder = "mdy"
): { readonly iso: string; readonly date: string; readonly length: number } | undefined => {
  for (const { re, read } of DATE_PATTERNS) {
    const m = re.exec(s)
    if (m === null) continue
    const date = read(m, order)
    if (date === undefined) return undefined
    const after = s.slice(m[0].length)
    const space = /^\s*/.exec(after)?.[0].length ?? 0
    const time = readTime(after.slice(space))
    return time === undefined
      ? { iso: date, date, length: m[0].length }
      : { iso: `${date}T${time.time}`, date, length: m[0].length + space + time.length }
  }
  return undefined
}

/** Finds the first date anywhere in `s`. */
const findDateTime = (s: string, order: DateOrder) => {
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && /[\p{L}\p{N}]/u.test(s[i - 1] ?? "")) continue
    const found = readDateTime(s.slice(i), order)
    if (found !== undefined) return found
  }
  return undefined
}

const detectDateOrder = (text: string): DateOrder => {
  if (/\bhaem|\bNHS\b|\bFBC\b|\bU\s*&\s*Es?\b|\bcolou?r\b.*\bcolour\b|\bcolour\b/i.test(text)) return "dmy"
  for (const m of text.matchAll(/(?<![\d/])(\d{1,2})\/(\d{1,2})\/\d{2,4}(?![\d/])/g)) {
    if (Number(m[1]) > 12) return "dmy"
    if (Number(m[2]) > 12) return "mdy"
  }
  return "mdy"
}

const COLLECTED_RE = anyOf(
  [
    String.raw`specimen\s+collected|date\s+collected|collected(?:\s+(?:on|at|date))?`,
    String.raw`collection(?:\s+(?:date|time|date\s*\/\s*time|date\s+and\s+time))?`,
    String.raw`date\s+of\s+(?:collection|service)|service\s+date|sample\s+(?:taken|date|collected)|date\s+drawn|drawn(?:\s+on)?`
  ],
  (keys) => String.raw`\b(?:${keys})\s*[:#=-]?\s*(?:on\s+|at\s+)?`,
  "gi"
)

const findCollectedAt = (line: string, order: DateOrder): string | undefined => {
  for (const m of line.matchAll(COLLECTED_RE)) {
    const found = readDateTime(line.slice((m.index ?? 0) + m[0].length), order)
    if (found !== undefined) return found.iso
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Line classification: metadata, page furniture, headers

const METADATA_KEYS = [
  "patient(?:\\s+(?:name|id|no\\.?|number))?", "name", "surname", "first\\s+name", "dob", "d\\.o\\.b\\.?",
  "date\\s+of\\s+birth", "birth\\s*date", "age", "sex", "gender", "mrn", "nhs\\s+(?:no\\.?|number)",
  "hospital\\s+(?:no\\.?|number)", "medical\\s+record(?:\\s+(?:no\\.?|number))?", "account(?:\\s+(?:no\\.?|number))?",
  "acct", "accession(?:\\s+(?:no\\.?|number))?", "specimen(?:\\s+(?:id|type|no\\.?|number|source))?",
  "sample(?:\\s+(?:id|type|no\\.?|number))?", "lab(?:oratory)?(?:\\s+(?:id|no\\.?|number|ref(?:erence)?))?",
  "report(?:\\s+(?:id|date|status|no\\.?|number))?", "requisition(?:\\s+(?:id|no\\.?|number))?", "order(?:ing)?(?:\\s+(?:physician|provider|doctor|clinician|number|no\\.?|id|#))?",
  "physician", "provider", "doctor", "consultant", "gp", "clinician", "referr(?:ing|ed\\s+by)(?:\\s+(?:physician|doctor|clinician))?",
  "requested\\s+by", "collected(?:\\s+(?:on|at|by|date))?", "collection(?:\\s+(?:date|time|site))?",
  "received", "reported", "printed", "verified", "released", "resulted", "authori[sz]ed(?:\\s+by)?",
  "reviewed(?:\\s+by)?", "date(?:\\s+(?:of\\s+service|collected|received|reported|drawn))?", "time",
  "address", "phone", "tel(?:ephone)?", "mobile", "fax", "e-?mail", "insurance", "policy", "id", "client",
  "location", "ward", "department", "clinic", "page", "comments?", "notes?", "interpretation", "method",
  "fasting", "status", "performed(?:\\s+(?:at|by))?", "performing\\s+(?:lab(?:oratory)?|site)", "lab(?:oratory)?\\s+director",
  "director", "clia", "npi", "ssn", "source", "facility"
]

const METADATA_START = new RegExp(String.raw`^(?:${METADATA_KEYS.join("|")})\s*(?:[:#]|\.\s)`, "i")
const METADATA_ANYWHERE = anyOf(
  [
    String.raw`patient(?:\s+name)?|dob|d\.o\.b|date\s+of\s+birth|mrn|nhs\s+(?:no|number)|accession|report\s+id`,
    String.raw`ordering(?:\s+physician)?|physician|specimen|collected|received|reported`,
    "address|phone|fax|sex|gender|account|requisition"
  ],
  (keys) => String.raw`\b(?:${keys})\s*[:#]`,
  "i"
)
const PAGE_RE = /\bpage\s*\d+\s*(?:of|\/)\s*\d+\b|^\s*page\s+\d+\s*$|^\s*-\s*\d+\s*-\s*$|^\s*\d+\s*\/\s*\d+\s*$/i
const PHONE_RE = /(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\+\d{1,3}(?:[\s.-]?\d{2,4}){3,}/
const EMAIL_RE = /[\w.+-]+@[\w-]+\.[\w.]+/
const DR_RE = /\b(?:Dr|Drs|MD|M\.D|DO|MBBS|FRCP|MT\(ASCP\))\b\.?\s*[A-Z]?/
const URL_RE = /\bhttps?:\/\/|\bwww\./i

/** Lines that describe the patient, the report or the page, never a result. */
export const isMetadataLine = (line: string): boolean => {
  const s = line.trim().replace(/^[•·*\-–]\s*/, "")
  return (
    METADATA_START.test(s) ||
    METADATA_ANYWHERE.test(s) ||
    PAGE_RE.test(s) ||
    PHONE_RE.test(s) ||
    EMAIL_RE.test(s) ||
    URL_RE.test(s) ||
    (DR_RE.test(s) && !/\d\s*(?:[-–]|to)\s*\d/.test(s))
  )
}

type Role = "name" | "result" | "flag" | "unit" | "range" | "low" | "high" | "ignore"

const HEADER_WORDS: ReadonlyArray<readonly [Role, RegExp]> = [
  // each list ends with the German, French, Spanish and Italian words for it
  [
    "name",
    /^(?:tests?(?:\s+name)?|analyte|component|parameter|investigation|examination|determination|description|tests?\s+performed|name|marker|untersuchung|analyse|param[eè]tre|examen|prueba|determinaci[oó]n|esame|analisi)$/i
  ],
  [
    "result",
    /^(?:results?|value|in\s+range|out\s+of\s+range|within\s+range|outside\s+range|your\s+(?:value|result)|current(?:\s+result)?(?:\s+and\s+flag)?|result\s+and\s+flag|observed(?:\s+value)?|measured|ergebnis|befund|wert|r[ée]sultats?|resultados?|risultat[oi]|valore)$/i
  ],
  ["flag", /^(?:flags?|abnormal|abn|h\/l|status|indicator|alert|eval\.?|evaluation|bew\.?|bewertung|kennz\.?|indicateur|indicador)$/i],
  ["unit", /^(?:units?|uom|einheit|unit[ée]s?|unidad(?:es)?|unit[aà])$/i],
  // a reference range printed in two columns: "Low  High", "Ref Low  Ref High", "Lower limit  Upper limit"
  ["low", /^(?:low|ref\.?\s*low|lower(?:\s+(?:limit|bound|ref(?:erence)?(?:\s+limit)?))?|min(?:imum)?|ll)$/i],
  ["high", /^(?:high|ref\.?\s*high|upper(?:\s+(?:limit|bound|ref(?:erence)?(?:\s+limit)?))?|max(?:imum)?|ul)$/i],
  [
    "range",
    /^(?:ref(?:erence)?\.?(?:\s+(?:range|ranges|interval|values?|int\.?))?|(?:normal|standard)(?:\s+(?:range|values?))?|ranges?|expected(?:\s+(?:range|values?))?|biological\s+ref(?:erence)?\.?\s+(?:interval|range)|reference\s+range\s+and\s+units?|referenz(?:bereich|werte)|normbereich|normalbereich|valeurs?\s+(?:de\s+)?r[ée]f[ée]rences?|valeurs?\s+normales|r[ée]f[ée]rences?|valores?\s+(?:de\s+)?referencia|intervalo\s+de\s+referencia|rango|valori\s+(?:di\s+)?riferimento|intervallo\s+di\s+riferimento)$/i
  ],
  [
    "ignore",
    /^(?:prev\.?|previous(?:\s+(?:result|value))?(?:\s+and\s+date)?|prior(?:\s+result)?|last(?:\s+result)?|lab|site|date|time|collected|collection\s+date|comments?|notes?|method|performed|performing\s+lab|code|ant[ée]riorit[ée]s?|vorwert|vorbefund|anteriores?|precedente|precedenti)$/i
  ]
]

interface Cell {
  readonly text: string
  readonly start: number
  readonly end: number
}

type Separator = "pipe" | "tab" | "comma" | "space"

/** A CSV line's fields, honouring double quotes ("Glucose, fasting"). */
const csvCells = (line: string): ReadonlyArray<Cell> => {
  const cells: Array<Cell> = []
  let text = ""
  let start = 0
  let quoted = false
  for (let i = 0; i <= line.length; i++) {
    const c = line[i]
    if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        text += '"'
        i++
      } else quoted = !quoted
    } else if ((c === "," && !quoted) || c === undefined) {
      cells.push({ text: text.trim(), start, end: i })
      text = ""
      start = i + 1
    } else text += c
  }
  return cells
}

/** A comma-separated header or row: several commas and no other column separator. */
const looksLikeCsv = (line: string) => !/[|\t]|\S\s{2,}\S/.test(line) && (line.match(/,/g)?.length ?? 0) >= 2

const splitCells = (line: string, forced?: Separator): { readonly cells: ReadonlyArray<Cell>; readonly separator: Separator } => {
  const separator: Separator = forced ?? (line.includes("|") ? "pipe" : line.includes("\t") ? "tab" : "space")
  if (separator === "comma") return { cells: csvCells(line), separator }
  const cells: Array<Cell> = []
  const re = separator === "pipe" ? /[^|]+|(?<=\|)(?=\|)/g : separator === "tab" ? /[^\t]+|(?<=\t)(?=\t)/g : /\S+(?: \S+)*/g
  for (const m of line.matchAll(re)) {
    const raw = m[0]
    const lead = raw.length - raw.trimStart().length
    const start = (m.index ?? 0) + lead
    cells.push({ text: raw.trim(), start, end: start + raw.trim().length })
  }
  // leading and trailing empty cells of `| a | b |` are borders, not columns
  while (separator === "pipe" && cells[0]?.text === "") cells.shift()
  while (separator === "pipe" && cells[cells.length - 1]?.text === "") cells.pop()
  return { cells, separator }
}

interface LabHeader {
  readonly separator: Separator
  readonly roles: ReadonlyArray<{ readonly role: Role | undefined; readonly start: number }>
}

const roleOf = (cell: string): Role | undefined => {
  const label = cell.replace(/[:*]+$/, "").replace(/\s*\([^)]*\)\s*$/, "").trim()
  for (const [role, re] of HEADER_WORDS) if (re.test(label)) return role
  return undefined
}

/** `Test  Result  Flag  Units  Reference Range` and its many spellings. */
const readLabHeader = (line: string): LabHeader | undefined => {
  // digits only inside brackets: "PREV (02/15)" names a column, "Sodium 139" is a row
  if (/\d/.test(line.replace(/\([^)]*\)|\[[^\]]*\]/g, "").replace(/\b(?:\d\s*)?(?:ref|range)\b/gi, ""))) return undefined
  const { cells, separator } = splitCells(line, looksLikeCsv(line) ? "comma" : undefined)
  const roles = cells.map((c) => ({ role: roleOf(c.text), start: c.start }))
  const known = new Set(roles.map((r) => r.role).filter((r) => r !== undefined && r !== "ignore"))
  if (known.size >= 2 && (known.has("result") || known.has("range") || known.has("unit") || known.has("low"))) {
    return { separator, roles }
  }
  // "Valeurs de référence   Antériorités": only some columns named, but every cell names one
  if (roles.length >= 2 && roles.every((r) => r.role !== undefined) && known.has("range")) return { separator, roles }
  // single-spaced headers: look for the words themselves
  const lower = line.toLowerCase()
  const words = ["result", "unit", "range", "reference", "flag", "test", "analyte", "value"].filter((w) =>
    new RegExp(String.raw`\b${w}s?\b`).test(lower)
  )
  const rest = lower.replace(
    /\b(?:tests?|results?|units?|ranges?|reference|ref|flags?|analyte|values?|normal|interval|your|name|and)\b/g,
    ""
  )
  return words.length >= 3 && rest.replace(/[^a-z]/g, "").length <= 4 ? { separator, roles: [] } : undefined
}

/**
 * The row as the grammar reads it: without the cells under "previous result", "lab", "date" and
 * other columns that are not part of a result, and with a range printed in LOW and HIGH columns
 * put back together at the end ("3.5-5.1"; one bound alone reads as "≥3.5" or "≤5.1").
 */
const dropIgnoredColumns = (line: string, header: LabHeader | undefined): string => {
  const { cells, separator } = splitCells(line)
  const rearranges = header?.roles.some((r) => r.role === "ignore" || r.role === "low" || r.role === "high") === true
  if (header === undefined || header.roles.length === 0 || !rearranges) {
    if (header?.separator === "comma") return csvCells(line).map((c) => c.text).join("  ")
    return separator === "space" ? line : cells.map((c) => c.text).join("  ")
  }
  const keep: Array<string> = []
  let low: string | undefined
  let high: string | undefined
  const place = (text: string, role: Role | undefined) => {
    if (role === "ignore") return
    if (role === "low" && text !== "") low = text
    else if (role === "high" && text !== "") high = text
    else keep.push(text)
  }
  const fields = header.separator === "comma" ? csvCells(line) : separator !== "space" && separator === header.separator ? cells : undefined
  if (fields !== undefined) {
    if (fields.length !== header.roles.length) return fields.map((c) => c.text).join("  ")
    fields.forEach((cell, i) => place(cell.text, header.roles[i]?.role))
  } else {
    for (const cell of cells) {
      // the column whose label starts nearest at or before the cell (right-aligned numbers may start a little earlier)
      let column = header.roles[0]
      for (const r of header.roles) if (r.start <= cell.start + 2) column = r
      place(cell.text, column?.role)
    }
  }
  const bound = (s: string | undefined) => (s !== undefined && /^[<>≤≥]?\s*[-−]?\d/.test(s) ? s : undefined)
  const lo = bound(low)
  const hi = bound(high)
  if (lo !== undefined && hi !== undefined) keep.push(`${lo}-${hi}`)
  else if (lo !== undefined) keep.push(`>=${lo}`)
  else if (hi !== undefined) keep.push(`<=${hi}`)
  return keep.join("  ")
}

// ---------------------------------------------------------------------------------------------
// Row grammar: value, then flag / unit / range in any order

const QUALITATIVE = [
  "not\\s+detected", "none\\s+detected", "none\\s+seen", "not\\s+seen", "non[-\\s]?reactive", "weakly\\s+reactive",
  "reactive", "positive", "negative", "detected", "equivocal", "non[-\\s]?immune", "not\\s+immune",
  "immune", "indeterminate", "inconclusive", "trace", "present", "absent", "normal", "abnormal", "clear",
  "slightly\\s+cloudy", "cloudy", "hazy", "turbid", "pale\\s+yellow", "dark\\s+yellow", "light\\s+yellow",
  "yellow", "straw", "amber", "colou?rless", "none", "few", "moderate", "many", "rare", "occasional",
  "small", "large", "[1-4]\\+", "\\+{1,4}"
]
/** Words that make a result on their own; the others need a range or a flag beside them. */
const STRONG_QUALITATIVE =
  /^(?:not\s+detected|none\s+detected|non[-\s]?reactive|weakly\s+reactive|reactive|positive|negative|detected|equivocal|non[-\s]?immune|not\s+immune|immune|indeterminate|inconclusive)$/i
const QUAL_RE = new RegExp(String.raw`^(?:${QUALITATIVE.join("|")})(?![\p{L}\p{N}+-])`, "iu")
/** Expected words, one or a few: "Negative", "Pale yellow - yellow", "None / rare", "Clear to slightly hazy". */
const QUAL_LIST_RE = new RegExp(
  String.raw`^(?:${QUALITATIVE.join("|")})(?:\s*(?:-|–|/|,|to|or)\s*(?:${QUALITATIVE.join("|")}))*(?![\p{L}\p{N}+-])`,
  "iu"
)

const NEGATIVE_CLASS = new Set(["negative", "nonreactive", "notdetected", "nonedetected", "none", "noneseen", "notseen", "absent"])
const POSITIVE_CLASS = new Set(["positive", "reactive", "detected", "present"])
const qualKey = (s: string) => s.toLowerCase().replace(/[^a-z0-9+]/g, "")

type ReportFlag =
  | { readonly _tag: "direction"; readonly flag: "low" | "high" | "normal" }
  | { readonly _tag: "critical"; readonly direction?: "low" | "high" }
  | { readonly _tag: "abnormal" }

const FLAG_RE = anyOf(
  [
    String.raw`critical(?:ly)?\s+(?:high|low)|crit\.?\s+(?:high|low)|(?:high|low)\s+critical|panic\s+(?:high|low)|critical|crit|panic`,
    // "ABNORMAL LOW", "abn high": a direction after all
    String.raw`(?:abnormal(?:ly)?|abn\.?)\s+(?:high|low)`,
    String.raw`HH|LL|H\*|L\*|H!|L!|\*H|\*L|H|L|high|low|A|abn|abnormal|\*{1,3}|!{1,3}|↑↑|↓↓|↑|↓|▲|▼|N|normal`
  ],
  // a flag ends where a word would: "L" is not the flag of "L/L" (litres per litre)
  (flags) => String.raw`^(?:\(|\[)?\s*(${flags})(?:\s*[)\]])?(?![\p{L}\p{N}/])`,
  "iu"
)

const readFlag = (s: string, allowNormalWord: boolean): { readonly flag: ReportFlag; readonly length: number } | undefined => {
  const m = FLAG_RE.exec(s)
  if (m === null) return undefined
  const raw = m[1] ?? ""
  // single letters are flags only in capitals: "h" or "a" in running text is a word fragment
  if (/^[hlan]$/i.test(raw) && raw !== raw.toUpperCase()) return undefined
  if (/^(?:n|normal)$/i.test(raw) && !allowNormalWord) return undefined
  const lower = raw.toLowerCase()
  const flag: ReportFlag =
    /crit|panic/.test(lower)
      ? lower.includes("high")
        ? { _tag: "critical", direction: "high" }
        : lower.includes("low")
          ? { _tag: "critical", direction: "low" }
          : { _tag: "critical" }
      : lower === "hh" || lower === "↑↑" || lower === "h!"
        ? { _tag: "critical", direction: "high" }
        : lower === "ll" || lower === "↓↓" || lower === "l!"
          ? { _tag: "critical", direction: "low" }
          : /^(?:abnormal(?:ly)?|abn\.?)\s+high$/.test(lower)
            ? { _tag: "direction", flag: "high" }
            : /^(?:abnormal(?:ly)?|abn\.?)\s+low$/.test(lower)
              ? { _tag: "direction", flag: "low" }
          : /^(?:\*?h\*?|high|↑|▲)$/.test(lower)
            ? { _tag: "direction", flag: "high" }
            : /^(?:\*?l\*?|low|↓|▼)$/.test(lower)
              ? { _tag: "direction", flag: "low" }
              : lower === "n" || lower === "normal"
                ? { _tag: "direction", flag: "normal" }
                : { _tag: "abnormal" }
  return { flag, length: m[0].length }
}

const UNIT_WORDS = new Set(
  [
    "% fl pg g mg ug µg mcg ng kg lb lbs mmhg bpm sec secs seconds s min mins hr hrs ratio index",
    "iu u mu miu meq mmol umol µmol nmol pmol cells copies titer titre ehrlich mm cm °c °f"
  ]
    .join(" ")
    .split(" ")
)

const PERCENT_OF_RE = /^%\s+of\s+total(?:\s+(?:hgb|hb|ha?emoglobin))?(?![\p{L}\p{N}])/iu
const EXP_UNIT_RE =
  /^(?:[x×X]\s?)?10\s?(?:\^|\*|E|e|exp)?\s?(?:\d{1,2}|\(\d{1,2}\)|[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2})\s?\/\s?[a-zA-Zµμ]+(?:\/[a-zA-Zµμ0-9.]+)?(?![\p{L}\p{N}])/u
// a comma inside a unit only before digits: "mL/min/1,73m²"
const UNIT_TOKEN_RE = /^(?:\/[a-zA-Zµμ]+|[a-zA-Zµμ%°](?:[a-zA-Z0-9µμ%°/.·\-²³^*]|,(?=\d))*)(?=$|[\s),;\]])/u
/** Per gram of creatinine: "mg/g creat", "µg/g Cr", "mg/g creatinine". */
/** D-dimer units carry what they are equivalent to: "ug/mL FEU", "ng/mL DDU". */
const DDIMER_UNIT_RE = /^(?:µg|μg|ug|mcg|mg|ng)\/(?:mL|L)\s?(?:FEU|DDU)\b/i
const PER_CREATININE_RE = /^(?:mg|µg|μg|ug|mcg)\/g\s?(?:creat(?:inine)?|cr)\b/i

/** Counts per hundred white cells: "/100 WBC", "/100 leukocytes". */
const PER_100_RE = /^\/\s?100\s?(?:wbcs?|leu[ck]ocytes|cells)(?![\p{L}])/iu

const readUnit = (s: string): { readonly unit: string; readonly length: number } | undefined => {
  const dDimer = DDIMER_UNIT_RE.exec(s)
  if (dDimer !== null) return { unit: collapse(dDimer[0]), length: dDimer[0].length }
  const perCreatinine = PER_CREATININE_RE.exec(s)
  if (perCreatinine !== null) return { unit: collapse(perCreatinine[0]), length: perCreatinine[0].length }
  const per100 = PER_100_RE.exec(s)
  if (per100 !== null) return { unit: collapse(per100[0]), length: per100[0].length }
  const percentOf = PERCENT_OF_RE.exec(s)
  if (percentOf !== null) return { unit: collapse(percentOf[0]), length: percentOf[0].length }
  const exp = EXP_UNIT_RE.exec(s)
  if (exp !== null) return { unit: exp[0].replace(/\s+/g, ""), length: exp[0].length }
  const m = UNIT_TOKEN_RE.exec(s)
  if (m === null) return undefined
  const unit = m[0].replace(/[.,]+$/, "")
  const lower = unit.toLowerCase()
  // a unit has a slash or a percent sign or is one of the known bare units; anything else is a word
  const valid =
    ((unit.includes("/") || unit.includes("%")) && /[a-zµμ%]/i.test(unit) && !/^(?:n\/a|h\/l)$/i.test(unit)) ||
    UNIT_WORDS.has(lower)
  return valid ? { unit, length: unit.length } : undefined
}

export interface RangeSpec {
  readonly low?: number
  readonly high?: number
  readonly lowInclusive: boolean
  readonly highInclusive: boolean
  readonly text: string
  /** A qualitative range ("Negative"): the expected text. */
  readonly expected?: string
}

const RANGE_LABEL =
  /^(?:(?:ref(?:erence)?\.?(?:\s*(?:range|interval|int\.?|values?))?|normal(?:\s+(?:range|values?))?|range|rr|desirable|optimal|target|goal|expected(?:\s+(?:range|values?))?|biological\s+ref(?:erence)?\.?\s+(?:interval|range))\s*[:=]?\s*|(?:ref|reference|normal|range)\s*[:=]\s*)/i
/** Inside brackets any short label may name the range: "(Non-diabetic: <5.7)", "(Adult: 0.6-1.3)". */
const BRACKET_LABEL = /^\p{L}[\p{L} .'-]{0,24}:\s*/u
const BETWEEN_RE = new RegExp(String.raw`^(${NUM})\s*(?:-|–|—|to|\.\.)\s*(${NUM.replace("[-−+]?", "")})(?![\d.,]*\d)`, "i")
/** "3.5 to 5.3", and the words other languages print: "0,70 à 1,05", "3,5 bis 5,1", "12 a 16", "135 al 145". */
const BETWEEN_TO_RE = new RegExp(String.raw`^(${NUM})\s+(?:to|à|a|bis|al|tot|fino\s+a)\s+(${NUM})(?![\d.,]*\d)`, "i")
/** A range the lab says it has no numbers for: "Not Estab.", "Not established", "N/A", "See note". */
const NO_RANGE_RE = /^(?:not\s+estab(?:lished|\.)?|not\s+applicable|n\/a|see\s+(?:note|comment)|no\s+range)(?![\p{L}])/iu
const COMPARATOR_RE = new RegExp(
  String.raw`^(<=|>=|=<|=>|≤|≥|⩽|⩾|<\s*or\s*=|>\s*or\s*=|<|>|less\s+than\s+or\s+equal\s+to|greater\s+than\s+or\s+equal\s+to|less\s+than|greater\s+than|under|below|up\s+to|over|above|at\s+least)\s*(${NUM})(?![\d.,]*\d)`,
  "i"
)
const SEX_RANGES_RE = new RegExp(
  String.raw`^(?:(?:m|f|male|female|men|women|adult|adults?|child(?:ren)?)\s*[:=]?\s*${NUM}\s*(?:-|–|—|to)\s*${NUM}\s*[;,]?\s*){2,}`,
  "i"
)

const comparatorKind = (op: string): "lt" | "le" | "gt" | "ge" => {
  const o = op.toLowerCase().replace(/\s+/g, " ")
  if (/^(?:<=|=<|≤|⩽|< ?or ?=|less than or equal to|up to)$/.test(o)) return "le"
  if (/^(?:>=|=>|≥|⩾|> ?or ?=|greater than or equal to|at least)$/.test(o)) return "ge"
  if (/^(?:<|less than|under|below)$/.test(o)) return "lt"
  return "gt"
}

const rangeExpression = (
  s: string,
  style: NumberStyle,
  textAllowed: boolean
): { readonly spec: RangeSpec; readonly length: number } | undefined => {
  const none = NO_RANGE_RE.exec(s)
  if (none !== null) return { spec: { lowInclusive: true, highInclusive: true, text: collapse(none[0]) }, length: none[0].length }
  const sex = SEX_RANGES_RE.exec(s)
  // ranges per sex or age: kept as text, since the report does not say which one applies
  if (sex !== null) {
    return { spec: { lowInclusive: true, highInclusive: true, text: collapse(sex[0]).replace(/[;,]$/, "") }, length: sex[0].length }
  }
  const between = BETWEEN_TO_RE.exec(s) ?? BETWEEN_RE.exec(s)
  if (between !== null) {
    const low = toNumber(between[1] ?? "", style)
    const high = toNumber(between[2] ?? "", style)
    if (low === undefined || high === undefined || low > high) return undefined
    return { spec: { low, high, lowInclusive: true, highInclusive: true, text: collapse(between[0]) }, length: between[0].length }
  }
  const cmp = COMPARATOR_RE.exec(s)
  if (cmp !== null) {
    const bound = toNumber(cmp[2] ?? "", style)
    if (bound === undefined) return undefined
    const kind = comparatorKind(cmp[1] ?? "")
    const text = collapse(cmp[0])
    const spec: RangeSpec =
      kind === "lt" || kind === "le"
        ? { high: bound, lowInclusive: true, highInclusive: kind === "le", text }
        : { low: bound, lowInclusive: kind === "ge", highInclusive: true, text }
    return { spec, length: cmp[0].length }
  }
  if (textAllowed) {
    // "Negative", "Clear", and several words: "Pale yellow - yellow", "None / rare"
    const q = QUAL_LIST_RE.exec(s)
    if (q !== null) {
      const first = QUAL_RE.exec(q[0])?.[0] ?? q[0]
      return { spec: { lowInclusive: true, highInclusive: true, text: collapse(q[0]), expected: first }, length: q[0].length }
    }
  } else {
    // a number expected to be absent: "GLUCOSE, URINE  >1000  NEGATIVE  mg/dL"
    const absent = /^(?:negative|none|not\s+detected|absent|nil)(?![\p{L}])/iu.exec(s)
    if (absent !== null) {
      return { spec: { lowInclusive: true, highInclusive: true, text: collapse(absent[0]), expected: absent[0] }, length: absent[0].length }
    }
  }
  return undefined
}

const collapse = (s: string) => s.trim().replace(/\s+/g, " ")

interface RangeRead {
  readonly spec: RangeSpec
  readonly unit?: string
  readonly length: number
}

/** A reference range, possibly labelled ("ref:", "Normal:") and bracketed, possibly with its unit inside. */
const readRange = (s: string, style: NumberStyle, qualitativeValue: boolean): RangeRead | undefined => {
  let i = 0
  const open = /^[([{]\s*/.exec(s)
  const close = open === null ? undefined : ({ "(": ")", "[": "]", "{": "}" } as const)[s[0] as "(" | "[" | "{"]
  if (open !== null) i += open[0].length
  const label = RANGE_LABEL.exec(s.slice(i)) ?? (open === null ? null : BRACKET_LABEL.exec(s.slice(i)))
  if (label !== null) i += label[0].length
  let expr = rangeExpression(s.slice(i), style, qualitativeValue || label !== null || open !== null)
  // "Normal" is a label ("Normal: 3.5-5.1") or the expected word itself ("Urobilinogen  Normal  Normal")
  if (expr === undefined && label !== null && qualitativeValue) {
    i -= label[0].length
    expr = rangeExpression(s.slice(i), style, true)
  }
  if (expr === undefined) return undefined
  i += expr.length
  let unit: string | undefined
  const afterExpr = /^\s*/.exec(s.slice(i))?.[0].length ?? 0
  const maybeUnit = readUnit(s.slice(i + afterExpr))
  if (maybeUnit !== undefined && (close !== undefined || expr.spec.expected === undefined)) {
    unit = maybeUnit.unit
    i += afterExpr + maybeUnit.length
  }
  if (close !== undefined) {
    const closing = /^\s*([)\]}])/.exec(s.slice(i))
    if (closing === null || closing[1] !== close) return undefined
    i += closing[0].length
  }
  return unit === undefined ? { spec: expr.spec, length: i } : { spec: expr.spec, unit, length: i }
}

interface RowValue {
  readonly value: number | string
  /** For the flag: the number, or the bound of `<0.5` / `>90`. */
  readonly numeric?: number
  readonly comparator?: "lt" | "le" | "gt" | "ge"
  readonly qualitative: boolean
  readonly flag?: ReportFlag
  readonly unit?: string
  readonly length: number
}

const VALUE_NUM_RE = new RegExp(String.raw`^(?:(<=|>=|≤|≥|<|>)\s?)?(${NUM})`)

/** A count per microscope field, printed as a span: "25-50" before a "/HPF" or "/LPF" unit later in the row. */
const FIELD_COUNT_RE = /^(\d{1,3}\s?[-–]\s?\d{1,3})(?=\s)/
const PER_FIELD_RE = /\/\s*(?:hpf|lpf)\b|\bper\s+(?:hpf|lpf)\b/i

const readValue = (s: string, style: NumberStyle): RowValue | undefined => {
  const span = PER_FIELD_RE.test(s) ? FIELD_COUNT_RE.exec(s) : null
  if (span !== null) return { value: (span[1] ?? "").replace(/\s/g, "").replace("–", "-"), qualitative: true, length: span[0].length }
  const numeric = readNumericValue(s, style)
  if (numeric !== undefined) return numeric
  const q = QUAL_RE.exec(s)
  if (q === null) return undefined
  const value = collapse(q[0])
  return { value: value.charAt(0).toUpperCase() + value.slice(1), qualitative: true, length: q[0].length }
}

const readNumericValue = (s: string, style: NumberStyle): RowValue | undefined => {
  const m = VALUE_NUM_RE.exec(s)
  if (m !== null) {
    const numeric = toNumber(m[2] ?? "", style)
    if (numeric === undefined) return undefined
    let length = m[0].length
    const next = s.slice(length)
    // "12.0-16.0" is a range, not a value; "1/2" or "25-OH" are part of a name
    if (/^\s?[-–—]\s?\d/.test(next) || /^[/:\d-]/.test(next)) return undefined
    const op = m[1]
    const value = op === undefined ? numeric : `${op}${numeric}`
    const comparator = op === undefined ? undefined : comparatorKind(op)
    const base = { value, numeric, qualitative: false, ...(comparator === undefined ? {} : { comparator }) }
    if (next === "" || /^\s/.test(next)) return { ...base, length }
    const attachedFlag = /^(HH|LL|H|L|\*|!)(?=$|\s)/.exec(next)
    if (attachedFlag !== null) {
      const flag = readFlag(attachedFlag[1] ?? "", false)
      length += attachedFlag[0].length
      return flag === undefined ? undefined : { ...base, flag: flag.flag, length }
    }
    const attachedUnit = readUnit(next)
    if (attachedUnit !== undefined) return { ...base, unit: attachedUnit.unit, length: length + attachedUnit.length }
    return undefined
  }
  return undefined
}

/** Remarks that qualify a row without changing it: "(calc)", "(fasting)", "[est]". */
const NOTE_RE =
  /^(?:[([](?:calc(?:ulated)?|est(?:imated)?|fasting|non-?fasting|repeated|verified|confirmed|corrected|see\s+note|note|abnormal|normal)\.?[)\]]|final|prelim(?:inary)?|corrected|amended|verified)(?=$|\s)/i
const DATE_TOKEN_RE = /^(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?)(?=$|\s)/
const PREVIOUS_RE = new RegExp(String.raw`^(?:${NUM})\s+(?=\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}(?:$|\s))`)

interface RowParse {
  readonly value: RowValue
  readonly flag?: ReportFlag
  readonly unit?: string
  readonly range?: RangeSpec
}

/** Reads everything after the name; undefined unless the whole rest is understood. */
const readRest = (rest: string, style: NumberStyle): RowParse | undefined => {
  const value = readValue(rest, style)
  if (value === undefined) return undefined
  let flag = value.flag
  let unit = value.unit
  let range: RangeSpec | undefined
  let i = value.length
  while (true) {
    const skip = /^[\s,;|]*/.exec(rest.slice(i))?.[0].length ?? 0
    i += skip
    if (i >= rest.length) break
    if (skip === 0 && !/[\s)\]]$/.test(rest.slice(0, i))) return undefined
    const s = rest.slice(i)
    const r = range === undefined ? readRange(s, style, value.qualitative) : undefined
    if (r !== undefined) {
      range = r.spec
      if (r.unit !== undefined) {
        if (unit !== undefined && unit !== r.unit) return undefined
        unit = r.unit
      }
      i += r.length
      continue
    }
    const f = flag === undefined ? readFlag(s, !value.qualitative || range !== undefined) : undefined
    if (f !== undefined) {
      flag = f.flag
      i += f.length
      continue
    }
    // a qualitative value takes a unit only after something else ("Trace  A  Negative  mg/dL"), never as its next word
    const fieldCount = value.qualitative && /^\d/.test(String(value.value))
    const u = unit === undefined && (!value.qualitative || fieldCount || i > value.length + 2) ? readUnit(s) : undefined
    if (u !== undefined) {
      unit = u.unit
      i += u.length
      continue
    }
    // another lab's columns: a previous result with its date, or a stray date/time
    const previous = PREVIOUS_RE.exec(s)
    if (previous !== null) {
      i += previous[0].length
      continue
    }
    const note = NOTE_RE.exec(s)
    if (note !== null) {
      i += note[0].length
      continue
    }
    const date = DATE_TOKEN_RE.exec(s)
    if (date !== null) {
      i += date[0].length
      continue
    }
    return undefined
  }
  return {
    value,
    ...(flag === undefined ? {} : { flag }),
    ...(unit === undefined ? {} : { unit }),
    ...(range === undefined ? {} : { range })
  }
}

const RANGE_BEFORE_VALUE = new RegExp(
  String.raw`^(.*\p{L}.*?)\s+((?:[([]\s*)?(?:${NUM}\s*(?:-|–|—|to)\s*${NUM}|(?:<=|>=|≤|≥|<|>)\s*${NUM})(?:\s*[)\]])?)$`,
  "u"
)
const UNIT_IN_NAME = /^(.*\p{L}.*?)\s*(?:,\s*|\(|\[)([^()[\],\s]+)[)\]]?$/u
/** Results that have no unit and are often printed without a range. */
const UNITLESS_ANALYTES = /^(?:inr|ph|urine\s+ph|specific\s+gravity|sg|.*\bratio|.*\bindex)$/i
const NAME_STOP_WORDS = new Set("is was are were of the and or for to with at on in by from be a an your my if than".split(" "))
const NOT_A_NAME =
  /^(?:tests?|(?:your\s+)?(?:results?|values?)|(?:standard|normal|reference|ref\.?)\s+(?:range|interval|values?)|flags?|units?|range|reference(?:\s+range)?|status|interpretation|comments?|notes?|total|page|date|time|final|preliminary|corrected|specimen|sample)$/i

const cleanName = (raw: string): string =>
  raw
    .replace(/^[\s•·>*!-]+/, "")
    .replace(/[\s:=.·_-]+$/, "")
    .replace(/\s+/g, " ")
    .trim()

const isPlausibleName = (name: string): boolean => {
  if (name.length < 2 || name.length > 70) return false
  if ((name.match(/\p{L}/gu)?.length ?? 0) < 2) return false
  if (!/^[\p{L}\p{N}(]/u.test(name)) return false
  const words = name.split(" ")
  if (words.length > 10) return false
  if (NAME_STOP_WORDS.has((words[words.length - 1] ?? "").toLowerCase())) return false
  if (NOT_A_NAME.test(name)) return false
  // "Blood Group: O" is a label and the start of its value
  if (/:\s/.test(name)) return false
  // "Sodium 139 mmol/L 135-145 Potassium": two results side by side, not one name
  if (/(?:^|\s)[<>]?\d+(?:[.,]\d+)?\s+(?:[A-Z*!]{1,4}\s+)?(?:[a-zA-Zµμ%][^\s]*\/\S+|%)(?:\s|$)/.test(name)) return false
  if (/(?:^|\s)\d+(?:[.,]\d+)?\s+\d+(?:[.,]\d+)?\s*[-–]\s*\d/.test(name)) return false
  // a number with decimals ends no name: "Kreatinin 1,18" is a name and its value
  if (/\s\d+[.,]\d+$/.test(name)) return false
  // digits broken apart ("Sodium 1 3" of "Sodium 1 3 9 mmol/L"): a misprint, not a name
  if (/(?:^|\s)\d(?:\s\d)+$/.test(name)) return false
  // a sentence, not a label
  if (/[.!?]\s+\p{Lu}\p{Ll}+\s+\p{Ll}/u.test(name)) return false
  return true
}

/** Where a new column starts: after two or more spaces (pipes and tabs have become those). */
const columnStarts = (line: string): ReadonlySet<number> =>
  new Set([...line.matchAll(/\s{2,}(?=\S)/g)].map((m) => (m.index ?? 0) + m[0].length))

/** Candidate starts of the value: column boundaries first (the layout says where the name ends), then every word. */
const splitPoints = (line: string, columns: ReadonlySet<number>): ReadonlyArray<number> => {
  const words: Array<number> = []
  for (const m of line.matchAll(/\s(?=\S)/g)) words.push((m.index ?? 0) + 1)
  // "Hemoglobin:11.2" has no space before its value
  for (const m of line.matchAll(/[:=](?=[<>]?\d)/g)) words.push((m.index ?? 0) + 1)
  return [...new Set([...columns, ...words.sort((a, b) => a - b)])]
}

// ---------------------------------------------------------------------------------------------
// Flags

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

const qualitativeFlag = (value: string, range: RangeSpec): ResultFlag => {
  if (range.expected === undefined) return "unknown"
  const v = qualKey(value)
  const r = qualKey(range.expected)
  if (v === r || (NEGATIVE_CLASS.has(v) && NEGATIVE_CLASS.has(r))) return "normal"
  if (NEGATIVE_CLASS.has(r) || (POSITIVE_CLASS.has(r) && NEGATIVE_CLASS.has(v))) return "abnormal"
  // another word of the same kind than the one expected ("Cloudy" where "Clear" is, "Dark yellow" where "Yellow" is)
  if (QUAL_RE.test(value) && QUAL_RE.test(range.expected)) return "abnormal"
  return "unknown"
}

interface Decided {
  readonly flag: ResultFlag
  readonly source: FlagSource | undefined
}

/** The printed flag when there is one (source `report`), else the one the range gives (source `range`). */
/** A count per field printed as a span ("0-2", "25-50") against a numeric range: within it, or wholly above or below. */
const spanFlag = (value: string, range: RangeSpec): ResultFlag | undefined => {
  const m = /^(\d+)-(\d+)$/.exec(value)
  if (m === null || (range.low === undefined && range.high === undefined)) return undefined
  const lo = Number(m[1])
  const hi = Number(m[2])
  if (range.high !== undefined && lo > range.high) return "high"
  if (range.low !== undefined && hi < range.low) return "low"
  if ((range.low === undefined || lo >= range.low) && (range.high === undefined || hi <= range.high)) return "normal"
  return "unknown"
}

const decideFlag = (row: RowParse): Decided => {
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
const criticalDirection = (flag: ReportFlag | undefined): { readonly direction?: "low" | "high" } =>
  flag?._tag === "direction" && flag.flag !== "normal" ? { direction: flag.flag } : {}

// ---------------------------------------------------------------------------------------------
// One row

const normalizeRow = (line: string): string =>
  line
    // dotted or underscored leaders between a name and its value
    .replace(/\s*(?:\.{3,}|…+|(?:\s?\.){3,}|_{3,}|-{4,})\s*/g, "  ")
    .replace(/(\/1[.,]73)\s+(m2|m²|m\^2)/gi, "$1$2")
    .replace(/[\u2010\u2011\u2212]/g, "-")
    // a value between asterisks marks it out of range: "*131*" reads as "131 *"
    .replace(/(^|\s)\*([<>]?\d[\d.,]*)\*(?=\s|$)/g, "$1$2 *")
    .replace(/\s+$/, "")

export interface RowContext {
  readonly style?: NumberStyle
  /** A table header is in force: weak qualitative words ("Yellow", "Trace") may be values. */
  readonly inTable?: boolean
  /** The report's legend for its own marks (`+ = above the reference range`), if it prints one. */
  readonly legend?: Legend
  /** The line ended in a call-back note ("called to Dr. … 16:35"): the lab treated the value as critical. */
  readonly calledBack?: boolean
}

/** Parses one line as a lab result, or undefined when it is not one. */
export const parseResultLine = (line: string, context: RowContext = {}): ParsedResult | undefined => {
  if (line.length > MAX_ROW_CHARS || line.trim() === "") return undefined
  if (isMetadataLine(line)) return undefined
  const style = context.style ?? { decimalComma: false }
  const marked = context.legend === undefined ? line : applyLegend(line, context.legend)
  const { cells, separator } = splitCells(marked)
  const spaced = separator === "space" ? marked : cells.map((c) => c.text).join("  ")
  const row = normalizeRow(spaced).replace(/^\s+/, "")
  // a decimal point with a space beside it ("4 . 1", "4. 1"): the number is broken, and reading
  // either half would put a wrong value under a right name
  if (/\d\s+\.\s*\d|\d\.\s+\d/.test(row)) return undefined
  const leadingMark = /^[*!]+\s*/.exec(row)
  const body = leadingMark === null ? row : row.slice(leadingMark[0].length)
  const columns = columnStarts(body)
  for (const at of splitPoints(body, columns)) {
    let name = cleanName(body.slice(0, at))
    let parsed = readRest(body.slice(at), style)
    if (parsed === undefined) continue
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
    const range = parsed.range
    const referenceRange: ParsedRange =
      range === undefined
        ? { text: "" }
        : {
            ...(range.low === undefined ? {} : { low: range.low }),
            ...(range.high === undefined ? {} : { high: range.high }),
            text: range.text
          }
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

// ---------------------------------------------------------------------------------------------
// Vitals

type VitalColumn =
  | { readonly kind: "date" | "time" | "datetime" | "other" }
  | { readonly kind: "measure"; readonly vital: VitalKind | "systolic" | "diastolic"; readonly unit?: string }

interface VitalsHeader {
  readonly separator: Separator
  readonly columns: ReadonlyArray<{ readonly column: VitalColumn; readonly start: number; readonly end: number }>
}

const VITAL_HEADER_RE = anyOf(
  [
    String.raw`date\s*(?:\/|and|&)\s*time|date\/time|datetime|timestamp|date|time`,
    String.raw`systolic|sys|sbp|diastolic|dia|dbp|blood\s+pressure|bp|pulse|heart\s+rate|hr|weight|wt|body\s+weight`,
    String.raw`spo2|sp02|sao2|o2\s+sat(?:uration)?|oxygen(?:\s+saturation)?|saturation|sat|temp(?:erature)?`,
    String.raw`notes?|comments?|arm|position`
  ],
  // the label, then an optional unit in brackets: "Weight(kg)", "Temp (°F)"
  (labels) => String.raw`(${labels})\b\s*(?:[([]\s*([^)\]]{1,12})\s*[)\]])?`,
  "giy"
)

const columnFor = (label: string, unitText: string | undefined): VitalColumn => {
  const l = label.toLowerCase().replace(/\s+/g, " ")
  const u = (unitText ?? "").trim()
  if (/^(?:date ?(?:\/|and|&) ?time|date\/time|datetime|timestamp)$/.test(l)) return { kind: "datetime" }
  if (l === "date") return { kind: "date" }
  if (l === "time") return { kind: "time" }
  if (/^(?:systolic|sys|sbp)$/.test(l)) return { kind: "measure", vital: "systolic" }
  if (/^(?:diastolic|dia|dbp)$/.test(l)) return { kind: "measure", vital: "diastolic" }
  if (/^(?:blood pressure|bp)$/.test(l)) return { kind: "measure", vital: "blood_pressure" }
  if (/^(?:pulse|heart rate|hr)$/.test(l)) return { kind: "measure", vital: "pulse" }
  if (/^(?:weight|wt|body weight)$/.test(l)) {
    const unit = /lb/i.test(u) ? "lb" : /kg/i.test(u) ? "kg" : undefined
    return unit === undefined ? { kind: "measure", vital: "weight" } : { kind: "measure", vital: "weight", unit }
  }
  if (/^(?:spo2|sp02|sao2|o2 sat(?:uration)?|oxygen(?: saturation)?|saturation|sat)$/.test(l)) {
    return { kind: "measure", vital: "spo2", unit: "%" }
  }
  if (/^temp(?:erature)?$/.test(l)) {
    const unit = /f/i.test(u) ? "°F" : /c/i.test(u) ? "°C" : undefined
    return unit === undefined ? { kind: "measure", vital: "temperature" } : { kind: "measure", vital: "temperature", unit }
  }
  return { kind: "other" }
}

/** `Date  Time  Systolic  Diastolic  Pulse  Weight(kg)  SpO2(%)  Temp(C)` in any order and spelling. */
const readVitalsHeader = (line: string): VitalsHeader | undefined => {
  if (/\d{2}/.test(line.replace(/\([^)]*\)|\[[^\]]*\]|spo2|sp02|sao2|o2/gi, ""))) return undefined
  const separator: Separator = line.includes("|") ? "pipe" : line.includes("\t") ? "tab" : looksLikeCsv(line) ? "comma" : "space"
  const columns: Array<{ column: VitalColumn; start: number; end: number }> = []
  let i = 0
  while (i < line.length) {
    const skip = /^[\s|,;]*/.exec(line.slice(i))?.[0].length ?? 0
    i += skip
    if (i >= line.length) break
    VITAL_HEADER_RE.lastIndex = i
    const m = VITAL_HEADER_RE.exec(line)
    if (m === null) {
      // an unknown column (e.g. "Notes", "Arm") is tolerated once; prose is not a header
      const word = /^[^\s|]+/.exec(line.slice(i))
      if (word === null) return undefined
      columns.push({ column: { kind: "other" }, start: i, end: i + word[0].length })
      i += word[0].length
      continue
    }
    columns.push({ column: columnFor(m[1] ?? "", m[2]), start: i, end: i + m[0].length })
    i += m[0].length
  }
  const measures = columns.filter((c) => c.column.kind === "measure").length
  const times = columns.filter((c) => c.column.kind !== "measure" && c.column.kind !== "other").length
  const others = columns.filter((c) => c.column.kind === "other").length
  if (others > 2 || measures === 0 || measures + times < 2) return undefined
  return { separator, columns }
}

interface VitalToken {
  readonly text: string
  readonly start: number
  readonly end: number
}

const VITAL_TOKEN_RE = anyOf(
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

const vitalTokens = (line: string, separator: Separator): ReadonlyArray<VitalToken> => {
  if (separator !== "space") {
    return splitCells(line, separator).cells.map((c) => ({ text: c.text, start: c.start, end: c.end }))
  }
  return [...line.matchAll(VITAL_TOKEN_RE)].map((m) => ({ text: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }))
}

const bloodPressure = (time: string, systolic: number, diastolic: number): ParsedVital => ({
  kind: "blood_pressure",
  time,
  value: systolic,
  diastolic,
  unit: "mmHg"
})

const vitalNumber = (text: string): number | undefined => {
  const m = /^[-+]?\d+(?:[.,]\d+)?/.exec(text.trim())
  if (m === null) return undefined
  const n = Number(m[0].replace(",", "."))
  return Number.isFinite(n) ? n : undefined
}

const temperatureUnit = (cell: string, declared: string | undefined, value: number) => {
  const after = cell.replace(/^[\d.,\s]+/, "")
  // without a unit, a body temperature over 50 can only be Fahrenheit
  return /°?\s?F\b/i.test(after) ? "°F" : /°?\s?C\b/i.test(after) ? "°C" : (declared ?? (value > 50 ? "°F" : "°C"))
}

const weightUnit = (cell: string, declared: string | undefined) =>
  /lb/i.test(cell) ? "lb" : /kg/i.test(cell) ? "kg" : (declared ?? "kg")

/** One row of a vitals table → one VitalSign per measurement, stamped with the row's date and time. */
const readVitalsRow = (
  line: string,
  header: VitalsHeader,
  order: DateOrder,
  fallbackDate: string | undefined
): { readonly vitals: ReadonlyArray<ParsedVital>; readonly date?: string } | undefined => {
  const tokens = vitalTokens(line, header.separator)
  if (tokens.length === 0) return undefined
  const assigned = new Map<number, string>()
  if (tokens.length === header.columns.length) {
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
        const score = overlap > 0 ? overlap : -Math.min(Math.abs(token.start - col.start), Math.abs(token.end - col.end))
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
  let date: string | undefined
  let time: string | undefined
  header.columns.forEach((col, i) => {
    const cell = assigned.get(i)
    if (cell === undefined) return
    if (col.column.kind === "date" || col.column.kind === "datetime") {
      const dt = readDateTime(cell.trim(), order)
      if (dt !== undefined) {
        date = dt.date
        if (dt.iso.includes("T")) time = dt.iso.slice(11)
      }
    }
    if (col.column.kind === "time") time = readTime(cell.trim())?.time ?? time
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

const VITAL_KEYS = String.raw`blood\s+pressure|bp|pulse(?:\s+rate)?|heart\s+rate|hr|spo2|sp02|o2\s+sat(?:uration)?|oxygen\s+saturation|temp(?:erature)?|(?:body\s+)?weight|wt`
const INLINE_VITAL_RE = anyOf(
  [String.raw`mm\s?hg|bpm|beats\/min|\/min|%|°\s?[cf]|deg(?:rees)?\s?[cf]|[cf]\b|kg|lbs?|pounds`],
  // "BP 128/84 mmHg", "pulse 72", "Weight this morning = 74.6 kg" (a few words may sit between name and value)
  (units) => String.raw`\b(${VITAL_KEYS})\b(?:\s+\p{L}+){0,3}?\s*[:=-]?\s*(\d{2,3}\s?\/\s?\d{2,3}|\d+(?:[.,]\d+)?)\s*(${units})?`,
  "giu"
)
/** In a diary, a blood pressure without name or unit: "128/84" (checked for plausibility where it is read). */
const DIARY_BP_RE = /(?<![\d/.])(\d{2,3})\s?\/\s?(\d{2,3})(?![\d/.])/g
/** A blood pressure without its name, known by its unit: "128/84 mmHg". */
const BARE_BP_RE = /(?<![\d/])(\d{2,3})\s?\/\s?(\d{2,3})\s*mm\s?hg\b/gi
/** A reading that starts with its time: "07:05  128/84 mmHg, pulse 72", "9.15 pm 131/86 mmHg". */
const LEADING_TIME_RE = /^\s*(\d{1,2})[:.h](\d{2})(?:\s*([ap])\.?m\.?)?(?=\s)/i

/** "BP 128/84 mmHg, pulse 72" and the like, outside a table. */
const readInlineVitals = (line: string, stamp: string, diary = false): ReadonlyArray<ParsedVital> => {
  const vitals: Array<ParsedVital> = []
  if (!/\b(?:blood\s+pressure|bp)\b/i.test(line)) {
    // in a diary a reading needs no unit when it can only be a blood pressure: "128/84" (systolic
    // 60–260 above diastolic 30–160), and a number with "bpm" is the pulse
    for (const m of line.matchAll(diary ? DIARY_BP_RE : BARE_BP_RE)) {
      const systolic = Number(m[1])
      const diastolic = Number(m[2])
      if (systolic >= 60 && systolic <= 260 && diastolic >= 30 && diastolic <= 160 && systolic > diastolic) {
        vitals.push(bloodPressure(stamp, systolic, diastolic))
      }
    }
    if (diary && !/\b(?:pulse|heart\s+rate|hr)\b/i.test(line)) {
      for (const m of line.matchAll(/(?<![\d.,/])(\d{2,3})\s*(?:bpm|beats\/min|\/min)\b/gi)) {
        vitals.push({ kind: "pulse", time: stamp, value: Number(m[1]), unit: "bpm" })
      }
    }
  }
  for (const m of line.matchAll(INLINE_VITAL_RE)) {
    const key = (m[1] ?? "").toLowerCase()
    const raw = m[2] ?? ""
    const unit = (m[3] ?? "").toLowerCase().replace(/\s+/g, "")
    const bp = /^(\d{2,3})\s?\/\s?(\d{2,3})$/.exec(raw)
    const value = Number(raw.replace(",", "."))
    if (/^(?:blood\s+pressure|bp)$/.test(key)) {
      if (bp !== null) vitals.push(bloodPressure(stamp, Number(bp[1]), Number(bp[2])))
    } else if (bp !== null || !Number.isFinite(value)) {
      continue
    } else if (/^(?:pulse|heart|hr)/.test(key)) {
      vitals.push({ kind: "pulse", time: stamp, value, unit: "bpm" })
    } else if (/sp02|spo2|sat/.test(key)) {
      vitals.push({ kind: "spo2", time: stamp, value, unit: "%" })
    } else if (/^temp/.test(key)) {
      vitals.push({ kind: "temperature", time: stamp, value, unit: temperatureUnit(unit, undefined, value) })
    } else if (/weight|wt/.test(key)) {
      vitals.push({ kind: "weight", time: stamp, value, unit: /lb|pound/.test(unit) ? "lb" : "kg" })
    }
  }
  return vitals
}

const VITAL_NAME_RE = new RegExp(String.raw`^(?:${VITAL_KEYS})\b`, "i")

/** Times inside a line: "07:05", "9.15 pm", "21h40". */
const TIME_IN_LINE_RE = /(?<![\d/.:-])(\d{1,2})[:.h](\d{2})(?:\s*([ap])\.?m\.?)?(?![\d/:])/gi

/**
 * The readings of a diary line, each stamped with the time printed before it on the line (the
 * date from the line above): "07:05  128/84 mmHg, pulse 72", "07:05 128/84 72 bpm   21:40 139/88 77 bpm".
 */
const readDiaryLine = (line: string, date: string): ReadonlyArray<ParsedVital> => {
  const marks = [...line.matchAll(TIME_IN_LINE_RE)].filter((m) => {
    const hour = Number(m[1])
    return hour <= 23 && Number(m[2]) <= 59
  })
  const readings: Array<ParsedVital> = []
  marks.forEach((m, i) => {
    const start = (m.index ?? 0) + m[0].length
    const end = marks[i + 1]?.index ?? line.length
    const time = leadingTime(`${m[0]} `)
    if (time === undefined) return
    readings.push(...readInlineVitals(line.slice(start, end), `${date}T${time.time}`, true))
  })
  return readings
}

/** The time a diary line starts with, as HH:MM, or undefined. */
const leadingTime = (line: string): { readonly time: string; readonly length: number } | undefined => {
  const m = LEADING_TIME_RE.exec(line)
  if (m === null) return undefined
  let hour = Number(m[1])
  const minute = Number(m[2])
  const half = m[3]?.toLowerCase()
  if (half === "p" && hour < 12) hour += 12
  if (half === "a" && hour === 12) hour = 0
  if (hour > 23 || minute > 59) return undefined
  return { time: `${pad2(hour)}:${pad2(minute)}`, length: m[0].length }
}

/**
 * A flowsheet with one column per visit: "Visit date  01/07/2026  02/04/2026", maybe "Time  09:20
 * 10:45", then one row per measurement. The readings of a row are its values outside brackets,
 * in order ("36.8 °C (98.2 °F)" is one reading in °C): a row with as many as there are visits.
 */
interface VisitColumns {
  readonly dates: ReadonlyArray<string>
  readonly times: ReadonlyArray<string | undefined>
}

const VISIT_LABEL_RE = /^\s*(?:visit\s+date|date\s+of\s+visit|visit|date|encounter(?:\s+date)?)\s*[:]?\s+/i

const readVisitColumns = (line: string, order: DateOrder): VisitColumns | undefined => {
  const label = VISIT_LABEL_RE.exec(line)
  if (label === null) return undefined
  const dates: Array<string> = []
  const times: Array<string | undefined> = []
  let rest = line.slice(label[0].length)
  // dates one after another, each maybe with its time ("02/11/2026 14:10"), and nothing else
  while (rest.trim() !== "") {
    const lead = /^[\s|,;]*/.exec(rest)?.[0].length ?? 0
    const date = readDateTime(rest.slice(lead), order)
    if (date === undefined) return undefined
    dates.push(date.date)
    times.push(date.iso.length > date.date.length ? date.iso.slice(11, 16) : undefined)
    rest = rest.slice(lead + date.length)
  }
  return dates.length >= 2 ? { dates, times } : undefined
}

const readVisitTimes = (line: string, visits: VisitColumns): VisitColumns | undefined => {
  // "Time  09:20  10:45", or the times alone under the dates
  const label = /^\s*(?:(?:visit\s+)?time\s*[:]?)?\s+/i.exec(` ${line}`) ?? { 0: " " }
  line = ` ${line}`
  const times = line
    .slice(label[0].length)
    .trim()
    .split(/\s+/)
    .map((cell) => leadingTime(` ${cell} `.slice(1))?.time)
  return times.length === visits.dates.length && times.every((t) => t !== undefined) ? { ...visits, times } : undefined
}

/** One flowsheet row: its readings, one per visit, or undefined when it is not a vital sign with one per visit. */
const readVisitRow = (line: string, visits: VisitColumns): ReadonlyArray<ParsedVital> | undefined => {
  const name = new RegExp(String.raw`^\s*(${VITAL_KEYS})\b[^\d]*?(?=\d)`, "i").exec(line)
  if (name === null) return undefined
  const key = (name[1] ?? "").toLowerCase()
  const rest = line.slice(name[0].length).replace(/\([^)]*\)/g, " ")
  const stamps = visits.dates.map((date, i) => (visits.times[i] === undefined ? date : `${date}T${visits.times[i]}`))
  if (/^(?:blood\s+pressure|bp)$/.test(key)) {
    const readings = [...rest.matchAll(/(\d{2,3})\s?\/\s?(\d{2,3})/g)]
    if (readings.length !== stamps.length) return undefined
    return readings.map((m, i) => bloodPressure(stamps[i] ?? "", Number(m[1]), Number(m[2])))
  }
  const readings = [...rest.matchAll(/(\d+(?:[.,]\d+)?)\s*(°\s?[cf]|kg|lbs?|bpm|%|\/min)?/gi)]
  if (readings.length !== stamps.length) return undefined
  return readings.flatMap((m, i) =>
    readInlineVitals(`${name[1] ?? ""} ${m[1] ?? ""} ${m[2] ?? ""}`, stamps[i] ?? "")
  )
}

// ---------------------------------------------------------------------------------------------
// Headings and title

const SECTION_WORDS = anyOf(
  [
    String.raw`count|panel|profile|chemistry|biochemistry|ha?ematology|urinalysis|urine|lipids?|thyroid|metabolic|function`,
    String.raw`serology|immunology|coagulation|clotting|vitamins?|iron|liver|kidney|renal|electrolytes?|hormones?|endocrin\w*`,
    String.raw`tests?|results?|screen(?:ing)?|studies|markers?|blood|cbc|cmp|bmp|fbc|lft|lfts|u\s*&\s*es?|a1c|diabetes|diabetic`,
    String.raw`cardiac|inflammat\w*|infectious|hepatitis|culture|differential|glucose|analysis|chem|bone|pancreatic|tumou?r`,
    String.raw`allergy|immunoglobulins?|proteins?|minerals?|enzymes?|gases|work-?up|h[aä]matologie|chemie`
  ],
  (words) => String.raw`\b(?:${words})\b`,
  "i"
)

const ACRONYMS = new Set(
  "CBC CMP BMP FBC LFT LFTS TSH HDL LDL HIV CRP ESR INR PT PTT APTT RBC WBC UE U&E U&ES NHS B12 D T3 T4 PSA CK GGT ALT AST ALP II".split(" ")
)
const SMALL_WORDS = new Set(["of", "and", "with", "the", "for", "in", "on", "a", "an", "to", "or"])

const titleCase = (heading: string): string =>
  heading
    .split(/(\s+|[(),/&-])/)
    .map((part, i) => {
      if (!/\p{L}/u.test(part)) return part
      const upper = part.toUpperCase()
      if (ACRONYMS.has(upper.replace(/[^A-Z0-9&]/g, ""))) return upper
      if (/^A1C$/i.test(part)) return "A1c"
      const lower = part.toLowerCase()
      if (i > 0 && SMALL_WORDS.has(lower)) return lower
      return lower.charAt(0).toUpperCase() + lower.slice(1)
    })
    .join("")

const readHeading = (line: string): string | undefined => {
  const s = line
    .trim()
    .replace(/^[#=*\-–\s]+/, "")
    .replace(/\s*\(\d+\)/g, "")
    .replace(/[#=*:\-–\s]+$/, "")
  if (s.length < 3 || s.length > 80 || /\d{2,}/.test(s.replace(/\bA1c\b|\bB12\b/gi, ""))) return undefined
  if ((s.match(/\p{L}/gu)?.length ?? 0) < 3 || s.split(/\s+/).length > 9) return undefined
  if (/[.!?;]$/.test(line.trim()) || /\s{2,}/.test(s)) return undefined
  const allCaps = s === s.toUpperCase()
  return allCaps || SECTION_WORDS.test(s) || line.trim().endsWith(":") ? s : undefined
}

const headingTitle = (heading: string): string | undefined => {
  if (!SECTION_WORDS.test(heading)) return undefined
  const title = heading === heading.toUpperCase() ? titleCase(heading) : heading
  return title.replace(/\s+/g, " ").trim()
}

// ---------------------------------------------------------------------------------------------
// The document

export interface PositionedLine {
  readonly text: string
  /** 1-based; a form feed starts a new page. */
  readonly page: number
  /** 1-based, on its page. */
  readonly line: number
}

/** The document's lines with their page and line numbers (a form feed starts a new page). */
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
const nameChain = (recent: ReadonlyArray<Unparsed>, index: number, row: string): ReadonlyArray<Unparsed> => {
  const chain: Array<Unparsed> = []
  // "Your value 97 U/L" under a name is a portal block, read as one below
  if (VALUE_LINE_RE.test(row.trim()) || RANGE_LINE_RE.test(row.trim())) return chain
  let next = { text: row.trim(), index, indented: /^\s{2,}\p{L}/u.test(row) }
  for (let k = recent.length - 1; k >= 0; k--) {
    const above = recent[k]
    if (above === undefined || above.index !== next.index - 1) break
    // a value, not a name that starts with digits ("25-OH Vitamin D")
    const startsWithValue = /^[<>]?\d+(?:[.,]\d+)?(?:\s|$)|^\d{1,3}\s?-\s?\d{1,3}\s/.test(next.text)
    const indentedUnder = next.indented && !above.indented && nameLike(above.text, true)
    // a specimen or qualifier word that ends a wrapped name: "…Ratio, Random" over "Urine   41  H  mg/g creat"
    const qualifierTail = !startsWithValue && /^(?:urine|serum|plasma|blood|random|total|free|direct|calculated|fasting)\b/i.test(next.text)
    if (!startsWithValue && !continuesName(above.text, next.text) && !indentedUnder && !(qualifierTail && nameLike(above.text))) break
    if (startsWithValue && !nameLike(above.text, true)) break
    chain.unshift(above)
    next = above
  }
  return chain
}

/** Text that can be (the start of) a test name: short, no digits at its end, not a sentence or a label. */
const nameLike = (text: string, continued = false): boolean =>
  text.length <= 60 &&
  // names do not end in a number or a full stop, nor start with a house number ("1 Main St")
  !/[:.!?]\s*$|\d\s*$|^\d+\s/.test(text) &&
  text.split(/\s+/).length <= 6 &&
  !isMetadataLine(text) &&
  // a heading has the look of a name; an indented line under it says it was one after all
  (continued ? !(text === text.toUpperCase() || SECTION_ONLY.test(text)) : readHeading(text) === undefined)

/** Words that only section headings have, never a test name ("Lipid Panel", "Coagulation"). */
const SECTION_ONLY = /\b(?:panel|profile|chemistry|biochemistry|ha?ematology|urinalysis|serology|immunology|coagulation|differential)\b/i

/**
 * Does the line above end a name that this line continues? It ends with a connector ("Vitamin D,",
 * "Alanine", "of", "and", "(" or "/") or this line starts with a lower-case word or a bracket
 * ("(LDL), calculated"). Short and without a colon, so a heading or a label is not taken.
 */
const continuesName = (above: string, line: string): boolean => {
  if (above.length > 60 || /[:.!?]\s*$/.test(above) || /\d\s*$/.test(above)) return false
  if (above.split(/\s+/).length > 6 || isMetadataLine(above)) return false
  if (/[,(/&+-]$|\b(?:and|of|for|with|by|to|in|per)$/i.test(above)) return true
  // "(LDL), calculated …" or "calculated …", but not "eGFR …" or "pH …", which start names of their own
  return /^\(/.test(line) || (/^\p{Ll}{3,}\b/u.test(line) && !KNOWN_TEST.test(line.split(/\s/)[0] ?? ""))
}

/**
 * Does the line look like it holds a result, though it was not read as one? A number with a unit
 * after it ("139 mmol/L", "7.2x10^9/L") or a flag beside a number ("139 H", "*131*"), or a known
 * test name with a number. Such a line must not disappear: it is reported as unread.
 */
const looksLikeResult = (line: string, inTable = false): boolean => {
  if (isMetadataLine(line)) return false
  // under a table header, a short line that starts with a word and has a number or a second
  // column ("Crystals   Calcium oxalate, few") is a row of it
  const words = line.trim().split(/\s+/)
  const columns = line.trim().split(/\s{2,}|\t|\|/).filter((c) => c.trim() !== "").length
  if (inTable && /^\s*\p{L}/u.test(line) && words.length <= 12 && !/[.!?]\s*$/.test(line) && (/\d/.test(line) || columns >= 2)) {
    return true
  }
  if (!/\d/.test(line)) return false
  const mention = findAnalyteMention(line)
  if (mention !== undefined && /\d/.test(line.slice(mention.end))) return true
  const s = normalizeRow(line)
  for (const m of s.matchAll(/\d(?:[.,]\d+)?\s*/g)) {
    const after = s.slice((m.index ?? 0) + m[0].length)
    if (readUnit(after) !== undefined) return true
    const flag = readFlag(after, false)
    if (flag !== undefined && flag.flag._tag !== "direction") return true
    if (flag !== undefined && /^[HL]\b/.test(after)) return true
  }
  return KNOWN_TEST.test(s) && /\d/.test(s.replace(KNOWN_TEST, ""))
}

/** Common test names (the lexicon knows more; this keeps the check cheap and dependency-free). */
const KNOWN_TEST =
  /\b(?:ha?emoglobin|hgb|hba1c|a1c|wbc|rbc|platelets?|plt|ha?ematocrit|hct|mcv|mch|mchc|rdw|sodium|potassium|chloride|bicarbonate|co2|urea|bun|creatinine|e?gfr|glucose|calcium|magnesium|phosphate|phosphorus|albumin|protein|bilirubin|alt|ast|alp|ggt|ldh|cholesterol|ldl|hdl|triglycerides?|tsh|t4|t3|ferritin|iron|transferrin|b12|folate|vitamin|crp|esr|inr|ptt|aptt|fibrinogen|troponin|bnp|lactate|ph|pco2|po2|psa|lipase|amylase|uric\s+acid|kalium|natrium|glucosa|glyc[ée]mie|cr[ée]atinine?|leu[ck]o[cz]\w+|thrombo[cz]\w+|h[ée]moglobin\w*|hemoglobina)\b/i

/**
 * One table row: the whole line, else without a trailing performing-lab code ("01", "EN") whose
 * header was on another page, else two or three results printed side by side.
 */
const parseRow = (row: string, context: RowContext, depth = 0): ReadonlyArray<ParsedResult> => {
  const whole = parseResultLine(row, context)
  if (whole !== undefined) return [whole]
  if (/\s{2,}(?:[A-Z]{2}|\d{2})$/.test(row)) {
    const withoutCode = parseResultLine(row.replace(/\s{2,}\S+$/, ""), context)
    if (withoutCode !== undefined) return [withoutCode]
  }
  if (depth >= 2 || row.length > MAX_ROW_CHARS) return []
  for (const gap of row.matchAll(/(?<=\S)\s{4,}(?=\p{L})/gu)) {
    const cut = gap.index ?? 0
    const left = parseResultLine(row.slice(0, cut), context)
    if (left === undefined) continue
    const right = parseRow(row.slice(cut + gap[0].length), context, depth + 1)
    if (right.length > 0) return [left, ...right]
  }
  return []
}

/** "Value: 11.2 g/dL", "Your value 134", "Result = Negative": the colon may be missing before a number. */
const VALUE_LINE_RE = /^(?:your\s+)?(?:value|result)(?:\s*[:=]\s*|\s+(?=[<>≤≥]?\s*\d)|\s{2,})(.+)$/i
/** A portal block's flag on a line of its own, labelled: "Flag   High", "Status: Abnormal". */
const FLAG_LINE_RE = /^(?:flag|status|result\s+flag|interpretation)\s*[:=]?\s+(.+)$/i
const RANGE_LINE_RE = /^(?:normal|standard|reference|ref\.?)\s+(?:range|interval|values?)\s*[:=]?\s*(.+)$/i

/** A line that produced nothing yet, kept in case the next lines complete it (a wrapped name, a name above its value). */
interface Unparsed {
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
  const normalized = text
    .replace(/^\ufeff/, "")
    .replace(/\r\n?/g, "\n")
    .replace(/[\u00a0\u2007\u202f]/g, " ")
    .replace(/[\u200b\u200c\u200d\u2060]/g, "")
  const lines: Array<PositionedLine> = positionLines(normalized).slice(0, MAX_LINES)
  const legend = findLegend(lines.map((l) => l.text))
  const style = detectNumberStyle(normalized.slice(0, 200_000))
  const order = detectDateOrder(normalized.slice(0, 200_000))

  const results: Array<ParsedResult> = []
  const vitals: Array<ParsedVital> = []
  const titles: Array<string> = []
  let collectedAt: string | undefined
  let currentDate: string | undefined
  let labHeader: LabHeader | undefined
  let vitalsHeader: VitalsHeader | undefined
  let visitColumns: VisitColumns | undefined
  let pendingHeading: string | undefined
  let proseLines = 0
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
  const emitVitals = (read: ReadonlyArray<ParsedVital>) => {
    for (const vital of read) vitals.push({ ...vital, page: at.page, line: at.line })
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
    const callBack = splitCallBack(positioned.text.replace(/\s+$/, ""))
    const line = callBack.text
    if (line.trim() === "") {
      vitalsHeader = undefined
      recent = []
      continue
    }
    if (line.length > MAX_ROW_CHARS * 4) {
      proseLines++
      continue
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
      } else if (/^\s*(?:date(?:\s+of\s+service)?|visit\s+date|service\s+date)\s*[:#]/i.test(line)) {
        currentDate ??= findDateTime(line, order)?.date
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
    const visits = readVisitColumns(line, order)
    if (visits !== undefined) {
      visitColumns = visits
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
      if (/^\s*\p{L}[\p{L} ()/-]{0,30}?\s{2,}\S/u.test(line) && !isMetadataLine(line)) continue
      if (/^\s*(?:\([^)]*\)\s*)+$/.test(line)) continue
      visitColumns = undefined
    }
    // a diary line: its time (or times: "07:05 128/84 … 21:40 139/88"), its readings, under the date line above it
    const diaryTime = currentDate === undefined ? undefined : leadingTime(line)
    if (diaryTime !== undefined && currentDate !== undefined) {
      const readings = readDiaryLine(line, currentDate)
      if (readings.length > 0) {
        emitVitals(readings)
        continue
      }
    }
    const newVitalsHeader = readVitalsHeader(line)
    if (newVitalsHeader !== undefined && readLabHeader(line) === undefined) {
      vitalsHeader = newVitalsHeader
      labHeader = undefined
      continue
    }
    if (vitalsHeader !== undefined) {
      const row = readVitalsRow(line, vitalsHeader, order, currentDate)
      if (row !== undefined) {
        emitVitals(row.vitals)
        if (row.date !== undefined) currentDate = row.date
        continue
      }
      vitalsHeader = undefined
    }
    const newLabHeader = readLabHeader(line)
    if (newLabHeader !== undefined) {
      labHeader = newLabHeader
      continue
    }
    const trimmed = line.trim()
    if (VITAL_NAME_RE.test(trimmed.replace(/^[•·*\-–]\s*/, ""))) {
      const leading = findDateTime(trimmed.slice(0, 24), order)
      const stamp = leading?.iso ?? collectedAt ?? currentDate
      if (stamp !== undefined) {
        const inline = readInlineVitals(line, stamp)
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
    const row = dropIgnoredColumns(line, labHeader)
    // a long name wrapped onto two or three lines: "Low Density Lipoprotein" over "(LDL), calculated
    // 131  mg/dL  <100", or a name over an indented continuation ("  Protein   3.8  H  mg/L")
    const chain = nameChain(recent, index, row)
    // the longest chain that reads (a heading above the name is not part of it); a row that starts
    // with its value keeps the gap that separates it from the name
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
    const rowResults = parseRow(row, context)
    if (rowResults.length > 0) {
      rowResults.forEach(emitResult)
      continue
    }
    // a long name wrapped onto its own line, the values on the next
    const previous = recent[recent.length - 1]
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
    const valueLine = VALUE_LINE_RE.exec(trimmed)
    if (valueLine !== null) {
      const ahead: Array<number> = []
      for (let j = index + 1; j < Math.min(lines.length, index + 4); j++) {
        const next = (lines[j]?.text ?? "").trim()
        if (next === "" || VALUE_LINE_RE.test(next)) break
        const flagged = FLAG_LINE_RE.exec(next)?.[1] ?? next
        if (RANGE_LINE_RE.test(next) || readFlag(flagged, true)?.length === flagged.length) ahead.push(j)
        else break
      }
      const aheadText = ahead.map((j) => (lines[j]?.text ?? "").trim())
      const rangeText =
        [...recent].reverse().find((e) => RANGE_LINE_RE.test(e.text))?.text ?? aheadText.find((t) => RANGE_LINE_RE.test(t))
      const flagLine = aheadText.find((t) => !RANGE_LINE_RE.test(t))
      const flagText = flagLine === undefined ? undefined : (FLAG_LINE_RE.exec(flagLine)?.[1] ?? flagLine)
      const nameEntry = [...recent].reverse().find((e) => !RANGE_LINE_RE.test(e.text) && !VALUE_LINE_RE.test(e.text))
      const range = rangeText === undefined ? "" : `  ref: ${RANGE_LINE_RE.exec(rangeText)?.[1] ?? ""}`
      const flag = flagText === undefined ? "" : `  ${flagText}`
      const block =
        nameEntry === undefined
          ? undefined
          : parseResultLine(`${nameEntry.text}  ${valueLine[1] ?? ""}${range}${flag}`, { ...context, inTable: true })
      if (nameEntry !== undefined && block !== undefined) {
        consume(nameEntry)
        emitResult(block)
        for (const j of ahead) skip.add(j)
        continue
      }
    }
    const leadingDate = findDateTime(trimmed.slice(0, 24), order)
    if (leadingDate !== undefined && trimmed.indexOf(leadingDate.iso.slice(0, 4)) <= 12) {
      const inline = readInlineVitals(line, leadingDate.iso)
      // a diary line that starts with its date: "2026-03-02  07:05 128/84 72 bpm  21:40 139/88 77 bpm"
      const afterDate = trimmed.slice(trimmed.indexOf(leadingDate.iso.slice(0, 4)))
      const diary =
        inline.length > 0
          ? inline
          : TIME_IN_LINE_RE.test(afterDate.slice(10))
            ? readDiaryLine(afterDate.slice(10), leadingDate.date)
            : readInlineVitals(afterDate.slice(10), leadingDate.iso, true)
      TIME_IN_LINE_RE.lastIndex = 0
      if (diary.length > 0) {
        emitVitals(diary)
        currentDate = leadingDate.date
        continue
      }
    }
    // a line that is only a date ("Monday 2026-05-04", "== 2026-05-11 (Mon) ==", "Tue, 12 May 2026:")
    // dates the rows that follow it
    const bare = trimmed
      .replace(/^[=*#_~\-–—\s]+|[=*#_~\-–—:\s]+$/g, "")
      .replace(/\s*[([]\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s*[)\]]\s*$/i, "")
    const weekday = /^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?/i.exec(bare)?.[0].length ?? 0
    const lone = readDateTime(bare.slice(weekday), order)
    if (lone !== undefined && lone.length === bare.length - weekday) {
      currentDate = lone.date
      continue
    }
    recent = [...recent.slice(-2), { text: trimmed, index, indented: /^\s{2,}\S/.test(line), headingBefore: pendingHeading }]
    if (looksLikeResult(line, labHeader !== undefined)) {
      unread.set(index, { page: positioned.page, line: positioned.line, text: trimmed.replace(/\s+/g, " ").slice(0, 300) })
    }
    const heading = readHeading(line)
    if (heading !== undefined) {
      pendingHeading = heading
      continue
    }
    if ((trimmed.match(/\p{L}+/gu)?.length ?? 0) >= 4) proseLines++
  }

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
    unreadLines: [...unread.values()]
  }
}

const makeTitle = (documentType: DocumentType, titles: ReadonlyArray<string>, vitals: ReadonlyArray<ParsedVital>): string => {
  switch (documentType) {
    case "lab_results": {
      if (titles.length === 0) return "Lab results"
      const shown = titles.slice(0, 4).join(", ")
      const title = titles.length > 4 ? `${shown} and more` : shown
      return title.length > 160 ? "Lab results" : title
    }
    case "vitals": {
      const days = vitals.map((v) => v.time.slice(0, 10)).sort()
      const first = days[0]
      const last = days[days.length - 1]
      if (first === undefined || last === undefined) return "Vital signs"
      return first === last ? `Vital signs, ${first}` : `Vital signs, ${first} to ${last}`
    }
    case "report":
      return "Medical report"
    case "other":
      return "Document"
  }
}
