/**
 * Idempotency keys: the first answer to a request made with an `Idempotency-Key`, per user and
 * scope, so that a retried request (same key, same body) within 24 h gets it again instead of
 * doing the work twice, and the same key with another body is refused. `request_hash` is a
 * SHA-256 bound to the user and key; `response` holds ids and statuses only, never health data.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE idempotency_keys (
      user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      scope        text NOT NULL,
      key          text NOT NULL,
      request_hash bytea NOT NULL,
      response     jsonb NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, scope, key)
    )`
  // Expired keys are swept by age.
  yield* sql`CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)`
})
