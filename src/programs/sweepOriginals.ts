/**
 * The sweep of sealed originals: every finished job (completed or failed) whose original is not
 * yet recorded as removed gets it removed now. Processing removes it right away in the normal
 * case; this catches what that could not do — a storage outage at that moment, a job failed by
 * an expired lease (no worker was left to clean up), a worker killed in between. Removal is
 * idempotent, so two workers sweeping the same job do no harm.
 */
import { Effect } from "effect"
import { findUnsweptOriginals, markOriginalRemoved } from "../repos/jobs.js"
import { isTransient } from "../services/errors.js"
import { RetryPolicies } from "../services/resilience.js"
import { Storage } from "../services/storage.js"
import { fnTraced } from "../services/telemetry.js"

/** Removes up to `batch` leftover originals, oldest first; answers how many were removed. */
export const sweepOriginals = fnTraced("Jobs.sweepOriginals")(function* (batch: number = 100) {
  const storage = yield* Storage
  const rows = yield* findUnsweptOriginals(batch)
  let removed = 0
  for (const row of rows) {
    const done = yield* storage.remove(row.storageKey).pipe(
      Effect.retry({ schedule: RetryPolicies.storage, while: isTransient }),
      Effect.andThen(markOriginalRemoved(row.id)),
      Effect.as(true),
      // one object that cannot be removed now must not hold up the others; it is tried again next sweep
      Effect.catch((error) =>
        Effect.as(Effect.logWarning("sweep: an original could not be removed", error).pipe(Effect.annotateLogs({ jobId: row.id })), false)
      )
    )
    if (done) removed++
  }
  if (removed > 0) yield* Effect.logInfo("sweep: leftover originals removed").pipe(Effect.annotateLogs({ removed }))
  return removed
})
