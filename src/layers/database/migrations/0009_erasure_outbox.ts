/**
 * The erasure outbox: what an erased account still owes outside the database. The erasure
 * transaction writes one row per stored object (its key) and one for the account's cost records
 * (the user id: the cost store is keyed by it), so the commit that removes the account's rows also
 * records, atomically, that these deletions are due. Drainers (the worker pool's sweeper, the
 * Lambda processor's scheduled run) carry them out and delete a row only once its deletion is
 * confirmed, retrying with backoff until then: at least once, and every deletion is idempotent.
 *
 * No row outlives its deletion, so the user id a `cost_records` row carries is gone with it; an
 * `object` row holds an object key (`jobs/<jobId>_original`), never a user id.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { APP_ROLE } from "../roles.js"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE erasure_outbox (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind            text NOT NULL CHECK (kind IN ('object', 'cost_records')),
      target          text NOT NULL,
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error      text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      UNIQUE (kind, target)
    )`
  yield* sql`CREATE INDEX erasure_outbox_due_idx ON erasure_outbox (next_attempt_at)`
  // Written by erasure, claimed, retried and removed by the drainers (0007: each table its own grants).
  yield* sql`REVOKE ALL ON TABLE erasure_outbox FROM PUBLIC`
  yield* sql.unsafe(`GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE erasure_outbox TO ${APP_ROLE}`)
})
