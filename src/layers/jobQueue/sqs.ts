/**
 * The JobQueue on AWS: the `jobs` row in PostgreSQL stays the source of truth (claims, leases,
 * completion and failure are the PostgreSQL layer's SQL), and SQS only carries wake-ups:
 * `enqueue` sends `{ jobId, traceparent? }` and the processor function, invoked with the message,
 * claims that one job by id (`claimJobById`). A lost or duplicated message is harmless: a
 * duplicate finds the job finished or leased, and a job whose message was lost stays queued
 * in the table, visible to status queries and to a re-sent wake-up. The SDK loads, and the client
 * is created, on the first wake-up sent, not when the layer is built (src/layers/aws/sdk.ts):
 * the processor and the auth and chat functions never send one.
 */
import type { SQSClient } from "@aws-sdk/client-sqs"
import { SqlClient } from "effect/sql"
import { Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import { DatabaseUnavailable } from "../../services/errors.js"
import { JobId } from "../../services/ids.js"
import { type ClaimedJob, JobQueue } from "../../services/jobQueue.js"
import { awsErrorName } from "../aws/errors.js"
import { AwsSdk, lazyClient, tryAws } from "../aws/sdk.js"
import { claimedJobFrom, LEASE_EXPIRED_MESSAGE, makeJobQueuePostgres } from "./postgres.js"
import { currentTraceparent, fnTraced } from "../../services/telemetry.js"
import { decodeRows } from "../../services/database.js"

/** The body of a wake-up message. */
export const JobMessage = Schema.Struct({
  jobId: JobId,
  traceparent: Schema.optional(Schema.String)
})
export type JobMessage = typeof JobMessage.Type

export interface JobQueueSqsOptions {
  readonly queueUrl: string
  /** Defaults to a client for the function's region (the SDK reads AWS_REGION), created on first use. */
  readonly client?: Pick<SQSClient, "send">
}

/** SQS holds a message back for at most 15 minutes. */
const MAX_DELAY_SECONDS = 900

const sendRetry = Schedule.max([Schedule.exponential("100 millis").pipe(Schedule.jittered), Schedule.recurs(2)])

export const makeJobQueueSqs = (options: JobQueueSqsOptions) =>
  Effect.gen(function* () {
    const postgres = yield* makeJobQueuePostgres
    const given = options.client
    const client =
      given !== undefined ? Effect.succeed(given) : yield* lazyClient(Effect.map(AwsSdk.sqs, (sdk) => new sdk.SQSClient({})))

    const enqueue = fnTraced("JobQueue.enqueue")(function* (
      jobId: JobId,
      enqueueOptions?: { readonly delay?: Duration.Input }
    ) {
      yield* Effect.annotateCurrentSpan({ "job.id": jobId })
      const traceparent = yield* currentTraceparent
      const body: JobMessage = Option.match(traceparent, {
        onNone: () => ({ jobId }),
        onSome: (value) => ({ jobId, traceparent: value })
      })
      const delaySeconds =
        enqueueOptions?.delay === undefined
          ? undefined
          : Math.min(MAX_DELAY_SECONDS, Math.ceil(Duration.toSeconds(Duration.fromInputUnsafe(enqueueOptions.delay))))
      const [sqs, sdk] = yield* Effect.zip(client, AwsSdk.sqs)
      yield* tryAws(
        (signal) =>
          sqs.send(
            new sdk.SendMessageCommand({
              QueueUrl: options.queueUrl,
              MessageBody: JSON.stringify(body),
              ...(delaySeconds === undefined ? {} : { DelaySeconds: delaySeconds })
            }),
            { abortSignal: signal }
          ),
        (cause) => cause
      ).pipe(
        Effect.retry(sendRetry),
        Effect.catch((cause) =>
          Effect.logWarning("job queue: sending the wake-up failed").pipe(
            Effect.annotateLogs({ jobId, error: awsErrorName(cause) }),
            // The row is committed and queued; the caller's retry (uploads are idempotent) sends again.
            Effect.andThen(Effect.fail(new DatabaseUnavailable({ message: "The job queue is not reachable" })))
          )
        )
      )
    })

    return { ...postgres, enqueue } satisfies (typeof JobQueue)["Service"]
  })

/** JobQueue with SQS wake-ups; needs the queue URL and a SqlClient. */
export const JobQueueSqs = (options: JobQueueSqsOptions): Layer.Layer<JobQueue, never, SqlClient.SqlClient> =>
  Layer.effect(JobQueue, makeJobQueueSqs(options))

// ---------------------------------------------------------------------------------------------
// Claiming one job by id: what a wake-up message asks for.


const StateRow = Schema.Struct({
  status: Schema.Literals(["queued", "processing", "completed", "failed"]),
  leaseExpired: Schema.Boolean
})

/** What a claim by id found. */
export type ClaimById =
  | { readonly _tag: "claimed"; readonly job: ClaimedJob }
  /** Completed or failed already: a redelivered message has nothing to do. */
  | { readonly _tag: "finished" }
  /** Another worker holds a live lease on it. */
  | { readonly _tag: "leased" }
  /** Its worker disappeared on its last attempt: failed here with LEASE_EXPIRED. */
  | { readonly _tag: "exhausted" }
  | { readonly _tag: "unknown" }

const unavailable = <A, R>(effect: Effect.Effect<A, unknown, R>, operation: string) =>
  Effect.catch(effect, (error) =>
    Effect.logWarning(`job queue: ${operation} failed`, error).pipe(
      Effect.andThen(Effect.fail(new DatabaseUnavailable({ message: "The job queue is not reachable" })))
    )
  )

const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)

