/**
 * `document_uploads` (migration 0010): one row per presigned target issued, so that completing it
 * can check it is the user's, unexpired and of the declared size, and answer the same job when it
 * is completed twice (`job_id`, set once). The bytes never pass through here; `object_key` (unique)
 * is where they arrive. The file name is sealed by the caller for its row. An upload is pending
 * while it has no job and has not expired; scoped to the user in the SQL: another user's upload
 * reads as missing.
 */
import { Effect, Option, Schema } from "effect"
import { bytea, decodeRows, SqlClient } from "../services/database.js"
import { JobId, UploadId, type UserId } from "../services/ids.js"
import { DocumentType } from "../services/llm.js"

// size_bytes is a bigint, read as text: FiniteFromString, since 4.x's NumberFromString would read garbage as NaN
const UploadRow = Schema.Struct({
  id: UploadId,
  objectKey: Schema.String,
  contentType: Schema.String,
  sizeBytes: Schema.FiniteFromString,
  fileNameEncrypted: Schema.NullOr(Schema.Uint8Array),
  documentTypeHint: Schema.NullOr(DocumentType),
  allowImageToModel: Schema.Boolean,
  jobId: Schema.NullOr(JobId),
  expired: Schema.Boolean
})
export type UploadRow = typeof UploadRow.Type
const decodeUploads = decodeRows(UploadRow)

const UploadRecord = Schema.Struct({
  id: UploadId,
  fileNameEncrypted: Schema.NullOr(Schema.Uint8Array),
  contentType: Schema.String,
  sizeBytes: Schema.FiniteFromString,
  documentTypeHint: Schema.NullOr(DocumentType),
  allowImageToModel: Schema.Boolean,
  createdAt: Schema.Date,
  expiresAt: Schema.Date,
  jobId: Schema.NullOr(JobId)
})
const decodeRecords = decodeRows(UploadRecord)

/** The user's pending uploads: how many, and the seconds until the first of them expires (null: none). */
export const pendingUploads = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ n: number; retryAfter: number | null }>`
        SELECT count(*)::int AS n, ceil(extract(epoch FROM min(expires_at) - now()))::int AS retry_after
        FROM document_uploads WHERE user_id = ${userId}::uuid AND job_id IS NULL AND expires_at > now()`,
      ([pending]) => ({ count: pending?.n ?? 0, retryAfter: pending?.retryAfter ?? null })
    )
  )

export const insertUpload = (upload: {
  readonly id: UploadId
  readonly userId: UserId
  readonly objectKey: string
  readonly contentType: string
  readonly sizeBytes: number
  readonly fileNameEncrypted: Uint8Array
  readonly documentTypeHint: DocumentType | null
  /** Carried to the job on completion (jobs.allow_image_to_model). */
  readonly allowImageToModel: boolean
  readonly expiresAt: Date
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO document_uploads (id, user_id, object_key, content_type, size_bytes, file_name_encrypted,
                                    document_type_hint, allow_image_to_model, expires_at)
      VALUES (${upload.id}::uuid, ${upload.userId}::uuid, ${upload.objectKey}, ${upload.contentType}, ${upload.sizeBytes}, ${bytea(upload.fileNameEncrypted)},
              ${upload.documentTypeHint}, ${upload.allowImageToModel}, ${upload.expiresAt})`
  )

/** The user's upload; `expired` once `graceSeconds` have passed since it expired. None when missing or someone else's. */
export const findUpload = (userId: UserId, uploadId: UploadId, graceSeconds: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, object_key, content_type, size_bytes::text AS size_bytes, file_name_encrypted, document_type_hint,
               allow_image_to_model, job_id,
               expires_at + make_interval(secs => ${graceSeconds}) <= now() AS expired
        FROM document_uploads WHERE id = ${uploadId}::uuid AND user_id = ${userId}::uuid`,
      (rows) => Effect.orDie(Effect.map(decodeUploads(rows), ([row]) => Option.fromNullishOr(row)))
    )
  )

/** Records the upload's job, unless one is recorded already (the first completion's stays). */
export const linkJob = (uploadId: UploadId, jobId: JobId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`UPDATE document_uploads SET job_id = ${jobId}::uuid WHERE id = ${uploadId}::uuid AND job_id IS NULL`
  )

/** Every upload of the user, pending or completed, oldest first, its file name sealed (the account export). */
export const listUploadsOf = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, file_name_encrypted, content_type, size_bytes::text AS size_bytes, document_type_hint, allow_image_to_model,
               created_at, expires_at, job_id
        FROM document_uploads WHERE user_id = ${userId}::uuid ORDER BY created_at, id`,
      decodeRecords
    )
  )

/** Deletes every upload row of the user (erasure; their incoming objects are owed to the outbox first). */
export const deleteUploadsOf = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM document_uploads WHERE user_id = ${userId}::uuid`)
