/**
 * The live Db layer: a pooled PostgreSQL client for DATABASE_URL or, when it is absent, for
 * an embedded server started under DATA_DIR for the life of the layer. Pool closes before
 * the embedded server stops (layer finalizers run in reverse order).
 */
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Option, type Redacted, String as Str } from "effect"
import { AppConfig, type DatabaseSettings } from "../../config.js"
import { Database } from "../../services/database.js"
import { DatabaseUnavailable } from "../../services/errors.js"
import { startEmbeddedPostgres } from "./embedded.js"
import { runMigrations } from "./migrations.js"

/** A pool for one URL with the architecture's limits (20 connections, idle 30 s, connect 2 s). */
export const pgClientLayer = (url: Redacted.Redacted<string>, settings: DatabaseSettings) =>
  PgClient.layer({
    url,
    ssl: settings.ssl,
    maxConnections: settings.maxConnections,
    idleTimeout: settings.idleTimeout,
    connectTimeout: settings.connectTimeout,
    applicationName: "serenya",
    // Beside the client's own `db.system.name`, the older name most trace backends still key on.
    spanAttributes: { "db.system": "postgresql" },
    transformResultNames: Str.snakeToCamel,
    transformQueryNames: Str.camelToSnake
  })

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

/** A pool on DATABASE_URL, or on an embedded server under DATA_DIR started for the layer's life. */
export const SqlClientLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const url = Option.isSome(config.database.url)
      ? config.database.url.value
      : (yield* startEmbeddedPostgres({ dataDir: config.dataDir, port: config.database.embeddedPort })).url
    return pgClientLayer(url, config.database)
  })
)

/** The pool, (optionally) migrations, and Database: what servers and workers run on. */
export const DatabaseLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.mergeAll(databaseLayer, config.database.migrateOnStart ? Layer.effectDiscard(runMigrations) : Layer.empty)
  )
).pipe(Layer.provideMerge(SqlClientLive))
