/**
 * The one place where failures become HTTP responses. Every error, whether ours (classified
 * by the error model), the platform's (no route, undecodable body, schema mismatch, multipart
 * limits) or an unexpected defect, leaves as the uniform body:
 *   {"error":{"code":"UPPER_SNAKE","category":"…","message":"…","correlationId":"<request id>"}}
 * Defects say nothing about internals; 429 and 503 carry Retry-After.
 */
import { type HttpApiError, HttpApiMiddleware, HttpApiSchema } from "effect/http-api"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { Cause, Data, Effect, Option, References, Result, Schema, SchemaGetter, type SchemaIssue } from "effect"
import {
  type Classified,
  ErrorCategory,
  type ErrorInfo,
  errorInfo,
  ErrorInfoId,
  isClassified,
  MethodNotAllowed,
  retryAfterSeconds
} from "../services/errors.js"
import { recordError } from "../services/metrics.js"

/**
 * The request id of the request being served: the `requestId` log annotation the request-context
 * middleware sets (one fiber-local value for both, instead of two to set on every request).
 */
export const currentRequestId: Effect.Effect<string> = Effect.map(References.CurrentLogAnnotations, (annotations) => {
  const value = annotations["requestId"]
  return typeof value === "string" ? value : "unknown"
})

export class ErrorDetail extends Schema.Class<ErrorDetail>("ErrorDetail")({
  code: Schema.String.annotate({ description: "Stable machine-readable code (UPPER_SNAKE)", examples: ["NOT_FOUND"] }),
  category: ErrorCategory,
  message: Schema.String.annotate({ description: "A sentence for people; never contains health data" }),
  correlationId: Schema.String.annotate({ description: "The request id (also in the X-Request-Id header)" })
}) {}

export class ErrorBody extends Schema.Class<ErrorBody>("ErrorBody")({
  error: ErrorDetail
}, { description: "The uniform error body of every failed request" }) {}

/**
 * What a client holds after decoding an error response: the uniform body plus the status,
 * classified like any of our errors.
 */
export class ApiError extends Data.TaggedError("ApiError")<{
  readonly status: number
  readonly code: string
  readonly category: ErrorCategory
  readonly message: string
  readonly correlationId: string
}> {
  get [ErrorInfoId](): ErrorInfo {
    return { code: this.code, category: this.category, recovery: "ignore", status: this.status }
  }
}

const AnyClassified = Schema.declare((u: unknown): u is Classified => isClassified(u), {
  identifier: "Classified",
  description: "Any error of the error model"
})

/**
 * The error side of an endpoint, for `addError`: on the wire it is the uniform ErrorBody under
 * `status` (so OpenAPI documents exactly what is sent); in handlers it is any classified error,
 * so programs fail with their own typed errors; a client decodes it into an ApiError.
 */
export const errorResponse = (status: number, description: string) =>
  ErrorBody.pipe(
    Schema.decodeTo(AnyClassified, {
      decode: SchemaGetter.transform((body: ErrorBody): Classified => new ApiError({ ...body.error, status })),
      encode: SchemaGetter.transformEffect((error: Classified) =>
        Effect.map(currentRequestId, (requestId) => errorBody(fromFailure(error), requestId))
      )
    }),
    Schema.annotate({ description }),
    HttpApiSchema.status(status)
  )

/**
 * The API-wide renderer (implemented in middleware.ts), on every endpoint of the API (api.ts):
 * its error side is what any operation may answer besides its own errors (4.1.5 has no API-level
 * `addError`; a middleware's error schemas are documented on every endpoint it is on).
 */
export class ErrorRenderer extends HttpApiMiddleware.Service<ErrorRenderer>()("ErrorRenderer", {
  error: [
    errorResponse(400, "The request did not match the expected schema"),
    errorResponse(404, "No such resource or endpoint"),
    errorResponse(500, "An unexpected error; the body says nothing about internals")
  ]
}) {}

export interface RenderedError {
  readonly info: ErrorInfo
  readonly message: string
  readonly retryAfter?: number
  /** Headers the status calls for (`Allow` on a 405). */
  readonly headers?: Readonly<Record<string, string>>
  /** Failures we did not anticipate are logged at error level (without internals). */
  readonly unexpected: boolean
}

const platformTag = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" ? u._tag : undefined

const multipartReason = (u: unknown): string | undefined =>
  // 4.1.5: the reason is a MultipartErrorReason (tagged); 3.x had a string.
  platformTag(u) === "MultipartError" ? reasonTag(u) : undefined

/** Builds a person-readable summary of a schema mismatch without echoing submitted values. */
/** The path and kind of each leaf issue of a schema error (4.1.5: a SchemaError holds one issue tree). */
const leafIssues = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey> = []): Array<{ readonly path: ReadonlyArray<PropertyKey>; readonly _tag: string }> => {
  switch (issue._tag) {
    case "Pointer":
      return leafIssues(issue.issue, [...path, ...issue.path])
    case "Composite":
    case "AnyOf":
      return issue.issues.flatMap((inner) => leafIssues(inner, path))
    case "Filter":
    case "Encoding":
      return leafIssues(issue.issue, path)
    case "MissingKey":
      return [{ path, _tag: "Missing" }]
    case "UnexpectedKey":
      return [{ path, _tag: "Unexpected" }]
    default:
      return [{ path, _tag: issue._tag }]
  }
}

