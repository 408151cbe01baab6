/**
 * The Db capability. Programs write SQL through `SqlClient` (tagged templates, decoded with
 * SqlSchema); `Database` adds what operations need on top: a cheap liveness probe for /ready.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Context, Effect } from "effect"
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
          Effect.zipRight(Effect.fail(new DatabaseUnavailable({ message })))
        )
    ) as Effect.Effect<A, Exclude<E, SqlError> | DatabaseUnavailable, R>

/** A value for a `bytea` parameter: node-postgres sends only Buffers as bytes (a bare Uint8Array goes as JSON). */
export const bytea = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

export class Database extends Context.Tag("Database")<
  Database,
  {
    /** Succeeds when the database answers a trivial query within the connect timeout. */
    readonly ping: Effect.Effect<void, DatabaseUnavailable>
  }
>() {}
