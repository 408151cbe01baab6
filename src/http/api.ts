/**
 * The HTTP API definition: groups, endpoints, schemas. OpenAPI is generated from this, and
 * the typed client (`HttpApiClient.make(Api)`) is derived from it.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { errorResponse } from "./errors.js"
import { refineDocument } from "./openapi.js"
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

const API_DESCRIPTION = [
  "Backend of the Serenya mobile health agent.",
  "",
  "- **Errors**: every failure answers with the uniform error body (`ErrorBody`) and a stable `code`; 429 and 503 carry `Retry-After`.",
  "- **Authentication** (bearer access tokens) is checked before the request's parameters and body are validated: without a valid token an operation that needs one answers 401 and says nothing about the rest of the request. Refused even before authentication, on what the document itself says: a method the path does not have (405), a body of a media type the operation does not take (415), a body over the size limit (413).",
  "- **Ids** in paths are UUIDs: one that is not is a 400; another user's id answers 404 exactly like a missing one.",
  "- **Request bodies** are JSON (`Content-Type: application/json`; uploads may also be `multipart/form-data`); another media type is a 415, a body over `MAX_BODY_BYTES` (8 MiB by default) a 413, on any operation. A body without a Content-Type is read as JSON.",
  "- **Unknown fields** in a request body are ignored, so that an app newer than the server keeps working; every field the server reads is in the schema.",
  "- **Methods**: a method a path does not have answers 405 with `Allow`; HEAD is answered wherever GET is.",
  "- **Rate limits** per client IP and per access token on every operation but `/health` and `/ready`: 429 with `Retry-After`; answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.",
  "- Every answer carries `X-Request-Id` (a well-formed one sent by the client is echoed)."
].join("\n")

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
  .annotate(OpenApi.Description, API_DESCRIPTION)
  .annotate(OpenApi.Transform, (spec) => refineDocument(spec as unknown as Record<string, unknown>) as unknown as typeof spec)
{}

/** The whole API. */
export class Api extends CoreApi.add(AuthGroup)
  .add(DocumentsGroup)
  .add(ContentGroup)
  .add(ChatGroup)
  .add(SubscriptionsGroup)
  .add(AccountGroup)
{}
