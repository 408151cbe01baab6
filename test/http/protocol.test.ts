/**
 * What the API definition refuses before any handler runs, and the headers each refusal owes the
 * client: 405 with Allow for a method a path does not have (the router alone said 404, as if the
 * path did not exist), 415 for a body of a media type the operation does not take (a form was
 * parsed as the sign-in payload; XML answered "email is required"), RFC 6750's challenge on 401,
 * Retry-After on every 429/503, and X-Request-Id plus the security headers on answers given
 * before the app runs.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Database } from "../../src/services/database.js"
import { CostStoreError } from "../../src/layers/costTracker/background.js"
import { Unauthenticated } from "../../src/services/errors.js"
import { appWith, probeFailures } from "../support/probe.js"

const App = appWith(Layer.succeed(Database, { ping: Effect.void }))

const send = (request: HttpClientRequest.HttpClientRequest) => HttpClient.execute(request)

const expectAnsweredHeaders = (headers: Readonly<Record<string, string>>, what: string) => {
  expect(headers["x-request-id"], what).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/)
  expect(headers["x-content-type-options"], what).toBe("nosniff")
  expect(headers["cache-control"], what).toBe("no-store")
}

layer(App)("refusals before the handlers", (it) => {
  it.effect("a method the path does not have is 405 with Allow; HEAD is served wherever GET is", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["PUT", "/me", "DELETE, GET, HEAD"],
        ["PATCH", "/content/6d3c1f4e-8a2b-4c5d-9e7f-0a1b2c3d4e5f", "DELETE, GET, HEAD"],
        ["DELETE", "/documents/upload", "POST"],
        // DELETE too: /content/timeline is also /content/{contentId} (a 400: not a UUID).
        ["OPTIONS", "/content/timeline", "DELETE, GET, HEAD"],
        ["OPTIONS", "/subscriptions/status", "GET, HEAD"],
        ["GET", "/auth/dev", "POST"],
        ["POST", "/health", "GET, HEAD"]
      ]
      for (const [method, path, allow] of cases) {
        const response = yield* send(HttpClientRequest.make(method as "PUT")(path))
        expect(response.status, `${method} ${path}`).toBe(405)
        expect(response.headers["allow"], `${method} ${path}`).toBe(allow)
        expect(((yield* response.json) as { error: { code: string } }).error.code).toBe("METHOD_NOT_ALLOWED")
        expectAnsweredHeaders(response.headers, `${method} ${path}`)
      }
      // A path that exists for no method stays a 404.
      expect((yield* send(HttpClientRequest.put("/no/such/path"))).status).toBe(404)
      expect((yield* send(HttpClientRequest.head("/health"))).status).toBe(200)
    })
  )

  it.effect("a body of a media type the operation does not take is 415, before anything parses it", () =>
    Effect.gen(function* () {
      const bodies: ReadonlyArray<readonly [string, string, string]> = [
        ["/auth/dev", "email=ada%40example.com", "application/x-www-form-urlencoded"],
        ["/auth/dev", "<email>ada@example.com</email>", "application/xml"],
        ["/auth/refresh", '{"refreshToken":"x"}', "text/plain"],
        ["/chat/messages", '{"contentId":"x","message":"hi"}', "text/plain; charset=utf-8"],
        ["/documents/upload", "%PDF-1.7", "application/pdf"]
      ]
      for (const [path, body, type] of bodies) {
        const response = yield* send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyText(body, type)))
        expect(response.status, `${type} to ${path}`).toBe(415)
        expect(((yield* response.json) as { error: { code: string } }).error.code).toBe("UNSUPPORTED_MEDIA_TYPE")
        expectAnsweredHeaders(response.headers, `${type} to ${path}`)
      }
      // JSON with parameters, in any case, is JSON: the sign-in answers (404: dev sign-in is off here), not 415.
      const json = yield* send(
        HttpClientRequest.post("/auth/dev").pipe(HttpClientRequest.bodyText('{"email":"ada@example.com"}', "Application/JSON; charset=UTF-8"))
      )
      expect(json.status).not.toBe(415)
    })
  )

  it.effect("every 401 carries the bearer challenge; a presented token is named invalid", () =>
    Effect.gen(function* () {
      probeFailures.set("unauthenticated", new Unauthenticated({ message: "no" }))
      const bare = yield* send(HttpClientRequest.get("/probe/fail/unauthenticated"))
      expect(bare.status).toBe(401)
      expect(bare.headers["www-authenticate"]).toBe('Bearer realm="serenya"')
      const presented = yield* send(HttpClientRequest.get("/probe/fail/unauthenticated").pipe(HttpClientRequest.bearerToken("expired")))
      expect(presented.headers["www-authenticate"]).toBe('Bearer realm="serenya", error="invalid_token"')
    })
  )

  it.effect("a 503 always says when to retry, even when the failure names no delay of its own", () =>
    Effect.gen(function* () {
      // A failure of the model whose status is 503 and that carries no Retry-After of its own.
      probeFailures.set("cost-store", new CostStoreError({ message: "throttled", code: "Throttling", transient: true }))
      const response = yield* send(HttpClientRequest.get("/probe/fail/cost-store"))
      expect(response.status).toBe(503)
      expect(Number(response.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    })
  )
})
