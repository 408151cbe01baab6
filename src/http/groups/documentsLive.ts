/** Handlers of the documents group: read the upload (JSON or multipart, in memory), call the programs. */
import { HttpApiBuilder } from "effect/http-api"
import { type HttpServerRequest, HttpServerResponse, Multipart } from "effect/http"
import { Sse } from "effect/encoding"
import { type Cause, Duration, Effect, Option, Schema, SchemaIssue, Stream } from "effect"
import { type JobStreamItem, RECONNECT_AFTER, watchJobEvents } from "../../programs/jobEvents.js"
import { getJobStatus } from "../../programs/jobStatus.js"
import { beginUpload, completeUpload } from "../../programs/presignedUpload.js"
import { recordRefusedUpload, uploadDocument } from "../../programs/uploadDocument.js"
import { InvalidRequest, MalformedBody, NotFound, PayloadTooLarge, UnsupportedMediaType } from "../../services/errors.js"
import type { RequestContext } from "../../services/audit.js"
import type { UserId } from "../../services/ids.js"
import { DocumentType } from "../../services/llm.js"
import { UploadLimits } from "../../services/uploadLimits.js"
import { Api } from "../api.js"
import { classifyCause } from "../errors.js"
import { SSE_KEEP_ALIVE } from "../schemas.js"
import {
  AllowImageToModelField,
  JobEventData,
  JobEventSse,
  JobStatusBody,
  UploadAcceptedBody,
  UploadJson,
  UploadTargetBody
} from "./documents.js"
import { auditContext, currentUserId } from "./requestContext.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

interface ReceivedDocument {
  readonly bytes: Uint8Array
  readonly declaredContentType?: string
  readonly fileName?: string
  readonly documentTypeHint?: DocumentType
  readonly allowImageToModel?: boolean
}

/** Where a body failed its schema, without echoing what was sent. */
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

export const invalidBody = (error: Schema.SchemaError) => {
  const where = formatIssues(error.issue)
    .issues.slice(0, 5)
    .map((issue) =>
      issue.path !== undefined && issue.path.length > 0
        ? issue.path.map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".")
        : "body"
    )
  return new InvalidRequest({ message: `The request is invalid: ${[...new Set(where)].join(", ")}` })
}

const fromJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    // A body over MAX_BODY_BYTES or one that is not JSON is a platform error the renderer maps (413/400).
    const json = yield* Effect.orDie(request.json)
    const body = yield* Schema.decodeUnknownEffect(UploadJson, { errors: "all" })(json).pipe(Effect.mapError(invalidBody))
    return {
      bytes: body.dataBase64,
      declaredContentType: body.contentType,
      fileName: body.fileName,
      ...(body.documentType !== undefined ? { documentTypeHint: body.documentType } : {}),
      ...(body.allowImageToModel !== undefined ? { allowImageToModel: body.allowImageToModel } : {})
    } satisfies ReceivedDocument
  })

/**
 * The parser reports a limit reached inside a file part's content as an InternalError whose
 * cause is multipasta's `{ _tag: "ReachedLimit", limit }`: that is a 413 too, not a 500.
 */
const isReachedLimit = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && "_tag" in cause && cause._tag === "ReachedLimit"

const reachedLimit = (error: Multipart.MultipartError): boolean =>
  isReachedLimit(error.reason.cause) || isReachedLimit(error.cause)

const fromMultipartError = (
  error: Multipart.MultipartError,
  limitBytes: number
): Effect.Effect<never, PayloadTooLarge | MalformedBody> => {
  const tooLarge = new PayloadTooLarge({ message: `The document is larger than ${limitBytes} bytes`, limitBytes })
  if (reachedLimit(error)) return Effect.fail(tooLarge)
  // 4.1.5: the reason is a tagged MultipartErrorReason (it was a string).
  switch (error.reason._tag) {
    case "FileTooLarge":
    case "FieldTooLarge":
    case "BodyTooLarge":
    case "TooManyParts":
      return Effect.fail(tooLarge)
    case "Parse":
      return Effect.fail(new MalformedBody({ message: "The multipart body could not be parsed" }))
    default:
      return Effect.die(error)
  }
}

interface FormState {
  readonly file: Option.Option<{ readonly bytes: Uint8Array; readonly name: string; readonly contentType: string }>
  readonly documentType: Option.Option<string>
  readonly allowImageToModel: Option.Option<string>
}

