/**
 * Every row an account owns, table by table, for erasure (GDPR art. 17). The caller holds the
 * user's row locked (users.ts `lockUserForErasure`) in the same transaction, deletes children
 * before parents, and records what is owed outside the database first (erasureOutbox.ts).
 * `idempotency_keys` and `plan_usage` go with the user by cascade; `document_uploads` and `users`
 * are deleted by their own modules.
 */
import { Effect, Schema } from "effect"
import { decodeRows, SqlClient } from "../services/database.js"
import type { UserId } from "../services/ids.js"

/** The tables erasure counts, children first. */
export type ErasedTable =
  | "messages"
  | "conversations"
  | "content"
  | "notification_outbox"
  | "devices"
  | "jobs"
  | "refresh_tokens"
  | "subscriptions"
  | "llm_usage"

const decodeCount = decodeRows(Schema.Struct({ n: Schema.Number }))

/** Deletes the user's rows of `table`; answers how many went (the erasure report's counts). */
export const deleteRowsOf = (table: ErasedTable, userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`WITH d AS (DELETE FROM ${sql(table)} WHERE user_id = ${userId}::uuid RETURNING 1) SELECT count(*)::int AS n FROM d`,
      (rows) => Effect.map(decodeCount(rows), ([row]) => row?.n ?? 0)
    )
  )
