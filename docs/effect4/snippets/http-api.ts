/**
 * Verifies on effect 4.1.5: HttpApi endpoint definition (options object), typed error with status + JSON body,
 * payload decode failure (default and with a uniform body), bearer-token middleware providing a user,
 * serving on NodeHttpServer, serving as a web handler, OpenAPI generation.
 * Run: node --experimental-strip-types snippets/http-api.ts   (Node 20: use tsx; see README)
 */
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import {
  HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi
} from "effect/http-api"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { createServer } from "node:http"

// ---- the uniform error body --------------------------------------------------------------
const ErrorDetail = Schema.Struct({ code: Schema.String, message: Schema.String })
// A TaggedError whose wire form is {"_tag":..., "error": {...}}; status from the annotation.
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { error: ErrorDetail }, { httpApiStatus: 404 }) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { error: ErrorDetail }, { httpApiStatus: 401 }) {}
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { error: ErrorDetail }, { httpApiStatus: 400 }) {}
// Same wire shape without the _tag: a plain Struct, status via HttpApiSchema.status
export const Conflict = Schema.Struct({ error: ErrorDetail }).pipe(HttpApiSchema.status(409))

// ---- services -----------------------------------------------------------------------------
export class CurrentUser extends Context.Service<CurrentUser, { readonly id: string }>()("CurrentUser") {}

export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentUser }>()("Authentication", {
  error: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer.pipe(HttpApiSecurity.annotate(OpenApi.Description, "access token")) }
}) {}

// Renders request-decoding failures (HttpApiSchemaError) as our body instead of the default empty 400.
export class SchemaErrors extends HttpApiMiddleware.Service<SchemaErrors>()("SchemaErrors", { error: BadRequest }) {}

const User = Schema.Struct({ id: Schema.String, name: Schema.String })

class UsersGroup extends HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.get("get", "/users/:id", {
      params: { id: Schema.String },
      success: User,
      error: NotFound
    }).annotate(OpenApi.Summary, "one user"),
    HttpApiEndpoint.post("create", "/users", {
      payload: Schema.Struct({ name: Schema.String.check(Schema.isMinLength(1)) }),
      success: User.pipe(HttpApiSchema.status(201)),
      error: [Conflict]
    }),
    HttpApiEndpoint.get("me", "/me", { success: User }).middleware(Authentication),
    HttpApiEndpoint.delete("remove", "/users/:id", { params: { id: Schema.String } })
  )
  .middleware(SchemaErrors)
{}

class Api extends HttpApi.make("demo").add(UsersGroup).annotateMerge(OpenApi.annotations({ title: "Demo", version: "0.1.0" })) {}

// NOTE v4: middleware implementations are provided to the *group* layer (the group's handlers require them).
const UsersLiveNoDeps = HttpApiBuilder.group(Api, "users", (handlers) =>
  handlers
    .handle("get", ({ params }) =>
      params.id === "1"
        ? Effect.succeed({ id: "1", name: "Ada" })
        : Effect.fail(new NotFound({ error: { code: "NOT_FOUND", message: `no user ${params.id}` } })))
    .handle("create", ({ payload }) =>
      payload.name === "taken"
        ? Effect.fail({ error: { code: "CONFLICT", message: "taken" } })
        : Effect.succeed({ id: "2", name: payload.name }))
    .handle("me", () => CurrentUser.useSync((u) => ({ id: u.id, name: "me" })))
    .handle("remove", () => Effect.void)
)

const AuthenticationLive = Layer.succeed(Authentication, {
  bearer: (httpEffect, { credential }) =>
    Redacted.value(credential) === "good"
      ? Effect.provideService(httpEffect, CurrentUser, { id: "u-1" })
      : Effect.fail(new Unauthorized({ error: { code: "UNAUTHENTICATED", message: "bad token" } }))
})

const SchemaErrorsLive = HttpApiMiddleware.layerSchemaErrorTransform(SchemaErrors, (e) =>
  Effect.fail(new BadRequest({ error: { code: "BAD_REQUEST", message: `${e.kind}: ${e.cause.message}` } })))

const UsersLive = UsersLiveNoDeps.pipe(Layer.provide([AuthenticationLive, SchemaErrorsLive]))
export const ApiRoutes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(Layer.provide(UsersLive))

// A global router middleware: the place for request ids / security headers (was HttpApiBuilder.middleware / HttpMiddleware.make).
const Headers = HttpRouter.middleware((app) => Effect.map(app, HttpServerResponse.setHeader("x-request-id", "rid-1")), { global: true })
const AllRoutes = Layer.mergeAll(ApiRoutes, Headers)

const requests: Array<[string, string, RequestInit?]> = [
  ["GET ok", "/users/1"],
  ["GET typed 404", "/users/9"],
  ["POST ok", "/users", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Bo" }) }],
  ["POST 409 (plain struct error)", "/users", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "taken" }) }],
  ["POST bad payload", "/users", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "" }) }],
  ["POST not json", "/users", { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" }],
  ["GET /me no token", "/me"],
  ["GET /me bad token", "/me", { headers: { authorization: "Bearer bad" } }],
  ["GET /me good token", "/me", { headers: { authorization: "Bearer good" } }],
  ["DELETE no content", "/users/1", { method: "DELETE" }],
  ["GET unknown route", "/nope"],
  ["PUT wrong method", "/users/1", { method: "PUT" }]
]

const show = async (label: string, res: Response) =>
  console.log(`${label.padEnd(32)} ${res.status} ${res.headers.get("content-type") ?? "-"} x-request-id=${res.headers.get("x-request-id")} ${(await res.text()).slice(0, 160)}`)

// 1. NodeHttpServer
const program = Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const address = server.address as { port: number }
  console.log("== NodeHttpServer on port", address.port)
  for (const [label, path, init] of requests) {
    yield* Effect.promise(async () => show(label, await fetch(`http://127.0.0.1:${address.port}${path}`, init)))
  }
})
const ServerLive = HttpRouter.serve(AllRoutes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0 }))
)
await Effect.runPromise(program.pipe(Effect.provide(ServerLive)))

// 2. web handler (Bun / Lambda)
console.log("== HttpRouter.toWebHandler")
const { handler, dispose } = HttpRouter.toWebHandler(AllRoutes.pipe(Layer.provide(HttpServer.layerServices)), { disableLogger: true })
for (const [label, path, init] of requests) await show(label, await handler(new Request(`http://localhost${path}`, init)))
await dispose()

// 3. OpenAPI
const spec = OpenApi.fromApi(Api)
console.log("== OpenAPI", spec.openapi, JSON.stringify(spec.info))
for (const [path, item] of Object.entries(spec.paths)) for (const [method, op] of Object.entries(item as Record<string, any>)) {
  console.log(method.toUpperCase(), path, "responses:", Object.keys(op.responses ?? {}).join(","), "security:", JSON.stringify(op.security ?? []))
}
console.log("components.schemas:", Object.keys(spec.components.schemas).join(","), "securitySchemes:", JSON.stringify(spec.components.securitySchemes))
console.log("404 schema of users.get:", JSON.stringify((spec.paths["/users/{id}"] as any).get.responses["404"]))
void HttpApiError
