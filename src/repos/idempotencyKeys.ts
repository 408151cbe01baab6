/**
 * `idempotency_keys`: the first answer to a request made with an `Idempotency-Key`, per user,
 * scope and key (the primary key). `request_hash` identifies the request (computed by the caller);
 * `response` holds ids and statuses only, never health data. A key replays for
 * IDEMPOTENCY_WINDOW_HOURS; after that it may be claimed again. It is claimed in the same
 * transaction as the work it answers for, so of two concurrent requests with one key exactly one
 * does the work (the other waits on the row, then finds it taken).
 */
import { Effect, Option, Schema } from "effect"
import { bytea, decodeRows, SqlClient } from "../services/database.js"

/** How long a key replays its first answer. */
export const IDEMPOTENCY_WINDOW_HOURS = 24

export interface StoredIdempotencyKey<A> {
  readonly requestHash: Uint8Array
  readonly response: A
  /** Within the replay window. */
  readonly fresh: boolean
}

const rowSchemas = new WeakMap<object, unknown>()

/** The row schema for a response schema, built once per response schema (so decodeRows builds its decoder once too). */
const keyRowOf = <A, I>(response: Schema.Codec<A, I>) => {
  const known = rowSchemas.get(response) as Schema.Codec<StoredIdempotencyKey<A>, unknown> | undefined
  if (known !== undefined) return known
  const row = Schema.Struct({ requestHash: Schema.Uint8Array, response, fresh: Schema.Boolean }) as unknown as Schema.Codec<
    StoredIdempotencyKey<A>,
    unknown
  >
  rowSchemas.set(response, row)
  return row
}

/** The key's row, its stored answer decoded with `response`. */
export const findIdempotencyKey = <A, I>(response: Schema.Codec<A, I>, userId: string, scope: string, key: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT request_hash, response,
               created_at > now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS}) AS fresh
        FROM idempotency_keys WHERE user_id = ${userId}::uuid AND scope = ${scope} AND key = ${key}`,
      (rows) => Effect.orDie(Effect.map(decodeRows(keyRowOf(response))(rows), ([row]) => Option.fromNullishOr(row)))
    )
  )

/**
 * Inside the work's transaction: takes the key for this request (new, or expired) and stores its
 * answer; false when another request holds it (a concurrent duplicate has waited on its row).
 */
export const claimIdempotencyKey = (userId: string, scope: string, key: string, requestHash: Uint8Array, response: unknown) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`
        INSERT INTO idempotency_keys (user_id, scope, key, request_hash, response)
        VALUES (${userId}::uuid, ${scope}, ${key}, ${bytea(requestHash)}, ${JSON.stringify(response)}::jsonb)
        ON CONFLICT (user_id, scope, key) DO UPDATE
          SET request_hash = excluded.request_hash, response = excluded.response, created_at = now()
          WHERE idempotency_keys.created_at <= now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
        RETURNING 1 AS ok`,
      (claimed) => claimed.length > 0
    )
  )

/** Deletes the user's keys past the replay window (any scope). */
export const deleteExpiredIdempotencyKeys = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      DELETE FROM idempotency_keys
      WHERE user_id = ${userId}::uuid AND created_at <= now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`
  )
