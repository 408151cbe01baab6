/**
 * A reader's worker thread for one document (the PDF reader, pdfText.ts; OCR, ocr/ocrText.ts):
 * started, listened to as a queue of events, and terminated when the scope closes (answered,
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

export const startReaderThread = <Reply extends { readonly _tag: string }>(url: URL, heapMb: number) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const events = yield* Queue.unbounded<ThreadEvent<Reply>>()
      const worker = new Worker(url, { execArgv: [], resourceLimits: { maxOldGenerationSizeMb: heapMb } })
      worker.on("message", (reply: Reply) => Queue.offerUnsafe(events, { _tag: "Message", reply }))
      worker.on("error", (error: unknown) => Queue.offerUnsafe(events, { _tag: "Error", error }))
      worker.on("exit", (code: number) => Queue.offerUnsafe(events, { _tag: "Exit", code }))
      return { worker, next: Queue.take(events) }
    }),
    ({ worker }) => Effect.promise(() => worker.terminate())
  )

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
