/**
 * Request-level middleware: the server span of the request (W3C traceparent honoured, named for
 * the route template, never the raw path), request id (echoed when well formed, generated
 * otherwise) on every response and every log line, one JSON access-log line per request, and
 * the error renderer.
 */
import { HttpEffect, Headers, HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse, HttpTraceContext } from "effect/http"
import { ByteSize, Clock, Effect, Layer, LogLevel, Option, References, type Types } from "effect"
import { randomUUID } from "node:crypto"
import { MalformedBody, MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType } from "../services/errors.js"
import { ErrorRenderer, handleErrors } from "./errors.js"
import { RateLimits } from "./rateLimit.js"
import type { RouteTable } from "./routes.js"

const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/

/**
 * A client's X-Request-Id, kept only when well formed (8 to 128 of a bounded alphabet, nothing a
 * log line or a header could be broken with): a correlation hint beside our own id in the logs.
 * It is never the id of our records: two requests could send the same one, and audit rows must
 * each name their own request.
 */
export const clientRequestIdFrom = (header: string | undefined): string | undefined =>
  header !== undefined && REQUEST_ID.test(header) ? header : undefined

/**
 * On every response. Health data must not be cached by anything between us and the app, nor
 * rendered by a browser; the documentation page alone may run its scripts. Built once.
 */
const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "cross-origin-opener-policy": "same-origin"
}
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...DOCS_SECURITY_HEADERS,
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cache-control": "no-store"
}
const securityHeaders = (path: string) => (path === "/docs" ? DOCS_SECURITY_HEADERS : SECURITY_HEADERS)

const corsHeaders = (origin: string): Record<string, string> => ({
  "access-control-allow-origin": origin,
  "access-control-expose-headers": "x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset",
  vary: "Origin"
})

const preflightHeaders: Record<string, string> = {
  "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
  "access-control-allow-headers": "authorization, content-type, idempotency-key, x-request-id",
  "access-control-max-age": "600"
}

/**
 * What the API definition refuses before the router runs: a method the path does not have (405
 * with Allow; the router alone would say 404, as if the path did not exist) and a body whose media
 * type the operation does not take (415; the platform would parse a form as the JSON payload, or
 * report XML as missing fields). A body without a Content-Type is taken for JSON, as the platform does.
 */
const refusal = (
  routes: RouteTable | undefined,
  method: string,
  path: string,
  route: string | undefined,
  bodyType: string | undefined
): Effect.Effect<never, MethodNotAllowed | UnsupportedMediaType> | undefined => {
  if (routes === undefined) return undefined
  if (route === undefined) {
    const allow = routes.methodsAt(path)
    if (allow.length === 0 || allow.includes(method)) return undefined
    return Effect.fail(new MethodNotAllowed({ message: `This path does not answer ${method}; it answers ${allow.join(", ")}`, allow }))
  }
  const accepts = routes.accepts(method, route)
  if (accepts === undefined || bodyType === undefined || bodyType === "") return undefined
  const mediaType = bodyType.split(";")[0]?.trim() ?? ""
  if (accepts.includes(mediaType)) return undefined
  return Effect.fail(new UnsupportedMediaType({ message: `Send the body as ${accepts.join(" or ")}` }))
}

/**
 * Outermost (server level): request id, access log, and a last-resort error renderer. At this
 * level the response has already been produced, so the header is added by a pre-response hook.
 */
const sampleAll = () => true

/** Fails the server span of a 5xx answer (an OTel span's status is set by how it ends). */
class ServerErrorAnswer extends Error {
  constructor(readonly response: HttpServerResponse.HttpServerResponse) {
    super(`HTTP ${response.status}`)
    this.name = "ServerErrorAnswer"
  }
}

/**
 * The request's server span under the HTTP semantic conventions: method, route template, status.
 * No path, query, header or body goes on it (ids in paths, health data in bodies).
 */
