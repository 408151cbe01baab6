/**
 * The audit trail becomes append-only for every role: triggers refuse UPDATE, DELETE and
 * TRUNCATE on audit_log, with one narrow exception — pseudonymisation, an UPDATE that only
 * erases actor_user_id and sets actor_pseudonym (once), every other column unchanged. Triggers
 * fire for superusers too; only disabling them (ALTER TABLE … DISABLE TRIGGER, or
 * session_replication_role = replica, both superuser-only) gets past, and the hash chain
 * catches what is changed then.
 *
 * Also adds actor_ref, the hashed actor reference (sha256 of the user id, see
 * layers/audit/chain.ts), so that erasing actor_user_id never changes what a row hashes.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE audit_log ADD COLUMN actor_ref text CHECK (actor_ref ~ '^[0-9a-f]{64}$')`

  yield* sql`
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND TG_LEVEL = 'ROW' THEN
        IF OLD.actor_user_id IS NOT NULL AND NEW.actor_user_id IS NULL
           AND OLD.actor_pseudonym IS NULL AND NEW.actor_pseudonym IS NOT NULL
           AND (to_jsonb(NEW) - 'actor_user_id' - 'actor_pseudonym') = (to_jsonb(OLD) - 'actor_user_id' - 'actor_pseudonym')
        THEN
          RETURN NEW;
        END IF;
      END IF;
      RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The only change allowed is pseudonymisation: actor_user_id to NULL with an actor_pseudonym.';
    END
    $$`

  yield* sql`
    CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`

  yield* sql`
    CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`
})
