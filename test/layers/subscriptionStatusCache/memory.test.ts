/** The in-memory subscription status cache: stamps, the 15-minute ceiling on Clock, invalidation and its bound. */
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { makeSubscriptionStatusCache, SubscriptionStatusCacheMemory } from "../../../src/layers/subscriptionStatusCache/memory.js"
import { UserId } from "../../../src/services/ids.js"
import { NoSubscriptionStatusCache, type StatusUsage, SubscriptionStatusCache } from "../../../src/services/subscriptionStatusCache.js"

const user = () => UserId.make(randomUUID())
const usage = (n: number): StatusUsage => ({ documentsUsed: n, chatMessagesUsed: n, llmCostCents: n })
const used = (found: Option.Option<StatusUsage>) => Option.map(found, (u) => u.documentsUsed)

it.effect("serves an entry only under the stamp it was stored with, and for 15 minutes at most", () =>
  Effect.gen(function* () {
    const cache = makeSubscriptionStatusCache()
    const alice = user()
    yield* cache.store(alice, "s1", usage(1))
    expect(used(yield* cache.lookup(alice, "s1"))).toEqual(Option.some(1))
    yield* TestClock.adjust("14 minutes")
    expect(used(yield* cache.lookup(alice, "s1"))).toEqual(Option.some(1))
    yield* TestClock.adjust("1 minute")
    expect(Option.isNone(yield* cache.lookup(alice, "s1"))).toBe(true)
    expect(cache.size()).toBe(0)

    yield* cache.store(alice, "s2", usage(2))
    // another stamp: not served, and the entry goes (what it counted has moved on)
    expect(Option.isNone(yield* cache.lookup(alice, "s3"))).toBe(true)
    expect(Option.isNone(yield* cache.lookup(alice, "s2"))).toBe(true)
  })
)

it.effect("a longer time-to-live is held to 15 minutes; a shorter one is kept", () =>
  Effect.gen(function* () {
    const long = makeSubscriptionStatusCache({ ttl: "1 day" })
    const short = makeSubscriptionStatusCache({ ttl: "1 minute" })
    const alice = user()
    yield* long.store(alice, "s", usage(1))
    yield* short.store(alice, "s", usage(1))
    yield* TestClock.adjust("61 seconds")
    expect(Option.isNone(yield* short.lookup(alice, "s"))).toBe(true)
    expect(Option.isSome(yield* long.lookup(alice, "s"))).toBe(true)
    yield* TestClock.adjust("14 minutes")
    expect(Option.isNone(yield* long.lookup(alice, "s"))).toBe(true)
  })
)

it.effect("an entry is the user's alone: another user's id never finds it, whatever the stamp", () =>
  Effect.gen(function* () {
    const cache = makeSubscriptionStatusCache()
    const [alice, bob] = [user(), user()]
    yield* cache.store(alice, "same", usage(1))
    yield* cache.store(bob, "same", usage(2))
    expect(used(yield* cache.lookup(alice, "same"))).toEqual(Option.some(1))
    expect(used(yield* cache.lookup(bob, "same"))).toEqual(Option.some(2))
    expect(Option.isNone(yield* cache.lookup(user(), "same"))).toBe(true)
  })
)

it.effect("invalidate drops the user's entry and no one else's", () =>
  Effect.gen(function* () {
    const cache = makeSubscriptionStatusCache()
    const [alice, bob] = [user(), user()]
    yield* cache.store(alice, "s", usage(1))
    yield* cache.store(bob, "s", usage(2))
    yield* cache.invalidate(alice)
    expect(Option.isNone(yield* cache.lookup(alice, "s"))).toBe(true)
    expect(used(yield* cache.lookup(bob, "s"))).toEqual(Option.some(2))
  })
)

it.effect("holds at most maxUsers users, the least recently used out first", () =>
  Effect.gen(function* () {
    const cache = makeSubscriptionStatusCache({ maxUsers: 3 })
    const users = Array.from({ length: 50 }, user)
    for (const [i, u] of users.entries()) {
      yield* cache.store(u, "s", usage(i))
      yield* cache.lookup(users[0]!, "s") // the first stays the most recently used
      expect(cache.size()).toBeLessThanOrEqual(3)
    }
    expect(used(yield* cache.lookup(users[0]!, "s"))).toEqual(Option.some(0))
    expect(used(yield* cache.lookup(users[49]!, "s"))).toEqual(Option.some(49))
    expect(Option.isNone(yield* cache.lookup(users[1]!, "s"))).toBe(true)
  })
)

it.effect("a zero time-to-live or no users keeps nothing and says so", () =>
  Effect.gen(function* () {
    for (const cache of [makeSubscriptionStatusCache({ ttl: 0 }), makeSubscriptionStatusCache({ maxUsers: 0 })]) {
      expect(cache.enabled).toBe(false)
      const alice = user()
      yield* cache.store(alice, "s", usage(1))
      expect(Option.isNone(yield* cache.lookup(alice, "s"))).toBe(true)
      expect(cache.size()).toBe(0)
    }
    expect(makeSubscriptionStatusCache().enabled).toBe(true)
  })
)

it.effect("without a cache provided, programs get one that keeps nothing; the layer gives a fresh, enabled one per build", () =>
  Effect.gen(function* () {
    expect(yield* SubscriptionStatusCache).toBe(NoSubscriptionStatusCache)
    const alice = user()
    const first = yield* Effect.gen(function* () {
      const cache = yield* SubscriptionStatusCache
      yield* cache.store(alice, "s", usage(1))
      return cache
    }).pipe(Effect.provide(SubscriptionStatusCacheMemory))
    expect(first.enabled).toBe(true)
    const second = yield* SubscriptionStatusCache.pipe(Effect.provide(Layer.fresh(SubscriptionStatusCacheMemory)))
    expect(second).not.toBe(first)
    expect(Option.isNone(yield* second.lookup(alice, "s"))).toBe(true)
  })
)
