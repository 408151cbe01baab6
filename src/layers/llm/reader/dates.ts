/**
 * Dates and times as reports print them (2026-04-18, 04/18/2026, 18.04.2026, 18 Apr 2026,
 * 7:42 AM), the day/month order a document uses, and its collection date.
 */
import { anyOf } from "./text.js"

/** Month abbreviations in calendar order: the index + 1 is the month number. */
export const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

/** A month name, abbreviated or not. Examples: "Apr", "apr.", "Sept", "September". */
export const MONTH = String.raw`(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?`

/** Whether an ambiguous 04/05/2026 is month-first (US) or day-first. */
export type DateOrder = "mdy" | "dmy"

/** Two digits: 7 → "07". */
export const pad2 = (n: number) => String(n).padStart(2, "0")

/**
 * HH:MM for an hour and minute as printed, with "a"/"p" for am/pm ("9:10p" → 21:10, "12 am" → 00:00), or undefined
 * when there is no such time (25:00, 13 pm, 07:61).
 */
export const clockTime = (hour: number, minute: number, half?: string | undefined): string | undefined => {
  const h = half?.toLowerCase()
  if (h !== undefined && (hour < 1 || hour > 12)) return undefined
  const hour24 = h === "p" && hour < 12 ? hour + 12 : h === "a" && hour === 12 ? 0 : hour
  return hour24 > 23 || minute > 59 ? undefined : `${pad2(hour24)}:${pad2(minute)}`
}

/** YYYY-MM-DD for a real calendar date (no 31 April), else undefined. */
export const isoDate = (year: number, month: number, day: number): string | undefined => {
  if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31) return undefined
  const d = new Date(Date.UTC(year, month - 1, day))
  if (d.getUTCMonth() !== month - 1) return undefined
  return `${year}-${pad2(month)}-${pad2(day)}`
}

/** The last day of a month, as an ISO date: (2026, 2) → "2026-02-28"; undefined for no month. */
export const monthEndDate = (year: number, month: number): string | undefined =>
  month >= 1 && month <= 12 ? isoDate(year, month, new Date(Date.UTC(year, month, 0)).getUTCDate()) : undefined

/** A two-digit year is this century: "26" → 2026. */
export const fullYear = (y: string) => (y.length === 2 ? 2000 + Number(y) : Number(y))

/** One way to print a date and how to read its parts. */
export interface DatePattern {
  readonly re: RegExp
  readonly read: (m: RegExpExecArray, order: DateOrder) => string | undefined
}

/** The date shapes tried, in order, at the start of a string. */
export const DATE_PATTERNS: ReadonlyArray<DatePattern> = [
  {
    // year first: "2026-04-18", "2026/4/8", "2026.04.18"; not "2026-04-180"
    re: /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)/,
    read: (m) => isoDate(Number(m[1]), Number(m[2]), Number(m[3]))
  },
  {
    // year last, same separator twice: "04/18/2026", "18.04.2026", "4-8-26"; not "04/18-2026" nor "1/2/3/4"
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
    // day, month name, year: "18 Apr 2026", "18th April, 2026", "18-Apr-2026", and in other languages: "2 nov 2026",
    // "12 ott 2026", "3. März 2026", "5 de mayo de 2026"
    re: /^(\d{1,2})(?:st|nd|rd|th|\.)?[\s-]+(?:de\s+)?(\p{L}{3,10}\.?)[\s,-]+(?:de\s+)?(\d{4})(?!\d)/iu,
    read: (m) => monthDate(m[3], m[2], m[1])
  },
  {
    // year, month and day with their characters (Japanese, Chinese, Korean): "2026年12月14日", "2026년 1월 12일"
    re: /^(\d{4})\s?[年년]\s?(\d{1,2})\s?[月월]\s?(\d{1,2})\s?[日일]/,
    read: (m) => isoDate(Number(m[1]), Number(m[2]), Number(m[3]))
  },
  {
    // month name, day, year: "Apr 18, 2026", "April 18th 2026"
    re: new RegExp(String.raw`^(${MONTH})\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)`, "i"),
    read: (m) => monthDate(m[3], m[1], m[2])
  }
]

