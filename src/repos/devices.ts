/**
 * `devices` (migration 0011): the app installs a user registered for pushes. The push token is
 * sealed by the caller for its row (`devices.token_encrypted`) and found only by `token_hash` (an
 * HMAC of platform and token under the lookup key, computed by the caller): unique per user, so a
 * second registration of a token is an update of its row. Every statement is scoped to the user
 * in the SQL but two: a token registered under another account is taken from it
 * (`takeTokenFromOtherUsers`), and the outbox's drainer removes a device whose endpoint the
 * provider disabled (`deleteDisabledDevice`) and asks whether an endpoint is still held.
 * Rows answered to callers never carry the token; the endpoint only where it is owed to the provider.
 */
import { Effect, Option, Schema } from "effect"
import { bytea, decodeRows, SqlClient } from "../services/database.js"
import { DeviceId, type UserId } from "../services/ids.js"
import { DevicePlatform } from "../services/notifications.js"

const Registered = Schema.Struct({
  id: DeviceId,
  platform: DevicePlatform,
  createdAt: Schema.Date,
  /** The endpoint the row held before this registration; null for a new row. */
  previousEndpoint: Schema.NullOr(Schema.String)
})
const decodeRegistered = decodeRows(Registered)

const DeviceRow = Schema.Struct({ id: DeviceId, platform: DevicePlatform, createdAt: Schema.Date })
export type DeviceRow = typeof DeviceRow.Type
const decodeDevices = decodeRows(DeviceRow)

const decodeEndpoints = decodeRows(Schema.Struct({ endpoint: Schema.String }))

/**
 * Inserts the device, or — the user registered this token before — points its row at `endpoint`
 * and marks it registered now (the row keeps its id, creation time and sealed token). The caller
 * holds the user's row locked (users.ts `lockUser`), so registrations of one user do not race.
 */
export const upsertDevice = (device: {
  readonly id: DeviceId
  readonly userId: UserId
  readonly platform: DevicePlatform
  readonly tokenEncrypted: Uint8Array
  readonly tokenHash: Uint8Array
  readonly endpoint: string
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        WITH previous AS (
          SELECT endpoint FROM devices WHERE user_id = ${device.userId}::uuid AND token_hash = ${bytea(device.tokenHash)})
        INSERT INTO devices (id, user_id, platform, token_encrypted, token_hash, endpoint)
        VALUES (${device.id}::uuid, ${device.userId}::uuid, ${device.platform}, ${bytea(device.tokenEncrypted)},
                ${bytea(device.tokenHash)}, ${device.endpoint})
        ON CONFLICT (user_id, token_hash) DO UPDATE SET endpoint = EXCLUDED.endpoint, updated_at = now()
        RETURNING id, platform, created_at, (SELECT endpoint FROM previous) AS previous_endpoint`,
      (rows) => Effect.orDie(Effect.map(decodeRegistered(rows), ([row]) => row!))
    )
  )

/**
 * The same token held under other accounts (the phone changed hands: an install has one user at
 * a time) is removed from them; answers the endpoints those rows held.
 */
export const takeTokenFromOtherUsers = (userId: UserId, tokenHash: Uint8Array) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`DELETE FROM devices WHERE token_hash = ${bytea(tokenHash)} AND user_id <> ${userId}::uuid RETURNING endpoint`,
      (rows) => Effect.orDie(Effect.map(decodeEndpoints(rows), (found) => found.map((row) => row.endpoint)))
    )
  )

/** Keeps the user's `keep` most recently registered devices and deletes the rest; answers the endpoints deleted. */
export const trimDevices = (userId: UserId, keep: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        DELETE FROM devices WHERE user_id = ${userId}::uuid AND id NOT IN (
          SELECT id FROM devices WHERE user_id = ${userId}::uuid ORDER BY updated_at DESC, created_at DESC, id LIMIT ${keep})
        RETURNING endpoint`,
      (rows) => Effect.orDie(Effect.map(decodeEndpoints(rows), (found) => found.map((row) => row.endpoint)))
    )
  )

/** Deletes the user's device (its pending pushes go by cascade); its endpoint, or none when it is missing or someone else's. */
export const deleteDevice = (userId: UserId, deviceId: DeviceId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`DELETE FROM devices WHERE id = ${deviceId}::uuid AND user_id = ${userId}::uuid RETURNING endpoint`,
      (rows) => Effect.orDie(Effect.map(decodeEndpoints(rows), ([row]) => Option.map(Option.fromNullishOr(row), (r) => r.endpoint)))
    )
  )

/** The user's devices, oldest first: id, platform, when registered first. Never the token or the endpoint. */
export const listDevicesOf = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`SELECT id, platform, created_at FROM devices WHERE user_id = ${userId}::uuid ORDER BY created_at, id`,
      (rows) => Effect.orDie(decodeDevices(rows))
    )
  )

/**
 * The provider disabled the device's endpoint: the device goes (its pending pushes by cascade),
 * unless it was registered again since `version` (its updated_at as read when the push was
 * claimed; registering re-enables the endpoint). Whether it went.
 */
export const deleteDisabledDevice = (deviceId: string, endpoint: string, version: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`
        DELETE FROM devices
        WHERE id = ${deviceId}::uuid AND endpoint = ${endpoint} AND updated_at = ${version}::timestamptz
        RETURNING 1 AS ok`,
      (rows) => rows.length > 0
    )
  )

/** Whether a device still holds the endpoint (registered again since it was owed): then it must not be unregistered. */
export const endpointInUse = (endpoint: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql`SELECT 1 AS ok FROM devices WHERE endpoint = ${endpoint} LIMIT 1`, (rows) => rows.length > 0)
  )