const serverSpan = <R>(
  request: HttpServerRequest.HttpServerRequest,
  route: string | undefined,
  answer: Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>,
  sample: (headers: Headers.Headers) => boolean
) =>
  // Decided before any span exists: with nothing exported, or the request not sampled, it pays for no span at all.
  Effect.flatMap(References.TracerEnabled, (enabled) =>
    !enabled ? answer : sample(request.headers) ? traced(request, route, answer) : Effect.withTracerEnabled(answer, false)
  )

const traced = <R>(
  request: HttpServerRequest.HttpServerRequest,
  route: string | undefined,
  answer: Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>
) =>
  answer.pipe(
    Effect.tap((response) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
    Effect.flatMap((response) => (response.status >= 500 ? Effect.fail(new ServerErrorAnswer(response)) : Effect.succeed(response))),
    Effect.withSpan(route === undefined ? request.method : `${request.method} ${route}`, {
      kind: "server",
      parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(request.headers)),
      attributes: {
        "http.request.method": request.method,
        "url.scheme": "http",
        ...(route !== undefined ? { "http.route": route } : {})
      }
    }, { captureStackTrace: false }),
    Effect.catch((failure) => Effect.succeed(failure.response))
  )

/**
 * A body sent with an empty Content-Type is taken for JSON, as one without any is (4.1.5's
 * HttpApi defaults only a missing header to JSON, and answers an empty one with a bare 415).
 */
const asJsonWhenUntyped = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  bodyType: string | undefined
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  bodyType !== ""
    ? app
    : Effect.updateService(app, HttpServerRequest.HttpServerRequest, (request) =>
        request.modify({ headers: Headers.set(request.headers, "content-type", "application/json") })
      )

export const requestContextMiddleware = (options: {
  readonly maxBodyBytes: number
  /** Browser origins allowed to call the API (the mobile apps need none). */
  readonly corsAllowedOrigins?: ReadonlyArray<string>
  /**
   * The API's routes: the template of a request (for its span and log line), the methods of a
   * path (405 with Allow), the media types of a body (415), each operation's body limit (413;
   * never above maxBodyBytes).
   */
  readonly routes?: RouteTable
  /** Whether a request is traced (http/sampling.ts); every one by default. */
  readonly sample?: (headers: Headers.Headers) => boolean
  /** The per-IP rate limiter (http/rateLimit.ts), when the served API is limited. */
  readonly limit?: <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest>
}) =>
  <E, R>(
    inner: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const app = options.limit === undefined ? inner : options.limit(inner)
    // Ours, always: the id of the audit rows, log lines, error bodies and the X-Request-Id answered.
    const requestId = randomUUID()
    const clientRequestId = clientRequestIdFrom(request.headers["x-request-id"])
    const route = options.routes?.routeOf(request.method, request.url.split("?")[0] ?? "/")
    const origin = request.headers["origin"]
    const cors = origin !== undefined && (options.corsAllowedOrigins ?? []).includes(origin) ? corsHeaders(origin) : {}
    return Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const path = request.url.split("?")[0] ?? "/"
      const headers = { ...securityHeaders(path), ...cors, "x-request-id": requestId }
      yield* HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(HttpServerResponse.setHeaders(response, headers))
      )
      // A CORS preflight from an allowed origin is answered here; any other OPTIONS on a path we serve is a 405 (no route has that method).
      if (request.method === "OPTIONS" && Object.keys(cors).length > 0 && request.headers["access-control-request-method"]) {
        return HttpServerResponse.empty({ status: 204, headers: { ...headers, ...preflightHeaders } })
      }
      const contentType = (request.headers["content-type"] ?? "").toLowerCase()
      // A declared length over the limit is refused before a byte of the body is read;
      // a chunked body is cut off by the platform once it passes the limit (then drained, see below).
      const declared = Number(request.headers["content-length"] ?? "0")
      const limit = Math.min(options.maxBodyBytes, (route !== undefined ? options.routes?.bodyLimit(request.method, route) : undefined) ?? Infinity)
      // A request without a body (no length, not chunked: most GETs) has nothing to limit.
      const chunked = request.headers["content-length"] === undefined && request.headers["transfer-encoding"] !== undefined
      const hasBody = request.headers["content-length"] !== undefined || chunked
      const bodyType = declared > 0 || request.headers["transfer-encoding"] !== undefined ? contentType : undefined
      const refused: Effect.Effect<never, MalformedBody | MethodNotAllowed | UnsupportedMediaType | PayloadTooLarge> | undefined =
        // A multipart body without its boundary cannot be parsed (and the parser's error event would escape as a 500).
        contentType.startsWith("multipart/") && !/;\s*boundary=/.test(contentType)
          ? Effect.fail(new MalformedBody({ message: "The multipart body has no boundary" }))
          : refusal(options.routes, request.method, path, route, bodyType) ??
            (declared > limit
              ? Effect.fail(new PayloadTooLarge({ message: "The request body is larger than allowed", limitBytes: limit }))
              : undefined)
      const response = yield* (
        refused !== undefined
          // Answered before the app runs, so the pre-response hook above never sees it: its headers go on here.
          ? Effect.map(handleErrors(refused), (answer) => HttpServerResponse.setHeaders(answer, headers))
          : handleErrors(hasBody ? Effect.provideService(asJsonWhenUntyped(app, bodyType), HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limit)) : app)
      ).pipe(
        // A refused body with a declared length was never read: the connection closes rather than
        // read it. A chunked one cut off part-way is drained by the server (http/nodeServer.ts), so
        // its connection stays usable and closing it could reset the 413 away.
        Effect.map((response) =>
          response.status === 413 && !chunked ? HttpServerResponse.setHeader(response, "connection", "close") : response
        )
      )
      // The access log line: its annotations are built only when it is going to be written.
      if (LogLevel.isLessThanOrEqualTo(yield* References.MinimumLogLevel, "Info")) {
        const durationMs = (yield* Clock.currentTimeMillis) - started
        // The path without its query string: queries are not logged.
        yield* Effect.logInfo("http request").pipe(
          Effect.annotateLogs({ method: request.method, route: route ?? path, status: response.status, durationMs })
        )
      }
      return response
    }).pipe(
      (answer) => serverSpan(request, route, answer, options.sample ?? sampleAll),
      // Also the request id of errors.ts's currentRequestId (audit rows, error bodies).
      Effect.annotateLogs("requestId", requestId),
      // The client's own id, when it sent a well-formed one, on every log line of the request.
      (answered) => (clientRequestId === undefined ? answered : Effect.annotateLogs(answered, "clientRequestId", clientRequestId))
    )
  })

