/**
 * The HTTP skeleton in process: the real router, middleware and schemas on a real Node server
 * (NodeHttpServer.layerTest) and a real PostgreSQL. A probe group, added for these tests only,
 * exercises the error pipeline with a JSON body and with each error of the model.
 */
import { HttpClient, HttpClientRequest, HttpClientResponse, HttpServer } from "effect/http"
import * as net from "node:net"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Metric, Schema } from "effect"
import { Database } from "../../src/services/database.js"
import {
  CircuitOpen,
  type Classified,
  Conflict,
  DatabaseUnavailable,
  ErrorInfoId,
  Forbidden,
  InvalidRequest,
  NotFound,
  OperationTimedOut,
  PayloadTooLarge,
  QuotaExceeded,
  RateLimited,
  Unauthenticated,
  UnsupportedMediaType,
  UpstreamFailed
} from "../../src/services/errors.js"
import { errorsByCategory } from "../../src/services/metrics.js"
import { TestDatabaseLive } from "../support/database.js"
import { appWith, probeFailures } from "../support/probe.js"

const failures: Record<string, Classified> = {
  invalid: new InvalidRequest({ message: "The field is invalid" }),
  unauthenticated: new Unauthenticated({ message: "Sign in first" }),
  forbidden: new Forbidden({ message: "Not yours" }),
  quota: new QuotaExceeded({ message: "Monthly quota reached" }),
  missing: new NotFound({ message: "No such document" }),
  conflict: new Conflict({ message: "Idempotency key reused with another body" }),
  large: new PayloadTooLarge({ message: "Larger than 5 MiB", limitBytes: 5 * 1024 * 1024 }),
  media: new UnsupportedMediaType({ message: "Only PDF, JPEG, PNG and text" }),
  limited: new RateLimited({ message: "Slow down", retryAfterSeconds: 7 }),
  upstream: new UpstreamFailed({ message: "Bedrock failed", service: "llm", transient: true }),
  open: new CircuitOpen({ message: "llm is unavailable", service: "llm", retryAfterSeconds: 42 }),
  database: new DatabaseUnavailable({ message: "The database is not reachable" }),
  timeout: new OperationTimedOut({ message: "llm.interpret timed out", operation: "llm.interpret" })
}

for (const [kind, error] of Object.entries(failures)) probeFailures.set(kind, error)

const expected: Record<string, { status: number; code: string; category: string; retryAfter?: string }> = {
  invalid: { status: 400, code: "INVALID_REQUEST", category: "validation" },
  unauthenticated: { status: 401, code: "UNAUTHENTICATED", category: "business" },
  quota: { status: 402, code: "QUOTA_EXCEEDED", category: "business" },
  forbidden: { status: 403, code: "FORBIDDEN", category: "business" },
  missing: { status: 404, code: "NOT_FOUND", category: "business" },
  conflict: { status: 409, code: "CONFLICT", category: "business" },
  large: { status: 413, code: "PAYLOAD_TOO_LARGE", category: "validation" },
  media: { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", category: "validation" },
  limited: { status: 429, code: "RATE_LIMITED", category: "business", retryAfter: "7" },
  upstream: { status: 502, code: "UPSTREAM_FAILED", category: "external" },
  open: { status: 503, code: "SERVICE_UNAVAILABLE", category: "technical", retryAfter: "42" },
  database: { status: 503, code: "DATABASE_UNAVAILABLE", category: "technical", retryAfter: "5" },
  timeout: { status: 504, code: "TIMEOUT", category: "technical" }
}

const get = (path: string, headers: Record<string, string> = {}) =>
  HttpClient.execute(HttpClientRequest.get(path).pipe(HttpClientRequest.setHeaders(headers)))

const postRaw = (path: string, body: string) =>
  HttpClient.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyText(body, "application/json")))

const ErrorBodyJson = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, category: Schema.String, message: Schema.String, correlationId: Schema.String })
})
const errorBodyOf = (response: HttpClientResponse.HttpClientResponse) =>
  HttpClientResponse.schemaBodyJson(ErrorBodyJson)(response)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

