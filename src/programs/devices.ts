/**
 * The user's devices for push notifications (issue 21 §3): `POST /me/devices`, `DELETE
 * /me/devices/{id}`, `GET /me/devices`, and the list the export carries.
 *
 * Registering checks the token's shape first (validatePushToken: no provider sees a malformed
 * one, and no answer or log line ever repeats it), then registers it with the provider (outside
 * any transaction: no lock is held across a network call) and records the device in one
 * transaction with its audit event. The token is sealed for its row; the row is found by an HMAC
 * of (platform, token) under the lookup key, so registering the same token again answers the same
 * device (its endpoint refreshed). A token registered under another account is taken from it: an
 * install has one signed-in user at a time, and pushes must follow the person now using it.
 *
 * At most MAX_DEVICES_PER_USER devices per user: registering one more replaces the least recently
 * registered (a phone not opened for long is the likeliest to be gone; refusing instead would
 * leave a user with stale devices unable to add the phone they hold).
 *
 * Every device that goes — removed by the user, replaced, taken by another account, erased with
 * the account (account.ts) — owes its endpoint to the provider: an erasure-outbox entry
 * (`push_endpoint`) written in the same transaction, unregistered right after the commit and by
 * the drainers until it succeeds (programs/erasureOutbox.ts), unless a device holds that endpoint
 * again by then.
 */
import { Cause, Effect, Option } from "effect"
import * as Devices from "../repos/devices.js"
import * as ErasureOutbox from "../repos/erasureOutbox.js"
import { inTransaction } from "../repos/transaction.js"
import * as Users from "../repos/users.js"
import { Audit, type RequestContext } from "../services/audit.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { orDatabaseUnavailable } from "../services/database.js"
import { NotFound, Unauthenticated } from "../services/errors.js"
import { DeviceId, newUuid, type UserId } from "../services/ids.js"
import { type DevicePlatform, type DeviceToken, Notifications, validatePushToken } from "../services/notifications.js"
import { fnTraced } from "../services/telemetry.js"
import { UserLookupKey } from "../services/users.js"
import { drainErasureOutbox, nothingDrained } from "./erasureOutbox.js"

/** Devices a user may have registered at once; one more replaces the least recently registered. */
export const MAX_DEVICES_PER_USER = 10

/** A device as the user sees it: never its token, never its endpoint. */
export interface DeviceSummary {
  readonly id: DeviceId
  readonly platform: DevicePlatform
  readonly createdAt: Date
}

export interface RegisterDeviceInput {
  readonly userId: UserId
  readonly platform: DevicePlatform
  readonly token: string
  readonly request?: RequestContext
}

/** HMAC-SHA256 of the platform and token under the lookup key, domain-separated from the users' hashes. */
export const pushTokenHash = (device: DeviceToken) =>
  Effect.map(UserLookupKey, (key) => key.hmac(`push-token:${device.platform}:${device.token}`))

const tokenContext = (userId: UserId, deviceId: DeviceId) => fieldContext(userId, "devices", "token_encrypted", deviceId)

/**
 * After the commit: the endpoints just owed, unregistered at once. Best effort and bounded: what
 * fails or takes too long stays in the erasure outbox for the drainers.
 */
const releaseEndpoints = (ids: ReadonlyArray<string>) =>
  ids.length === 0
    ? Effect.succeed(nothingDrained())
    : drainErasureOutbox({ ids }).pipe(
      Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.succeed(nothingDrained(ids.length)) }),
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(Effect.logWarning("devices: unregistering is left to the erasure outbox", cause), nothingDrained(ids.length))
      )
    )

/** Registers the device for pushes (201 with its id); the same token again answers the same device. */
export const registerDevice = fnTraced("Devices.register")(
  function* (input: RegisterDeviceInput) {
    const notifications = yield* Notifications
    const crypto = yield* Crypto
    const audit = yield* Audit
    const { userId } = input

    const device = yield* Effect.fromResult(validatePushToken({ platform: input.platform, token: input.token }))
    yield* Effect.annotateCurrentSpan({ "device.platform": device.platform })
    const tokenHash = yield* pushTokenHash(device)
    const endpoint = yield* notifications.register(userId, device)
    // Chosen first so the token is sealed for its row; a registration of a known token keeps the row's own.
    const deviceId = DeviceId.make(yield* newUuid)
    const tokenEncrypted = yield* crypto.sealString(device.token, tokenContext(userId, deviceId))

    const registered = yield* inTransaction(
      Effect.gen(function* () {
        // Serialises this user's registrations, so the bound below holds under concurrency.
        if (!(yield* Users.lockUser(userId))) return yield* new Unauthenticated({ message: "The account no longer exists" })
        const row = yield* Devices.upsertDevice({ id: deviceId, userId, platform: device.platform, tokenEncrypted, tokenHash, endpoint })
        const released = [
          ...(row.previousEndpoint !== null ? [row.previousEndpoint] : []),
          ...(yield* Devices.takeTokenFromOtherUsers(userId, tokenHash)),
          ...(yield* Devices.trimDevices(userId, MAX_DEVICES_PER_USER))
        ].filter((owed) => owed !== endpoint)
        const owed = yield* Effect.forEach([...new Set(released)], ErasureOutbox.owePushEndpoint)
        yield* audit.record({
          ...input.request,
          actorUserId: userId,
          action: "device.register",
          resourceType: "device",
          resourceId: row.id,
          outcome: "success"
        })
        return { device: { id: row.id, platform: row.platform, createdAt: row.createdAt } satisfies DeviceSummary, owed }
      })
    )
    yield* Effect.annotateCurrentSpan({ "device.id": registered.device.id })
    yield* releaseEndpoints(registered.owed)
    return registered.device
  },
  orDatabaseUnavailable("The device could not be registered right now", "devices.register")
)

/** Removes the user's device (204); another user's device, or none, is a 404. */
export const removeDevice = fnTraced("Devices.remove")(
  function* (userId: UserId, deviceId: DeviceId, request: RequestContext = {}) {
    const audit = yield* Audit
    yield* Effect.annotateCurrentSpan({ "device.id": deviceId })
    const owed = yield* inTransaction(
      Effect.gen(function* () {
        const endpoint = yield* Devices.deleteDevice(userId, deviceId)
        if (Option.isNone(endpoint)) return yield* new NotFound({ message: "No such device" })
        const owed = yield* ErasureOutbox.owePushEndpoint(endpoint.value)
        yield* audit.record({ ...request, actorUserId: userId, action: "device.remove", resourceType: "device", resourceId: deviceId, outcome: "success" })
        return owed
      })
    )
    yield* releaseEndpoints([owed])
  },
  orDatabaseUnavailable("The device could not be removed right now", "devices.remove")
)

/** The user's devices, oldest first (id, platform, registered at): the export's list. Not audited (the export is). */
export const listDevices = (userId: UserId) =>
  Effect.map(Devices.listDevicesOf(userId), (rows) => rows.map((row): DeviceSummary => ({ id: row.id, platform: row.platform, createdAt: row.createdAt })))

/** `GET /me/devices`: the user's devices, audited. */
export const readDevices = fnTraced("Devices.list")(
  function* (userId: UserId, request: RequestContext = {}) {
    const audit = yield* Audit
    const devices = yield* listDevices(userId)
    yield* audit.record({ ...request, actorUserId: userId, action: "device.list", resourceType: "account", resourceId: userId, outcome: "success" })
    return devices
  },
  orDatabaseUnavailable("The devices cannot be read right now", "devices.list")
)
