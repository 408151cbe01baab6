/**
 * Text out of a PDF's text layer, laid out as lines (pdfLayout.ts), read in a worker thread so
 * that a hostile document costs that thread and nothing else: a 122 KB PDF that inflated to
 * 40 MB once took the API's event loop (and /health) with it. The main thread only starts the
 * thread, hands it the bytes and waits, with a deadline; the thread reads within the limits
 * below and answers text, "unreadable" or "over this limit" (pdfRead.ts says what each limit
 * measures and where reading stops).
 *
 * One thread per document, not a pool: a document gets a fresh heap, so its resourceLimits
 * bound that document alone and nothing of it (its text, pdfjs's caches) outlives it in a
 * thread that reads someone else's next; and stopping a runaway reader means terminating its
 * thread, which a pool would then have to replace anyway. The price is starting a thread and
 * loading pdfjs in it for each PDF: about 0.3 s from the Lambda bundle, 1–1.5 s from the
 * sources (where the thread registers tsx first), measured on 2 cores; small against a queued
 * job. At most
 * PDF_MAX_PARALLEL_READS threads run at once in a process, whatever the job concurrency, so
 * that memory stays bounded at that many times the per-thread limits.
 *
 * Scans (extractPdfContent): a page whose text layer has no letter or digit is also read as the
 * image a scanner made of it, for the OCR: the images the page paints, decoded by pdfjs in the
 * same thread (pure JavaScript: no canvas, nothing native, as on Lambda) and composed into one
 * grey raster of the page as displayed (pdfScan.ts), which the thread transfers back. Three more
 * limits bound that: PDF_MAX_SCAN_PAGES pages read as images, PDF_MAX_SCAN_PIXELS pixels a page
 * (each image's declared size, refused before it is decoded; the page's images together; its
 * raster), and PDF_MAX_IMAGE_BYTES of buffers while one page's images are decoded and composed
 * (a budget of its own: the text's decoded-bytes budget is not spent on images, nor raised for
 * them). Decoding takes time too: extractPdfContent's deadline is PDF_CONTENT_TIMEOUT.
 * extractPdfText never decodes an image.
 */
import { Duration, Effect, Semaphore } from "effect"
import { type ComplexityLimit, DocumentTooComplex, DocumentUnreadable } from "../../services/llm.js"
import type { PageScan, PdfReadLimits, PdfReply, PdfRequest } from "./pdfRead.js"
import { pdfWorkerUrl } from "./pdfWorkerUrl.js"
import { isOutOfMemory, readerDefect as threadDefect, startReaderThread, type ThreadEvent as ReaderThreadEvent } from "./readerThread.js"

/** PDFs with more pages than this are refused rather than read. */
export const PDF_MAX_PAGES = 50
/**
 * Byte buffers pdfjs may allocate while reading one document: decoded streams count two to four
 * times their decoded size (see pdfRead.ts), so this admits roughly 16–32 MiB of decoded
 * content. A 50-page text report needs a few MiB.
 */
export const PDF_MAX_DECODED_BYTES = 64 * 1024 * 1024
/**
 * Text items pdfjs may report over the whole document: runs of text and the end-of-line markers
 * it puts between them (a dense page has a few thousand).
 */
export const PDF_MAX_TEXT_ITEMS = 200_000
/**
 * Characters of text a document may give, laid out (50 dense pages are about 400 000). The lab
 * parser reads the text on the main thread, so this also bounds the time it takes there (under
 * a second at this bound, measured on 2 cores).
 */
export const PDF_MAX_TEXT_CHARS = 500_000
/**
 * The reading thread's V8 heap (old generation); over it, Node stops the thread. (Bun, which
 * the project also runs on, ignores resourceLimits: there the other limits are the bound.)
 */
export const PDF_WORKER_HEAP_MB = 256
/**
 * Pages read as images (no text layer, but images painted) in one document (extractPdfContent).
 * Each is a raster of up to PDF_MAX_SCAN_PIXELS bytes held until the OCR has read it: a letter
 * page scanned at 300 dpi is 8.4 MB.
 */
export const PDF_MAX_SCAN_PAGES = 20
/**
 * Pixels of one scanned page: each image as its dictionary declares it (refused before pdfjs
 * decodes it), all the images a page paints together, and the page's raster (which is reduced to
 * this size rather than refused). A letter page at 600 dpi is 33.7 million.
 */
export const PDF_MAX_SCAN_PIXELS = 40_000_000
/**
 * Bytes of buffers (typed arrays of any kind) pdfjs and the composer may allocate while one
 * scanned page's images are decoded and composed. Decoded images live outside the V8 heap, which
 * PDF_WORKER_HEAP_MB does not bound, so this is what bounds them. Measured per pixel of a page:
 * about 10 bytes for a colour JPEG (its decoder's coefficients, planes and RGB output, then the
 * raster), 5 for an 8-bit grey Flate image, 4 for a colour one; so this admits a colour JPEG page
 * of about 20 million pixels (a letter page at 300 dpi is 8.4 million: 81 MiB; A3 at 300 dpi
 * 17.4 million) and Flate, CCITT or JBIG2 pages up to PDF_MAX_SCAN_PIXELS.
 */