layer(appWith(TestDatabaseLive()))("HTTP skeleton on a real database", (it) => {
  it.effect("GET /health answers 200 with a generated request id", () =>
    Effect.gen(function* () {
      const response = yield* get("/health")
      expect(response.status).toBe(200)
      expect(yield* response.json).toEqual({ status: "ok" })
      expect(response.headers["x-request-id"]).toMatch(UUID)
    })
  )

  it.effect("GET /ready answers 200 once the database answers", () =>
    Effect.gen(function* () {
      const response = yield* get("/ready")
      expect(response.status).toBe(200)
      expect(yield* response.json).toEqual({ status: "ready", checks: { database: "ok" } })
    })
  )

  it.effect("every request gets an id of ours, whatever X-Request-Id the client sent; two never share one", () =>
    Effect.gen(function* () {
      const first = yield* get("/health", { "x-request-id": "mobile-3f9a1c2e-0001" })
      const second = yield* get("/health", { "x-request-id": "mobile-3f9a1c2e-0001" })
      expect(first.headers["x-request-id"]).toMatch(UUID)
      expect(second.headers["x-request-id"]).toMatch(UUID)
      expect(first.headers["x-request-id"]).not.toBe(second.headers["x-request-id"])
      for (const bad of ["short", "has spaces in it!!", "x".repeat(200), "<script>alert(1)</script>"]) {
        const replaced = yield* get("/health", { "x-request-id": bad })
        expect(replaced.headers["x-request-id"]).toMatch(UUID)
      }
    })
  )

  it.effect("an unknown route is a 404 with the uniform body and the request id", () =>
    Effect.gen(function* () {
      const response = yield* get("/no/such/route", { "x-request-id": "req-unknown-route-1" })
      expect(response.status).toBe(404)
      expect(response.headers["x-request-id"]).toMatch(UUID)
      expect(yield* errorBodyOf(response)).toEqual({
        error: { code: "NOT_FOUND", category: "business", message: "No such endpoint", correlationId: response.headers["x-request-id"] }
      })
    })
  )

  it.effect("malformed JSON is a 400, never a 500", () =>
    Effect.gen(function* () {
      for (const body of ["{not json", "{\"name\": \"a\",", "", "[1,2", "\u0000"]) {
        const response = yield* postRaw("/probe/echo", body)
        expect(response.status, JSON.stringify(body)).toBe(400)
        const { error } = yield* errorBodyOf(response)
        expect(error.category).toBe("validation")
        expect(["MALFORMED_BODY", "VALIDATION_FAILED"]).toContain(error.code)
      }
    })
  )

  it.effect("a body declared larger than MAX_BODY_BYTES is a 413 before the body is read", () =>
    Effect.gen(function* () {
      const server = yield* HttpServer.HttpServer
      const port = server.address._tag !== "UnixPathAddress" ? server.address.port : 0
      // A raw socket: announce 20 MiB, send a few bytes, and read what the server says.
      const reply = yield* Effect.callback<string>((resume) => {
        const socket = net.connect(port, "127.0.0.1", () => {
          socket.write(
            "POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
              `Content-Length: ${20 * 1024 * 1024}\r\n\r\n{"name":`
          )
        })
        let data = ""
        socket.on("data", (chunk) => (data += chunk.toString("utf8")))
        socket.on("close", () => resume(Effect.succeed(data)))
        socket.on("error", () => undefined)
      }).pipe(Effect.timeout("10 seconds"))
      expect(reply).toMatch(/^HTTP\/1\.1 413 /)
      expect(reply.toLowerCase()).toContain("connection: close")
      expect(reply).toContain('"code":"PAYLOAD_TOO_LARGE"')
    })
  )

  it.effect("a body that does not match the schema is a 400 naming the field, not echoing the value", () =>
    Effect.gen(function* () {
      const response = yield* postRaw("/probe/echo", JSON.stringify({ name: "Jane Roe", age: "Hemoglobin 11.2" }))
      expect(response.status).toBe(400)
      const { error } = yield* errorBodyOf(response)
      expect(error.code).toBe("VALIDATION_FAILED")
      expect(error.message).toContain("age")
      expect(error.message).not.toContain("Hemoglobin")
      expect(error.message).not.toContain("Jane")

      const ok = yield* postRaw("/probe/echo", JSON.stringify({ name: "Jane Roe", age: 40 }))
      expect(ok.status).toBe(200)
      expect(yield* ok.json).toEqual({ name: "Jane Roe", age: 40 })
    })
  )

  it.effect("each error of the model maps to its status, category and body; 429/503 carry Retry-After", () =>
    Effect.gen(function* () {
      for (const [kind, want] of Object.entries(expected)) {
        const before = yield* Metric.value(
          Metric.withAttributes(Metric.withAttributes(errorsByCategory, { category: want.category }), { recovery: failures[kind]![ErrorInfoId].recovery })
        )
        const response = yield* get(`/probe/fail/${kind}`, { "x-request-id": `probe-${kind}-000` })
        expect(response.status, kind).toBe(want.status)
        const body = yield* errorBodyOf(response)
        expect(body.error, kind).toEqual({
          code: want.code,
          category: want.category,
          message: failures[kind]!.message,
          correlationId: response.headers["x-request-id"]
        })
        expect(response.headers["retry-after"], kind).toBe(want.retryAfter)
        expect(response.headers["x-request-id"], kind).toMatch(UUID)
        expect(response.headers["content-type"]).toContain("application/json")
        const after = yield* Metric.value(
          Metric.withAttributes(Metric.withAttributes(errorsByCategory, { category: want.category }), { recovery: failures[kind]![ErrorInfoId].recovery })
        )
        expect(after.count - before.count, kind).toBe(1)
      }
    })
  )

  it.effect("a defect is a 500 with the uniform body and nothing about internals", () =>
    Effect.gen(function* () {
      const response = yield* get("/probe/defect")
      expect(response.status).toBe(500)
      const text = yield* response.text
      expect(JSON.parse(text)).toMatchObject({
        error: { code: "INTERNAL_ERROR", category: "technical", message: "An unexpected error occurred" }
      })
      expect(text).not.toContain("secret")
      expect(text).not.toContain(".ts")
    })
  )

  it.effect("GET /openapi.json documents the endpoints and the uniform error body", () =>
    Effect.gen(function* () {
      const response = yield* get("/openapi.json")
      expect(response.status).toBe(200)
      const spec = (yield* response.json) as {
        paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>
        components: { schemas: Record<string, unknown> }
      }
      expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(["/health", "/ready"]))
      expect(spec.paths["/ready"]?.get?.responses["503"]?.content?.["application/json"]?.schema).toEqual({
        $ref: "#/components/schemas/ErrorBody"
      })
      expect(spec.paths["/probe/echo"]?.post?.responses["400"]?.content?.["application/json"]?.schema).toEqual({
        $ref: "#/components/schemas/ErrorBody"
      })
      expect(spec.components.schemas).toHaveProperty("ErrorBody")
      expect(spec.components.schemas).not.toHaveProperty("HttpApiDecodeError")
    })
  )

  it.effect("GET /docs serves the interactive documentation page", () =>
    Effect.gen(function* () {
      const response = yield* get("/docs")
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toContain("text/html")
      expect(yield* response.text).toContain("Serenya API")
    })
  )
})

const DatabaseDown = Layer.succeed(Database, {
  ping: Effect.fail(new DatabaseUnavailable({ message: "The database is not reachable" }))
})

describe("readiness without a database", () => {
  layer(appWith(DatabaseDown))("database down", (it) => {
    it.effect("GET /ready is 503 with Retry-After while /health stays 200", () =>
      Effect.gen(function* () {
        const ready = yield* get("/ready")
        expect(ready.status).toBe(503)
        expect(ready.headers["retry-after"]).toBe("5")
        expect((yield* errorBodyOf(ready)).error.code).toBe("DATABASE_UNAVAILABLE")
        expect((yield* get("/health")).status).toBe(200)
      })
    )
  })
})
