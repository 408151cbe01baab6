/**
 * The Db capability. Programs write SQL through `SqlClient` (tagged templates, decoded with
 * SqlSchema); `Database` adds what operations need on top: a cheap liveness probe for /ready.
 */
import { Context, type Effect } from "effect"
import type { DatabaseUnavailable } from "./errors.js"

export { SqlClient } from "@effect/sql"

/** A value for a `bytea` parameter: node-postgres sends only Buffers as bytes (a bare Uint8Array goes as JSON). */
export const bytea = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

export class Database extends Context.Tag("Database")<
  Database,
  {
    /** Succeeds when the database answers a trivial query within the connect timeout. */
    readonly ping: Effect.Effect<void, DatabaseUnavailable>
  }
>() {}
