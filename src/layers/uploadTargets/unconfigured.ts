/**
 * The local default (`npm start` on the file-system storage): there is no place a client could
 * upload to directly, so issuing and reading answer UPLOADS_NOT_CONFIGURED (501). Uploads through
 * the API (`POST /documents/upload`) take any document the local server accepts; with
 * STORAGE_PROVIDER=s3 (an s3rver or MinIO endpoint too) the S3 layer is used instead
 * (src/main/layers.ts).
 */
import { Effect, Layer } from "effect"
import { UploadsNotConfigured, UploadTargets } from "../../services/uploadTargets.js"

const notConfigured = new UploadsNotConfigured({
  message: "Uploads straight to storage need STORAGE_PROVIDER=s3; send the document to POST /documents/upload"
})

export const UploadTargetsUnconfigured: Layer.Layer<UploadTargets> = Layer.succeed(UploadTargets, {
  issue: () => Effect.fail(notConfigured),
  read: () => Effect.fail(notConfigured),
  // Nothing is ever issued here; a target issued by an S3 deployment before a switch to local
  // storage is the bucket's to expire (lifecycle rule), not this process's to retry forever.
  remove: () => Effect.void
})
