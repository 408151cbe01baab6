/**
 * The timeline cache in this process's memory: per user, the pages asked for, each under the
 * content stamp it was read at. Bounded by users (least recently used first out) and by a few
 * pages per user, so a client walking offsets cannot grow it without limit (LruMap, shared with the
 * subscription status's cache); time comes from Clock.
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import { TimelineCacheConfig } from "../../config/timelineCache.js"
import type { UserId } from "../../services/ids.js"
import { TimelineCache, type TimelinePage, type TimelineWindow } from "../../services/timelineCache.js"
import { isCurrent, LruMap, type Stamped } from "../cache/lru.js"

export interface TimelineCacheOptions {
  readonly ttl: Duration.Input
  readonly maxUsers: number
  readonly maxPagesPerUser?: number
}

const windowKey = (window: TimelineWindow) => `${window.limit}:${window.offset}`

export const makeTimelineCache = (options: TimelineCacheOptions): (typeof TimelineCache)["Service"] => {
  const ttlMillis = Duration.toMillis(Duration.fromInputUnsafe(options.ttl))
  const maxPages = options.maxPagesPerUser ?? 8
  // Users in least-recently-used order; each user's pages in the order they were stored.
  const users = new LruMap<UserId, LruMap<string, Stamped<TimelinePage>>>(options.maxUsers)

  return TimelineCache.of({
    enabled: ttlMillis > 0 && options.maxUsers > 0,
    lookup: (userId, window, version) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const pages = users.get(userId)
        const entry = pages?.peek(windowKey(window))
        if (entry === undefined) return Option.none()
        if (!isCurrent(entry, version, now)) {
          pages!.delete(windowKey(window))
          return Option.none()
        }
        return Option.some(entry.value)
      }),
    store: (userId, window, version, page) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (ttlMillis <= 0 || options.maxUsers <= 0) return
        let pages = users.get(userId)
        if (pages === undefined) {
          pages = new LruMap(maxPages)
          users.set(userId, pages)
        }
        // Pages read under an older stamp can never be served again.
        pages.deleteWhere((entry) => entry.stamp !== version)
        pages.set(windowKey(window), { stamp: version, expiresAt: now + ttlMillis, value: page })
      }),
    invalidate: (userId) =>
      Effect.sync(() => {
        users.delete(userId)
      })
  })
}

/** One cache per process, sized by TIMELINE_CACHE_TTL_MS and TIMELINE_CACHE_MAX_USERS. */
export const TimelineCacheMemory: Layer.Layer<TimelineCache, never, TimelineCacheConfig> = Layer.effect(
  TimelineCache,
  Effect.map(TimelineCacheConfig, (settings) => makeTimelineCache({ ttl: settings.ttl, maxUsers: settings.maxUsers }))
)

/** No caching at all: every read goes to the database (tests that count reads). */
export const TimelineCacheDisabled = Layer.succeed(TimelineCache, makeTimelineCache({ ttl: 0, maxUsers: 0 }))
