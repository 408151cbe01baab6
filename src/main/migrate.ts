/**
 * `npm run migrate`: applies pending migrations as the schema's owner (DATABASE_OWNER_URL; outside
 * production DATABASE_URL when unset; the embedded superuser without either), gives the
 * application's role its login with DATABASE_URL's password, and exits.
 */
import { Effect, Layer } from "effect"
import { migrateDatabase } from "../layers/database/migrate.js"
import { databaseConnections } from "../layers/database/postgres.js"
import { runEntryPoint } from "./runtime.js"

runEntryPoint(
  "migrate",
  () =>
    Effect.flatMap(databaseConnections, migrateDatabase).pipe(
      Effect.scoped,
      Effect.tap((applied) =>
        Effect.logInfo(applied.length === 0 ? "schema is up to date" : "migrations applied").pipe(
          Effect.annotateLogs({ migrations: applied.map(([id, name]) => `${id}_${name}`) })
        )
      )
    ),
  () => Layer.empty
)
