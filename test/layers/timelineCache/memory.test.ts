/** The in-memory timeline cache: stamps, expiry on Clock, and its bounds. */
import { expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { makeTimelineCache } from "../../../src/layers/timelineCache/memory.js"
import { ContentId, UserId } from "../../../src/services/ids.js"
import type { TimelinePage } from "../../../src/services/timelineCache.js"

const user = () => UserId.make(randomUUID())
const window = { limit: 20, offset: 0 }
const page = (title: string): TimelinePage => ({
  items: [
    { contentId: ContentId.make(randomUUID()), documentType: "lab_results", title, summary: "s", flaggedCount: 1, criticalCount: 0, unreadCount: 0, createdAt: new Date(0) }
  ],
  total: 1
})
const titleOf = (found: Option.Option<TimelinePage>) => Option.map(found, (p) => p.items[0]!.title)

it.effect("serves a page only under the stamp it was stored with, until it expires", () =>
  Effect.gen(function* () {
    const cache = makeTimelineCache({ ttl: "5 minutes", maxUsers: 10 })
    const alice = user()
    yield* cache.store(alice, window, "3", page("first"))
    expect(titleOf(yield* cache.lookup(alice, window, "3"))).toEqual(Option.some("first"))
    expect(Option.isNone(yield* cache.lookup(alice, window, "4"))).toBe(true)
    // a miss under a newer stamp dropped the stale page for good
    expect(Option.isNone(yield* cache.lookup(alice, window, "3"))).toBe(true)

    yield* cache.store(alice, window, "4", page("second"))
    expect(Option.isNone(yield* cache.lookup(alice, { limit: 20, offset: 20 }, "4"))).toBe(true)
    expect(Option.isNone(yield* cache.lookup(user(), window, "4"))).toBe(true)
    yield* TestClock.adjust("4 minutes")
    expect(titleOf(yield* cache.lookup(alice, window, "4"))).toEqual(Option.some("second"))
    yield* TestClock.adjust("61 seconds")
    expect(Option.isNone(yield* cache.lookup(alice, window, "4"))).toBe(true)
  })
)

it.effect("invalidate drops every page of the user and no one else's", () =>
  Effect.gen(function* () {
    const cache = makeTimelineCache({ ttl: "5 minutes", maxUsers: 10 })
    const alice = user()
    const bob = user()
    yield* cache.store(alice, window, "1", page("a0"))
    yield* cache.store(alice, { limit: 5, offset: 5 }, "1", page("a1"))
    yield* cache.store(bob, window, "1", page("b0"))
    yield* cache.invalidate(alice)
    expect(Option.isNone(yield* cache.lookup(alice, window, "1"))).toBe(true)
    expect(Option.isNone(yield* cache.lookup(alice, { limit: 5, offset: 5 }, "1"))).toBe(true)
    expect(titleOf(yield* cache.lookup(bob, window, "1"))).toEqual(Option.some("b0"))
  })
)

it.effect("holds at most maxUsers users, evicting the least recently used", () =>
  Effect.gen(function* () {
    const cache = makeTimelineCache({ ttl: "5 minutes", maxUsers: 2 })
    const [a, b, c] = [user(), user(), user()]
    yield* cache.store(a, window, "1", page("a"))
    yield* cache.store(b, window, "1", page("b"))
    yield* cache.lookup(a, window, "1") // a is now the most recent
    yield* cache.store(c, window, "1", page("c"))
    expect(titleOf(yield* cache.lookup(a, window, "1"))).toEqual(Option.some("a"))
    expect(Option.isNone(yield* cache.lookup(b, window, "1"))).toBe(true)
    expect(titleOf(yield* cache.lookup(c, window, "1"))).toEqual(Option.some("c"))
  })
)

it.effect("keeps a few pages per user, and pages of an older stamp go when a newer one is stored", () =>
  Effect.gen(function* () {
    const cache = makeTimelineCache({ ttl: "5 minutes", maxUsers: 10, maxPagesPerUser: 2 })
    const alice = user()
    for (const offset of [0, 20, 40]) yield* cache.store(alice, { limit: 20, offset }, "1", page(`p${offset}`))
    expect(Option.isNone(yield* cache.lookup(alice, { limit: 20, offset: 0 }, "1"))).toBe(true)
    expect(titleOf(yield* cache.lookup(alice, { limit: 20, offset: 40 }, "1"))).toEqual(Option.some("p40"))
    yield* cache.store(alice, { limit: 20, offset: 0 }, "2", page("new"))
    expect(Option.isNone(yield* cache.lookup(alice, { limit: 20, offset: 20 }, "1"))).toBe(true)
    expect(Option.isNone(yield* cache.lookup(alice, { limit: 20, offset: 40 }, "1"))).toBe(true)
  })
)

it.effect("a zero time-to-live stores nothing", () =>
  Effect.gen(function* () {
    const cache = makeTimelineCache({ ttl: 0, maxUsers: 10 })
    const alice = user()
    yield* cache.store(alice, window, "1", page("a"))
    expect(Option.isNone(yield* cache.lookup(alice, window, "1"))).toBe(true)
  })
)
