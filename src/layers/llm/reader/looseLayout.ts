/**
 * What the vitals reader of last resort (looseVitals.ts) knows of a layout before it reads a line:
 * the names of the readings in the languages diaries are written in, the day a line is about, the
 * kinds a header line names and where, and the days and times of a chart with a column per day.
 */
import type { VitalKind } from "../../../services/llm.js"
import { BIRTH_RE } from "./metadata.js"
import { clockTime, type DateOrder, findDateTime, monthNumber } from "./dates.js"
import { notAReading, separatorOf } from "./vitalLike.js"
import { dayWithoutYear, type LatestDate } from "./vitalTimes.js"

/** Letters that have a case: a label glued to a CJK word is still a label ("体温37.8"), not one inside a Latin word. */
export const CASED = String.raw`\p{Lu}\p{Ll}`

/** The names of each kind, in the languages diaries and charts are written in. */
const LABELS: ReadonlyArray<readonly [VitalKind | "systolic" | "diastolic", string]> = [
  [
    "pulse",
    String.raw`pulse(?!\s*ox)(?:\s*rate)?|heart[\s_]*rate|hr|pr|p|pulso|puls|pols|pouls|pulso|polso|pulsazioni|fc|hf|herzfrequenz|t[ęe]tno|nab[ıi]z|nadi|pulsfrekvens|syke|чсс|пульс|脈拍?|脉搏|脉率|心率|心拍数?|맥박|심박수?`
  ],
  ["spo2", String.raw`pulse\s*ox(?:imeter|imetry)?|oximeter|spo2|sp02|sao2|o2\s*sat(?:uration)?|sat(?:uration|ura[çc][ãa]o|uraci[óo]n|urazione)?|oxygen\s*saturation|blood\s*oxygen|血氧(?:饱和度)?|酸素飽和度|산소\s*포화도|сатурация|сат`],
  [
    "temperature",
    String.raw`body\s*temperature|temp(?:erature|[ée]rature|eratura|eratur)?\.?|t\.?\s?[ªº°]|t|tª|fieber|fever|k[öo]rpertemperatur|teplota|suhu|ate[şs]|体温|체온|температура|темп\.?`
  ],
  ["weight", String.raw`body\s*(?:weight|mass)|weight|wt|wajan|vajan|vazan|peso|poids|gewicht|waga|berat|vikt|v[æa]gt|vekt|hmotnost|masa\s+cia[łl]a|вес|体重|체중`],
  ["systolic", String.raw`sys(?:tolic|tolique|tolisch)?|sbp|sist[óo]lica|skurczowe|上|收缩压|収縮期|수축기|верхнее|сист\.?`],
  ["diastolic", String.raw`dia(?:stolic|stolique|stolisch)?|dbp|diast[óo]lica|rozkurczowe|下|舒张压|拡張期|이완기|нижнее|диаст\.?`]
]
export const LABEL_RES = LABELS.map(([kind, words]) => [kind, new RegExp(String.raw`(?<![${CASED}])(?:${words})(?![${CASED}])`, "giu")] as const)

/** A number a vital sign can be written with: "72", "37,2", "78.4"; not a time ("7:30"), a date ("11/3") or a pressure. */
export const NUMBER = String.raw`(?<![\d.,:/])\d{2,3}(?:[.,]\d{1,2})?(?![\d:/]|[.,]\d|\s*(?:→|->|=>)\s*\d)`
/** A value a few characters after a name: ": 72", " = 37,2", " (tympanic) 37.9". */
export const VALUE_AFTER_NAME_RE = new RegExp(String.raw`^[^\d\n]{0,12}?(${NUMBER})`, "u")

