/**
 * The PostgreSQL layer on a real server: the shared contract (the attacker edits rows and seals
 * with plain SQL as a superuser, triggers switched off; checkpoints are real files — so these pools
 * connect as the owner, and the application's role gets tests of its own), a long chain
 * across pages, the triggers and grants against the application's own role (the review's forged
 * row), the request path never waiting on another session's lock or transaction, late commits,
 * overdue rows, and erasure leaving nothing of the user in any audit table.
 */
import { SqlClient } from "effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Redacted } from "effect"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { inject } from "vitest"
import type { AuditSettings } from "../../../src/config.js"
import { testAuditSettings } from "../../support/audit.js"
import { legacyActorRefOf } from "../../../src/layers/audit/chain.js"
import { AUDIT_SEAL_LOCK, auditPostgresLayer, auditRowsAfter, auditSealsAfter, VERIFY_PAGE_SIZE } from "../../../src/layers/audit/postgres.js"
import { makeFileCheckpoints } from "../../../src/layers/auditCheckpoints/file.js"
import { AuditMacMemory } from "../../../src/layers/auditMac/memory.js"
import { Audit } from "../../../src/services/audit.js"
import { AuditCheckpoints } from "../../../src/services/auditCheckpoints.js"
import { TestDatabaseLive } from "../../support/database.js"
import { AuditHarness, type AuditTamper, auditContract, sampleEvent } from "./contract.js"

/** The lock key every append took before the sealer (pg_advisory_xact_lock, held to commit). */
const OLD_CHAIN_LOCK = 7_304_116_201_952

const COLUMNS: Readonly<Record<Exclude<keyof AuditTamper, "clientIp" | "userAgent">, string>> = {
  epoch: "epoch",
  occurredAt: "occurred_at",
  actorRef: "actor_ref",
  action: "action",
  resourceType: "resource_type",
  resourceId: "resource_id",
  outcome: "outcome",
  requestId: "request_id",
  traceId: "trace_id",
  personalMac: "personal_mac",
  rowMac: "row_mac"
}

const bytesOrValue = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value) : value)


/** Checkpoints as real files in a folder of their own, removed afterwards. */
const FileCheckpointsTest = Layer.effect(
  AuditCheckpoints,
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "serenya-checkpoints-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => makeFileCheckpoints(path.join(dir, "audit-checkpoints"))))
)

