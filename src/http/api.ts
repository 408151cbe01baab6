/**
 * The HTTP API definition: groups, endpoints, schemas. OpenAPI is generated from this, and
 * the typed client (`HttpApiClient.make(Api)`) is derived from it.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { errorResponse } from "./errors.js"

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

export class Api extends HttpApi.make("serenya")
  .add(OpsGroup)
  .addError(errorResponse(400, "The request is malformed or does not match the schema"))
  .addError(errorResponse(404, "No such resource or endpoint"))
  .addError(errorResponse(500, "An unexpected error; the body says nothing about internals"))
  .annotate(OpenApi.Title, "Serenya API")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    "Backend of the Serenya mobile health agent. Every error answers with the uniform error body."
  )
{}