export const PDF_MAX_IMAGE_BYTES = 192 * 1024 * 1024
/** Reading a whole document is abandoned after this long (from the moment the thread has it). */
export const PDF_EXTRACTION_TIMEOUT: Duration.Input = "20 seconds"
/**
 * The same for extractPdfContent, which also decodes scans: about 1–1.5 s a page for a colour
 * letter page at 300 dpi (0.4–0.6 s at 150 dpi), measured on 2 cores; a 20-page 300-dpi scan
 * took 25–31 s.
 */
export const PDF_CONTENT_TIMEOUT: Duration.Input = "60 seconds"
/** Reading threads running at once in this process. */
export const PDF_MAX_PARALLEL_READS = 2
/** Starting a thread and loading pdfjs in it; longer means the reader itself is broken. */
const THREAD_START_TIMEOUT: Duration.Input = "60 seconds"

export interface PdfTextOptions {
  readonly maxPages?: number
  readonly maxDecodedBytes?: number
  readonly maxTextItems?: number
  readonly maxTextChars?: number
  /** extractPdfContent only (extractPdfText reads no image). */
  readonly maxScanPages?: number
  /** extractPdfContent only. */
  readonly maxScanPixels?: number
  /** extractPdfContent only. */
  readonly maxImageBytes?: number
  readonly heapMb?: number
  readonly timeout?: Duration.Input
}

export type { PageScan } from "./pdfRead.js"

/** What extractPdfContent reads: the text (pages separated by "\n\f"), the images of the pages without a text layer, the page count. */
export interface PdfContent {
  /** Every page's laid-out text, in order, separated by "\n\f"; a page without a text layer is empty here. */
  readonly text: string
  /** The image of each page that has no text layer but paints images, in page order (grey, `width × height` bytes). */
  readonly scans: ReadonlyArray<PageScan>
  readonly pageCount: number
}

const readers = Semaphore.makeUnsafe(PDF_MAX_PARALLEL_READS)

type ThreadEvent = ReaderThreadEvent<PdfReply>

const readerDefect = (event: ThreadEvent, when: string) => threadDefect("PDF reader", event, when)

const MIB = 1024 * 1024

const tooComplex = (limit: ComplexityLimit, message: string) => new DocumentTooComplex({ message, limit })

const pdfUnreadable = () =>
  new DocumentUnreadable({ message: "The PDF could not be read: it is damaged, encrypted or not a PDF.", reason: "PDF_UNREADABLE" })

const millions = (pixels: number) => `${Math.round(pixels / 100_000) / 10} million`

const noTextLayer = () =>
  new DocumentUnreadable({
    message: "The PDF has no text layer (it looks scanned); reading it needs the Bedrock provider (LLM_PROVIDER=bedrock).",
    reason: "NO_TEXT_LAYER"
  })

const noTextNorImage = () =>
  new DocumentUnreadable({
    message:
      "The PDF has neither a text layer nor a page image to read (its text may be drawn as shapes); reading it needs the Bedrock provider (LLM_PROVIDER=bedrock).",
    reason: "NO_TEXT_LAYER"
  })

/**
 * One document read in its own thread: its text and, with `scans`, the images of its pages
 * without a text layer. Fails with what the thread measured; no check of what was read.
 */
