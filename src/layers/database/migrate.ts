/**
 * What only the schema's owner does: apply migrations, and give the application's role its login.
 * Kept out of postgres.ts so that processes that never migrate (the deployed API functions) do
 * not load the migrations at all; postgres.ts imports this module on demand.
 */
import { Effect, Option, Redacted } from "effect"
import { DatabaseConfig } from "../../config/database.js"
import { runMigrations } from "./migrations.js"
import { type DatabaseConnections, pgClientLayer } from "./client.js"
import { APP_ROLE, AppRoleError, credentialsOf, provisionAppRole } from "./roles.js"

/** `effect` on a one-connection pool of the owner. */
const asOwner = <A, E, R>(connections: DatabaseConnections, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const database = yield* DatabaseConfig
    if (Option.isNone(connections.owner)) {
      return yield* new AppRoleError({ message: "DATABASE_OWNER_URL is required to migrate when APP_ENV=production" })
    }
    return yield* effect.pipe(
      Effect.provide(pgClientLayer(connections.owner.value, { ...database, maxConnections: 1 })),
      Effect.scoped
    )
  })

/**
 * Gives APP_ROLE its login when the application's URL names it (the usual case); an application
 * connecting as another role (one DATABASE_URL for everything, outside production) has nothing to set.
 */
const provisionFor = (connections: DatabaseConnections) => {
  const app = credentialsOf(connections.app)
  return app.user === APP_ROLE ? provisionAppRole(Redacted.make(app.password)) : Effect.void
}

/** Pending migrations as the owner, then the application role's login: `npm run migrate` and the deployments' migrate step. */
export const migrateDatabase = (connections: DatabaseConnections) =>
  asOwner(connections, Effect.tap(runMigrations, () => provisionFor(connections)))

/** The application role's login alone (the embedded server, at every start). */
export const provisionAppRoleFor = (connections: DatabaseConnections) => asOwner(connections, provisionFor(connections))
