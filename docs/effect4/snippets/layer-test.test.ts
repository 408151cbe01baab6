/** NodeHttpServer.layerTest (we use it in 7 test files): serves the router on a random port and provides an HttpClient pointed at it. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { HttpClient, HttpClientRequest, HttpClientResponse, HttpRouter } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"

class G extends HttpApiGroup.make("g").add(
  HttpApiEndpoint.post("echo", "/echo", { payload: Schema.Struct({ a: Schema.Int }), success: Schema.Struct({ a: Schema.Int }) })
) {}
class Api extends HttpApi.make("t").add(G) {}
const Live = HttpRouter.serve(HttpApiBuilder.layer(Api).pipe(Layer.provide(HttpApiBuilder.group(Api, "g", (h) => h.handle("echo", ({ payload }) => Effect.succeed(payload))))), { disableLogger: true, disableListenLog: true })
  .pipe(Layer.provideMerge(NodeHttpServer.layerTest))

describe("NodeHttpServer.layerTest", () => {
  it.effect("raw HttpClient against the test server", () =>
    Effect.gen(function*() {
      const res = yield* HttpClientRequest.post("/echo").pipe(HttpClientRequest.bodyJsonUnsafe({ a: 1 }), HttpClient.execute)
      expect(res.status).toBe(200)
      expect(yield* HttpClientResponse.schemaBodyJson(Schema.Struct({ a: Schema.Int }))(res)).toEqual({ a: 1 })
      const bad = yield* HttpClientRequest.post("/echo").pipe(HttpClientRequest.bodyJsonUnsafe({ a: 1.5 }), HttpClient.execute)
      expect(bad.status).toBe(400)
    }).pipe(Effect.provide(Live)))

  it.effect("typed HttpApiClient against the test server", () =>
    Effect.gen(function*() {
      const client = yield* HttpApiClient.make(Api)
      expect(yield* client.g.echo({ payload: { a: 2 } })).toEqual({ a: 2 })
    }).pipe(Effect.provide(Live)))
})
