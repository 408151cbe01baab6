/** Handlers of the account group. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { deleteAccount, exportUserData, getProfile } from "../../programs/account.js"
import { Api } from "../api.js"
import { AccountExportBody, ProfileBody } from "./account.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"

export const AccountLive = HttpApiBuilder.group(Api, "account", (handlers) =>
  handlers
    .handle("profile", () =>
      Effect.gen(function* () {
        return new ProfileBody(yield* classifiedOnly(getProfile(yield* currentUserId, yield* auditContext)))
      })
    )
    .handle("export", () =>
      Effect.gen(function* () {
        return new AccountExportBody(yield* classifiedOnly(exportUserData(yield* currentUserId, yield* auditContext)))
      })
    )
    .handle("delete", () =>
      Effect.gen(function* () {
        yield* classifiedOnly(deleteAccount(yield* currentUserId, yield* auditContext))
      })
    )
)
