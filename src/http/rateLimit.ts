/**
 * Rate limiting per client IP and per user: bounded in-memory token buckets (pure; the caller
 * passes the time) and an HTTP middleware that answers 429 with the uniform error body,
 * Retry-After, and the IETF draft `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset`
 * headers on every limited response.
 *
 * The buckets live in the process: with several instances each one limits on its own, so the
 * effective limit is (instances × capacity). That is the intended first line of defence; a
 * shared limiter (e.g. at the load balancer / WAF) is the place for exact global limits.
 */
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Clock, Context, Effect, Option } from "effect"
import { RateLimited } from "../services/errors.js"
import { handleErrors } from "./errors.js"

export interface TokenBucketOptions {
  /** Tokens a full bucket holds: the burst a key may spend at once (>= 1). */
  readonly capacity: number
  /** Tokens added back per second (> 0). */
  readonly refillPerSecond: number
  /** Most keys remembered; beyond that the least recently used key is forgotten (>= 1). */
  readonly maxKeys: number
}

export interface TakeResult {
  /** Whether a token was taken (the request may proceed). */
  readonly allowed: boolean
  /** Whole tokens left after this take. */
  readonly remaining: number
  /** Seconds until the bucket is full again (0 when it is full). */
  readonly resetSeconds: number
  /** When refused: whole seconds until one token is available (>= 1). */
  readonly retryAfterSeconds?: number
}

export interface TokenBuckets {
  readonly capacity: number
  /** Takes one token from `key`'s bucket at `nowMillis` (a clock reading; never read inside). */
  readonly take: (key: string, nowMillis: number) => TakeResult
  /** Keys currently remembered (never more than maxKeys). */
  readonly size: () => number
}

interface Bucket {
  tokens: number
  updatedAt: number
}

const check = (ok: boolean, message: string): void => {
  if (!ok) throw new RangeError(`makeTokenBuckets: ${message}`)
}

/**
 * Token buckets keyed by string. A key seen for the first time starts full. A forgotten
 * (evicted) key also starts full when seen again, so maxKeys must comfortably exceed the keys
 * active within one refill period; the least recently used key is the one most likely to be
 * full already, so evicting it usually loses nothing. A clock that goes backwards refills
 * nothing (and never un-spends tokens).
 */
export const makeTokenBuckets = (options: TokenBucketOptions): TokenBuckets => {
  const { capacity, refillPerSecond, maxKeys } = options
  check(Number.isFinite(capacity) && capacity >= 1, "capacity must be at least 1")
  check(Number.isFinite(refillPerSecond) && refillPerSecond > 0, "refillPerSecond must be positive")
  check(Number.isInteger(maxKeys) && maxKeys >= 1, "maxKeys must be a positive integer")
  // A Map iterates in insertion order: re-inserting on every use keeps it in LRU order.
  const buckets = new Map<string, Bucket>()

  const take = (key: string, nowMillis: number): TakeResult => {
    const bucket = buckets.get(key) ?? { tokens: capacity, updatedAt: nowMillis }
    const elapsedSeconds = Math.max(0, nowMillis - bucket.updatedAt) / 1000
    bucket.tokens = Math.min(capacity, bucket.tokens + elapsedSeconds * refillPerSecond)
    bucket.updatedAt = Math.max(bucket.updatedAt, nowMillis)
    const allowed = bucket.tokens >= 1
    if (allowed) bucket.tokens -= 1
    buckets.delete(key)
    buckets.set(key, bucket)
    while (buckets.size > maxKeys) {
      const oldest = buckets.keys().next()
      if (oldest.done === true) break
      buckets.delete(oldest.value)
    }
    const remaining = Math.max(0, Math.floor(bucket.tokens))
    const resetSeconds = Math.max(0, Math.ceil((capacity - bucket.tokens) / refillPerSecond))
    return allowed
      ? { allowed, remaining, resetSeconds }
      : {
        allowed,
        remaining,
        resetSeconds,
        retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerSecond))
      }
  }

  return { capacity, take, size: () => buckets.size }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface RateLimitOptions {
  /** Every limited request spends one token of its client IP's bucket. */
  readonly perIp: { readonly capacity: number; readonly refillPerSecond: number }
  /** Authenticated requests also spend one of their user's bucket (see `RateLimiter.takeUser`). */
  readonly perUser: { readonly capacity: number; readonly refillPerSecond: number }
  /** Bound of each of the two bucket maps. */
  readonly maxKeys: number
  /** Paths (without query) that are never limited nor counted. Default: /health and /ready. */
  readonly exemptPaths?: ReadonlyArray<string>
  /** The client's key. Default: the socket's remote address, "unknown" when there is none. */
  readonly clientKey?: (request: HttpServerRequest.HttpServerRequest) => string
}

