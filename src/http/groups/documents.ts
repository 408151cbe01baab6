/**
 * Uploading documents and following their processing. `POST /documents/upload` takes either JSON
 * with the bytes in base64 or multipart/form-data with a `file` part; the handler reads the body
 * itself (by content type) so that size limits are its own and the bytes never touch the disk.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, Multipart, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { IDEMPOTENCY_KEY_PATTERN, MAX_IDEMPOTENCY_KEY_LENGTH } from "../../programs/idempotency.js"
import { ContentId, JobId } from "../../services/ids.js"
import { JobStage, JobStatus } from "../../services/jobQueue.js"
import { DocumentType } from "../../services/llm.js"
import { errorResponse } from "../errors.js"
import { IdFromRequest, NonEmptyBytesFromBase64, Text } from "../schemas.js"
import { Authentication } from "../security.js"

export class UploadJson extends Schema.Class<UploadJson>("UploadJson")({
  fileName: Text(1, 255).annotations({ description: "The file's name on the device" }),
  contentType: Text(1, 255).annotations({
    description: "The file's media type (application/pdf, image/jpeg, image/png, text/plain); the bytes must match it"
  }),
  dataBase64: NonEmptyBytesFromBase64("The document, base64 encoded (standard alphabet, padded)"),
  documentType: Schema.optional(DocumentType)
}, { description: "An upload as JSON; the type is detected from the bytes and must match contentType" }) {}

/** The multipart form (documented; the handler streams it with limits). */
export const UploadForm = HttpApiSchema.Multipart(
  Schema.Struct({
    file: Multipart.SingleFileSchema.annotations({
      // The JSON Schema annotation replaces the generated one (an array of one file) whole.
      jsonSchema: { type: "string", format: "binary", description: "The document (one part): a PDF, JPEG, PNG or plain text file" }
    }),
    documentType: Schema.optional(DocumentType)
  }).annotations({ description: "An upload as multipart/form-data: a `file` part, optionally a `documentType` field" })
)

export class UploadAcceptedBody extends Schema.Class<UploadAcceptedBody>("UploadAccepted")({
  jobId: JobId,
  status: Schema.Literal("queued")
}) {}

export const IdempotencyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(
    Schema.String.pipe(Schema.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH), Schema.pattern(IDEMPOTENCY_KEY_PATTERN))
  ).annotations({
    description: `Makes retries safe: the same key with the same request answers as the first time (24 h). 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters, no spaces.`
  })
})

export class JobStatusBody extends Schema.Class<JobStatusBody>("JobStatus")({
  jobId: JobId,
  status: JobStatus,
  stage: Schema.optional(JobStage),
  attempts: Schema.Int,
  contentId: Schema.optional(ContentId),
  error: Schema.optional(Schema.Struct({ code: Schema.String, message: Schema.String })),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

export const JobPath = Schema.Struct({ jobId: IdFromRequest(JobId) })

export class DocumentsGroup extends HttpApiGroup.make("documents")
  .add(
    HttpApiEndpoint.post("upload", "/documents/upload")
      .setPayload(Schema.Union(UploadJson, UploadForm))
      .setHeaders(IdempotencyHeaders)
      .addSuccess(UploadAcceptedBody, { status: 202 })
      .addError(errorResponse(402, "The plan's monthly documents or the LLM budget are used up"))
      .addError(errorResponse(409, "The Idempotency-Key was used with a different request"))
      .addError(errorResponse(413, "The document is larger than MAX_UPLOAD_BYTES"))
      .addError(errorResponse(415, "The bytes are not a supported type, or not the declared one"))
      .addError(errorResponse(503, "The document cannot be accepted right now; retry"))
      .annotate(OpenApi.Summary, "Upload a document for interpretation (202 with the job id)")
  )
  .add(
    HttpApiEndpoint.get("jobStatus", "/jobs/:jobId/status")
      .setPath(JobPath)
      .addSuccess(JobStatusBody)
      .addError(errorResponse(503, "The status cannot be read right now; retry"))
      .annotate(OpenApi.Summary, "Where an upload is in its processing")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Documents")
{}
