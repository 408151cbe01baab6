/**
 * A fresh database per test file (or per `layer(...)` block): cloned from the migrated
 * template, or created empty for migration tests, and dropped when the layer is released.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { inject } from "vitest"
import { AppConfig } from "../../src/config.js"
import { databaseLayer, pgClientLayer } from "../../src/layers/database/postgres.js"
import { TEMPLATE_DATABASE } from "./globalSetup.js"
import { testSettings } from "./settings.js"


const urlFor = (database: string): string => {
  const url = new URL(inject("adminDatabaseUrl"))
  url.pathname = `/${database}`
  return url.toString()
}

const adminClient = PgClient.layer({ url: Redacted.make(urlFor("postgres")), maxConnections: 1 })

const admin = <A, E>(f: (sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(PgClient.PgClient, f).pipe(Effect.provide(adminClient), Effect.scoped)

/** Creates a uniquely named database for the life of the scope. */
export const scopedDatabase = (options: { readonly migrated: boolean }) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const name = `test_${randomBytes(6).toString("hex")}`
      yield* admin((sql) =>
        options.migrated
          ? sql`CREATE DATABASE ${sql(name)} TEMPLATE ${sql(TEMPLATE_DATABASE)}`
          : sql`CREATE DATABASE ${sql(name)}`
      )
      return { name, url: Redacted.make(urlFor(name)) }
    }),
    ({ name }) => admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).pipe(Effect.orDie)
  ).pipe(Effect.orDie)

/** SqlClient + PgClient + Database + AppConfig on a fresh database of its own. */
export const TestDatabaseLive = (options: { readonly migrated: boolean } = { migrated: true }) =>
  Layer.unwrapScoped(
    Effect.map(scopedDatabase(options), ({ url }) => {
      const settings = testSettings()
      return databaseLayer.pipe(
        Layer.provideMerge(pgClientLayer(url, settings.database)),
        Layer.provideMerge(Layer.succeed(AppConfig, settings))
      )
    })
  ).pipe(Layer.orDie)
