/**
 * bounded.ts on 4.1.5: what happens to a statement bound when the backend does not answer at all (SIGSTOPped
 * backend = "paused server"): plain Effect.timeout vs a detached statement (the v4 replacement of Effect.disconnect),
 * and a SqlClient.make wrapper around PgClient's connections (the shape makeBoundedClient needs).
 */
import { Duration, Effect, Exit, Fiber, Layer, Redacted, Stream, String as Str } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, SqlError, Statement } from "effect/sql"
import type { Connection } from "effect/sql/SqlConnection"
import { PgClient } from "@effect/sql-pg"

const PgLive = PgClient.layer({ url: Redacted.make("postgres://postgres:secret@127.0.0.1:55432/postgres"), maxConnections: 1, transformResultNames: Str.snakeToCamel, transformQueryNames: Str.camelToSnake })

/** v3 `run.pipe(Effect.either, Effect.disconnect, Effect.timeoutFail(...), Effect.flatMap(r => r))` */
const detachedTimeout = <A>(run: Effect.Effect<A, SqlError.SqlError>, bound: Duration.Input) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkDetach(Effect.interruptible(run))
    return yield* Fiber.join(fiber).pipe(
      Effect.timeoutOrElse({
        duration: bound,
        orElse: () => Effect.andThen(
          Effect.forkDetach(Fiber.interrupt(fiber)), // interrupt (cancel + drain) in the background
          Effect.fail(new SqlError.SqlError({ reason: new SqlError.ConnectionError({ cause: new Error("abandoned"), message: "The database did not answer in time" }) }))
        )
      })
    )
  })

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [{ pid }] = (yield* sql`SELECT pg_backend_pid() AS pid`) as unknown as [{ pid: number }]
  const time = <A, E>(label: string, eff: Effect.Effect<A, E>) => Effect.gen(function*() {
    const t0 = Date.now()
    const exit = yield* Effect.exit(eff)
    const e: any = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
    console.log(label.padEnd(58), `${Date.now() - t0}ms`.padStart(7), Exit.isSuccess(exit) ? "ok" : `${e?._tag}(${e?.error?._tag ?? ""}${e?.error?.reason?._tag ? "/" + e.error.reason._tag : ""}${e?.error?.message ? ": " + e.error.message : ""})`)
  })
  process.kill(pid, "SIGSTOP")
  yield* time("paused backend: Effect.timeout(300ms)", sql`SELECT 1`.pipe(Effect.timeout("300 millis")))
  process.kill(pid, "SIGCONT")
  yield* time("after SIGCONT: next statement", sql`SELECT 1`)
  const [{ pid: pid2 }] = (yield* sql`SELECT pg_backend_pid() AS pid`) as unknown as [{ pid: number }]
  process.kill(pid2, "SIGSTOP")
  yield* time("paused backend: detached + timeoutOrElse(300ms)", detachedTimeout(sql`SELECT 1`, "300 millis"))
  yield* time("  pool of 1 while the abandoned one drains: next stmt", sql`SELECT 1`.pipe(Effect.timeout("1 second")))
  process.kill(pid2, "SIGCONT")
  yield* Effect.sleep("6 seconds")
  yield* time("after SIGCONT + 6s: next statement", sql`SELECT 1`)

  // The wrapper shape: SqlClient.make over the PgClient's own connections (what makeBoundedClient does).
  const pg = yield* PgClient.PgClient
  const reserve = Effect.uninterruptible(pg.reserve)
  const perStatement: Connection = {
    execute: (s, p, t) => detachedTimeout(Effect.scoped(Effect.flatMap(reserve, (c) => c.execute(s, p, t))), "2 seconds"),
    executeRaw: (s, p) => detachedTimeout(Effect.scoped(Effect.flatMap(reserve, (c) => c.executeRaw(s, p))), "2 seconds"),
    executeValues: (s, p) => detachedTimeout(Effect.scoped(Effect.flatMap(reserve, (c) => c.executeValues(s, p))), "2 seconds"),
    executeValuesUnprepared: (s, p) => detachedTimeout(Effect.scoped(Effect.flatMap(reserve, (c) => c.executeValuesUnprepared(s, p))), "2 seconds"),
    executeUnprepared: (s, p, t) => detachedTimeout(Effect.scoped(Effect.flatMap(reserve, (c) => c.executeUnprepared(s, p, t))), "2 seconds"),
    executeStream: (s, p, t) => Stream.unwrap(Effect.map(reserve, (c) => c.executeStream(s, p, t)))
  }
  const bounded = yield* SqlClient.make({
    acquirer: Effect.succeed(perStatement),
    transactionAcquirer: reserve,
    compiler: PgClient.makeCompiler(Str.camelToSnake),
    driver: "pg",
    spanAttributes: [["db.system.name", "postgresql"]],
    transformRows: Statement.defaultTransforms(Str.snakeToCamel).array
  })
  console.log("SqlClient.make wrapper: select".padEnd(58), JSON.stringify(yield* bounded`SELECT 1 AS some_value`))
  console.log("SqlClient.make wrapper: withTransaction".padEnd(58), JSON.stringify(yield* bounded.withTransaction(bounded`SELECT 2 AS other_value`)))
})
await Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(Layer.merge(PgLive, Reactivity.layer))))
