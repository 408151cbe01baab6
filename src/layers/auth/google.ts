/**
 * Google ID tokens checked for real: RS256 only, signed by a key of Google's JWKS, issued by
 * accounts.google.com to one of our client ids, unexpired (60 s skew), with a verified email.
 *
 * The key set is fetched with `fetch` behind the google_oauth breaker (timeout, retries on
 * transient failures) and cached for its `Cache-Control: max-age`; a token naming an unknown
 * key id triggers a refetch, at most once a minute, so forged kids cannot hammer Google.
 */
import { Clock, type Duration, Effect, Layer, Option, Schema, Semaphore } from "effect"
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto"
import { AuthConfig } from "../../config/auth.js"
import { type CircuitOpen, Unauthenticated, UpstreamFailed } from "../../services/errors.js"
import { type GoogleIdentity, GoogleIdTokens } from "../../services/googleIdentity.js"
import {
  type CircuitBreaker,
  CircuitBreakers,
  type RetrySchedule,
  Timeouts,
  withRetry,
  withTimeout
} from "../../services/resilience.js"
import { currentTraceparent, fnTraced } from "../../services/telemetry.js"

const ISSUERS = new Set(["accounts.google.com", "https://accounts.google.com"])
const CLOCK_SKEW_SECONDS = 60
const MAX_TOKEN_LENGTH = 8192
/** Without a max-age, keys are kept this long. */
const DEFAULT_MAX_AGE_SECONDS = 300
const UNKNOWN_KID_REFETCH_MILLIS = 60_000
const SERVICE = "google_oauth"

const invalid = new Unauthenticated({ message: "The Google ID token is not valid" })

const Header = Schema.fromJsonString(Schema.Struct({ alg: Schema.Literal("RS256"), kid: Schema.String, typ: Schema.optional(Schema.String) }))

const Claims = Schema.fromJsonString(Schema.Struct({
    iss: Schema.String,
    aud: Schema.Union([Schema.String, Schema.Array(Schema.String)]),
    sub: Schema.String.pipe(Schema.check(Schema.isMinLength(1)), Schema.check(Schema.isMaxLength(255))),
    email: Schema.String.pipe(Schema.check(Schema.isMinLength(3)), Schema.check(Schema.isMaxLength(320))),
    email_verified: Schema.optional(Schema.Unknown),
    name: Schema.optional(Schema.String),
    exp: Schema.Number,
    iat: Schema.Number
  }))

const Jwk = Schema.Struct({ kid: Schema.String, kty: Schema.String, n: Schema.String, e: Schema.String, alg: Schema.optional(Schema.String) })
// Items stay unknown: each is decoded on its own, so one odd key does not hide the others.
const Jwks = Schema.Struct({ keys: Schema.Array(Schema.Unknown) })

interface KeySet {
  readonly keys: ReadonlyMap<string, KeyObject>
  readonly fetchedAt: number
  readonly expiresAt: number
}

export interface GoogleIdTokensOptions {
  readonly jwksUrl: string
  readonly clientIds: ReadonlyArray<string>
  readonly breaker: CircuitBreaker
  /** Defaults to the google_oauth policy; tests pass one without delays. */
  readonly retry?: RetrySchedule
  readonly timeout?: Duration.Input
}

const upstream = (message: string, transient: boolean) => new UpstreamFailed({ message, service: SERVICE, transient })

const maxAgeOf = (cacheControl: string | null): number => {
  const match = cacheControl === null ? null : /(?:^|,)\s*max-age=(\d+)/i.exec(cacheControl)
  return match?.[1] === undefined ? DEFAULT_MAX_AGE_SECONDS : Number(match[1])
}

const toKeys = (body: unknown): Map<string, KeyObject> => {
  const keys = new Map<string, KeyObject>()
  const decoded = Schema.decodeUnknownOption(Jwks)(body)
  if (Option.isNone(decoded)) return keys
  for (const candidate of decoded.value.keys) {
    const jwk = Schema.decodeUnknownOption(Jwk)(candidate)
    if (Option.isNone(jwk) || jwk.value.kty !== "RSA" || (jwk.value.alg !== undefined && jwk.value.alg !== "RS256")) continue
    try {
      const { kid, kty, n, e } = jwk.value
      const key: JsonWebKey = { kty, n, e }
      keys.set(kid, createPublicKey({ key, format: "jwk" }))
    } catch {
      // a key node cannot read is skipped; tokens signed with it then fail as unknown
    }
  }
  return keys
}

