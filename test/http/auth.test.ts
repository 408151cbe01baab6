/**
 * The auth group through the real HTTP stack (in process): dev sign-in gives tokens whose access
 * token opens a protected probe; refresh rotates; logout is 204 and ends the session; the dev
 * route is a 404 when disabled; Google sign-in (checked against a key set served from 127.0.0.1)
 * answers like dev; malformed bodies are 400 with
 * the uniform error body.
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { HttpClient, HttpClientRequest, type HttpClientResponse, HttpRouter } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { generateKeyPairSync } from "node:crypto"
import { configLayer, type Settings } from "../../src/config.js"
import { AuthConfig } from "../../src/config/auth.js"
import { AuthGroup } from "../../src/http/groups/auth.js"
import { AuthLive } from "../../src/http/groups/authLive.js"
import { ErrorRenderer } from "../../src/http/errors.js"
import { ErrorRendererLive, requestContext } from "../../src/http/middleware.js"
import { RateLimitsLive } from "../../src/http/serve.js"
import { Authentication, AuthenticationLive } from "../../src/http/security.js"
import { makeAuditMemory } from "../../src/layers/audit/memory.js"
import { makeAccessTokens, signingKeyFrom } from "../../src/layers/auth/jwt.js"
import { GoogleIdTokensLive } from "../../src/layers/auth/google.js"
import { UserLookupKeyMemory } from "../../src/layers/auth/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { Audit } from "../../src/services/audit.js"
import { AccessTokens, CurrentUser } from "../../src/services/auth.js"
import { Unauthenticated } from "../../src/services/errors.js"
import { GoogleIdTokens } from "../../src/services/googleIdentity.js"
import { CircuitBreakersLive } from "../../src/layers/resilience/circuitBreaker.js"
import { TestDatabaseLive } from "../support/database.js"
import { GOOGLE_CLIENT_ID, googleIdToken, impostorKey, jwksServer } from "../support/googleJwks.js"
import { testSettings } from "../support/settings.js"

class WhoAmI extends HttpApiGroup.make("whoami")
  .add(HttpApiEndpoint.get("me", "/probe/whoami", { success: Schema.Struct({ userId: Schema.String }) }))
  .middleware(Authentication)
{}

const TestApi = HttpApi.make("serenya").add(AuthGroup).add(WhoAmI).middleware(ErrorRenderer)
const WhoAmILive = HttpApiBuilder.group(TestApi, "whoami", (handlers) =>
  handlers.handle("me", () => Effect.map(CurrentUser, (user) => ({ userId: user.userId })))
)

const key = signingKeyFrom(
  generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
)
const Tokens = Layer.succeed(AccessTokens, makeAccessTokens(key, { issuer: "serenya", ttlSeconds: 900 }))

// The verifier itself is tested against a JWKS server in test/layers/auth/google.test.ts.
const GoogleFake = Layer.succeed(
  GoogleIdTokens,
  GoogleIdTokens.of({
    verify: (idToken) =>
      idToken === "valid-google-token"
        ? Effect.succeed({ sub: "google-sub-1", email: "grace@example.com", name: "Grace", emailVerified: true })
        : Effect.fail(new Unauthenticated({ message: "The Google ID token is not valid" }))
  })
)

const appWith = (
  env: Record<string, string>,
  google: (settings: Settings) => Layer.Layer<GoogleIdTokens> = () => GoogleFake
) => {
  const settings = testSettings(env)
  return HttpRouter.serve(
    requestContext({ maxBodyBytes: settings.maxBodyBytes }).pipe(
      Layer.provideMerge(
        HttpApiBuilder.layer(TestApi).pipe(
          Layer.provide(
            Layer.mergeAll(AuthLive, WhoAmILive).pipe(
              Layer.provide([AuthenticationLive, ErrorRendererLive]),
              Layer.provide(RateLimitsLive)
            )
          )
        )
      )
    ),
    { disableLogger: true }
  ).pipe(
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provideMerge(Tokens),
    Layer.provide(
      Layer.mergeAll(
        CryptoMemory,
        Layer.effect(Audit, Effect.map(makeAuditMemory, ({ audit }) => audit)),
        UserLookupKeyMemory,
        google(settings),
        configLayer(settings)
      )
    ),
    Layer.provide(TestDatabaseLive())
  )
}

const post = (path: string, body: unknown) =>
  HttpClient.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyJsonUnsafe(body)))

const postRaw = (path: string, text: string) =>
  HttpClient.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyText(text, "application/json")))

const whoAmI = (accessToken: string) =>
  HttpClient.execute(HttpClientRequest.get("/probe/whoami").pipe(HttpClientRequest.bearerToken(accessToken)))

const TokenPairJson = Schema.Struct({
  accessToken: Schema.String,
  refreshToken: Schema.String,
  expiresIn: Schema.Number,
  user: Schema.Struct({ id: Schema.String, email: Schema.String, name: Schema.NullOr(Schema.String) })
})

const tokenPair = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.gen(function* () {
    expect(response.status).toBe(200)
    return yield* Schema.decodeUnknownEffect(TokenPairJson)(yield* response.json)
  })

const expectError = (response: HttpClientResponse.HttpClientResponse, status: number, code?: string) =>
  Effect.gen(function* () {
    expect(response.status).toBe(status)
    const body = (yield* response.json) as { error: { code: string; category: string; message: string; correlationId: string } }
    expect(Object.keys(body)).toEqual(["error"])
    if (code !== undefined) expect(body.error.code).toBe(code)
    expect(body.error.correlationId).toBe(response.headers["x-request-id"])
    return body.error
  })

layer(appWith({ DEV_AUTH_ENABLED: "true" }))("auth endpoints", (it) => {
  it.effect("dev sign-in gives tokens; the access token opens a protected endpoint; refresh rotates; logout ends it", () =>
    Effect.gen(function* () {
      const signedIn = yield* tokenPair(yield* post("/auth/dev", { email: "Ada@Example.com", name: "Ada" }))
      expect(signedIn.user).toEqual({ id: signedIn.user.id, email: "ada@example.com", name: "Ada" })
      expect(signedIn.expiresIn).toBe(900)

      const me = yield* whoAmI(signedIn.accessToken)
      expect(me.status).toBe(200)
      expect(yield* me.json).toEqual({ userId: signedIn.user.id })

      const again = yield* tokenPair(yield* post("/auth/dev", { email: "ada@example.com" }))
      expect(again.user.id).toBe(signedIn.user.id)

      const refreshed = yield* tokenPair(yield* post("/auth/refresh", { refreshToken: signedIn.refreshToken }))
      expect(refreshed.user.id).toBe(signedIn.user.id)
      expect(refreshed.refreshToken).not.toBe(signedIn.refreshToken)
      expect((yield* whoAmI(refreshed.accessToken)).status).toBe(200)
      yield* expectError(yield* post("/auth/refresh", { refreshToken: signedIn.refreshToken }), 401, "UNAUTHENTICATED")

      const loggedOut = yield* post("/auth/logout", { refreshToken: refreshed.refreshToken })
      expect(loggedOut.status).toBe(204)
      yield* expectError(yield* post("/auth/refresh", { refreshToken: refreshed.refreshToken }), 401, "UNAUTHENTICATED")
      yield* expectError(yield* post("/auth/logout", { refreshToken: "never-issued" }), 401, "UNAUTHENTICATED")
    })
  )

  it.effect("ending a session ends its access tokens at once (logout, detected reuse); the user's other sessions go on", () =>
    Effect.gen(function* () {
      const first = yield* tokenPair(yield* post("/auth/dev", { email: "lin@example.com" }))
      const second = yield* tokenPair(yield* post("/auth/dev", { email: "lin@example.com" }))
      expect((yield* whoAmI(first.accessToken)).status).toBe(200)
      expect((yield* post("/auth/logout", { refreshToken: first.refreshToken })).status).toBe(204)
      // Not 15 minutes later, when it would expire: now.
      yield* expectError(yield* whoAmI(first.accessToken), 401, "UNAUTHENTICATED")
      expect((yield* whoAmI(second.accessToken)).status).toBe(200)

      // A thief refreshes twice with a stolen token; the victim presents it: the family is revoked,
      // and with it the access tokens the thief got along the way.
      const stolen = yield* tokenPair(yield* post("/auth/dev", { email: "lin@example.com" }))
      const thief1 = yield* tokenPair(yield* post("/auth/refresh", { refreshToken: stolen.refreshToken }))
      const thief2 = yield* tokenPair(yield* post("/auth/refresh", { refreshToken: thief1.refreshToken }))
      expect((yield* whoAmI(thief2.accessToken)).status).toBe(200)
      yield* expectError(yield* post("/auth/refresh", { refreshToken: stolen.refreshToken }), 401, "UNAUTHENTICATED")
      yield* expectError(yield* whoAmI(thief2.accessToken), 401, "UNAUTHENTICATED")
      yield* expectError(yield* whoAmI(stolen.accessToken), 401, "UNAUTHENTICATED")
      expect((yield* whoAmI(second.accessToken)).status).toBe(200)
    })
  )

  it.effect("Google sign-in answers like dev sign-in; a bad ID token is 401", () =>
    Effect.gen(function* () {
      const signedIn = yield* tokenPair(yield* post("/auth/google", { idToken: "valid-google-token" }))
      expect(signedIn.user).toEqual({ id: signedIn.user.id, email: "grace@example.com", name: "Grace" })
      expect((yield* whoAmI(signedIn.accessToken)).status).toBe(200)
      yield* expectError(yield* post("/auth/google", { idToken: "forged" }), 401, "UNAUTHENTICATED")
    })
  )

  it.effect("malformed bodies are 400 with the uniform body", () =>
    Effect.gen(function* () {
      yield* expectError(yield* postRaw("/auth/dev", "{not json"), 400)
      yield* expectError(yield* post("/auth/dev", { email: 42 }), 400, "VALIDATION_FAILED")
      yield* expectError(yield* post("/auth/dev", { email: "not-an-email" }), 400, "VALIDATION_FAILED")
      yield* expectError(yield* post("/auth/dev", {}), 400, "VALIDATION_FAILED")
      yield* expectError(yield* post("/auth/refresh", {}), 400, "VALIDATION_FAILED")
      yield* expectError(yield* post("/auth/refresh", { refreshToken: "" }), 400, "VALIDATION_FAILED")
      yield* expectError(yield* post("/auth/logout", { refreshToken: 7 }), 400, "VALIDATION_FAILED")
      yield* expectError(yield* post("/auth/google", { idToken: null }), 400, "VALIDATION_FAILED")
    })
  )
})

layer(appWith({ DEV_AUTH_ENABLED: "false" }))("auth endpoints with dev sign-in disabled", (it) => {
  it.effect("/auth/dev is a 404 exactly like an unknown route", () =>
    Effect.gen(function* () {
      const disabled = yield* expectError(yield* post("/auth/dev", { email: "ada@example.com" }), 404, "NOT_FOUND")
      const unknown = yield* expectError(yield* post("/auth/nothing-here", { email: "ada@example.com" }), 404, "NOT_FOUND")
      expect({ ...disabled, correlationId: "" }).toEqual({ ...unknown, correlationId: "" })
    })
  )
})

// The real verifier, its key set served from 127.0.0.1.
const WithGoogleKeys = Layer.unwrap(
  Effect.map(jwksServer({ cacheControl: "public, max-age=300" }), (jwks) =>
    appWith({ GOOGLE_JWKS_URL: jwks.url, GOOGLE_CLIENT_IDS: GOOGLE_CLIENT_ID }, (settings) =>
      GoogleIdTokensLive.pipe(Layer.provide([CircuitBreakersLive, Layer.succeed(AuthConfig, settings.auth)]))
    )
  )
)

layer(WithGoogleKeys)("Google sign-in with a test key set", (it) => {
  it.effect("a token signed with the served key signs in (first time creates the user); a forged one is 401", () =>
    Effect.gen(function* () {
      const first = yield* tokenPair(yield* post("/auth/google", { idToken: yield* googleIdToken() }))
      expect(first.user).toEqual({ id: first.user.id, email: "ada@example.com", name: "Ada Lovelace" })
      expect((yield* whoAmI(first.accessToken)).status).toBe(200)
      const again = yield* tokenPair(yield* post("/auth/google", { idToken: yield* googleIdToken() }))
      expect(again.user.id).toBe(first.user.id)
      const forged = yield* googleIdToken({ key: impostorKey.privateKey })
      yield* expectError(yield* post("/auth/google", { idToken: forged }), 401, "UNAUTHENTICATED")
      const otherApp = yield* googleIdToken({ claims: { aud: "someone-else.apps.googleusercontent.com" } })
      yield* expectError(yield* post("/auth/google", { idToken: otherApp }), 401, "UNAUTHENTICATED")
    })
  )
})

layer(appWith({ DEV_AUTH_ENABLED: "true", RATE_LIMIT_USER_CAPACITY: "3", RATE_LIMIT_USER_REFILL_PER_SECOND: "1" }))(
  "the per-user rate limit",
  (it) => {
    it.effect("is the user's, whatever token carries them: two sessions share one bucket; another user has their own", () =>
      Effect.gen(function* () {
        const a = yield* tokenPair(yield* post("/auth/dev", { email: "mo@example.com" }))
        const b = yield* tokenPair(yield* post("/auth/dev", { email: "mo@example.com" }))
        const other = yield* tokenPair(yield* post("/auth/dev", { email: "noor@example.com" }))
        // The layer runs on the TestClock: no token comes back during the test.
        for (const token of [a, b, a]) expect((yield* whoAmI(token.accessToken)).status).toBe(200)
        const refused = yield* whoAmI(b.accessToken)
        yield* expectError(refused, 429, "RATE_LIMITED")
        expect(refused.headers["ratelimit-limit"]).toBe("3")
        expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1)
        expect((yield* whoAmI(other.accessToken)).status).toBe(200)
      })
    )
  }
)
