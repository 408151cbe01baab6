/**
 * Our error model on 4.1.5: endpoints declare `errorResponse(status, description)` (wire = uniform ErrorBody,
 * type = any classified error, encode reads the request id from a Reference), and one API-level middleware
 * renders every failure (typed errors, schema errors) to the uniform body with the error's own status.
 */
import { Context, Data, Effect, Layer, Schema, SchemaGetter } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, OpenApi } from "effect/http-api"

const RequestId = Context.Reference<string>("RequestId", { defaultValue: () => "unknown" })
class NotFound extends Data.TaggedError("NotFound")<{ readonly message: string }> { readonly status = 404; readonly code = "NOT_FOUND" }
class Conflict extends Data.TaggedError("Conflict")<{ readonly message: string }> { readonly status = 409; readonly code = "CONFLICT" }
type Classified = NotFound | Conflict
const isClassified = (u: unknown): u is Classified => u instanceof NotFound || u instanceof Conflict

const ErrorBody = Schema.Struct({ error: Schema.Struct({ code: Schema.String, message: Schema.String, correlationId: Schema.String }) })
  .annotate({ identifier: "ErrorBody", description: "The uniform error body" })
const AnyClassified = Schema.declare(isClassified, { identifier: "Classified" })

// v3: Schema.transformOrFail(ErrorBody, AnyClassified, { decode, encode: effectful }).annotations(HttpApiSchema.annotations({ status }))
const errorResponse = (status: number, description: string) =>
  ErrorBody.pipe(
    Schema.decodeTo(AnyClassified, {
      decode: SchemaGetter.transform((body) => (status === 404 ? new NotFound({ message: body.error.message }) : new Conflict({ message: body.error.message }))),
      encode: SchemaGetter.transformEffect((e: Classified) => Effect.map(RequestId, (correlationId) => ({ error: { code: e.code, message: e.message, correlationId } })))
    }),
    Schema.annotate({ description }),
    HttpApiSchema.status(status)
  )

// API-level renderer: sees handler failures before the endpoint's error encoder.
class Renderer extends HttpApiMiddleware.Service<Renderer>()("Renderer") {}
const render = (status: number, code: string, message: string) =>
  Effect.map(RequestId, (correlationId) => HttpServerResponse.jsonUnsafe({ error: { code, message, correlationId } }, { status }))
const RendererLive = Layer.succeed(Renderer, (httpEffect) =>
  Effect.provideService(httpEffect, RequestId, "rid-42").pipe(
    Effect.catchCause((cause) => {
      const reason = cause.reasons[0]
      const error: unknown = reason?._tag === "Fail" ? reason.error : reason?._tag === "Die" ? reason.defect : undefined
      if (isClassified(error)) return render(error.status, error.code, error.message)
      if (HttpApiError.HttpApiSchemaError.is(error) && error.kind !== "Body") return render(400, "BAD_REQUEST", "The request does not match the schema")
      return render(500, "INTERNAL", "An unexpected error")
    }),
    Effect.provideService(RequestId, "rid-42")
  ))

class G extends HttpApiGroup.make("g").add(
  HttpApiEndpoint.post("make", "/things/:id", {
    params: { id: Schema.String },
    payload: Schema.Struct({ n: Schema.Int }),
    success: Schema.Struct({ n: Schema.Int }),
    error: [errorResponse(404, "No such thing"), errorResponse(409, "Already exists")]
  })
) {}
class Api extends HttpApi.make("e").add(G).middleware(Renderer) {}
const GLive = HttpApiBuilder.group(Api, "g", (h) => h.handle("make", ({ params, payload }) =>
  params.id === "missing" ? Effect.fail(new NotFound({ message: "no such thing" }))
    : params.id === "dup" ? Effect.fail(new Conflict({ message: "exists" }))
    : params.id === "boom" ? Effect.die(new Error("internal detail"))
    : Effect.succeed(payload))).pipe(Layer.provide(RendererLive))
const Routes = HttpApiBuilder.layer(Api).pipe(Layer.provide(GLive), Layer.provide(HttpServer.layerServices))

const { handler, dispose } = HttpRouter.toWebHandler(Routes, { disableLogger: true })
const post = (id: string, body: string) => handler(new Request(`http://localhost/things/${id}`, { method: "POST", headers: { "content-type": "application/json" }, body }))
for (const [label, id, body] of [["ok", "1", "{\"n\":1}"], ["NotFound (declared 404)", "missing", "{\"n\":1}"], ["Conflict (declared 409)", "dup", "{\"n\":1}"], ["defect", "boom", "{\"n\":1}"], ["payload invalid", "1", "{\"n\":\"x\"}"]] as const) {
  const res = await post(id, body)
  console.log(label.padEnd(26), res.status, await res.text())
}
await dispose()

// Without the renderer the endpoint's own error encoder picks the FIRST error schema that accepts the value:
class Api2 extends HttpApi.make("e2").add(G) {}
const G2 = HttpApiBuilder.group(Api2, "g", (h) => h.handle("make", ({ params }) => params.id === "dup" ? Effect.fail(new Conflict({ message: "exists" })) : Effect.fail(new NotFound({ message: "nope" }))))
const plain = HttpRouter.toWebHandler(HttpApiBuilder.layer(Api2).pipe(Layer.provide(G2), Layer.provide(HttpServer.layerServices)), { disableLogger: true })
const r2 = await plain.handler(new Request("http://localhost/things/dup", { method: "POST", headers: { "content-type": "application/json" }, body: "{\"n\":1}" }))
console.log("no renderer, Conflict ->".padEnd(26), r2.status, await r2.text())
await plain.dispose()

const spec = OpenApi.fromApi(Api)
const op = (spec.paths["/things/{id}"] as any).post
console.log("OpenAPI responses:", Object.entries(op.responses).map(([k, v]: any) => `${k}:${v.description}:${JSON.stringify(v.content?.["application/json"]?.schema)}`).join(" | "))
console.log("components:", Object.keys(spec.components.schemas))
