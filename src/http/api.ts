/**
 * The HTTP API definition: groups, endpoints, schemas. OpenAPI is generated from this, and
 * the typed client (`HttpApiClient.make(Api)`) is derived from it.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { ErrorRenderer, errorResponse } from "./errors.js"
import { AuthGroup } from "./groups/auth.js"
import { AccountGroup } from "./groups/account.js"
import { ChatGroup } from "./groups/chat.js"
import { ContentGroup } from "./groups/content.js"
import { DocumentsGroup } from "./groups/documents.js"
import { SubscriptionsGroup } from "./groups/subscriptions.js"

export class Health extends Schema.Class<Health>("Health")({
  status: Schema.Literal("ok")
}) {}

export class Readiness extends Schema.Class<Readiness>("Readiness")({
  status: Schema.Literal("ready"),
  checks: Schema.Struct({ database: Schema.Literal("ok") })
}) {}

export class OpsGroup extends HttpApiGroup.make("ops")
  .add(
    HttpApiEndpoint.get("health", "/health", { success: Health })
      .annotate(OpenApi.Summary, "Liveness: the process is up (touches no dependency)")
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready", {
      success: Readiness,
      error: errorResponse(503, "A dependency (the database) is not answering yet")
    })
      .annotate(OpenApi.Summary, "Readiness: the database answers")
  )
  .annotate(OpenApi.Title, "Operations")
{}

/**
 * The API without its user-facing groups: operations and the API-level errors. Test probes
 * extend this one, so they need no service of the user-facing handlers.
 * `.middleware(ErrorRenderer)` applies to the groups added so far (4.1.5), so every API that
 * adds groups to this one applies it again after them (`withRenderer`).
 */
export class CoreApi extends HttpApi.make("serenya")
  .add(OpsGroup)
  .middleware(ErrorRenderer)
  .annotate(OpenApi.Title, "Serenya API")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(OpenApi.License, { name: "Proprietary" })
  // Relative: the same document serves every deployment (local, Lambda stages, EKS).
  .annotate(OpenApi.Servers, [{ url: "/", description: "This deployment" }])
  // The description, and what the document says beyond this definition, are added where it is
  // served (documentation.ts, openapi.ts), so that processes that serve none do not carry them.
{}

/** The whole API; the renderer (outermost: it also renders Authentication's 401) on every endpoint. */
export class Api extends CoreApi.add(AuthGroup)
  .add(DocumentsGroup)
  .add(ContentGroup)
  .add(ChatGroup)
  .add(SubscriptionsGroup)
  .add(AccountGroup)
  .middleware(ErrorRenderer)
{}
