/** Handlers of the account group. */
import { HttpApiBuilder } from "effect/http-api"
import { Effect } from "effect"
import { deleteAccount, exportUserData, getProfile } from "../../programs/account.js"
import { Api } from "../api.js"
import { AccountExportBody, ProfileBody } from "./account.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

export const AccountLive = HttpApiBuilder.group(Api, "account", (handlers) =>
  handlers
    .handle("profile", () =>
      Effect.gen(function* () {
        return new ProfileBody(yield* classifiedOnly(getProfile(yield* currentUserId, yield* auditContext)), { disableChecks: true })
      })
    )
    .handle("export", () =>
      Effect.gen(function* () {
        return new AccountExportBody(yield* classifiedOnly(exportUserData(yield* currentUserId, yield* auditContext)), { disableChecks: true })
      })
    )
    .handle("delete", () =>
      Effect.gen(function* () {
        yield* classifiedOnly(deleteAccount(yield* currentUserId, yield* auditContext))
      })
    )
)
