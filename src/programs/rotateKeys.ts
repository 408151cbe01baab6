/**
 * Key rotation: re-wraps every envelope whose data key is wrapped under a master key other than
 * the current one — every encrypted column of every table, and every stored document — without
 * re-encrypting content. Safe to run again (current envelopes are skipped) and safe beside a
 * running server (each row is replaced only if it still holds the envelope that was read).
 */
import { Effect } from "effect"
import * as Jobs from "../repos/jobs.js"
import { ENCRYPTED_FIELDS, replaceSealedValue, sealedValuesAfter } from "../repos/keyRotation.js"
import { Crypto, documentContext, fieldContext, type KeyPurpose } from "../services/crypto.js"
import { Storage } from "../services/storage.js"
import { fnTraced } from "../services/telemetry.js"

export { ENCRYPTED_FIELDS }

export interface RotationCount {
  readonly scanned: number
  readonly rewrapped: number
  /** Envelopes that did not open with their own context: left untouched, reported. */
  readonly unreadable: number
}

export interface RotationReport {
  readonly currentKeys: Readonly<Record<KeyPurpose, string>>
  readonly fields: Readonly<Record<string, RotationCount>>
  readonly documents: RotationCount
}

const count = () => ({ scanned: 0, rewrapped: 0, unreadable: 0 })

export const rotateKeys = fnTraced("Programs.rotateKeys")(function* (options: { readonly batchSize?: number } = {}) {
  const crypto = yield* Crypto
  const storage = yield* Storage
  const batchSize = options.batchSize ?? 500
  const currentKeys = {
    fields: yield* crypto.currentKeyId("fields"),
    documents: yield* crypto.currentKeyId("documents")
  }

  const fields: Record<string, RotationCount> = {}
  for (const field of ENCRYPTED_FIELDS) {
    const { table } = field
    for (const column of field.columns) {
      const tally = count()
      let after = "00000000-0000-0000-0000-000000000000"
      for (;;) {
        // Keyset pagination over the primary key: stable while rows are added or changed.
        const rows = yield* sealedValuesAfter(field, column, after, batchSize)
        for (const row of rows) {
          tally.scanned++
          const info = yield* Effect.result(crypto.inspect(row.value))
          if (info._tag === "Success" && info.success.keyId === currentKeys.fields) continue
          const moved = yield* Effect.result(crypto.rewrap(row.value, fieldContext(row.owner, table, column, row.id)))
          if (moved._tag === "Failure") {
            if (moved.failure._tag === "KeyUnavailable") return yield* Effect.fail(moved.failure)
            tally.unreadable++
            yield* Effect.logWarning("envelope did not open with its own context; left as it is").pipe(
              Effect.annotateLogs({ table, column: column, recordId: row.id })
            )
            continue
          }
          // Only if nobody replaced the value meanwhile (a concurrent write is already current).
          if (yield* replaceSealedValue(field, column, row.id, row.value, moved.success)) tally.rewrapped++
        }
        const last = rows.at(-1)
        if (!last || rows.length < batchSize) break
        after = last.id
      }
      fields[`${table}.${column}`] = tally
    }
  }

  // Stored documents: the originals of jobs not yet processed, and those kept with their content.
  const documents = count()
  const jobs = yield* Jobs.listStoredOriginals
  for (const job of jobs) {
    const stored = yield* Effect.result(storage.get(job.storageKey))
    if (stored._tag === "Failure") continue // already processed and removed
    documents.scanned++
    const info = yield* Effect.result(crypto.inspect(stored.success.bytes))
    if (info._tag === "Success" && info.success.keyId === currentKeys.documents) continue
    const moved = yield* Effect.result(crypto.rewrap(stored.success.bytes, documentContext(job.owner, job.storageKey)))
    if (moved._tag === "Failure") {
      if (moved.failure._tag === "KeyUnavailable") return yield* Effect.fail(moved.failure)
      documents.unreadable++
      yield* Effect.logWarning("document did not open with its own context; left as it is").pipe(
        Effect.annotateLogs({ jobId: job.id })
      )
      continue
    }
    yield* storage.put(job.storageKey, moved.success, stored.success.metadata)
    documents.rewrapped++
  }

  return { currentKeys, fields, documents } satisfies RotationReport
})