/** What a superuser can do: switch the triggers off for one transaction and write whatever they like. */
const PostgresHarness = Layer.effect(
  AuditHarness,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const asAttacker = <A, E>(effect: Effect.Effect<A, E>) =>
      sql.withTransaction(Effect.andThen(sql`SET LOCAL session_replication_role = replica`, effect)).pipe(Effect.asVoid, Effect.orDie)
    return {
      rows: auditRowsAfter(0, 1_000_000).pipe(Effect.provideService(SqlClient.SqlClient, sql), Effect.orDie),
      seals: auditSealsAfter(0, 1_000_000).pipe(
        Effect.map((page) => page.map(({ seal }) => seal)),
        Effect.provideService(SqlClient.SqlClient, sql),
        Effect.orDie
      ),
      tamper: (seq, patch) =>
        asAttacker(
          Effect.gen(function* () {
            const { clientIp, userAgent, ...fields } = patch
            const columns = Object.fromEntries(
              Object.entries(fields).map(([field, value]) => [COLUMNS[field as keyof typeof COLUMNS], bytesOrValue(value)])
            )
            if (Object.keys(columns).length > 0) yield* sql`UPDATE audit_log SET ${sql.update(columns)} WHERE seq = ${seq}`
            if (clientIp !== undefined || userAgent !== undefined) {
              const personal = Object.fromEntries(
                Object.entries({ client_ip: clientIp, user_agent: userAgent }).filter(([, v]) => v !== undefined)
              )
              yield* sql`
                INSERT INTO audit_personal (row_id) SELECT id FROM audit_log WHERE seq = ${seq}
                ON CONFLICT (row_id) DO NOTHING`
              yield* sql`UPDATE audit_personal SET ${sql.update(personal)} WHERE row_id = (SELECT id FROM audit_log WHERE seq = ${seq})`
            }
          })
        ),
      removeRow: (seq) =>
        asAttacker(
          Effect.andThen(
            sql`DELETE FROM audit_personal WHERE row_id = (SELECT id FROM audit_log WHERE seq = ${seq})`,
            sql`DELETE FROM audit_log WHERE seq = ${seq}`
          )
        ),
      removeSeal: (position) => asAttacker(sql`DELETE FROM audit_seal WHERE position = ${position}`),
      insertRow: (row) =>
        asAttacker(
          Effect.gen(function* () {
            yield* sql`
              INSERT INTO audit_log (id, occurred_at, epoch, actor_ref, action, resource_type, resource_id, outcome,
                                     request_id, trace_id, personal_mac, row_mac)
              VALUES (${row.id}::uuid, ${row.occurredAt}::timestamptz, ${row.epoch}, ${row.actorRef}, ${row.action},
                      ${row.resourceType}, ${row.resourceId}, ${row.outcome}, ${row.requestId}, ${row.traceId},
                      ${row.personalMac}, ${Buffer.from(row.rowMac)})`
            if (row.personal !== null) {
              yield* sql`INSERT INTO audit_personal (row_id, client_ip, user_agent) VALUES (${row.id}::uuid, ${row.personal.clientIp}, ${row.personal.userAgent})`
            }
          })
        ),
      insertSeal: (seal) =>
        asAttacker(sql`
          INSERT INTO audit_seal (position, row_id, row_seq, epoch, prev_mac, mac)
          VALUES (${seal.position}, ${seal.rowId}::uuid, ${seal.rowSeq}, ${seal.epoch},
                  ${seal.prevMac === null ? null : Buffer.from(seal.prevMac)}, ${Buffer.from(seal.mac)})`)
    }
  })
)

const AuditPostgresTest = (settings: AuditSettings = testAuditSettings()) =>
  Layer.mergeAll(auditPostgresLayer(settings), PostgresHarness).pipe(
    Layer.provideMerge(Layer.merge(AuditMacMemory, FileCheckpointsTest)),
    Layer.provideMerge(TestDatabaseLive({ as: "owner" }))
  )

auditContract("postgres", () => AuditPostgresTest())

/** Real time, whatever Clock the test runs with. */
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** The message PostgreSQL answered a failed statement with (the cause of the SqlError's reason). */
const refusal = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    const reason = typeof error === "object" && error !== null && "reason" in error ? error.reason : error
    const cause = typeof reason === "object" && reason !== null && "cause" in reason ? reason.cause : reason
    return cause instanceof Error ? cause.message : String(cause)
  })

