/**
 * Vital signs: tables with a row per reading, flowsheets with a column per visit, diaries
 * ("07:05  128/84 mmHg, pulse 72" under a date line) and inline readings ("BP 128/84").
 */
import type { VitalKind } from "../../../services/llm.js"
import { looksLikeCsv, looksLikeSemicolonCsv, type Separator, splitCells } from "./columns.js"
import { clockTime, type DateOrder, isoDate, monthEndDate, monthNumber, readDateTime, readTime } from "./dates.js"
import { anyOf } from "./text.js"
import type { ParsedVital } from "./types.js"

/** What a column of a vitals table holds: a date or time, a measurement (with its unit), or something else. */
export type VitalColumn =
  | { readonly kind: "date" | "time" | "datetime" | "other" }
  | { readonly kind: "measure"; readonly vital: VitalKind | "systolic" | "diastolic"; readonly unit?: string }

/** A vitals table header: its separator and its columns, where each starts and ends. */
export interface VitalsHeader {
  readonly separator: Separator
  readonly columns: ReadonlyArray<{ readonly column: VitalColumn; readonly start: number; readonly end: number }>
}

/**
 * A vitals column label at `lastIndex` (sticky), with its unit. Examples: "Date/Time", "Systolic", "BP", "Heart rate",
 * "Weight(kg)", "Temp (°F)", "SpO2 (%)"; not "Pulses" (the label ends at a word boundary).
 */
/**
 * The names of the readings in the languages diaries and charts come in (checked in this order):
 * blood pressure ("RR", the German Riva-Rocci, and "TA"/"PA" count only with a pressure beside them), pulse,
 * temperature, weight, date, time.
 */
const BP_WORDS = String.raw`tekanan\s+darah|top\s*\/\s*bottom|upper\s*\/\s*lower|sys\s*\/\s*dia|blutdruck|rr|tension(?:\s+art[ée]rielle)?|ta|pa|pression\s+art[ée]rielle|presi[óo]n\s+arterial|tensi[óo]n\s+arterial|press[ãa]o\s+arterial|pressione(?:\s+arteriosa)?|bloeddruk|ci[śs]nienie|krevn[íi]\s+tlak|tlak|tansiyon|blodtryck|blodtryk`
const PULSE_WORDS = String.raw`puls|pols|pouls|pulso|polso|pulsazioni|nadi|t[ęe]tno|nab[ıi]z|herzfrequenz|fr[ée]quence\s+cardiaque|frecuencia\s+card[íi]aca|frequ[êe]ncia\s+card[íi]aca|frequenza\s+cardiaca|hartslag|fc|hf`
const TEMP_WORDS = String.raw`suhu|temperatur|k[öo]rpertemperatur|teplota|ate[şs]`
const WEIGHT_WORDS = String.raw`masa\s+(?:cia[łl]a|corporal)|berat|gewicht|k[öo]rpergewicht|poids|peso|waga|hmotnost|vikt|v[æa]gt|kilo`
/** Systolic and diastolic pressure: "Systolique", "systolisch", "sistólica", "skurczowe", "bovendruk". */
const SYS_WORDS = String.raw`systolique|systolisch|sist[óo]lica|sistolica|systolick[ýy]|skurczowe|bovendruk|sistolik|systoliskt?`
const DIA_WORDS = String.raw`diastolique|diastolisch|diast[óo]lica|diastolica|diastolick[ýy]|rozkurczowe|onderdruk|diyastolik|diastoliskt?`
/** A date column, or a day's ("Jour", "Tag", "Día"): the day's date is in its cells. */
const DATE_WORDS = String.raw`datum|fecha|data|tarih|tarikh|dato|day|jour|tag|d[íi]a|giorno|dag|dzie[ńn]|den|g[üu]n`
const TIME_WORDS = String.raw`uhrzeit|zeit|heure|hora|ora|tijd|godzina|[čc]as|saat|tid|klokken|masa|waktu`

const BP_KEY_RE = new RegExp(`^(?:${BP_WORDS})$`, "i")
const TEMP_NAMED_RE = new RegExp(String.raw`(?<![\p{L}])(?:${TEMP_WORDS})(?![\p{L}])`, "iu")
const SYS_KEY_RE = new RegExp(`^(?:${SYS_WORDS})$`, "i")
const DIA_KEY_RE = new RegExp(`^(?:${DIA_WORDS})$`, "i")
/** A blood pressure named in another language before its value: "RR 128/84", "TA: 128/84". */
const BP_NAMED_RE = new RegExp(String.raw`(?<![\p{L}])(?:${BP_WORDS})\s*[:=]?\s*\d{2,3}\s?\/\s?\d{2,3}`, "iu")
const PULSE_KEY_RE = new RegExp(`^(?:${PULSE_WORDS})$`, "i")
const TEMP_KEY_RE = new RegExp(`^(?:${TEMP_WORDS})$`, "i")
const WEIGHT_KEY_RE = new RegExp(`^(?:${WEIGHT_WORDS})$`, "i")
const DATE_KEY_RE = new RegExp(`^(?:${DATE_WORDS})$`, "i")
const TIME_KEY_RE = new RegExp(`^(?:${TIME_WORDS})$`, "i")

export const VITAL_HEADER_RE = anyOf(
  [
    String.raw`date\s*(?:\/|and|&)\s*time|date\/time|datetime|timestamp|date|time`,
    String.raw`systolic|sys|sbp|diastolic|dia|dbp|blood\s+pressure|bp|pulse|heart\s+rate|hr|weight|wt|body\s+weight`,
    String.raw`spo2|sp02|sao2|o2\s+sat(?:uration)?|oxygen(?:\s+saturation)?|saturation|sat|temp(?:erature)?`,
    String.raw`notes?|comments?|arm|position`,
    String.raw`${SYS_WORDS}|${DIA_WORDS}|${BP_WORDS}|${PULSE_WORDS}|${TEMP_WORDS}|${WEIGHT_WORDS}|${DATE_WORDS}|${TIME_WORDS}`
  ],
  // the label, then an optional unit in brackets ("Weight(kg)", "Temp (°F)") or after a space ("systolic mmHg", from "systolic_mmHg")
  (labels) => String.raw`(${labels})\b\s*(?:[([]\s*([^)\]]{1,12})\s*[)\]]|(?<=\s)(mmhg|bpm|kg|lbs?|°\s?[cf]|%)(?![\p{L}]))?`,
  "giy"
)

