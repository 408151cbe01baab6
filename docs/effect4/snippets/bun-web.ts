/** The web handler under Bun (our test:bun path): HttpRouter.toWebHandler + Bun.serve. */
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
class G extends HttpApiGroup.make("g").add(HttpApiEndpoint.get("hi", "/hi", { success: Schema.Struct({ runtime: Schema.String }) })) {}
class Api extends HttpApi.make("b").add(G) {}
const Routes = HttpApiBuilder.layer(Api).pipe(Layer.provide(HttpApiBuilder.group(Api, "g", (h) => h.handle("hi", () => Effect.succeed({ runtime: typeof (globalThis as any).Bun === "object" ? "bun" : "node" })))), Layer.provide(HttpServer.layerServices))
const { handler, dispose } = HttpRouter.toWebHandler(Routes, { disableLogger: true })
const server = (globalThis as any).Bun.serve({ port: 0, fetch: (req: Request) => handler(req) })
const res = await fetch(`http://127.0.0.1:${server.port}/hi`)
console.log("bun:", res.status, await res.text())
server.stop(true)
await dispose()
