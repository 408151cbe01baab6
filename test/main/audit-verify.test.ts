/**
 * `npm run audit:verify` as an operator runs it: `node --import tsx src/main/audit-verify.ts` in a
 * child process against DATABASE_URL. One JSON line with the verdict; exit 0 when the chain holds,
 * 1 naming the first broken seq when it does not.
 */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { inject } from "vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import { afterAll } from "vitest"
import { AppInfoConfig } from "../../src/config/app.js"
import { auditPostgresLayer } from "../../src/layers/audit/postgres.js"
import { AuditCheckpointsFile } from "../../src/layers/auditCheckpoints/file.js"
import { AuditMacLocal } from "../../src/layers/auditMac/local.js"
import { runMigrations } from "../../src/layers/database/migrations.js"
import { Audit, AuditVerdict } from "../../src/services/audit.js"
import { appUrlFor, TestDatabaseLive } from "../support/database.js"
import { testConfigProvider } from "../support/settings.js"
import { sampleEvent } from "../layers/audit/contract.js"
import { testAuditSettings } from "../support/audit.js"

// The key file and the checkpoints live here, for the test's writer and the CLI alike.
const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "serenya-audit-verify-"))
afterAll(() => fs.rmSync(DATA_DIR, { recursive: true, force: true }))

const KeyAndCheckpoints = Layer.merge(AuditMacLocal, AuditCheckpointsFile).pipe(
  // DATA_DIR, read alone: the key file and the checkpoints are found under it
  Layer.provide(AppInfoConfig.layer),
  Layer.provide(testConfigProvider({ DATA_DIR }))
)

const ROOT = path.resolve(import.meta.dirname, "../..")

const Output = Schema.fromJsonString(Schema.Struct({ audit: AuditVerdict }))

const runCli = (databaseUrl: string) =>
  Effect.promise(
    () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "src/main/audit-verify.ts"], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: databaseUrl, APP_ENV: "test", LOG_LEVEL: "info", DATA_DIR },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
        child.once("exit", (code) => resolve({ code, stdout, stderr }))
      })
  )

const verdictLine = (stdout: string) => {
  const lines = stdout.split("\n").filter((line) => line.startsWith('{"audit":'))
  expect(lines).toHaveLength(1)
  return Schema.decodeUnknownSync(Output)(lines[0])
}

// An empty database migrated here (by its owner), so the CLI is shown to need nothing but the
// migrated schema; the CLI itself connects as the application's role.
layer(
  auditPostgresLayer(testAuditSettings()).pipe(Layer.provide(KeyAndCheckpoints), Layer.provideMerge(TestDatabaseLive({ migrated: false, as: "owner" }))),
  { timeout: "60 seconds" }
)(
  "npm run audit:verify",
  (it) => {
    it.effect(
      "prints the verdict as one JSON line: exit 0 on an intact trail, exit 1 naming the seq after an edit, and truncated after the tail is deleted",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const audit = yield* Audit
          yield* runMigrations
          for (let i = 0; i < 25; i++) yield* audit.record(sampleEvent(i))
          expect(yield* audit.seal).toBe(25)
          const [database] = yield* sql<{ name: string }>`SELECT current_database() AS name`
          const url = new URL(appUrlFor(database!.name))

          const intact = yield* runCli(url.toString())
          expect(intact.code, intact.stderr).toBe(0)
          expect(verdictLine(intact.stdout)).toEqual({ audit: { ok: true, rows: 25 } })

          yield* sql.withTransaction(
            Effect.all([
              sql`SET LOCAL session_replication_role = replica`,
              sql`UPDATE audit_personal SET client_ip = '192.0.2.66' WHERE row_id = (SELECT id FROM audit_log WHERE seq = 17)`
            ])
          )
          const broken = yield* runCli(url.toString())
          expect(broken.code).toBe(1)
          expect(verdictLine(broken.stdout)).toEqual({
            audit: { ok: false, rows: 17, firstBrokenSeq: 17, reason: "hash_mismatch" }
          })

          // The review's truncation: the last rows and their seals deleted (triggers off); the chain
          // left verifies on its own, but the checkpoint outside the database names what is gone.
          yield* sql.withTransaction(
            Effect.all([
              sql`SET LOCAL session_replication_role = replica`,
              sql`UPDATE audit_personal SET client_ip = '203.0.113.16' WHERE row_id = (SELECT id FROM audit_log WHERE seq = 17)`,
              sql`DELETE FROM audit_seal WHERE row_seq > 20`,
              sql`DELETE FROM audit_personal WHERE row_id IN (SELECT id FROM audit_log WHERE seq > 20)`,
              sql`DELETE FROM audit_log WHERE seq > 20`
            ])
          )
          const truncated = yield* runCli(url.toString())
          expect(truncated.code).toBe(1)
          expect(verdictLine(truncated.stdout)).toEqual({ audit: { ok: false, rows: 20, firstBrokenSeq: 25, reason: "truncated" } })
        }),
      60_000
    )

    it.effect(
      "exits 1 without a verdict when the database cannot be reached",
      () =>
        Effect.gen(function* () {
          const url = new URL(inject("adminDatabaseUrl"))
          url.pathname = "/no_such_database_for_audit"
          const result = yield* runCli(url.toString())
          expect(result.code).toBe(1)
          expect(result.stdout).not.toContain('{"audit":')
        }),
      60_000
    )
  }
)