export const makeGoogleIdTokens = (options: GoogleIdTokensOptions) =>
  Effect.gen(function* () {
    let cache: Option.Option<KeySet> = Option.none()
    const lock = yield* Semaphore.make(1)
    const clientIds = new Set(options.clientIds)

    const download = Effect.flatMap(currentTraceparent, (traceparent) => Effect.tryPromise({
      try: async (signal) => {
        // The trace goes on to Google as a W3C traceparent (ours is the parent of whatever they record).
        const response = await fetch(options.jwksUrl, {
          signal,
          headers: { accept: "application/json", ...(Option.isSome(traceparent) ? { traceparent: traceparent.value } : {}) }
        })
        const body: unknown = response.ok ? await response.json() : undefined
        return { status: response.status, cacheControl: response.headers.get("cache-control"), body }
      },
      catch: () => upstream("Google's signing keys could not be fetched", true)
    })).pipe(
      Effect.flatMap(({ status, cacheControl, body }) => {
        if (status >= 500 || status === 429) return Effect.fail(upstream(`Google's key set answered ${status}`, true))
        if (status !== 200) return Effect.fail(upstream(`Google's key set answered ${status}`, false))
        const keys = toKeys(body)
        return keys.size === 0
          ? Effect.fail(upstream("Google's key set holds no usable key", false))
          : Effect.succeed({ keys, maxAgeSeconds: maxAgeOf(cacheControl) })
      }),
      withTimeout("google_oauth.jwks", options.timeout ?? Timeouts.google_oauth),
      Effect.catchTag("OperationTimedOut", (error) => Effect.fail(upstream(error.message, true))),
      withRetry(options.retry ?? "google_oauth"),
      options.breaker.protect,
      Effect.withSpan("GoogleIdTokens.fetchKeys")
    )

    const refresh = Effect.gen(function* () {
      const { keys, maxAgeSeconds } = yield* download
      const now = yield* Clock.currentTimeMillis
      const set: KeySet = { keys, fetchedAt: now, expiresAt: now + maxAgeSeconds * 1000 }
      cache = Option.some(set)
      return set
    })

    /** The key for `kid`: from the cache while fresh; otherwise (or for an unknown kid, once a minute) refetched. */
    const keyFor = (kid: string): Effect.Effect<KeyObject, Unauthenticated | UpstreamFailed | CircuitOpen> =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const cached = Option.filter(cache, (set) => now < set.expiresAt)
          if (Option.isSome(cached)) {
            const key = cached.value.keys.get(kid)
            if (key !== undefined) return key
            if (now - cached.value.fetchedAt < UNKNOWN_KID_REFETCH_MILLIS) return yield* Effect.fail(invalid)
          }
          const fresh = yield* refresh
          const key = fresh.keys.get(kid)
          return key === undefined ? yield* Effect.fail(invalid) : key
        })
      )

    const verifyToken = fnTraced("GoogleIdTokens.verify")(function* (idToken: string) {
      if (idToken.length === 0 || idToken.length > MAX_TOKEN_LENGTH) return yield* Effect.fail(invalid)
      const parts = idToken.split(".")
      if (parts.length !== 3) return yield* Effect.fail(invalid)
      const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
      // The header is checked before any key is looked up: `none`, HS256 and the rest never get further.
      const header = yield* Schema.decodeUnknownEffect(Header)(Buffer.from(headerPart, "base64url").toString("utf8")).pipe(
        Effect.mapError(() => invalid)
      )
      const key = yield* keyFor(header.kid)
      const authentic = verify("RSA-SHA256", Buffer.from(`${headerPart}.${payloadPart}`), key, Buffer.from(signaturePart, "base64url"))
      if (!authentic) return yield* Effect.fail(invalid)
      const claims = yield* Schema.decodeUnknownEffect(Claims)(Buffer.from(payloadPart, "base64url").toString("utf8")).pipe(
        Effect.mapError(() => invalid)
      )
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const audiences = typeof claims.aud === "string" ? [claims.aud] : claims.aud
      const ok =
        ISSUERS.has(claims.iss) &&
        audiences.some((aud) => clientIds.has(aud)) &&
        claims.exp + CLOCK_SKEW_SECONDS > now &&
        claims.iat <= now + CLOCK_SKEW_SECONDS &&
        claims.email_verified === true
      if (!ok) return yield* Effect.fail(invalid)
      const identity: GoogleIdentity = {
        sub: claims.sub,
        email: claims.email,
        emailVerified: true,
        ...(claims.name !== undefined ? { name: claims.name } : {})
      }
      return identity
    })

    return GoogleIdTokens.of({ verify: verifyToken })
  })

export const GoogleIdTokensLive: Layer.Layer<GoogleIdTokens, never, AuthConfig | CircuitBreakers> = Layer.effect(
  GoogleIdTokens,
  Effect.gen(function* () {
    const auth = yield* AuthConfig
    const breakers = yield* CircuitBreakers
    return yield* makeGoogleIdTokens({
      jwksUrl: auth.googleJwksUrl,
      clientIds: auth.googleClientIds,
      breaker: breakers.get("google_oauth")
    })
  })
)
