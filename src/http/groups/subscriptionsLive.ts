/** Handlers of the subscriptions group. */
import { HttpApiBuilder } from "effect/http-api"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Effect } from "effect"
import { getSubscriptionStatus } from "../../programs/subscription.js"
import { Api } from "../api.js"
import { entityTag, ifNoneMatchMatches, REVALIDATE_EVERY_TIME } from "../conditional.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"
import { SubscriptionStatusBody } from "./subscriptions.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

export const SubscriptionsLive = HttpApiBuilder.group(Api, "subscriptions", (handlers) =>
  handlers.handle("status", () =>
    Effect.gen(function* () {
      const userId = yield* currentUserId
      const status = yield* classifiedOnly(getSubscriptionStatus(userId, yield* auditContext))
      // Whose it is and all it shows: another user's tag, or an older answer's, never matches.
      const etag = entityTag([userId, JSON.stringify(status)])
      // The client may keep the answer but asks again (If-None-Match) before every use: a max-age
      // would let it show a plan that was upgraded meanwhile. The middleware's hook (every
      // response `no-store`) ran first: this one, added later, runs after it, and only on the answer.
      yield* HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(
          response.status === 200 || response.status === 304
            ? HttpServerResponse.setHeaders(response, { "cache-control": REVALIDATE_EVERY_TIME, etag })
            : response
        )
      )
      const request = yield* HttpServerRequest.HttpServerRequest
      if (ifNoneMatchMatches(request.headers["if-none-match"], etag)) return HttpServerResponse.empty({ status: 304 })
      return new SubscriptionStatusBody(status, { disableChecks: true })
    })
  )
)
