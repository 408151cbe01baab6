/**
 * The job workers: N fibers that each loop claim → process → claim, sleeping when there is
 * nothing to do. While a job runs, a heartbeat extends its lease every third of the lease; when
 * a heartbeat finds the lease taken over, processing stops (nothing of it is written). The same
 * pool runs in-process (the local default) and as `src/main/worker.ts` (a separate process).
 *
 * Beside them, one fiber sweeps sealed originals that outlived their finished jobs, drains the
 * erasure outbox (the deletions erased accounts still owe) and the notification outbox (the pushes
 * finished jobs owe that their fast path did not send), every `sweepInterval` (see
 * programs/sweepOriginals.ts, programs/erasureOutbox.ts and programs/notificationOutbox.ts).
 *
 * Shutdown (the layer's scope closing): workers stop claiming, in-flight jobs get up to
 * `shutdownTimeout` to finish, then are interrupted and handed back to the queue without
 * counting the attempt.
 */
import { Cause, Context, Duration, Effect, Fiber, Layer, Option, Ref, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as os from "node:os"
import { AppInfoConfig } from "../config/app.js"
import { WorkerConfig } from "../config/worker.js"
import { processLeasedJob, type ProcessOptions, type ProcessOutcome } from "../programs/processJob.js"
import { drainErasureOutbox } from "../programs/erasureOutbox.js"
import { drainNotificationOutbox } from "../programs/notificationOutbox.js"
import { sweepOriginals } from "../programs/sweepOriginals.js"
import { JobQueue } from "../services/jobQueue.js"

export interface WorkerPoolOptions {
  readonly concurrency: number
  readonly lease: Duration.Input
  readonly poll: Duration.Input
  /** How long in-flight jobs may run on after shutdown starts. */
  readonly shutdownTimeout: Duration.Input
  /** Names this pool's workers (lease owners); default: host, pid and a random suffix. */
  readonly name?: string
  readonly process?: ProcessOptions
  /** How often leftover originals are swept. */
  readonly sweepInterval?: Duration.Input
}

export interface WorkerPoolStats {
  readonly claimed: number
  readonly completed: number
  readonly retrying: number
  readonly failed: number
  readonly lost: number
  /** Jobs whose bookkeeping failed (database down): left to their lease. */
  readonly errors: number
}

export class WorkerPool extends Context.Service<
  WorkerPool,
  {
    readonly workerIds: ReadonlyArray<string>
    /** What this pool's workers have done so far. */
    readonly stats: Effect.Effect<WorkerPoolStats>
  }
>()("serenya/WorkerPool") {}

const emptyStats: WorkerPoolStats = { claimed: 0, completed: 0, retrying: 0, failed: 0, lost: 0, errors: 0 }

const outcomeKey = (outcome: ProcessOutcome): keyof WorkerPoolStats => {
  switch (outcome._tag) {
    case "completed":
      return "completed"
    case "retrying":
      return "retrying"
    case "failed":
      return "failed"
    case "lost":
      return "lost"
  }
}

export const makeWorkerPool = (options: WorkerPoolOptions) =>
  Effect.gen(function* () {
    const queue = yield* JobQueue
    const context = yield* Effect.context<
      | Effect.Services<ReturnType<typeof processLeasedJob>>
      | Effect.Services<ReturnType<typeof sweepOriginals>>
      | Effect.Services<ReturnType<typeof drainErasureOutbox>>
      | Effect.Services<ReturnType<typeof drainNotificationOutbox>>
    >()
    const lease = Duration.fromInputUnsafe(options.lease)
    const poll = Duration.fromInputUnsafe(options.poll)
    const name = options.name ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`
    const workerIds = Array.from({ length: Math.max(1, options.concurrency) }, (_, i) => `${name}-${i + 1}`)
    const stopping = yield* Ref.make(false)
    const stats = yield* Ref.make(emptyStats)
    const count = (key: keyof WorkerPoolStats) => Ref.update(stats, (s) => ({ ...s, [key]: s[key] + 1 }))

    /** One claim and, when there was a job, its processing; false when there was nothing to do. */
    const runOnce = (workerId: string) =>
      Effect.gen(function* () {
        const claimed = yield* queue.claim(workerId, lease).pipe(
          Effect.catch((error) => Effect.as(Effect.logWarning("worker: claim failed", error), Option.none()))
        )
        if (Option.isNone(claimed)) return false
        const job = claimed.value
        yield* count("claimed")
        const outcome = yield* processLeasedJob(job, workerId, lease, options.process ?? {}).pipe(
          Effect.provide(context),
          // shutdown: hand the job back at once instead of leaving it to its lease
          Effect.onInterrupt(() => queue.release(job.jobId, workerId).pipe(Effect.ignore)),
          Effect.map(outcomeKey),
          Effect.catch((error) =>
            // the job stays leased; once the lease expires another attempt picks it up
            Effect.as(Effect.logWarning("worker: job bookkeeping failed", error), "errors" as const)
          )
        )
        yield* count(outcome)
        yield* Effect.logDebug("worker: job done").pipe(Effect.annotateLogs({ jobId: job.jobId, outcome }))
        return true
      })

    const loop = (workerId: string) =>
      Effect.gen(function* () {
        while (!(yield* Ref.get(stopping))) {
          const busy = yield* runOnce(workerId).pipe(
            Effect.catchCause((cause) =>
              Cause.hasInterruptsOnly(cause)
                ? Effect.failCause(cause)
                : Effect.as(Effect.logError("worker: unexpected failure", cause), false)
            )
          )
          if (!busy) yield* Effect.sleep(poll)
        }
      }).pipe(Effect.annotateLogs({ workerId }))

    const fibers = yield* Effect.forEach(workerIds, (id) => Effect.forkDetach(loop(id)))
    const sweeper = yield* Effect.forkDetach(
      Effect.gen(function* () {
        for (;;) {
          yield* Effect.sleep(options.sweepInterval ?? "1 minute")
          // each on its own: a failing sweep must not hold up the erasures, nor the reverse
          const logged = (what: string) => (cause: Cause.Cause<unknown>) =>
            Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logWarning(`${what} failed`, cause)
          yield* sweepOriginals().pipe(Effect.provide(context), Effect.catchCause(logged("sweep")))
          yield* drainErasureOutbox().pipe(Effect.provide(context), Effect.catchCause(logged("erasure outbox")))
          yield* drainNotificationOutbox().pipe(Effect.provide(context), Effect.catchCause(logged("notification outbox")))
        }
      })
    )
    yield* Effect.logInfo("worker pool started").pipe(Effect.annotateLogs({ workers: workerIds.length }))

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* Ref.set(stopping, true)
        yield* Fiber.interrupt(sweeper)
        const finished = yield* Fiber.awaitAll(fibers).pipe(
          // finalizers run uninterruptibly: without this the timeout could not stop the wait
          Effect.interruptible,
          Effect.timeout(options.shutdownTimeout),
          Effect.option
        )
        if (Option.isNone(finished)) {
          yield* Effect.logWarning("worker pool: in-flight jobs did not finish in time; handing them back")
        }
        yield* Fiber.interruptAll(fibers)
        yield* Effect.logInfo("worker pool stopped")
      })
    )

    return { workerIds, stats: Ref.get(stats) } satisfies (typeof WorkerPool)["Service"]
  })

type PoolRequirements = Effect.Services<ReturnType<typeof makeWorkerPool>>

/** The pool with the settings' concurrency, lease and poll interval; `overrides` win. */
export const workerPoolLayer = (
  overrides: Partial<WorkerPoolOptions> = {}
): Layer.Layer<WorkerPool, never, Exclude<PoolRequirements, Scope.Scope> | WorkerConfig | AppInfoConfig> =>
  Layer.effect(
    WorkerPool,
    Effect.gen(function* () {
      const worker = yield* WorkerConfig
      const { shutdownTimeout } = yield* AppInfoConfig
      return yield* makeWorkerPool({
        concurrency: worker.concurrency,
        lease: worker.lease,
        poll: worker.poll,
        shutdownTimeout,
        sweepInterval: worker.sweepInterval,
        ...overrides
      })
    })
  )

export const WorkerPoolLive = workerPoolLayer()
