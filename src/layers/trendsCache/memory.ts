/**
 * The trends cache in this process's memory: per user, their opened trends index under the
 * content stamp it was read at. Bounded by users (least recently used first out, LruMap) and by
 * age; sized by the timeline cache's settings (TIMELINE_CACHE_TTL_MS, TIMELINE_CACHE_MAX_USERS),
 * since both keep a user's opened content for the same reason and under the same stamp.
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import { TimelineCacheConfig } from "../../config/timelineCache.js"
import type { UserId } from "../../services/ids.js"
import { type TrendIndexEntry, TrendsCache } from "../../services/trendsCache.js"
import { isCurrent, LruMap, type Stamped } from "../cache/lru.js"

export const makeTrendsCache = (options: { readonly ttl: Duration.Input; readonly maxUsers: number }): (typeof TrendsCache)["Service"] => {
  const ttlMillis = Duration.toMillis(Duration.fromInputUnsafe(options.ttl))
  const enabled = ttlMillis > 0 && options.maxUsers > 0
  const users = new LruMap<UserId, Stamped<ReadonlyArray<TrendIndexEntry>>>(Math.max(1, options.maxUsers))
  return TrendsCache.of({
    enabled,
    lookup: (userId, version) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const entry = users.get(userId)
        if (entry === undefined) return Option.none()
        if (!isCurrent(entry, version, now)) {
          users.delete(userId)
          return Option.none()
        }
        return Option.some(entry.value)
      }),
    store: (userId, version, entries) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (enabled) users.set(userId, { stamp: version, expiresAt: now + ttlMillis, value: entries })
      }),
    invalidate: (userId) => Effect.sync(() => void users.delete(userId))
  })
}

/** One cache per process, sized by the timeline cache's settings. */
export const TrendsCacheMemory: Layer.Layer<TrendsCache, never, TimelineCacheConfig> = Layer.effect(
  TrendsCache,
  Effect.map(TimelineCacheConfig, (settings) => makeTrendsCache({ ttl: settings.ttl, maxUsers: settings.maxUsers }))
)

/** No caching at all: every read opens the index (tests that count reads). */
export const TrendsCacheDisabled = Layer.succeed(TrendsCache, makeTrendsCache({ ttl: 0, maxUsers: 0 }))
