/** The per-instance timeline cache. */
import { Config, Context, Duration, Layer } from "effect"
import { collect, nonNegativeInt } from "./shared.js"

/** The per-instance timeline cache (architecture: 5 minutes). */
export interface TimelineCacheSettings {
  /** Zero turns the cache off. */
  readonly ttl: Duration.Duration
  readonly maxUsers: number
}

export const timelineCacheConfig: Config.Config<TimelineCacheSettings> = collect({
  ttl: nonNegativeInt("TIMELINE_CACHE_TTL_MS", 300_000).pipe(Config.map(Duration.millis)),
  maxUsers: nonNegativeInt("TIMELINE_CACHE_MAX_USERS", 10_000)
})

export class TimelineCacheConfig extends Context.Service<TimelineCacheConfig, TimelineCacheSettings>()("serenya/config/TimelineCache") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(TimelineCacheConfig, timelineCacheConfig)
}
