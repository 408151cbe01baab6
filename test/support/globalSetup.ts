/**
 * One PostgreSQL server for the whole test run: the embedded one (a throw-away cluster under
 * the OS temp dir) or, when DATABASE_URL is set, that server. A template database is migrated
 * once; each test file then clones it (see ./database.ts), so files run in parallel and never
 * see each other's rows.
 *
 * The template is migrated as the owner; the application's role (a cluster-wide role, so once
 * here) then gets its login with a password made for this run. Databases cloned from the template
 * carry the role's grants with their tables.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"
import { startEmbeddedPostgres } from "../../src/layers/database/embedded.js"
import { runMigrations } from "../../src/layers/database/migrations.js"
import { APP_ROLE, provisionAppRole } from "../../src/layers/database/roles.js"
import { randomBytes } from "node:crypto"

export const TEMPLATE_DATABASE = "serenya_template"

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the test server (database `postgres`): the schema's owner. */
    readonly adminDatabaseUrl: string
    /** The application role's URL of the test server (database `postgres`). */
    readonly appDatabaseUrl: string
  }
}

const withDatabase = (url: string, database: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-test-pg-"))
  const adminUrl = process.env.DATABASE_URL
    ? withDatabase(process.env.DATABASE_URL, "postgres")
    : Redacted.value(
      (
        await Effect.runPromise(
          Scope.provide(startEmbeddedPostgres({ dataDir: tmp, ephemeral: true, maxConnections: 300 }), scope)
        )
      ).url
    )

  const admin = PgClient.layer({ url: Redacted.make(adminUrl) })
  await Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* PgClient.PgClient
      yield* sql`DROP DATABASE IF EXISTS ${sql(TEMPLATE_DATABASE)} WITH (FORCE)`
      yield* sql`CREATE DATABASE ${sql(TEMPLATE_DATABASE)}`
    }).pipe(Effect.provide(admin), Effect.scoped)
  )
  const appPassword = randomBytes(24).toString("base64url")
  await Effect.runPromise(
    Effect.andThen(runMigrations, provisionAppRole(Redacted.make(appPassword))).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(withDatabase(adminUrl, TEMPLATE_DATABASE)) })),
      Effect.scoped
    )
  )
  const appUrl = new URL(adminUrl)
  appUrl.username = APP_ROLE
  appUrl.password = appPassword
  project.provide("adminDatabaseUrl", adminUrl)
  project.provide("appDatabaseUrl", appUrl.toString())

  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await fs.rm(tmp, { recursive: true, force: true })
  }
}

