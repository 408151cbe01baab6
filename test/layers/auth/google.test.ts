/**
 * Google ID tokens against a real JWKS server on 127.0.0.1 serving a key generated here: valid
 * tokens give their identity; every kind of bad token is the same Unauthenticated; an unknown key
 * id refetches the key set at most once a minute; the cache honours max-age; a key set that
 * cannot be fetched is UpstreamFailed until the google_oauth breaker opens (CircuitOpen).
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Result, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { createHmac } from "node:crypto"
import { makeGoogleIdTokens } from "../../../src/layers/auth/google.js"
import { CircuitOpen, Unauthenticated, UpstreamFailed } from "../../../src/services/errors.js"
import { BreakerConfigs } from "../../../src/services/resilience.js"
import { makeCircuitBreaker } from "../../../src/layers/resilience/circuitBreaker.js"
import {
  deadUrl,
  GOOGLE_CLIENT_ID as CLIENT_ID,
  googleIdToken as token,
  googleSigningKey as signing,
  impostorKey as impostor,
  jwksServer
} from "../../support/googleJwks.js"

const verifier = (url: string) =>
  Effect.flatMap(makeCircuitBreaker(BreakerConfigs.google_oauth), (breaker) =>
    makeGoogleIdTokens({ jwksUrl: url, clientIds: ["other-client", CLIENT_ID], breaker, retry: Schedule.recurs(2) })
  )

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.result(effect), (result) => (Result.isFailure(result) ? result.failure : undefined))

describe("Google ID tokens", () => {
  it.effect("a valid token gives the verified identity (either issuer form, aud as a list)", () =>
    Effect.gen(function* () {
      const server = yield* jwksServer({ cacheControl: "public, max-age=300" })
      const google = yield* verifier(server.url)
      expect(yield* google.verify(yield* token({}))).toEqual({
        sub: "1234567890",
        email: "ada@example.com",
        name: "Ada Lovelace",
        emailVerified: true
      })
      const bare = yield* google.verify(yield* token({ claims: { iss: "accounts.google.com", aud: [CLIENT_ID], name: undefined } }))
      expect(bare).toEqual({ sub: "1234567890", email: "ada@example.com", emailVerified: true })
      expect(server.requests()).toBe(1)
    })
  )

  it.effect("wrong audience or issuer, expired, unverified email, alg none, HS256, forged signature: Unauthenticated", () =>
    Effect.gen(function* () {
      const server = yield* jwksServer({ cacheControl: "max-age=300" })
      const google = yield* verifier(server.url)
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const publicPem = signing.publicKey.export({ type: "spki", format: "pem" }).toString()
      const cases = {
        audience: yield* token({ claims: { aud: "someone-else" } }),
        issuer: yield* token({ claims: { iss: "https://evil.example.com" } }),
        expired: yield* token({ claims: { iat: now - 7200, exp: now - 61 } }),
        issuedInTheFuture: yield* token({ claims: { iat: now + 600, exp: now + 4200 } }),
        unverified: yield* token({ claims: { email_verified: false } }),
        verifiedAsText: yield* token({ claims: { email_verified: "true" } }),
        noEmailVerified: yield* token({ claims: { email_verified: undefined } }),
        algNone: yield* token({ header: { alg: "none" }, signWith: () => "" }),
        hs256: yield* token({
          header: { alg: "HS256" },
          signWith: (data) => createHmac("sha256", publicPem).update(data).digest("base64url")
        }),
        forged: yield* token({ key: impostor.privateKey }),
        garbage: "a.b.c",
        empty: ""
      }
      for (const [name, idToken] of Object.entries(cases)) {
        expect(yield* failureOf(google.verify(idToken)), name).toBeInstanceOf(Unauthenticated)
      }
      // within the skew, a token that just expired still passes
      expect((yield* google.verify(yield* token({ claims: { exp: now - 30 } }))).sub).toBe("1234567890")
    })
  )

  it.effect("an unknown kid refetches the key set, at most once a minute", () =>
    Effect.gen(function* () {
      const server = yield* jwksServer({ cacheControl: "max-age=3600" })
      const google = yield* verifier(server.url)
      yield* google.verify(yield* token({}))
      expect(server.requests()).toBe(1)
      const unknown = yield* token({ header: { kid: "rotated-key" }, key: impostor.privateKey })
      expect(yield* failureOf(google.verify(unknown))).toBeInstanceOf(Unauthenticated)
      // the first unknown kid within a minute of the fetch does not refetch either
      expect(server.requests()).toBe(1)
      yield* TestClock.adjust("61 seconds")
      expect(yield* failureOf(google.verify(unknown))).toBeInstanceOf(Unauthenticated)
      expect(server.requests()).toBe(2)
      expect(yield* failureOf(google.verify(unknown))).toBeInstanceOf(Unauthenticated)
      expect(server.requests()).toBe(2)
      // known keys keep working from the cache
      yield* google.verify(yield* token({}))
      expect(server.requests()).toBe(2)
    })
  )

  it.effect("the key cache honours Cache-Control max-age", () =>
    Effect.gen(function* () {
      const server = yield* jwksServer({ cacheControl: "public, max-age=120, must-revalidate" })
      const google = yield* verifier(server.url)
      yield* google.verify(yield* token({}))
      yield* google.verify(yield* token({}))
      expect(server.requests()).toBe(1)
      yield* TestClock.adjust("119 seconds")
      yield* google.verify(yield* token({}))
      expect(server.requests()).toBe(1)
      yield* TestClock.adjust("2 seconds")
      yield* google.verify(yield* token({}))
      expect(server.requests()).toBe(2)
    })
  )

  it.effect("an unreachable key set is UpstreamFailed; after 5 failures the breaker answers CircuitOpen", () =>
    Effect.gen(function* () {
      const google = yield* verifier(yield* deadUrl)
      const idToken = yield* token({})
      for (let i = 0; i < 5; i++) {
        const failure = yield* failureOf(google.verify(idToken))
        expect(failure, `attempt ${i + 1}`).toBeInstanceOf(UpstreamFailed)
      }
      const open = yield* failureOf(google.verify(idToken))
      expect(open).toBeInstanceOf(CircuitOpen)
      // a bad header is refused before any key is needed, breaker or not
      expect(yield* failureOf(google.verify(yield* token({ header: { alg: "none" } })))).toBeInstanceOf(Unauthenticated)
    })
  )
})
