/**
 * `npm run audit:verify`: checks the audit trail of DATABASE_URL (or the embedded database) with
 * the audit key (KMS_AUDIT_KEY_ID, or the local key file) against the last checkpoint outside the
 * database (AUDIT_CHECKPOINT_BUCKET, or the local checkpoint files), and prints one JSON line,
 * `{"audit":{"ok":true,"rows":N}}` or `{"audit":{"ok":false,"rows":N,"firstBrokenSeq":S,"reason":"…"}}`
 * (reasons: services/audit.ts AuditBreak). Exit code 1 when something does not hold (or the trail
 * could not be read: then no verdict line, a fatal log line). It runs no migrations and does not
 * seal: it only reads.
 */
import { Duration, Effect, Layer } from "effect"
import { AuditConfig } from "../config/audit.js"
import { auditLayer } from "./layers.js"
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
  // Its own audit slice, sealing off: the trail AuditPostgres builds from it never seals in the background.
  (settings) =>
    auditLayer(settings).pipe(
      Layer.provide(Layer.succeed(AuditConfig, { ...settings.audit, sealInterval: Duration.zero })),
      Layer.provide(SqlClientLive)
    )
)
