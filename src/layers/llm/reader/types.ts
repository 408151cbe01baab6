/**
 * What the reader returns: the encoded side of the LLM schemas (src/services/llm.ts), so a
 * read document decodes as it is.
 */
import type { DocumentType, FlagSource, ResultFlag, VitalKind } from "../../../services/llm.js"

export interface ParsedRange {
  readonly low?: number | undefined
  readonly high?: number | undefined
  readonly text: string
}

/** How a result or reading read from an image was read (see ocrReading.ts); absent for text. */
export interface OcrMark {
  /** The least confidence of the words on its line, 0–1. */
  readonly confidence: number
  /** A name, unit, digit or decimal point on its line was repaired before it was read. */
  readonly corrected: boolean
  /** Low confidence or repaired: worth a look at the original before acting on it. */
  readonly needsReview: boolean
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
  readonly ocr?: OcrMark | undefined
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
  readonly ocr?: OcrMark | undefined
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
