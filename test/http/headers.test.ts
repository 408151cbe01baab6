/** Security headers on every response, and CORS for the configured origins only. */
import { HttpClient, HttpClientRequest } from "effect/http"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Database } from "../../src/services/database.js"
import { appWith } from "../support/probe.js"

const App = appWith(Layer.succeed(Database, { ping: Effect.void }), { CORS_ALLOWED_ORIGINS: "https://console.serenya.example" })

const get = (path: string, headers: Record<string, string> = {}) =>
  HttpClient.execute(HttpClientRequest.get(path).pipe(HttpClientRequest.setHeaders(headers)))

layer(App)("response headers", (it) => {
  it.effect("API answers, errors included, carry the security headers and are never cached", () =>
    Effect.gen(function* () {
      for (const path of ["/health", "/no/such/route", "/probe/fail/missing"]) {
        const response = yield* get(path)
        expect(response.headers["x-content-type-options"], path).toBe("nosniff")
        expect(response.headers["x-frame-options"], path).toBe("DENY")
        expect(response.headers["referrer-policy"], path).toBe("no-referrer")
        expect(response.headers["strict-transport-security"], path).toContain("max-age=")
        expect(response.headers["content-security-policy"], path).toContain("default-src 'none'")
        expect(response.headers["cache-control"], path).toBe("no-store")
      }
      const docs = yield* get("/docs")
      expect(docs.headers["content-security-policy"]).toBeUndefined() // its page runs scripts
      expect(docs.headers["x-content-type-options"]).toBe("nosniff")
    })
  )

  it.effect("an allowed origin gets CORS headers and its preflight is answered; any other origin gets none", () =>
    Effect.gen(function* () {
      const allowed = yield* get("/health", { origin: "https://console.serenya.example" })
      expect(allowed.headers["access-control-allow-origin"]).toBe("https://console.serenya.example")
      expect(allowed.headers["vary"]).toContain("Origin")
      const other = yield* get("/health", { origin: "https://evil.example" })
      expect(other.headers["access-control-allow-origin"]).toBeUndefined()

      const preflight = yield* HttpClient.execute(
        HttpClientRequest.make("OPTIONS")("/documents/upload").pipe(
          HttpClientRequest.setHeaders({
            origin: "https://console.serenya.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"
          })
        )
      )
      expect(preflight.status).toBe(204)
      expect(preflight.headers["access-control-allow-methods"]).toContain("POST")
      expect(preflight.headers["access-control-allow-headers"]).toContain("authorization")
      const refused = yield* HttpClient.execute(
        HttpClientRequest.make("OPTIONS")("/documents/upload").pipe(
          HttpClientRequest.setHeaders({ origin: "https://evil.example", "access-control-request-method": "POST" })
        )
      )
      expect(refused.status).toBe(404)
      expect(refused.headers["access-control-allow-origin"]).toBeUndefined()
    })
  )
})
