/**
 * The JobEvents capability: when to read a job's row again, for the streams of
 * `GET /jobs/{jobId}/events` (programs/jobEvents.ts). The row in the database is the truth, and
 * the only thing a stream ever sends: a layer never carries a job's state, only the cue to re-read
 * it, so a job processed by any worker on any instance is seen by a stream on any other.
 *
 * - `JobEventsPostgres` (layers/jobEvents/postgres.ts): one `LISTEN job_events` connection per
 *   process (the `jobs` trigger of migration 0012 notifies the job's id on every change of its
 *   status or stage), fanned out to the watchers of that job; reconnects with backoff, wakes every
 *   watcher on reconnect (a notification sent while it was away is lost), and a slow safety poll
 *   covers a notification lost any other way. For a direct connection to PostgreSQL.
 * - `JobEventsPolling` (layers/jobEvents/polling.ts): no connection of its own; each watcher
 *   looks again on a backoff that starts short after each change and grows while nothing
 *   changes. For connections through a pooler that pins a LISTEN (RDS Proxy, Lambda).
 * - `JobEventsMemory` (layers/jobEvents/memory.ts): the tests'; wake-ups by hand.
 */
import { Context, type Effect, type Scope } from "effect"
import type { JobId } from "./ids.js"

/** One stream's watch on one job, released with its scope. */
export interface JobWatch {
  /**
   * Completes when the row should be read again: at once when a change was notified (or a
   * notification may have been missed), otherwise after the layer's polling delay. Never fails.
   */
  readonly next: Effect.Effect<void>
  /** The caller read a change: a polling layer looks again soon (its backoff starts over). */
  readonly changed: Effect.Effect<void>
}

export class JobEvents extends Context.Service<
  JobEvents,
  {
    /** Watches the job until the scope closes. The caller reads the row after this, then after each `next`. */
    readonly watch: (jobId: JobId) => Effect.Effect<JobWatch, never, Scope.Scope>
    /** Watches open now in this process (every open event stream holds one): no stream may leak one. */
    readonly watchers: Effect.Effect<number>
  }
>()("serenya/JobEvents") {}
