/**
 * A reader's worker thread (the PDF reader's, one per document, pdfText.ts; OCR's, kept between
 * documents, ocr/ocrText.ts):
 * started, listened to as a queue of events, and terminated (for a scope, when it closes: answered,
 * timed out, interrupted) — termination stops it even in the middle of synchronous work and
 * frees its heap and buffers. `execArgv: []`: the thread needs none of the parent's flags, and
 * inheriting `--import tsx` would load tsx a second time (its bootstrap registers it when needed).
 */
import { Effect, Queue } from "effect"
import { Worker } from "node:worker_threads"

/** What the thread did: answered, failed, or exited. */
export type ThreadEvent<Reply extends { readonly _tag: string }> =
  | { readonly _tag: "Message"; readonly reply: Reply }
  | { readonly _tag: "Error"; readonly error: unknown }
  | { readonly _tag: "Exit"; readonly code: number }

/** A started reader thread: its worker, the next event, and whether it has exited. */
export interface ReaderThread<Reply extends { readonly _tag: string }> {
  readonly worker: Worker
  readonly next: Effect.Effect<ThreadEvent<Reply>>
  /** The thread said something nobody has taken yet (an idle thread should not: it crashed or exited). */
  readonly pending: Effect.Effect<boolean>
  readonly exited: () => boolean
}

/** Starts a reader thread; closeReaderThread ends it (startReaderThread does both, for a scope). */
export const openReaderThread = <Reply extends { readonly _tag: string }>(url: URL, heapMb: number): Effect.Effect<ReaderThread<Reply>> =>
  Effect.gen(function* () {
    const events = yield* Queue.unbounded<ThreadEvent<Reply>>()
    const worker = new Worker(url, { execArgv: [], resourceLimits: { maxOldGenerationSizeMb: heapMb } })
    let exited = false
    worker.on("message", (reply: Reply) => Queue.offerUnsafe(events, { _tag: "Message", reply }))
    worker.on("error", (error: unknown) => Queue.offerUnsafe(events, { _tag: "Error", error }))
    worker.on("exit", (code: number) => {
      exited = true
      Queue.offerUnsafe(events, { _tag: "Exit", code })
    })
    return { worker, next: Queue.take(events), pending: Effect.map(Queue.size(events), (n) => n > 0), exited: () => exited }
  })

export const closeReaderThread = <Reply extends { readonly _tag: string }>(thread: ReaderThread<Reply>): Effect.Effect<void> =>
  Effect.promise(() => thread.worker.terminate())

export const startReaderThread = <Reply extends { readonly _tag: string }>(url: URL, heapMb: number) =>
  Effect.acquireRelease(openReaderThread<Reply>(url, heapMb), closeReaderThread)

/** The thread went over its heap limit (Node stops it). */
export const isOutOfMemory = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ERR_WORKER_OUT_OF_MEMORY"

/** The reader itself failed (it did not start, crashed, answered nonsense): a defect, not the document's fault. */
export const readerDefect = <Reply extends { readonly _tag: string }>(reader: string, event: ThreadEvent<Reply>, when: string) =>
  Effect.die(
    event._tag === "Error"
      ? event.error
      : new Error(
        event._tag === "Exit"
          ? `The ${reader}'s thread exited (code ${event.code}) ${when} without an answer`
          : `The ${reader}'s thread answered ${event.reply._tag} ${when}`
      )
  )
