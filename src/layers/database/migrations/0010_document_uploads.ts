/**
 * Presigned uploads (programs/presignedUpload.ts): a row per presigned target issued, so that completing
 * one can check it is the user's, unexpired and of the declared size, and answer the same job when
 * the client completes twice. The bytes never pass through here: they arrive at `object_key` in
 * the bucket, and are sealed and stored as a job's original on completion.
 *
 * The file name is sealed like jobs.file_name_encrypted (context `document_uploads.file_name_encrypted`).
 * Erasure deletes the rows with the user (the cascade, and explicitly in account.ts, which also owes
 * the objects of pending rows to the erasure outbox: the new outbox kind 'upload').
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { APP_ROLE } from "../roles.js"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE document_uploads (
      id                  uuid PRIMARY KEY,
      user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      object_key          text NOT NULL UNIQUE,
      content_type        text NOT NULL,
      size_bytes          bigint NOT NULL CHECK (size_bytes >= 1),
      file_name_encrypted bytea,
      document_type_hint  text CHECK (document_type_hint IN ('lab_results', 'vitals', 'report', 'other')),
      created_at          timestamptz NOT NULL DEFAULT now(),
      expires_at          timestamptz NOT NULL,
      job_id              uuid
    )`
  // Counting a user's pending targets (the per-user bound) reads only these.
  yield* sql`CREATE INDEX document_uploads_pending_idx ON document_uploads (user_id, expires_at) WHERE job_id IS NULL`

  // Erasure owes a pending upload's incoming object, which lives with UploadTargets, not Storage.
  yield* sql`ALTER TABLE erasure_outbox DROP CONSTRAINT erasure_outbox_kind_check`
  yield* sql`ALTER TABLE erasure_outbox ADD CONSTRAINT erasure_outbox_kind_check CHECK (kind IN ('object', 'upload', 'cost_records'))`

  // Issued, read and completed by the API (job_id), re-wrapped by key rotation (the file name),
  // deleted with the user (0007: each table its own grants).
  yield* sql`REVOKE ALL ON TABLE document_uploads FROM PUBLIC`
  yield* sql.unsafe(`GRANT SELECT, INSERT, UPDATE (job_id, file_name_encrypted), DELETE ON TABLE document_uploads TO ${APP_ROLE}`)
})
