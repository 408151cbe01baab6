/**
 * `npm run audit:verify`: walks the audit chain of DATABASE_URL (or the embedded database) and
 * prints one JSON line, `{"audit":{"ok":true,"rows":N}}` or
 * `{"audit":{"ok":false,"rows":N,"firstBrokenSeq":S,"reason":"…"}}`. Exit code 1 when the chain
 * is broken (or could not be read: then no verdict line, a fatal log line). It runs no
 * migrations: it only reads audit_log.
 */
import { Effect, Layer } from "effect"
import { AuditPostgres } from "../layers/audit/postgres.js"
import { SqlClientLive } from "../layers/database/postgres.js"
import { Audit } from "../services/audit.js"
import { runEntryPoint } from "./runtime.js"

runEntryPoint(
  "audit:verify",
  () =>
    Effect.gen(function* () {
      const audit = yield* Audit
      const verdict = yield* audit.verify
      // The verdict holds counts, a seq and a reason code only: it is the command's output.
      yield* Effect.sync(() => process.stdout.write(`${JSON.stringify({ audit: verdict })}\n`))
      if (!verdict.ok) yield* Effect.sync(() => (process.exitCode = 1))
    }),
  () => AuditPostgres.pipe(Layer.provide(SqlClientLive))
)