/** The `file` part and optional `documentType` and `allowImageToModel` fields, streamed into memory (never to disk). */
const fromMultipart = (request: HttpServerRequest.HttpServerRequest, maxUploadBytes: number) =>
  Effect.gen(function* () {
    // The parser reads its limits from the fiber when the stream runs (4.1.5 has no withLimitsStream).
    const limits = Multipart.limitsServices({
      maxParts: 8,
      maxFieldSize: 1024,
      // One byte over the limit is enough to know the document is too large.
      maxFileSize: maxUploadBytes,
      maxTotalSize: maxUploadBytes + 64 * 1024
    })
    const initial: FormState = { file: Option.none(), documentType: Option.none(), allowImageToModel: Option.none() }
    const form = yield* Stream.runFoldEffect(request.multipartStream, () => initial, (state, part): Effect.Effect<FormState, Multipart.MultipartError> => {
      if (Multipart.isFile(part)) {
        if (part.key !== "file" || Option.isSome(state.file)) return Effect.as(Stream.runDrain(part.content), state)
        return Effect.map(part.contentEffect, (bytes) => ({
          ...state,
          file: Option.some({ bytes, name: part.name, contentType: part.contentType })
        }))
      }
      if (Multipart.isField(part) && part.key === "documentType") {
        return Effect.succeed({ ...state, documentType: Option.some(part.value) })
      }
      if (Multipart.isField(part) && part.key === "allowImageToModel") {
        return Effect.succeed({ ...state, allowImageToModel: Option.some(part.value) })
      }
      return Effect.succeed(state)
    }).pipe(
      Effect.provideContext(limits),
      Effect.catchTag("MultipartError", (error) => fromMultipartError(error, maxUploadBytes))
    )
    if (Option.isNone(form.file)) return yield* new InvalidRequest({ message: "The request is invalid: file is required" })
    const documentTypeHint = yield* Option.match(form.documentType, {
      onNone: () => Effect.succeed(undefined),
      onSome: (value) =>
        Schema.decodeUnknownEffect(DocumentType)(value).pipe(
          Effect.mapError(() => new InvalidRequest({ message: "The request is invalid: documentType is invalid" }))
        )
    })
    const allowImageToModel = yield* Option.match(form.allowImageToModel, {
      onNone: () => Effect.succeed(undefined),
      onSome: (value) =>
        Schema.decodeUnknownEffect(AllowImageToModelField)(value).pipe(
          Effect.map((text) => text === "true"),
          Effect.mapError(() => new InvalidRequest({ message: "The request is invalid: allowImageToModel is invalid" }))
        )
    })
    const file = form.file.value
    return {
      bytes: file.bytes,
      declaredContentType: file.contentType,
      ...(file.name.length > 0 ? { fileName: file.name } : {}),
      ...(documentTypeHint !== undefined ? { documentTypeHint } : {}),
      ...(allowImageToModel !== undefined ? { allowImageToModel } : {})
    } satisfies ReceivedDocument
  })

const tooLargeForDirect = (limitBytes: number) =>
  new PayloadTooLarge({
    message: `The document is larger than ${limitBytes} bytes, the most a direct upload takes here; upload it with POST /documents/uploads`,
    limitBytes
  })

const receive = (
  request: HttpServerRequest.HttpServerRequest,
  maxUploadBytes: number
): Effect.Effect<ReceivedDocument, UnsupportedMediaType | InvalidRequest | MalformedBody | PayloadTooLarge> => {
  const contentType = (request.headers["content-type"] ?? "application/json").toLowerCase()
  if (contentType.includes("multipart/form-data")) return fromMultipart(request, maxUploadBytes)
  if (contentType.includes("application/json")) return fromJson(request)
  return Effect.fail(
    new UnsupportedMediaType({ message: "Send the document as application/json or multipart/form-data" })
  )
}

/** Client mistakes and refusals by rule are audited; our own outages are not refusals. */
const auditRefusal = (userId: UserId, cause: Cause.Cause<unknown>, requestContext: RequestContext) => {
  const { status } = classifyCause(cause).info
  return status >= 400 && status < 500 ? recordRefusedUpload(userId, status, requestContext) : Effect.void
}

const encodeJobEvent = Schema.encodeSync(JobEventSse)

/**
 * A job's events as the SSE body, written here rather than by the platform's encoder so that it can
 * say `retry:` (the reconnect hint, which its encoder cannot write): events through the documented
 * schema (JobEventSse), `: keepalive` comments, `retry:` first and at a bounded stream's end.
 */
