/**
 * Uploading documents and following their processing. `POST /documents/upload` takes either JSON
 * with the bytes in base64 or multipart/form-data with a `file` part; the handler reads the body
 * itself (by content type) so that size limits are its own and the bytes never touch the disk.
 * `POST /documents/uploads` and `…/{uploadId}/complete` take documents too large for a request
 * body on Lambda: the bytes go to a presigned storage target, only small JSON passes through here.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Multipart } from "effect/http"
import { Schema } from "effect"
import { Instant } from "../../services/time.js"
import { IDEMPOTENCY_KEY_PATTERN, MAX_IDEMPOTENCY_KEY_LENGTH } from "../../programs/idempotency.js"
import { ContentId, JobId, UploadId } from "../../services/ids.js"
import { JobStage, JobStatus } from "../../services/jobQueue.js"
import { DocumentType } from "../../services/llm.js"
import { describeLimits, LAMBDA_DIRECT_UPLOAD_BYTES } from "../../services/uploadLimits.js"
import { errorResponse } from "../errors.js"
import { IdFromRequest, NonEmptyBytesFromBase64, SSE_KEEP_ALIVE, Text } from "../schemas.js"
import { Authentication } from "../security.js"

/** What `allowImageToModel` means, wherever an upload says it. */
const ALLOW_IMAGE_TO_MODEL_DESCRIPTION =
  "Whether the model may be sent the document as an image. A photo or scanned PDF is sent to the model as the text read from it (OCR), never as the image, unless that text cannot be read: then the image itself is sent, or, when this is false, the job fails with IMAGE_WITHHELD instead. Default: true"

/** The JSON bodies' `allowImageToModel`. */
const AllowImageToModel = Schema.optionalKey(Schema.Boolean.annotate({ description: ALLOW_IMAGE_TO_MODEL_DESCRIPTION }))

/** The multipart form's `allowImageToModel` field: form fields are text, so `true` or `false` (anything else is a 400). */
export const AllowImageToModelField = Schema.Literals(["true", "false"]).annotate({
  description: `${ALLOW_IMAGE_TO_MODEL_DESCRIPTION}. As a form field: \`true\` or \`false\``
})

export class UploadJson extends Schema.Class<UploadJson>("UploadJson")({
  fileName: Text(1, 255).annotate({ description: "The file's name on the device" }),
  contentType: Text(1, 255).annotate({
    description: "The file's media type (application/pdf, image/jpeg, image/png, text/plain); the bytes must match it"
  }),
  dataBase64: NonEmptyBytesFromBase64("The document, base64 encoded (standard alphabet, padded)"),
  documentType: Schema.optionalKey(DocumentType),
  allowImageToModel: AllowImageToModel
}, { description: "An upload as JSON; the type is detected from the bytes and must match contentType" }) {}

/** What the `file` part is (openapi.ts puts it in the document: 4.1.5 documents a file part as bare binary). */
export const UPLOAD_FILE_DESCRIPTION = "The document (one part): a PDF, JPEG, PNG or plain text file"

/** The multipart form (documented; the handler streams it with limits). */
export const UploadForm = HttpApiSchema.asMultipart()(
  Schema.Struct({
    file: Multipart.SingleFileSchema,
    documentType: Schema.optionalKey(DocumentType),
    allowImageToModel: Schema.optionalKey(AllowImageToModelField)
  }).annotate({
    description: "An upload as multipart/form-data: a `file` part, optionally `documentType` and `allowImageToModel` fields"
  })
)

export class UploadAcceptedBody extends Schema.Class<UploadAcceptedBody>("UploadAccepted")({
  jobId: JobId,
  status: Schema.Literal("queued")
}) {}

// One check documenting exactly what it checks: 4.1.5 documents a lone isPattern whose regular
// expression it cannot translate as an approximation (`anyOf`), dropping the pattern.
const IdempotencyKey = Schema.String.check(
  Schema.makeFilter(
    (key: string) => key.length <= MAX_IDEMPOTENCY_KEY_LENGTH && IDEMPOTENCY_KEY_PATTERN.test(key),
    {
      toJsonSchema: () => ({ maxLength: MAX_IDEMPOTENCY_KEY_LENGTH, pattern: IDEMPOTENCY_KEY_PATTERN.source }),
      description: `Makes retries safe: the same key with the same request answers as the first time (24 h). 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters, no spaces.`
    }
  )
)

export const IdempotencyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(IdempotencyKey)
})

