/**
 * What the API definition refuses before any handler runs, and the headers each refusal owes the
 * client: 405 with Allow for a method a path does not have (the router alone said 404, as if the
 * path did not exist), 415 for a body of a media type the operation does not take (a form was
 * parsed as the sign-in payload; XML answered "email is required"), RFC 6750's challenge on 401,
 * Retry-After on every 429/503, and X-Request-Id plus the security headers on answers given
 * before the app runs.
 */
import { HttpClient, HttpClientRequest } from "effect/http"
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
        ["PUT", "/probe/echo", "POST"],
        ["GET", "/probe/echo", "POST"],
        ["DELETE", "/probe/fail/anything", "GET, HEAD"],
        ["OPTIONS", "/probe/slow", "GET, HEAD"],
        ["POST", "/health", "GET, HEAD"],
        ["PATCH", "/openapi.json", "GET, HEAD"]
      ]
      for (const [method, path, allow] of cases) {
        const response = yield* send(HttpClientRequest.make(method as "PUT")(path))
        expect(response.status, `${method} ${path}`).toBe(405)
        expect(response.headers["allow"], `${method} ${path}`).toBe(allow)
        expect(((yield* response.json) as { error: { code: string } }).error.code).toBe("METHOD_NOT_ALLOWED")
        expectAnsweredHeaders(response.headers, `${method} ${path}`)
      }
      // A path that exists for no method stays a 404; routes of an API this server does not serve are unknown here.
      expect((yield* send(HttpClientRequest.put("/no/such/path"))).status).toBe(404)
      expect((yield* send(HttpClientRequest.put("/me"))).status).toBe(404)
      expect((yield* send(HttpClientRequest.head("/health"))).status).toBe(200)
    })
  )

  it.effect("a body of a media type the operation does not take is 415, before anything parses it", () =>
    Effect.gen(function* () {
      const bodies: ReadonlyArray<readonly [string, string]> = [
        ["name=Ada&age=36", "application/x-www-form-urlencoded"],
        ["<person><name>Ada</name></person>", "application/xml"],
        ['{"name":"Ada","age":36}', "text/plain; charset=utf-8"]
      ]
      for (const [body, type] of bodies) {
        const response = yield* send(HttpClientRequest.post("/probe/echo").pipe(HttpClientRequest.bodyText(body, type)))
        expect(response.status, type).toBe(415)
        expect(((yield* response.json) as { error: { code: string } }).error.code).toBe("UNSUPPORTED_MEDIA_TYPE")
        expectAnsweredHeaders(response.headers, type)
      }
      // JSON with parameters, in any case, is JSON; so is a body without a Content-Type.
      for (const type of ["Application/JSON; charset=UTF-8", ""]) {
        const json = yield* send(HttpClientRequest.post("/probe/echo").pipe(HttpClientRequest.bodyText('{"name":"Ada","age":36}', type)))
        expect(json.status, type).toBe(200)
      }
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
