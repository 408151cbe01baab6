/**
 * JobEvents by polling: no connection of its own, each watcher reads its job's row again on a
 * backoff — `initial` after a change, then growing by `factor` while nothing changes, up to `max`.
 * Stages follow each other quickly (opening → interpreting) and then not for a long time (the
 * model reading), so the short delays come right after a change, where the next one is likely.
 * For deployments whose connections go through RDS Proxy (Lambda), where a LISTEN pins a
 * database connection for as long as it listens (services/jobEvents.ts).
 */
import { Duration, Effect, Layer } from "effect"
import type { JobId } from "../../services/ids.js"
import { JobEvents, type JobWatch } from "../../services/jobEvents.js"

export interface PollingOptions {
  /** The first delay after a change (and after the watch starts). */
  readonly initial: Duration.Input
  /** The longest delay while nothing changes. */
  readonly max: Duration.Input
  /** Each delay without a change is the previous one times this. */
  readonly factor: number
}

/** The cadence deployed (bench/jobEvents.ts measured it against LISTEN): 250 ms after a change, growing to 2 s. */
export const POLLING: PollingOptions = { initial: "250 millis", max: "2 seconds", factor: 1.5 }

export const makeJobEventsPolling = (options: PollingOptions = POLLING): (typeof JobEvents)["Service"] => {
  const initial = Duration.toMillis(Duration.fromInputUnsafe(options.initial))
  const max = Math.max(initial, Duration.toMillis(Duration.fromInputUnsafe(options.max)))
  let watchers = 0

  const watch = (_jobId: JobId) =>
    Effect.acquireRelease(
      Effect.sync((): JobWatch => {
        watchers++
        let delay = initial
        return {
          next: Effect.suspend(() => {
            const wait = delay
            delay = Math.min(max, Math.round(delay * options.factor))
            return Effect.sleep(Duration.millis(wait))
          }),
          changed: Effect.sync(() => {
            delay = initial
          })
        }
      }),
      () => Effect.sync(() => void watchers--)
    )

  return JobEvents.of({ watch, watchers: Effect.sync(() => watchers) })
}

/** Polling at the deployed cadence (POLLING); a fresh count of watchers per build. */
export const JobEventsPolling: Layer.Layer<JobEvents> = Layer.sync(JobEvents, () => makeJobEventsPolling())