/** Times on a line: "7:30", "07.35", "21h40", "6:45a", "9:10 pm"; not "37.2" (no such hour) nor "78.40 kg". */
// (or an hour alone with "am"/"pm" or an "h": "7 am", "10 pm", "(19h)")
// (seconds after the minutes: "2026-03-09T07:03:55+01:00")
const TIME_RE = /(?<![\d/.:,+-])(\d{1,2})(?:[:.h](\d{2})(?::\d{2}(?:\.\d+)?)?(?:\s*([ap])(?:\.?m\.?)?(?![\p{L}]))?|h(?![\p{L}\d])|\s?([ap])\.?m\.?(?![\p{L}]))(?![\d/:])(?!\s*(?:kg|lbs?|°|℃|%))/giu

export interface Mark {
  readonly at: number
  readonly time: string
}

export const timesOf = (line: string): ReadonlyArray<Mark> =>
  [...line.matchAll(TIME_RE)].flatMap((m) => {
    const time = clockTime(Number(m[1]), Number(m[2] ?? 0), m[3] ?? m[4])
    return time === undefined ? [] : [{ at: m.index ?? 0, time }]
  })


/**
 * The day a line is about, when it starts with one ("3.11. пн", "Mon 11/3", "1月8日", "1월 12일(월)", "Nov 3",
 * "Tue 3rd") or holds a full date anywhere ("2025-11-03 07:30", "Datum: 03.11.2025").
 */
export const dayOfLine = (line: string, order: DateOrder, latest: LatestDate): string | undefined => {
  if (BIRTH_RE.test(line)) return undefined
  const head = line.replace(/^[\s|│┃•*#>-]+/, "").slice(0, 40)
  // a month and day with their characters: "1月8日", "1월 12일"
  const cjk = /^(?:(\d{4})\s?[年년]\s?)?(\d{1,2})\s?[月월]\s?(\d{1,2})\s?[日일]/.exec(head)
  if (cjk !== null) {
    if (cjk[1] !== undefined) return `${cjk[1]}-${(cjk[2] ?? "").padStart(2, "0")}-${(cjk[3] ?? "").padStart(2, "0")}`
    return dayWithoutYear(`${cjk[3]}.${cjk[2]}.`, order, latest)
  }
  const full = findDateTime(line.slice(0, 200), order)
  if (full !== undefined) return full.date
  // a day and month: "3.11.", "Mon 11/3", "Mittwoch, 11.11.", "Sem. 19  seg 01/12" (words may stand before it; not a
  // value: "12.5 kg")
  // (with a dot, only with the dot after the month: "3.11." is a day, "7.5 mL" a dose)
  const numeric = /(?<![\d/.,:])(\d{1,2}\/\d{1,2}|\d{1,2}\.\d{1,2}\.)(?![\d/.,:]|\s*(?:kg|lbs?|°|℃|%|mm|cm))/u.exec(head.slice(0, 24))
  const numericDay = numeric === null ? undefined : dayWithoutYear(numeric[1] ?? "", order, latest)
  if (numericDay !== undefined) return numericDay
  // a chart's row that starts with its day and then its time: "13.05  00:30  146/84" (a day, not 13.05 of something)
  const rowDay = /^(\d{1,2}\.\d{1,2})\s+(?=\d{1,2}[:.h]\d{2}(?!\d))/.exec(head)
  if (rowDay !== null) return dayWithoutYear(`${rowDay[1]}.`, order, latest)
  // a month named before the day: "Nov 3", "Tue, Nov 3rd"
  const monthFirst = /^(?:\p{L}{2,10}\.?,?\s+)?(\p{L}{3,12})\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?![\d:./])/u.exec(head)
  const month = monthFirst === null ? undefined : monthNumber(monthFirst[1] ?? "")
  if (monthFirst !== null && month !== undefined) return dayWithoutYear(`${monthFirst[2]}.${month}.`, order, latest)
  // a day before its month in words ("3 ноября", "27 ott"), or a day after its weekday ("Tue 3rd")
  const named = /^(?:\p{L}{2,10}\.?,?\s+)?(\d{1,2})(?:st|nd|rd|th)?\.?\s+(\p{L}{3,12})\.?(?![\p{L}])/u.exec(head)
  if (named !== null && monthNumber(named[2] ?? "") !== undefined) return dayWithoutYear(`${named[1]}.${monthNumber(named[2] ?? "")}.`, order, latest)
  const ordinal = /^(\p{L}{2,9}\.?,?\s+\d{1,2}(?:st|nd|rd|th))(?![\p{L}\d])/u.exec(head)
  if (ordinal !== null) return dayWithoutYear(ordinal[1] ?? "", order, latest)
  return undefined
}

/** Characters printed two columns wide in a monospaced text: Chinese, Japanese and Korean letters, full-width forms. */
const WIDE_RE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff01-\uff60\uffe0-\uffe6]/u