export const jobEventsBody = (items: Stream.Stream<JobStreamItem>, retryMillis: number): Stream.Stream<Uint8Array> => {
  const events = Stream.map(items, (item) =>
    item._tag === "Reconnect"
      ? Sse.encoder.write(new Sse.Retry({ duration: Duration.millis(item.retryMillis), lastEventId: undefined }))
      : Sse.encoder.write({
        _tag: "Event",
        ...encodeJobEvent({ id: item.id, event: item.event, data: new JobEventData(item.data, { disableChecks: true }) })
      })
  ).pipe(
    // A defect must not cut the connection without a word: it is logged, and the client told to reconnect.
    Stream.catchCause((cause) =>
      Stream.fromEffect(
        Effect.as(
          Effect.logError("job events: the stream failed", cause),
          Sse.encoder.write(new Sse.Retry({ duration: Duration.millis(retryMillis), lastEventId: undefined }))
        )
      )
    )
  )
  const keepAlive = Stream.map(Stream.drop(Stream.tick(SSE_KEEP_ALIVE), 1), () => ": keepalive\n\n")
  return Stream.encodeText(
    Stream.concat(
      Stream.succeed(Sse.encoder.write(new Sse.Retry({ duration: Duration.millis(retryMillis), lastEventId: undefined }))),
      Stream.merge(events, keepAlive, { haltStrategy: "left" })
    )
  )
}

export const DocumentsLive = HttpApiBuilder.group(Api, "documents", (handlers) =>
  handlers
    .handleRaw("upload", ({ headers, request }) =>
      Effect.gen(function* () {
        const limits = yield* UploadLimits
        const userId = yield* currentUserId
        const requestContext = yield* auditContext
        return yield* Effect.gen(function* () {
          // A direct upload carries its document in the request, which on Lambda is bounded by the
          // invocation payload (src/services/uploadLimits.ts): larger documents use the presigned uploads.
          const maxBytes = limits.maxDirectUploadBytes
          const document = yield* receive(request, maxBytes).pipe(
            Effect.catchTag("PayloadTooLarge", () => Effect.fail(tooLargeForDirect(maxBytes)))
          )
          if (document.bytes.length > maxBytes) return yield* tooLargeForDirect(maxBytes)
          const idempotencyKey = headers["idempotency-key"]
          const accepted = yield* uploadDocument({
            userId,
            ...document,
            ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
            request: requestContext
          })
          return new UploadAcceptedBody(accepted, { disableChecks: true })
        }).pipe(
          Effect.tapCause((cause) => auditRefusal(userId, cause, requestContext))
        )
      })
    )
    .handle("beginUpload", ({ payload }) =>
      Effect.gen(function* () {
        const userId = yield* currentUserId
        const requestContext = yield* auditContext
        const target = yield* beginUpload({
          userId,
          fileName: payload.fileName,
          contentType: payload.contentType,
          sizeBytes: payload.sizeBytes,
          ...(payload.documentType !== undefined ? { documentType: payload.documentType } : {}),
          ...(payload.allowImageToModel !== undefined ? { allowImageToModel: payload.allowImageToModel } : {}),
          request: requestContext
        }).pipe(Effect.tapCause((cause) => auditRefusal(userId, cause, requestContext)))
        return new UploadTargetBody(target, { disableChecks: true })
      })
    )
    .handle("completeUpload", ({ params }) =>
      Effect.gen(function* () {
        const userId = yield* currentUserId
        const requestContext = yield* auditContext
        const accepted = yield* completeUpload({ userId, uploadId: params.uploadId, request: requestContext }).pipe(
          Effect.tapCause((cause) => auditRefusal(userId, cause, requestContext))
        )
        return new UploadAcceptedBody(accepted, { disableChecks: true })
      })
    )
    .handle("jobStatus", ({ params }) =>
      Effect.gen(function* () {
        const status = yield* getJobStatus(yield* currentUserId, params.jobId, yield* auditContext)
        if (Option.isNone(status)) return yield* new NotFound({ message: "No such job" })
        return new JobStatusBody(status.value, { disableChecks: true })
      })
    )
    .handle("jobEvents", ({ params, headers }) =>
      Effect.gen(function* () {
        const lastEventId = headers["last-event-id"]
        const answer = yield* watchJobEvents(yield* currentUserId, params.jobId, {
          ...(lastEventId !== undefined ? { lastEventId: Number(lastEventId) } : {}),
          requestContext: yield* auditContext
        })
        if (Option.isNone(answer)) return yield* new NotFound({ message: "No such job" })
        if (answer.value._tag === "Finished") return HttpServerResponse.empty({ status: 204 })
        return HttpServerResponse.stream(jobEventsBody(answer.value.stream, Duration.toMillis(RECONNECT_AFTER)), {
          contentType: "text/event-stream",
          // nginx (the Kubernetes ingress) would otherwise buffer the stream
          headers: { "x-accel-buffering": "no" }
        })
      })
    )
)
