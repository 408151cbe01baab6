/**
 * The HTTP API definition: groups, endpoints, schemas. OpenAPI is generated from this, and
 * the typed client (`HttpApiClient.make(Api)`) is derived from it.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { errorResponse } from "./errors.js"
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
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Health)
      .annotate(OpenApi.Summary, "Liveness: the process is up (touches no dependency)")
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(Readiness)
      .addError(errorResponse(503, "A dependency (the database) is not answering yet"))
      .annotate(OpenApi.Summary, "Readiness: the database answers")
  )
  .annotate(OpenApi.Title, "Operations")
{}

/**
 * The API without its user-facing groups: operations and the API-level errors. Test probes
 * extend this one, so they need no service of the user-facing handlers.
 */
export class CoreApi extends HttpApi.make("serenya")
  .add(OpsGroup)
  .addError(errorResponse(400, "The request is malformed or does not match the schema"))
  .addError(errorResponse(404, "No such resource or endpoint"))
  .addError(errorResponse(500, "An unexpected error; the body says nothing about internals"))
  .annotate(OpenApi.Title, "Serenya API")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(OpenApi.License, { name: "Proprietary" })
  // Relative: the same document serves every deployment (local, Lambda stages, EKS).
  .annotate(OpenApi.Servers, [{ url: "/", description: "This deployment" }])
  // The description, and what the document says beyond this definition, are added where it is
  // served (documentation.ts, openapi.ts), so that processes that serve none do not carry them.
{}

/** The whole API. */
export class Api extends CoreApi.add(AuthGroup)
  .add(DocumentsGroup)
  .add(ContentGroup)
  .add(ChatGroup)
  .add(SubscriptionsGroup)
  .add(AccountGroup)
{}
