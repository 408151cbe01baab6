/**
 * The live Db layer: a pooled PostgreSQL client for DATABASE_URL or, when it is absent, for
 * an embedded server started under DATA_DIR for the life of the layer. Pool closes before
 * the embedded server stops (layer finalizers run in reverse order). The pool connects as the
 * application's role; only migrations connect as the schema's owner (see roles.ts).
 */
import { PgClient, PgPool } from "@effect/sql-pg"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { Duration, Effect, Layer, Option, Redacted, String as Str } from "effect"
import { AppConfig, type DatabaseSettings } from "../../config.js"
import { Database } from "../../services/database.js"
import { DatabaseUnavailable } from "../../services/errors.js"
import { BreakerConfigs, makeCircuitBreaker } from "../../services/resilience.js"
import { isDatabaseOutage, makeBoundedClient, poolOptions, startupProbe } from "./bounded.js"
import { startEmbeddedPostgres } from "./embedded.js"

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

/** `Database` on top of whatever SqlClient is provided. */
export const databaseLayer = Layer.effect(
  Database,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const timeout = Duration.max(config.database.connectTimeout, Duration.seconds(1))
    return {
      ping: sql`SELECT 1`.pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () => Effect.fail(new DatabaseUnavailable({ message: "The database did not answer in time" }))
        }),
        Effect.catchTag("SqlError", () =>
          Effect.fail(new DatabaseUnavailable({ message: "The database is not reachable" }))
        ),
        Effect.asVoid,
        Effect.withSpan("Database.ping")
      )
    }
  })
)

/** Where the application connects, and where migrations connect. */
export interface DatabaseConnections {
  /** The application's role (DATABASE_URL, or APP_ROLE on the embedded server). */
  readonly app: Redacted.Redacted<string>
  /** The schema's owner; none where this process may not migrate (production without DATABASE_OWNER_URL). */
  readonly owner: Option.Option<Redacted.Redacted<string>>
}

/** The configured URLs, or those of an embedded server under DATA_DIR started for the scope. */
export const databaseConnections = Effect.gen(function* () {
  const config = yield* AppConfig
  if (Option.isSome(config.database.url)) {
    return { app: config.database.url.value, owner: config.database.ownerUrl } satisfies DatabaseConnections
  }
  const embedded = yield* startEmbeddedPostgres({ dataDir: config.dataDir, port: config.database.embeddedPort })
  return { app: embedded.appUrl, owner: Option.some(embedded.url) } satisfies DatabaseConnections
})

/**
 * The application's pool. With `migrate`, pending migrations run first, as the owner. On the
 * embedded server the application role's login is set at every start (the password lives under
 * DATA_DIR), so it exists before the pool opens.
 */
const applicationPool = (migrate: boolean, bounded: boolean) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* AppConfig
      const connections = yield* databaseConnections
      const embedded = Option.isNone(config.database.url)
      if (migrate || embedded) {
        // Loaded when needed: the deployed functions never migrate, and their bundles stay without it.
        const owner = yield* Effect.promise(() => import("./migrate.js"))
        yield* migrate ? owner.migrateDatabase(connections) : owner.provisionAppRoleFor(connections)
      }
      return pgClientLayer(connections.app, config.database, { bounded })
    })
  )

/**
 * The application's plain pool on DATABASE_URL, or as APP_ROLE on an embedded server under
 * DATA_DIR: for the one-off tools (audit:verify, set-plan), whose statements are not bounded.
 */
export const SqlClientLive = applicationPool(false, false)

/** The same, every statement bounded and behind the database breaker: what servers and workers run on. */
export const SqlClientBoundedLive = applicationPool(false, true)

/** The bounded pool, migrations first when configured, and Database: what servers and workers run on. */
export const DatabaseLive = Layer.unwrap(
  Effect.map(AppConfig, (config) =>
    databaseLayer.pipe(Layer.provideMerge(applicationPool(config.database.migrateOnStart, true)))
  )
)