const decodeMessage = (error: unknown): string => {
  const issues = Schema.isSchemaError(error) ? leafIssues(error.issue) : []
  const where = issues
    .slice(0, 5)
    .map((issue) => {
      const location = issue.path.length > 0 ? issue.path.map(String).join(".") : "request"
      const problem = issue._tag === "Missing" ? "is required" : issue._tag === "Unexpected" ? "is not allowed" : "is invalid"
      return `${location} ${problem}`
    })
  // One line per problem: a value that fails several checks (`?offset=`: not a number, not an integer) is one problem.
  const distinct = [...new Set(where)]
  return distinct.length > 0 ? `The request is invalid: ${distinct.join("; ")}` : "The request is invalid"
}

/** A client mistake the platform itself detected: never retried, never a 5xx. */
const clientMistake = (status: number, code: string, message: string, category: ErrorCategory = "validation"): RenderedError => ({
  info: { code, category, recovery: "ignore", status },
  message,
  unexpected: false
})

const tooLarge = clientMistake(413, "PAYLOAD_TOO_LARGE", "The request body is larger than allowed")

const tooDeep = clientMistake(400, "MALFORMED_BODY", "The request body is nested too deeply")

const fromFailure = (error: unknown): RenderedError => {
  const info = errorInfo(error)
  if (info) {
    const retryAfter = retryAfterSeconds(error)
    const message = typeof error === "object" && error !== null && "message" in error ? String(error.message) : info.code
    return {
      info,
      message,
      unexpected: false,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      ...(error instanceof MethodNotAllowed ? { headers: { allow: error.allow.join(", ") } } : {})
    }
  }
  const multipart = platformTag(error) === "MultipartError" ? error : causeOf(error)
  const reason = multipartReason(multipart)
  // An over-limit part may be reported as InternalError caused by ReachedLimit.
  if (reason === "InternalError" && platformTag(causeOf(reasonOf(multipart)) ?? causeOf(multipart)) === "ReachedLimit") return tooLarge
  if (reason !== undefined) return fromMultipart(reason)
  switch (platformTag(error)) {
    // 4.1.5: the server's errors are one HttpServerError whose `reason` says which.
    case "HttpServerError":
      return fromFailure(reasonOf(error))
    case "RouteNotFound":
      return clientMistake(404, "NOT_FOUND", "No such endpoint", "business")
    case "HttpApiSchemaError": {
      // Params, query, headers and payload are the client's; a response that does not encode is ours.
      const kind = (error as HttpApiError.HttpApiSchemaError).kind
      return kind === "Body" || kind === "ResponseHeaders"
        ? unexpected
        : clientMistake(400, "VALIDATION_FAILED", decodeMessage((error as HttpApiError.HttpApiSchemaError).cause))
    }
    case "HttpApiPayloadTooLarge":
      return tooLarge
    case "RequestParseError": {
      // The platform reports a body over HttpIncomingMessage.MaxBodySize as BodyTooLarge.
      const cause = causeOf(error)
      if (reasonTag(error) === "BodyTooLarge") return tooLarge
      if (cause instanceof Error && cause.message === "maxBytes exceeded") return tooLarge
      const inner = causeOf(error)
      if (platformTag(inner) === "MultipartError") return fromFailure(inner)
      return clientMistake(400, "MALFORMED_BODY", "The request body could not be parsed")
    }
    case "RequestError": {
      // The platform reports a body over IncomingMessage.MaxBodySize as a decode failure.
      const cause = causeOf(error)
      if (cause instanceof Error && cause.message === "maxBytes exceeded") return tooLarge
      const transport = typeof error === "object" && error !== null && "reason" in error && error.reason === "Transport"
      return transport
        ? clientMistake(400, "BAD_REQUEST", "The request could not be read")
        : clientMistake(400, "MALFORMED_BODY", "The request body could not be parsed")
    }
  }
  return unexpected
}

const causeOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined

const reasonOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "reason" in error ? error.reason : undefined

const reasonTag = (error: unknown): string | undefined => {
  const reason = reasonOf(error)
  return typeof reason === "string" ? reason : platformTag(reason)
}

const fromMultipart = (reason: string): RenderedError => {
  switch (reason) {
    case "FileTooLarge":
    case "FieldTooLarge":
    case "BodyTooLarge":
    case "TooManyParts":
      return tooLarge
    case "Parse":
      return clientMistake(400, "MALFORMED_BODY", "The multipart body could not be parsed")
    default:
      return unexpected
  }
}

const unexpected: RenderedError = {
  info: { code: "INTERNAL_ERROR", category: "technical", recovery: "escalate", status: 500 },
  message: "An unexpected error occurred",
  unexpected: true
}

