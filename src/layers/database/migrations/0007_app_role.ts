/**
 * The application's own role (APP_ROLE) with exactly the rights the code needs, table by table.
 * Until now the server connected as the owner of every table (locally a superuser, on AWS the RDS
 * master user): an owner can `ALTER TABLE audit_log DISABLE TRIGGER`, DELETE, TRUNCATE or DROP, so
 * the append-only triggers of 0002 held against nobody who had the server's credentials. (0002's
 * comment says disabling triggers is superuser-only; it is not, a table's owner can. The shipped
 * migration is left as it was; this is the correction.)
 *
 * Migrations keep running as the owner; the application connects as APP_ROLE, which owns nothing,
 * so it can neither change a table's definition nor its triggers. Every grant is written out here
 * per table, never through ALTER DEFAULT PRIVILEGES: a new table without its grant fails the test
 * suite (whose pools connect as APP_ROLE) instead of silently inheriting rights. A migration that
 * adds a table grants on it in the same migration.
 *
 * The role is created NOLOGIN (it is cluster-wide, and may already exist: created once, kept);
 * the migrate step gives it LOGIN with the application's password (see ../roles.ts).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { APP_ROLE } from "../roles.js"

/** Per table, what the application does with it (read from every query in src/programs and src/layers). */
export const APP_GRANTS: ReadonlyArray<readonly [table: string, privileges: string]> = [
  // sign-in (insert, link a Google subject), /me, erasure; rotation re-wraps the encrypted columns;
  // content_version is bumped by content's trigger, which runs as the caller
  ["users", "SELECT, INSERT, UPDATE, DELETE"],
  // issue, rotate, revoke; erasure
  ["refresh_tokens", "SELECT, INSERT, UPDATE, DELETE"],
  // upload, the workers' leases and outcomes, the sweeper; erasure
  ["jobs", "SELECT, INSERT, UPDATE, DELETE"],
  // processing writes it, DELETE /content/{id}, rotation, erasure
  ["content", "SELECT, INSERT, UPDATE, DELETE"],
  ["conversations", "SELECT, INSERT, UPDATE, DELETE"],
  // messages are never edited; only rotation re-wraps their encrypted text
  ["messages", "SELECT, INSERT, DELETE, UPDATE (content_encrypted)"],
  // recorded, read for budgets and export; erasure deletes the user's records
  ["llm_usage", "SELECT, INSERT, DELETE"],
  ["subscriptions", "SELECT, INSERT, UPDATE, DELETE"],
  ["idempotency_keys", "SELECT, INSERT, UPDATE, DELETE"],
  // a ledger: appended, counted; rows go only with the user (the foreign key's cascade runs as the owner)
  ["plan_usage", "SELECT, INSERT"],
  // Append and read, nothing else. The one UPDATE is the current audit layer's pseudonymisation
  // (actor_user_id to NULL, actor_pseudonym set, and 0002's trigger allows nothing more); the
  // audit redesign that stops rewriting rows on erasure revokes it.
  ["audit_log", "SELECT, INSERT, UPDATE (actor_user_id, actor_pseudonym)"]
]

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // Concurrency-safe "create if missing": two migrators on one cluster (two databases) may race.
  yield* sql.unsafe(`
    DO $$ BEGIN
      CREATE ROLE ${APP_ROLE} NOLOGIN;
    EXCEPTION WHEN duplicate_object THEN NULL;
    END $$`)

  // Nobody but the owner creates objects in the schema (PostgreSQL 15+ default; older clusters granted it to PUBLIC).
  yield* sql`REVOKE CREATE ON SCHEMA public FROM PUBLIC`
  yield* sql`GRANT USAGE ON SCHEMA public TO ${sql(APP_ROLE)}`

  for (const [table, privileges] of APP_GRANTS) {
    // Exactly these: whatever the role held before (granted by hand) goes.
    yield* sql`REVOKE ALL ON TABLE ${sql(table)} FROM PUBLIC, ${sql(APP_ROLE)}`
    yield* sql.unsafe(`GRANT ${privileges} ON TABLE ${table} TO ${APP_ROLE}`)
  }
  // The audit layer draws its seqs from the identity's sequence itself (nextval needs USAGE).
  const [sequence] = yield* sql<{ name: string }>`SELECT pg_get_serial_sequence('audit_log', 'seq') AS name`
  yield* sql.unsafe(`GRANT USAGE ON SEQUENCE ${sequence!.name} TO ${APP_ROLE}`)

  // The migrations' own record: nothing.
  yield* sql`REVOKE ALL ON TABLE schema_migrations FROM PUBLIC, ${sql(APP_ROLE)}`
})
