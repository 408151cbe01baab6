/**
 * The coverage check on a model's answer, for documents with text (plain text, a PDF's text
 * layer): the offline reader says which lines hold results, and every one of them must be
 * accounted for by a result the model returned (or listed by it as unread). A returned result
 * must be printed in the document: its value on a line, its name on that line or just above it
 * (wrapped names, one block per test). What the model left out is quoted back to it once; what
 * is still missing after that becomes an unread line, so nothing disappears in silence; what it
 * invented is refused.
 */
import { type InterpretedDocument, LabResult } from "../../../services/llm.js"
import { positionLines } from "./positioned.js"
import { parseLabReport } from "./report.js"
import type { ParsedReport, ParsedUnreadLine } from "./types.js"

export interface Coverage {
  /** Results found in the document, each with the page and line its value is printed on. */
  readonly kept: ReadonlyArray<LabResult>
  /** Results whose value (with its name) is printed nowhere in the document. */
  readonly invented: ReadonlyArray<LabResult>
  /** Lines that hold results the answer did not account for. */
  readonly missing: ReadonlyArray<ParsedUnreadLine>
}

const key = (page: number, line: number) => `${page}:${line}`

/** The ways a number may be printed: 5.9, 5,9, 5.90, 1250, 1,250. */
const printedForms = (value: number): ReadonlyArray<string> => {
  const forms = new Set<string>([String(value)])
  for (let digits = 1; digits <= 3; digits++) forms.add(value.toFixed(digits))
  for (const form of [...forms]) {
    if (form.includes(".")) forms.add(form.replace(".", ","))
    if (/^\d{4,}$/.test(form)) forms.add(form.replace(/\B(?=(\d{3})+(?!\d))/g, ","))
  }
  return [...forms]
}

/** A test for "this value is printed on the line", built once per result (not once per line it is tried on). */
const valueMatcher = (value: number | string): ((line: string) => boolean) => {
  if (typeof value === "string") {
    const wanted = value.trim().toLowerCase().replace(/\s+/g, " ")
    return (line) => wanted !== "" && line.toLowerCase().replace(/\s+/g, " ").includes(wanted)
  }
  // the number as a whole token: 5.9 is not in 15.9 or 5.95
  const forms = printedForms(value).map((form) => form.replace(/[.,]/g, (c) => `\\${c}`))
  const pattern = new RegExp(String.raw`(?<![\d.,])(?:${forms.join("|")})(?![\d]|[.,]\d)`)
  return (line) => pattern.test(line)
}

const words = (s: string) => s.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "").match(/\p{L}[\p{L}\p{N}]+|\d+\p{L}+/gu) ?? []

/** Some word of the name (two characters or more) is on one of the lines. */
const nameNear = (name: string, lines: ReadonlyArray<string>): boolean => {
  const mine = words(name)
  if (mine.length === 0) return false
  const near = new Set(lines.flatMap(words))
  return mine.some((w) => near.has(w))
}

export interface CoverageOptions {
  /**
   * The text is what OCR read of an image, not the document's own text: a value the model read
   * from the image may be printed differently in OCR's reading (a lost decimal point, a digit
   * misread), so a result whose name is on a line is kept even where its value is not; only a
   * result whose name is nowhere is refused.
   */
  readonly ocr?: boolean
  /** The lines that hold results, as the offline reader found them (default: parseLabReport of the text). */
  readonly reference?: ParsedReport
}

export const checkCoverage = (text: string, document: InterpretedDocument, options: CoverageOptions = {}): Coverage => {
  // numbered exactly as the reader numbers them
  const lines = positionLines(text.replace(/\r\n?/g, "\n"))
  const index = new Map(lines.map((l, i) => [key(l.page, l.line), i]))
  const at = (i: number) => lines[i]?.text ?? ""

  /** The line that carries the result: the model's own position when it checks out, else the first that does. */
  const supportOf = (result: LabResult, taken: ReadonlySet<number>): number | undefined => {
    const valueOn = valueMatcher(result.value)
    const supports = (i: number) => valueOn(at(i)) && nameNear(result.name, [at(i), at(i - 1), at(i - 2), at(i - 3)])
    const claimed = result.line === undefined ? undefined : index.get(key(result.page ?? 1, result.line))
    if (claimed !== undefined && supports(claimed)) return claimed
    let fallback: number | undefined
    for (let i = 0; i < lines.length; i++) {
      if (!supports(i)) continue
      if (!taken.has(i)) return i
      fallback ??= i
    }
    if (fallback !== undefined || options.ocr !== true) return fallback
    // OCR's reading of the value may differ from the model's: the line that names the test will do
    const named = (i: number) => nameNear(result.name, [at(i)])
    if (claimed !== undefined && named(claimed)) return claimed
    for (let i = 0; i < lines.length; i++) if (named(i) && !taken.has(i)) return i
    return undefined
  }

  const kept: Array<LabResult> = []
  const invented: Array<LabResult> = []
  const covered = new Set<number>()
  for (const result of document.results) {
    const i = supportOf(result, covered)
    const line = i === undefined ? undefined : lines[i]
    if (i === undefined || line === undefined) {
      invented.push(result)
      continue
    }
    covered.add(i)
    kept.push(result.page === line.page && result.line === line.line ? result : new LabResult({ ...result, page: line.page, line: line.line }))
  }
  for (const unread of document.unreadLines) {
    const i = index.get(key(unread.page, unread.line))
    if (i !== undefined) covered.add(i)
  }
  // vitals are accounted for by their readings' lines: the line the answer names, else the first line not yet
  // accounted for that prints the reading ("128/84" on it)
  for (const vital of document.vitals) {
    const claimed = vital.line === undefined ? undefined : index.get(key(vital.page ?? 1, vital.line))
    const valueOn = valueMatcher(vital.value)
    const diastolicOn = vital.diastolic === undefined ? () => true : valueMatcher(vital.diastolic)
    const i = claimed ?? lines.findIndex((_, k) => !covered.has(k) && valueOn(at(k)) && diastolicOn(at(k)))
    if (i >= 0) covered.add(i)
  }

  // the lines the offline reader finds results or vitals readings on, or cannot read
  const reference = options.reference ?? parseLabReport(text)
  const expected = [
    ...[...reference.results, ...reference.vitals].map((r) => ({ page: r.page ?? 1, line: r.line ?? 0 })),
    ...reference.unreadLines
  ]
  const missing: Array<ParsedUnreadLine> = []
  const seen = new Set<string>()
  for (const position of expected) {
    const k = key(position.page, position.line)
    const i = index.get(k)
    if (i === undefined || covered.has(i) || seen.has(k)) continue
    seen.add(k)
    missing.push({ page: position.page, line: position.line, text: at(i).trim().replace(/\s+/g, " ").slice(0, 300) })
  }
  missing.sort((a, b) => a.page - b.page || a.line - b.line)
  return { kept, invented, missing }
}
