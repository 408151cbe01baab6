/** The plan and what is left of it this period. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { Instant } from "../../services/time.js"
import { Plan } from "../../programs/subscription.js"
import { errorResponse } from "../errors.js"
import { Authentication } from "../security.js"

const Allowance = Schema.Struct({
  used: Schema.Int,
  limit: Schema.NullOr(Schema.Int).annotate({ description: "null: unlimited" })
})

export class SubscriptionStatusBody extends Schema.Class<SubscriptionStatusBody>("SubscriptionStatus")({
  plan: Plan,
  period: Schema.Struct({ start: Instant, end: Instant }),
  documents: Allowance,
  chatMessages: Allowance,
  llmCostCents: Schema.Struct({ used: Schema.Finite, budget: Schema.Finite })
}) {}

export class SubscriptionsGroup extends HttpApiGroup.make("subscriptions")
  .add(
    HttpApiEndpoint.get("status", "/subscriptions/status", {
      success: SubscriptionStatusBody,
      error: errorResponse(503, "The status cannot be read right now; retry")
    })
      .annotate(OpenApi.Summary, "The plan, its period and what is used of it")
      .annotate(
        OpenApi.Description,
        "Answered with `Cache-Control: private, no-cache` and an `ETag`: a client may keep the answer, but asks again before " +
          "each use with `If-None-Match` and gets a 304 without a body while nothing has changed, so a change of plan shows at once. " +
          "The usage may be up to 15 minutes old (the server's cache); the plan and its period are always current."
      )
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Subscriptions")
{}
