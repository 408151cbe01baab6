/**
 * Processing one claimed job, on whichever worker claimed it:
 *
 * 1. stage `opening`: get the sealed original and open it in memory (the plaintext is zeroed when done);
 * 2. stage `interpreting`: the LLM reads it (180 s limit); its usage is recorded at once, under
 *    `job:<jobId>:attempt:<n>`, because the call cost money whatever happens next;
 * 3. stage `storing`: one transaction inserts the content (sealed fields), audits, and completes the
 *    job only if this worker still holds the lease — otherwise it rolls back, so a job whose lease
 *    was taken over never completes twice (content.job_id is unique as a second guard);
 * 4. the original stays, sealed, as long as its content does: it is the document the user trusted
 *    us with (the FHIR export's `presentedForm`); it goes with the content (programs/content.ts,
 *    the sweep) or the account (erasure). A failed job's original is removed at once.
 *
 * Pushes: the transaction that completes the job (step 3), or fails it, also writes one
 * notification per device of the user into the outbox (programs/notificationOutbox.ts: ids and a
 * kind, never anything of the document); right after the commit they are sent, best effort and
 * bounded, and whatever is not sent then is sent by the outbox's sweep. A retry later is not a
 * failure and notifies nobody.
 *
 * Failures: transient ones (throttling, outages, timeouts) queue the job again after the retry
 * schedule's delay until its attempts are spent; permanent ones (an unreadable document, one over
 * the limits on what reading it may cost, invalid model output, an envelope that does not open)
 * fail it at once with a reason code. A defect (a bug, a crash in processing) is permanent too,
 * INTERNAL_ERROR: the same job would meet the same bug again, and a document that crashes its
 * reader must not get three tries at it.
 */
import { Cause, Clock, Duration, Effect, Exit, Option, Schedule, Schema } from "effect"
import { Audit } from "../services/audit.js"
import { recordModelCalls, type UsageDocumentType } from "../services/costTracker.js"
import { Crypto, documentContext } from "../services/crypto.js"
import { errorInfo, isTransient, retryAfterSeconds } from "../services/errors.js"
import { recordError } from "../services/metrics.js"
import { type ClaimedJob, type JobError, JobQueue, type JobStage } from "../services/jobQueue.js"
import { type DocumentType, LLM, type ModelCall } from "../services/llm.js"
import { RetryPolicies, type RetrySchedule, Timeouts, withTimeout } from "../services/resilience.js"
import { Storage } from "../services/storage.js"
import { markOriginalRemoved } from "../repos/jobs.js"
import { inTransaction } from "../repos/transaction.js"
import { saveContent } from "./content.js"
import { deliverJobNotifications, enqueueJobNotifications } from "./notificationOutbox.js"
import { spanOfTraceparent } from "../services/telemetry.js"

/** What became of the job on this worker. */
export type ProcessOutcome =
  | { readonly _tag: "completed"; readonly contentId: string }
  | { readonly _tag: "retrying"; readonly code: string; readonly delay: Duration.Duration }
  | { readonly _tag: "failed"; readonly code: string }
  /** Another worker owns the job now (this one's lease expired): nothing was written. */
  | { readonly _tag: "lost" }

export interface ProcessOptions {
  /** Delays between attempts; the n-th retry waits this schedule's n-th delay (default: the llm policy). */
  readonly retrySchedule?: RetrySchedule
  readonly interpretTimeout?: Duration.Input
}

/** This worker no longer owns the job; whatever it was doing must not be written. */
class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {}) {}