/** The ISO date for a month name ("Apr", "april") with a year and a day, else undefined. */
export const monthDate = (year: string | undefined, month: string | undefined, day: string | undefined) => {
  const index = MONTHS.indexOf((month ?? "").slice(0, 3).toLowerCase())
  // English first ("Mar" is March), then the other languages ("ott", "März", "mayo")
  const number = index >= 0 ? index + 1 : monthNumber(month ?? "")
  return number === undefined ? undefined : isoDate(Number(year), number, Number(day))
}

/**
 * A time at the start of a string, with an optional lead. Examples: "7:42 AM", "07:42:10", "at 7:42 p.m.",
 * "T07:42", ", 14:05", "0742 " (military: a space or the end must follow); not "7:425" nor "2460".
 */
export const TIME_RE = anyOf(
  [
    // (the mark of the half day may be followed by a colon: "9:40 pm: 139/88")
    String.raw`(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])(?:\s*([ap])\.?m\.?(?![a-z]))?`,
    // military time right after a date: "04/18/2026 0742"
    String.raw`([01]\d|2[0-3])([0-5]\d)(?=\s|$)`
  ],
  (times) => String.raw`^(?:at\s+|@\s*|,\s*|\/\s*|-\s*|T)?(?:${times})`,
  "i"
)

/** The 24-hour time (HH:MM, or HH:MM:SS when seconds are not zero) at the start of `s`, and its length. */
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
    // the whitespace between the date and a time: "  7:42" → 2
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
    // only at a word start: no letter or digit ("a", "é", "7") just before
    if (i > 0 && /[\p{L}\p{N}]/u.test(s[i - 1] ?? "")) continue
    const found = readDateTime(s.slice(i), order)
    if (found !== undefined) return { ...found, start: i }
  }
  return undefined
}

/**
 * Month names in the languages reports come in, by month number: English, German, French, Spanish, Italian, Portuguese,
 * Dutch, Scandinavian, Indonesian, Russian, Polish, Czech (with the genitive a date uses: "3 ноября", "12 listopada"),
 * Turkish, Romanian.
 */
const MONTH_NAMES: ReadonlyArray<ReadonlyArray<string>> = [
  ["january", "januar", "jänner", "janvier", "enero", "gennaio", "janeiro", "januari", "январь", "января", "styczeń", "stycznia", "leden", "ledna", "ocak", "ianuarie"],
  ["february", "februar", "février", "fevrier", "febrero", "febbraio", "fevereiro", "februari", "февраль", "февраля", "luty", "lutego", "únor", "února", "şubat", "subat", "februarie"],
  ["march", "märz", "maerz", "mars", "marzo", "março", "marco", "maart", "март", "марта", "marzec", "marca", "březen", "března", "mart", "martie", "maret"],
  ["april", "avril", "abril", "aprile", "апрель", "апреля", "kwiecień", "kwietnia", "duben", "dubna", "nisan", "aprilie"],
  ["may", "mai", "mayo", "maggio", "maio", "mei", "май", "мая", "maj", "maja", "květen", "května", "mayıs", "mayis"],
  ["june", "juni", "juin", "junio", "giugno", "junho", "июнь", "июня", "czerwiec", "czerwca", "červen", "června", "haziran", "iunie"],
  ["july", "juli", "juillet", "julio", "luglio", "julho", "июль", "июля", "lipiec", "lipca", "červenec", "července", "temmuz", "iulie"],
  ["august", "août", "aout", "agosto", "augustus", "август", "августа", "sierpień", "sierpnia", "srpen", "srpna", "ağustos", "agustos", "agustus"],
  ["september", "septembre", "septiembre", "settembre", "setembro", "сентябрь", "сентября", "wrzesień", "września", "září", "eylül", "eylul", "septembrie"],
  ["october", "oktober", "octobre", "octubre", "ottobre", "outubro", "октябрь", "октября", "październik", "października", "říjen", "října", "ekim", "octombrie"],
  ["november", "novembre", "noviembre", "novembro", "ноябрь", "ноября", "listopad", "listopada", "listopadu", "kasım", "kasim", "noiembrie"],
  ["december", "dezember", "décembre", "decembre", "diciembre", "dicembre", "dezembro", "desember", "декабрь", "декабря", "grudzień", "grudnia", "prosinec", "prosince", "aralık", "aralik", "decembrie"]
]
const MONTH_NUMBER = new Map(MONTH_NAMES.flatMap((names, i) => names.map((name) => [name, i + 1] as const)))