/**
 * Claims the job `jobId` for `workerId` until now + `lease` when it is queued (whatever its
 * run_after: the message is the wake-up) or processing under an expired lease with attempts
 * left, counting an attempt, as the PostgreSQL layer's `claim` does for the next runnable job.
 */
export const claimJobById = /* @__PURE__ */ fnTraced("JobQueue.claimById")(function* (
  jobId: string,
  workerId: string,
  lease: Duration.Input
) {
  if (!isUuid(jobId)) return { _tag: "unknown" } as ClaimById
  const sql = yield* SqlClient.SqlClient
  yield* Effect.annotateCurrentSpan({ "job.id": jobId })
  const leaseMs = Math.max(0, Math.round(Duration.toMillis(Duration.fromInputUnsafe(lease))))
  return yield* unavailable(
    Effect.gen(function* () {
      const rows = yield* sql`
        UPDATE jobs
        SET status = 'processing', stage = NULL, lease_owner = ${workerId},
            lease_expires_at = now() + (${leaseMs}::double precision * interval '1 millisecond'),
            attempts = attempts + 1, updated_at = now()
        WHERE id = ${jobId}::uuid
          AND (status = 'queued'
            OR (status = 'processing' AND lease_expires_at < now() AND attempts < max_attempts))
        RETURNING id, user_id, content_type, document_type_hint, allow_image_to_model, storage_key, size_bytes, attempts,
                  max_attempts, lease_owner, lease_expires_at, trace_context, created_at`
      const claimed = yield* claimedJobFrom(rows)
      if (Option.isSome(claimed)) {
        yield* Effect.annotateCurrentSpan({ "job.attempt": claimed.value.attempts })
        return { _tag: "claimed", job: claimed.value } as ClaimById
      }
      const reaped = yield* sql`
        UPDATE jobs
        SET status = 'failed', error_code = 'LEASE_EXPIRED', error_message = ${LEASE_EXPIRED_MESSAGE},
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = ${jobId}::uuid AND status = 'processing' AND lease_expires_at < now() AND attempts >= max_attempts
        RETURNING 1 AS ok`
      if (reaped.length > 0) return { _tag: "exhausted" } as ClaimById
      const [state] = yield* decodeRows(StateRow)(
        yield* sql`SELECT status, (lease_expires_at IS NOT NULL AND lease_expires_at < now()) AS lease_expired
                   FROM jobs WHERE id = ${jobId}::uuid`
      )
      if (state === undefined) return { _tag: "unknown" } as ClaimById
      return (state.status === "completed" || state.status === "failed" ? { _tag: "finished" } : { _tag: "leased" }) as ClaimById
    }),
    "claimById"
  )
})

/**
 * Gives up on a job whose wake-ups are spent (the queue's maximum receive count), unless it
 * finished or another worker holds a live lease on it. True when this marked it failed.
 */
export const failUndeliverable = /* @__PURE__ */ fnTraced("JobQueue.failUndeliverable")(function* (
  jobId: string,
  workerId: string,
  code: string,
  message: string
) {
  if (!isUuid(jobId)) return false
  const sql = yield* SqlClient.SqlClient
  const rows = yield* unavailable(
    sql`
      UPDATE jobs
      SET status = 'failed', stage = NULL, lease_owner = NULL, lease_expires_at = NULL, error_code = ${code},
          error_message = ${message}, updated_at = now()
      WHERE id = ${jobId}::uuid
        AND (status = 'queued'
          OR (status = 'processing' AND (lease_owner = ${workerId} OR lease_expires_at < now())))
      RETURNING 1 AS ok`,
    "failUndeliverable"
  )
  return rows.length > 0
})

/**
 * Fails a job whose wake-up reached the dead-letter queue: its deliveries are spent, so it is
 * failed whatever its state short of finished, a lease included (the worker that held it on the
 * last delivery hung or was stopped; a job that finished stays as it is). True when this marked
 * it failed.
 */
export const failDeadLettered = /* @__PURE__ */ fnTraced("JobQueue.failDeadLettered")(function* (
  jobId: string,
  code: string,
  message: string
) {
  if (!isUuid(jobId)) return false
  const sql = yield* SqlClient.SqlClient
  yield* Effect.annotateCurrentSpan({ "job.id": jobId })
  const rows = yield* unavailable(
    sql`
      UPDATE jobs
      SET status = 'failed', stage = NULL, lease_owner = NULL, lease_expires_at = NULL, error_code = ${code},
          error_message = ${message}, updated_at = now()
      WHERE id = ${jobId}::uuid AND status IN ('queued', 'processing')
      RETURNING 1 AS ok`,
    "failDeadLettered"
  )
  return rows.length > 0
})
