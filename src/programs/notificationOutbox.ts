/**
 * The notification outbox (migration 0011): the pushes a finished job owes its user's devices.
 *
 * `enqueueJobNotifications` runs inside the transaction that completes or fails the job
 * (processJob; the Lambda processor when deliveries run out), so the commit that finishes the job
 * records its pushes, one per device, and a rollback none. `deliverJobNotifications` is the fast
 * path right after that commit; `drainNotificationOutbox` the sweep (the worker pool's sweeper,
 * the Lambda processor's scheduled run and each of its batches) that sends whatever the fast path
 * did not: a crash between the commit and the send loses nothing.
 *
 * A row is claimed by pushing its next attempt a lease ahead (a drainer that dies mid-way leaves
 * it to the next after the lease; two drainers never send one row at once) and deleted only once
 * the provider accepted the push: at least once. A repeat (a crash after the send, before the
 * delete) carries the same message id — the row's id — which the providers collapse on
 * (services/notifications.ts), so the device shows it once. The unique (job, device, kind) makes
 * the enqueue itself idempotent.
 *
 * Failures: NotificationsUnavailable schedules the next attempt with exponential backoff, up to
 * NOTIFICATION_MAX_ATTEMPTS, after which the push is dropped with a warning (a "your document is
 * ready" hours late is worth less than the noise); EndpointDisabled (the app was removed, the
 * token revoked) removes the device — its other pending pushes by cascade — and owes its endpoint
 * to the provider (the erasure outbox's `push_endpoint`), unless the device registered again
 * since the push was claimed.
 *
 * What is sent is a PushMessage: a kind and ids. The words are the fixed ones of PUSH_TEXT; nothing
 * read from a document, no result, no file name ever reaches a push, a log line or a span here.
 */
import { Cause, type Duration, Effect } from "effect"
import * as Devices from "../repos/devices.js"
import * as ErasureOutbox from "../repos/erasureOutbox.js"
import * as Outbox from "../repos/notificationOutbox.js"
import { inTransaction } from "../repos/transaction.js"
import type { ContentId, JobId } from "../services/ids.js"
import { Notifications, type PushKind, type PushMessage } from "../services/notifications.js"
import { fnTraced } from "../services/telemetry.js"
import { Timeouts } from "../services/resilience.js"

/** How long a claimed push is left to its drainer before another may take it. */
export const NOTIFICATION_LEASE_SECONDS = 60
/** Attempts before a push is given up (with the backoff below: about 40 minutes of trying). */
export const NOTIFICATION_MAX_ATTEMPTS = 8
/** Backoff after a failed attempt: 20 s, doubling, at most 15 minutes. */
export const NOTIFICATION_BACKOFF_BASE_SECONDS = 20
export const NOTIFICATION_BACKOFF_MAX_SECONDS = 900
/** Pushes sent at once by one drainer. */
const SEND_CONCURRENCY = 4
/** The fast path's bound: past it the rows are left to the sweep. */
export const FAST_PATH_TIMEOUT: Duration.Input = Timeouts.notificationsFastPath

export interface NotificationDrainReport {
  /** Pushes the provider accepted. */
  readonly sent: number
  /** Pushes that failed and are tried again later. */
  readonly retrying: number
  /** Devices removed because the provider disabled their endpoint. */
  readonly devicesRemoved: number
  /** Pushes given up after NOTIFICATION_MAX_ATTEMPTS. */
  readonly dropped: number
}

const nothing: NotificationDrainReport = { sent: 0, retrying: 0, devicesRemoved: 0, dropped: 0 }

/** The delay before the next attempt after `attempts` failed ones. */
export const notificationBackoffSeconds = (attempts: number): number =>
  Math.min(NOTIFICATION_BACKOFF_MAX_SECONDS, NOTIFICATION_BACKOFF_BASE_SECONDS * 2 ** Math.max(0, Math.min(attempts - 1, 20)))

/**
 * Inside the caller's transaction (the one that completes or fails the job): one push per device
 * of the job's user. `contentId` for a completed job. Answers the rows' ids (none without devices).
 */
export const enqueueJobNotifications = (jobId: JobId, kind: PushKind, contentId?: ContentId) =>
  Outbox.enqueueForJob(jobId, kind, contentId ?? null).pipe(Effect.withSpan("Notifications.enqueue", { attributes: { "job.id": jobId, "push.kind": kind } }))

type Outcome = "sent" | "retrying" | "devicesRemoved" | "dropped"

