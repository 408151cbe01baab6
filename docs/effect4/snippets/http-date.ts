/** Schema.Date in HttpApi success/payload schemas on 4.1.5 (v3 Schema.Date = ISO string <-> Date). */
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
const Body = Schema.Struct({ at: Schema.Date, n: Schema.Number })
class G extends HttpApiGroup.make("g").add(
  HttpApiEndpoint.get("get", "/d", { success: Body }),
  HttpApiEndpoint.post("echo", "/d", { payload: Body, success: Body })
) {}
class Api extends HttpApi.make("d").add(G) {}
const GLive = HttpApiBuilder.group(Api, "g", (h) => h.handle("get", () => Effect.succeed({ at: new Date(0), n: NaN })).handle("echo", ({ payload }) => Effect.succeed(payload)))
const { handler, dispose } = HttpRouter.toWebHandler(HttpApiBuilder.layer(Api).pipe(Layer.provide(GLive), Layer.provide(HttpServer.layerServices)), { disableLogger: true })
const r1 = await handler(new Request("http://x/d"))
console.log("GET  success with Schema.Date + NaN:", r1.status, await r1.text())
const r2 = await handler(new Request("http://x/d", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ at: "2026-01-01T00:00:00.000Z", n: 1 }) }))
console.log("POST payload Schema.Date from ISO string:", r2.status, await r2.text())
await dispose()
console.log("OpenAPI schema of Schema.Date field:", JSON.stringify((OpenApi.fromApi(Api).paths["/d"] as any).get.responses["200"].content["application/json"].schema.properties.at))
console.log("Schema.toCodecJson(Schema.Date) encode:", JSON.stringify(Schema.encodeSync(Schema.toCodecJson(Body))({ at: new Date(0), n: 1 })))