/** Where each character of a line is printed, in columns: a wide character takes two ("日期  时间" lines up with "1月8日  07:30"). */
export const columnsOf = (line: string): ReadonlyArray<number> => {
  const columns: Array<number> = []
  let column = 0
  for (const ch of line) {
    for (let i = 0; i < ch.length; i++) columns.push(column)
    column += WIDE_RE.test(ch) ? 2 : 1
  }
  columns.push(column)
  return columns
}

/** A label of a header line and where it is printed (in columns). */
export interface HeaderLabel {
  /** "other": a column the reader does not show ("RF", "NEWS2", "Smerte"), so that no number under it is taken for another. */
  readonly kind: VitalKind | "systolic" | "diastolic" | "other"
  readonly start: number
  readonly end: number
  /** In a CSV or tab-separated header, the cell it names (0-based). */
  readonly cell?: number
}

/** The kinds a line names and where ("日期  时间  血氧饱和度SpO2(%)  脉率(次/分)  体温(℃)"), when it names two or more and holds no reading. */
export const headerLabels = (line: string): ReadonlyArray<HeaderLabel> | undefined => {
  // a data export's header names one kind per cell ("timestamp,device,weight_kg,systolic,diastolic,heart_rate")
  const separator = separatorOf(line)
  if (separator !== undefined && !/\d{2}/.test(line.replace(/spo2|sp02|sao2|o2/gi, ""))) {
    const cells = line.split(separator).map((cell) => cell.replace(/_/g, " ").trim())
    const named = cells.flatMap((cell, index) => {
      const label = LABEL_RES.find(([, re]) => [...cell.matchAll(re)].some((m) => (m.index ?? 0) === 0 && m[0].length > 1))
      return label === undefined ? [] : [{ kind: label[0], start: 0, end: 0, cell: index }]
    })
    if (new Set(named.map((l) => l.kind)).size >= 2) return named
  }
  // a header holds no value: two digits in a row outside brackets and names ("SpO2", "(%)") are a reading
  if (/\d{2}/.test(line.replace(/\([^)]*\)|（[^）]*）|\[[^\]]*\]|spo2|sp02|sao2|o2/gi, ""))) return undefined
  const labels: Array<HeaderLabel> = []
  for (const [kind, re] of LABEL_RES) {
    for (const m of line.matchAll(re)) {
      const start = m.index ?? 0
      // one label per place: "SpO2" is not also "sat"; single letters ("p", "t") only as a column of their own
      if (labels.some((l) => start < l.end && start + m[0].length > l.start)) continue
      if (m[0].length === 1 && !/^\s*$/.test(line.slice(start + 1, start + 2)) && start + 1 < line.length) continue
      labels.push({ kind, start, end: start + m[0].length })
    }
  }
  if (new Set(labels.map((l) => l.kind)).size < 2) return undefined
  // every other word of the header is a column of something else
  for (const m of line.matchAll(/[\p{L}\p{N}][\p{L}\p{N}.%°/]*/gu)) {
    const start = m.index ?? 0
    if (!labels.some((l) => start < l.end && start + m[0].length > l.start)) labels.push({ kind: "other", start, end: start + m[0].length })
  }
  const columns = columnsOf(line)
  for (const [i, label] of labels.entries()) labels[i] = { ...label, start: columns[label.start] ?? label.start, end: columns[label.end] ?? label.end }
  return labels.sort((a, b) => a.start - b.start)
}