/** Our own sentence for each reason code: the job row never stores model or document output. */
const FAILURE_MESSAGES: Readonly<Record<string, string>> = {
  PDF_UNREADABLE: "The PDF could not be read.",
  NO_TEXT_LAYER: "The PDF has no text, and none could be read from its pages.",
  IMAGE_NO_TEXT: "No text could be read in the image.",
  DOCUMENT_TOO_COMPLEX: "The document is too large or too complex to read.",
  NO_TEXT: "The document contains no readable text.",
  NOT_TEXT: "The text document is not valid text.",
  DOCUMENT_MISSING: "The uploaded document is no longer stored.",
  DECRYPTION_FAILED: "The stored document could not be opened.",
  LLM_INVALID_OUTPUT: "The document could not be interpreted.",
  LLM_UNAVAILABLE: "The interpretation service was unavailable.",
  LLM_REQUEST_REJECTED: "We could not process this document right now; we are looking into it.",
  LLM_OUTPUT_TRUNCATED: "We could not process this document right now; we are looking into it.",
  IMAGE_UNREADABLE: "The image could not be read.",
  IMAGE_WITHHELD: "The image could not be read as text, and this upload did not allow sending the image itself to the model.",
  TIMEOUT: "Interpreting the document took too long.",
  INTERNAL_ERROR: "Processing failed unexpectedly."
}

export const failureMessage = (code: string): string =>
  FAILURE_MESSAGES[code] ?? "The document could not be processed."

interface Classified {
  readonly code: string
  readonly transient: boolean
  readonly retryAfterSeconds: number
}

const classify = (cause: Cause.Cause<unknown>): Classified => {
  const failure = Cause.findErrorOption(cause)
  // a defect: not retried (see the header)
  if (Option.isNone(failure)) return { code: "INTERNAL_ERROR", transient: false, retryAfterSeconds: 0 }
  const error = failure.value
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  switch (tag) {
    case "DocumentUnreadable":
      return {
        code: typeof error === "object" && error !== null && "reason" in error ? String(error.reason) : "DOCUMENT_UNREADABLE",
        transient: false,
        retryAfterSeconds: 0
      }
    case "DocumentTooComplex":
      return { code: "DOCUMENT_TOO_COMPLEX", transient: false, retryAfterSeconds: 0 }
    // Ours, not the document's (see LLMRequestRejected): retried later while a fix can help, the
    // operator's reason in the log; the user is told we could not process it right now.
    case "LLMRequestRejected":
      return {
        code: "LLM_REQUEST_REJECTED",
        transient: typeof error === "object" && error !== null && "retryLater" in error && error.retryLater === true,
        retryAfterSeconds: retryAfterSeconds(error) ?? 60
      }
    case "ObjectNotFound":
      return { code: "DOCUMENT_MISSING", transient: false, retryAfterSeconds: 0 }
    case "LLMUnavailable":
    case "CircuitOpen":
      return {
        code: errorInfo(error)?.code ?? "LLM_UNAVAILABLE",
        transient: true,
        retryAfterSeconds:
          typeof error === "object" && error !== null && "retryAfterSeconds" in error && typeof error.retryAfterSeconds === "number"
            ? error.retryAfterSeconds
            : 0
      }
  }
  return { code: errorInfo(error)?.code ?? "INTERNAL_ERROR", transient: isTransient(error), retryAfterSeconds: 0 }
}

/** The schedule's delay before retry number `retry` (1-based), never below what the dependency asked for. */
const retryDelay = (schedule: RetrySchedule, retry: number, retryAfterSeconds: number) =>
  Effect.gen(function* () {
    // Steps the schedule `retry` times from now (what v3's Schedule.run(Schedule.delays(...)) did) and
    // keeps the last step's delay. A schedule that ends before then gives zero, as v3's did.
    let now = yield* Clock.currentTimeMillis
    const step = yield* Schedule.toStep(schedule)
    let fromSchedule = Duration.zero
    for (let i = 0; i < retry; i++) {
      const exit = yield* Effect.exit(step(now, undefined))
      if (Exit.isFailure(exit)) {
        fromSchedule = Duration.zero
        break
      }
      fromSchedule = exit.value[1]
      now += Duration.toMillis(fromSchedule)
    }
    return Duration.max(fromSchedule, Duration.seconds(retryAfterSeconds))
  })

const usageType = (documentType: DocumentType): UsageDocumentType =>
  documentType === "other" ? "report" : documentType