export class BeginUploadJson extends Schema.Class<BeginUploadJson>("BeginUpload")({
  fileName: Text(1, 255).annotate({ description: "The file's name on the device" }),
  contentType: Text(1, 255).annotate({
    description: "The file's media type: application/pdf, image/jpeg, image/png or text/plain (another is a 415); the upload must declare exactly the `Content-Type` field answered"
  }),
  sizeBytes: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))).annotate({
    description: "The file's exact size in bytes; above MAX_UPLOAD_BYTES is a 413, and storage refuses an upload larger than it"
  }),
  documentType: Schema.optionalKey(DocumentType),
  allowImageToModel: AllowImageToModel
}, { description: "The document about to be uploaded to storage" }) {}

export class UploadTargetBody extends Schema.Class<UploadTargetBody>("UploadTarget")({
  uploadId: UploadId,
  url: Schema.String.annotate({ description: "Where to POST the document (an S3 bucket endpoint)" }),
  method: Schema.Literal("POST"),
  fields: Schema.Record(Schema.String, Schema.String).annotate({
    description: "Form fields to send, as they are and before the file, in a multipart/form-data POST whose last part is `file`"
  }),
  expiresAt: Instant.annotate({ description: "After this the target refuses uploads (15 minutes)" }),
  maxBytes: Schema.Int.annotate({ description: "The most bytes the target accepts: the declared sizeBytes" })
}, { description: "A presigned target for one upload: one key, the declared type, at most the declared size" }) {}

export const UploadPath = Schema.Struct({ uploadId: IdFromRequest(UploadId) })

export class JobStatusBody extends Schema.Class<JobStatusBody>("JobStatus")({
  jobId: JobId,
  status: JobStatus,
  stage: Schema.optionalKey(JobStage),
  attempts: Schema.Int,
  contentId: Schema.optionalKey(ContentId),
  error: Schema.optionalKey(Schema.Struct({ code: Schema.String, message: Schema.String })),
  createdAt: Instant,
  updatedAt: Instant
}) {}

export const JobPath = Schema.Struct({ jobId: IdFromRequest(JobId) })

/** What each job event says (its `data`, JSON): the job's state as the database has it (programs/jobEvents.ts). */
export class JobEventData extends Schema.Class<JobEventData>("JobEventData")({
  jobId: JobId,
  status: JobStatus,
  stage: Schema.optionalKey(Schema.Literals(["reading", "interpreting", "saving"])).annotate({
    description: "While processing: reading the document, the model interpreting it, or saving the result"
  }),
  attempts: Schema.Int.annotate({ description: "Attempts started, this one included (0 while queued for the first)" }),
  contentId: Schema.optionalKey(ContentId).annotate({ description: "Once completed: the interpreted document" }),
  error: Schema.optionalKey(Schema.Struct({ code: Schema.String, message: Schema.String })).annotate({
    description: "Once failed: a stable reason code and our own sentence for it"
  })
}, { description: "A job event's data: the job's state" }) {}

/** The SSE events of GET /jobs/{jobId}/events: an ordinal id, the status as the event's name, the state as data. */
export const JobEventSse = Schema.Struct({
  id: Schema.String.annotate({ description: "The event's ordinal in the job's life: send the last one received as Last-Event-ID to resume after it" }),
  event: JobStatus,
  data: Schema.fromJsonString(JobEventData)
})

/** The longest a Last-Event-ID can be (our ids are small ordinals). */
const LAST_EVENT_ID_PATTERN = /^(0|[1-9][0-9]{0,5})$/

export const JobEventsHeaders = Schema.Struct({
  "last-event-id": Schema.optional(
    Schema.String.check(
      Schema.makeFilter((id: string) => LAST_EVENT_ID_PATTERN.test(id), {
        toJsonSchema: () => ({ maxLength: 6, pattern: LAST_EVENT_ID_PATTERN.source }),
        description: "The id of the last event received (an EventSource sends it by itself when it reconnects): only later events are sent."
      })
    )
  )
})

const JOB_STATUS_DESCRIPTION =
  "Poll this until the status is `completed` or `failed`, or follow the job without polling: `GET /jobs/{jobId}/events` sends each change as a Server-Sent Event."

const JOB_EVENTS_DESCRIPTION = [
  "The job's progress as Server-Sent Events (`text/event-stream`), without polling `GET /jobs/{jobId}/status` (which keeps working and says the same).",
  "",
  "- Events, named by the status: `queued`; `processing`, with `stage` `reading`, `interpreting` then `saving`; then `completed` (with `contentId`) or `failed` (with `error.code`), after which the stream ends. A transient failure queues the job again for its next attempt. A stage that passes between two reads of the job may be skipped; an event is never repeated or invented.",
  "- Each event's `id` is its ordinal in the job's life. Reconnecting with `Last-Event-ID` (an EventSource does it by itself) sends only later events; when the job's final event is the one named, the answer is 204 (an EventSource then stops).",
  "- The first event is the job's state now. Comments (`: keepalive`) every 15 s keep the connection open through proxies. A stream open 10 minutes ends with `retry: 1000`: reconnect with Last-Event-ID.",
  "- Changes made by any worker are seen on any server: the events come from the database, not from the instance that processed the job."
].join("\n")

