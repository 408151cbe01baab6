/**
 * `erasure_outbox` (migrations 0009, 0010, 0011): the deletions an erased account still owes outside
 * the database, one row per (kind, target), unique: `object` (a job's stored original, by object
 * key), `upload` (a presigned upload's incoming object), `cost_records` (the user id: the cost
 * store is keyed by it) and `push_endpoint` (a removed device's endpoint at the push provider,
 * owed by erasure and by every removal of a device). Rows are written in the erasure's own transaction, claimed by pushing
 * `next_attempt_at` a lease ahead (SKIP LOCKED: two drainers never take one row), and deleted only
 * once their deletion succeeded. No row outlives its deletion.
 */
import { Effect, Schema } from "effect"
import { decodeRows, SqlClient } from "../services/database.js"
import type { UserId } from "../services/ids.js"

const Uuid = Schema.String.check(Schema.isUUID())

const OutboxKind = Schema.Literals(["object", "upload", "cost_records", "push_endpoint"])
/**
 * `object`: a job's stored original (Storage); `upload`: a presigned upload's incoming object
 * (UploadTargets); `push_endpoint`: a device's endpoint to unregister (Notifications).
 */
export type OutboxKind = typeof OutboxKind.Type

const Claimed = Schema.Struct({ id: Uuid, kind: OutboxKind, target: Schema.String, attempts: Schema.Number })
const decodeClaimed = decodeRows(Claimed)
const decodeIds = decodeRows(Schema.Struct({ id: Uuid }))

/**
 * Inside the erasure's transaction, before the rows go: records what the user's rows still owe
 * outside — every job's object (removed already or not: older versions may remain), every
 * presigned upload's incoming object (pending or completed), every device's push endpoint, the
 * cost records. An entry already owed is made due now. Answers the entries' ids.
 */
export const recordOwedDeletions = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      Effect.flatMap(
        sql`
          INSERT INTO erasure_outbox (kind, target)
          SELECT 'object', storage_key FROM jobs WHERE user_id = ${userId}::uuid
          UNION ALL SELECT 'upload', object_key FROM document_uploads WHERE user_id = ${userId}::uuid
          UNION ALL SELECT DISTINCT 'push_endpoint', endpoint FROM devices WHERE user_id = ${userId}::uuid
          UNION ALL SELECT 'cost_records', ${userId}
          ON CONFLICT (kind, target) DO UPDATE SET next_attempt_at = now()
          RETURNING id`,
        decodeIds
      ),
      (rows) => rows.map((row) => row.id)
    )
  )

/**
 * A removed device's endpoint is owed to the push provider (inside the transaction that removed
 * the device); made due now if it was owed already. Answers the entry's id.
 */
export const owePushEndpoint = (endpoint: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        INSERT INTO erasure_outbox (kind, target) VALUES ('push_endpoint', ${endpoint})
        ON CONFLICT (kind, target) DO UPDATE SET next_attempt_at = now()
        RETURNING id`,
      (rows) => Effect.orDie(Effect.map(decodeIds(rows), ([row]) => row!.id))
    )
  )

/**
 * Claims up to `batch` due entries (only those of `ids` when given), oldest due first: each one's
 * attempts counted and its next attempt pushed `leaseSeconds` ahead.
 */
export const claimDueEntries = (options: {
  readonly leaseSeconds: number
  readonly batch: number
  readonly ids?: ReadonlyArray<string> | undefined
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        UPDATE erasure_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${options.leaseSeconds})
        WHERE id IN (
          SELECT id FROM erasure_outbox
          WHERE next_attempt_at <= now() ${options.ids !== undefined ? sql`AND ${sql.in("id", options.ids)}` : sql``}
          ORDER BY next_attempt_at
          LIMIT ${options.batch}
          FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, target, attempts`,
      (rows) => Effect.orDie(decodeClaimed(rows))
    )
  )

/** The entry's deletion is done. */
export const deleteEntry = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM erasure_outbox WHERE id = ${id}::uuid`)

/** The entry's deletion failed: its next attempt in `delaySeconds`, with the error's code (never the target). */
export const scheduleRetry = (id: string, delaySeconds: number, errorCode: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      UPDATE erasure_outbox
      SET next_attempt_at = now() + make_interval(secs => ${delaySeconds}), last_error = ${errorCode}
      WHERE id = ${id}::uuid`
  )
