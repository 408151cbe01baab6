/** PostgreSQL: which server (or the embedded one), as whom, and the pool's limits and time bounds. */
import { Config, Context, Duration, Layer, Option, type Redacted } from "effect"
import { appEnvConfig, collect, millis, portOrZero, positiveInt, postgresUrl, unless, validated } from "./shared.js"

export interface DatabaseSettings {
  /** The application's role (APP_ROLE). Absent: start the embedded PostgreSQL under DATA_DIR. */
  readonly url: Option.Option<Redacted.Redacted<string>>
  /**
   * DATABASE_OWNER_URL: the schema owner's, which migrations connect as. Unset: DATABASE_URL
   * outside production (one role does both), the embedded superuser without DATABASE_URL, and
   * nothing in production (where only the migrate step may hold it).
   */
  readonly ownerUrl: Option.Option<Redacted.Redacted<string>>
  readonly ssl: boolean
  readonly maxConnections: number
  readonly idleTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  /**
   * Every statement of the app's sessions: PostgreSQL cancels it after this (`statement_timeout`),
   * and the app gives up on it (a stalled server, a dead socket) a second later.
   */
  readonly statementTimeout: Duration.Duration
  /** A statement waiting this long for a lock fails (`lock_timeout`) instead of queueing. */
  readonly lockTimeout: Duration.Duration
  /** How long the database circuit breaker, once open, fails statements at once before trying again. */
  readonly breakerOpen: Duration.Duration
  readonly migrateOnStart: boolean
  /** Port for the embedded server; 0 picks a free one. */
  readonly embeddedPort: number
}

/** The variables, read and defaulted (APP_ENV decides two defaults); the rule across them is databaseProblems. */
export const databaseValues: Config.Config<DatabaseSettings> = collect({
  appEnv: appEnvConfig,
  url: postgresUrl("DATABASE_URL"),
  ownerUrl: postgresUrl("DATABASE_OWNER_URL"),
  ssl: Config.Boolean("DATABASE_SSL").pipe(Config.withDefault(false)),
  maxConnections: positiveInt("DB_POOL_MAX", 20),
  idleTimeout: millis("DB_POOL_IDLE_TIMEOUT_MS", 30_000),
  connectTimeout: millis("DB_CONNECT_TIMEOUT_MS", 2_000),
  // The architecture's database timeout (services/resilience.ts Timeouts.database) and breaker timeout.
  statementTimeout: millis("DB_STATEMENT_TIMEOUT_MS", 5_000),
  lockTimeout: millis("DB_LOCK_TIMEOUT_MS", 2_000),
  breakerOpen: millis("DB_BREAKER_OPEN_MS", 15_000),
  migrateOnStart: Config.Boolean("MIGRATE_ON_START").pipe(Config.option),
  embeddedPort: portOrZero("EMBEDDED_PG_PORT", 0, "picks a free one")
}).pipe(
  Config.map(({ appEnv, ...database }) => ({
    ...database,
    ownerUrl: Option.orElse(database.ownerUrl, () => (appEnv === "production" ? Option.none() : database.url)),
    // Deployments run `npm run migrate` as a separate step; everywhere else start-up migrates.
    migrateOnStart: Option.getOrElse(database.migrateOnStart, () => appEnv !== "production")
  }))
)

/** The database slice's own rule (the production rules about its URLs are src/config.ts's). */
export const databaseProblems = (database: DatabaseSettings): ReadonlyArray<Config.ConfigError> =>
  unless(
    Duration.isLessThan(database.lockTimeout, database.statementTimeout),
    "DB_LOCK_TIMEOUT_MS",
    "must be below DB_STATEMENT_TIMEOUT_MS (a lock wait is part of its statement)"
  )

export const databaseConfig: Config.Config<DatabaseSettings> = validated(databaseValues, databaseProblems)

export class DatabaseConfig extends Context.Service<DatabaseConfig, DatabaseSettings>()("serenya/config/Database") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(DatabaseConfig, databaseConfig)
}