export class DocumentsGroup extends HttpApiGroup.make("documents")
  .add(
    HttpApiEndpoint.post("upload", "/documents/upload", {
      headers: IdempotencyHeaders,
      payload: [UploadJson, UploadForm],
      success: UploadAcceptedBody.pipe(HttpApiSchema.status(202)),
      error: [
        errorResponse(402, "The plan's monthly documents or the LLM budget are used up"),
        errorResponse(409, "The Idempotency-Key was used with a different request"),
        errorResponse(413, `The document is larger than MAX_DIRECT_UPLOAD_BYTES (on AWS Lambda ${LAMBDA_DIRECT_UPLOAD_BYTES} bytes): use POST /documents/uploads`),
        errorResponse(415, "The bytes are not a supported type, or not the declared one"),
        errorResponse(503, "The document cannot be accepted right now; retry")
      ]
    })
      .annotate(OpenApi.Summary, "Upload a document for interpretation (202 with the job id)")
      .annotate(OpenApi.Description, describeLimits())
  )
  .add(
    HttpApiEndpoint.post("beginUpload", "/documents/uploads", {
      payload: BeginUploadJson,
      success: UploadTargetBody.pipe(HttpApiSchema.status(201)),
      error: [
        errorResponse(402, "The plan's monthly documents (uploads under way included) or the LLM budget are used up"),
        errorResponse(413, "sizeBytes is larger than MAX_UPLOAD_BYTES"),
        errorResponse(415, "contentType is not one of the accepted types"),
        errorResponse(429, "Too many uploads are under way (at most 20 unexpired); complete one or wait for one to expire"),
        errorResponse(501, "This deployment has no storage to upload to directly (UPLOADS_NOT_CONFIGURED): use POST /documents/upload"),
        errorResponse(503, "The upload cannot be prepared right now; retry")
      ]
    })
      .annotate(OpenApi.Summary, "Begin an upload straight to storage, for documents of any accepted size (201 with a presigned target)")
      .annotate(OpenApi.Description, describeLimits())
  )
  .add(
    HttpApiEndpoint.post("completeUpload", "/documents/uploads/:uploadId/complete", {
      params: UploadPath,
      success: UploadAcceptedBody.pipe(HttpApiSchema.status(202)),
      error: [
        errorResponse(402, "The plan's monthly documents or the LLM budget are used up"),
        errorResponse(409, "Nothing was uploaded to the target yet (UPLOAD_NOT_RECEIVED)"),
        errorResponse(410, "The upload's time ran out before it was completed (UPLOAD_EXPIRED); begin a new one"),
        errorResponse(415, "The uploaded bytes are not a supported type, or not the declared one"),
        errorResponse(501, "This deployment has no storage to upload to directly (UPLOADS_NOT_CONFIGURED)"),
        errorResponse(503, "The upload cannot be completed right now; retry")
      ]
    })
      .annotate(OpenApi.Summary, "Complete an upload made to storage: the document is queued (202 with the job id; the same answer when completed again)")
  )
  .add(
    HttpApiEndpoint.get("jobStatus", "/jobs/:jobId/status", {
      params: JobPath,
      success: JobStatusBody,
      error: errorResponse(503, "The status cannot be read right now; retry")
    })
      .annotate(OpenApi.Summary, "Where an upload is in its processing")
      .annotate(OpenApi.Description, JOB_STATUS_DESCRIPTION)
  )
  .add(
    HttpApiEndpoint.get("jobEvents", "/jobs/:jobId/events", {
      params: JobPath,
      headers: JobEventsHeaders,
      success: [
        HttpApiSchema.StreamSse({ events: JobEventSse, keepAlive: SSE_KEEP_ALIVE }),
        HttpApiSchema.NoContent.annotate({ description: "The job's final event is the one named in Last-Event-ID: nothing more will come" })
      ],
      error: errorResponse(503, "The job's events cannot be read right now; retry")
    })
      .annotate(OpenApi.Summary, "Follow an upload's processing as Server-Sent Events, until it is completed or failed")
      .annotate(OpenApi.Description, JOB_EVENTS_DESCRIPTION)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Documents")
{}
