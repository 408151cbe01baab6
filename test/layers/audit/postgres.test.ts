/**
 * The PostgreSQL layer on a real server: the shared contract (the attacker edits rows with plain
 * SQL as the owner, a superuser, triggers switched off), a long chain verified across pages, and the
 * append-only triggers holding against a role granted every privilege on the table. The layer
 * itself runs as the application's role, as in production.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { inject } from "vitest"
import { AuditPostgres, auditRowsAfter, VERIFY_PAGE_SIZE } from "../../../src/layers/audit/postgres.js"
import { Audit } from "../../../src/services/audit.js"
import { OwnerSql, TestDatabaseLive } from "../../support/database.js"
import { AuditHarness, type AuditTamper, auditContract, sampleEvent } from "./contract.js"

const COLUMNS: Readonly<Record<keyof AuditTamper, string>> = {
  id: "id",
  occurredAt: "occurred_at",
  actorUserId: "actor_user_id",
  actorRef: "actor_ref",
  action: "action",
  resourceType: "resource_type",
  resourceId: "resource_id",
  outcome: "outcome",
  requestId: "request_id",
  traceId: "trace_id",
  clientIp: "client_ip",
  userAgent: "user_agent",
  prevHash: "prev_hash",
  hash: "hash"
}

const toColumns = (patch: AuditTamper): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(patch).map(([field, value]) => [
      COLUMNS[field as keyof AuditTamper],
      value instanceof Uint8Array ? Buffer.from(value) : value
    ])
  )

/** What the owner (a superuser) can do: switch the triggers off for one transaction and write whatever they like. */
const PostgresHarness = Layer.effect(
  AuditHarness,
  Effect.gen(function* () {
    const app = yield* SqlClient.SqlClient
    const sql = yield* OwnerSql
    const asAttacker = <A, E>(effect: Effect.Effect<A, E>) =>
      sql.withTransaction(Effect.zipRight(sql`SET LOCAL session_replication_role = replica`, effect)).pipe(Effect.asVoid, Effect.orDie)
    return {
      rows: auditRowsAfter(0, 1_000_000).pipe(Effect.provideService(SqlClient.SqlClient, app), Effect.orDie),
      tamper: (seq, patch) => asAttacker(sql`UPDATE audit_log SET ${sql.update(toColumns(patch))} WHERE seq = ${seq}`),
      remove: (seq) => asAttacker(sql`DELETE FROM audit_log WHERE seq = ${seq}`)
    }
  })
)

const AuditPostgresTest = () => Layer.mergeAll(AuditPostgres, PostgresHarness).pipe(Layer.provideMerge(TestDatabaseLive()))

auditContract("postgres", AuditPostgresTest)

/** The message PostgreSQL answered a failed statement with. */
const refusal = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : error
    return cause instanceof Error ? cause.message : String(cause)
  })

