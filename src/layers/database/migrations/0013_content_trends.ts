/**
 * The trends index (programs/trends.ts): each document's results as trends read them — test
 * code, name, value, unit, flag, date — sealed in the document's own row, so the index is stored
 * with the document (the same transaction) and goes with it (the same row: deleted with the
 * content, erased with the account, re-wrapped by key rotation with the other columns). Nullable:
 * documents stored before this migration get theirs the first time trends are read.
 *
 * One sealed value per document rather than one row per result: a per-result row would need its
 * test code in plaintext, or a keyed hash of it, to be found; here nothing is in plaintext, and a
 * user's trends read their documents' index values (one batch of data-key-cached opens).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE content ADD COLUMN trends_encrypted bytea`
})
