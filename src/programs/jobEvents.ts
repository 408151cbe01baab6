/**
 * A job's progress as events: `GET /jobs/{jobId}/events`, the push twin of `GET /jobs/{jobId}/status`.
 *
 * The events are the job's row as the database has it, read again whenever JobEvents says it may
 * have changed (a notification, a reconnect, a poll): whichever instance or worker changed it, a
 * stream on any instance sees it. A state that passed between two reads (a stage of milliseconds)
 * may be skipped; an event is never invented. The sequence of one attempt:
 *
 *   queued → processing (reading → interpreting → saving) → completed (contentId) | failed (error)
 *
 * and a transient failure queues the job again for its next attempt (queued → processing …).
 *
 * Ids: each state has an ordinal, `5 × attempt + rank` (queued 0 — counted with the attempt about
 * to start —, reading 1, interpreting 2, saving 3, completed or failed 4), which only grows as a
 * job moves on. A stream sends a state only when its ordinal is above the last one sent, or above
 * the client's `Last-Event-ID` on a reconnect: nothing is sent twice, and a reconnect resumes
 * exactly where the client was. (A job a worker hands back on shutdown goes back to queued with
 * its attempt uncounted: that lower state is not sent; the stream resumes when the job is past
 * where the client was.)
 *
 * Bounds: the stream ends after `completed` or `failed`; one open longer than MAX_STREAM ends with
 * a reconnect hint (an SSE `retry:`), so the client comes back with its Last-Event-ID; a
 * reconnect to a job whose last event the client already has is answered as finished (204, which
 * tells an EventSource to stop). A read that keeps failing ends the stream the same way.
 *
 * Checked like the status: scoped to the user in the SQL (another user's job reads as missing:
 * 404 before any stream), and audited once per stream (`job.events`), not per event. A failed
 * event carries the reason code and our own fixed sentence for it, never document content.
 */
import { Duration, Effect, Option, Schedule, Stream } from "effect"
import * as Jobs from "../repos/jobs.js"
import { Audit, type RequestContext } from "../services/audit.js"
import type { ContentId, JobId, UserId } from "../services/ids.js"
import { JobEvents } from "../services/jobEvents.js"
import type { JobStage, JobStatus } from "../services/jobQueue.js"
import { orDatabaseUnavailable } from "../services/database.js"
import { fnTraced } from "../services/telemetry.js"

/** An open stream ends after this with a reconnect hint. */
export const MAX_STREAM = Duration.minutes(10)
/** The reconnect delay the hint asks for (SSE `retry:`, in ms). */
export const RECONNECT_AFTER = Duration.seconds(1)
/** Reads of the row that fail are tried this many more times (backoff from 200 ms) before the stream ends with the hint. */
const READ_RETRIES = 3

export type JobEventName = JobStatus
export type JobEventStage = "reading" | "interpreting" | "saving"

/** What an event says (its `data`). */
export interface JobEventData {
  readonly jobId: JobId
  readonly status: JobEventName
  /** While processing. */
  readonly stage?: JobEventStage
  /** Attempts started, this one included (0 while queued for the first). */
  readonly attempts: number
  /** Once completed. */
  readonly contentId?: ContentId
  /** Once failed: the reason code and our fixed sentence for it. */
  readonly error?: { readonly code: string; readonly message: string }
}

export type JobStreamItem =
  | { readonly _tag: "Event"; readonly id: string; readonly event: JobEventName; readonly data: JobEventData }
  /** The stream ends without a final state: reconnect after `retryMillis` with the last event's id. */
  | { readonly _tag: "Reconnect"; readonly retryMillis: number }

export type JobEventsAnswer =
  | { readonly _tag: "Streaming"; readonly stream: Stream.Stream<JobStreamItem> }
  /** The client has the job's final event already (its Last-Event-ID): nothing more will come. */
  | { readonly _tag: "Finished" }

const STEPS = 5

const stageOf = (stage: JobStage | null): JobEventStage =>
  stage === "interpreting" ? "interpreting" : stage === "storing" || stage === "done" ? "saving" : "reading"

const RANK: Readonly<Record<JobEventStage, number>> = { reading: 1, interpreting: 2, saving: 3 }

type Row = Jobs.JobStatusRow

const isFinal = (row: Row) => row.status === "completed" || row.status === "failed"

