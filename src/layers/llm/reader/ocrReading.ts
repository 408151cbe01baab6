/**
 * Reading a document that OCR read: positioned words in, the reader's results out, with what
 * OCR gets wrong kept from becoming a wrong value.
 *
 * 1. Layout by geometry: each page's words are laid out as lines (pdfLayout.ts, the same layout
 *    as a PDF's text layer: baselines group words into lines, gaps become spaces in proportion to
 *    the distance), so columns line up as on paper whatever spacing OCR reported.
 * 2. Before parsing, each line is repaired where a repair is unambiguous (ocrFuzzy.ts): the
 *    test's name matched to the lexicon ("Mev" → "MCV"), a misread unit to a printed one
 *    ("1073/uL" → "10^3/uL"), letters inside numbers to digits ("4.O" → "4.0").
 * 3. The lines are read by the reader, and every result is checked against what the document
 *    and the lexicon say about it: its unit must be one the test is reported in; its reference
 *    range must be plausible for the test (inside the lexicon's plausible and critical limits);
 *    its value plausible, and on the side of the range the printed flag says; a value beyond the
 *    test's critical limits and far from its range only when the report flags it critical too
 *    (that is where a lost digit lands). A test the lexicon does not know is read only where the
 *    line itself vouches for its decimals, and always for review. A lost decimal
 *    point ("41" for 4.1 mmol/L, "40 - 110" for 4.0 - 11.0) is restored only when exactly one
 *    reading satisfies all of that, and the decimals agree with the printed range's. Anything
 *    else is an unread line, never a guess: a misread value presented as read is a defect; an
 *    unread line is not.
 * 4. Each result keeps its line's OCR confidence; a result read with low confidence, or repaired,
 *    is flagged for review.
 */
import { isCriticalFlag } from "../../../services/llm.js"
import type { OcrPage } from "../ocr/ocrTypes.js"
import { layoutLines, type PositionedText } from "../pdfLayout.js"
import { criticalFlag, isPlausible } from "./critical.js"
import { type Analyte, lookupAnalyte, lookupAnalyteForUnit, unitFits } from "./lexicon/analytes.js"
import { repairName, repairUnit, unitsOf } from "./ocrFuzzy.js"
import { parseLabReport } from "./report.js"
import type { OcrMark, ParsedReport, ParsedResult, ParsedUnreadLine, ParseOptions } from "./types.js"
import { toUcum } from "./units.js"

/** Below this (tesseract's 0–100 for the line's least sure word) a result is flagged for review. */
export const REVIEW_BELOW = 75
/** Below this a line is not read at all: what OCR made of it is mostly noise. */
export const UNREAD_BELOW = 35

/** Gaps of this many character widths or more separate columns in what OCR read (see layoutLines). */
const OCR_COLUMN_GAP = 2.5

/** A page of the document: its text layer, or what OCR read of its image. */
export type DocumentPage =
  | { readonly _tag: "Text"; readonly page: number; readonly text: string }
  | { readonly _tag: "Ocr"; readonly page: number; readonly ocr: OcrPage }

interface OcrLine {
  text: string
  /** The least confidence of the line's numbers (0–100), or of its words when it has none. */
  readonly confidence: number
  /** The line's numbers as OCR read them (digits only) with their confidence: a value's own confidence is its word's. */
  readonly numbers: ReadonlyArray<{ readonly digits: string; readonly confidence: number }>
  /** Something on the line was repaired before reading. */
  repaired: boolean
  /** A digit or a decimal point on the line was repaired. */
  digits: boolean
}

/** OCR's words as the layout's positioned text: y up like a PDF's, so the layout is the same. */
const positioned = (page: OcrPage): Array<PositionedText> =>
  page.words.map((w) => ({
    text: w.text,
    x: w.left,
    y: -w.baseline,
    width: Math.max(1, w.right - w.left),
    height: Math.max(1, w.bottom - w.top),
    confidence: w.confidence
  }))

/** A number with letters OCR put for digits: "4.O", "l2", "S.1", "1O4" (a digit in it, nothing but digits and look-alikes). */
const MISREAD_NUMBER = /^(?=.*\d)[\dOoIlS|.,]+$/
const DIGIT_FOR: Readonly<Record<string, string>> = { O: "0", o: "0", I: "1", l: "1", "|": "1", S: "5" }

