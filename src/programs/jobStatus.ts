/**
 * Where an upload is: `GET /jobs/{jobId}/status`. Scoped to the user in the SQL itself, so
 * another user's job id reads exactly like a missing one. The error is shown once the job has
 * failed; its message is our own fixed sentence for the reason code.
 */
import { SqlClient } from "effect/sql"
import { Effect, Option, Schema } from "effect"
import { Audit, type RequestContext } from "../services/audit.js"
import { JobStage, JobStatus as JobStatusName } from "../services/jobQueue.js"
import { ContentId, JobId, type UserId } from "../services/ids.js"
import { decodeRows, orDatabaseUnavailable } from "../services/database.js"
import { fnTraced } from "../services/telemetry.js"

export interface JobStatus {
  readonly jobId: JobId
  readonly status: JobStatusName
  readonly stage?: JobStage
  readonly attempts: number
  readonly contentId?: ContentId
  readonly error?: { readonly code: string; readonly message: string }
  readonly createdAt: Date
  readonly updatedAt: Date
}

const StatusRow = Schema.Struct({
  id: JobId,
  status: JobStatusName,
  stage: Schema.NullOr(JobStage),
  attempts: Schema.Number,
  contentId: Schema.NullOr(ContentId),
  errorCode: Schema.NullOr(Schema.String),
  errorMessage: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
})

export const getJobStatus = fnTraced("Jobs.status")(
  function* (userId: UserId, jobId: JobId, requestContext: RequestContext = {}) {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const rows = yield* sql`
      SELECT id, status, stage, attempts, content_id, error_code, error_message, created_at, updated_at
      FROM jobs WHERE id = ${jobId}::uuid AND user_id = ${userId}::uuid`
    const [row] = yield* Effect.orDie(decodeRows(StatusRow)(rows))
    yield* audit.record({
      ...requestContext,
      actorUserId: userId,
      action: "job.status",
      resourceType: "job",
      resourceId: jobId,
      outcome: row === undefined ? "failure" : "success"
    })
    if (row === undefined) return Option.none<JobStatus>()
    return Option.some<JobStatus>({
      jobId: row.id,
      status: row.status,
      ...(row.stage !== null ? { stage: row.stage } : {}),
      attempts: row.attempts,
      ...(row.contentId !== null ? { contentId: row.contentId } : {}),
      ...(row.status === "failed" && row.errorCode !== null
        ? { error: { code: row.errorCode, message: row.errorMessage ?? "The document could not be processed." } }
        : {}),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt
    })
  },
  orDatabaseUnavailable("The job's status cannot be read right now", "job status")
)
