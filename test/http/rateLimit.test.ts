/** Token buckets (pure, property-checked) and the rate-limit middleware through the real HTTP stack. */
import { HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { HttpClient, HttpClientRequest, HttpServerRequest } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { CoreApi } from "../../src/http/api.js"
import { serveApi } from "../../src/http/app.js"
import { ErrorRenderer } from "../../src/http/errors.js"
import { ErrorRendererLive } from "../../src/http/middleware.js"
import { OpsLive } from "../../src/http/ops.js"
import { makeRateLimiter, makeTokenBuckets, type RateLimitOptions, RateLimits } from "../../src/http/rateLimit.js"
import { Database } from "../../src/services/database.js"
import { testConfigLayer } from "../support/settings.js"

describe("token buckets", () => {
  it("a new key gets capacity tokens, then is refused", () => {
    const buckets = makeTokenBuckets({ capacity: 3, refillPerSecond: 1, maxKeys: 10 })
    expect([0, 1, 2].map(() => buckets.take("a", 0))).toEqual([
      { allowed: true, remaining: 2, resetSeconds: 1 },
      { allowed: true, remaining: 1, resetSeconds: 2 },
      { allowed: true, remaining: 0, resetSeconds: 3 }
    ])
    expect(buckets.take("a", 0)).toEqual({ allowed: false, remaining: 0, resetSeconds: 3, retryAfterSeconds: 1 })
  })

  it("refills over time, never beyond capacity", () => {
    const buckets = makeTokenBuckets({ capacity: 2, refillPerSecond: 0.5, maxKeys: 10 })
    buckets.take("a", 0)
    buckets.take("a", 0)
    expect(buckets.take("a", 1_000).allowed).toBe(false) // 0.5 token
    expect(buckets.take("a", 2_000)).toMatchObject({ allowed: true, remaining: 0 }) // 1 token
    // An hour idle refills to capacity, not to 1800 tokens.
    expect(buckets.take("a", 3_602_000)).toEqual({ allowed: true, remaining: 1, resetSeconds: 2 })
    expect(buckets.take("a", 3_602_000).allowed).toBe(true)
    expect(buckets.take("a", 3_602_000).allowed).toBe(false)
  })

  it("retryAfterSeconds is the wait for one whole token, rounded up", () => {
    const buckets = makeTokenBuckets({ capacity: 1, refillPerSecond: 0.25, maxKeys: 10 })
    buckets.take("a", 0)
    expect(buckets.take("a", 0).retryAfterSeconds).toBe(4)
    expect(buckets.take("a", 1_500).retryAfterSeconds).toBe(3) // 0.375 token: 2.5 s left
    expect(buckets.take("a", 3_999).retryAfterSeconds).toBe(1)
    expect(buckets.take("a", 4_000).allowed).toBe(true)
    // A fast refill still asks for at least one second.
    const fast = makeTokenBuckets({ capacity: 1, refillPerSecond: 100, maxKeys: 10 })
    fast.take("a", 0)
    expect(fast.take("a", 0).retryAfterSeconds).toBe(1)
  })

  it("keys have separate buckets", () => {
    const buckets = makeTokenBuckets({ capacity: 1, refillPerSecond: 1, maxKeys: 10 })
    expect(buckets.take("a", 0).allowed).toBe(true)
    expect(buckets.take("a", 0).allowed).toBe(false)
    expect(buckets.take("b", 0).allowed).toBe(true)
  })

  it("remembers at most maxKeys, forgetting the least recently used", () => {
    const buckets = makeTokenBuckets({ capacity: 1, refillPerSecond: 0.001, maxKeys: 2 })
    buckets.take("a", 0)
    buckets.take("b", 0)
    buckets.take("a", 0) // a is now the most recently used
    buckets.take("c", 0) // evicts b
    expect(buckets.size()).toBe(2)
    expect(buckets.take("a", 0).allowed).toBe(false) // still remembered: empty
    expect(buckets.take("b", 0).allowed).toBe(true) // forgotten: starts full again
    for (let i = 0; i < 1_000; i++) buckets.take(`k${i}`, i)
    expect(buckets.size()).toBe(2)
  })

  it("a clock going backwards refills nothing", () => {
    const buckets = makeTokenBuckets({ capacity: 1, refillPerSecond: 1, maxKeys: 10 })
    buckets.take("a", 10_000)
    expect(buckets.take("a", 0).allowed).toBe(false)
    expect(buckets.take("a", 10_500).allowed).toBe(false)
    expect(buckets.take("a", 11_000).allowed).toBe(true)
  })

  it("rejects nonsensical options", () => {
    expect(() => makeTokenBuckets({ capacity: 0, refillPerSecond: 1, maxKeys: 1 })).toThrow(RangeError)
    expect(() => makeTokenBuckets({ capacity: 1, refillPerSecond: 0, maxKeys: 1 })).toThrow(RangeError)
    expect(() => makeTokenBuckets({ capacity: 1, refillPerSecond: 1, maxKeys: 0 })).toThrow(RangeError)
  })

  it("property: a key never gets more than capacity + refill × elapsed tokens", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0.01, max: 20, noNaN: true }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3_000 })), { maxLength: 300 }),
        (capacity, refillPerSecond, steps) => {
          const buckets = makeTokenBuckets({ capacity, refillPerSecond, maxKeys: 4 })
          const firstSeen = new Map<number, number>()
          const granted = new Map<number, number>()
          let now = 1_700_000_000_000
          for (const [key, dt] of steps) {
            now += dt
            if (!firstSeen.has(key)) firstSeen.set(key, now)
            const result = buckets.take(String(key), now)
            expect(result.remaining).toBeGreaterThanOrEqual(0)
            expect(result.remaining).toBeLessThanOrEqual(capacity - (result.allowed ? 1 : 0))
            if (!result.allowed) expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1)
            if (result.allowed) granted.set(key, (granted.get(key) ?? 0) + 1)
            const elapsedSeconds = (now - firstSeen.get(key)!) / 1000
            expect(granted.get(key) ?? 0).toBeLessThanOrEqual(capacity + refillPerSecond * elapsedSeconds + 1e-9)
          }
        }
      )
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Through the HTTP stack

