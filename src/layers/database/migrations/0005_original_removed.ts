/**
 * When a job's sealed original was removed from storage. A finished job (completed, or failed
 * for any reason, including a lease that expired on its last attempt) whose original is still
 * recorded as present is swept by the workers, so no original outlives its job for long even when
 * the removal right after processing failed or never ran.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE jobs ADD COLUMN original_removed_at timestamptz`
  yield* sql`
    CREATE INDEX jobs_unswept_originals_idx ON jobs (updated_at)
    WHERE status IN ('completed', 'failed') AND original_removed_at IS NULL`
})