const deliverOne = (row: Outbox.ClaimedPush) =>
  Effect.gen(function* () {
    const notifications = yield* Notifications
    const annotations = { outboxId: row.id, jobId: row.jobId, deviceId: row.deviceId, kind: row.kind, attempts: row.attempts }
    // Claimed past the bound (drainers that died holding it): given up without another send.
    if (row.attempts > NOTIFICATION_MAX_ATTEMPTS) {
      yield* Outbox.deleteEntry(row.id)
      yield* Effect.logWarning("notification outbox: a push was given up").pipe(Effect.annotateLogs({ ...annotations, errorCode: "ATTEMPTS_EXHAUSTED" }))
      return "dropped" as Outcome
    }
    const message: PushMessage = {
      id: row.id,
      kind: row.kind,
      jobId: row.jobId,
      ...(row.contentId !== null ? { contentId: row.contentId } : {})
    }
    const sent = yield* Effect.result(notifications.send(row.endpoint, row.platform, message))
    if (sent._tag === "Success") {
      yield* Outbox.deleteEntry(row.id)
      return "sent" as Outcome
    }
    const error = sent.failure
    if (error._tag === "EndpointDisabled") {
      const removed = yield* inTransaction(
        Effect.gen(function* () {
          if (!(yield* Devices.deleteDisabledDevice(row.deviceId, row.endpoint, row.deviceVersion))) return false
          yield* ErasureOutbox.owePushEndpoint(row.endpoint)
          return true
        })
      )
      yield* Effect.logInfo(
        removed ? "notification outbox: endpoint disabled; device removed" : "notification outbox: endpoint disabled, device registered again since; retried"
      ).pipe(Effect.annotateLogs(annotations))
      if (removed) return "devicesRemoved" as Outcome
      // registered again since the claim (which re-enables the endpoint): worth one more try soon
      yield* Outbox.scheduleRetry(row.id, NOTIFICATION_BACKOFF_BASE_SECONDS, error._tag)
      return "retrying" as Outcome
    }
    if (row.attempts >= NOTIFICATION_MAX_ATTEMPTS) {
      yield* Outbox.deleteEntry(row.id)
      yield* Effect.logWarning("notification outbox: a push was given up").pipe(
        Effect.annotateLogs({ ...annotations, errorCode: error._tag, transient: error.transient })
      )
      return "dropped" as Outcome
    }
    yield* Effect.logWarning("notification outbox: a push failed; retried later").pipe(
      Effect.annotateLogs({ ...annotations, errorCode: error._tag, transient: error.transient })
    )
    yield* Outbox.scheduleRetry(row.id, notificationBackoffSeconds(row.attempts), error._tag)
    return "retrying" as Outcome
  }).pipe(
    // The database failed around the send: the row keeps its lease and is tried again once it runs
    // out (a repeat carries the same message id).
    Effect.catchTag("SqlError", (error) =>
      Effect.as(
        Effect.logWarning("notification outbox: bookkeeping failed; the push is left to its lease", error.reason).pipe(
          Effect.annotateLogs({ outboxId: row.id })
        ),
        "retrying" as Outcome
      )
    )
  )

/**
 * Sends up to `batch` due pushes (only the job's when `jobId` is given), oldest due first, a few
 * at a time.
 */
export const drainNotificationOutbox = fnTraced("Notifications.drainOutbox")(function* (
  options: { readonly batch?: number; readonly jobId?: JobId } = {}
) {
  const claimed = yield* Outbox.claimDue({ leaseSeconds: NOTIFICATION_LEASE_SECONDS, batch: options.batch ?? 100, jobId: options.jobId })
  if (claimed.length === 0) return nothing
  const outcomes = yield* Effect.forEach(claimed, deliverOne, { concurrency: SEND_CONCURRENCY })
  const count = (outcome: Outcome) => outcomes.filter((o) => o === outcome).length
  const report: NotificationDrainReport = {
    sent: count("sent"),
    retrying: count("retrying"),
    devicesRemoved: count("devicesRemoved"),
    dropped: count("dropped")
  }
  yield* Effect.annotateCurrentSpan({ "push.sent": report.sent, "push.retrying": report.retrying })
  if (report.retrying > 0 || report.devicesRemoved > 0 || report.dropped > 0) {
    yield* Effect.logInfo("notification outbox drained").pipe(Effect.annotateLogs({ ...report }))
  }
  return report
})

/**
 * The fast path, right after the commit that finished the job: its pushes at once. Best effort and
 * bounded (FAST_PATH_TIMEOUT): whatever fails or is cut off stays in the outbox for the sweep, and
 * nothing here ever fails the caller.
 */
export const deliverJobNotifications = (jobId: JobId) =>
  drainNotificationOutbox({ jobId, batch: 50 }).pipe(
    Effect.timeoutOrElse({
      duration: FAST_PATH_TIMEOUT,
      orElse: () => Effect.as(Effect.logWarning("notifications: the fast path ran out of time; left to the sweep").pipe(Effect.annotateLogs({ jobId })), nothing)
    }),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(Effect.logWarning("notifications: the fast path failed; left to the sweep", cause).pipe(Effect.annotateLogs({ jobId })), nothing)
    )
  )