layer(AuditPostgresTest())("a long chain in PostgreSQL", (it) => {
  it.effect(
    "1,234 concurrent events seal and verify across pages; a row changed with the triggers disabled is named, on any page",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const audit = yield* Audit
        const started = performance.now()
        yield* Effect.forEach(Array.from({ length: 1234 }, (_, i) => sampleEvent(i)), (event) => audit.record(event), {
          concurrency: 64,
          discard: true
        })
        const written = performance.now()
        expect(yield* audit.seal).toBe(1234)
        expect(yield* audit.verify).toEqual({ ok: true, rows: 1234 })
        console.info(
          `[audit postgres] 1234 records at concurrency 64: ${(written - started).toFixed(0)} ms; seal + verify: ${(performance.now() - written).toFixed(0)} ms`
        )
        const seals = yield* auditSealsAfter(0, 2000)
        for (const index of [3, VERIFY_PAGE_SIZE + 7]) {
          const seq = seals[index]!.seal.rowSeq
          yield* sql.withTransaction(
            Effect.all([
              sql`ALTER TABLE audit_log DISABLE TRIGGER USER`,
              sql`UPDATE audit_log SET resource_id = resource_id || '-x' WHERE seq = ${seq}`,
              sql`ALTER TABLE audit_log ENABLE TRIGGER USER`
            ])
          )
          expect(yield* audit.verify).toMatchObject({ ok: false, rows: index + 1, firstBrokenSeq: seq, reason: "hash_mismatch" })
          yield* sql.withTransaction(
            Effect.all([
              sql`ALTER TABLE audit_log DISABLE TRIGGER USER`,
              sql`UPDATE audit_log SET resource_id = left(resource_id, -2) WHERE seq = ${seq}`,
              sql`ALTER TABLE audit_log ENABLE TRIGGER USER`
            ])
          )
        }
        expect(yield* audit.verify).toEqual({ ok: true, rows: 1234 })
      }),
    120_000
  )

  it.effect("with the triggers on, a superuser's UPDATE, DELETE and TRUNCATE of rows and seals are refused", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* Audit
      yield* audit.record(sampleEvent(1))
      yield* audit.seal
      const [row] = yield* sql<{ seq: string }>`SELECT max(seq)::text AS seq FROM audit_log`
      expect(yield* refusal(sql`UPDATE audit_log SET action = 'auth.login' WHERE seq = ${row!.seq}`)).toMatch(/append-only: UPDATE refused/)
      expect(yield* refusal(sql`DELETE FROM audit_log WHERE seq = ${row!.seq}`)).toMatch(/append-only: DELETE refused/)
      expect(yield* refusal(sql`TRUNCATE audit_log`)).toMatch(/append-only: TRUNCATE refused/)
      expect(yield* refusal(sql`UPDATE audit_seal SET epoch = '2020-01'`)).toMatch(/audit_seal is append-only: UPDATE refused/)
      expect(yield* refusal(sql`DELETE FROM audit_seal`)).toMatch(/audit_seal is append-only: DELETE refused/)
      expect(yield* refusal(sql`TRUNCATE audit_seal`)).toMatch(/audit_seal is append-only: TRUNCATE refused/)
      // A row in the old unkeyed form (which anyone can compute) is refused.
      expect(
        yield* refusal(sql`INSERT INTO audit_log (action, outcome, hash) VALUES ('auth.login', 'success', ${Buffer.alloc(32)})`)
      ).toMatch(/keyed rows only/)
      expect((yield* audit.verify).ok).toBe(true)
    })
  )
})

/** A login role like the application's: a member of serenya_app (migration 0008's grants), no superuser; dropped afterwards. */
const applicationRole = Effect.acquireRelease(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const name = `serenya_app_${randomBytes(6).toString("hex")}`
    const password = randomBytes(18).toString("hex")
    yield* sql.unsafe(`CREATE ROLE ${name} LOGIN NOSUPERUSER INHERIT PASSWORD '${password}' IN ROLE serenya_app`)
    const [database] = yield* sql<{ name: string }>`SELECT current_database() AS name`
    yield* sql.unsafe(`GRANT CONNECT ON DATABASE "${database!.name}" TO ${name}`)
    const url = new URL(inject("adminDatabaseUrl"))
    url.username = name
    url.password = password
    url.pathname = `/${database!.name}`
    return { name, url: Redacted.make(url.toString()) }
  }),
  ({ name }) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.andThen(sql.unsafe(`DROP OWNED BY ${name}`), sql.unsafe(`DROP ROLE ${name}`))).pipe(
      Effect.orDie
    )
).pipe(Effect.orDie)

