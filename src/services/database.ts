/**
 * The Db capability. Programs write SQL through `SqlClient` (tagged templates, rows decoded with
 * `decodeRows`); `Database` adds what operations need on top: a cheap liveness probe for /ready.
 */
import { SqlError } from "effect/sql/SqlError"
import { Context, Effect, type ParseResult, Schema } from "effect"
import { DatabaseUnavailable } from "./errors.js"

export { SqlClient } from "@effect/sql"

/**
 * The one mapping of a failed statement: a DatabaseUnavailable (503, retry) carrying `message`,
 * after a warning naming `operation` with the driver's cause (which never reaches a response).
 */
export const orDatabaseUnavailable =
  (message: string, operation = "query") =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError> | DatabaseUnavailable, R> =>
    Effect.catchIf(
      self,
      (error): error is Extract<E, SqlError> => error instanceof SqlError,
      (error) =>
        Effect.logWarning("database failure", error.cause).pipe(
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
): ((rows: unknown) => Effect.Effect<ReadonlyArray<A>, ParseResult.ParseError, R>) => {
  const known = rowDecoders.get(row) as ((rows: unknown) => Effect.Effect<ReadonlyArray<A>, ParseResult.ParseError, R>) | undefined
  if (known !== undefined) return known
  const decode = Schema.decodeUnknownEffect(Schema.Array(row))
  rowDecoders.set(row, decode)
  return decode
}

/** A value for a `bytea` parameter: node-postgres sends only Buffers as bytes (a bare Uint8Array goes as JSON). */
export const bytea = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

export class Database extends Context.Service<
  Database,
  {
    /** Succeeds when the database answers a trivial query within the connect timeout. */
    readonly ping: Effect.Effect<void, DatabaseUnavailable>
  }
>()("Database") {}
