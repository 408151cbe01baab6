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
 */
import { Duration, Effect, Queue, Semaphore } from "effect"
import { Worker } from "node:worker_threads"
import { type ComplexityLimit, DocumentTooComplex, DocumentUnreadable } from "../../services/llm.js"
import type { PdfReadLimits, PdfReply, PdfRequest } from "./pdfRead.js"
import { pdfWorkerUrl } from "./pdfWorkerUrl.js"

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
/** Reading a whole document is abandoned after this long (from the moment the thread has it). */
export const PDF_EXTRACTION_TIMEOUT: Duration.Input = "20 seconds"
/** Reading threads running at once in this process. */
export const PDF_MAX_PARALLEL_READS = 2
/** Starting a thread and loading pdfjs in it; longer means the reader itself is broken. */
const THREAD_START_TIMEOUT: Duration.Input = "60 seconds"

export interface PdfTextOptions {
  readonly maxPages?: number
  readonly maxDecodedBytes?: number
  readonly maxTextItems?: number
  readonly maxTextChars?: number
  readonly heapMb?: number
  readonly timeout?: Duration.Input
}

const readers = Semaphore.makeUnsafe(PDF_MAX_PARALLEL_READS)

type ThreadEvent =
  | { readonly _tag: "Message"; readonly reply: PdfReply }
  | { readonly _tag: "Error"; readonly error: unknown }
  | { readonly _tag: "Exit"; readonly code: number }

/**
 * A reading thread for one document, terminated when the scope closes (answered, timed out,
 * interrupted): termination stops it even in the middle of synchronous work and frees its heap
 * and buffers. `execArgv: []`: the thread needs none of the parent's flags, and inheriting
 * `--import tsx` would load tsx a second time (the bootstrap registers it when needed).
 */
const startThread = (heapMb: number) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const events = yield* Queue.unbounded<ThreadEvent>()
      const worker = new Worker(pdfWorkerUrl, {
        execArgv: [],
        resourceLimits: { maxOldGenerationSizeMb: heapMb }
      })
      worker.on("message", (reply: PdfReply) => Queue.offerUnsafe(events, { _tag: "Message", reply }))
      worker.on("error", (error: unknown) => Queue.offerUnsafe(events, { _tag: "Error", error }))
      worker.on("exit", (code: number) => Queue.offerUnsafe(events, { _tag: "Exit", code }))
      return { worker, next: Queue.take(events) }
    }),
    ({ worker }) => Effect.promise(() => worker.terminate())
  )

const isOutOfMemory = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ERR_WORKER_OUT_OF_MEMORY"

/** The reader itself failed (it did not start, crashed, answered nonsense): a defect, not the document's fault. */
const readerDefect = (event: ThreadEvent, when: string) =>
  Effect.die(
    event._tag === "Error"
      ? event.error
      : new Error(
        event._tag === "Exit"
          ? `The PDF reader's thread exited (code ${event.code}) ${when} without an answer`
          : `The PDF reader's thread answered ${event.reply._tag} ${when}`
      )
  )

const MIB = 1024 * 1024

const tooComplex = (limit: ComplexityLimit, message: string) => new DocumentTooComplex({ message, limit })

const pdfUnreadable = () =>
  new DocumentUnreadable({ message: "The PDF could not be read: it is damaged, encrypted or not a PDF.", reason: "PDF_UNREADABLE" })

/**
 * Extracts the text of every page, laid out as lines; pages are separated by a blank line.
 * Fails with DocumentUnreadable PDF_UNREADABLE (damaged, encrypted, not a PDF) or NO_TEXT_LAYER
 * (a scan: only the Bedrock provider can read it), or with DocumentTooComplex when the document
 * goes over a limit: pages, decoded_bytes, text_items, text_length, memory or time. A reader
 * that fails by itself (its thread does not start or crashes) is a defect.
 */
export const extractPdfText = (
  bytes: Uint8Array,
  options: PdfTextOptions = {}
): Effect.Effect<string, DocumentUnreadable | DocumentTooComplex> => {
  const limits: PdfReadLimits = {
    maxPages: options.maxPages ?? PDF_MAX_PAGES,
    maxDecodedBytes: options.maxDecodedBytes ?? PDF_MAX_DECODED_BYTES,
    maxTextItems: options.maxTextItems ?? PDF_MAX_TEXT_ITEMS,
    maxTextChars: options.maxTextChars ?? PDF_MAX_TEXT_CHARS
  }
  const heapMb = options.heapMb ?? PDF_WORKER_HEAP_MB
  const timeout = Duration.fromInputUnsafe(options.timeout ?? PDF_EXTRACTION_TIMEOUT)

  const answer = (event: ThreadEvent): Effect.Effect<string, DocumentUnreadable | DocumentTooComplex> => {
    if (event._tag === "Error" && isOutOfMemory(event.error)) {
      return Effect.fail(tooComplex("memory", `Reading the PDF needed more than ${heapMb} MB of memory.`))
    }
    if (event._tag !== "Message") return readerDefect(event, "while reading")
    const reply = event.reply
    switch (reply._tag) {
      case "Text":
        return Effect.succeed(reply.text)
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
        }
    }
    return readerDefect(event, "while reading")
  }

  const read = Effect.gen(function* () {
    const thread = yield* startThread(heapMb)
    const ready = yield* thread.next.pipe(Effect.timeout(THREAD_START_TIMEOUT), Effect.orDie)
    if (!(ready._tag === "Message" && ready.reply._tag === "Ready")) return yield* readerDefect(ready, "while starting")
    // The thread gets a copy, transferred (not cloned): the caller keeps its own bytes (and zeroes
    // them), the copy belongs to the thread and goes with it when it is terminated.
    const copy = new Uint8Array(bytes)
    thread.worker.postMessage({ bytes: copy, limits } satisfies PdfRequest, [copy.buffer])
    const event = yield* thread.next.pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(tooComplex("time", `Reading the PDF took longer than ${Duration.format(timeout)}.`))
      })
    )
    const text = yield* answer(event)
    if (!/[\p{L}\p{N}]/u.test(text)) {
      return yield* new DocumentUnreadable({
        message: "The PDF has no text layer (it looks scanned); reading it needs the Bedrock provider (LLM_PROVIDER=bedrock).",
        reason: "NO_TEXT_LAYER"
      })
    }
    return text
  })

  return readers.withPermits(1)(Effect.scoped(read)).pipe(
    Effect.tapError((error) =>
      error._tag === "DocumentTooComplex" ? Effect.annotateCurrentSpan("pdf.limit", error.limit) : Effect.void
    )
  )
}