class Probe extends HttpApiGroup.make("probe")
  .add(HttpApiEndpoint.get("ping", "/probe/ping", { success: Schema.Struct({ ok: Schema.Boolean }) }))
{}

const TestApi = CoreApi.add(Probe).middleware(ErrorRenderer)
// As bearer authentication does once a token is verified: the user (here named by a test header) spends their bucket.
const ProbeLive = HttpApiBuilder.group(TestApi, "probe", (handlers) =>
  handlers.handle("ping", () =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const user = request.headers["x-test-user"]
      if (user !== undefined) yield* Effect.orDie(Effect.flatMap(RateLimits, (limits) => limits.takeUser(user)))
      return { ok: true }
    })
  )
)

// Refill so slow that no token comes back during a test, whatever the clock does.
const appWith = (options: RateLimitOptions) => {
  const limits = makeRateLimiter(options)
  return serveApi(
    HttpApiBuilder.layer(TestApi).pipe(Layer.provide(Layer.mergeAll(OpsLive, ProbeLive).pipe(Layer.provide(ErrorRendererLive)))),
    TestApi
  ).pipe(
    // The per-IP limiter runs in the request-context middleware, which finds RateLimits where it is built.
    Layer.provide(Layer.succeed(RateLimits, limits)),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(Layer.succeed(Database, { ping: Effect.void })),
    Layer.provide(testConfigLayer())
  )
}

const get = (path: string, headers: Record<string, string> = {}) =>
  HttpClient.execute(HttpClientRequest.get(path).pipe(HttpClientRequest.setHeaders(headers)))

