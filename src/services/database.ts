/**
 * The Db capability. Repositories (src/repos) write SQL through `SqlClient` (tagged templates, rows
 * decoded with `decodeRows`), programs call them; `Database` adds what operations need on top: a
 * cheap liveness probe for /ready.
 */
import type { SqlClient as Sql } from "effect/sql"
import { SqlError } from "effect/sql/SqlError"
import { Context, Effect, Schema } from "effect"
import { DatabaseUnavailable } from "./errors.js"

export { SqlClient } from "effect/sql"

/**
 * The one mapping of a failed statement: a DatabaseUnavailable (503, retry) carrying `message`,
 * after a warning naming `operation` with the failure's reason (the driver's error is that reason's
 * cause; none of it ever reaches a response).
 */
export const orDatabaseUnavailable =
  (message: string, operation = "query") =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError> | DatabaseUnavailable, R> =>
    Effect.catchIf(
      self,
      (error): error is Extract<E, SqlError> => error instanceof SqlError,
      (error) =>
        Effect.logWarning("database failure", error.reason).pipe(
          Effect.annotateLogs({ operation }),
          Effect.andThen(Effect.fail(new DatabaseUnavailable({ message })))
        )
    ) as Effect.Effect<A, Exclude<E, SqlError> | DatabaseUnavailable, R>

const rowDecoders = new WeakMap<object, unknown>()

/**
 * The decoder of a query's rows, built once per row schema: `Schema.Array(row)` written inside a
 * function builds a new schema class and a new parser on every call (timeline: every request).
 */
export const decodeRows = <A, I, R>(
  row: Schema.Codec<A, I, R>
): ((rows: unknown) => Effect.Effect<ReadonlyArray<A>, Schema.SchemaError, R>) => {
  const known = rowDecoders.get(row) as ((rows: unknown) => Effect.Effect<ReadonlyArray<A>, Schema.SchemaError, R>) | undefined
  if (known !== undefined) return known
  const decode = Schema.decodeUnknownEffect(Schema.Array(row))
  rowDecoders.set(row, decode)
  return decode
}

const untransformed = new WeakMap<Sql.SqlClient, Sql.SqlClient>()

/**
 * The client without its column-name transforms, built once per client: `withoutTransforms()`
 * builds a new statement constructor and copies the client on every call (~45 µs of CPU per
 * timeline request, measured with bench/profile.ts).
 */
export const withoutTransforms = (sql: Sql.SqlClient): Sql.SqlClient => {
  const known = untransformed.get(sql)
  if (known !== undefined) return known
  const plain = sql.withoutTransforms()
  untransformed.set(sql, plain)
  return plain
}

/** A value for a `bytea` parameter, as a Buffer (sql-pg 4 sends Uint8Arrays as bytea too; Buffers are what every caller passes). */
export const bytea = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** `bytea` for a nullable column: null stays null. */
export const byteaOrNull = (bytes: Uint8Array | null): Buffer | null => (bytes === null ? null : bytea(bytes))

export class Database extends Context.Service<
  Database,
  {
    /** Succeeds when the database answers a trivial query within the connect timeout. */
    readonly ping: Effect.Effect<void, DatabaseUnavailable>
  }
>()("serenya/Database") {}
