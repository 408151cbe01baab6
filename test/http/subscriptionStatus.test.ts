/**
 * `GET /subscriptions/status` over HTTP, with the status cache as the API has it: the answer may be
 * kept by the client alone and is revalidated before every use (`Cache-Control: private,
 * no-cache` + ETag → 304), so a plan upgraded meanwhile shows at once; every read is audited.
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { serveApi } from "../../src/http/app.js"
import { ApiLive } from "../../src/http/serve.js"
import { setPlan } from "../../src/programs/subscription.js"
import { AccessTokens } from "../../src/services/auth.js"
import type { UserId } from "../../src/services/ids.js"
import { auditRows } from "../support/audit.js"
import { appTestServices } from "../support/services.js"
import { testSettings } from "../support/settings.js"
import { newUser } from "../support/users.js"

const settings = testSettings({ RATE_LIMIT_IP_CAPACITY: "100000", RATE_LIMIT_USER_CAPACITY: "100000" })
const App = serveApi(ApiLive).pipe(Layer.provideMerge(NodeHttpServer.layerTest), Layer.provideMerge(appTestServices({ settings })))

const signedIn = Effect.gen(function* () {
  const userId = yield* newUser()
  const { token } = yield* Effect.flatMap(AccessTokens, (tokens) => tokens.issue(userId, randomUUID()))
  return { userId, token }
})

const status = (caller: { readonly token: string } | undefined, headers: Record<string, string> = {}) =>
  HttpClient.execute(
    HttpClientRequest.get("/subscriptions/status").pipe(
      HttpClientRequest.setHeaders(headers),
      (request) => (caller === undefined ? request : HttpClientRequest.bearerToken(request, caller.token))
    )
  )

const bodyOf = (response: HttpClientResponse.HttpClientResponse) => Effect.map(response.json, (body) => body as Record<string, unknown>)

const reads = (userId: UserId) =>
  Effect.map(auditRows, (rows) => rows.filter((r) => r.actorUserId === userId && r.action === "subscription.read").length)

layer(App, { timeout: 60_000, excludeTestServices: true })("GET /subscriptions/status", (it) => {
  it.effect("answers private, no-cache with a strong ETag; the same ETag back gets a 304 without a body, audited like a 200", () =>
    Effect.gen(function* () {
      const alice = yield* signedIn
      const first = yield* status(alice)
      expect(first.status).toBe(200)
      expect(first.headers["cache-control"]).toBe("private, no-cache")
      const etag = first.headers["etag"]!
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
      expect(yield* bodyOf(first)).toMatchObject({ plan: "free" })

      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
        const again = yield* status(alice, { "if-none-match": ifNoneMatch })
        expect(again.status, ifNoneMatch).toBe(304)
        expect(yield* again.text).toBe("")
        expect(again.headers["etag"]).toBe(etag)
        expect(again.headers["cache-control"]).toBe("private, no-cache")
        expect(again.headers["x-request-id"]).toBeDefined()
      }
      const stale = yield* status(alice, { "if-none-match": '"AAAAAAAAAAAAAAAAAAAAAA"' })
      expect(stale.status).toBe(200)
      expect(stale.headers["etag"]).toBe(etag)
      // every request is an access to the status: 1 + 4 + 1
      expect(yield* reads(alice.userId)).toBe(6)
    })
  )

  it.effect("after an upgrade the client's ETag no longer matches: a 200 with the new plan, at once", () =>
    Effect.gen(function* () {
      const alice = yield* signedIn
      const before = yield* status(alice)
      const etag = before.headers["etag"]!
      expect((yield* status(alice, { "if-none-match": etag })).status).toBe(304)

      yield* setPlan(alice.userId, "premium")
      const after = yield* status(alice, { "if-none-match": etag })
      expect(after.status).toBe(200)
      expect(yield* bodyOf(after)).toMatchObject({ plan: "premium", documents: { limit: null } })
      expect(after.headers["etag"]).not.toBe(etag)
    })
  )

  it.effect("another user's ETag never matches, even for the same plan and usage", () =>
    Effect.gen(function* () {
      const alice = yield* signedIn
      const bob = yield* signedIn
      const aliceTag = (yield* status(alice)).headers["etag"]!
      const bobs = yield* status(bob, { "if-none-match": aliceTag })
      expect(bobs.status).toBe(200)
      expect(bobs.headers["etag"]).not.toBe(aliceTag)
      expect(yield* bodyOf(bobs)).toEqual(yield* bodyOf(yield* status(alice)))
    })
  )

  it.effect("a refusal stays no-store and carries no ETag", () =>
    Effect.gen(function* () {
      const refused = yield* status(undefined, { "if-none-match": "*" })
      expect(refused.status).toBe(401)
      expect(refused.headers["cache-control"]).toBe("no-store")
      expect(refused.headers["etag"]).toBeUndefined()
    })
  )
})