const readDocument = (
  bytes: Uint8Array,
  options: PdfTextOptions,
  scans: boolean
): Effect.Effect<PdfContent, DocumentUnreadable | DocumentTooComplex> => {
  const limits: PdfReadLimits = {
    maxPages: options.maxPages ?? PDF_MAX_PAGES,
    maxDecodedBytes: options.maxDecodedBytes ?? PDF_MAX_DECODED_BYTES,
    maxTextItems: options.maxTextItems ?? PDF_MAX_TEXT_ITEMS,
    maxTextChars: options.maxTextChars ?? PDF_MAX_TEXT_CHARS,
    maxScanPages: options.maxScanPages ?? PDF_MAX_SCAN_PAGES,
    maxScanPixels: options.maxScanPixels ?? PDF_MAX_SCAN_PIXELS,
    maxImageBytes: options.maxImageBytes ?? PDF_MAX_IMAGE_BYTES
  }
  const heapMb = options.heapMb ?? PDF_WORKER_HEAP_MB
  const timeout = Duration.fromInputUnsafe(options.timeout ?? (scans ? PDF_CONTENT_TIMEOUT : PDF_EXTRACTION_TIMEOUT))

  const answer = (event: ThreadEvent): Effect.Effect<PdfContent, DocumentUnreadable | DocumentTooComplex> => {
    if (event._tag === "Error" && isOutOfMemory(event.error)) {
      return Effect.fail(tooComplex("memory", `Reading the PDF needed more than ${heapMb} MB of memory.`))
    }
    if (event._tag !== "Message") return readerDefect(event, "while reading")
    const reply = event.reply
    switch (reply._tag) {
      case "Text":
        return Effect.succeed({ text: reply.text, scans: reply.scans, pageCount: reply.pageCount })
      case "Unreadable":
        return Effect.fail(pdfUnreadable())
      case "TooComplex":
        switch (reply.limit) {
          case "pages":
            return Effect.fail(tooComplex("pages", `The PDF has ${reply.found} pages; at most ${reply.max} can be read.`))
          case "decoded_bytes":
            return Effect.fail(
              tooComplex("decoded_bytes", `The PDF's content expands to more than can be read (over ${Math.round(reply.max / MIB)} MiB of buffers).`)
            )
          case "text_items":
            return Effect.fail(tooComplex("text_items", `The PDF has more than ${reply.max} pieces of text.`))
          case "text_length":
            return Effect.fail(tooComplex("text_length", `The PDF has more than ${reply.max} characters of text.`))
          case "scan_pages":
            return Effect.fail(
              tooComplex("scan_pages", `The PDF has more than ${reply.max} scanned pages (pages without text); at most ${reply.max} can be read.`)
            )
          case "scan_pixels":
            return Effect.fail(
              tooComplex("scan_pixels", `A scanned page of the PDF has more image pixels than can be read (over ${millions(reply.max)}).`)
            )
          case "image_bytes":
            // the images' own budget, reported as the decoded-bytes bound it stands beside
            return Effect.fail(
              tooComplex(
                "decoded_bytes",
                `A scanned page of the PDF decodes to more than can be read (over ${Math.round(reply.max / MIB)} MiB of image buffers).`
              )
            )
        }
    }
    return readerDefect(event, "while reading")
  }

  const read = Effect.gen(function* () {
    const thread = yield* startReaderThread<PdfReply>(pdfWorkerUrl, heapMb)
    const ready = yield* thread.next.pipe(Effect.timeout(THREAD_START_TIMEOUT), Effect.orDie)
    if (!(ready._tag === "Message" && ready.reply._tag === "Ready")) return yield* readerDefect(ready, "while starting")
    // The thread gets a copy, transferred (not cloned): the caller keeps its own bytes (and zeroes
    // them), the copy belongs to the thread and goes with it when it is terminated.
    const copy = new Uint8Array(bytes)
    thread.worker.postMessage({ bytes: copy, limits, scans } satisfies PdfRequest, [copy.buffer])
    const event = yield* thread.next.pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(tooComplex("time", `Reading the PDF took longer than ${Duration.format(timeout)}.`))
      })
    )
    return yield* answer(event)
  })

  return readers.withPermits(1)(Effect.scoped(read)).pipe(
    Effect.tapError((error) =>
      error._tag === "DocumentTooComplex" ? Effect.annotateCurrentSpan("pdf.limit", error.limit) : Effect.void
    )
  )
}

/**
 * Extracts the text of every page, laid out as lines; pages are separated by a blank line.
 * Fails with DocumentUnreadable PDF_UNREADABLE (damaged, encrypted, not a PDF) or NO_TEXT_LAYER
 * (a scan: only the Bedrock provider can read it), or with DocumentTooComplex when the document
 * goes over a limit: pages, decoded_bytes, text_items, text_length, memory or time. A reader
 * that fails by itself (its thread does not start or crashes) is a defect. Reads no image (the
 * scan limits of `options` do not apply): extractPdfContent does.
 */
export const extractPdfText = (
  bytes: Uint8Array,
  options: PdfTextOptions = {}
): Effect.Effect<string, DocumentUnreadable | DocumentTooComplex> =>
  Effect.flatMap(readDocument(bytes, options, false), ({ text }) =>
    hasText(text) ? Effect.succeed(text) : Effect.fail(noTextLayer()))

/**
 * What extractPdfText reads, and the image of every page without a text layer (no letter or
 * digit in it) that paints images, for the OCR. Fails like extractPdfText, NO_TEXT_LAYER only
 * when the document gives neither text nor a page image (text drawn as paths, blank pages), and
 * with DocumentTooComplex scan_pages, scan_pixels, or decoded_bytes (a page's image buffers over
 * maxImageBytes) for its images.
 */
export const extractPdfContent = (
  bytes: Uint8Array,
  options: PdfTextOptions = {}
): Effect.Effect<PdfContent, DocumentUnreadable | DocumentTooComplex> =>
  Effect.flatMap(readDocument(bytes, options, true), (content) =>
    hasText(content.text) || content.scans.length > 0 ? Effect.succeed(content) : Effect.fail(noTextNorImage()))

const hasText = (text: string) => /[\p{L}\p{N}]/u.test(text)
