/**
 * Every sealed column of every table, for key rotation: read page by page (keyset pagination over
 * the primary key, stable while rows are added or changed) and replaced only where the row still
 * holds the envelope that was read, so a concurrent write (already current) is never overwritten.
 * Table and column names come only from ENCRYPTED_FIELDS, never from input.
 */
import { Effect } from "effect"
import { bytea, SqlClient } from "../services/database.js"
import type { UserId } from "../services/ids.js"

/** Every encrypted column, with how to rebuild its context. A test keeps this in step with the schema. */
export const ENCRYPTED_FIELDS = [
  { table: "users", id: "id", owner: "id", columns: ["email_encrypted", "name_encrypted"] },
  { table: "jobs", id: "id", owner: "user_id", columns: ["file_name_encrypted"] },
  { table: "content", id: "id", owner: "user_id", columns: ["title_encrypted", "summary_encrypted", "body_encrypted", "trends_encrypted"] },
  { table: "messages", id: "id", owner: "user_id", columns: ["content_encrypted"] },
  { table: "document_uploads", id: "id", owner: "user_id", columns: ["file_name_encrypted"] },
  { table: "devices", id: "id", owner: "user_id", columns: ["token_encrypted"] }
] as const

export type EncryptedField = (typeof ENCRYPTED_FIELDS)[number]

/** A sealed value with its row's id and owner (as text; the owner column is a uuid, so PostgreSQL vouches for its form). */
export interface SealedValue {
  readonly id: string
  readonly owner: UserId
  readonly value: Uint8Array
}

/** Up to `limit` non-null values of the column, of rows with an id after `after`, in id order. Rows as typed, not decoded. */
export const sealedValuesAfter = (field: EncryptedField, column: EncryptedField["columns"][number], after: string, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const { table, id, owner } = field
    return sql<SealedValue>`
      SELECT ${sql(id)}::text AS id, ${sql(owner)}::text AS owner, ${sql(column)} AS value
      FROM ${sql(table)}
      WHERE ${sql(column)} IS NOT NULL AND ${sql(id)} > ${after}::uuid
      ORDER BY ${sql(id)}
      LIMIT ${limit}`
  })

/** Replaces the value with `next` only if the row still holds `read`; whether it did. */
export const replaceSealedValue = (
  field: EncryptedField,
  column: EncryptedField["columns"][number],
  rowId: string,
  read: Uint8Array,
  next: Uint8Array
) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const { table, id } = field
    return Effect.map(
      sql`
        UPDATE ${sql(table)} SET ${sql(column)} = ${bytea(next)}
        WHERE ${sql(id)} = ${rowId}::uuid AND ${sql(column)} = ${bytea(read)}
        RETURNING 1 AS ok`,
      (updated) => updated.length > 0
    )
  })