layer(AuditPostgresTest())("a long chain in PostgreSQL", (it) => {
  it.effect(
    "1,234 concurrent events verify across pages; a row changed with the triggers disabled is named, on any page",
    () =>
      Effect.gen(function* () {
        const sql = yield* OwnerSql
        const audit = yield* Audit
        const started = performance.now()
        yield* Effect.forEach(
          Array.from({ length: 1234 }, (_, i) => sampleEvent(i)),
          (event) => audit.record(event),
          { concurrency: 64, discard: true }
        )
        const written = performance.now()
        expect(VERIFY_PAGE_SIZE).toBeLessThan(1234)
        expect(yield* audit.verify).toEqual({ ok: true, rows: 1234 })
        console.info(
          `[audit postgres] 1234 records at concurrency 64: ${(written - started).toFixed(0)} ms; verify: ${(performance.now() - written).toFixed(0)} ms`
        )

        for (const seq of [1, 617, 1000, 1001, 1234]) {
          // The attacker as a superuser would: DDL to switch the triggers off, an edit, triggers back on.
          yield* sql.withTransaction(
            Effect.all([
              sql`ALTER TABLE audit_log DISABLE TRIGGER USER`,
              sql`UPDATE audit_log SET resource_id = resource_id || '-x' WHERE seq = ${seq}`,
              sql`ALTER TABLE audit_log ENABLE TRIGGER USER`
            ])
          )
          expect(yield* audit.verify).toMatchObject({ ok: false, rows: seq, firstBrokenSeq: seq, reason: "hash_mismatch" })
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

  it.effect("with the triggers on, a superuser's UPDATE, DELETE and TRUNCATE are refused too", () =>
    Effect.gen(function* () {
      const sql = yield* OwnerSql
      const audit = yield* Audit
      yield* audit.record(sampleEvent(1))
      const countRows = Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`, ([row]) => row?.n)
      const before = yield* countRows
      expect(yield* refusal(sql`UPDATE audit_log SET action = 'auth.login' WHERE seq = 2`)).toMatch(/append-only: UPDATE refused/)
      expect(yield* refusal(sql`DELETE FROM audit_log WHERE seq = 2`)).toMatch(/append-only: DELETE refused/)
      expect(yield* refusal(sql`TRUNCATE audit_log`)).toMatch(/append-only: TRUNCATE refused/)
      expect(yield* countRows).toBe(before)
      expect((yield* audit.verify).ok).toBe(true)
    })
  )
})

/** A login role with every privilege on audit_log (more than APP_ROLE has), no superuser; dropped afterwards. */
const applicationRole = Effect.acquireRelease(
  Effect.gen(function* () {
    const sql = yield* OwnerSql
    const name = `serenya_app_${randomBytes(6).toString("hex")}`
    const password = randomBytes(18).toString("hex")
    yield* sql.unsafe(`CREATE ROLE ${name} LOGIN NOSUPERUSER PASSWORD '${password}'`)
    yield* sql.unsafe(`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON audit_log TO ${name}`)
    const [sequence] = yield* sql<{ name: string }>`SELECT pg_get_serial_sequence('audit_log', 'seq') AS name`
    yield* sql.unsafe(`GRANT USAGE ON SEQUENCE ${sequence!.name} TO ${name}`)
    const [database] = yield* sql<{ name: string }>`SELECT current_database() AS name`
    const url = new URL(inject("adminDatabaseUrl"))
    url.username = name
    url.password = password
    url.pathname = `/${database!.name}`
    return { name, url: Redacted.make(url.toString()) }
  }),
  ({ name }) =>
    Effect.flatMap(OwnerSql, (sql) =>
      Effect.zipRight(sql.unsafe(`DROP OWNED BY ${name}`), sql.unsafe(`DROP ROLE ${name}`))
    ).pipe(Effect.orDie)
).pipe(Effect.orDie)

layer(TestDatabaseLive())("a role granted everything on audit_log", (it) => {
  it.scoped("writes and pseudonymises through the service, but its UPDATE, DELETE and TRUNCATE are refused", () =>
      Effect.gen(function* () {
        const role = yield* applicationRole
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const audit = yield* Audit
          const [who] = yield* sql<{ name: string; superuser: boolean }>`
            SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`
          expect(who).toEqual({ name: role.name, superuser: false })

          for (let i = 0; i < 6; i++) yield* audit.record(sampleEvent(i))
          expect(yield* audit.verify).toEqual({ ok: true, rows: 6 })

          expect(yield* refusal(sql`UPDATE audit_log SET outcome = 'success' WHERE seq = 1`)).toMatch(
            /audit_log is append-only: UPDATE refused/
          )
          expect(yield* refusal(sql`UPDATE audit_log SET user_agent = NULL`)).toMatch(/append-only: UPDATE refused/)
          expect(yield* refusal(sql`DELETE FROM audit_log WHERE seq = 3`)).toMatch(/audit_log is append-only: DELETE refused/)
          expect(yield* refusal(sql`DELETE FROM audit_log`)).toMatch(/append-only: DELETE refused/)
          expect(yield* refusal(sql`TRUNCATE audit_log`)).toMatch(/audit_log is append-only: TRUNCATE refused/)
          // Pseudonymisation is the one UPDATE allowed: a disguised one that changes anything else is not.
          expect(
            yield* refusal(sql`
              UPDATE audit_log SET actor_user_id = NULL, actor_pseudonym = 'erased-1', outcome = 'failure'
              WHERE seq = 1`)
          ).toMatch(/append-only: UPDATE refused/)
          expect(
            yield* refusal(sql`UPDATE audit_log SET actor_pseudonym = 'erased-1' WHERE seq = 1`)
          ).toMatch(/append-only: UPDATE refused/)
          expect(yield* refusal(sql`SET session_replication_role = replica`)).toMatch(/permission denied/)

          const user = sampleEvent(0).actorUserId!
          expect(yield* audit.pseudonymise(user, "erased-2c41")).toBe(2)
          // Once pseudonymised, the pseudonym cannot be rewritten either.
          expect(
            yield* refusal(sql`UPDATE audit_log SET actor_pseudonym = 'erased-other' WHERE actor_pseudonym = 'erased-2c41'`)
          ).toMatch(/append-only: UPDATE refused/)

          const [count] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`
          expect(count?.n).toBe(6)
          expect(yield* audit.verify).toEqual({ ok: true, rows: 6 })
        }).pipe(
          Effect.provide(AuditPostgres.pipe(Layer.provideMerge(PgClient.layer({ url: role.url, maxConnections: 2 })))),
          Effect.scoped
        )
      })
  )
})

describe("migration 0002", () => {
  layer(TestDatabaseLive())("audit_log", (it) => {
    it.effect("has the append-only triggers and the hashed actor reference column", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const triggers = yield* sql<{ name: string }>`
          SELECT tgname AS name FROM pg_trigger
          WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal ORDER BY tgname`
        expect(triggers.map((t) => t.name)).toEqual(["audit_log_append_only", "audit_log_no_truncate"])
        const [column] = yield* sql<{ dataType: string }>`
          SELECT data_type FROM information_schema.columns WHERE table_name = 'audit_log' AND column_name = 'actor_ref'`
        expect(column?.dataType).toBe("text")
      })
    )
  })
})