/** The upload's span, from its W3C traceparent, for a span link. */
const uploadSpan = (traceContext: Option.Option<string>) => Option.flatMap(traceContext, spanOfTraceparent)

export const processJob = (job: ClaimedJob, workerId: string, options: ProcessOptions = {}) =>
  Effect.gen(function* () {
    const queue = yield* JobQueue
    const storage = yield* Storage
    const crypto = yield* Crypto
    const llm = yield* LLM
    const audit = yield* Audit
    const { jobId, userId } = job
    const schedule = options.retrySchedule ?? RetryPolicies.llm

    const stage = (name: JobStage) =>
      Effect.flatMap(queue.setStage(jobId, workerId, name), (owned) => (owned ? Effect.void : Effect.fail(new LeaseLost())))

    const work = Effect.gen(function* () {
      yield* stage("opening")
      const stored = yield* storage.get(job.storageKey)
      const interpretation = yield* Effect.acquireUseRelease(
        crypto.open(stored.bytes, documentContext(userId, job.storageKey)),
        (plaintext) =>
          Effect.gen(function* () {
            yield* stage("interpreting")
            // Every model call is paid for, also when the interpretation then fails or runs out of
            // time: each is recorded once the interpretation has ended, whichever way it ended.
            const calls: Array<ModelCall> = []
            const recordCalls = (documentType: UsageDocumentType) =>
              recordModelCalls(calls, { userId, documentType, keyPrefix: `job:${jobId}:attempt:${job.attempts}` })
            const hinted = Option.match(job.documentTypeHint, { onNone: () => "report" as const, onSome: usageType })
            return yield* llm
              .interpret({
                bytes: plaintext,
                contentType: job.contentType,
                userId,
                onUsage: (call) => Effect.sync(() => void calls.push(call)),
                ...Option.match(job.documentTypeHint, { onNone: () => ({}), onSome: (hint) => ({ documentTypeHint: hint }) }),
                ...(job.allowImageToModel ? {} : { allowImageToModel: false })
              })
              .pipe(
                withTimeout("LLM.interpret", options.interpretTimeout ?? Timeouts.llmInterpret),
                Effect.onExit((exit) => recordCalls(Exit.isSuccess(exit) ? usageType(exit.value.document.documentType) : hinted))
              )
          }),
        (plaintext) => Effect.sync(() => plaintext.fill(0))
      )

      yield* stage("storing")
      const { contentId, pushes } = yield* inTransaction(
        Effect.gen(function* () {
          const contentId = yield* saveContent({
            userId,
            jobId,
            document: interpretation.document,
            provider: interpretation.provider,
            modelId: interpretation.modelId
          })
          yield* audit.record({
            actorUserId: userId,
            action: "job.read",
            resourceType: "document",
            resourceId: jobId,
            outcome: "success"
          })
          if (!(yield* queue.complete(jobId, workerId, contentId))) return yield* new LeaseLost()
          // committed with the completion: a completed job always has its pushes owed
          const pushes = yield* enqueueJobNotifications(jobId, "job.completed", contentId)
          return { contentId, pushes }
        })
      )
      if (pushes.length > 0) yield* deliverJobNotifications(jobId)
      return { _tag: "completed", contentId } as const
    })

    const removeOriginal = storage.remove(job.storageKey).pipe(
      Effect.retry({ schedule: RetryPolicies.storage, while: isTransient }),
      Effect.andThen(markOriginalRemoved(jobId)),
      Effect.catchCause((cause) =>
        Effect.logWarning("job: the original could not be removed; it stays until swept", cause).pipe(
          Effect.annotateLogs({ jobId })
        )
      )
    )

    const onFailure = (cause: Cause.Cause<unknown>) =>
      Effect.gen(function* () {
        const failure = classify(cause)
        const info = errorInfo(Option.getOrUndefined(Cause.findErrorOption(cause)))
        const category = info?.category ?? "technical"
        const recovery = failure.transient && job.attempts < job.maxAttempts ? "retry" : (info?.recovery ?? "escalate")
        yield* Effect.annotateCurrentSpan({ "error.type": failure.code, "error.category": category, "error.recovery": recovery })
        // A failed attempt counts like an error answered: the technical-errors alarm sees a broken
        // dependency from the jobs too, not only from requests.
        yield* recordError(category, recovery)
        const error = Option.getOrUndefined(Cause.findErrorOption(cause))
        const reason = typeof error === "object" && error !== null && "reason" in error ? String(error.reason) : undefined
        yield* Effect.logWarning("job attempt failed").pipe(
          Effect.annotateLogs({
            jobId,
            attempt: job.attempts,
            errorCode: failure.code,
            transient: failure.transient,
            ...(reason !== undefined ? { errorReason: reason } : {})
          })
        )
        // a defect is a bug to find: its cause goes to the log (the job row only gets INTERNAL_ERROR)
        if (Option.isNone(Cause.findErrorOption(cause))) {
          yield* Effect.logError("job: defect in processing", cause).pipe(Effect.annotateLogs({ jobId }))
        }
        if (failure.transient && job.attempts < job.maxAttempts) {
          const delay = yield* retryDelay(schedule, job.attempts, failure.retryAfterSeconds)
          const queued = yield* queue.retryLater(jobId, workerId, { code: failure.code, message: failureMessage(failure.code) } satisfies JobError, delay)
          return queued ? ({ _tag: "retrying", code: failure.code, delay } as const) : ({ _tag: "lost" } as const)
        }
        // the failure and its pushes commit together
        const failed = yield* inTransaction(
          Effect.flatMap(queue.fail(jobId, workerId, failure.code, failureMessage(failure.code)), (done) =>
            done ? Effect.map(enqueueJobNotifications(jobId, "job.failed"), (pushes) => ({ pushes })) : Effect.succeed(undefined)
          )
        )
        if (failed === undefined) return { _tag: "lost" } as const
        if (failed.pushes.length > 0) yield* deliverJobNotifications(jobId)
        yield* audit
          .record({ actorUserId: userId, action: "job.read", resourceType: "document", resourceId: jobId, outcome: "failure" })
          .pipe(Effect.catchCause((c) => Effect.logWarning("job: could not audit a failed job", c)))
        // A document we have given up on is not kept.
        yield* removeOriginal
        return { _tag: "failed", code: failure.code } as const
      })

    const exit = yield* Effect.exit(work)
    if (Exit.isSuccess(exit)) return exit.value
    if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
    if (Option.exists(Cause.findErrorOption(exit.cause), (e) => e instanceof LeaseLost)) return { _tag: "lost" } as const
    return yield* onFailure(exit.cause)
  }).pipe(
    Effect.map((outcome): ProcessOutcome => outcome),
    Effect.withSpan("Jobs.process", {
      attributes: { "job.id": job.jobId, "job.attempt": job.attempts, "worker.id": workerId },
      links: Option.match(uploadSpan(job.traceContext), {
        onNone: () => [],
        onSome: (span) => [{ _tag: "SpanLink", span, attributes: { "link.kind": "upload" } }]
      })
    })
  )

/**
 * Processes a claimed job while keeping its lease: a heartbeat extends the lease every third of
 * it, and when a beat finds the job owned by someone else, processing stops with "lost" (nothing
 * of it is written). A failed beat is tried again at the next one: the lease has two beats of slack.
 * The worker pool and the Lambda processor both run jobs through this.
 */
export const processLeasedJob = (job: ClaimedJob, workerId: string, lease: Duration.Input, options: ProcessOptions = {}) =>
  Effect.gen(function* () {
    const queue = yield* JobQueue
    const beat = Duration.millis(Math.max(1, Math.floor(Duration.toMillis(Duration.fromInputUnsafe(lease)) / 3)))
    const heartbeat = Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(beat)
        const owned = yield* queue.heartbeat(job.jobId, workerId, lease).pipe(Effect.orElseSucceed(() => true))
        if (!owned) return { _tag: "lost" } as ProcessOutcome
      }
    })
    return yield* Effect.raceFirst(processJob(job, workerId, options), heartbeat)
  })
