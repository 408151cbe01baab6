/**
 * The sweep of sealed originals no longer kept: a failed job's, and a completed job's whose content
 * the user deleted, when not yet recorded as removed. Processing (a failure) and deleting content
 * remove it right away in the normal case; this catches what they could not do — a storage outage
 * at that moment, a job failed by an expired lease (no worker was left to clean up), a worker
 * killed in between. Removal is idempotent, so two workers sweeping the same job do no harm.
 * A completed job's original stays while its content does (programs/processJob.ts).
 */
import { Effect } from "effect"
import { findStoredOriginal, findUnsweptOriginals, markOriginalRemoved } from "../repos/jobs.js"
import { isTransient } from "../services/errors.js"
import { RetryPolicies } from "../services/resilience.js"
import { Storage } from "../services/storage.js"
import { fnTraced } from "../services/telemetry.js"

/**
 * Removes one job's original now (its content was deleted), best effort: what fails here is left
 * for the sweep, which finds it because the content is gone.
 */
export const removeOriginalOf = (jobId: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const key = yield* findStoredOriginal(jobId)
    if (key._tag === "None") return
    yield* storage.remove(key.value).pipe(Effect.retry({ schedule: RetryPolicies.storage, while: isTransient }))
    yield* markOriginalRemoved(jobId)
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.logWarning("content: its original could not be removed; it stays until swept", cause).pipe(Effect.annotateLogs({ jobId }))
    )
  )

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
