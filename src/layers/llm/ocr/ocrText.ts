/**
 * OCR of photos and scanned pages, off the event loop: one worker thread per document (like the
 * PDF reader, pdfText.ts, and for the same reasons: a fresh heap per document, and a runaway
 * reading is stopped by terminating its thread), which decodes, prepares and recognises each
 * page (ocrRead.ts) and answers positioned words. tesseract.js runs its recogniser in a thread of
 * its own under that one, so terminating the document's thread stops both.
 *
 * Bounds: pixels per image or page (before scaling), pages per document, a deadline that grows
 * with the pages, the thread's heap; and at most OCR_MAX_PARALLEL_READS documents at once in a
 * process, so that a burst of photos costs that many cores and no more — the API's own requests
 * keep the rest (bench/ocrLoad.ts measures it).
 *
 * Cost, measured on 2 cores from the sources: about 0.5 s to start the thread and load the
 * model, then 2–4 s a page (a letter page at 150–300 dpi), most of it in recognition.
 */
import { Duration, Effect, Semaphore } from "effect"
import { DocumentTooComplex, DocumentUnreadable } from "../../../services/llm.js"
import type { ParseOptions } from "../reader/types.js"
import type { OcrDocumentReading, OcrInput, OcrPage, OcrReply, OcrRequest } from "./ocrRead.js"
import { isOutOfMemory, readerDefect as threadDefect, startReaderThread, type ThreadEvent as ReaderThreadEvent } from "../readerThread.js"
import { OCR_MAX_PAGES, OCR_MAX_PIXELS } from "./limits.js"
import { ocrWorkerUrl } from "./ocrWorkerUrl.js"

export { OCR_MAX_PAGES, OCR_MAX_PIXELS } from "./limits.js"

/** The deadline: this much for the thread and the first page, and PER_PAGE for each further one. */
export const OCR_BASE_TIMEOUT: Duration.Input = "60 seconds"
export const OCR_PER_PAGE_TIMEOUT: Duration.Input = "25 seconds"
/** The OCR thread's V8 heap (old generation); the decoded pixels and tesseract's memory are outside it (see limits.ts). */
export const OCR_WORKER_HEAP_MB = 512
/** Documents read at once in this process. */
export const OCR_MAX_PARALLEL_READS = 1
/** Starting the thread and loading the model; longer means the reader itself is broken. */
const THREAD_START_TIMEOUT: Duration.Input = "60 seconds"

export interface OcrOptions {
  readonly maxPixels?: number
  readonly maxPages?: number
  readonly timeout?: Duration.Input
  readonly heapMb?: number
}

export type { OcrDocumentReading, OcrInput, OcrPage, OcrWord } from "./ocrRead.js"

const readers = Semaphore.makeUnsafe(OCR_MAX_PARALLEL_READS)

type ThreadEvent = ReaderThreadEvent<OcrReply>

const readerDefect = (event: ThreadEvent, when: string) => threadDefect("OCR reader", event, when)

type Pages = Extract<OcrReply, { _tag: "Pages" }>

/**
 * Reads photos or scanned pages (a Raster input's pixels are transferred to the thread: the
 * caller's buffer is detached afterwards). Fails with DocumentUnreadable IMAGE_UNREADABLE (not an image it
 * can decode) or DocumentTooComplex (scan_pixels, scan_pages, memory, time). A reader that fails
 * by itself (its thread does not start or crashes) is a defect.
 */
export const recognise = (
  inputs: ReadonlyArray<OcrInput>,
  options: OcrOptions = {}
): Effect.Effect<ReadonlyArray<OcrPage>, DocumentUnreadable | DocumentTooComplex> => Effect.map(run(inputs, undefined, options), (reply) => reply.pages)

/**
 * recognise, and the document read as a lab report from its pages (reader/ocrReading.ts), in the
 * OCR thread too: `textPages` are the document's text layers by page (none for an image), whose
 * OCRed pages take the place of. No reading when OCR found no words.
 */
export const recogniseDocument = (
  inputs: ReadonlyArray<OcrInput>,
  read: { readonly textPages: ReadonlyArray<string>; readonly options: ParseOptions },
  options: OcrOptions = {}
): Effect.Effect<{ readonly pages: ReadonlyArray<OcrPage>; readonly reading: OcrDocumentReading | undefined }, DocumentUnreadable | DocumentTooComplex> =>
  Effect.map(run(inputs, read, options), (reply) => ({ pages: reply.pages, reading: reply.reading }))