layer(Layer.merge(AuditMacMemory, FileCheckpointsTest).pipe(Layer.provideMerge(TestDatabaseLive({ as: "owner" }))))("the application's role", (it) => {
  it.effect(
    "records, seals, verifies and erases through the service; cannot change or remove a row or seal; a row or seal it forges is named",
    () =>
      Effect.gen(function* () {
        const role = yield* applicationRole
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const audit = yield* Audit
          const [who] = yield* sql<{ name: string; superuser: boolean }>`
            SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`
          expect(who).toEqual({ name: role.name, superuser: false })

          for (let i = 0; i < 6; i++) yield* audit.record(sampleEvent(i))
          expect(yield* audit.seal).toBe(6)
          expect(yield* audit.verify).toEqual({ ok: true, rows: 6 })

          expect(yield* refusal(sql`UPDATE audit_log SET outcome = 'success'`)).toMatch(/permission denied/)
          expect(yield* refusal(sql`UPDATE audit_log SET actor_user_id = NULL, actor_pseudonym = 'x'`)).toMatch(/permission denied/)
          expect(yield* refusal(sql`DELETE FROM audit_log`)).toMatch(/permission denied/)
          expect(yield* refusal(sql`TRUNCATE audit_log`)).toMatch(/permission denied/)
          expect(yield* refusal(sql`UPDATE audit_seal SET epoch = '2020-01'`)).toMatch(/permission denied/)
          expect(yield* refusal(sql`DELETE FROM audit_seal`)).toMatch(/permission denied/)
          expect(yield* refusal(sql`ALTER TABLE audit_log DISABLE TRIGGER USER`)).toMatch(/must be owner/)
          expect(yield* refusal(sql`SET session_replication_role = replica`)).toMatch(/permission denied/)
          expect(
            yield* refusal(sql`INSERT INTO audit_log (action, outcome, hash) VALUES ('auth.login', 'success', ${Buffer.alloc(32)})`)
          ).toMatch(/keyed rows only/)

          // The review's forged row: inserted with a hash the attacker can compute (sha256 of its content).
          const forgedId = "11111111-2222-4333-8444-555555555555"
          const epoch = new Date().toISOString().slice(0, 7)
          yield* sql`
            INSERT INTO audit_log (id, occurred_at, epoch, action, resource_type, resource_id, outcome, row_mac)
            VALUES (${forgedId}::uuid, now(), ${epoch}, 'content.export', 'content', 'someone-elses', 'success',
                    ${createHash("sha256").update(forgedId).digest()})`
          const [forged] = yield* sql<{ seq: string }>`SELECT seq::text AS seq FROM audit_log WHERE id = ${forgedId}::uuid`
          expect(yield* audit.verify).toEqual({ ok: false, rows: 7, firstBrokenSeq: Number(forged!.seq), reason: "hash_mismatch" })
          // … and a seal of its own for it, linked to the head.
          const [head] = yield* sql<{ position: string; mac: Uint8Array }>`SELECT position::text AS position, mac FROM audit_seal ORDER BY position DESC LIMIT 1`
          yield* sql`
            INSERT INTO audit_seal (position, row_id, row_seq, epoch, prev_mac, mac)
            VALUES (${Number(head!.position) + 1}, ${forgedId}::uuid, ${Number(forged!.seq)}, ${epoch}, ${Buffer.from(head!.mac)},
                    ${createHash("sha256").update(head!.mac).digest()})`
          expect(yield* audit.verify).toMatchObject({ ok: false, rows: 7, firstBrokenSeq: Number(forged!.seq) })

          // Erasure is the one deletion it may make, and only of personal data.
          expect(yield* audit.erase(sampleEvent(0).actorUserId!)).toBe(2)
          const [count] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`
          expect(count?.n).toBe(7)
        }).pipe(
          Effect.provide(auditPostgresLayer(testAuditSettings()).pipe(Layer.provideMerge(PgClient.layer({ url: role.url, maxConnections: 4 })))),
          Effect.scoped
        )
      }),
    60_000
  )
})

layer(AuditPostgresTest())("the request path waits for nobody", (it) => {
  it.effect(
    "with the old chain lock and the sealer's lock held and an audited transaction left open in other sessions, 20 concurrent records finish at once",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const audit = yield* Audit
        const pg = yield* PgClient.PgClient
        // Another session, as `psql` would hold it: both lock keys, and an uncommitted audited row.
        const other = yield* pg.reserve
        yield* other.executeRaw(`SELECT pg_advisory_lock(${OLD_CHAIN_LOCK}), pg_advisory_lock(${AUDIT_SEAL_LOCK})`, [])
        yield* other.executeRaw("BEGIN", [])
        yield* Effect.provideService(audit.record(sampleEvent(100)), sql.transactionService, [other, 1] as never).pipe(
          Effect.catchDefect(() => Effect.void)
        )
        // Session locks outlive the transaction: released before the connection goes back to the pool.
        yield* Effect.addFinalizer(() =>
          Effect.andThen(other.executeRaw("ROLLBACK", []), other.executeRaw("SELECT pg_advisory_unlock_all()", [])).pipe(Effect.ignore)
        )

        const started = performance.now()
        yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => sampleEvent(i)), (event) => audit.record(event), {
          concurrency: "unbounded",
          discard: true
        }).pipe(Effect.timeoutOrElse({ duration: "3 seconds", orElse: () => Effect.fail(new Error("record waited behind another session")) }))
        const elapsed = performance.now() - started
        console.info(`[audit postgres] 20 concurrent records beside a held lock: ${elapsed.toFixed(0)} ms`)
        expect(elapsed).toBeLessThan(3000)

        // The sealer does not wait either: another session holds its lock, so it skips.
        const sealStarted = performance.now()
        expect(yield* audit.seal).toBe(0)
        expect(performance.now() - sealStarted).toBeLessThan(1000)
        const [rows] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`
        expect(rows?.n).toBe(20)
      }),
    30_000
  )

  it.effect("a row that commits after a later one is sealed in the next round, in seal order; none is lost", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* Audit
      yield* audit.seal // whatever earlier tests of this database left
      const base = (yield* auditSealsAfter(0, 100_000)).length
      const rowsBefore = (yield* auditRowsAfter(0, 100_000)).length
      const late = yield* Effect.forkChild(
        sql.withTransaction(
          Effect.andThen(audit.record(sampleEvent(1, { requestId: "req-late" })), realSleep(400))
        )
      )
      yield* realSleep(100)
      yield* audit.record(sampleEvent(2, { requestId: "req-early" }))
      expect(yield* audit.seal).toBe(1)
      yield* Fiber.await(late)
      expect(yield* audit.seal).toBe(1)
      const seals = (yield* auditSealsAfter(0, 100_000)).slice(base)
      expect(seals.map(({ row }) => row?.requestId)).toEqual(["req-early", "req-late"])
      expect(seals[0]!.seal.rowSeq).toBeGreaterThan(seals[1]!.seal.rowSeq)
      expect(yield* audit.verify).toEqual({ ok: true, rows: rowsBefore + 2 })
    })
  )
})