const repairNumbers = (line: string): { text: string; repaired: boolean } => {
  let repaired = false
  const text = line.replace(/\S+/g, (token) => {
    if (!MISREAD_NUMBER.test(token) || /^[\d.,]+$/.test(token)) return token
    // not a word that happens to hold a digit: every letter is a look-alike, and it reads as a number once replaced
    const fixed = token.replace(/[OoIlS|]/g, (c) => DIGIT_FOR[c] ?? c)
    if (!/^\d+(?:[.,]\d+)?$/.test(fixed)) return token
    repaired = true
    return fixed
  })
  return { text, repaired }
}

/** The name before the first value: the line's text up to its first digit-led token or wide gap. */
const NAME_PART = /^(\s*)([\p{L}][^\d]*?)(?=\s{2,}|\s+[<>≤≥]?\d|$)/u
/** One short token at the start of a line, then a gap: a speck, if a test's name follows (see repairLine). */
const LEADING_SPECK = /^\s*\S{1,4}\s+(?=\p{L})/u
/** The line's text before its first number, which OCR may have spread over "columns" ("Hemoglobin    Alc"). */
const NAME_UP_TO_NUMBER = /^(\s*)(\p{L}\S*(?:\s+(?![<>≤≥(]?\d)\S+)*?)(?=\s+[<>≤≥(]?\d|\s*$)/u

/**
 * A range whose bounds are the wrong way round because one lost its decimal point ("40 - 11.0",
 * "120 - 16.0"), given the other bound's decimals when that puts it right; ranges spaced
 * unevenly ("0- 99") spaced evenly. Dates ("2026-04-18") have no spaces and are left alone.
 */
const repairRanges = (line: string): { text: string; repaired: boolean } => {
  let repaired = false
  const text = line
    // dashes OCR reads long ("–", "—") or spaced unevenly ("0- 99", "3.5 -5.1")
    .replace(/(?<=\d)(?: *[-–—] *)(?=\d)/g, (dash) => (dash.trim() === "-" && dash.length === 1 ? dash : " - "))
    // a range whose dash was lost: "3.55.1" is 3.5 - 5.1 when only one split gives both bounds the same decimals
    .replace(/(?<![\d.,])(\d+)\.(\d{2,})\.(\d+)(?![\d.,])/g, (whole, a: string, middle: string, c: string) => {
      const splits = [...Array(middle.length - 1).keys()].map((i) => [middle.slice(0, i + 1), middle.slice(i + 1)] as const)
        .filter(([x, y]) => x.length === c.length && Number(`${a}.${x}`) <= Number(`${y}.${c}`))
      const only = splits.length === 1 ? splits[0] : undefined
      if (only === undefined) return whole
      repaired = true
      return `${a}.${only[0]} - ${only[1]}.${c}`
    })
    // a decimal point read as a colon, in a range: "3:5 - 5:1" (a time has two digits after its colon)
    .replace(/(?<![\d:])(\d{1,3})[:;](\d)(?= - \d| *$| +[A-Za-z])|(?<= - )(\d{1,3})[:;](\d)(?![\d:])/g, (_m, a?: string, b?: string, c?: string, d?: string) => {
      repaired = true
      return a !== undefined ? `${a}.${b ?? ""}` : `${c ?? ""}.${d ?? ""}`
    })
    .replace(/(?<![\d.,])(\d+(?:[.,]\d+)?) - (\d+(?:[.,]\d+)?)(?![\d.,])/g, (whole, a: string, b: string) => {
      const low = Number(a.replace(",", "."))
      const high = Number(b.replace(",", "."))
      if (low <= high) return whole
      const da = decimalsOf(a)
      const db = decimalsOf(b)
      if (da === 0 && db > 0) {
        const fixed = shifted(a, db)
        if (Number(fixed) <= high) {
          repaired = true
          return `${fixed} - ${b}`
        }
      }
      if (db === 0 && da > 0) {
        const fixed = shifted(b, da)
        if (low <= Number(fixed)) {
          repaired = true
          return `${a} - ${fixed}`
        }
      }
      return whole
    })
  return { text, repaired }
}

/** A line OCR read, repaired where a repair is unambiguous (see the header); `digits` when a number changed. */
/** Specks OCR reads as marks between columns ("~~", "_", "|", "‘"): nothing a lab prints means anything alone. */
const JUNK = /(?<=\s)[~_|‘’`´"']+(?=\s|$)/g

const repairLine = (text: string): { text: string; repaired: boolean; digits: boolean } => {
  const numbers = repairNumbers(text.replace(JUNK, (junk) => " ".repeat(junk.length)))
  const ranges = repairRanges(numbers.text)
  let out = ranges.text
  let repaired = numbers.repaired || ranges.repaired
  // specks before a test's name (a shadow's edge, the paper's grain at the margin: "hi MCV", "g[RR Platelet",
  // "25 White Blood Cell Count"): dropped when what follows them is a name the lexicon knows, or can repair
  const lead = LEADING_SPECK.exec(out)
  if (lead !== null) {
    const rest = NAME_UP_TO_NUMBER.exec(out.slice(lead[0].length))?.[2] ?? ""
    const known = rest.trim() !== "" && (lookupAnalyte(rest.trim()) !== undefined || repairName(rest) !== undefined)
    if (known && (NAME_UP_TO_NUMBER.exec(out) === null || lookupAnalyte((NAME_UP_TO_NUMBER.exec(out)?.[2] ?? "").trim()) === undefined)) {
      out = " ".repeat(lead[0].length) + out.slice(lead[0].length)
      repaired = true
    }
  }
  let analyte: Analyte | undefined
  const name = NAME_UP_TO_NUMBER.exec(out)
  if (name !== null) {
    const indent = name[1] ?? ""
    const full = name[2] ?? ""
    const firstCell = /^(.*?)(?=\s{2,}|$)/.exec(full)?.[1] ?? full
    const candidates = [...new Set([full, full.replace(/\s*[([].*$/, ""), full.replace(/,.*$/, ""), firstCell])].filter((c) => c.trim() !== "")
    for (const candidate of candidates) {
      analyte = lookupAnalyte(candidate.trim())
      if (analyte !== undefined) break
      const known = repairName(candidate)
      if (known === undefined) continue
      out = indent + known + out.slice(indent.length + candidate.length)
      analyte = lookupAnalyte(known)
      repaired = true
      break
    }
  }
  // units misread beyond recognition: only tokens after a number, that read as nothing else
  const pool = analyte === undefined ? undefined : unitsOf(analyte)
  out = out.replace(/(?<=\d\S*\s+(?:[A-Za-z]{1,2}\s+)?)([^\s\d<>≤≥][^\s]*|\d+[^\s\d.,][^\s]*)/gu, (token) => {
    if (toUcum(token) !== undefined || /^[A-Z]$|^[<>≤≥*]/.test(token)) return token
    const unit = repairUnit(token, pool)
    if (unit === undefined) return token
    repaired = true
    return unit
  })
  return { text: out, repaired, digits: numbers.repaired || ranges.repaired }
}

const key = (page: number, line: number) => `${page}:${line}`

/** The number of decimals a printed number has ("4.0" → 1, "110" → 0). */
const decimalsOf = (printed: string): number => /[.,](\d+)$/.exec(printed)?.[1]?.length ?? 0

interface PrintedRange {
  readonly low?: { readonly value: number; readonly printed: string }
  readonly high?: { readonly value: number; readonly printed: string }
}

const NUMBER = /\d+(?:[.,]\d+)?/g
/** The bounds of a printed range ("4.0 - 11.0", "<200", ">59") as printed. */
const printedRange = (result: ParsedResult): PrintedRange => {
  const numbers = [...result.referenceRange.text.matchAll(NUMBER)].map((m) => m[0])
  const bound = (value: number | undefined) => {
    if (value === undefined) return undefined
    const printed = numbers.find((n) => Number(n.replace(",", ".")) === value)
    return printed === undefined ? undefined : { value, printed }
  }
  const low = bound(result.referenceRange.low)
  const high = bound(result.referenceRange.high)
  return { ...(low === undefined ? {} : { low }), ...(high === undefined ? {} : { high }) }
}

const withinLexicon = (analyte: Analyte | undefined, ucum: string | undefined, low: number | undefined, high: number | undefined): boolean => {
  if (low !== undefined && high !== undefined && low > high) return false
  if (analyte === undefined) return true
  for (const bound of [low, high]) {
    // a lower bound of 0 is how many ranges are printed ("0 - 32"), whatever the test's plausible least
    if (bound === undefined || bound === 0) continue
    if (isPlausible(analyte, bound, ucum) === false) return false
    // a reference range lies inside the critical limits: a "normal" at a critical value is a misread
    if (criticalFlag(analyte, bound, ucum) !== undefined) return false
  }
  return true
}

interface Reading {
  readonly value: number
  readonly low: number | undefined
  readonly high: number | undefined
  /** The printed forms to write back into the line, when a decimal point is restored. */
  readonly rewrite: ReadonlyArray<readonly [string, string]>
}

const shifted = (printed: string, by: number): string => {
  const digits = printed.replace(/[.,]/g, "")
  const decimals = decimalsOf(printed) + by
  const padded = digits.padStart(decimals + 1, "0")
  return decimals === 0 ? padded : `${padded.slice(0, padded.length - decimals)}.${padded.slice(padded.length - decimals)}`
}

/** The ways the printed range may have been printed before OCR lost a decimal point: as read first. */
const rangeReadings = (range: PrintedRange): Array<{ low?: number; high?: number; decimals: number; rewrite: Array<readonly [string, string]> }> => {
  const shiftsOf = (b: PrintedRange["low"]) =>
    b === undefined ? [0] : decimalsOf(b.printed) === 0 && b.printed.length >= 2 ? [0, 1, 2] : [0]
  const out: Array<{ low?: number; high?: number; decimals: number; rewrite: Array<readonly [string, string]> }> = []
  for (const a of shiftsOf(range.low)) {
    for (const b of shiftsOf(range.high)) {
      const low = range.low === undefined ? undefined : shifted(range.low.printed, a)
      const high = range.high === undefined ? undefined : shifted(range.high.printed, b)
      // a restored point gives the bounds the same decimals (labs print both alike)
      if ((a > 0 || b > 0) && low !== undefined && high !== undefined && decimalsOf(low) !== decimalsOf(high)) continue
      const rewrite: Array<readonly [string, string]> = []
      if (a > 0 && range.low !== undefined && low !== undefined) rewrite.push([range.low.printed, low])
      if (b > 0 && range.high !== undefined && high !== undefined) rewrite.push([range.high.printed, high])
      out.push({
        ...(low === undefined ? {} : { low: Number(low.replace(",", ".")) }),
        ...(high === undefined ? {} : { high: Number(high.replace(",", ".")) }),
        decimals: Math.max(low === undefined ? 0 : decimalsOf(low), high === undefined ? 0 : decimalsOf(high)),
        rewrite
      })
    }
  }
  return out
}

/**
 * Where a lost or extra digit puts a value: far below the range (a third of its low bound: "1.2"
 * for 11.2 with 12.0 - 16.0, "17" for 117) or far above it (eight times its high bound, past any
 * real glucose or enzyme rise a lab prints without a critical flag); with no range, anywhere.
 * A real critical value nearer than that (sodium 117 with 135 - 145) is read as printed.
 */
const farFromRange = (value: number, low: number | undefined, high: number | undefined): boolean => {
  if (low === undefined && high === undefined) return true
  if (low !== undefined && low > 0 && value < low / 3) return true
  return high !== undefined && high > 0 && value > high * 8
}

type Side = "below" | "inside" | "above"
const sideOf = (value: number, low: number | undefined, high: number | undefined): Side | undefined => {
  if (low === undefined && high === undefined) return undefined
  if (low !== undefined && value < low) return "below"
  if (high !== undefined && value > high) return "above"
  return "inside"
}
/** The side of the range a printed flag says the value is on (undefined: it does not say). */
const printedSide = (result: ParsedResult): Side | undefined => {
  if (result.flagSource !== "report") return undefined
  switch (result.flag) {
    case "low":
    case "critical_low":
      return "below"
    case "high":
    case "critical_high":
      return "above"
    case "normal":
      return "inside"
    default:
      return undefined
  }
}

/** The printed value as it is on the line: the first of its printed forms after the name. */
const printedValue = (line: string, value: number): string | undefined => {
  for (const m of line.matchAll(NUMBER)) if (Number(m[0].replace(",", ".")) === value) return m[0]
  return undefined
}

type Verdict =
  | { readonly _tag: "Read"; readonly review?: boolean }
  | { readonly _tag: "Repair"; readonly rewrite: ReadonlyArray<readonly [string, string]> }
  | { readonly _tag: "Unread" }

/**
 * A test the lexicon does not know: nothing says what its values can be, so only the line itself
 * can vouch for them. Read (for review) only when a decimal point survived on it — a line where
 * every point was lost ("59" with "40 - 56" for 5.9 and 4.0 - 5.6) looks like any other — the
 * value and each bound of its range have as many decimals, and the printed flag agrees.
 */
const judgeUnknown = (result: ParsedResult, line: string): Verdict => {
  if (typeof result.value !== "number") return { _tag: "Read", review: true }
  const printed = printedValue(line, result.value) ?? String(result.value)
  const range = printedRange(result)
  const bounds = [range.low, range.high].flatMap((b) => (b === undefined ? [] : [decimalsOf(b.printed)]))
  const pointSeen = decimalsOf(printed) > 0 || bounds.some((d) => d > 0)
  if (!pointSeen) return { _tag: "Unread" }
  if (bounds.some((d) => d !== decimalsOf(printed))) return { _tag: "Unread" }
  const said = printedSide(result)
  const side = sideOf(result.value, range.low?.value, range.high?.value)
  if (said !== undefined && side !== undefined && said !== side) return { _tag: "Unread" }
  return { _tag: "Read", review: true }
}

/**
 * Whether a result OCR read can be presented as read: exactly one reading of its value and range
 * (as printed, or with a lost decimal point restored) is plausible for the test and agrees with
 * the printed flag.
 */
const judge = (result: ParsedResult, line: string): Verdict => {
  if (typeof result.value !== "number") return { _tag: "Read" }
  const ucum = result.ucumUnit ?? toUcum(result.unit)
  const analyte = lookupAnalyteForUnit(result.name, ucum)
  if (analyte === undefined) return judgeUnknown(result, line)
  if (result.unit.trim() !== "" && !(ucum !== undefined && unitFits(analyte, ucum))) {
    // a unit the test is not reported in: a misread one, repaired only to one of the test's own; a unit the
    // unit reader does not know at all (mOsm/kg) is left as printed, and the value checked without it
    const unit = repairUnit(result.unit, unitsOf(analyte))
    if (unit !== undefined) return { _tag: "Repair", rewrite: [[result.unit, unit]] }
    if (ucum !== undefined) return { _tag: "Unread" }
  }
  const range = printedRange(result)
  const ranges = rangeReadings(range).filter((r) => withinLexicon(analyte, ucum, r.low, r.high))
  const hasRange = range.low !== undefined || range.high !== undefined
  if (hasRange && ranges.length === 0) return { _tag: "Unread" }
  // the printed range as read, when it passes; else the one restored reading that does
  const asRead = ranges.find((r) => r.rewrite.length === 0)
  const chosen = asRead ?? (ranges.length === 1 ? ranges[0] : undefined)
  if (hasRange && chosen === undefined) return { _tag: "Unread" }
  const printed = printedValue(line, result.value) ?? String(result.value)
  const valueShifts = decimalsOf(printed) === 0 && printed.length >= 2 && (chosen?.decimals ?? 0) > 0
    ? Array.from({ length: (chosen?.decimals ?? 0) + 1 }, (_, i) => i)
    : [0]
  const said = printedSide(result)
  const readings: Array<Reading> = []
  for (const shift of valueShifts) {
    const form = shifted(printed, shift)
    const value = Number(form)
    if (analyte !== undefined && isPlausible(analyte, value, ucum) === false) continue
    const side = sideOf(value, chosen?.low, chosen?.high)
    if (said !== undefined && side !== undefined && said !== side) continue
    // a critical value is where a lost digit lands ("1.2" for 11.2 g/dL): read only when the report prints it as
    // critical too; otherwise it may be the printed value or a misread, and the line is not read either way
    if (
      analyte !== undefined && criticalFlag(analyte, value, ucum) !== undefined && farFromRange(value, chosen?.low, chosen?.high) &&
      !(result.flagSource === "report" && isCriticalFlag(result.flag))
    ) {
      return { _tag: "Unread" }
    }
    // with no printed flag, a restored point must at least not make the value look abnormal when as read it would not be
    readings.push({ value, low: chosen?.low, high: chosen?.high, rewrite: [...(chosen?.rewrite ?? []), ...(shift > 0 ? [[printed, form] as const] : [])] })
  }
  if (readings.length !== 1) return { _tag: "Unread" }
  const only = readings[0]
  if (only === undefined) return { _tag: "Unread" }
  return only.rewrite.length === 0 ? { _tag: "Read" } : { _tag: "Repair", rewrite: only.rewrite }
}

/** Writes restored forms back into the line, each once, after the name (so "40" in a name is left alone). */
const rewriteLine = (line: string, rewrite: ReadonlyArray<readonly [string, string]>): string => {
  let out = line
  const nameEnd = NAME_PART.exec(line)?.[0].length ?? 0
  for (const [from, to] of rewrite) {
    const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    const pattern = new RegExp(`(?<![\\d.,])${escaped}(?![\\d]|[.,]\\d)`, "g")
    let done = false
    out = out.slice(0, nameEnd) + out.slice(nameEnd).replace(pattern, (m) => {
      if (done) return m
      done = true
      return to
    })
  }
  return out
}

/**
 * How sure OCR was of a value: its own word's confidence (the word whose digits are the value's),
 * else the least of the line's numbers. A short word beside it ("0" of "0 - 32") often has a low
 * confidence of its own without the value being in doubt; a wrong bound shows in the checks.
 */
const valueConfidence = (line: OcrLine, value: number | string | undefined): number => {
  if (typeof value !== "number") return line.confidence
  const digits = String(value).replace(/\D/g, "").replace(/^0+(?=\d)/, "")
  const own = line.numbers.filter((n) => n.digits.replace(/^0+(?=\d)/, "") === digits)
  return own.length === 0 ? line.confidence : Math.min(...own.map((n) => n.confidence))
}

const mark = (line: OcrLine, value?: number | string): OcrMark => {
  const confidence = valueConfidence(line, value)
  return { confidence: Math.round(confidence) / 100, corrected: line.repaired, needsReview: line.digits || confidence < REVIEW_BELOW }
}

/**
 * A document's pages: its text pages (a PDF's text layers, by page; none for an image), each
 * replaced by OCR's reading of it where there is one.
 */
export const documentPages = (textPages: ReadonlyArray<string>, ocr: ReadonlyArray<OcrPage>): Array<DocumentPage> => {
  const count = Math.max(textPages.length, ...ocr.map((page) => page.page))
  return Array.from({ length: count }, (_, i): DocumentPage => {
    const read = ocr.find((page) => page.page === i + 1)
    return read === undefined ? { _tag: "Text", page: i + 1, text: textPages[i] ?? "" } : { _tag: "Ocr", page: i + 1, ocr: read }
  })
}

/**
 * Reads a document whose pages are text layers or OCR readings. Results and readings from OCR
 * pages carry `ocr` (confidence, whether repaired, whether to review); a line that cannot be
 * read without a guess is an unread line.
 */
export const readOcrDocument = (pages: ReadonlyArray<DocumentPage>, options: ParseOptions = {}): ParsedReport =>
  readOcrText(pages, options).report

/**
 * readOcrDocument's report, and the document's text as it read it (OCR's lines laid out and
 * repaired): what a model's answer about the same image is checked against (coverage.ts).
 */
export const readOcrText = (pages: ReadonlyArray<DocumentPage>, options: ParseOptions = {}): { readonly report: ParsedReport; readonly text: string } => {
  const ocrLines = new Map<string, OcrLine>()
  const pageTexts = pages.map((page) => {
    if (page._tag === "Text") return page.text
    const laid = layoutLines(positioned(page.ocr), Number.POSITIVE_INFINITY, OCR_COLUMN_GAP)
    return laid
      .map((line, i) => {
        // the numbers' confidence: names and units are checked against the lexicon, numbers only against each other
        const numbers = line.items.filter((item) => /^[<>≤≥(]?\d[\d.,]*[)%]?$/.test(item.text))
        const words = numbers.length > 0 ? numbers : line.items.filter((item) => /[\p{L}\p{N}]/u.test(item.text))
        const confidence = words.length === 0 ? 100 : Math.min(...words.map((w) => w.confidence ?? 100))
        const numberWords = line.items
          .filter((item) => /\d/.test(item.text))
          .map((item) => ({ digits: item.text.replace(/[OoIlS|]/g, (c) => DIGIT_FOR[c] ?? c).replace(/\D/g, ""), confidence: item.confidence ?? 100 }))
        const repaired = repairLine(line.text)
        ocrLines.set(key(page.page, i + 1), { text: repaired.text, confidence, numbers: numberWords, repaired: repaired.repaired, digits: repaired.digits })
        return repaired.text
      })
      .join("\n")
  })
  const textOf = () => pageTexts.join("\n\f")
  /** Results not read (by page, line, name and value: a line may hold a good reading beside a bad one). */
  const refused = new Set<string>()
  /** Results read without the lexicon's checks (a test it does not know): always for review. */
  const toReview = new Set<string>()
  const resultKey = (r: ParsedResult) => `${key(r.page ?? 1, r.line ?? 0)}:${r.name}:${String(r.value)}`

  // read, judge, write back the restorations, read again: twice at most (a restored line is judged as printed then)
  let report = parseLabReport(textOf(), options)
  for (let round = 0; round < 2; round++) {
    let changed = false
    for (const result of report.results) {
      const line = ocrLines.get(key(result.page ?? 1, result.line ?? 0))
      if (line === undefined || refused.has(resultKey(result))) continue
      const verdict = valueConfidence(line, result.value) < UNREAD_BELOW ? { _tag: "Unread" as const } : judge(result, line.text)
      if (verdict._tag === "Read") {
        if (verdict.review === true) toReview.add(resultKey(result))
        continue
      }
      if (verdict._tag === "Repair" && round === 0) {
        line.text = rewriteLine(line.text, verdict.rewrite)
        line.repaired = true
        line.digits ||= verdict.rewrite.some(([from, to]) => /\d/.test(from) && /\d/.test(to))
        const index = pages.findIndex((p) => p.page === (result.page ?? 1))
        const lines = (pageTexts[index] ?? "").split("\n")
        lines[(result.line ?? 1) - 1] = line.text
        pageTexts[index] = lines.join("\n")
        changed = true
        continue
      }
      refused.add(resultKey(result))
    }
    if (!changed) break
    report = parseLabReport(textOf(), options)
  }

  const onOcr = (r: { readonly page?: number | undefined; readonly line?: number | undefined }) => ocrLines.get(key(r.page ?? 1, r.line ?? 0))
  const results = report.results.flatMap((result) => {
    if (refused.has(resultKey(result))) return []
    const line = onOcr(result)
    if (line === undefined) return [result]
    const ocr = mark(line, result.value)
    return [{ ...result, ocr: toReview.has(resultKey(result)) ? { ...ocr, needsReview: true } : ocr }]
  })
  const unread = new Map<string, ParsedUnreadLine>()
  const unreadAt = (page: number, lineNumber: number, line: OcrLine) =>
    unread.set(key(page, lineNumber), { page, line: lineNumber, text: line.text.trim().replace(/\s+/g, " ").slice(0, 300) })
  const vitals = report.vitals.flatMap((vital) => {
    const line = onOcr(vital)
    if (line !== undefined && valueConfidence(line, vital.value) < UNREAD_BELOW) {
      unreadAt(vital.page ?? 1, vital.line ?? 0, line)
      return []
    }
    return [line === undefined ? vital : { ...vital, ocr: mark(line, vital.value) }]
  })
  // a line whose every result was refused is an unread line (one that still holds a result is accounted for)
  const kept = new Set(results.map((r) => key(r.page ?? 1, r.line ?? 0)))
  for (const result of report.results) {
    const at = key(result.page ?? 1, result.line ?? 0)
    const line = onOcr(result)
    if (line !== undefined && refused.has(resultKey(result)) && !kept.has(at)) unreadAt(result.page ?? 1, result.line ?? 0, line)
  }
  const unreadLines = [...report.unreadLines.filter((u) => !unread.has(key(u.page, u.line))), ...unread.values()].sort(
    (a, b) => a.page - b.page || a.line - b.line
  )
  return { report: { ...report, results, vitals, unreadLines }, text: textOf() }
}
