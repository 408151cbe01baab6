/**
 * OCR of photos and scanned pages, off the event loop, in a worker thread (like the PDF reader,
 * pdfText.ts: a runaway reading is stopped by terminating its thread), which decodes, prepares
 * and recognises each page (ocrRead.ts) and answers positioned words — and, when asked, the
 * report read from them. tesseract.js runs its recogniser in a thread of its own under that one,
 * so terminating the thread stops both. Unlike the PDF reader's, the thread is kept from one
 * document to the next while it is sound (see OCR_THREAD_IDLE).
 *
 * Bounds: pixels per image or page (before scaling), pages per document, a deadline that grows
 * with the pages, the thread's heap; and at most OCR_MAX_PARALLEL_READS documents at once in a
 * process, so that a burst of photos costs that many cores and no more — the API's own requests
 * keep the rest (bench/ocrLoad.ts measures it).
 *
 * Cost, measured on 2 cores from the sources: about 0.5 s to start the thread and load the
 * model, then 2–4 s a page (a letter page at 150–300 dpi), most of it in recognition.
 */
import { Duration, Effect, Exit, Semaphore } from "effect"
import { DocumentTooComplex, DocumentUnreadable } from "../../../services/llm.js"
import type { ParseOptions } from "../reader/types.js"
import type { OcrDocumentReading, OcrInput, OcrPage, OcrReply, OcrRequest } from "./ocrTypes.js"
import {
  closeReaderThread,
  isOutOfMemory,
  openReaderThread,
  type ReaderThread,
  readerDefect as threadDefect,
  type ThreadEvent as ReaderThreadEvent
} from "../readerThread.js"
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

export type { OcrDocumentReading, OcrInput, OcrPage, OcrWord } from "./ocrTypes.js"

const readers = Semaphore.makeUnsafe(OCR_MAX_PARALLEL_READS)

type ThreadEvent = ReaderThreadEvent<OcrReply>

const readerDefect = (event: ThreadEvent, when: string) => threadDefect("OCR reader", event, when)

/**
 * The OCR thread is kept between documents: starting one costs about 0.5 s, and V8 compiles
 * tesseract's WebAssembly again in every new thread, about 1.3 s of a core (bench/ocrLoad.ts),
 * on V8's own threads at the API's priority. A kept thread is ended after OCR_THREAD_IDLE with
 * nothing to read (its memory back to the system), after OCR_THREAD_MAX_DOCUMENTS documents (a
 * fresh heap now and then), and whenever a document does not end in an answer (deadline,
 * interruption, crash, the recogniser's own failure). It holds nothing of a document once it
 * has answered: the request's buffers were transferred to it and are dropped with the reply.
 */
export const OCR_THREAD_IDLE: Duration.Input = "30 seconds"
export const OCR_THREAD_MAX_DOCUMENTS = 50

interface KeptThread {
  readonly thread: ReaderThread<OcrReply>
  readonly heapMb: number
  /** It said Ready (the recogniser is loaded). */
  ready: boolean
  documents: number
  idle?: ReturnType<typeof setTimeout>
}

/** At most one idle thread (OCR_MAX_PARALLEL_READS threads are busy at most). */
let idleThread: KeptThread | undefined

/** The idle thread if it is sound and has this heap limit; else a new thread. */
const takeThread = (heapMb: number): Effect.Effect<KeptThread> =>
  Effect.gen(function* () {
    const kept = idleThread
    idleThread = undefined
    if (kept !== undefined) {
      clearTimeout(kept.idle)
      // an idle thread has nothing to say: if it did (it crashed, exited), it is not used
      if (kept.heapMb === heapMb && !kept.thread.exited() && !(yield* kept.thread.pending)) {
        kept.thread.worker.ref()
        return kept
      }
      yield* closeReaderThread(kept.thread)
    }
    return { thread: yield* openReaderThread<OcrReply>(ocrWorkerUrl, heapMb), heapMb, ready: false, documents: 0 }
  })

const keepThread = (kept: KeptThread): Effect.Effect<void> =>
  Effect.suspend(() => {
    kept.documents += 1
    if (kept.documents >= OCR_THREAD_MAX_DOCUMENTS || idleThread !== undefined) return closeReaderThread(kept.thread)
    // an idle thread does not keep the process alive, nor does its timer
    kept.thread.worker.unref()
    kept.idle = setTimeout(() => {
      if (idleThread === kept) {
        idleThread = undefined
        void kept.thread.worker.terminate()
      }
    }, Duration.toMillis(Duration.fromInputUnsafe(OCR_THREAD_IDLE)))
    kept.idle.unref()
    idleThread = kept
    return Effect.void
  })

/** An answer after which the thread is sound: pages, or the document's own fault found before recognising. */
const answeredWell = (event: ThreadEvent): boolean =>
  event._tag === "Message" && (event.reply._tag === "Pages" || event.reply._tag === "Unreadable" || event.reply._tag === "TooComplex")

/** Ends the idle OCR thread now (tests; a process that wants its memory back). */
export const releaseIdleOcrThread = (): Promise<void> => {
  const kept = idleThread
  idleThread = undefined
  if (kept === undefined) return Promise.resolve()
  clearTimeout(kept.idle)
  return kept.thread.worker.terminate().then(() => undefined)
}

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
    const event = yield* Effect.acquireUseRelease(
      takeThread(heapMb),
      (kept) =>
        Effect.gen(function* () {
          if (!kept.ready) {
            const ready = yield* kept.thread.next.pipe(Effect.timeout(THREAD_START_TIMEOUT), Effect.orDie)
            if (!(ready._tag === "Message" && ready.reply._tag === "Ready")) return yield* readerDefect(ready, "while starting")
            kept.ready = true
          }
          // an upload's bytes are copied (the caller keeps, and zeroes, its own); a scanned page's raster is the
          // PDF reader's, handed on: both are transferred, not cloned, and go with the thread
          const copies = inputs.map((input): OcrInput => (input._tag === "Encoded" ? { ...input, bytes: new Uint8Array(input.bytes) } : input))
          const transfer = copies.map((input) => (input._tag === "Encoded" ? input.bytes.buffer : input.pixels.buffer))
          const request: OcrRequest = read === undefined ? { inputs: copies, limits } : { inputs: copies, limits, read }
          kept.thread.worker.postMessage(request, transfer as Array<ArrayBuffer>)
          return yield* kept.thread.next.pipe(
            Effect.timeoutOrElse({
              duration: timeout,
              orElse: () =>
                Effect.fail(new DocumentTooComplex({ message: `Reading the image took longer than ${Duration.format(timeout)}.`, limit: "time" }))
            })
          )
        }),
      // kept for the next document only when it answered as a reader does; anything else (a deadline, an
      // interruption, a crash, the recogniser's own failure) ends it, and its heap with it
      (kept, exit) => (Exit.isSuccess(exit) && answeredWell(exit.value) ? keepThread(kept) : closeReaderThread(kept.thread))
    )
    return yield* answer(event)
  })

  return readers.withPermits(1)(readDocument).pipe(
    Effect.withSpan("serenya.ocr", { attributes: { "serenya.ocr.pages": inputs.length } }),
    Effect.tapError((error) => (error._tag === "DocumentTooComplex" ? Effect.annotateCurrentSpan("ocr.limit", error.limit) : Effect.void))
  )
}