layer(AuditPostgresTest(testAuditSettings({ unsealedGrace: Duration.seconds(1) })))("unsealed rows", (it) => {
  it.effect("a row left unsealed past the grace period is named; sealing it clears the verdict", () =>
    Effect.gen(function* () {
      const audit = yield* Audit
      yield* audit.record(sampleEvent(1))
      expect(yield* audit.verify).toEqual({ ok: true, rows: 1 })
      yield* realSleep(1500)
      expect(yield* audit.verify).toMatchObject({ ok: false, rows: 1, reason: "unsealed" })
      yield* audit.seal
      expect(yield* audit.verify).toEqual({ ok: true, rows: 1 })
    })
  )
})

layer(AuditPostgresTest())("erasure", (it) => {
  it.effect("leaves no raw user id, IP or user agent of the user in any column of any audit table", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* Audit
      const user = "7e57a11c-e5ed-4c0d-a2b3-c4d5e6f70819"
      const ip = "198.51.100.201"
      const agent = "ErasedPhone/9.9 (unique-agent-4711)"
      yield* audit.record({ actorUserId: user, action: "account.read", resourceType: "account", resourceId: user, outcome: "success", clientIp: ip, userAgent: agent })
      yield* audit.record({ action: "auth.login", outcome: "denied", resourceType: "user", resourceId: user.toUpperCase(), clientIp: ip, userAgent: agent })
      yield* audit.record({ actorUserId: user, action: "content.read", resourceType: "content", resourceId: "0c0c0c0c-0000-4000-8000-000000000001", outcome: "success", clientIp: ip, userAgent: agent })
      yield* audit.record(sampleEvent(1))
      yield* audit.seal

      const everything = Effect.gen(function* () {
        const columns = yield* sql<{ table: string; column: string; type: string }>`
          SELECT table_name AS "table", column_name AS "column", data_type AS "type" FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name LIKE 'audit%' ORDER BY table_name, ordinal_position`
        expect(new Set(columns.map((c) => c.table))).toEqual(new Set(["audit_log", "audit_personal", "audit_seal"]))
        const values: Array<string> = []
        for (const { table, column, type } of columns) {
          const value = type === "bytea" ? `encode("${column}", 'hex')` : `"${column}"::text`
          const rows = yield* sql.unsafe<{ v: string | null }>(`SELECT ${value} AS v FROM "${table}"`)
          for (const row of rows) if (row.v !== null) values.push(row.v.toLowerCase())
        }
        return values
      })
      const before = yield* everything
      expect(before.some((v) => v.includes(ip))).toBe(true)
      // Even before erasure, the id itself is nowhere (nor the old unkeyed reference anyone could compute).
      for (const needle of [user, user.replaceAll("-", ""), legacyActorRefOf(user)]) expect(before.filter((v) => v.includes(needle))).toEqual([])

      expect(yield* audit.erase(user)).toBe(3)
      const after = yield* everything
      for (const needle of [user, user.replaceAll("-", ""), legacyActorRefOf(user), ip, agent.toLowerCase()]) {
        expect(after.filter((v) => v.includes(needle)), needle).toEqual([])
      }
      expect(yield* audit.verify).toEqual({ ok: true, rows: 4 })
    })
  )
})

