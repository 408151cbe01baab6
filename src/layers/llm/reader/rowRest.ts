/**
 * What a row holds after its name: the value, then flag / unit / range in any order, with the
 * remarks, notes and other labs' columns a row may carry besides. Undefined unless the whole rest
 * of the row is understood (rows.ts tries each place the name could end).
 */
import { NUM, type NumberStyle } from "./text.js"
import { readFlag, readUnit, readValue, type ReportFlag, RESULT_STATUS, type RowValue, STRONG_QUALITATIVE } from "./tokens.js"
import { type RangeSpec, readRange } from "./ranges.js"

/** Remarks that qualify a row without changing it: "(calc)", "(fasting)", "[est]", "Final", "prelim", a footnote "(1)", "(no range; on warfarin)", an earlier result "[prev 12.1]", "(12.5 on 01/02/2026)"; not "(calc" alone. */
export const NOTE_RE = new RegExp(
  String.raw`^(?:\(\d\)|\[\d\]|[¹²³]|[([](?:prev(?:ious)?|prior|last|vorwert|anterior|pr[ée]c[ée]dent)\.?:?\s*[<>]?\d[^)\]]{0,40}[)\]]|[([][<>]?\d[\d.,]*\s+(?:on|am|le|el|il|op|em)\s+\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}[)\]]|\((?:no\s+range|not\s+established|see\s+(?:note|comment)|on\s+[a-z]+)[^()\d]{0,50}\)|[([](?:calc(?:ulated)?|est(?:imated)?|fasting|non-?fasting|repeated|verified|confirmed|corrected|see\s+note|note|abnormal|normal)\.?[)\]]|${RESULT_STATUS})(?=$|\s)`,
  "i"
)

/**
 * Who a range applies to, printed right after it: a bracketed group with a letter ("(age 40-44)", "[adults]",
 * "(non-smoker)"), or up to three words ending the row ("immune", "desirable", "optimal level"); not a number.
 */
export const RANGE_QUALIFIER_RE = /^(?:[([](?![^()[\]]*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})[^()[\]]*\p{L}[^()[\]]*[)\]]|\p{L}[\p{L}'-]*(?:\s\p{L}[\p{L}'-]*){0,2}\s*$)/u

/** A date or time token in a row (another column's). Examples: "04/18/2026", "2026-04-18", "18.04.26", "03/14" before a time, "07:42", "7:42 PM". */
export const DATE_TOKEN_RE = /^(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}\/\d{1,2}(?=\s+\d{1,2}:\d{2}\b)|\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?)(?=$|\s)/

/** A number alone at the end of a row: "141", "<0.5". */
const LONE_NUMBER_RE = new RegExp(String.raw`^[<>]?${NUM}\s*$`)

/** A previous result followed by its date; only the number is taken (the date is a `DATE_TOKEN_RE`), or both when the date is bracketed. Examples: "5.2 03/01/2026", "140  2026-01-05", "4,25 (03/06/26)". */
export const PREVIOUS_RE = new RegExp(String.raw`^(?:${NUM})\s+(?:(?=\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}(?:$|\s))|\(\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\)(?=$|\s))`)

/** What a row holds after its name: the value, and the flag, unit and range if printed. */
export interface RowParse {
  readonly value: RowValue
  readonly flag?: ReportFlag
  readonly unit?: string
  readonly range?: RangeSpec
}

