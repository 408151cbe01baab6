/** HttpApiClient decoding our uniform error body per status (src/http/client.ts relies on this), over NodeHttpServer.layerTest. */
import { describe, expect, it } from "@effect/vitest"
import { Context, Data, Effect, Layer, Schema, SchemaGetter } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema } from "effect/http-api"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"

class ApiError extends Data.TaggedError("ApiError")<{ readonly status: number; readonly code: string; readonly message: string }> {}
class NotFound extends Data.TaggedError("NotFound")<{ readonly message: string }> {}
const ErrorBody = Schema.Struct({ error: Schema.Struct({ code: Schema.String, message: Schema.String }) }).annotate({ identifier: "ErrorBody" })
const Any = Schema.declare((u: unknown): u is NotFound | ApiError => u instanceof NotFound || u instanceof ApiError)
const errorResponse = (status: number) => ErrorBody.pipe(
  Schema.decodeTo(Any, {
    decode: SchemaGetter.transform((b) => new ApiError({ status, code: b.error.code, message: b.error.message })),
    encode: SchemaGetter.transform((e: NotFound | ApiError) => ({ error: { code: e._tag === "NotFound" ? "NOT_FOUND" : e.code, message: e.message } }))
  }),
  HttpApiSchema.status(status))

class Renderer extends HttpApiMiddleware.Service<Renderer>()("Renderer") {}
const RendererLive = Layer.succeed(Renderer, (app) => app.pipe(Effect.catchCause((cause) => {
  const r = cause.reasons[0]
  return Effect.succeed(r?._tag === "Fail" && r.error instanceof NotFound
    ? HttpServerResponse.jsonUnsafe({ error: { code: "NOT_FOUND", message: r.error.message } }, { status: 404 })
    : HttpServerResponse.jsonUnsafe({ error: { code: "INTERNAL", message: "unexpected" } }, { status: 500 }))
})))
class G extends HttpApiGroup.make("g").add(HttpApiEndpoint.get("get", "/x/:id", { params: { id: Schema.String }, success: Schema.String, error: [errorResponse(404), errorResponse(500)] })) {}
class Api extends HttpApi.make("c").add(G).middleware(Renderer) {}
const Live = HttpRouter.serve(HttpApiBuilder.layer(Api).pipe(Layer.provide(HttpApiBuilder.group(Api, "g", (h) =>
  h.handle("get", ({ params }) => params.id === "1" ? Effect.succeed("one") : params.id === "boom" ? Effect.die("x") : Effect.fail(new NotFound({ message: "nope" }))))
  .pipe(Layer.provide(RendererLive)))), { disableLogger: true, disableListenLog: true }).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

describe("HttpApiClient and the uniform error body", () => {
  it.effect("decodes 404 and 500 bodies into ApiError with the right status", () =>
    Effect.gen(function*() {
      const client = yield* HttpApiClient.make(Api)
      expect(yield* client.g.get({ params: { id: "1" } })).toBe("one")
      const e404 = yield* Effect.flip(client.g.get({ params: { id: "2" } }))
      const e500 = yield* Effect.flip(client.g.get({ params: { id: "boom" } }))
      console.log("client errors:", JSON.stringify([e404, e500]))
      expect(e404).toMatchObject({ _tag: "ApiError", status: 404, code: "NOT_FOUND" })
      expect(e500).toMatchObject({ _tag: "ApiError", status: 500, code: "INTERNAL" })
    }).pipe(Effect.provide(Live)))
})
void Context
