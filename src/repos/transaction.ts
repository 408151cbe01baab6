/**
 * Transactions are decided by programs: `inTransaction` groups repository calls into one, without
 * the program touching SqlClient. Inside another transaction it joins it (the client nests with a
 * savepoint), as `sql.withTransaction` did.
 */
import type { SqlError } from "effect/sql/SqlError"
import { Effect } from "effect"
import { SqlClient } from "../services/database.js"

export const inTransaction = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError, R | SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(effect))

/**
 * The client, for the one repository function that is handed it instead of reading it from the
 * context (sessions.ts `sessionActive`, on every authenticated request).
 */
export type Client = SqlClient.SqlClient
