/**
 * The test layer: watchers wake when a test says the job changed (JobEventsMemoryProbe.wake, the
 * stand-in for a notification) and otherwise every `poll` (50 ms by default), so a program under
 * test sees a change made behind its back soon, as it would with the live layers. The probe,
 * provided beside JobEvents by this layer, also counts the watchers per job.
 */
import { Context, Duration, Effect, Layer, Queue } from "effect"
import type { JobId } from "../../services/ids.js"
import { JobEvents, type JobWatch } from "../../services/jobEvents.js"

export class JobEventsMemoryProbe extends Context.Service<
  JobEventsMemoryProbe,
  {
    /** Wakes every watcher of the job, as a notification of a change would. */
    readonly wake: (jobId: JobId) => Effect.Effect<void>
    /** The watches open on the job now. */
    readonly watchersOf: (jobId: JobId) => Effect.Effect<number>
  }
>()("serenya/JobEventsMemoryProbe") {}

export const makeJobEventsMemory = (options: { readonly poll?: Duration.Input } = {}) => {
  const poll = Duration.fromInputUnsafe(options.poll ?? "50 millis")
  const watchersOf = new Map<string, Set<Queue.Queue<void>>>()
  const count = () => [...watchersOf.values()].reduce((sum, set) => sum + set.size, 0)

  const watch = (jobId: JobId) =>
    Effect.acquireRelease(
      Effect.gen(function* () {
        const wakeUp = yield* Queue.sliding<void>(1)
        const set = watchersOf.get(jobId) ?? new Set()
        set.add(wakeUp)
        watchersOf.set(jobId, set)
        return wakeUp
      }),
      (wakeUp) =>
        Effect.sync(() => {
          const set = watchersOf.get(jobId)
          set?.delete(wakeUp)
          if (set?.size === 0) watchersOf.delete(jobId)
        })
    ).pipe(
      Effect.map((wakeUp): JobWatch => ({
        next: Effect.asVoid(Effect.timeoutOption(Queue.take(wakeUp), poll)),
        changed: Effect.void
      }))
    )

  const service = JobEvents.of({ watch, watchers: Effect.sync(count) })
  const probe = JobEventsMemoryProbe.of({
    wake: (jobId) =>
      Effect.sync(() => {
        for (const wakeUp of watchersOf.get(jobId) ?? []) Queue.offerUnsafe(wakeUp, undefined)
      }),
    watchersOf: (jobId) => Effect.sync(() => watchersOf.get(jobId)?.size ?? 0)
  })
  return { service, probe }
}

/** JobEvents and its probe, fresh per build. */
export const JobEventsMemory: Layer.Layer<JobEvents | JobEventsMemoryProbe> = Layer.unwrap(
  Effect.sync(() => {
    const { service, probe } = makeJobEventsMemory()
    return Layer.merge(Layer.succeed(JobEvents, service), Layer.succeed(JobEventsMemoryProbe, probe))
  })
)
