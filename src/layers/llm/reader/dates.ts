/**
 * Dates and times as reports print them (2026-04-18, 04/18/2026, 18.04.2026, 18 Apr 2026,
 * 7:42 AM), the day/month order a document uses, and its collection date.
 */
import { anyOf } from "./text.js"

export const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

export const MONTH = String.raw`(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?`

export type DateOrder = "mdy" | "dmy"

export const pad2 = (n: number) => String(n).padStart(2, "0")

export const isoDate = (year: number, month: number, day: number): string | undefined => {
  if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31) return undefined
  const d = new Date(Date.UTC(year, month - 1, day))
  if (d.getUTCMonth() !== month - 1) return undefined
  return `${year}-${pad2(month)}-${pad2(day)}`
}

export const fullYear = (y: string) => (y.length === 2 ? 2000 + Number(y) : Number(y))

export interface DatePattern {
  readonly re: RegExp
  readonly read: (m: RegExpExecArray, order: DateOrder) => string | undefined
}

export const DATE_PATTERNS: ReadonlyArray<DatePattern> = [
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

export const monthDate = (year: string | undefined, month: string | undefined, day: string | undefined) => {
  const index = MONTHS.indexOf((month ?? "").slice(0, 3).toLowerCase())
  return index < 0 ? undefined : isoDate(Number(year), index + 1, Number(day))
}

export const TIME_RE = anyOf(
  [
    String.raw`(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?(?![\d:])`,
    // military time right after a date: "04/18/2026 0742"
    String.raw`([01]\d|2[0-3])([0-5]\d)(?=\s|$)`
  ],
  (times) => String.raw`^(?:at\s+|@\s*|,\s*|\/\s*|-\s*|T)?(?:${times})`,
  "i"
)

export const readTime = (s: string): { readonly time: string; readonly length: number } | undefined => {
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
export const findDateTime = (s: string, order: DateOrder) => {
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && /[\p{L}\p{N}]/u.test(s[i - 1] ?? "")) continue
    const found = readDateTime(s.slice(i), order)
    if (found !== undefined) return found
  }
  return undefined
}

export const detectDateOrder = (text: string): DateOrder => {
  if (/\bhaem|\bNHS\b|\bFBC\b|\bU\s*&\s*Es?\b|\bcolou?r\b.*\bcolour\b|\bcolour\b/i.test(text)) return "dmy"
  for (const m of text.matchAll(/(?<![\d/])(\d{1,2})\/(\d{1,2})\/\d{2,4}(?![\d/])/g)) {
    if (Number(m[1]) > 12) return "dmy"
    if (Number(m[2]) > 12) return "mdy"
  }
  return "mdy"
}

export const COLLECTED_RE = anyOf(
  [
    String.raw`specimen\s+collected|date\s+collected|collected(?:\s+(?:on|at|date))?`,
    String.raw`collection(?:\s+(?:date|time|date\s*\/\s*time|date\s+and\s+time))?`,
    String.raw`date\s+of\s+(?:collection|service)|service\s+date|sample\s+(?:taken|date|collected)|date\s+drawn|drawn(?:\s+on)?`
  ],
  (keys) => String.raw`\b(?:${keys})\s*[:#=-]?\s*(?:on\s+|at\s+)?`,
  "gi"
)

export const findCollectedAt = (line: string, order: DateOrder): string | undefined => {
  for (const m of line.matchAll(COLLECTED_RE)) {
    const found = readDateTime(line.slice((m.index ?? 0) + m[0].length), order)
    if (found !== undefined) return found.iso
  }
  return undefined
}
