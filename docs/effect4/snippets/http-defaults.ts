/**
 * effect 4.1.5 defaults without our middleware: payload decode failure, handler defect, unknown route;
 * then the `middleware` option of HttpRouter.toWebHandler / HttpRouter.serve as the hook that sees EVERY
 * response (incl. unmatched routes), which is where a uniform error body + headers can be enforced.
 */
import { Effect, Layer, Schema, type Types } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiError, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"

class G extends HttpApiGroup.make("g").add(
  HttpApiEndpoint.post("create", "/things", { payload: Schema.Struct({ n: Schema.Int }), success: Schema.Struct({ n: Schema.Int }) }),
  HttpApiEndpoint.get("boom", "/boom", { success: Schema.String }),
  HttpApiEndpoint.get("badOut", "/bad-out", { success: Schema.Struct({ n: Schema.Int }) }),
  HttpApiEndpoint.get("q", "/q", { query: { page: Schema.NumberFromString }, success: Schema.Number })
) {}
class Api extends HttpApi.make("d").add(G) {}
const GLive = HttpApiBuilder.group(Api, "g", (h) => h
  .handle("create", ({ payload }) => Effect.succeed(payload))
  .handle("boom", () => Effect.die(new Error("secret internals")))
  .handle("badOut", () => Effect.succeed({ n: 1.5 }))
  .handle("q", ({ query }) => Effect.succeed(query.page)))
const Routes = HttpApiBuilder.layer(Api).pipe(Layer.provide(GLive), Layer.provide(HttpServer.layerServices))

const reqs: Array<[string, string, RequestInit?]> = [
  ["payload invalid", "/things", { method: "POST", headers: { "content-type": "application/json" }, body: "{\"n\":1.5}" }],
  ["payload wrong content-type", "/things", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }],
  ["query invalid", "/q?page=abc"],
  ["defect in handler", "/boom"],
  ["success fails to encode", "/bad-out"],
  ["unknown route", "/nope"]
]
const run = async (title: string, handler: (r: Request) => Promise<Response>) => {
  console.log("==", title)
  for (const [label, path, init] of reqs) {
    const res = await handler(new Request(`http://localhost${path}`, init))
    console.log(`${label.padEnd(28)} ${res.status} ${res.headers.get("content-type") ?? "-"} x-mw=${res.headers.get("x-mw")} body=${JSON.stringify((await res.text()).slice(0, 200))}`)
  }
}

const plain = HttpRouter.toWebHandler(Routes, { disableLogger: true })
await run("defaults (no middleware)", plain.handler)
await plain.dispose()

// (a) the toWebHandler/serve `middleware` option: per its own d.ts, changes to the response are NOT reflected
//     (it wraps the whole server chain incl. sending). Observed below: x-mw never appears.
const viaOption = HttpRouter.toWebHandler(Routes, {
  disableLogger: true,
  middleware: (app) => Effect.map(app, HttpServerResponse.setHeader("x-mw", "1"))
})
await run("with toWebHandler({ middleware }) option", viaOption.handler)
await viaOption.dispose()

// (b) a GLOBAL HttpRouter.middleware that catches failures: sees RouteNotFound, schema errors, defects.
const seen: Array<string> = []
// Typing note: a global middleware's result must keep `Types.unhandled` in its error channel (a type-level guard),
// so the catch-all is annotated with it although at runtime it never fails.
const Uniform = HttpRouter.middleware((app): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled, HttpServerRequest.HttpServerRequest> => Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  return yield* app.pipe(
    Effect.map(HttpServerResponse.setHeader("x-mw", "1")),
    Effect.catchCause((cause) => {
      const reason = cause.reasons[0]
      const describe = (u: any) => u === null || typeof u !== "object" ? String(u) : `${u._tag ?? u.constructor?.name}${u.reason?._tag ? "/" + u.reason._tag : ""}${u.kind ? "/" + u.kind : ""}`
      const tag = reason?._tag === "Fail" ? `Fail(${describe(reason.error)})` : reason?._tag === "Die" ? `Die(${describe(reason.defect)})` : String(reason?._tag)
      seen.push(`${request.method} ${request.url} -> ${tag}`)
      const status = reason?._tag === "Fail" && (reason.error as any)?.reason?._tag === "RouteNotFound" ? 404
        : reason?._tag === "Die" && HttpApiError.HttpApiSchemaError.is(reason.defect) && reason.defect.kind !== "Body" && reason.defect.kind !== "ResponseHeaders" ? 400 : 500
      return Effect.succeed(HttpServerResponse.jsonUnsafe({ error: { code: status === 404 ? "NOT_FOUND" : status === 400 ? "BAD_REQUEST" : "INTERNAL", message: "uniform" } }, { status, headers: { "x-mw": "1" } }))
    })
  )
}), { global: true })
const viaGlobal = HttpRouter.toWebHandler(Layer.mergeAll(Routes, Uniform), { disableLogger: true })
await run("with a global HttpRouter.middleware catching causes", viaGlobal.handler)
await viaGlobal.dispose()
console.log("what the global middleware saw as failures:\n  " + seen.join("\n  "))
