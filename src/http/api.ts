/**
 * The HTTP API definition: groups, endpoints, schemas. OpenAPI is generated from this, and
 * the typed client (`HttpApiClient.make(Api)`) is derived from it.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
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

type Json = { [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const ERROR_BODY_REF = "#/components/schemas/ErrorBody"

/** One line per group, for the documentation's sections. */
const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  Operations: "Liveness and readiness for load balancers and orchestrators.",
  Authentication: "Sign-in with Google (or the development sign-in) and session tokens.",
  Documents: "Upload medical documents and follow their processing.",
  Content: "Interpreted documents: the timeline and each document's results.",
  Chat: "Questions about one interpreted document.",
  Subscriptions: "The plan and what has been used of its limits this period.",
  Account: "The profile, a full export and erasure of the account (GDPR)."
}
const PLATFORM_ERROR_SCHEMAS = ["HttpApiDecodeError", "Issue", "PropertyKey"]

/**
 * The platform documents its decode error under 400, but http/errors.ts renders every failure,
 * that one included, as ErrorBody: make the document say what is actually sent.
 */
export const documentUniformErrors = (spec: Json): Json => {
  const mentionsErrorBody = (schema: unknown): boolean => JSON.stringify(schema ?? null).includes(ERROR_BODY_REF)
  const paths = isObject(spec.paths) ? spec.paths : {}
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue
    for (const operation of Object.values(item)) {
      if (!isObject(operation) || !isObject(operation.responses)) continue
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || !isObject(response) || !isObject(response.content)) continue
        const json = response.content["application/json"]
        if (isObject(json) && mentionsErrorBody(json.schema)) json.schema = { $ref: ERROR_BODY_REF }
      }
    }
  }
  if (Array.isArray(spec.tags)) {
    spec.tags = spec.tags.map((tag) =>
      isObject(tag) && typeof tag.name === "string" && TAG_DESCRIPTIONS[tag.name] !== undefined
        ? { ...tag, description: tag.description ?? TAG_DESCRIPTIONS[tag.name] }
        : tag
    )
  }
  const components = isObject(spec.components) && isObject(spec.components.schemas) ? spec.components.schemas : {}
  for (const name of PLATFORM_ERROR_SCHEMAS) {
    if (!JSON.stringify(paths).includes(`#/components/schemas/${name}`)) delete components[name]
  }
  return spec
}

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
  .annotate(
    OpenApi.Description,
    "Backend of the Serenya mobile health agent. Every error answers with the uniform error body. " +
      "Ids in paths are UUIDs: one that is not is a 400; another user's id answers 404 exactly like a missing one."
  )
  .annotate(OpenApi.Transform, (spec) => documentUniformErrors(spec as Json) as typeof spec)
{}

/** The whole API. */
export class Api extends CoreApi.add(AuthGroup)
  .add(DocumentsGroup)
  .add(ContentGroup)
  .add(ChatGroup)
  .add(SubscriptionsGroup)
  .add(AccountGroup)
{}
