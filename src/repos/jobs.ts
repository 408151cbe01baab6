/**
 * `jobs`, as the API and the maintenance programs see them: the row an accepted upload inserts
 * (queued, pointing at its sealed original at `storage_key`), its status, and the originals'
 * bookkeeping (`original_removed_at`). Claiming, leases and outcomes are the job queue's
 * (src/layers/jobQueue). User-facing reads are scoped to the user in the SQL: another user's job
 * reads as missing. A job row outlives its document (plans count jobs created).
 */
import { Effect, Option, Schema } from "effect"
import { byteaOrNull, decodeRows, SqlClient } from "../services/database.js"
import { ContentId, JobId, type UserId } from "../services/ids.js"
import { JobStage, JobStatus } from "../services/jobQueue.js"
import { DocumentType } from "../services/llm.js"

const StatusRow = Schema.Struct({
  id: JobId,
  status: JobStatus,
  stage: Schema.NullOr(JobStage),
  attempts: Schema.Number,
  contentId: Schema.NullOr(ContentId),
  errorCode: Schema.NullOr(Schema.String),
  errorMessage: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
})
const decodeStatusRows = decodeRows(StatusRow)
/** A job's status row, as findJobStatus reads it. */
export type JobStatusRow = typeof StatusRow.Type

const JobRecord = Schema.Struct({
  id: JobId,
  status: Schema.String,
  fileNameEncrypted: Schema.NullOr(Schema.Uint8Array),
  contentType: Schema.String,
  sizeBytes: Schema.Number,
  documentTypeHint: Schema.NullOr(DocumentType),
  allowImageToModel: Schema.Boolean,
  attempts: Schema.Number,
  errorCode: Schema.NullOr(Schema.String),
  contentId: Schema.NullOr(ContentId),
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  completedAt: Schema.NullOr(Schema.Date)
})
const decodeJobRecords = decodeRows(JobRecord)

const Unswept = Schema.Struct({ id: Schema.String.check(Schema.isUUID()), storageKey: Schema.String })
const decodeUnswept = decodeRows(Unswept)

/** The job's status row; none when it does not exist or is someone else's. */
export const findJobStatus = (userId: UserId, jobId: JobId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, status, stage, attempts, content_id, error_code, error_message, created_at, updated_at
        FROM jobs WHERE id = ${jobId}::uuid AND user_id = ${userId}::uuid`,
      (rows) => Effect.orDie(Effect.map(decodeStatusRows(rows), ([row]) => Option.fromNullishOr(row)))
    )
  )

/** Every job of the user, oldest first, its file name sealed (the account export). */
export const listJobsOf = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, status, file_name_encrypted, content_type, size_bytes, document_type_hint, allow_image_to_model,
               attempts, error_code, content_id, created_at, updated_at, completed_at
        FROM jobs WHERE user_id = ${userId}::uuid ORDER BY created_at, id`,
      decodeJobRecords
    )
  )

/** Inserts an accepted upload's job, queued; its original is already stored at `storageKey`. */
export const insertJob = (job: {
  readonly id: JobId
  readonly userId: UserId
  readonly documentTypeHint: DocumentType | null
  /** false: the model may not be sent the document as an image (LLM.interpret's allowImageToModel). */
  readonly allowImageToModel: boolean
  readonly contentType: string
  readonly sizeBytes: number
  readonly storageKey: string
  readonly fileNameEncrypted: Uint8Array | null
  readonly traceContext: string | null
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO jobs (id, user_id, status, document_type_hint, allow_image_to_model, content_type, size_bytes,
                        storage_key, file_name_encrypted, trace_context)
      VALUES (${job.id}::uuid, ${job.userId}::uuid, 'queued', ${job.documentTypeHint}, ${job.allowImageToModel},
              ${job.contentType}, ${job.sizeBytes}, ${job.storageKey}, ${byteaOrNull(job.fileNameEncrypted)}, ${job.traceContext})`
  )

/** Whether a row with this id exists (whoever's). */
export const jobExists = (jobId: JobId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql`SELECT 1 AS ok FROM jobs WHERE id = ${jobId}::uuid`, (rows) => rows.length > 0)
  )

/** Records that the job's original is gone (after a removal that succeeded); once. */
export const markOriginalRemoved = (jobId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`UPDATE jobs SET original_removed_at = now() WHERE id = ${jobId}::uuid AND original_removed_at IS NULL`
  )

/**
 * Up to `batch` originals no longer kept but not recorded as removed, least recently updated first:
 * a failed job's, and a completed job's whose content is gone (deleted by the user).
 */
export const findUnsweptOriginals = (batch: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, storage_key FROM jobs
        WHERE original_removed_at IS NULL
          AND (status = 'failed' OR (status = 'completed' AND NOT EXISTS (SELECT 1 FROM content c WHERE c.job_id = jobs.id)))
        ORDER BY updated_at
        LIMIT ${batch}`,
      (found) => Effect.orDie(decodeUnswept(found))
    )
  )

/** The originals still stored: jobs not yet processed, and completed jobs' kept with their content (key rotation re-wraps them). Rows as typed, not decoded. */
export const listStoredOriginals = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ readonly id: string; readonly owner: UserId; readonly storageKey: string }>`
    SELECT id::text AS id, user_id::text AS owner, storage_key FROM jobs
    WHERE status IN ('queued', 'processing') OR (status = 'completed' AND original_removed_at IS NULL)`
)

/** Where a job's original is stored, while it is (not yet recorded as removed). */
export const findStoredOriginal = (jobId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ readonly storageKey: string }>`SELECT storage_key FROM jobs WHERE id = ${jobId}::uuid AND original_removed_at IS NULL`,
      (rows) => Option.map(Option.fromUndefinedOr(rows[0]), (row) => row.storageKey)
    )
  )

/** The sealed original kept with a user's content, if it is still stored: where it is, and what it is. */
export const findKeptOriginal = (userId: UserId, contentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ readonly jobId: string; readonly storageKey: string; readonly contentType: string; readonly fileNameEncrypted: Uint8Array | null }>`
        SELECT j.id::text AS job_id, j.storage_key, j.content_type, j.file_name_encrypted
        FROM content c JOIN jobs j ON j.id = c.job_id
        WHERE c.id = ${contentId}::uuid AND c.user_id = ${userId}::uuid AND j.user_id = ${userId}::uuid
          AND j.original_removed_at IS NULL`,
      (rows) => Option.fromUndefinedOr(rows[0])
    )
  )
