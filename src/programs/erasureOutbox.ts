/**
 * The erasure outbox (migration 0009): the deletions an erased account still owes outside the
 * database — its stored objects, the incoming objects of its presigned uploads, its cost records,
 * its devices' push endpoints — written in the erasure's own transaction, so that once the
 * account's rows are gone these deletions are recorded as due. Removing one device owes its
 * endpoint the same way (programs/devices.ts).
 *
 * `drainErasureOutbox` carries them out. A row is claimed by pushing its next attempt a lease
 * ahead (so a drainer that dies mid-way leaves it to the next one after the lease, and two
 * drainers never work on one row at once), then deleted only once its deletion succeeded; a
 * failure schedules the next attempt with exponential backoff. At least once, and every deletion
 * is idempotent (a removed object, an erased partition, an unregistered endpoint stay so), so a
 * repeat does no harm. An endpoint a device holds again (the same token registered since) is not
 * unregistered: its entry just goes.
 *
 * It runs right after an erasure for that erasure's rows (the fast path), in the worker pool's
 * sweeper fiber, and on Lambda in the processor's scheduled run.
 */
import { Effect } from "effect"
import * as Devices from "../repos/devices.js"
import * as ErasureOutbox from "../repos/erasureOutbox.js"
import { CostTracker } from "../services/costTracker.js"
import { Notifications } from "../services/notifications.js"
import { Storage } from "../services/storage.js"
import { UploadTargets } from "../services/uploadTargets.js"
import { fnTraced } from "../services/telemetry.js"

export type { OutboxKind } from "../repos/erasureOutbox.js"

/** How long a claimed row is left to its drainer before another may take it. */
export const OUTBOX_LEASE_SECONDS = 300
/** Backoff after a failed attempt: 30 s, doubling, at most an hour. */
export const OUTBOX_BACKOFF_BASE_SECONDS = 30
export const OUTBOX_BACKOFF_MAX_SECONDS = 3600

export interface DrainReport {
  readonly done: number
  readonly failed: number
  /** Object rows (stored originals and incoming uploads) among `done`. */
  readonly objectsRemoved: number
  /** Cost records deleted by `cost_records` rows among `done`. */
  readonly costRecordsErased: number
  /** Push endpoints unregistered at the provider among `done`. */
  readonly endpointsUnregistered: number
}

/** A report of nothing done; `failed` entries left to the drainers. */
export const nothingDrained = (failed = 0): DrainReport => ({ done: 0, failed, objectsRemoved: 0, costRecordsErased: 0, endpointsUnregistered: 0 })

/** The delay before the next attempt after `attempts` failed ones. */
export const backoffSeconds = (attempts: number): number =>
  Math.min(OUTBOX_BACKOFF_MAX_SECONDS, OUTBOX_BACKOFF_BASE_SECONDS * 2 ** Math.max(0, Math.min(attempts - 1, 20)))

/**
 * Carries out up to `batch` due rows (only those of `ids` when given: an erasure's own rows),
 * oldest due first, one at a time so that a slow store is not hammered.
 */
export const drainErasureOutbox = fnTraced("Erasure.drainOutbox")(function* (options: { readonly batch?: number; readonly ids?: ReadonlyArray<string> } = {}) {
  const storage = yield* Storage
  const uploads = yield* UploadTargets
  const costs = yield* CostTracker
  const notifications = yield* Notifications
  const batch = options.batch ?? 100
  if (options.ids !== undefined && options.ids.length === 0) {
    return nothingDrained()
  }

  const claimed = yield* ErasureOutbox.claimDueEntries({ leaseSeconds: OUTBOX_LEASE_SECONDS, batch, ids: options.ids })

  let done = 0
  let failed = 0
  let objectsRemoved = 0
  let costRecordsErased = 0
  let endpointsUnregistered = 0
  for (const row of claimed) {
    const work: Effect.Effect<number, { readonly _tag: string }, Effect.Services<ReturnType<typeof Devices.endpointInUse>>> =
      row.kind === "object"
        ? Effect.as(storage.remove(row.target), 1)
        : row.kind === "upload"
          ? Effect.as(uploads.remove(row.target), 1)
          : row.kind === "push_endpoint"
            ? // held by a device again (registered since): it is that device's now
              Effect.flatMap(Devices.endpointInUse(row.target), (held) => (held ? Effect.succeed(0) : Effect.as(notifications.unregister(row.target), 1)))
            : costs.eraseUser(row.target)
    const outcome = yield* work.pipe(
      Effect.tap(() => ErasureOutbox.deleteEntry(row.id)),
      Effect.result
    )
    if (outcome._tag === "Success") {
      done++
      if (row.kind === "cost_records") costRecordsErased += outcome.success
      else if (row.kind === "push_endpoint") endpointsUnregistered += outcome.success
      else objectsRemoved++
      continue
    }
    failed++
    const errorCode = outcome.failure._tag
    // never the target: for cost records it is the erased user's id, for an endpoint the device's
    yield* Effect.logWarning("erasure outbox: a deletion failed; retried later").pipe(
      Effect.annotateLogs({ outboxId: row.id, kind: row.kind, attempts: row.attempts, errorCode })
    )
    yield* ErasureOutbox.scheduleRetry(row.id, backoffSeconds(row.attempts), errorCode).pipe(
      // the row keeps its lease then, and is tried again once that runs out
      Effect.catch(() => Effect.void)
    )
  }
  if (done > 0 || failed > 0) {
    yield* Effect.logInfo("erasure outbox drained").pipe(Effect.annotateLogs({ done, failed }))
  }
  return { done, failed, objectsRemoved, costRecordsErased, endpointsUnregistered } satisfies DrainReport
})
