/**
 * Whether an upload lets the model see the document as an image (the upload's `allowImageToModel`):
 * a photo or scan is sent to the model as its OCR text, and only when OCR cannot read it as the
 * image itself; false makes such a job fail (IMAGE_WITHHELD) instead. Kept with the job, and with a
 * presigned upload until it becomes one. Rows from before this migration, and uploads that do not
 * say, are true: what was done before.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE jobs ADD COLUMN allow_image_to_model boolean NOT NULL DEFAULT true`
  yield* sql`ALTER TABLE document_uploads ADD COLUMN allow_image_to_model boolean NOT NULL DEFAULT true`
})
