/**
 * Push notifications (issue 21 §3): the user's devices and the outbox of pushes owed to them.
 *
 * `devices`: one row per app install that registered for pushes (programs/devices.ts). The push
 * token is sealed for its row (context `devices.token_encrypted`, rotated with the other sealed
 * columns) and found only by `token_hash`, an HMAC of (platform, token) under the lookup key
 * (as users.email_hash): unique per user, so registering the same token again answers the same
 * row; indexed alone so that a token registered by another account (the phone changed hands)
 * moves to the new one. `endpoint` is the provider's (an SNS endpoint ARN live, `local:…` here):
 * not a secret, but no more than an id either. At most MAX_DEVICES_PER_USER rows per user, kept
 * by the program (the least recently registered one is replaced).
 *
 * `notification_outbox`: the pushes a job's completion or failure owes each device of its user,
 * written in the transaction that finishes the job (so a commit always has its pushes recorded,
 * and a rollback none), claimed by lease, deleted once the provider accepted the push. Unique per
 * (job, device, kind): a job notifies a device once. A row holds ids and a kind, nothing else.
 *
 * A removed device's endpoint is owed to the provider (unregister): the erasure outbox's new kind
 * `push_endpoint`, whose target is the endpoint.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { APP_ROLE } from "../roles.js"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE devices (
      id              uuid PRIMARY KEY,
      user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      platform        text NOT NULL CHECK (platform IN ('ios', 'android')),
      token_encrypted bytea NOT NULL,
      token_hash      bytea NOT NULL,
      endpoint        text NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      UNIQUE (user_id, token_hash)
    )`
  // The same token under another account; an endpoint still held (before unregistering it).
  yield* sql`CREATE INDEX devices_token_hash_idx ON devices (token_hash)`
  yield* sql`CREATE INDEX devices_endpoint_idx ON devices (endpoint)`

  yield* sql`
    CREATE TABLE notification_outbox (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      device_id       uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
      job_id          uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
      kind            text NOT NULL CHECK (kind IN ('job.completed', 'job.failed')),
      content_id      uuid,
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error      text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      UNIQUE (job_id, device_id, kind)
    )`
  yield* sql`CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at)`
  yield* sql`CREATE INDEX notification_outbox_device_idx ON notification_outbox (device_id)`
  yield* sql`CREATE INDEX notification_outbox_user_idx ON notification_outbox (user_id)`

  // A removed device's provider endpoint is owed (unregistered by the drainers).
  yield* sql`ALTER TABLE erasure_outbox DROP CONSTRAINT erasure_outbox_kind_check`
  yield* sql`ALTER TABLE erasure_outbox ADD CONSTRAINT erasure_outbox_kind_check CHECK (kind IN ('object', 'upload', 'cost_records', 'push_endpoint'))`

  // Registered (the upsert rewrites endpoint and updated_at), re-wrapped by key rotation (the
  // token), removed by the user, by a disabled endpoint and with the account (0007: each table its own grants).
  yield* sql`REVOKE ALL ON TABLE devices FROM PUBLIC`
  yield* sql.unsafe(`GRANT SELECT, INSERT, UPDATE (endpoint, updated_at, token_encrypted), DELETE ON TABLE devices TO ${APP_ROLE}`)
  // Written with a job's outcome, claimed, retried and removed by the drainers.
  yield* sql`REVOKE ALL ON TABLE notification_outbox FROM PUBLIC`
  yield* sql.unsafe(
    `GRANT SELECT, INSERT, UPDATE (attempts, next_attempt_at, last_error), DELETE ON TABLE notification_outbox TO ${APP_ROLE}`
  )
})