/** The column a header label and its bracketed unit name: "Weight" + "lbs" → weight in lb. */
export const columnFor = (label: string, unitText: string | undefined): VitalColumn => {
  // spaces collapsed (/\s+/g), then whole labels: "date and time", "sys", "heart rate", "o2 saturation", "temperature";
  // units by a letter: "lbs" lb, "Kg" kg, "°F" °F, "C" °C
  const l = label.toLowerCase().replace(/\s+/g, " ")
  const u = (unitText ?? "").trim()
  if (/^(?:date ?(?:\/|and|&) ?time|date\/time|datetime|timestamp)$/.test(l)) return { kind: "datetime" }
  if (l === "date" || DATE_KEY_RE.test(l)) return { kind: "date" }
  if (l === "time" || TIME_KEY_RE.test(l)) return { kind: "time" }
  if (/^(?:systolic|sys|sbp)$/.test(l) || SYS_KEY_RE.test(l)) return { kind: "measure", vital: "systolic" }
  if (/^(?:diastolic|dia|dbp)$/.test(l) || DIA_KEY_RE.test(l)) return { kind: "measure", vital: "diastolic" }
  if (/^(?:blood pressure|bp)$/.test(l) || BP_KEY_RE.test(l)) return { kind: "measure", vital: "blood_pressure" }
  if (/^(?:pulse|heart rate|hr)$/.test(l) || PULSE_KEY_RE.test(l)) return { kind: "measure", vital: "pulse" }
  if (/^(?:weight|wt|body weight)$/.test(l) || WEIGHT_KEY_RE.test(l)) {
    const unit = /lb/i.test(u) ? "lb" : /kg/i.test(u) ? "kg" : undefined
    return unit === undefined ? { kind: "measure", vital: "weight" } : { kind: "measure", vital: "weight", unit }
  }
  if (/^(?:spo2|sp02|sao2|o2 sat(?:uration)?|oxygen(?: saturation)?|saturation|sat)$/.test(l)) {
    return { kind: "measure", vital: "spo2", unit: "%" }
  }
  if (/^temp(?:erature)?$/.test(l) || TEMP_KEY_RE.test(l)) {
    const unit = /f/i.test(u) ? "°F" : /c/i.test(u) ? "°C" : undefined
    return unit === undefined ? { kind: "measure", vital: "temperature" } : { kind: "measure", vital: "temperature", unit }
  }
  return { kind: "other" }
}

/** `Date  Time  Systolic  Diastolic  Pulse  Weight(kg)  SpO2(%)  Temp(C)` in any order and spelling. */
export const readVitalsHeader = (raw: string): VitalsHeader | undefined => {
  // an app's export names its columns in snake case: "systolic_mmHg", "pulse_bpm" (same length, so positions hold)
  const line = raw.replace(/_/g, " ")
  // two digits in a row, outside brackets ("(kg)") and SpO2 / SaO2 / O2, are a reading, not a label
  if (/\d{2}/.test(line.replace(/\([^)]*\)|\[[^\]]*\]|spo2|sp02|sao2|o2/gi, ""))) return undefined
  const separator: Separator = line.includes("|") ? "pipe" : line.includes("\t") ? "tab" : looksLikeCsv(line) ? "comma" : "space"
  const columns: Array<{ column: VitalColumn; start: number; end: number }> = []
  let i = 0
  while (i < line.length) {
    // separators between labels: spaces, "|", ",", ";"
    const skip = /^[\s|,;]*/.exec(line.slice(i))?.[0].length ?? 0
    i += skip
    if (i >= line.length) break
    VITAL_HEADER_RE.lastIndex = i
    const m = VITAL_HEADER_RE.exec(line)
    if (m === null) {
      // an unknown column (e.g. "Notes", "Arm") is tolerated once; prose is not a header
      // the unknown word, up to a space, pipe, comma or semicolon: "Notes", "irregular"
      // (in a CSV, pipe or tab table the whole cell: "irregular heartbeat")
      const word = (separator === "space" ? /^[^\s|]+/ : /^[^|,;\t]+/).exec(line.slice(i))
      if (word === null) return undefined
      columns.push({ column: { kind: "other" }, start: i, end: i + word[0].length })
      i += word[0].length
      continue
    }
    columns.push({ column: columnFor(m[1] ?? "", m[2] ?? m[3]), start: i, end: i + m[0].length })
    i += m[0].length
  }
  const measures = columns.filter((c) => c.column.kind === "measure").length
  const times = columns.filter((c) => c.column.kind !== "measure" && c.column.kind !== "other").length
  const others = columns.filter((c) => c.column.kind === "other").length
  // a wide diary names more columns than it measures ("Wks  Date  Time  BP (mmHg)  Pulse  Urine dip  Symptoms  Init"):
  // up to two unknown words per known column (less two) once a date or time and two measures are named
  const tolerated = measures >= 2 && times >= 1 ? 2 * (measures + times) - 2 : 2
  if (others > tolerated || measures === 0 || measures + times < 2) return undefined
  return { separator, columns }
}

/** A cell of a vitals row and where it is on the line. */
export interface VitalToken {
  readonly text: string
  readonly start: number
  readonly end: number
}

/**
 * The cells of a space-separated vitals row, in order of preference: a date ("2026-04-18 07:42", "04/18/2026"), a time
 * ("7:42 AM"), a blood pressure ("128/84 mmHg"), a number with its unit ("36.8 °C", "98%", "74.6 kg", "72 bpm"), an
 * empty cell ("-", "N/A"), else any word.
 */
