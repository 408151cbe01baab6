/**
 * The subscription status cache in this process's memory: one entry per user, served only under
 * the stamp it was stored with and for at most 15 minutes (see services/subscriptionStatusCache.ts
 * for why that is correct across instances). Bounded by users, least recently used out first
 * (LruMap, shared with the timeline cache); time comes from Clock.
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import type { UserId } from "../../services/ids.js"
import {
  STATUS_CACHE_MAX_AGE,
  SubscriptionStatusCache,
  type SubscriptionStatusCacheService,
  type StatusUsage
} from "../../services/subscriptionStatusCache.js"
import { isCurrent, LruMap, type Stamped } from "../cache/lru.js"

export interface SubscriptionStatusCacheOptions {
  /** How long an entry may be served; 15 minutes (the default) at most, 0 turns the cache off. */
  readonly ttl?: Duration.Input
  /** Users kept (default 10,000: an entry is a stamp and three numbers, well under 1 KiB). */
  readonly maxUsers?: number
}

export const DEFAULT_MAX_USERS = 10_000

export interface MemorySubscriptionStatusCache extends SubscriptionStatusCacheService {
  /** Users held now (tests check the bound). */
  readonly size: () => number
}

export const makeSubscriptionStatusCache = (options: SubscriptionStatusCacheOptions = {}): MemorySubscriptionStatusCache => {
  const ttlMillis = Math.min(
    Duration.toMillis(Duration.fromInputUnsafe(options.ttl ?? STATUS_CACHE_MAX_AGE)),
    Duration.toMillis(STATUS_CACHE_MAX_AGE)
  )
  const maxUsers = options.maxUsers ?? DEFAULT_MAX_USERS
  const enabled = ttlMillis > 0 && maxUsers > 0
  const entries = new LruMap<UserId, Stamped<StatusUsage>>(enabled ? maxUsers : 0)

  return {
    enabled,
    lookup: (userId, stamp) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const entry = entries.get(userId)
        if (entry === undefined) return Option.none()
        // Stored under another stamp: what it counted has moved on (or it is too old); it goes.
        if (!isCurrent(entry, stamp, now)) {
          entries.delete(userId)
          return Option.none()
        }
        return Option.some(entry.value)
      }),
    store: (userId, stamp, usage) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (enabled) entries.set(userId, { stamp, expiresAt: now + ttlMillis, value: usage })
      }),
    invalidate: (userId) =>
      Effect.sync(() => {
        entries.delete(userId)
      }),
    size: () => entries.size
  }
}

/**
 * One cache per process (per build of the layer): 15 minutes, 10,000 users. It provides a
 * `Context.Reference`, which is never a requirement: hence `Layer<never>`.
 */
export const SubscriptionStatusCacheMemory: Layer.Layer<never> = Layer.sync(SubscriptionStatusCache, () =>
  makeSubscriptionStatusCache()
)
