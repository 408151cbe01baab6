/**
 * Idempotency-Key handling shared by every endpoint that honours it (uploads, chat questions).
 * A key belongs to a user and a scope; for 24 h it replays the first answer to the same request
 * and refuses another request (409). The key row is claimed in the same transaction as the work,
 * so of two concurrent requests with one key exactly one does the work and the other replays it.
 */
import { Effect, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { bytea, SqlClient } from "../services/database.js"
import { InvalidRequest } from "../services/errors.js"

/** How long a key replays its first answer. */
export const IDEMPOTENCY_WINDOW_HOURS = 24
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255
// Printable ASCII: keys come from a header and go into logs and SQL parameters only.
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]+$/

export const validateIdempotencyKey = (key: string | undefined): Effect.Effect<string | undefined, InvalidRequest> =>
  key === undefined || (key.length <= MAX_IDEMPOTENCY_KEY_LENGTH && IDEMPOTENCY_KEY_PATTERN.test(key))
    ? Effect.succeed(key)
    : Effect.fail(
      new InvalidRequest({
        message: `The Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`
      })
    )

/**
 * Identifies a request: its parts as JSON (self-delimiting), then any raw bytes, bound to the
 * user, scope and key, so equal requests of two users or two keys never hash alike.
 */
export const requestFingerprint = (parts: ReadonlyArray<unknown>, bytes?: Uint8Array): Buffer => {
  const hash = createHash("sha256").update(JSON.stringify(["serenya/idempotency/v1", ...parts]))
  if (bytes !== undefined) hash.update(bytes)
  return hash.digest()
}

export const sameFingerprint = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(bytea(a), bytea(b)) === 0

export interface StoredIdempotencyKey<A> {
  readonly requestHash: Uint8Array
  readonly response: A
  /** Within the replay window. */
  readonly fresh: boolean
}

/** The key's row, with its stored answer decoded. */
export const findIdempotencyKey = <A, I>(response: Schema.Codec<A, I>, userId: string, scope: string, key: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`
      SELECT request_hash, response,
             created_at > now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS}) AS fresh
      FROM idempotency_keys WHERE user_id = ${userId}::uuid AND scope = ${scope} AND key = ${key}`
    const decoded = yield* Schema.decodeUnknownEffect(
      Schema.Array(Schema.Struct({ requestHash: Schema.Uint8Array, response, fresh: Schema.Boolean }))
    )(rows).pipe(Effect.orDie)
    const first: StoredIdempotencyKey<A> | undefined = decoded[0]
    return Option.fromNullishOr(first)
  })

/**
 * Inside the work's transaction: takes the key for this request (new, or expired) and stores its
 * answer; false when another request holds it (a concurrent duplicate has waited on its row).
 */
export const claimIdempotencyKey = (userId: string, scope: string, key: string, hash: Uint8Array, response: unknown) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const claimed = yield* sql`
      INSERT INTO idempotency_keys (user_id, scope, key, request_hash, response)
      VALUES (${userId}::uuid, ${scope}, ${key}, ${bytea(hash)}, ${JSON.stringify(response)}::jsonb)
      ON CONFLICT (user_id, scope, key) DO UPDATE
        SET request_hash = excluded.request_hash, response = excluded.response, created_at = now()
        WHERE idempotency_keys.created_at <= now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
      RETURNING 1 AS ok`
    return claimed.length > 0
  })