/**
 * The month a word names, in any of those languages, written out or cut short: "November", "nov", "ott", "dic.",
 * "März", "juil"; undefined for a word that is no month or could be two ("ju").
 */
export const monthNumber = (word: string): number | undefined => {
  const w = word.toLowerCase().replace(/\.$/, "")
  const whole = MONTH_NUMBER.get(w)
  if (whole !== undefined) return whole
  if (w.length < 3) return undefined
  const months = new Set(MONTH_NAMES.flatMap((names, i) => (names.some((name) => name.startsWith(w)) ? [i + 1] : [])))
  return months.size === 1 ? [...months][0] : undefined
}

/** A month named with its year: "November 2026", "Monat: März 2026", "juin 2026"; not a day ("12 November 2026" is a date). */
const MONTH_YEAR_RE = /(?<![\p{L}\d]\s?)(\p{L}{3,12})\s+(\d{4})(?!\d)/gu

/** The last day of the latest month a line names with its year ("Monat: November 2026" → 2026-11-30), or undefined. */
export const monthYearEnd = (line: string): string | undefined => {
  let latest: string | undefined
  // "2026年10月" (Japanese, Chinese), "2026년 1월" (Korean)
  for (const m of line.matchAll(/(\d{4})\s?[年년]\s?(\d{1,2})\s?[月월](?!\s?\d{1,2}\s?[日일])/g)) {
    const [year, month] = [Number(m[1]), Number(m[2])]
    const end = monthEndDate(year, month)
    if (end !== undefined && (latest === undefined || end > latest)) latest = end
  }
  for (const m of line.matchAll(MONTH_YEAR_RE)) {
    // a month written out or cut short: "November 2026", "FEB 2026", "Sept. 2025"
    const month = monthNumber(m[1] ?? "")
    const year = Number(m[2])
    if (month === undefined || year < 1900 || year > 2200) continue
    const end = monthEndDate(year, month)
    if (end !== undefined && (latest === undefined || end > latest)) latest = end
  }
  return latest
}

/** Whether the document prints dates day-first (British words, a first number over 12, another language) or month-first. */
export const detectDateOrder = (text: string): DateOrder => {
  // British usage: "Haemoglobin", "NHS", "FBC", "U & Es", "colour"
  if (/\bhaem|\bNHS\b|\bFBC\b|\bU\s*&\s*Es?\b|\bcolou?r\b.*\bcolour\b|\bcolour\b/i.test(text)) return "dmy"
  // slashed dates: "18/04/2026", "4/18/26"; not inside "1/18/04/2026"
  for (const m of text.matchAll(/(?<![\d/])(\d{1,2})\/(\d{1,2})\/\d{2,4}(?![\d/])/g)) {
    if (Number(m[1]) > 12) return "dmy"
    if (Number(m[2]) > 12) return "mdy"
  }
  // no date says which: month first is American; a report written in another language ("Période : du 02/06/2026",
  // "Data pobrania", "Résultat") is day first. Letters with diacritics, five or more, tell the language apart.
  if ((text.match(/[àâäçéèêëîïôöùûüÿñáíóúãõåæøœßłśźżąęćńřčšžůěýşğı]/giu)?.length ?? 0) >= 5) return "dmy"
  return "mdy"
}

/**
 * The label before a collection date, with its separator. Examples: "Collected: ", "Specimen collected on ",
 * "Collection date: ", "Date drawn - ", "Sample taken at ".
 */
export const COLLECTED_RE = anyOf(
  [
    String.raw`specimen\s+collected|date\s+collected|collected(?:\s+(?:on|at|date))?`,
    String.raw`collection(?:\s+(?:date|time|date\s*\/\s*time|date\s+and\s+time))?`,
    String.raw`date\s+of\s+(?:collection|service)|service\s+date|sample\s+(?:taken|date|collected)|date\s+drawn|drawn(?:\s+on)?`
  ],
  (keys) => String.raw`\b(?:${keys})\s*[:#=-]?\s*(?:on\s+|at\s+)?`,
  "gi"
)

/** The collection date (and time) a line labels, as ISO 8601, or undefined. */
export const findCollectedAt = (line: string, order: DateOrder): string | undefined => {
  for (const m of line.matchAll(COLLECTED_RE)) {
    const found = readDateTime(line.slice((m.index ?? 0) + m[0].length), order)
    if (found !== undefined) return found.iso
  }
  return undefined
}
