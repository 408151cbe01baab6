/**
 * A per-user stamp of the content table: every insert, update or delete of a user's content bumps
 * `users.content_version` in the same transaction. A cached timeline is served only while its
 * stamp is still the current one, so every instance notices a change made by any other at once,
 * without a shared cache or a message bus.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE users ADD COLUMN content_version bigint NOT NULL DEFAULT 0`
  yield* sql`
    CREATE FUNCTION bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE users SET content_version = content_version + 1 WHERE id = OLD.user_id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        UPDATE users SET content_version = content_version + 1 WHERE id = NEW.user_id;
      END IF;
      RETURN NULL;
    END
    $$`
  yield* sql`
    CREATE TRIGGER content_version_bump
    AFTER INSERT OR UPDATE OR DELETE ON content
    FOR EACH ROW EXECUTE FUNCTION bump_content_version()`
})
