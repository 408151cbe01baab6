/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits. */
import { Effect } from "effect"
import { runMigrations } from "../layers/database/migrations.js"
import { SqlClientLive } from "../layers/database/postgres.js"
import { runEntryPoint } from "./runtime.js"

runEntryPoint(
  "migrate",
  () =>
    runMigrations.pipe(
      Effect.tap((applied) =>
        Effect.logInfo(applied.length === 0 ? "schema is up to date" : "migrations applied").pipe(
          Effect.annotateLogs({ migrations: applied.map(([id, name]) => `${id}_${name}`) })
        )
      )
    ),
  () => SqlClientLive
)
