/**
 * The live Db layer: a pooled PostgreSQL client for DATABASE_URL or, when it is absent, for
 * an embedded server started under DATA_DIR for the life of the layer. Pool closes before
 * the embedded server stops (layer finalizers run in reverse order).
 */
import { PgClient } from "@effect/sql-pg"
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Duration, Effect, Layer, Option, type Redacted, String as Str } from "effect"
import { AppConfig, type DatabaseSettings } from "../../config.js"
import { Database } from "../../services/database.js"
import { DatabaseUnavailable } from "../../services/errors.js"
import { BreakerConfigs, makeCircuitBreaker } from "../../services/resilience.js"
import { isDatabaseOutage, makeBoundedClient, makeBoundedPool } from "./bounded.js"
import { startEmbeddedPostgres } from "./embedded.js"
import { runMigrations } from "./migrations.js"

const clientOptions = {
  applicationName: "serenya",
  // Beside the client's own `db.system.name`, the older name most trace backends still key on.
  spanAttributes: { "db.system": "postgresql" },
  transformResultNames: Str.snakeToCamel,
  transformQueryNames: Str.camelToSnake
}

/**
 * A pool for one URL with the architecture's limits (20 connections, idle 30 s, connect 2 s) and
 * its database circuit breaker, every statement bounded (./bounded.ts): what servers and workers
 * run on. `bounded: false` is the plain client, for one-off tools whose statements may
 * legitimately run long (migrations, audit verification).
 */
export const pgClientLayer = (
  url: Redacted.Redacted<string>,
  settings: DatabaseSettings,
  options: { readonly bounded?: boolean } = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  options.bounded === false
    ? PgClient.layer({
      url,
      ssl: settings.ssl,
      maxConnections: settings.maxConnections,
      idleTimeout: settings.idleTimeout,
      connectTimeout: settings.connectTimeout,
      ...clientOptions
    })
    : Layer.scopedContext(
      Effect.gen(function* () {
        const inner = yield* PgClient.fromPool({
          acquire: makeBoundedPool(url, settings, clientOptions.applicationName),
          ...clientOptions
        })
        const breaker = yield* makeCircuitBreaker({
          ...BreakerConfigs.database,
          timeout: settings.breakerOpen,
          isFailure: isDatabaseOutage
        })
        const client = yield* makeBoundedClient(inner, {
          statementTimeout: settings.statementTimeout,
          breaker,
          spanAttributes: [
            ...Object.entries(clientOptions.spanAttributes),
            ["db.system.name", "postgresql"],
            ["db.namespace", inner.config.database ?? inner.config.username ?? "postgres"],
            ["server.address", inner.config.host ?? "localhost"],
            ["server.port", inner.config.port ?? 5432]
          ],
          transformQueryNames: clientOptions.transformQueryNames,
          transformResultNames: clientOptions.transformResultNames
        })
        return Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient.SqlClient, client))
      })
    ).pipe(Layer.provide(Reactivity.layer))

/** `Database` on top of whatever SqlClient is provided. */
export const databaseLayer = Layer.effect(
  Database,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const timeout = Duration.max(config.database.connectTimeout, Duration.seconds(1))
    return {
      ping: sql`SELECT 1`.pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new DatabaseUnavailable({ message: "The database did not answer in time" })
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

const sqlClientOn = (bounded: boolean) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const config = yield* AppConfig
      const url = Option.isSome(config.database.url)
        ? config.database.url.value
        : (yield* startEmbeddedPostgres({ dataDir: config.dataDir, port: config.database.embeddedPort })).url
      return pgClientLayer(url, config.database, { bounded })
    })
  )

/**
 * A plain pool on DATABASE_URL, or on an embedded server under DATA_DIR started for the layer's
 * life: for the one-off tools (migrate, audit:verify, set-plan), whose statements are not bounded.
 */
export const SqlClientLive = sqlClientOn(false)

/** The same, every statement bounded and behind the database breaker: what servers and workers run on. */
export const SqlClientBoundedLive = sqlClientOn(true)

/** The bounded pool, (optionally) migrations, and Database: what servers and workers run on. */
export const DatabaseLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.mergeAll(databaseLayer, config.database.migrateOnStart ? Layer.effectDiscard(runMigrations) : Layer.empty)
  )
).pipe(Layer.provideMerge(SqlClientBoundedLive))
