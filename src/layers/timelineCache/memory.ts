/**
 * The timeline cache in this process's memory: per user, the pages asked for, each under the
 * content stamp it was read at. Bounded by users (least recently used first out) and by a few
 * pages per user, so a client walking offsets cannot grow it without limit; time comes from Clock.
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import { TimelineCacheConfig } from "../../config/timelineCache.js"
import type { UserId } from "../../services/ids.js"
import { TimelineCache, type TimelinePage, type TimelineWindow } from "../../services/timelineCache.js"

export interface TimelineCacheOptions {
  readonly ttl: Duration.Input
  readonly maxUsers: number
  readonly maxPagesPerUser?: number
}

interface Entry {
  readonly version: string
  readonly expiresAt: number
  readonly page: TimelinePage
}

const windowKey = (window: TimelineWindow) => `${window.limit}:${window.offset}`

export const makeTimelineCache = (options: TimelineCacheOptions): (typeof TimelineCache)["Service"] => {
  const ttlMillis = Duration.toMillis(Duration.fromInputUnsafe(options.ttl))
  const maxPages = options.maxPagesPerUser ?? 8
  // Map order is insertion order: re-inserting a user on use keeps the least recent first.
  const users = new Map<UserId, Map<string, Entry>>()

  const touch = (userId: UserId) => {
    const pages = users.get(userId)
    if (pages !== undefined) {
      users.delete(userId)
      users.set(userId, pages)
    }
    return pages
  }

  return TimelineCache.of({
    enabled: ttlMillis > 0 && options.maxUsers > 0,
    lookup: (userId, window, version) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const pages = touch(userId)
        const entry = pages?.get(windowKey(window))
        if (entry === undefined) return Option.none()
        if (entry.version !== version || entry.expiresAt <= now) {
          pages!.delete(windowKey(window))
          return Option.none()
        }
        return Option.some(entry.page)
      }),
    store: (userId, window, version, page) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (ttlMillis <= 0 || options.maxUsers <= 0) return
        let pages = touch(userId)
        if (pages === undefined) {
          pages = new Map()
          users.set(userId, pages)
          while (users.size > options.maxUsers) users.delete(users.keys().next().value!)
        }
        // Pages read under an older stamp can never be served again.
        for (const [key, entry] of pages) if (entry.version !== version) pages.delete(key)
        pages.delete(windowKey(window))
        pages.set(windowKey(window), { version, expiresAt: now + ttlMillis, page })
        while (pages.size > maxPages) pages.delete(pages.keys().next().value!)
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