export const DEFAULT_EXEMPT_PATHS: ReadonlyArray<string> = ["/health", "/ready"]

/** The peer address of the connection (behind a proxy, the proxy's address). */
export const remoteAddressKey = (request: HttpServerRequest.HttpServerRequest): string =>
  Option.getOrElse(request.remoteAddress, () => "unknown")

/** Of several takes, the one that binds: a refusal (the longest wait), else the fewest left. */
export const bindingResult = (
  results: ReadonlyArray<{ readonly limit: number; readonly result: TakeResult }>
): { readonly limit: number; readonly result: TakeResult } | undefined => {
  let binding: { readonly limit: number; readonly result: TakeResult } | undefined
  for (const candidate of results) {
    if (binding === undefined) {
      binding = candidate
      continue
    }
    const a = candidate.result
    const b = binding.result
    const tighter = a.allowed !== b.allowed
      ? !a.allowed
      : !a.allowed
      ? (a.retryAfterSeconds ?? 0) > (b.retryAfterSeconds ?? 0)
      : a.remaining < b.remaining || (a.remaining === b.remaining && a.resetSeconds > b.resetSeconds)
    if (tighter) binding = candidate
  }
  return binding
}

interface Take {
  readonly limit: number
  readonly result: TakeResult
}

/** This request's take from its IP bucket, for the user's take to be weighed against. */
const currentIpTake = Context.Reference<Take | undefined>("serenya/http/rateLimit/currentIpTake", { defaultValue: () => undefined })

/** The IETF draft headers of the binding take, set on whatever response the request gets. */
const announce = (take: Take) => {
  const headers = {
    "ratelimit-limit": String(take.limit),
    "ratelimit-remaining": String(take.result.remaining),
    "ratelimit-reset": String(take.result.resetSeconds)
  }
  return HttpEffect.appendPreResponseHandler((_request, response) => Effect.succeed(HttpServerResponse.setHeaders(response, headers)))
}

const refusal = (take: Take) =>
  new RateLimited({ message: "Too many requests", retryAfterSeconds: take.result.retryAfterSeconds ?? 1 })

export interface RateLimiter {
  /**
   * The per-IP middleware: `(app) => app'`, run by the request-context middleware
   * (http/middleware.ts). Refusals are rendered right here by the one error renderer
   * (`handleErrors`), so the 429 has the uniform body and Retry-After wherever the middleware
   * sits in the middleware stack.
   */
  readonly middleware: <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest>
  /**
   * Spends one token of the user's bucket: called by bearer authentication once the token is
   * verified, so the bucket is the user's whatever token text carried it (every session, every
   * encoding of one token), and nobody can spend another user's budget (an unverified claim
   * never reaches it). Fails with RateLimited when the bucket is empty; the RateLimit headers
   * name whichever of the IP and user buckets binds.
   */
  readonly takeUser: (userId: string) => Effect.Effect<void, RateLimited, HttpServerRequest.HttpServerRequest>
}

/**
 * Per-IP and per-user token buckets. Every call creates its own buckets, so build it once (in a
 * layer, `RateLimiterLive`) and share it. Time comes from `Clock`, so TestClock drives it.
 */
export const makeRateLimiter = (options: RateLimitOptions): RateLimiter => {
  const ipBuckets = makeTokenBuckets({ ...options.perIp, maxKeys: options.maxKeys })
  const userBuckets = makeTokenBuckets({ ...options.perUser, maxKeys: options.maxKeys })
  const exempt = new Set(options.exemptPaths ?? DEFAULT_EXEMPT_PATHS)
  const clientKey = options.clientKey ?? remoteAddressKey

  const middleware = <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (exempt.has(request.url.split("?")[0] ?? "/")) return yield* app
      const take: Take = { limit: ipBuckets.capacity, result: ipBuckets.take(clientKey(request), yield* Clock.currentTimeMillis) }
      yield* announce(take)
      if (!take.result.allowed) return yield* handleErrors(Effect.fail(refusal(take)))
      return yield* Effect.provideService(app, currentIpTake, take)
    })

  const takeUser = (userId: string): Effect.Effect<void, RateLimited, HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const take: Take = { limit: userBuckets.capacity, result: userBuckets.take(userId, yield* Clock.currentTimeMillis) }
      const ip = yield* currentIpTake
      const binding = ip === undefined ? take : bindingResult([ip, take])
      if (binding === take) yield* announce(take)
      if (!take.result.allowed) return yield* Effect.fail(refusal(take))
    })

  return { middleware, takeUser }
}

/** The process's limiter (limits are per instance), shared by the IP middleware and authentication. */
export class RateLimits extends Context.Service<RateLimits, RateLimiter>()("serenya/RateLimits") {}
