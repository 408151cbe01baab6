/**
 * What the OCR thread (ocrRead.ts) and the main thread (ocrText.ts) say to each other, and what
 * the reader (reader/ocrReading.ts) takes from OCR: plain data, in a module of its own so that the
 * reader and the thread's code need not import each other.
 */
import type { ParsedReport, ParseOptions } from "../reader/types.js"
import type { QuarterTurn } from "./raster.js"

export interface OcrLimits {
  /** Pixels an image (or a scanned page) may have, before any scaling. */
  readonly maxPixels: number
  /** Images or scanned pages in one request. */
  readonly maxPages: number
}

/** An upload as it came (PNG or JPEG bytes), or a scanned PDF page's grey raster (pdfRead.ts). */
export type OcrInput =
  | { readonly _tag: "Encoded"; readonly page: number; readonly bytes: Uint8Array }
  | { readonly _tag: "Raster"; readonly page: number; readonly width: number; readonly height: number; readonly pixels: Uint8Array }

export interface OcrRequest {
  readonly inputs: ReadonlyArray<OcrInput>
  readonly limits: OcrLimits
  /**
   * Also read the pages as a lab report, here in the thread: the document's text pages (a PDF's
   * text layers; empty for an image), of which the OCRed pages take the place, and the reader's options.
   */
  readonly read?: { readonly textPages: ReadonlyArray<string>; readonly options: ParseOptions }
}

/** The reader's report of a document with OCRed pages, and its text as read (reader/ocrReading.ts readOcrText). */
export interface OcrDocumentReading {
  readonly report: ParsedReport
  readonly text: string
}

/**
 * A word as read: its box in the prepared page (pixels, y down), the baseline of its line there,
 * and confidence 0–100 (for a word with a digit, the least of its word's and its characters').
 */
export interface OcrWord {
  readonly text: string
  readonly left: number
  readonly top: number
  readonly right: number
  readonly bottom: number
  readonly baseline: number
  readonly confidence: number
}

export interface OcrPage {
  readonly page: number
  /** The prepared page's size, in pixels. */
  readonly width: number
  readonly height: number
  /** The quarter turn (clockwise) that made the page upright. */
  readonly turn: QuarterTurn
  /** The skew tesseract straightened, in degrees. */
  readonly skewDegrees: number
  /** tesseract's mean confidence over the page, 0–100. */
  readonly confidence: number
  readonly words: ReadonlyArray<OcrWord>
  /** Milliseconds spent on this page (decoding, preparing, recognising). */
  readonly elapsedMs: number
}

export type OcrReply =
  | { readonly _tag: "Ready" }
  /** The pages read; and, when the request asked for it and OCR found words, the document read from them. */
  | { readonly _tag: "Pages"; readonly pages: ReadonlyArray<OcrPage>; readonly reading?: OcrDocumentReading }
  /** An image the decoder cannot read (damaged, not an image, a format we do not take). */
  | { readonly _tag: "Unreadable" }
  | { readonly _tag: "TooComplex"; readonly limit: "scan_pixels" | "scan_pages"; readonly found: number; readonly max: number }
  /** The recogniser failed on this input (its message, for the log: never document text). */
  | { readonly _tag: "Failed"; readonly message: string }
