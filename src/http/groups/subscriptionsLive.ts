/** Handlers of the subscriptions group. */
import { HttpApiBuilder } from "effect/http-api"
import { Effect } from "effect"
import { getSubscriptionStatus } from "../../programs/subscription.js"
import { Api } from "../api.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"
import { SubscriptionStatusBody } from "./subscriptions.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

export const SubscriptionsLive = HttpApiBuilder.group(Api, "subscriptions", (handlers) =>
  handlers.handle("status", () =>
    Effect.gen(function* () {
      const status = yield* classifiedOnly(getSubscriptionStatus(yield* currentUserId, yield* auditContext))
      return new SubscriptionStatusBody(status, { disableChecks: true })
    })
  )
)