/** The row's state as an event: its ordinal (see the module comment) and what it says. */
export const eventOf = (row: Row): { readonly ordinal: number; readonly event: JobEventName; readonly data: JobEventData } => {
  const attempt = Math.max(row.attempts, 1) - 1
  const base = { jobId: row.id, attempts: row.attempts }
  switch (row.status) {
    case "queued":
      return { ordinal: STEPS * row.attempts, event: "queued", data: { ...base, status: "queued" } }
    case "processing": {
      const stage = stageOf(row.stage)
      return { ordinal: STEPS * attempt + RANK[stage], event: "processing", data: { ...base, status: "processing", stage } }
    }
    case "completed":
      return {
        ordinal: STEPS * attempt + 4,
        event: "completed",
        data: { ...base, status: "completed", ...(row.contentId !== null ? { contentId: row.contentId } : {}) }
      }
    case "failed":
      return {
        ordinal: STEPS * attempt + 4,
        event: "failed",
        data: {
          ...base,
          status: "failed",
          error: { code: row.errorCode ?? "INTERNAL_ERROR", message: row.errorMessage ?? "The document could not be processed." }
        }
      }
  }
}

const reconnect: JobStreamItem = { _tag: "Reconnect", retryMillis: Duration.toMillis(RECONNECT_AFTER) }

export interface JobEventsOptions {
  /** The client's Last-Event-ID: only later events are sent. */
  readonly lastEventId?: number
  readonly requestContext?: RequestContext
  /** MAX_STREAM unless a test shortens it. */
  readonly maxStream?: Duration.Input
}

/**
 * The job's events for its user, or none when the job is not theirs (or does not exist). Reads and
 * audits before any stream starts, so that a 404 or a 503 is an ordinary answer.
 */
export const watchJobEvents = fnTraced("Jobs.events")(
  function* (userId: UserId, jobId: JobId, options: JobEventsOptions = {}) {
    const audit = yield* Audit
    // The stream runs after the handler has answered: it takes the services it reads with along.
    const context = yield* Effect.context<JobEvents | Effect.Services<ReturnType<typeof Jobs.findJobStatus>>>()
    const row = Option.getOrUndefined(yield* Jobs.findJobStatus(userId, jobId))
    yield* audit.record({
      ...options.requestContext,
      actorUserId: userId,
      action: "job.events",
      resourceType: "job",
      resourceId: jobId,
      outcome: row === undefined ? "failure" : "success"
    })
    if (row === undefined) return Option.none<JobEventsAnswer>()
    const after = options.lastEventId ?? -1
    if (isFinal(row) && eventOf(row).ordinal <= after) return Option.some<JobEventsAnswer>({ _tag: "Finished" })
    const stream = eventStream(userId, jobId, after).pipe(
      (events) =>
        Stream.merge(events, Stream.fromEffect(Effect.as(Effect.sleep(options.maxStream ?? MAX_STREAM), reconnect)), {
          haltStrategy: "either"
        }),
      Stream.provideContext(context)
    )
    return Option.some<JobEventsAnswer>({ _tag: "Streaming", stream })
  },
  orDatabaseUnavailable("The job's events cannot be read right now", "job events")
)

/**
 * Reads the row now, then after each wake-up, sending each state above the last one sent; ends
 * after a final state, when the row is gone (the account was erased), or — with the hint — when
 * reads keep failing.
 */
const eventStream = (userId: UserId, jobId: JobId, after: number) =>
  Stream.unwrap(
    Effect.gen(function* () {
      // Watch first, then read: a change between the two is a wake-up, never a miss.
      const watch = yield* (yield* JobEvents).watch(jobId)
      // Each read is a statement of its own, outside any trace: a stream open for minutes must not
      // make its request's trace minutes long with hundreds of reads.
      const read = Jobs.findJobStatus(userId, jobId).pipe(
        Effect.retry({ schedule: Schedule.exponential("200 millis"), times: READ_RETRIES }),
        Effect.withTracerEnabled(false)
      )
      let last = after
      return Stream.paginate(true, (first: boolean) =>
        Effect.gen(function* () {
          if (!first) yield* watch.next
          const found = yield* Effect.result(read)
          if (found._tag === "Failure") {
            yield* Effect.logWarning("job events: the job's row could not be read; the stream ends with a reconnect hint")
            return [[reconnect], Option.none()] as const
          }
          if (Option.isNone(found.success)) return [[], Option.none()] as const
          const row = found.success.value
          const state = eventOf(row)
          const items: ReadonlyArray<JobStreamItem> =
            state.ordinal > last ? [{ _tag: "Event", id: String(state.ordinal), event: state.event, data: state.data }] : []
          if (items.length > 0) {
            last = state.ordinal
            yield* watch.changed
          }
          return [items, isFinal(row) ? Option.none<boolean>() : Option.some(false)] as const
        })
      )
    })
  )
