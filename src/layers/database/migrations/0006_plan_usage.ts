/**
 * A ledger of what counts against a plan's monthly limits. Chat questions were counted from the
 * messages themselves, which deleting a document takes with it: deleting a content reset the free
 * plan's chat count. A ledger row is written with the question it counts and outlives the content;
 * only erasing the account removes it. Existing questions are carried over.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE plan_usage (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      resource text NOT NULL CHECK (resource IN ('chat_message')),
      occurred_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX plan_usage_user_resource_time_idx ON plan_usage (user_id, resource, occurred_at)`
  yield* sql`
    INSERT INTO plan_usage (id, user_id, resource, occurred_at)
    SELECT id, user_id, 'chat_message', created_at FROM messages WHERE role = 'user'`
})
