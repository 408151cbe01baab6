/** Does PgClient.layer 4.1.5 fail at start-up when the server is unreachable / the password is wrong? And the first query? */
import { Cause, Effect, Exit, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { PgClient } from "@effect/sql-pg"

const cases = [
  ["unreachable, defaults", { url: Redacted.make("postgres://postgres:secret@127.0.0.1:1/postgres"), connectTimeout: "1 second" }],
  ["unreachable, minConnections: 1", { url: Redacted.make("postgres://postgres:secret@127.0.0.1:1/postgres"), connectTimeout: "1 second", minConnections: 1 }],
  ["wrong password, minConnections: 1", { url: Redacted.make("postgres://postgres:wrong@127.0.0.1:55432/postgres"), minConnections: 1 }],
  ["unreachable, acquireTimeout 1s", { url: Redacted.make("postgres://postgres:secret@10.255.255.1:5432/postgres"), connectTimeout: "5 seconds", acquireTimeout: "1 second" }]
] as const
for (const [label, options] of cases) {
  const t0 = Date.now()
  const built = await Effect.runPromiseExit(Effect.provide(Effect.void, PgClient.layer(options)))
  const t1 = Date.now()
  const query = await Effect.runPromiseExit(Effect.provide(Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) => sql`SELECT 1`), PgClient.layer(options)))
  const fmt = (exit: Exit.Exit<unknown, unknown>) => {
    if (Exit.isSuccess(exit)) return "ok"
    const e: any = Cause.squash(exit.cause)
    return `${e?._tag}/${e?.reason?._tag} ${e?.reason?.cause?.code ?? ""} "${String(e?.message).slice(0, 60)}"`
  }
  console.log(label.padEnd(36), `| layer: ${fmt(built)} (${t1 - t0}ms) | first query: ${fmt(query)} (${Date.now() - t1}ms)`)
}
