/** Handlers of the account group. */
import { HttpApiBuilder } from "effect/http-api"
import { fhirBody } from "../fhirBody.js"
import { recordAsFhir } from "../../programs/fhirExport.js"
import { Effect } from "effect"
import { deleteAccount, exportUserData, getProfile } from "../../programs/account.js"
import { readDevices, registerDevice, removeDevice } from "../../programs/devices.js"
import { Api } from "../api.js"
import { AccountExportBody, DeviceBody, DevicesBody, ProfileBody } from "./account.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

export const AccountLive = HttpApiBuilder.group(Api, "account", (handlers) =>
  handlers
    .handle("profile", () =>
      Effect.gen(function* () {
        return new ProfileBody(yield* classifiedOnly(getProfile(yield* currentUserId, yield* auditContext)), { disableChecks: true })
      })
    )
    .handle("export", ({ query }) =>
      Effect.gen(function* () {
        if (query.format === "fhir") {
          return fhirBody(yield* classifiedOnly(recordAsFhir(yield* currentUserId, yield* auditContext)))
        }
        return new AccountExportBody(yield* classifiedOnly(exportUserData(yield* currentUserId, yield* auditContext)), { disableChecks: true })
      })
    )
    .handle("delete", () =>
      Effect.gen(function* () {
        yield* classifiedOnly(deleteAccount(yield* currentUserId, yield* auditContext))
      })
    )
    .handle("registerDevice", ({ payload }) =>
      Effect.gen(function* () {
        const device = yield* classifiedOnly(
          registerDevice({ userId: yield* currentUserId, platform: payload.platform, token: payload.token, request: yield* auditContext })
        )
        return new DeviceBody(device, { disableChecks: true })
      })
    )
    .handle("devices", () =>
      Effect.gen(function* () {
        const devices = yield* classifiedOnly(readDevices(yield* currentUserId, yield* auditContext))
        return new DevicesBody({ devices: devices.map((device) => new DeviceBody(device, { disableChecks: true })) }, { disableChecks: true })
      })
    )
    .handle("removeDevice", ({ params }) =>
      Effect.gen(function* () {
        yield* classifiedOnly(removeDevice(yield* currentUserId, params.deviceId, yield* auditContext))
      })
    )
)