const databaseDown: RenderedError = {
  info: { code: "DATABASE_UNAVAILABLE", category: "technical", recovery: "retry", status: 503 },
  message: "The database is not answering; retry",
  retryAfter: 5,
  unexpected: false
}

const interrupted: RenderedError = {
  info: { code: "SERVICE_UNAVAILABLE", category: "technical", recovery: "retry", status: 503 },
  message: "The request was interrupted; try again",
  retryAfter: 1,
  unexpected: false
}

/** Classifies a cause: its first failure decides; defects are 500s. */
export const classifyCause = (cause: Cause.Cause<unknown>): RenderedError => {
  const failure = Cause.findErrorOption(cause)
  if (Option.isSome(failure)) return fromFailure(failure.value)
  const defect = Cause.findDefect(cause)
  if (Result.isSuccess(defect)) {
    // @effect/sql commits and rolls back under orDie: a connection lost mid-transaction arrives as a defect.
    if (platformTag(defect.success) === "SqlError") return databaseDown
    // A body nested thousands of levels deep overflows the stack where the platform formats its
    // decode error; nothing of ours recurses on input, so this is the client's document.
    if (defect.success instanceof RangeError && /call stack/i.test(defect.success.message)) return tooDeep
    const fromDefect = fromFailure(defect.success)
    return fromDefect.info.status === 500 ? unexpected : fromDefect
  }
  return Cause.hasInterruptsOnly(cause) ? interrupted : unexpected
}

export const errorBody = (rendered: RenderedError, correlationId: string) =>
  new ErrorBody({
    error: new ErrorDetail({
      code: rendered.info.code,
      category: rendered.info.category,
      message: rendered.message,
      correlationId
    })
  })

export const renderError = (
  rendered: RenderedError,
  correlationId: string,
  headers: Readonly<Record<string, string>> = {}
): HttpServerResponse.HttpServerResponse => {
  // 429 and 503 always say when to come back (the document promises it), even when the failure did not.
  const retryAfter = rendered.retryAfter ?? DEFAULT_RETRY_AFTER[rendered.info.status]
  return HttpServerResponse.jsonUnsafe(errorBody(rendered, correlationId), {
    status: rendered.info.status,
    headers: {
      "cache-control": "no-store",
      ...(retryAfter !== undefined ? { "retry-after": String(Math.max(1, Math.ceil(retryAfter))) } : {}),
      ...rendered.headers,
      ...headers
    }
  })
}

const DEFAULT_RETRY_AFTER: Readonly<Record<number, number>> = { 429: 1, 503: 5 }

const BEARER_REALM = 'Bearer realm="serenya"'

/**
 * RFC 6750's challenge on every 401, which clients use to start signing in again; when the request
 * carried a bearer token, it says the token is the problem (`invalid_token`: expired, revoked,
 * forged — which one is not said).
 */
export const bearerChallenge: Effect.Effect<string> = Effect.map(
  Effect.serviceOption(HttpServerRequest.HttpServerRequest),
  (request) =>
    Option.isSome(request) && /^Bearer\s/i.test(request.value.headers["authorization"] ?? "")
      ? `${BEARER_REALM}, error="invalid_token"`
      : BEARER_REALM
)

/** Classifies a failure, and counts, annotates and logs it as every failed request is. */
const reportFailure = (cause: Cause.Cause<unknown>) =>
  Effect.gen(function* () {
    const rendered = classifyCause(cause)
    yield* recordError(rendered.info.category, rendered.info.recovery)
    // On the request's span too: an SRE filters traces by code, category and recovery strategy.
    yield* Effect.annotateCurrentSpan({
      "error.type": rendered.info.code,
      "error.category": rendered.info.category,
      "error.recovery": rendered.info.recovery
    })
    const annotations = {
      errorCode: rendered.info.code,
      errorCategory: rendered.info.category,
      errorRecovery: rendered.info.recovery,
      status: rendered.info.status
    }
    if (rendered.unexpected) {
      yield* Effect.logError("request failed unexpectedly", cause).pipe(Effect.annotateLogs(annotations))
    } else if (rendered.info.status >= 500) {
      yield* Effect.logWarning("request failed").pipe(Effect.annotateLogs(annotations))
    } else {
      yield* Effect.logDebug("request rejected").pipe(Effect.annotateLogs(annotations))
    }
    return rendered
  })

/** Turns any failure of `app` into the uniform error response, counting and logging it. */
export const handleErrors = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  Effect.catchCause(app, (cause) =>
    Effect.gen(function* () {
      const rendered = yield* reportFailure(cause)
      const requestId = yield* currentRequestId
      const challenge = rendered.info.status === 401 ? { "www-authenticate": yield* bearerChallenge } : {}
      return renderError(rendered, requestId, challenge)
    })
  )

/**
 * A failure after a stream's response has started (its status and headers are sent): the
 * uniform error body, as the last event of the stream, counted and logged like a failed request.
 */
export const streamFailureBody = (cause: Cause.Cause<unknown>): Effect.Effect<ErrorBody> =>
  Effect.gen(function* () {
    const rendered = yield* reportFailure(cause)
    return errorBody(rendered, yield* currentRequestId)
  })

