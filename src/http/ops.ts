/** Handlers of the operations group: liveness and readiness. */
import { HttpApiBuilder } from "effect/http-api"
import { Effect } from "effect"
import { Database } from "../services/database.js"
import { Api, Health, Readiness } from "./api.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

export const OpsLive = HttpApiBuilder.group(Api, "ops", (handlers) =>
  handlers
    .handle("health", () => Effect.succeed(new Health({ status: "ok" }, { disableChecks: true })))
    .handle("ready", () =>
      Database.pipe(
        Effect.flatMap((db) => db.ping),
        Effect.as(new Readiness({ status: "ready", checks: { database: "ok" } }, { disableChecks: true }))
      )
    )
)