describe("rate-limit middleware", () => {
  it.effect("after capacity requests from one IP the next is 429 with the uniform body, Retry-After and RateLimit headers", () =>
    Effect.gen(function* () {
      for (const remaining of ["2", "1", "0"]) {
        const response = yield* get("/probe/ping")
        expect(response.status).toBe(200)
        expect(response.headers["ratelimit-limit"]).toBe("3")
        expect(response.headers["ratelimit-remaining"]).toBe(remaining)
        expect(Number(response.headers["ratelimit-reset"])).toBeGreaterThan(0)
      }
      const refused = yield* get("/probe/ping")
      expect(refused.status).toBe(429)
      expect(refused.headers["retry-after"]).toBe("1000")
      expect(refused.headers["ratelimit-limit"]).toBe("3")
      expect(refused.headers["ratelimit-remaining"]).toBe("0")
      expect(refused.headers["ratelimit-reset"]).toBe("3000")
      const body = (yield* refused.json) as { error: { code: string; category: string; message: string; correlationId: string } }
      expect(body.error).toEqual({
        code: "RATE_LIMITED",
        category: "business",
        message: "Too many requests",
        correlationId: refused.headers["x-request-id"]
      })
      // Unknown routes are counted and refused too.
      expect((yield* get("/nope")).status).toBe(429)
    }).pipe(
      Effect.provide(appWith({ perIp: { capacity: 3, refillPerSecond: 0.001 }, perUser: { capacity: 3, refillPerSecond: 0.001 }, maxKeys: 100 }))
    )
  )

  it.effect("/health and /ready are exempt: never counted, never refused, no RateLimit headers", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 5; i++) {
        const health = yield* get("/health")
        expect(health.status).toBe(200)
        expect(health.headers["ratelimit-limit"]).toBeUndefined()
        expect((yield* get("/ready?probe=1")).status).toBe(200)
      }
      expect((yield* get("/probe/ping")).status).toBe(200)
      expect((yield* get("/probe/ping")).status).toBe(429)
      expect((yield* get("/health")).status).toBe(200)
    }).pipe(
      Effect.provide(appWith({ perIp: { capacity: 1, refillPerSecond: 0.001 }, perUser: { capacity: 1, refillPerSecond: 0.001 }, maxKeys: 100 }))
    )
  )

  it.effect("a user has their own, tighter budget on top of the IP's", () =>
    Effect.gen(function* () {
      const alice = { "x-test-user": "alice" }
      const bob = { "x-test-user": "bob" }
      expect((yield* get("/probe/ping", alice)).headers["ratelimit-limit"]).toBe("2")
      expect((yield* get("/probe/ping", alice)).status).toBe(200)
      const refused = yield* get("/probe/ping", alice)
      expect(refused.status).toBe(429)
      expect(refused.headers["ratelimit-limit"]).toBe("2")
      expect(refused.headers["retry-after"]).toBe("1000")
      // Another user from the same IP still has a budget; the headers show the tighter bucket.
      const other = yield* get("/probe/ping", bob)
      expect(other.status).toBe(200)
      expect(other.headers["ratelimit-limit"]).toBe("2")
      expect(other.headers["ratelimit-remaining"]).toBe("1")
      // Without a token only the IP bucket counts (refusals spend it too): 10 - 5 = 5 left.
      const anonymous = yield* get("/probe/ping")
      expect(anonymous.status).toBe(200)
      expect(anonymous.headers["ratelimit-limit"]).toBe("10")
      expect(anonymous.headers["ratelimit-remaining"]).toBe("5")
    }).pipe(
      Effect.provide(appWith({ perIp: { capacity: 10, refillPerSecond: 0.001 }, perUser: { capacity: 2, refillPerSecond: 0.001 }, maxKeys: 100 }))
    )
  )

  it.effect("time comes from Clock: TestClock refills the bucket", () =>
    Effect.gen(function* () {
      expect((yield* get("/probe/ping")).status).toBe(200)
      const refused = yield* get("/probe/ping")
      expect(refused.status).toBe(429)
      expect(refused.headers["retry-after"]).toBe("60")
      yield* TestClock.adjust("59 seconds")
      expect((yield* get("/probe/ping")).status).toBe(429)
      yield* TestClock.adjust("1 second")
      expect((yield* get("/probe/ping")).status).toBe(200)
    }).pipe(
      Effect.provide(appWith({ perIp: { capacity: 1, refillPerSecond: 1 / 60 }, perUser: { capacity: 1, refillPerSecond: 1 / 60 }, maxKeys: 100 }))
    )
  )
})
