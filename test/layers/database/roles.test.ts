/**
 * The application's database role (migration 0007). The server connected as the owner of every
 * table, and an owner can disable the audit trail's triggers, delete, truncate or drop it: the
 * append-only guarantee held against nobody holding the server's credentials. Now the pool connects
 * as APP_ROLE (as every test's pool does), which holds only the grants 0007 lists.
 */
import { SqlClient } from "effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { APP_ROLE } from "../../../src/layers/database/roles.js"
import { OwnerSql, TestDatabaseLive } from "../../support/database.js"

/** SQLSTATE and message of a refused statement (the driver's error is the cause of the SqlError's reason). */
const refusal = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    const reason = typeof error === "object" && error !== null && "reason" in error ? error.reason : error
    const cause = typeof reason === "object" && reason !== null && "cause" in reason ? reason.cause : reason
    const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : "?"
    return `${code} ${cause instanceof Error ? cause.message : String(cause)}`
  })

describe("the application's role", () => {
  layer(TestDatabaseLive())("as the pool connects", (it) => {
    it.effect("is APP_ROLE, owns nothing and is no superuser", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [who] = yield* sql<{ name: string; superuser: boolean; createRole: boolean; createDb: boolean; bypassRls: boolean }>`
          SELECT current_user AS name, rolsuper AS superuser, rolcreaterole AS create_role, rolcreatedb AS create_db,
                 rolbypassrls AS bypass_rls
          FROM pg_roles WHERE rolname = current_user`
        expect(who).toEqual({ name: APP_ROLE, superuser: false, createRole: false, createDb: false, bypassRls: false })
        const owned = yield* sql<{ name: string }>`
          SELECT relname AS name FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = ${APP_ROLE})`
        expect(owned).toEqual([])
      })
    )

    it.effect("cannot rewrite the audit trail: UPDATE, DELETE, TRUNCATE, DISABLE TRIGGER, DROP are refused", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const owner = yield* OwnerSql
        yield* sql`
          INSERT INTO audit_log (action, outcome, epoch, row_mac) VALUES ('auth.login', 'success', '2026-12', ${Buffer.alloc(32)})`
        expect(yield* refusal(sql`UPDATE audit_log SET outcome = 'failure'`)).toMatch(/^42501 permission denied for table audit_log/)
        expect(yield* refusal(sql`UPDATE audit_log SET row_mac = ${Buffer.alloc(32, 1)}`)).toMatch(/^42501 permission denied/)
        expect(yield* refusal(sql`DELETE FROM audit_log`)).toMatch(/^42501 permission denied for table audit_log/)
        expect(yield* refusal(sql`TRUNCATE audit_log`)).toMatch(/^42501 permission denied for table audit_log/)
        expect(yield* refusal(sql`ALTER TABLE audit_log DISABLE TRIGGER ALL`)).toMatch(/^42501 must be owner of table audit_log/)
        expect(yield* refusal(sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`)).toMatch(/^42501 must be owner/)
        expect(yield* refusal(sql`DROP TABLE audit_log`)).toMatch(/^42501 must be owner of table audit_log/)
        expect(yield* refusal(sql`DROP TRIGGER audit_log_append_only ON audit_log`)).toMatch(/^42501 must be owner/)
        expect(yield* refusal(sql`SET session_replication_role = replica`)).toMatch(/^42501 permission denied/)
        // Nor can it make a table of its own, or touch the migrations' record.
        expect(yield* refusal(sql`CREATE TABLE shadow_log (id int)`)).toMatch(/^42501 permission denied for schema public/)
        expect(yield* refusal(sql`SELECT * FROM schema_migrations`)).toMatch(/^42501 permission denied for table schema_migrations/)
        expect(yield* refusal(sql`DELETE FROM schema_migrations`)).toMatch(/^42501 permission denied/)
        const [count] = yield* owner<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`
        expect(count?.n).toBe(1)
      })
    )

    it.effect("holds a grant on every table but the migrations' record, and on audit_log only INSERT and SELECT", () =>
      Effect.gen(function* () {
        const owner = yield* OwnerSql
        const tables = yield* owner<{ name: string; privileges: string | null }>`
          SELECT c.relname AS name,
                 (SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) FROM information_schema.role_table_grants g
                   WHERE g.table_schema = 'public' AND g.table_name = c.relname AND g.grantee = ${APP_ROLE}) AS privileges
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`
        // A table whose migration forgot its grants is named here (and every query on it fails as the app).
        const ungranted = tables.filter((t) => t.privileges === null).map((t) => t.name)
        expect(ungranted).toEqual(["schema_migrations"])
        expect(tables.find((t) => t.name === "audit_log")?.privileges).toBe("INSERT,SELECT")
        const columns = yield* owner<{ column: string; privilege: string }>`
          SELECT column_name AS column, privilege_type AS privilege FROM information_schema.column_privileges
          WHERE table_name = 'audit_log' AND grantee = ${APP_ROLE} AND privilege_type NOT IN ('INSERT', 'SELECT')
          ORDER BY column_name`
        // Not even a column: the keyed trail (0008) needs no pseudonymisation UPDATE.
        expect(columns).toEqual([])
        for (const table of tables) {
          const [row] = yield* owner<{ truncate: boolean; references: boolean; trigger: boolean }>`
            SELECT has_table_privilege(${APP_ROLE}, ${table.name}, 'TRUNCATE') AS truncate,
                   has_table_privilege(${APP_ROLE}, ${table.name}, 'REFERENCES') AS references,
                   has_table_privilege(${APP_ROLE}, ${table.name}, 'TRIGGER') AS trigger`
          expect(row, table.name).toEqual({ truncate: false, references: false, trigger: false })
        }
      })
    )
  })
})
