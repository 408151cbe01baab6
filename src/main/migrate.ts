/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits. */
import { Effect, Layer, Option } from "effect"
import { pgClientLayer } from "../layers/database/postgres.js"
import { startEmbeddedPostgres } from "../layers/database/embedded.js"
import { runMigrations } from "../layers/database/migrations.js"
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
  (settings) =>
    Layer.unwrapScoped(
      Effect.gen(function* () {
        const url = Option.isSome(settings.database.url)
          ? settings.database.url.value
          : (yield* startEmbeddedPostgres({ dataDir: settings.dataDir, port: settings.database.embeddedPort })).url
        return pgClientLayer(url, settings.database)
      })
    )
)
