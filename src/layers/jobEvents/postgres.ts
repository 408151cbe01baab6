/**
 * JobEvents over PostgreSQL LISTEN/NOTIFY: the `jobs` trigger (migration 0012) notifies
 * `job_events` with a job's id whenever its status, stage or attempt changes, and one listener per
 * process hears it and wakes the watchers of that job, which read the row again.
 *
 * - The listener has a connection of its own, outside the pool (a LISTEN belongs to its session;
 *   a pooled session would be held out of the pool for good), opened on the first watch — a
 *   process that never serves an event stream never opens it — and kept for the life of the layer.
 *   TCP keepalive finds a peer that vanished without closing the connection.
 * - When the connection is lost, it reconnects with a jittered backoff (RECONNECT_*), and wakes
 *   every watcher both when it is lost (they poll every DISCONNECTED_POLL until it is back) and
 *   when it is back (a notification sent meanwhile reached no one).
 * - A watcher reads again after SAFETY_POLL even without a notification: a notification can be
 *   lost in ways no reconnect reveals (a half-open connection before keepalive notices).
 *
 * A notification carries the id alone and proves nothing (any role may NOTIFY on any channel): it
 * is a cue to re-read the row, which the stream reads scoped to its user.
 */
import { PgClient, PgConnection } from "@effect/sql-pg"
import type { SqlError } from "effect/sql/SqlError"
import { Duration, Effect, Layer, Queue, type Scope } from "effect"
import type { JobId } from "../../services/ids.js"
import { JobEvents, type JobWatch } from "../../services/jobEvents.js"

/** The channel migration 0012's trigger notifies. */
export const JOB_EVENTS_CHANNEL = "job_events"

export interface ListenOptions {
  /** A watcher reads again after this without a notification. */
  readonly safetyPoll: Duration.Input
  /** …and after this while the listener is not connected. */
  readonly disconnectedPoll: Duration.Input
  /** The first delay before reconnecting; doubled (with jitter) after each failure, up to `reconnectMax`. */
  readonly reconnectInitial: Duration.Input
  readonly reconnectMax: Duration.Input
}

export const LISTENING: ListenOptions = {
  safetyPoll: "10 seconds",
  disconnectedPoll: "1 second",
  reconnectInitial: "200 millis",
  reconnectMax: "10 seconds"
}

/** Opens a session, LISTENs on the channel and answers its notifications; the session lives as long as the scope. */
export type Listen = Effect.Effect<Queue.Dequeue<PgConnection.Notification, SqlError>, SqlError, Scope.Scope>

const millis = (duration: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(duration))

/**
 * The service over any way of listening (tests hand in one they can break); the listener runs in
 * the scope of the layer that builds it.
 */
export const makeJobEventsPostgres = (listen: Listen, options: ListenOptions = LISTENING) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const safetyPoll = millis(options.safetyPoll)
    const disconnectedPoll = millis(options.disconnectedPoll)
    const reconnectInitial = millis(options.reconnectInitial)
    const reconnectMax = Math.max(reconnectInitial, millis(options.reconnectMax))

    // Each watcher's wake-ups: a sliding queue of one, so a burst of notifications is one wake-up
    // and a notification that arrives while the watcher reads is not lost.
    const watchersOf = new Map<string, Set<Queue.Queue<void>>>()
    let watchers = 0
    let connected = false
    let started = false

    const wake = (wakeUp: Queue.Queue<void>) => void Queue.offerUnsafe(wakeUp, undefined)
    const wakeAll = () => {
      for (const set of watchersOf.values()) for (const wakeUp of set) wake(wakeUp)
    }

    const session = (onConnected: () => void) =>
      Effect.scoped(
        Effect.gen(function* () {
          const notifications = yield* listen
          connected = true
          onConnected()
          // Whatever changed while there was no listener was heard by no one.
          wakeAll()
          for (;;) {
            const notification = yield* Queue.take(notifications)
            const set = watchersOf.get(notification.payload)
            if (set !== undefined) for (const wakeUp of set) wake(wakeUp)
          }
        })
      ).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (connected) wakeAll() // to their fast polling until the listener is back
            connected = false
          })
        )
      )

    const listener = Effect.gen(function* () {
      let delay = reconnectInitial
      for (;;) {
        const exit = yield* Effect.exit(session(() => (delay = reconnectInitial)))
        // Never with the error's text: a connection error may name the server, never a user's data, but logs stay terse.
        const reason = exit._tag === "Failure" ? "the connection failed or was lost" : "the listener stopped"
        yield* Effect.logWarning(`job events: ${reason}; reconnecting`).pipe(Effect.annotateLogs({ retryInMs: delay }))
        yield* Effect.sleep(Duration.millis(Math.round(delay * (0.5 + Math.random() / 2))))
        delay = Math.min(reconnectMax, delay * 2)
      }
    })

    const start = Effect.suspend(() => {
      if (started) return Effect.void
      started = true
      return Effect.asVoid(Effect.forkIn(listener, scope))
    })

    const watch = (jobId: JobId) =>
      Effect.acquireRelease(
        Effect.gen(function* () {
          yield* start
          const wakeUp = yield* Queue.sliding<void>(1)
          const set = watchersOf.get(jobId) ?? new Set()
          set.add(wakeUp)
          watchersOf.set(jobId, set)
          watchers++
          return wakeUp
        }),
        (wakeUp) =>
          Effect.sync(() => {
            const set = watchersOf.get(jobId)
            set?.delete(wakeUp)
            if (set !== undefined && set.size === 0) watchersOf.delete(jobId)
            watchers--
          })
      ).pipe(
        Effect.map((wakeUp): JobWatch => ({
          next: Effect.suspend(() =>
            Effect.asVoid(Effect.timeoutOption(Queue.take(wakeUp), Duration.millis(connected ? safetyPoll : disconnectedPoll)))
          ),
          changed: Effect.void
        }))
      )

    return JobEvents.of({ watch, watchers: Effect.sync(() => watchers) })
  })

/** LISTENs on a connection of its own, made like the pool's (same server, role, TLS and connect timeout). */
export const listenLike = (config: PgClient.PgClientConfig): Listen =>
  Effect.flatMap(
    PgConnection.make({
      ...(config.url !== undefined ? { url: config.url } : {}),
      ...(config.host !== undefined ? { host: config.host } : {}),
      ...(config.port !== undefined ? { port: config.port } : {}),
      ...(config.path !== undefined ? { path: config.path } : {}),
      ...(config.ssl !== undefined ? { ssl: config.ssl } : {}),
      ...(config.database !== undefined ? { database: config.database } : {}),
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
      ...(config.connectTimeout !== undefined ? { connectTimeout: config.connectTimeout } : {}),
      applicationName: "serenya-job-events",
      keepAlive: "30 seconds"
    }),
    (connection) => connection.listen(JOB_EVENTS_CHANNEL)
  )

/** The live layer: listens beside the application's pool, on the same database. */
export const JobEventsPostgres: Layer.Layer<JobEvents, never, PgClient.PgClient> = Layer.effect(
  JobEvents,
  Effect.flatMap(PgClient.PgClient, (client) => makeJobEventsPostgres(listenLike(client.config)))
)
