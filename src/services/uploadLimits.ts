/**
 * Every size limit a document meets on its way, in one place, and what each one means for it:
 *
 * - API Gateway (HTTP API) takes request bodies up to 10 MB, and hands them to Lambda inside the
 *   6 MB synchronous invocation payload, base64 encoded when binary (a multipart body) — a JSON
 *   upload carries its document base64 encoded anyway. So a direct upload (`POST /documents/upload`)
 *   on Lambda carries at most `LAMBDA_DIRECT_UPLOAD_BYTES` of document (about 4.4 MiB): above that the
 *   request never reaches our code. Larger documents use the presigned uploads, which go straight to
 *   S3 and are bounded by MAX_UPLOAD_BYTES alone.
 * - The model (Converse) takes a document block up to 4.5 MB and an image up to 3.75 MB and 8,000 px
 *   a side (src/services/models.ts, CONVERSE_LIMITS). A larger image is scaled down to fit; a larger
 *   PDF with a text layer goes as its text; a larger scanned PDF fails its job (DOCUMENT_TOO_COMPLEX).
 *   So MAX_UPLOAD_BYTES may be larger than Converse's limits without refusing readable documents.
 */
import { Context } from "effect"
import { CONVERSE_LIMITS } from "./models.js"

/** The sizes a use case holds an upload to (MAX_UPLOAD_BYTES, MAX_DIRECT_UPLOAD_BYTES): all it needs of the settings. */
export class UploadLimits extends Context.Service<
  UploadLimits,
  {
    /** Decoded bytes; larger uploads are refused with 413, presigned or direct. */
    readonly maxUploadBytes: number
    /** Decoded bytes a direct upload (the document in the request) may carry; at most maxUploadBytes. */
    readonly maxDirectUploadBytes: number
  }
>()("serenya/UploadLimits") {}

const MiB = 1024 * 1024

/** Lambda's synchronous invocation payload, request and response (AWS: 6 MB = 6,291,456 bytes). */
export const LAMBDA_PAYLOAD_BYTES = 6 * MiB
/** API Gateway HTTP API's largest request body (10 MB). */
export const API_GATEWAY_PAYLOAD_BYTES = 10 * MiB
/** The event's headers, request context and the JSON or multipart framing around the document. */
export const EVENT_OVERHEAD_BYTES = 64 * 1024

/** The largest document a direct upload can carry on Lambda: 4 base64 characters per 3 bytes, within the payload. */
export const LAMBDA_DIRECT_UPLOAD_BYTES = Math.floor(
  ((Math.min(LAMBDA_PAYLOAD_BYTES, API_GATEWAY_PAYLOAD_BYTES) - EVENT_OVERHEAD_BYTES) * 3) / 4
)

/** What the Lambda stages accept through the presigned uploads (MAX_UPLOAD_BYTES): 20 MiB. */
export const LAMBDA_MAX_UPLOAD_BYTES = 20 * MiB

/** The limits a client meets, for the API's description. */
export const describeLimits = (): string =>
  [
    `Direct uploads (POST /documents/upload) take documents up to MAX_DIRECT_UPLOAD_BYTES; on AWS Lambda that is ${LAMBDA_DIRECT_UPLOAD_BYTES} bytes (about 4.4 MiB: the body travels base64 encoded inside Lambda's 6 MB payload).`,
    `Larger documents, up to MAX_UPLOAD_BYTES (${LAMBDA_MAX_UPLOAD_BYTES} bytes on Lambda), go straight to storage: POST /documents/uploads, then POST /documents/uploads/{uploadId}/complete.`,
    `For the model, images over ${CONVERSE_LIMITS.imageMaxBytes} bytes or ${CONVERSE_LIMITS.imageMaxPixels} pixels a side are scaled down to fit; a PDF over ${CONVERSE_LIMITS.documentMaxBytes} bytes is read from its text layer, and a scanned one that large fails its job with DOCUMENT_TOO_COMPLEX.`
  ].join(" ")
