/**
 * The days and times of diaries and charts: a day printed without its year, a time written with a
 * dot or an "h", the time a diary line starts with and the times inside it.
 */
import { clockTime, type DateOrder, isoDate, monthEndDate, monthNumber } from "./dates.js"

/** The document's latest full date, or a way to find it when first needed. */
export type LatestDate = string | undefined | (() => string | undefined)

/**
 * A day and month without a year ("Mon 06/04", "06.04."), in the year that puts it on or before the
 * document's latest full date (a diary is written before it is printed): with 2026-05-28 the latest,
 * "06/04" is 2026-04-06 (day first unless the document writes month first; always with a dot: "02.11.").
 */
export const dayWithoutYear = (cell: string, order: DateOrder, latest: LatestDate): string | undefined => {
  const m = /(?:^|\s)(\d{1,2})([/.])(\d{1,2})\.?$/.exec(cell)
  // or the month in words after the day: "27 ott", "mar 27 ott", "1. Nov."
  const named = m === null ? /(?:^|\s)(\d{1,2})\.?\s+(\p{L}{3,10})\.?$/u.exec(cell) : null
  const namedMonth = named === null ? undefined : monthNumber(named[2] ?? "")
  // or the day of the month alone after its weekday ("Mon 9th", "Wed 11"), in the month of the document's latest date
  const dayAlone = m === null && namedMonth === undefined ? /^\p{L}{2,9}\.?,?\s+(\d{1,2})\s?(?:st|nd|rd|th|\.)?$/u.exec(cell.trim()) : null
  if (m === null && namedMonth === undefined && dayAlone === null) return undefined
  // asked for only now: finding the document's latest date scans every line
  const latestDate = typeof latest === "function" ? latest() : latest
  if (latestDate === undefined) return undefined
  if (dayAlone !== null) {
    const day = Number(dayAlone[1])
    const [y, mo] = [Number(latestDate.slice(0, 4)), Number(latestDate.slice(5, 7))]
    const inMonth = isoDate(y, mo, day)
    if (inMonth !== undefined && inMonth <= latestDate.slice(0, 10)) return inMonth
    return mo === 1 ? isoDate(y - 1, 12, day) : isoDate(y, mo - 1, day)
  }
  const [a, b] = m === null ? [Number(named?.[1]), namedMonth ?? 0] : [Number(m[1]), Number(m[3])]
  // a dot between day and month is European, day first: "02.11."; a slashed pair that could be either is read in the
  // month a document names with its year ("Month: December 2026" … "Tue 01/12"), when only one reading falls in it
  // (the latest date is then that month's last day)
  const latestMonth = Number(latestDate.slice(5, 7))
  const monthEnd = monthEndDate(Number(latestDate.slice(0, 4)), latestMonth)
  const monthFirst = m !== null && order === "mdy" && m[2] === "/"
  const either = m !== null && m[2] === "/" && a <= 12 && b <= 12 && a !== b && monthEnd === latestDate.slice(0, 10)
  const flip = either && (monthFirst ? a : b) !== latestMonth && (monthFirst ? b : a) === latestMonth
  const [first, second] = monthFirst !== flip ? [b, a] : [a, b]
  // a month over 12 is the day: "12/30" is the 30th of December whatever order the document was guessed to write
  const [day, month] = m !== null && m[2] === "/" && second > 12 && first <= 12 ? [second, first] : [first, second]
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined
  const year = Number(latestDate.slice(0, 4))
  const iso = (y: number) => `${y}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`
  // in the latest date's year unless that puts it more than two months after it ("1월 13일" after a period that starts on
  // "2026년 1월 12일" is 2026; "28/12" in a diary printed on 2026-01-05 is 2025)
  const limit = new Date(Date.UTC(year, Number(latestDate.slice(5, 7)) - 1, Number(latestDate.slice(8, 10)) + 62)).toISOString().slice(0, 10)
  return iso(year) <= limit ? iso(year) : iso(year - 1)
}

/** A time written with a dot or an "h", or with "am"/"pm" and maybe no minutes: "07.35", "7h35", "19.50", "7.15am", "10pm". */
export const dottedTime = (cell: string): string | undefined => {
  const m = /^(\d{1,2})(?:[.h:](\d{2}))?\s*(?:([ap])\.?m\.?)?$/i.exec(cell)
  // a bare number is no time: "7" needs its "am" ("7am"), "07.35" its minutes
  if (m === null || (m[2] === undefined && m[3] === undefined)) return undefined
  return clockTime(Number(m[1]), Number(m[2] ?? 0), m[3])
}

/** Times inside a line: "07:05", "9.15 pm", "21h40"; not "04/18/2026" nor "128.55" (three digits before the mark). */
export const TIME_IN_LINE_RE = /(?<![\d/.:-])(\d{1,2})[:.h](\d{2})(?:\s*([ap])\.?m\.?)?(?![\d/:])/gi

/** A reading that starts with its time: "07:05  128/84 mmHg, pulse 72", "9.15 pm 131/86 mmHg", "21h40 139/88"; not "07:05" alone. */
export const LEADING_TIME_RE = /^\s*(\d{1,2})[:.h](\d{2})(?:\s*([ap])\.?m\.?)?(?=\s)/i

/** The time a diary line starts with, as HH:MM, or undefined. */
export const leadingTime = (line: string): { readonly time: string; readonly length: number } | undefined => {
  const m = LEADING_TIME_RE.exec(line)
  if (m === null) return undefined
  // a dotted pair before a time is the day, not a time: "13.05  00:30  146/84" (a chart's date and time columns)
  if (/^\s*\d{1,2}\.\d{2}$/.test(m[0]) && /^\s+\d{1,2}[:h]\d{2}(?!\d)/.test(line.slice(m[0].length))) return undefined
  const time = clockTime(Number(m[1]), Number(m[2]), m[3])
  return time === undefined ? undefined : { time, length: m[0].length }
}
