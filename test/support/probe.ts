/**
 * A probe group added to the core API (operations only) for tests only: a JSON endpoint, an endpoint failing
 * with any error of the model, a defect, and a slow endpoint for shutdown tests.
 */
import { HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Schema } from "effect"
import { configLayer } from "../../src/config.js"
import { CoreApi } from "../../src/http/api.js"
import { serveApi } from "../../src/http/app.js"
import { ErrorRenderer, errorResponse } from "../../src/http/errors.js"
import { ErrorRendererLive } from "../../src/http/middleware.js"
import { OpsLive } from "../../src/http/ops.js"
import type { Database } from "../../src/services/database.js"
import { type Classified, NotFound } from "../../src/services/errors.js"
import { testSettings } from "./settings.js"

/** Errors the `fail` endpoint raises, by kind. */
export const probeFailures = new Map<string, Classified>()

export class Person extends Schema.Class<Person>("Person")({ name: Schema.String, age: Schema.Int }) {}

class ProbeGroup extends HttpApiGroup.make("probe")
  .add(HttpApiEndpoint.post("echo", "/probe/echo", {
      payload: Person,
      success: Person
    }))
  .add(
    HttpApiEndpoint.get("fail", "/probe/fail/:kind", {
      params: Schema.Struct({ kind: Schema.String }),
      error: errorResponse(409, "any")
    })
  )
  .add(HttpApiEndpoint.get("defect", "/probe/defect"))
  .add(HttpApiEndpoint.get("slow", "/probe/slow", {
      success: Schema.String
    }))
{}

export const TestApi = CoreApi.add(ProbeGroup).middleware(ErrorRenderer)

export const ProbeLive = HttpApiBuilder.group(TestApi, "probe", (handlers) =>
  handlers
    .handle("echo", ({ payload }) => Effect.succeed(payload))
    .handle("fail", ({ params }) => Effect.fail(probeFailures.get(params.kind) ?? new NotFound({ message: "no such probe" })))
    .handle("slow", () => Effect.sleep("400 millis").pipe(Effect.as("done")))
    .handle("defect", () => Effect.die(new Error("secret internal detail at /srv/app.ts:12")))
)

/** The served test API on a real Node server (port 0), with the given Database. */
export const appWith = <E, R>(database: Layer.Layer<Database, E, R>, env: Record<string, string> = {}) =>
  serveApi(
    HttpApiBuilder.layer(TestApi).pipe(Layer.provide(Layer.mergeAll(OpsLive, ProbeLive).pipe(Layer.provide(ErrorRendererLive)))),
    TestApi
  ).pipe(
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(database),
    Layer.provide(configLayer(testSettings(env)))
  )

