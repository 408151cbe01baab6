/**
 * A fresh database per test file (or per `layer(...)` block): cloned from the migrated
 * template, or created empty for migration tests, and dropped when the layer is released.
 *
 * The application's pool connects as APP_ROLE, as the server does, so a query the role has no
 * grant for fails the test that runs it. What only the schema's owner may do (tampering with the
 * audit trail, DDL, seeding past the application's rights) goes through `OwnerSql` explicitly.
 */
import { SqlClient } from "effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { inject } from "vitest"
import { configLayer } from "../../src/config.js"
import { databaseLayer, pgClientLayer } from "../../src/layers/database/postgres.js"
import { TEMPLATE_DATABASE } from "./globalSetup.js"
import { testSettings } from "./settings.js"

const withDatabase = (base: string, database: string): string => {
  const url = new URL(base)
  url.pathname = `/${database}`
  return url.toString()
}

/** The owner's (superuser's) URL of `database` on the test server. */
export const ownerUrlFor = (database: string) => withDatabase(inject("adminDatabaseUrl"), database)
/** The application role's URL of `database` on the test server. */
export const appUrlFor = (database: string) => withDatabase(inject("appDatabaseUrl"), database)

const adminClient = PgClient.layer({ url: Redacted.make(ownerUrlFor("postgres")), maxConnections: 1 })

const admin = <A, E>(f: (sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(PgClient.PgClient, f).pipe(Effect.provide(adminClient), Effect.scoped)

export interface ScopedDatabase {
  readonly name: string
  /** As APP_ROLE: what the application connects with. */
  readonly url: Redacted.Redacted<string>
  /** As the owner: migrations, tampering, seeding. */
  readonly ownerUrl: Redacted.Redacted<string>
}

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
      return {
        name,
        url: Redacted.make(appUrlFor(name)),
        ownerUrl: Redacted.make(ownerUrlFor(name))
      } satisfies ScopedDatabase
    }),
    ({ name }) => admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).pipe(Effect.orDie)
  ).pipe(Effect.orDie)

/** The schema owner's client on the test's own database (a superuser, like the embedded server's). */
export class OwnerSql extends Context.Service<OwnerSql, SqlClient.SqlClient>()("test/OwnerSql") {}

/** The test's database itself (its name and both URLs). */
export class TestDatabase extends Context.Service<TestDatabase, ScopedDatabase>()("test/TestDatabase") {}

/**
 * SqlClient + PgClient + Database + the settings (every slice and the use cases' limits, configLayer) on a fresh database of its own, plus OwnerSql and
 * TestDatabase. The pool connects as APP_ROLE; `as: "owner"` makes it the owner's instead, for the
 * tests that migrate an empty database (the role has no rights on tables that do not exist yet).
 */
export const TestDatabaseLive = (
  options: { readonly migrated?: boolean; readonly as?: "app" | "owner" } = {}
) =>
  Layer.unwrap(
    Effect.map(scopedDatabase({ migrated: options.migrated ?? true }), (database) => {
      const settings = testSettings()
      const poolUrl = options.as === "owner" ? database.ownerUrl : database.url
      const owner = Layer.effect(OwnerSql, SqlClient.SqlClient).pipe(
        Layer.provide(pgClientLayer(database.ownerUrl, { ...settings.database, maxConnections: 2 }))
      )
      return databaseLayer.pipe(
        Layer.provideMerge(pgClientLayer(poolUrl, settings.database)),
        Layer.provideMerge(configLayer(settings)),
        Layer.merge(owner),
        Layer.merge(Layer.succeed(TestDatabase, database))
      )
    })
  ).pipe(Layer.orDie)
