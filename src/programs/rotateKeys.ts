/**
 * Key rotation: re-wraps every envelope whose data key is wrapped under a master key other than
 * the current one — every encrypted column of every table, and every stored document — without
 * re-encrypting content. Safe to run again (current envelopes are skipped) and safe beside a
 * running server (each row is replaced only if it still holds the envelope that was read).
 */
import { Effect } from "effect"
import { Crypto, documentContext, fieldContext, type KeyPurpose } from "../services/crypto.js"
import { bytea, SqlClient } from "../services/database.js"
import { Storage } from "../services/storage.js"
import { fnTraced } from "../services/telemetry.js"

/** Every encrypted column, with how to rebuild its context. A test keeps this in step with the schema. */
export const ENCRYPTED_FIELDS = [
  { table: "users", id: "id", owner: "id", columns: ["email_encrypted", "name_encrypted"] },
  { table: "jobs", id: "id", owner: "user_id", columns: ["file_name_encrypted"] },
  { table: "content", id: "id", owner: "user_id", columns: ["title_encrypted", "summary_encrypted", "body_encrypted"] },
  { table: "messages", id: "id", owner: "user_id", columns: ["content_encrypted"] },
  { table: "document_uploads", id: "id", owner: "user_id", columns: ["file_name_encrypted"] }
] as const

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

interface Row {
  readonly id: string
  readonly owner: string
  readonly value: Uint8Array
}

const count = () => ({ scanned: 0, rewrapped: 0, unreadable: 0 })

export const rotateKeys = fnTraced("Programs.rotateKeys")(function* (options: { readonly batchSize?: number } = {}) {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const storage = yield* Storage
  const batchSize = options.batchSize ?? 500
  const currentKeys = {
    fields: yield* crypto.currentKeyId("fields"),
    documents: yield* crypto.currentKeyId("documents")
  }

  const fields: Record<string, RotationCount> = {}
  for (const { table, id, owner, columns } of ENCRYPTED_FIELDS) {
    for (const column of columns) {
      const tally = count()
      let after = "00000000-0000-0000-0000-000000000000"
      for (;;) {
        // Keyset pagination over the primary key: stable while rows are added or changed.
        const rows = yield* sql<Row>`
          SELECT ${sql(id)}::text AS id, ${sql(owner)}::text AS owner, ${sql(column)} AS value
          FROM ${sql(table)}
          WHERE ${sql(column)} IS NOT NULL AND ${sql(id)} > ${after}::uuid
          ORDER BY ${sql(id)}
          LIMIT ${batchSize}`
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
          const updated = yield* sql`
            UPDATE ${sql(table)} SET ${sql(column)} = ${bytea(moved.success)}
            WHERE ${sql(id)} = ${row.id}::uuid AND ${sql(column)} = ${bytea(row.value)}
            RETURNING 1 AS ok`
          if (updated.length > 0) tally.rewrapped++
        }
        const last = rows.at(-1)
        if (!last || rows.length < batchSize) break
        after = last.id
      }
      fields[`${table}.${column}`] = tally
    }
  }

  // Stored documents: the originals of jobs not yet processed.
  const documents = count()
  const jobs = yield* sql<{ readonly id: string; readonly owner: string; readonly storageKey: string }>`
    SELECT id::text AS id, user_id::text AS owner, storage_key FROM jobs WHERE status IN ('queued', 'processing')`
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
