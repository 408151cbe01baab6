/**
 * Job progress as events (programs/jobEvents.ts, layers/jobEvents/postgres.ts): every change of a
 * job's status, stage or attempt notifies `job_events` with the job's id — the id alone, never
 * anything of the user's or the document's; a listener reads the row again (scoped to its user)
 * to learn what changed. The notification is sent when the changing transaction commits, so the
 * row read after it is the committed one; a transaction that rolls back notifies nothing.
 *
 * Heartbeats (lease_expires_at) and the originals' bookkeeping change none of these columns and
 * notify nothing. Listening needs no grant: any role that can connect may LISTEN, which is why a
 * notification is only ever a cue to re-read.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // The channel is layers/jobEvents/postgres.ts's JOB_EVENTS_CHANNEL (its test proves they agree).
  yield* sql`
    CREATE FUNCTION jobs_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('job_events', NEW.id::text);
      RETURN NULL;
    END
    $$`

  yield* sql`
    CREATE TRIGGER jobs_notify_change
    AFTER UPDATE OF status, stage, attempts ON jobs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
       OR OLD.stage IS DISTINCT FROM NEW.stage
       OR OLD.attempts IS DISTINCT FROM NEW.attempts)
    EXECUTE FUNCTION jobs_notify_change()`
})