const run = (
  inputs: ReadonlyArray<OcrInput>,
  read: OcrRequest["read"],
  options: OcrOptions
): Effect.Effect<Pages, DocumentUnreadable | DocumentTooComplex> => {
  const limits = { maxPixels: options.maxPixels ?? OCR_MAX_PIXELS, maxPages: options.maxPages ?? OCR_MAX_PAGES }
  const heapMb = options.heapMb ?? OCR_WORKER_HEAP_MB
  const timeout = Duration.fromInputUnsafe(
    options.timeout ??
      Duration.sum(
        Duration.fromInputUnsafe(OCR_BASE_TIMEOUT),
        Duration.times(Duration.fromInputUnsafe(OCR_PER_PAGE_TIMEOUT), Math.max(0, Math.min(inputs.length, limits.maxPages) - 1))
      )
  )

  const answer = (event: ThreadEvent): Effect.Effect<Pages, DocumentUnreadable | DocumentTooComplex> => {
    if (event._tag === "Error" && isOutOfMemory(event.error)) {
      return Effect.fail(new DocumentTooComplex({ message: `Reading the image needed more than ${heapMb} MB of memory.`, limit: "memory" }))
    }
    if (event._tag !== "Message") return readerDefect(event, "while reading")
    const reply = event.reply
    switch (reply._tag) {
      case "Pages":
        return Effect.succeed(reply)
      case "Unreadable":
        return Effect.fail(new DocumentUnreadable({ message: "The image could not be decoded.", reason: "IMAGE_UNREADABLE" }))
      case "Failed":
        // the recogniser's own failure on this image: logged for us, and the job fails as unreadable (retrying reads the same pixels)
        return Effect.logWarning("OCR failed on an image").pipe(
          Effect.annotateLogs({ "ocr.failure": reply.message }),
          Effect.andThen(Effect.fail(new DocumentUnreadable({ message: "The image could not be read.", reason: "IMAGE_UNREADABLE" })))
        )
      case "TooComplex":
        return Effect.fail(
          new DocumentTooComplex({
            message: reply.limit === "scan_pages"
              ? `The document has ${reply.found} pages to read from images; at most ${reply.max} can be read.`
              : `The image has ${(reply.found / 1e6).toFixed(1)} million pixels; at most ${reply.max / 1e6} million can be read.`,
            limit: reply.limit
          })
        )
    }
    return readerDefect(event, "while reading")
  }

  const readDocument = Effect.gen(function* () {
    if (inputs.length > limits.maxPages) {
      return yield* new DocumentTooComplex({
        message: `The document has ${inputs.length} pages to read from images; at most ${limits.maxPages} can be read.`,
        limit: "scan_pages"
      })
    }
    const thread = yield* startReaderThread<OcrReply>(ocrWorkerUrl, heapMb)
    const ready = yield* thread.next.pipe(Effect.timeout(THREAD_START_TIMEOUT), Effect.orDie)
    if (!(ready._tag === "Message" && ready.reply._tag === "Ready")) return yield* readerDefect(ready, "while starting")
    // an upload's bytes are copied (the caller keeps, and zeroes, its own); a scanned page's raster is the
    // PDF reader's, handed on: both are transferred, not cloned, and go with the thread
    const copies = inputs.map((input): OcrInput => (input._tag === "Encoded" ? { ...input, bytes: new Uint8Array(input.bytes) } : input))
    const transfer = copies.map((input) => (input._tag === "Encoded" ? input.bytes.buffer : input.pixels.buffer))
    const request: OcrRequest = read === undefined ? { inputs: copies, limits } : { inputs: copies, limits, read }
    thread.worker.postMessage(request, transfer as Array<ArrayBuffer>)
    const event = yield* thread.next.pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(new DocumentTooComplex({ message: `Reading the image took longer than ${Duration.format(timeout)}.`, limit: "time" }))
      })
    )
    return yield* answer(event)
  })

  return readers.withPermits(1)(Effect.scoped(readDocument)).pipe(
    Effect.withSpan("serenya.ocr", { attributes: { "serenya.ocr.pages": inputs.length } }),
    Effect.tapError((error) => (error._tag === "DocumentTooComplex" ? Effect.annotateCurrentSpan("ocr.limit", error.limit) : Effect.void))
  )
}
