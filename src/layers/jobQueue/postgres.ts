/**
 * The local JobQueue: the `jobs` table is the queue. A worker claims the next runnable row with
 * one UPDATE over a FOR UPDATE SKIP LOCKED sub-select, so concurrent workers never take the same
 * job, and holds it under a lease (lease_owner, lease_expires_at) that heartbeats extend. A job
 * whose worker died is runnable again once its lease has expired. Every time is the database's
 * (`now()`), so workers on hosts with skewed clocks agree on who owns what.
 */
import { SqlClient } from "effect/sql"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { type ContentId, JobId, UserId } from "../../services/ids.js"
import { type ClaimedJob, JobQueue } from "../../services/jobQueue.js"
import { DocumentContentType, DocumentType } from "../../services/llm.js"
import { decodeRows, orDatabaseUnavailable } from "../../services/database.js"
import { fnTraced } from "../../services/telemetry.js"

const ClaimedRow = Schema.Struct({
  id: JobId,
  userId: UserId,
  contentType: DocumentContentType,
  documentTypeHint: Schema.NullOr(DocumentType),
  allowImageToModel: Schema.Boolean,
  storageKey: Schema.String,
  sizeBytes: Schema.Number,
  attempts: Schema.Number,
  maxAttempts: Schema.Number,
  leaseOwner: Schema.String,
  leaseExpiresAt: Schema.Date,
  traceContext: Schema.NullOr(Schema.String),
  createdAt: Schema.Date
})

/** The job a claim's `RETURNING id, user_id, content_type, …` row describes (none when nothing was claimed). */
export const claimedJobFrom = (rows: ReadonlyArray<unknown>) =>
  Effect.map(decodeRows(ClaimedRow)(rows), ([row]) =>
    row === undefined
      ? Option.none<ClaimedJob>()
      : Option.some<ClaimedJob>({
        jobId: row.id,
        userId: row.userId,
        contentType: row.contentType,
        documentTypeHint: Option.fromNullishOr(row.documentTypeHint),
        allowImageToModel: row.allowImageToModel,
        storageKey: row.storageKey,
        sizeBytes: row.sizeBytes,
        attempts: row.attempts,
        maxAttempts: row.maxAttempts,
        leaseOwner: row.leaseOwner,
        leaseExpiresAt: row.leaseExpiresAt,
        traceContext: Option.fromNullishOr(row.traceContext),
        createdAt: row.createdAt
      })
  )

/** The message of a job given up on because its worker kept disappearing. */
export const LEASE_EXPIRED_MESSAGE = "The job's worker stopped responding on every attempt."

const millis = (duration: Duration.Input) => Math.max(0, Math.round(Duration.toMillis(Duration.fromInputUnsafe(duration))))

const unavailable = (operation: string) => orDatabaseUnavailable("The job queue is not reachable", `job queue: ${operation}`)

const changed = (rows: ReadonlyArray<unknown>) => rows.length > 0

