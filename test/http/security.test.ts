/** Bearer authentication through the real HTTP stack: 401 with the uniform body, or CurrentUser. */
import { HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { HttpClient, HttpClientRequest } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { generateKeyPairSync, randomUUID } from "node:crypto"
import { CoreApi } from "../../src/http/api.js"
import { serveApi } from "../../src/http/app.js"
import { ErrorRenderer } from "../../src/http/errors.js"
import { ErrorRendererLive } from "../../src/http/middleware.js"
import { OpsLive } from "../../src/http/ops.js"
import { RateLimitsLive } from "../../src/http/serve.js"
import { Authentication, AuthenticationLive } from "../../src/http/security.js"
import { makeAccessTokens, signingKeyFrom } from "../../src/layers/auth/jwt.js"
import { AccessTokens, CurrentUser } from "../../src/services/auth.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { SqlClient } from "../../src/services/database.js"
import { TestDatabaseLive } from "../support/database.js"
import { testConfigLayer } from "../support/settings.js"
import { newUser } from "../support/users.js"

class WhoAmI extends HttpApiGroup.make("whoami")
  .add(HttpApiEndpoint.get("me", "/probe/whoami", { success: Schema.Struct({ userId: Schema.String }) }))
  .middleware(Authentication)
{}

const TestApi = CoreApi.add(WhoAmI).middleware(ErrorRenderer)
const WhoAmILive = HttpApiBuilder.group(TestApi, "whoami", (handlers) =>
  handlers.handle("me", () => Effect.map(CurrentUser, (user) => ({ userId: user.userId })))
)

const key = signingKeyFrom(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString())
const Tokens = Layer.succeed(AccessTokens, makeAccessTokens(key, { issuer: "serenya", ttlSeconds: 900 }))

const App = serveApi(
  HttpApiBuilder.layer(TestApi).pipe(
    Layer.provide(
      Layer.mergeAll(OpsLive, WhoAmILive).pipe(Layer.provide([AuthenticationLive, ErrorRendererLive]), Layer.provide(RateLimitsLive))
    )
  ),
  TestApi
).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provideMerge(Tokens),
  Layer.provideMerge(CryptoMemory),
  Layer.provideMerge(TestDatabaseLive()),
  Layer.provide(testConfigLayer())
)

const call = (headers: Record<string, string>) =>
  HttpClient.execute(HttpClientRequest.get("/probe/whoami").pipe(HttpClientRequest.setHeaders(headers)))

layer(App)("bearer authentication", (it) => {
  it.effect("a valid token reaches the handler as CurrentUser", () =>
    Effect.gen(function* () {
      const userId = yield* newUser()
      const tokens = yield* AccessTokens
      const { token } = yield* tokens.issue(userId, randomUUID())
      const response = yield* call({ authorization: `Bearer ${token}` })
      expect(response.status).toBe(200)
      expect(yield* response.json).toEqual({ userId })
    })
  )

  it.effect("a valid token of an account that no longer exists (erased, or never was) is 401", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tokens = yield* AccessTokens
      const userId = yield* newUser()
      const { token } = yield* tokens.issue(userId, randomUUID())
      expect((yield* call({ authorization: `Bearer ${token}` })).status).toBe(200)
      yield* sql`DELETE FROM users WHERE id = ${userId}::uuid`
      const afterErasure = yield* call({ authorization: `Bearer ${token}` })
      expect(afterErasure.status).toBe(401)
      expect(((yield* afterErasure.json) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED")
      const stranger = yield* tokens.issue(randomUUID(), randomUUID())
      expect((yield* call({ authorization: `Bearer ${stranger.token}` })).status).toBe(401)
    })
  )

  it.effect("missing, malformed, forged or alg-none tokens are 401 with the uniform body", () =>
    Effect.gen(function* () {
      const tokens = yield* AccessTokens
      const { token } = yield* tokens.issue(randomUUID(), randomUUID())
      const [, payload] = token.split(".")
      const none = `${Buffer.from(JSON.stringify({ alg: "none", kid: key.kid })).toString("base64url")}.${payload}.`
      for (const headers of [{}, { authorization: "Bearer" }, { authorization: "Bearer abc.def.ghi" }, { authorization: `Bearer ${none}` }, { authorization: `Basic ${token}` }]) {
        const response = yield* call(headers)
        expect(response.status, JSON.stringify(headers).slice(0, 40)).toBe(401)
        const body = (yield* response.json) as { error: { code: string; category: string; correlationId: string } }
        expect(body.error).toMatchObject({ code: "UNAUTHENTICATED", category: "business" })
        expect(body.error.correlationId).toBe(response.headers["x-request-id"])
      }
    })
  )

  it.effect("operations endpoints stay open", () =>
    Effect.gen(function* () {
      const response = yield* HttpClient.execute(HttpClientRequest.get("/health"))
      expect(response.status).toBe(200)
    })
  )
})
