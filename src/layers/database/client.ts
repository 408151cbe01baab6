/**
 * The PostgreSQL client layer over a URL (bounded or plain), and where the application and the
 * migrations connect: what both the live Db layer (./postgres.ts) and the migrations (./migrate.ts,
 * loaded by postgres.ts only when it migrates) build on, in a module of its own so that neither
 * imports the other.
 */
import { PgClient, PgPool } from "@effect/sql-pg"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { Effect, type Layer, type Option, Redacted, String as Str } from "effect"
import type { DatabaseSettings } from "../../config/database.js"
import { BreakerConfigs } from "../../services/resilience.js"
import { makeCircuitBreaker } from "../resilience/circuitBreaker.js"
import { isDatabaseOutage, makeBoundedClient, poolOptions, startupProbe } from "./bounded.js"

const clientOptions = {
  applicationName: "serenya",
  // Beside the client's own `db.system.name`, the older name most trace backends still key on.
  spanAttributes: { "db.system": "postgresql" },
  transformResultNames: Str.snakeToCamel,
  transformQueryNames: Str.camelToSnake
}

/** What the client's spans say about the server (as PgClient.make reports them). */
const serverAttributes = (url: Redacted.Redacted<string>): ReadonlyArray<readonly [string, unknown]> => {
  const parsed = new URL(Redacted.value(url))
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""))
  return [
    ["db.system.name", "postgresql"],
    ["db.namespace", database === "" ? decodeURIComponent(parsed.username) || "postgres" : database],
    ["server.address", parsed.hostname === "" ? "localhost" : parsed.hostname],
    ["server.port", parsed.port === "" ? 5432 : Number(parsed.port)]
  ]
}

/**
 * A pool for one URL with the architecture's limits (20 connections, idle 30 s, connect 2 s) and
 * its database circuit breaker, every statement bounded (./bounded.ts): what servers and workers
 * run on. `bounded: false` is the plain client, for one-off tools whose statements may
 * legitimately run long (migrations, audit verification). Either fails to build when the server
 * cannot be reached within the connect timeout (./bounded.ts startupProbe).
 */
export const pgClientLayer = (
  url: Redacted.Redacted<string>,
  settings: DatabaseSettings,
  options: { readonly bounded?: boolean } = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  options.bounded === false
    ? PgClient.layerFrom(
      Effect.tap(
        PgClient.make({
          ...poolOptions(url, settings, clientOptions.applicationName, { sessionBounds: false }),
          ...clientOptions
        }),
        (client) => startupProbe(client`SELECT 1`, settings.connectTimeout)
      )
    )
    : PgClient.layerFrom(
      Effect.gen(function* () {
        const config = poolOptions(url, settings, clientOptions.applicationName)
        const pool = yield* PgPool.make(config)
        yield* startupProbe(Effect.scoped(Effect.flatMap(pool.get, (session) => session.query("SELECT 1"))), settings.connectTimeout)
        const breaker = yield* makeCircuitBreaker({
          ...BreakerConfigs.database,
          timeout: settings.breakerOpen,
          isFailure: isDatabaseOutage
        })
        return yield* makeBoundedClient(pool, {
          statementTimeout: settings.statementTimeout,
          breaker,
          spanAttributes: [...Object.entries(clientOptions.spanAttributes), ...serverAttributes(url)],
          transformQueryNames: clientOptions.transformQueryNames,
          transformResultNames: clientOptions.transformResultNames,
          config: { ...config, ...clientOptions }
        })
      })
    )

/** Where the application connects, and where migrations connect. */
export interface DatabaseConnections {
  /** The application's role (DATABASE_URL, or APP_ROLE on the embedded server). */
  readonly app: Redacted.Redacted<string>
  /** The schema's owner; none where this process may not migrate (production without DATABASE_OWNER_URL). */
  readonly owner: Option.Option<Redacted.Redacted<string>>
}