/**
 * requestContextMiddleware as the router's one global middleware: it sees every request, matched
 * or not (an unknown route arrives as a failed HttpServerError/RouteNotFound, rendered as our 404),
 * and renders whatever still fails. The per-IP limiter of the served API (RateLimits, when the
 * served layers provide it) runs inside it, after the 405/415/413 refusals, as before.
 */
export const requestContext = (options: Omit<Parameters<typeof requestContextMiddleware>[0], "limit">) =>
  HttpRouter.middleware(
    Effect.map(Effect.serviceOption(RateLimits), (limits) => {
      const middleware = requestContextMiddleware({
        ...options,
        ...(Option.isSome(limits) ? { limit: limits.value.middleware } : {})
      })
      // The router's type guard wants `unhandled` kept in the error channel; it never fails.
      return (app: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled>): Effect.Effect<
        HttpServerResponse.HttpServerResponse,
        Types.unhandled,
        HttpServerRequest.HttpServerRequest
      > => middleware(app)
    }),
    { global: true }
  )

/**
 * API-level (every endpoint of the API, see api.ts): renders every failure of a matched route (our
 * typed errors, schema errors, which 4.1.5 raises as HttpApiSchemaError defects, and other
 * defects) before the endpoint's own error encoder would: that encoder takes the FIRST declared
 * error schema accepting the value, and every errorResponse accepts every classified error, so a
 * 409 would leave under the first declared status.
 */
export const ErrorRendererLive = Layer.succeed(ErrorRenderer, (httpEffect) => handleErrors(httpEffect))