export const VITAL_TOKEN_RE = anyOf(
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

/** The cells of a vitals row: split by its separator, or read as tokens when it is spaced. */
export const vitalTokens = (line: string, separator: Separator): ReadonlyArray<VitalToken> => {
  if (separator !== "space") {
    return splitCells(line, separator).cells.map((c) => ({ text: c.text, start: c.start, end: c.end }))
  }
  return [...line.matchAll(VITAL_TOKEN_RE)].map((m) => ({ text: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }))
}

/**
 * Whether a reading is one a living person can have, in its unit: pulse 20–250 bpm, SpO2 50–100 %, temperature
 * 30–45 °C (86–113 °F), weight 0.5–400 kg (1–880 lb), systolic 50–300 over diastolic 20–200 mmHg.
 */
export const isPlausibleVital = (v: ParsedVital): boolean => {
  switch (v.kind) {
    case "pulse":
      return v.value >= 20 && v.value <= 250
    case "spo2":
      return v.value >= 50 && v.value <= 100
    case "temperature":
      return v.unit === "°F" ? v.value >= 86 && v.value <= 113 : v.value >= 30 && v.value <= 45
    case "weight":
      return v.unit === "lb" ? v.value >= 1 && v.value <= 880 : v.value >= 0.5 && v.value <= 400
    case "blood_pressure":
      return v.value >= 50 && v.value <= 300 && (v.diastolic === undefined || (v.diastolic >= 20 && v.diastolic <= 200 && v.diastolic < v.value))
  }
}

/**
 * One reading printed in two units on its line ("36,8 °C (98,2 °F)", "103.1 F (39.5 C)", "78,9 kg (173,9 lb)") is one
 * reading, in °C or kg: the °F or lb twin of a reading of the same kind, line and time (the same value converted,
 * within 0.3) is left out.
 */
export const withoutUnitTwins = <V extends ParsedVital>(vitals: ReadonlyArray<V>): Array<V> => {
  const inMetric = (v: ParsedVital) => (v.unit === "°F" ? ((v.value - 32) * 5) / 9 : v.unit === "lb" ? v.value * 0.45359237 : v.value)
  const twinOf = (v: V) =>
    vitals.some((o) => o !== v && o.kind === v.kind && o.unit !== v.unit && o.line === v.line && o.page === v.page && o.time === v.time && Math.abs(inMetric(o) - inMetric(v)) <= 0.3)
  return vitals.filter((v) => (v.unit !== "°F" && v.unit !== "lb") || !twinOf(v))
}

/**
 * A pair printed without a name or unit that can only be a blood pressure: systolic 60–260 over a lower diastolic 30–160
 * (never a date: "12/05" has no systolic of 12).
 */
export const isBarePressure = (systolic: number, diastolic: number): boolean =>
  systolic >= 60 && systolic <= 260 && diastolic >= 30 && diastolic <= 160 && systolic > diastolic

/** A blood pressure reading, in mmHg. */
export const bloodPressure = (time: string, systolic: number, diastolic: number): ParsedVital => ({
  kind: "blood_pressure",
  time,
  value: systolic,
  diastolic,
  unit: "mmHg"
})

/** The number a vitals cell starts with: "36,8 °C" → 36.8, "72 bpm" → 72, "-" → undefined. */
export const vitalNumber = (text: string): number | undefined => {
  const m = /^[-+]?\d+(?:[.,]\d+)?/.exec(text.trim())
  if (m === null) return undefined
  const n = Number(m[0].replace(",", "."))
  return Number.isFinite(n) ? n : undefined
}

/** The unit of a temperature: printed in the cell, else declared by the header, else guessed from the value. */
export const temperatureUnit = (cell: string, declared: string | undefined, value: number) => {
  // the number dropped: "98.6 °F" → "°F"; then "°F", "F", "° C", "C" (a word boundary after: not "Fever")
  const after = cell.replace(/^[\d.,\s]+/, "")
  // without a unit, a body temperature over 50 can only be Fahrenheit
  return /°?\s?F\b/i.test(after) ? "°F" : /°?\s?C\b/i.test(after) ? "°C" : (declared ?? (value > 50 ? "°F" : "°C"))
}

/** The unit of a weight: "lb"/"lbs" or "kg" in the cell, else the header's, else kg. */
export const weightUnit = (cell: string, declared: string | undefined) =>
  /lb/i.test(cell) ? "lb" : /kg/i.test(cell) ? "kg" : (declared ?? "kg")

/** One row of a vitals table → one VitalSign per measurement, stamped with the row's date and time. */
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

/** Words that open a summary of readings: "Average", "Mean", "Media", "Mittelwert", "Moyenne", "Promedio", "Średnia", "Min", "Max". */
/** Words that make a reading an average of others: "average", "mean", "medio", "Durchschnitt", "moyenne", "średnia". */
export const AVERAGE_WORDS = String.raw`average|avg\.?|mean|medi[oae]|m[ée]dia|moyenne|durchschnitt(?:lich)?|mittelwert|promedio|gemiddeld[e]?|[śs]rednia|gennemsnit|medel(?:v[äa]rde)?|pr[ůu]m[ěe]r|ortalama|rata-rata|purata|средн\p{L}*|平均(?:值)?|평균`
export const SUMMARY_WORD_RE = new RegExp(String.raw`^(?:${AVERAGE_WORDS}|median|lowest|highest|min(?:imum)?|max(?:imum)?|total)(?![\p{L}\p{N}])`, "iu")

/** A row of a vitals table with nothing measured: a time and dashes for every reading ("mié 14/01  07:15  --  --  --  Error E2"). */
export const isEmptyVitalsRow = (line: string): boolean =>
  (line.match(/(?<!\S)(?:--?|—|–)(?!\S)/g)?.length ?? 0) >= 2 && /\d{1,2}[:.h]\d{2}|\d{1,2}[/.]\d{1,2}/.test(line)

export const readVitalsRow = (
  line: string,
  header: VitalsHeader,
  order: DateOrder,
  fallbackDate: string | undefined,
  latestDate?: LatestDate
): { readonly vitals: ReadonlyArray<ParsedVital>; readonly date?: string } | undefined => {
  const tokens = vitalTokens(line, header.separator)
  if (tokens.length === 0) return undefined
  const assigned = new Map<number, string>()
  // cells split by a separator go in order; spaced ones by where they stand ("lun 12/01" is two tokens in one column)
  if (header.separator !== "space" && tokens.length === header.columns.length) {
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
        // (equal overlaps: the column that starts nearest the token, "81" one space left of "pulse")
        const score = overlap > 0 ? overlap * 1000 - Math.abs(token.start - col.start) : -Math.min(Math.abs(token.start - col.start), Math.abs(token.end - col.end))
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
  // a summary row ("Media semana 1   132   84   72", "Average  131/83"): no reading of its own
  if ([...assigned.values()].some((cell) => SUMMARY_WORD_RE.test(cell.trim()))) return undefined
  let date: string | undefined
  let time: string | undefined
  header.columns.forEach((col, i) => {
    const cell = assigned.get(i)
    if (cell === undefined) return
    if (col.column.kind === "date" || col.column.kind === "datetime") {
      // (a weekday before the date: "lun 2 nov 2026", "Tue 04/11/2026")
      const dt = readDateTime(cell.trim(), order) ?? readDateTime(cell.trim().replace(/^\p{L}{2,9}\.?,?\s+(?=\d)/u, ""), order)
      if (dt !== undefined) {
        date = dt.date
        if (dt.iso.includes("T")) time = dt.iso.slice(11)
      } else {
        date = dayWithoutYear(cell.trim(), order, latestDate) ?? date
      }
    }
    // "07:35", or "07.35" / "7h35" / "7.15am" / "10pm" in a time column
    if (col.column.kind === "time") time = readTime(cell.trim())?.time ?? dottedTime(cell.trim()) ?? time
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
    // a blood pressure: "128/84", "128 / 84 mmHg"
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

/** Regex source of the names of vital signs: "Blood pressure", "BP", "Pulse rate", "HR", "SpO2", "O2 sat", "Temp", "Body weight", "Wt". */


export const VITAL_KEYS = String.raw`blood\s+pressure|bp|pulse(?:\s+rate)?|heart\s+rate|hr|spo2|sp02|o2\s+sat(?:uration)?|oxygen\s+saturation|blood\s+oxygen|temp(?:erature)?|(?:body\s+)?(?:temperature|weight)|weight|wt|${BP_WORDS}|${PULSE_WORDS}|${TEMP_WORDS}|${WEIGHT_WORDS}`

/** A named reading with an optional unit. Examples: "BP 128/84 mmHg", "pulse: 72 bpm", "Temp 98.6F", "Weight this morning = 74.6 kg". */
export const INLINE_VITAL_RE = anyOf(
  [String.raw`mm\s?hg|bpm|beats\/min|\/min|%|°\s?[cf]|deg(?:rees)?\s?[cf]|[cf]\b|kg|lbs?|pounds`],
  // "BP 128/84 mmHg", "pulse 72", "Weight this morning = 74.6 kg" (a few words may sit between name and value)
  // a bracketed qualifier after the name: "Heart rate (spot)  92 bpm", "Weight (kg, chair scales): 52.4 kg"
  (units) => String.raw`\b(${VITAL_KEYS})\b(?:\s*\([\p{L}\s,.]{1,24}\))?(?:\s+\p{L}+){0,3}?\s*[:=-]?\s*(\d{2,3}\s?\/\s?\d{2,3}|\d+(?:[.,]\d+)?)\s*(${units})?`,
  "giu"
)

/** In a diary, a blood pressure without name or unit: "128/84", "128 / 84" (checked for plausibility where it is read); not in "04/18/2026". */
export const DIARY_BP_RE = /(?<![\d/.])(\d{2,3})\s?\/\s?(\d{2,3})(?![\d/.])/g

/** A blood pressure without its name, known by its unit: "128/84 mmHg", "128 / 84 mm Hg"; not "128/84" alone. */
export const BARE_BP_RE = /(?<![\d/])(\d{2,3})\s?\/\s?(\d{2,3})\s*mm\s?hg\b/gi

/** A reading that starts with its time: "07:05  128/84 mmHg, pulse 72", "9.15 pm 131/86 mmHg", "21h40 139/88"; not "07:05" alone. */
export const LEADING_TIME_RE = /^\s*(\d{1,2})[:.h](\d{2})(?:\s*([ap])\.?m\.?)?(?=\s)/i

/** "BP 128/84 mmHg, pulse 72" and the like, outside a table. */
export const readInlineVitals = (line: string, stamp: string, diary = false): ReadonlyArray<ParsedVital> => {
  const vitals: Array<ParsedVital> = []
  // no "BP" / "blood pressure" name on the line: the pressure is read from its shape
  if (!/\b(?:blood\s+pressure|bp)\b/i.test(line) && !BP_NAMED_RE.test(line)) {
    // in a diary a reading needs no unit when it can only be a blood pressure: "128/84" (systolic
    // 60–260 above diastolic 30–160), and a number with "bpm" is the pulse
    for (const m of line.matchAll(diary ? DIARY_BP_RE : BARE_BP_RE)) {
      const systolic = Number(m[1])
      const diastolic = Number(m[2])
      if (isBarePressure(systolic, diastolic)) {
        vitals.push(bloodPressure(stamp, systolic, diastolic))
      }
    }
    // no "pulse" / "heart rate" / "HR" name: a number with its unit ("72 bpm", "72 beats/min", "72/min"), not "128/84/min"
    if (diary && !/\b(?:pulse|heart\s+rate|hr)\b/i.test(line)) {
      for (const m of line.matchAll(/(?<![\d.,/])(\d{2,3})\s*(?:bpm|beats\/min|\/min)\b/gi)) {
        vitals.push({ kind: "pulse", time: stamp, value: Number(m[1]), unit: "bpm" })
      }
    }
    // no temperature's name: a body temperature by its degrees ("99.8 °F", "37,9 °C"), in a diary only
    if (diary && !/\btemp/i.test(line) && !TEMP_NAMED_RE.test(line)) {
      for (const m of line.matchAll(/(?<![\d.,/])(\d{2,3}(?:[.,]\d)?)\s*°\s?([CF])\b/g)) {
        const value = Number((m[1] ?? "").replace(",", "."))
        const unit = m[2] === "F" ? "°F" : "°C"
        if (unit === "°F" ? value >= 90 && value <= 110 : value >= 32 && value <= 43) vitals.push({ kind: "temperature", time: stamp, value, unit })
      }
    }
  }
  for (const m of line.matchAll(INLINE_VITAL_RE)) {
    const key = (m[1] ?? "").toLowerCase()
    const raw = m[2] ?? ""
    // "mm Hg" → "mmhg"; then the key says the kind: "bp", "pulse"/"heart"/"hr", "spo2"/"sat", "temp", "weight"/"wt"
    const unit = (m[3] ?? "").toLowerCase().replace(/\s+/g, "")
    // the value is a pressure: "128/84", "128 / 84"
    const bp = /^(\d{2,3})\s?\/\s?(\d{2,3})$/.exec(raw)
    const value = Number(raw.replace(",", "."))
    if (/^(?:blood\s+pressure|bp)$/.test(key) || BP_KEY_RE.test(key)) {
      if (bp !== null) vitals.push(bloodPressure(stamp, Number(bp[1]), Number(bp[2])))
    } else if (bp !== null || !Number.isFinite(value)) {
      continue
    } else if (/^(?:pulse|heart|hr)/.test(key) || PULSE_KEY_RE.test(key)) {
      vitals.push({ kind: "pulse", time: stamp, value, unit: "bpm" })
    } else if (/sp02|spo2|sat|oxygen/.test(key)) {
      vitals.push({ kind: "spo2", time: stamp, value, unit: "%" })
    } else if (/^temp/.test(key) || TEMP_KEY_RE.test(key)) {
      vitals.push({ kind: "temperature", time: stamp, value, unit: temperatureUnit(unit, undefined, value) })
    } else if (/weight|wt/.test(key) || WEIGHT_KEY_RE.test(key)) {
      // "lb", "lbs", "pounds"
      vitals.push({ kind: "weight", time: stamp, value, unit: /lb|pound/.test(unit) ? "lb" : "kg" })
    }
  }
  return vitals
}

/**
 * Names of vital signs that cannot be mistaken for anything else on a line: "blood pressure", "BP",
 * "pulse", "heart rate", "HR", "SpO2", "O2 sat", "temp", "weight", and the longer names in other
 * languages ("Blutdruck", "tension artérielle", "Puls", "Gewicht"); not the two-letter marks "RR",
 * "TA", "PA", "FC", which mean other things outside a vitals table.
 */
const PLAIN_VITAL_KEYS = String.raw`blood\s+pressure|bp|pulse(?:\s+rate)?|heart\s+rate|hr|spo2|sp02|o2\s+sat(?:uration)?|oxygen\s+saturation|temp(?:erature)?|weight|${[BP_WORDS, PULSE_WORDS, TEMP_WORDS, WEIGHT_WORDS]
  .flatMap((words) => words.split("|"))
  .filter((word) => word.replace(/\\[a-z]|[^\p{L}]/gu, "").length >= 4)
  .join("|")}`
/**
 * A vital sign's name with a number of two digits or more after it (not a digit of a word, as in
 * "SpO2"): "BP 128/84", "Puls: 72", "Temp (tympanic) 37.9"; not "BP cuff size M", "BP-2", "2 hr".
 */
const NAMED_NUMBER_RE = new RegExp(String.raw`(?<![\p{L}\d]\s*)(?:${PLAIN_VITAL_KEYS})(?!\p{L})[^\d\n]{0,24}?(?<![\p{L}\d.,])\d(?:\d|[.,]\d)`, "giu")
/** A number with a vital sign's unit: "72 bpm", "128/84 mmHg", "37,9 °C", "98.6F", "74.6 kg", "168 lbs"; not "30.4 kg/m²". */
const VITAL_UNIT_RE = /(?<![\d.,/])(?:\d+(?:[.,]\d+)?\s*(?:mm\s?hg\b|bpm\b|beats?\s*\/\s*min\b|[°º]\s?[cf]\b|kg\b(?!\s*\/)|lbs?\b)|\d{2,3}[.,]\d\s?[cf]\b)/gi
/**
 * Words that make a line no reading: an average, median or the lowest/highest of readings ("Average 135/85", "Средние
 * за неделю: утро 148/92", "Min 118/72" at the line's start; not "5 min later: 118/74").
 */
const NOT_A_READING_RE = new RegExp(String.raw`(?<!\p{L})(?:${AVERAGE_WORDS}|median|lowest|highest|h[öo]chst\p{L}*|niedrigst\p{L}*|tiefst\p{L}*|m[áa]xim[oa]|m[íi]nim[oa]|massim[oa])(?!\p{L})|^\s*(?:min(?:imum)?|max(?:imum)?)(?!\p{L})|平均|평균`, "iu")
/** A row of what the reader does not show as a vital sign: height, BMI, respiratory rate, pain, a score, a glucose. */
const OTHER_MEASURE_RE = /^\s*(?:height|gr[öo]ße|taille|altura|altezza|lengte|wzrost|bmi|imc|resp(?:iratory|\.|iration)?|atemfrequenz|fr[ée]quence\s+respiratoire|frecuencia\s+respiratoria|pain|schmerz|douleur|dolor|news2?|mews|score|glucose|glukose|glucosa|glic[eo]mia|glyc[ée]mie|blutzucker|sugar|steps|schritte)\b/iu
/**
 * A value given as a limit or a target, not as a reading: "≥160/110", "above 38 °C", "if still 140/90", "more than 2 kg",
 * "target: below 135/85", "Ziel unter 135/85", "(normal 95–100 %)", "+0.3 °C" (a deviation); not "p-82" (a name and
 * its value) nor "-  146/92" (a dash before a reading).
 */
const LIMIT_BEFORE_RE = new RegExp(
  String.raw`(?:(?:(?<![-=])[<>]=?|[≤≥]|\b(?:above|below|over|under|than|exceeds?|if(?:\s+still)?|at\s+least|up\s+to|ab|über|unter|plus\s+de|moins\s+de|sup[ée]rieure?\s+[àa]|inf[ée]rieure?\s+[àa]|sopra|sotto|oltre|m[áa]s\s+de|menos\s+de|por\s+encima\s+de|passar\s+de|acima\s+de|abaixo\s+de|mais\s+de|rises?\s+by|gain(?:ed)?|lost?|los[et]|dev\.?|deviation|dry\s+weight|target\s+weight|trockengewicht|peso\s+seco|poids\s+sec))\s*[:=]?\s*|[~≈]\s*|(?<![\p{L}\d])[+±−-]|(?<!\p{L})(?:targets?|goal|aim(?:ing)?|ziel(?:e|wert[e]?)?|objecti[fv]o?s?|obiettivo|doel|sasaran|threshold|seuils?|soglia|normal|reference|ref\.?|meta|целев\p{L}*|норма)(?!\p{L})[^\d\n]{0,16}|(?:目标|目標|목표|正常)[^\d\n]{0,16})$`,
  "iu"
)
/** After a value: "or above", "or more", "or higher", "o más". */
const LIMIT_AFTER_RE = /^\s*(?:mm\s?hg\s*)?(?:or\s+(?:above|more|higher|over|below|less|lower)|o\s+m[áa]s|ou\s+plus|oder\s+(?:mehr|höher))\b/iu

/** A match that is a limit, not a reading: a comparator or a limit word just before it, "or above" after it. */
export const isLimit = (line: string, start: number, end: number): boolean =>
  LIMIT_BEFORE_RE.test(line.slice(Math.max(0, start - 24), start)) || LIMIT_AFTER_RE.test(line.slice(end, end + 24))

/** Ranges, no readings, set aside before a line is looked at: "50-90 bpm", "95–100 %", "11 a 16", "7 to 55", of pressures "130–139/85–89"; not a date ("2026-03-09") nor a pressure. */
export const RANGE_RE = /(?<![\d.,/-])\d{2,3}\s*[-–]\s*\d{2,3}\s*\/\s*\d{2,3}\s*[-–]\s*\d{2,3}(?![\d/-])|(?<![\d.,/-])\d{1,3}(?:[.,]\d+)?\s*(?:[-–]|\s(?:a|to|bis|à|al)\s)\s*\d{1,3}(?:[.,]\d+)?(?![\d/-])/g

/**
 * Does the line look like it holds a vitals reading, though none was read from it? A pressure
 * ("128/84" — systolic 60–260 over a lower diastolic 30–160, so not a date), a vital sign's name
 * with a number, or a number with a vital sign's unit — none of them a limit ("≥160/110", "call if
 * above 38 °C") nor inside a range; not a line of averages, targets, normal values or of another
 * measure (height, BMI, respiratory rate), nor a line of bracketed alternatives only ("(101.1 °F)
 * (98.1 °F)", the other unit of readings above). Such a line must not disappear in silence: it is
 * reported as unread.
 */
/** A line of averages, targets or normal values, of another measure, or of bracketed alternatives only. */
export const notAReading = (line: string): boolean =>
  NOT_A_READING_RE.test(line) || OTHER_MEASURE_RE.test(line) || !/\d/.test(line.replace(/\([^)]*\)|\[[^\]]*\]/g, ""))

export const looksLikeVital = (line: string): boolean => {
  if (notAReading(line)) return false
  // ranges blanked out with spaces, so the positions of everything else stay as printed
  const bare = line.replace(RANGE_RE, (range) => " ".repeat(range.length))
  // (a pressure may be written "108x70")
  for (const m of bare.matchAll(/(?<![\d/.])(\d{2,3})\s?[/x×]\s?(\d{2,3})(?![\d/.])/g)) {
    const systolic = Number(m[1])
    const diastolic = Number(m[2])
    const start = m.index ?? 0
    if (isBarePressure(systolic, diastolic) && !isLimit(bare, start, start + m[0].length)) return true
  }
  for (const re of [NAMED_NUMBER_RE, VITAL_UNIT_RE]) {
    for (const m of bare.matchAll(re)) {
      const end = (m.index ?? 0) + m[0].length
      // the number's start: the name before it is no limit ("if BP 150/95" is, "BP above 150" is)
      const number = /\d+(?:[.,]\d+)?(?=[^\d]*$)/.exec(m[0].replace(/\s*(?:mm\s?hg|bpm|beats?\s*\/\s*min|°\s?[cf]|kg|lbs?)$/i, ""))
      const start = (m.index ?? 0) + (number?.index ?? 0)
      if (!isLimit(bare, start, end)) return true
    }
  }
  return false
}

/** Words that name vital signs or their columns: "SYS", "DIA", "Puls", "bpm", "mmHg", "SpO2", "Gewicht". */
// (a name glued to a Chinese or Japanese word is still a name: "血氧饱和度SpO2(%)")
const VITALS_WORD_RE = new RegExp(String.raw`(?<![\p{Lu}\p{Ll}])(?:sys|dia|${SYS_WORDS}|${DIA_WORDS}|${PLAIN_VITAL_KEYS}|mm\s?hg|bpm)(?![\p{Lu}\p{Ll}])`, "iu")
/** Does the line name vital signs (a table's header, a diary's title)? */
export const namesVitals = (line: string): boolean => VITALS_WORD_RE.test(line)

/** The separator of a line of a data export: a tab, semicolon or comma between four cells or more (not decimal commas). */
export const separatorOf = (line: string): string | undefined => {
  const separator = line.includes("\t") ? "\t" : looksLikeSemicolonCsv(line) ? ";" : looksLikeCsv(line) ? "," : undefined
  // ("RR 135/85, Puls 72, Temp 36,8" is a sentence with decimal commas, not four cells)
  const cells = separator === undefined ? 0 : line.split(separator).length
  return cells >= 4 && (separator !== "," || !/\d,\d/.test(line) || cells >= 6) ? separator : undefined
}

/** Dates and times in a line: "03.11.2026", "3.11.", "11/03", "2026-11-03", "07:10", "7h10", "7.15 am". */
const DATE_OR_TIME_RE = /\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\.\d{1,2}\.(?!\d)|(?<![\d/])\d{1,2}\/\d{1,2}(?![\d/])|\d{1,2}[:h]\d{2}|\d{1,2}\.\d{2}\s*[ap]\.?m\b/gi

/**
 * A row of a vitals table printed without units or slashes, once its dates and times are set
 * aside: two numbers or more that vital signs take (30–260: "03.11.2026  07:10  142  91  68"), and
 * few words (a note, not prose). Used only in a document that names vital signs somewhere and
 * is no lab report, where such a row that gave no reading must be reported as unread.
 */
export const looksLikeVitalsRow = (line: string): boolean => {
  if (notAReading(line) || (line.match(/\p{L}{2,}/gu)?.length ?? 0) > 8) return false
  // a row of a data export: its cells ("2026-03-09T07:03:55+01:00,Cuff C1,blood_pressure,,,,142,90,79,0,device")
  const separator = separatorOf(line)
  if (separator !== undefined) {
    return line.split(separator).filter((cell) => /^\s*\d{2,3}(?:[.,]\d{1,2})?\s*$/.test(cell) && Number(cell.replace(",", ".")) >= 30 && Number(cell.replace(",", ".")) <= 260).length >= 2
  }
  const bare = line.replace(DATE_OR_TIME_RE, " ").replace(RANGE_RE, " ")
  const numbers = [...bare.matchAll(/(?<![\d.,])\d{2,3}(?:[.,]\d)?(?![\d]|[.,]\d)/g)].map((m) => Number(m[0].replace(",", ".")))
  return numbers.filter((n) => n >= 30 && n <= 260).length >= 2
}

/** A line that starts with a vital sign's name. Examples: "BP 128/84", "Pulse rate", "weight"; not "Weightless" nor "HRT". */
export const VITAL_NAME_RE = new RegExp(String.raw`^(?:${VITAL_KEYS})\b`, "i")

/** Times inside a line: "07:05", "9.15 pm", "21h40"; not "04/18/2026" nor "128.55" (three digits before the mark). */
export const TIME_IN_LINE_RE = /(?<![\d/.:-])(\d{1,2})[:.h](\d{2})(?:\s*([ap])\.?m\.?)?(?![\d/:])/gi

/**
 * The readings of a diary line, each stamped with the time printed before it on the line (the
 * date from the line above): "07:05  128/84 mmHg, pulse 72", "07:05 128/84 72 bpm   21:40 139/88 77 bpm".
 */
export const readDiaryLine = (line: string, date: string): ReadonlyArray<ParsedVital> => {
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
    const segment = line.slice(start, end)
    const stamp = `${date}T${time.time}`
    const read = readInlineVitals(segment, stamp, true)
    readings.push(...read)
    // a diary's pulse column has no unit: "07:10  148/91  74" (a number of 30–220 right after the pressure)
    // (maybe after a one-letter or short pulse mark: "RR 144 / 90   P 77", "128/84  HF 72")
    const bare = /(?<![\d/])\d{2,3}\s?\/\s?\d{2,3}(?:\s*mmhg)?[\s|,]+(?:(?:p|hf|fc|fr|脈拍?)\.?:?\s*)?(\d{2,3})(?![\d./:,]|\s*(?:%|°|kg|lb|mg|x|mal))/i.exec(segment)
    const pulse = bare === null ? undefined : Number(bare[1])
    if (pulse !== undefined && pulse >= 30 && pulse <= 220 && read.some((v) => v.kind === "blood_pressure") && !read.some((v) => v.kind === "pulse")) {
      readings.push({ kind: "pulse", time: stamp, value: pulse, unit: "bpm" })
    }
  })
  return readings
}

/** The time a diary line starts with, as HH:MM, or undefined. */
export const leadingTime = (line: string): { readonly time: string; readonly length: number } | undefined => {
  const m = LEADING_TIME_RE.exec(line)
  if (m === null) return undefined
  // a dotted pair before a time is the day, not a time: "13.05  00:30  146/84" (a chart's date and time columns)
  if (/^\s*\d{1,2}\.\d{2}$/.test(m[0]) && /^\s+\d{1,2}[:h]\d{2}(?!\d)/.test(line.slice(m[0].length))) return undefined
  const time = clockTime(Number(m[1]), Number(m[2]), m[3])
  return time === undefined ? undefined : { time, length: m[0].length }
}

/**
 * A flowsheet with one column per visit: "Visit date  01/07/2026  02/04/2026", maybe "Time  09:20
 * 10:45", then one row per measurement. The readings of a row are its values outside brackets,
 * in order ("36.8 °C (98.2 °F)" is one reading in °C): a row with as many as there are visits.
 */
export interface VisitColumns {
  readonly dates: ReadonlyArray<string>
  readonly times: ReadonlyArray<string | undefined>
  /** Where each visit's column starts on the date line, when known: a row with blank cells is read by position. */
  readonly starts?: ReadonlyArray<number>
}

/** The label of a flowsheet's date row, with the space after it. Examples: "Visit date  ", "Date: ", "Encounter date ". */
export const VISIT_LABEL_RE = new RegExp(
  String.raw`^\s*(?:visit\s+date|date\s+of\s+visit|visit|date|encounter(?:\s+date)?|datum|data|fecha|dato|tarih|date\s+de\s+(?:la\s+)?visite|data\s+(?:della\s+)?visita)\s*[:]?\s+`,
  "i"
)

/**
 * A chart of one day whose date is printed above it: "TIME   02:00   06:00   10:00" (or "Zeit", "Heure", "Hora"), each
 * time a column of `day`. Undefined unless two or more times and nothing else follow the label.
 */
export const readTimeColumns = (line: string, day: string): VisitColumns | undefined => {
  const label = new RegExp(String.raw`^\s*(?:time|${TIME_WORDS})\s*:?\s+`, "i").exec(line)
  if (label === null) return undefined
  const times: Array<string> = []
  const starts: Array<number> = []
  for (const m of line.slice(label[0].length).matchAll(/\S+/g)) {
    const clock = /^\d{1,2}[:.h]\d{2}$/.test(m[0]) ? leadingTime(`${m[0]} `) : undefined
    if (clock === undefined) return undefined
    times.push(clock.time)
    starts.push(label[0].length + (m.index ?? 0))
  }
  return times.length >= 2 ? { dates: times.map(() => day), times, starts } : undefined
}

/** The visits of a flowsheet date row ("Visit date  01/07/2026  02/04/2026"): two or more dates, maybe with times. */
export const readVisitColumns = (line: string, order: DateOrder, latestDate?: LatestDate): VisitColumns | undefined => {
  // (or no label: a row of dates alone far in, over the columns: "                  Tue 01/12   Tue 01/12   Wed 02/12")
  const label = VISIT_LABEL_RE.exec(line) ?? TIME_LABEL_RE.exec(line) ?? /^\s{8,}(?=(?:\p{L}{2,9}\.?,?\s+)?\d)/u.exec(line)
  if (label === null) return undefined
  const dates: Array<string> = []
  const times: Array<string | undefined> = []
  const starts: Array<number> = []
  let rest = line.slice(label[0].length)
  const at = () => line.length - rest.length
  // dates one after another, each maybe with its time ("02/11/2026 14:10"), and nothing else
  while (rest.trim() !== "") {
    // separators between dates: spaces, "|", ",", ";"
    const lead = /^[\s|,;]*/.exec(rest)?.[0].length ?? 0
    // a day without its year and its time: "11/21 08:00" (a flowsheet "all 2026")
    const short = /^(\d{1,2}[/.]\d{1,2})\.?\s+(\d{1,2}:\d{2})(?=\s|$)/.exec(rest.slice(lead))
    const shortDay = short === null ? undefined : dayWithoutYear(short[1] ?? "", order, latestDate)
    if (short !== null && shortDay !== undefined) {
      starts.push(at() + lead)
      dates.push(shortDay)
      times.push(leadingTime(`${short[2] ?? ""} `)?.time)
      rest = rest.slice(lead + short[0].length)
      continue
    }
    // a weekday and a day without its year: "Tue 01/12", "Mi 02.12."
    const weekdayDay = /^\p{L}{2,9}\.?,?\s+(\d{1,2}[/.]\d{1,2}\.?)(?=\s|$)/u.exec(rest.slice(lead))
    const weekdayDate = weekdayDay === null ? undefined : dayWithoutYear(weekdayDay[1] ?? "", order, latestDate)
    if (weekdayDay !== null && weekdayDate !== undefined) {
      starts.push(at() + lead)
      dates.push(weekdayDate)
      times.push(undefined)
      rest = rest.slice(lead + weekdayDay[0].length)
      continue
    }
    const date = readDateTime(rest.slice(lead), order)
    // a chart of one day: "Date 28/11/2026   02:00   06:00   10:00", each time a column of that date
    const time = date === undefined && dates.length > 0 ? /^(\d{1,2}[:.]\d{2})(?=\s|$)/.exec(rest.slice(lead)) : null
    if (time !== null && time !== undefined) {
      const clock = leadingTime(`${time[1] ?? ""} `)
      if (clock === undefined) return undefined
      starts.push(at() + lead)
      dates.push(dates[dates.length - 1] ?? "")
      times.push(clock.time)
      rest = rest.slice(lead + time[0].length)
      continue
    }
    if (date === undefined) return undefined
    starts.push(at() + lead)
    dates.push(date.date)
    times.push(date.iso.length > date.date.length ? date.iso.slice(11, 16) : undefined)
    rest = rest.slice(lead + date.length)
  }
  return dates.length >= 2 ? { dates, times, starts } : undefined
}

/** A flowsheet's row of date-times labelled "Time" or "Date/time": "Time   11/21 08:00   11/21 20:00". */
export const TIME_LABEL_RE = /^\s*(?:date\s*(?:\/|&|and)\s*time|time)\s*[:]?\s+(?=\d{1,2}[/.]\d{1,2})/i

/** The visits with the times a row under the dates prints, one per visit, or undefined. */
export const readVisitTimes = (line: string, visits: VisitColumns): VisitColumns | undefined => {
  // "Time  09:20  10:45", or the times alone under the dates; split on runs of whitespace (/\s+/)
  // ("Time", "Ora", "Uhrzeit", "Hora", "Heure", "Godzina")
  const label = new RegExp(String.raw`^\s*(?:(?:visit\s+)?(?:time|${TIME_WORDS})\s*[:]?)?\s+`, "i").exec(` ${line}`) ?? { 0: " " }
  line = ` ${line}`
  const times = line
    .slice(label[0].length)
    .trim()
    .split(/\s+/)
    .map((cell) => leadingTime(` ${cell} `.slice(1))?.time)
  return times.length === visits.dates.length && times.every((t) => t !== undefined) ? { ...visits, times } : undefined
}

/** One flowsheet row: its readings, one per visit, or undefined when it is not a vital sign with one per visit. */
export const readVisitRow = (line: string, visits: VisitColumns): ReadonlyArray<ParsedVital> | undefined => {
  // the vital's name and whatever precedes the first digit: "Temperature (°C)  36.8", "BP  128/84"
  // bracketed readings and notes blanked, keeping positions: "36.8 °C (98.2 °F)", "SpO2 % (O2)  92 (2 L NC)"
  const blanked = line.replace(/\([^)]*\)/g, (m) => " ".repeat(m.length))
  // a row that carries its own times ("Weight (kg, chair scales): 01/12 06:00  52.4 kg") is no row of the visits
  if (/(?<![\d:])\d{1,2}:\d{2}(?![\d:])/.test(blanked)) return undefined
  // (a label the unit in brackets makes a temperature: "TC (°C)", "Temp. corp. (°C)")
  const degrees = /^\s*(\p{L}[\p{L}. ]{0,20}?)\s*\(\s*°\s?([CF])\s*\)/iu.exec(line)
  const name = degrees !== null ? /^[^\d]*?(?=\d)/.exec(blanked) : new RegExp(String.raw`^\s*(${VITAL_KEYS})\b[^\d]*?(?=\d)`, "iu").exec(blanked)
  if (name === null) return undefined
  const key = degrees !== null ? "temperature" : (name[1] ?? "").toLowerCase()
  const rest = blanked.slice(name[0].length)
  const stamps = visits.dates.map((date, i) => (visits.times[i] === undefined ? date : `${date}T${visits.times[i]}`))
  // blank cells: each reading goes to the visit whose column it starts under (the date line's positions)
  const columnOf = (m: RegExpMatchArray): number | undefined => {
    const starts = visits.starts
    if (starts === undefined || starts.length !== stamps.length) return undefined
    const x = name[0].length + (m.index ?? 0)
    let best = 0
    starts.forEach((start, i) => {
      if (Math.abs(start - x) < Math.abs((starts[best] ?? 0) - x)) best = i
    })
    return Math.abs((starts[best] ?? 0) - x) <= 4 ? best : undefined
  }
  if (/^(?:blood\s+pressure|bp)$/.test(key) || BP_KEY_RE.test(key)) {
    // each pressure: "128/84", "131 / 86"; with blank cells, each under its visit's column
    const pressures = [...rest.matchAll(/(\d{2,3})\s?\/\s?(\d{2,3})/g)]
    const at = pressures.length === stamps.length ? pressures.map((_, i) => i) : pressures.map(columnOf)
    if (pressures.length === 0 || at.some((c) => c === undefined) || new Set(at).size !== at.length) return undefined
    return pressures.map((m, i) => bloodPressure(stamps[at[i] ?? 0] ?? "", Number(m[1]), Number(m[2])))
  }
  // each number with its unit: "36.8 °C", "74,6 kg", "72 bpm", "98%"
  const readings = [...rest.matchAll(/(\d+(?:[.,]\d+)?)\s*(°\s?[cf]|kg|lbs?|bpm|%|\/min)?/gi)]
  const columns = readings.length === stamps.length ? readings.map((_, i) => i) : readings.map(columnOf)
  if (readings.length === 0 || readings.length > stamps.length || columns.some((c) => c === undefined) || new Set(columns).size !== columns.length) {
    return undefined
  }
  // the unit the row's label gives ("Weight kg (lb)", "Temp °C (°F)") for readings printed without one
  const labelUnit = degrees !== null ? `°${degrees[2] ?? "C"}` : (/(°\s?[cf]|kg|lbs?|bpm|%)(?![\p{L}])/iu.exec(name[0])?.[1] ?? "")
  return readings.flatMap((m, i) =>
    readInlineVitals(`${degrees !== null ? "Temperature" : (name[1] ?? "")} ${m[1] ?? ""} ${m[2] ?? labelUnit}`, stamps[columns[i] ?? 0] ?? "")
  )
}