describe("migration 0008", () => {
  layer(TestDatabaseLive({ as: "owner" }))("the keyed trail's tables", (it) => {
    it.effect("audit_seal is append-only; serenya_app may insert and read the trail, delete personal data, and update nothing", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const triggers = yield* sql<{ name: string }>`
          SELECT tgname AS name FROM pg_trigger
          WHERE tgrelid IN ('audit_log'::regclass, 'audit_seal'::regclass) AND NOT tgisinternal ORDER BY tgname`
        expect(triggers.map((t) => t.name)).toEqual([
          "audit_log_append_only",
          "audit_log_keyed_only",
          "audit_log_no_truncate",
          "audit_seal_append_only",
          "audit_seal_no_truncate"
        ])
        const privileges = yield* sql<{ table: string; privilege: string }>`
          SELECT table_name AS "table", privilege_type AS "privilege" FROM information_schema.role_table_grants
          WHERE grantee = 'serenya_app' AND table_name LIKE 'audit%' ORDER BY table_name, privilege_type`
        expect(privileges.map((p) => `${p.table}:${p.privilege}`)).toEqual([
          "audit_log:INSERT",
          "audit_log:SELECT",
          "audit_personal:DELETE",
          "audit_personal:INSERT",
          "audit_personal:SELECT",
          "audit_seal:INSERT",
          "audit_seal:SELECT"
        ])
        const columnUpdates = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM information_schema.column_privileges
          WHERE grantee = 'serenya_app' AND table_name LIKE 'audit%' AND privilege_type = 'UPDATE'`
        expect(columnUpdates[0]?.n).toBe(0)
      })
    )
  })
})