/**
 * Does the line name a vital sign with a value after it, in any of the names above ("HeartRate, 64, count/min",
 * "ЧСС 78", "体温 37.8")? Such a line is read here even when vitalWords.ts does not know the name.
 */
export const namesReading = (line: string): boolean =>
  !notAReading(line) &&
  LABEL_RES.some(([, re]) => [...line.matchAll(re)].some((m) => m[0].length > 1 && VALUE_AFTER_NAME_RE.test(line.slice((m.index ?? 0) + m[0].length))))

/** A weekday, cut short or not, in the languages charts are printed in: "Mon", "Tue.", "lun", "Mi", "seg", "пн". */
const WEEKDAY_RE = /^(?:mon|tue|wed|thu|fri|sat|sun|lun|mar|mer|jeu|ven|sam|dim|mi[ée]|jue|vie|s[áa]b|dom|mo|di|mi|do|fr|sa|so|seg|ter|qua|qui|sex|pon|wt|[śs]r|czw|pt|sob|ndz|пн|вт|ср|чт|пт|сб|вс)\p{L}*\.?,?$/iu

/** A chart's column: where it is printed (in columns) and the day or time it holds. */
export interface GridColumn {
  readonly center: number
  readonly value: string
}

/** The cells of a line: runs of text split by two spaces or more, a tab or a rule ("Mon 9    Tue 10" → "Mon 9", "Tue 10"). */
const cellsOf = (line: string) => [...line.matchAll(/[^\s|│┃]+(?: [^\s|│┃]+)*/gu)].map((m) => ({ text: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }))

/**
 * The days of a chart printed with a column per day or visit ("Mon 9   Tue 10   Wed 11", "09/03  10/03  11/03",
 * "1月8日  1月9日  1月10日"): three cells or more that are each a day.
 */
export const gridDays = (line: string, order: DateOrder, latest: LatestDate): ReadonlyArray<GridColumn> | undefined => {
  const columns = columnsOf(line)
  const days = cellsOf(line).flatMap((cell) => {
    if (cell.text.length > 18) return []
    const weekday = /^(\p{L}+\.?,?)\s+(\d{1,2})(?:st|nd|rd|th|\.)?$/u.exec(cell.text)
    const day =
      weekday !== null && WEEKDAY_RE.test(weekday[1] ?? "") ? dayWithoutYear(cell.text, order, latest) : /\p{L}{4,}/u.test(cell.text) ? undefined : dayOfLine(cell.text, order, latest)
    return day === undefined ? [] : [{ center: ((columns[cell.start] ?? cell.start) + (columns[cell.end] ?? cell.end)) / 2, value: day }]
  })
  return days.length >= 3 ? days : undefined
}

/** The times of a chart's columns ("AM time   07:00   06:55   07:10"): three or more, and no pressure on the line. */
export const gridTimes = (line: string): ReadonlyArray<GridColumn> | undefined => {
  if (/\d{2,3}\s?[/x×]\s?\d{2,3}/.test(line)) return undefined
  const columns = columnsOf(line)
  const times = timesOf(line).map((mark) => ({ center: (columns[mark.at] ?? mark.at) + 2.5, value: mark.time }))
  return times.length >= 3 ? times : undefined
}

/** A chart's column days and, when a row of times was printed under them, its times. */
export interface Grid {
  readonly days: ReadonlyArray<GridColumn>
  readonly times?: ReadonlyArray<GridColumn> | undefined
}

export const nearest = (columns: ReadonlyArray<GridColumn>, at: number, within: number): GridColumn | undefined => {
  let best: GridColumn | undefined
  for (const column of columns) if (best === undefined || Math.abs(column.center - at) < Math.abs(best.center - at)) best = column
  return best !== undefined && Math.abs(best.center - at) <= within ? best : undefined
}
