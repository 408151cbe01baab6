/**
 * The live Db layer: a pooled PostgreSQL client for DATABASE_URL or, when it is absent, for
 * an embedded server started under DATA_DIR for the life of the layer. Pool closes before
 * the embedded server stops (layer finalizers run in reverse order). The pool connects as the
 * application's role; only migrations connect as the schema's owner (see roles.ts).
 */
import { SqlClient } from "effect/sql"
import { Duration, Effect, Layer, Option } from "effect"
import { AppInfoConfig } from "../../config/app.js"
import { DatabaseConfig } from "../../config/database.js"
import { Database } from "../../services/database.js"
import { DatabaseUnavailable } from "../../services/errors.js"
import { type DatabaseConnections, pgClientLayer } from "./client.js"
import { startEmbeddedPostgres } from "./embedded.js"

export { type DatabaseConnections, pgClientLayer } from "./client.js"

/** `Database` on top of whatever SqlClient is provided. */
export const databaseLayer = Layer.effect(
  Database,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const database = yield* DatabaseConfig
    const timeout = Duration.max(database.connectTimeout, Duration.seconds(1))
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

/** The configured URLs, or those of an embedded server under DATA_DIR started for the scope. */
export const databaseConnections = Effect.gen(function* () {
  const database = yield* DatabaseConfig
  if (Option.isSome(database.url)) {
    return { app: database.url.value, owner: database.ownerUrl } satisfies DatabaseConnections
  }
  const { dataDir } = yield* AppInfoConfig
  const embedded = yield* startEmbeddedPostgres({ dataDir, port: database.embeddedPort })
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
      const database = yield* DatabaseConfig
      const connections = yield* databaseConnections
      const embedded = Option.isNone(database.url)
      if (migrate || embedded) {
        // Loaded when needed: the deployed functions never migrate, and their bundles stay without it.
        const owner = yield* Effect.promise(() => import("./migrate.js"))
        yield* migrate ? owner.migrateDatabase(connections) : owner.provisionAppRoleFor(connections)
      }
      return pgClientLayer(connections.app, database, { bounded })
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
  Effect.map(DatabaseConfig, (database) => databaseLayer.pipe(Layer.provideMerge(applicationPool(database.migrateOnStart, true))))
)
