/**
 * `notification_outbox` (migration 0011): the pushes a finished job owes the devices of its user,
 * one row per (job, device, kind), unique — a job notifies a device once. Rows are written in the
 * transaction that finishes the job, claimed by pushing `next_attempt_at` a lease ahead (SKIP
 * LOCKED: two drainers never take one row), and deleted once the provider accepted the push (or
 * the device is gone: cascade). A row holds ids, a kind and counters; never anything of the document.
 */
import { Effect, Schema } from "effect"
import { decodeRows, SqlClient } from "../services/database.js"
import { ContentId, DeviceId, JobId } from "../services/ids.js"
import { DevicePlatform, PushKind } from "../services/notifications.js"

const Uuid = Schema.String.check(Schema.isUUID())

const Claimed = Schema.Struct({
  id: Uuid,
  kind: PushKind,
  jobId: JobId,
  contentId: Schema.NullOr(ContentId),
  attempts: Schema.Number,
  deviceId: DeviceId,
  endpoint: Schema.String,
  platform: DevicePlatform,
  /** The device's updated_at as text (exact to the microsecond): a removal is guarded by it. */
  deviceVersion: Schema.String
})
export type ClaimedPush = typeof Claimed.Type
const decodeClaimed = decodeRows(Claimed)
const decodeIds = decodeRows(Schema.Struct({ id: Uuid }))

/**
 * Inside the transaction that finishes the job: one row per device of the job's user (none when
 * the user has no device). A row already there (the same job, device and kind) stays as it is.
 * Answers the new rows' ids.
 */
export const enqueueForJob = (jobId: JobId, kind: PushKind, contentId: ContentId | null) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        INSERT INTO notification_outbox (user_id, device_id, job_id, kind, content_id)
        SELECT d.user_id, d.id, j.id, ${kind}, ${contentId}::uuid
        FROM jobs j JOIN devices d ON d.user_id = j.user_id
        WHERE j.id = ${jobId}::uuid
        ON CONFLICT (job_id, device_id, kind) DO NOTHING
        RETURNING id`,
      (rows) => Effect.orDie(Effect.map(decodeIds(rows), (found) => found.map((row) => row.id)))
    )
  )

/**
 * Claims up to `batch` due rows (only the job's when `jobId` is given), oldest due first, with
 * their device's endpoint and platform: each one's attempts counted and its next attempt pushed
 * `leaseSeconds` ahead.
 */
export const claimDue = (options: { readonly leaseSeconds: number; readonly batch: number; readonly jobId?: JobId | undefined }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        UPDATE notification_outbox o
        SET attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => ${options.leaseSeconds})
        FROM devices d
        WHERE d.id = o.device_id AND o.id IN (
          SELECT id FROM notification_outbox
          WHERE next_attempt_at <= now() ${options.jobId !== undefined ? sql`AND job_id = ${options.jobId}::uuid` : sql``}
          ORDER BY next_attempt_at
          LIMIT ${options.batch}
          FOR UPDATE SKIP LOCKED)
        RETURNING o.id, o.kind, o.job_id, o.content_id, o.attempts, o.device_id, d.endpoint, d.platform,
                  d.updated_at::text AS device_version`,
      (rows) => Effect.orDie(decodeClaimed(rows))
    )
  )

/** The push was accepted (or is given up): the row goes. */
export const deleteEntry = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM notification_outbox WHERE id = ${id}::uuid`)

/** The push failed: its next attempt in `delaySeconds`, with the error's code. */
export const scheduleRetry = (id: string, delaySeconds: number, errorCode: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      UPDATE notification_outbox
      SET next_attempt_at = now() + make_interval(secs => ${delaySeconds}), last_error = ${errorCode}
      WHERE id = ${id}::uuid`
  )