export const makeJobQueuePostgres = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const interval = (duration: Duration.Input) =>
    sql`(${millis(duration)}::double precision * interval '1 millisecond')`

  // A job whose lease ran out on its last attempt cannot be claimed again: it is failed here.
  const reapExhausted = sql`
    UPDATE jobs
    SET status = 'failed', error_code = 'LEASE_EXPIRED', error_message = ${LEASE_EXPIRED_MESSAGE},
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    WHERE id IN (
      SELECT id FROM jobs
      WHERE status = 'processing' AND lease_expires_at < now() AND attempts >= max_attempts
      FOR UPDATE SKIP LOCKED)`

  const claim = fnTraced("JobQueue.claim")(
    function* (workerId: string, lease: Duration.Input) {
      yield* reapExhausted
      const rows = yield* sql`
        UPDATE jobs
        SET status = 'processing', stage = NULL, lease_owner = ${workerId},
            lease_expires_at = now() + ${interval(lease)}, attempts = attempts + 1, updated_at = now()
        WHERE id = (
          SELECT id FROM jobs
          WHERE status IN ('queued', 'processing')
            AND ((status = 'queued' AND run_after <= now())
              OR (status = 'processing' AND lease_expires_at < now() AND attempts < max_attempts))
          ORDER BY run_after, created_at
          FOR UPDATE SKIP LOCKED
          LIMIT 1)
        RETURNING id, user_id, content_type, document_type_hint, allow_image_to_model, storage_key, size_bytes, attempts,
                  max_attempts, lease_owner, lease_expires_at, trace_context, created_at`
      const claimed = yield* claimedJobFrom(rows).pipe(Effect.orDie)
      if (Option.isSome(claimed)) {
        yield* Effect.annotateCurrentSpan({ "job.id": claimed.value.jobId, "job.attempt": claimed.value.attempts })
      }
      return claimed
    },
    unavailable("claim")
  )

  const owned = (jobId: JobId, workerId: string) =>
    sql`id = ${jobId}::uuid AND status = 'processing' AND lease_owner = ${workerId}`

  const heartbeat = fnTraced("JobQueue.heartbeat")(
    function* (jobId: JobId, workerId: string, lease: Duration.Input) {
      return changed(
        yield* sql`
          UPDATE jobs SET lease_expires_at = now() + ${interval(lease)}, updated_at = now()
          WHERE ${owned(jobId, workerId)} RETURNING 1 AS ok`
      )
    },
    unavailable("heartbeat")
  )

  const setStage = fnTraced("JobQueue.setStage")(
    function* (jobId: JobId, workerId: string, stage: string) {
      return changed(
        yield* sql`UPDATE jobs SET stage = ${stage}, updated_at = now() WHERE ${owned(jobId, workerId)} RETURNING 1 AS ok`
      )
    },
    unavailable("setStage")
  )

  const complete = fnTraced("JobQueue.complete")(
    function* (jobId: JobId, workerId: string, contentId: ContentId) {
      return changed(
        yield* sql`
          UPDATE jobs
          SET status = 'completed', stage = 'done', content_id = ${contentId}::uuid, lease_owner = NULL,
              lease_expires_at = NULL, error_code = NULL, error_message = NULL, updated_at = now(), completed_at = now()
          WHERE ${owned(jobId, workerId)} RETURNING 1 AS ok`
      )
    },
    unavailable("complete")
  )

  const retryLater = fnTraced("JobQueue.retryLater")(
    function* (jobId: JobId, workerId: string, error: { readonly code: string; readonly message: string }, delay: Duration.Input) {
      return changed(
        yield* sql`
          UPDATE jobs
          SET status = 'queued', stage = NULL, run_after = now() + ${interval(delay)}, lease_owner = NULL,
              lease_expires_at = NULL, error_code = ${error.code}, error_message = ${error.message}, updated_at = now()
          WHERE ${owned(jobId, workerId)} RETURNING 1 AS ok`
      )
    },
    unavailable("retryLater")
  )

  const fail = fnTraced("JobQueue.fail")(
    function* (jobId: JobId, workerId: string, code: string, message: string) {
      return changed(
        yield* sql`
          UPDATE jobs
          SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, error_code = ${code},
              error_message = ${message}, updated_at = now()
          WHERE ${owned(jobId, workerId)} RETURNING 1 AS ok`
      )
    },
    unavailable("fail")
  )

  const release = fnTraced("JobQueue.release")(
    function* (jobId: JobId, workerId: string) {
      return changed(
        yield* sql`
          UPDATE jobs
          SET status = 'queued', stage = NULL, run_after = now(), lease_owner = NULL, lease_expires_at = NULL,
              attempts = greatest(attempts - 1, 0), updated_at = now()
          WHERE ${owned(jobId, workerId)} RETURNING 1 AS ok`
      )
    },
    unavailable("release")
  )

  // The row is the queue: a queued row is already visible to every worker.
  const enqueue = (jobId: JobId, _options?: { readonly delay?: Duration.Input }) =>
    Effect.annotateCurrentSpan({ "job.id": jobId }).pipe(Effect.withSpan("JobQueue.enqueue"))

  return { enqueue, claim, heartbeat, setStage, complete, retryLater, fail, release } satisfies (typeof JobQueue)["Service"]
})

export const JobQueuePostgres: Layer.Layer<JobQueue, never, SqlClient.SqlClient> = Layer.effect(JobQueue, makeJobQueuePostgres)