/** Reads everything after the name; undefined unless the whole rest is understood. */
export const readRest = (rest: string, style: NumberStyle): RowParse | undefined => {
  const value = readValue(rest, style)
  if (value === undefined) return undefined
  let flag = value.flag
  let unit = value.unit
  let range: RangeSpec | undefined
  let i = value.length
  // where the range ended, for a qualifier right after it
  let rangeEnd = -1
  while (true) {
    // separators between tokens: spaces, ",", ";", "|", a dash between spaces before a word ("11.2 g/dL - low")
    const skip = /^(?:\s[-–—](?=\s+\p{L})|[\s,;|])*/u.exec(rest.slice(i))?.[0].length ?? 0
    i += skip
    if (i >= rest.length) break
    // no separator: only right after a bracket ("(3.5-5.1)mg/dL")
    if (skip === 0 && !/[\s)\]]$/.test(rest.slice(0, i))) return undefined
    const s = rest.slice(i)
    // a flag printed in capitals after a word value ("Reactive   ABNORMAL") is the lab's flag, not the expected word
    const capsFlag = value.qualitative && flag === undefined && /^[A-Z]{4,}\b/.test(s) ? readFlag(s, true) : undefined
    if (capsFlag !== undefined) {
      flag = capsFlag.flag
      i += capsFlag.length
      continue
    }
    // a word result's amount in brackets right after it: "4+ (>=1000)", "3+ (80)" (the strip's mg/dL), not its range
    const amount = value.qualitative && i - skip === value.length ? /^\((?:[<>]=?|≥|≤)?\s*\d[\d.,]*\)(?=\s|$)/.exec(s) : null
    if (amount !== null) {
      i += amount[0].length
      continue
    }
    const r = range === undefined ? readRange(s, style, value.qualitative) : undefined
    if (r !== undefined) {
      range = r.spec
      if (r.unit !== undefined) {
        if (unit !== undefined && unit !== r.unit) return undefined
        unit = r.unit
      }
      i += r.length
      rangeEnd = i
      continue
    }
    // who the range is for, right after it: "5.0-40.0 (age 40-44)", "≤ 5.0 (non-smoker)", "≥ 10 immune"
    const qualifier = range !== undefined && i - skip === rangeEnd ? RANGE_QUALIFIER_RE.exec(s) : null
    if (qualifier !== null && range !== undefined && readFlag(s, true) === undefined && readUnit(s) === undefined && !NOTE_RE.test(s)) {
      range = { ...range, text: `${range.text} ${qualifier[0].trim()}` }
      i += qualifier[0].length
      continue
    }
    const f = readFlag(s, !value.qualitative || range !== undefined)
    if (f !== undefined && flag === undefined) {
      flag = f.flag
      i += f.length
      continue
    }
    // the same direction printed twice: "High ↑", "H  ↑"
    if (f !== undefined && flag?._tag === "direction" && f.flag._tag === "direction" && f.flag.flag === flag.flag) {
      i += f.length
      continue
    }
    // a critical mark beside a direction: "5.6 BAJO (VC)" (VC: valor crítico) is critically low
    const critical = f?.flag._tag === "critical" ? f.flag : flag?._tag === "critical" ? flag : undefined
    const direction = f?.flag._tag === "direction" ? f.flag : flag?._tag === "direction" ? flag : undefined
    if (f !== undefined && critical !== undefined && direction !== undefined && direction.flag !== "normal") {
      flag = { _tag: "critical", direction: critical.direction ?? direction.flag }
      i += f.length
      continue
    }
    // a qualitative value takes a unit only after something else ("Trace  A  Negative  mg/dL"), never as its next word
    // a count span per field starts with a digit: "25-50"
    const fieldCount = value.qualitative && /^\d/.test(String(value.value))
    // (or, after a word that is a result on its own, a unit with a slash: "Negative   mg/dL   Negative"; after
    // any word, a count per field: "Few   /LPF")
    const strongWord = value.qualitative && ((STRONG_QUALITATIVE.test(String(value.value)) && /^\S*\//.test(s)) || /^\/\s*(?:hpf|lpf)\b/i.test(s))
    const u = unit === undefined && (!value.qualitative || fieldCount || strongWord || i > value.length + 2) ? readUnit(s) : undefined
    if (u !== undefined) {
      unit = u.unit
      i += u.length
      // a mark glued to the unit: "/campo!" (the report's "!" = outside the range)
      const glued = /^[!*]+(?=$|\s)/.exec(rest.slice(i))
      if (glued !== null && flag === undefined) {
        flag = { _tag: "abnormal" }
        i += glued[0].length
      }
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
    // a blank cell printed as dashes: "128.4  mg/dL  ---"
    const dashes = /^[-–—]{2,3}(?=\s|$)/.exec(s)
    if (dashes !== null) {
      i += dashes[0].length
      continue
    }
    // a lone number ending the row after the value, its unit and its range is an earlier result printed without
    // its header or date: "Sodium   139  mmol/L   135-145   141"
    if (range !== undefined && unit !== undefined && LONE_NUMBER_RE.test(s)) break
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
