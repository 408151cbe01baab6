/**
 * The keyed, sealed audit trail (layers/audit/postgres.ts, layers/audit/chain.ts).
 *
 * - audit_log rows from now on carry `row_mac` (an HMAC under a key the database never holds), its
 *   key `epoch`, and `personal_mac`; they never carry a raw user id (`actor_user_id` stays NULL,
 *   `actor_ref` and user/account `resource_id`s are keyed pseudonyms) nor the client IP and user
 *   agent, which go to audit_personal where erasure can delete them. `hash`/`prev_hash` are only
 *   for rows written before this migration (the unkeyed chain, still verified as it was).
 *   `inserted_at` is the database's clock at insert: how old an unsealed row is.
 * - audit_seal is the chain: one row per sealed event, in the order the single sealer sealed
 *   them (position 1, 2, 3…), each MAC'd over the one before. Append-only for every role, like
 *   audit_log (triggers), and the MACs make what a superuser changes with the triggers off show.
 * - audit_personal holds the erasable personal data; its rows are deleted on erasure (the row's
 *   personal_mac stays, and no longer reveals anything without the key).
 * - The application's role `serenya_app` (created NOLOGIN here when no earlier migration made it)
 *   gets INSERT and SELECT on audit_log and audit_seal, INSERT/SELECT/DELETE on audit_personal, and
 *   loses any UPDATE on audit_log: pseudonymisation by UPDATE is gone (nothing identifying is
 *   written any more), so no role of the application can change a stored row.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL`
  yield* sql`
    ALTER TABLE audit_log
      ADD COLUMN epoch text CHECK (epoch ~ '^[0-9]{4}-[0-9]{2}$'),
      ADD COLUMN row_mac bytea CHECK (octet_length(row_mac) = 32),
      ADD COLUMN personal_mac text CHECK (personal_mac ~ '^[0-9a-f]{64}$'),
      ADD COLUMN inserted_at timestamptz NOT NULL DEFAULT clock_timestamp()`
  // A row is either of the old chain (a hash) or of the keyed one (a MAC and its epoch), never
  // both; a keyed row never holds a raw user id, an IP or a user agent.
  yield* sql`
    ALTER TABLE audit_log ADD CONSTRAINT audit_log_keyed_shape CHECK (
      (row_mac IS NULL AND epoch IS NULL AND hash IS NOT NULL)
      OR (row_mac IS NOT NULL AND epoch IS NOT NULL AND hash IS NULL AND prev_hash IS NULL
          AND actor_user_id IS NULL AND actor_pseudonym IS NULL AND client_ip IS NULL AND user_agent IS NULL))`
  // Rows of the unkeyed chain are history now: a new one (which anyone could compute) is refused,
  // so only rows from before this migration are checked by the old rules.
  yield* sql`
    CREATE FUNCTION audit_log_keyed_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.row_mac IS NULL THEN
        RAISE EXCEPTION 'audit_log takes keyed rows only' USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END
    $$`
  yield* sql`
    CREATE TRIGGER audit_log_keyed_only BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_keyed_only()`
  yield* sql`CREATE INDEX audit_log_actor_ref_idx ON audit_log (actor_ref) WHERE actor_ref IS NOT NULL`
  yield* sql`CREATE INDEX audit_log_user_resource_idx ON audit_log (resource_id) WHERE resource_type IN ('user', 'account')`

  yield* sql`
    CREATE TABLE audit_seal (
      position  bigint PRIMARY KEY CHECK (position >= 1),
      row_id    uuid NOT NULL UNIQUE,
      row_seq   bigint NOT NULL UNIQUE,
      epoch     text NOT NULL CHECK (epoch ~ '^[0-9]{4}-[0-9]{2}$'),
      prev_mac  bytea CHECK (octet_length(prev_mac) = 32),
      mac       bytea NOT NULL CHECK (octet_length(mac) = 32),
      sealed_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`

  yield* sql`
    CREATE TABLE audit_personal (
      row_id     uuid PRIMARY KEY,
      client_ip  text,
      user_agent text
    )`

  yield* sql`
    CREATE FUNCTION audit_seal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_seal is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`
  yield* sql`
    CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_seal
    FOR EACH ROW EXECUTE FUNCTION audit_seal_refuse_change()`
  yield* sql`
    CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_seal
    FOR EACH STATEMENT EXECUTE FUNCTION audit_seal_refuse_change()`

  // Roles are cluster-wide: another database of the cluster may be creating it at the same moment.
  yield* sql`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'serenya_app') THEN
        CREATE ROLE serenya_app NOLOGIN;
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END
    $$`
  yield* sql`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM serenya_app`
  yield* sql`REVOKE UPDATE (actor_user_id, actor_pseudonym) ON audit_log FROM serenya_app`
  yield* sql`GRANT SELECT, INSERT ON audit_log TO serenya_app`
  yield* sql`GRANT USAGE ON SEQUENCE audit_log_seq_seq TO serenya_app`
  yield* sql`GRANT SELECT, INSERT ON audit_seal TO serenya_app`
  yield* sql`GRANT SELECT, INSERT, DELETE ON audit_personal TO serenya_app`
})
