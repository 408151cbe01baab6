/**
 * The whole HTTP application as layers, independent of how it is served: the Node server
 * (main/server.ts), in-process tests (NodeHttpServer.layerTest) and, later, Lambda.
 */
import { type HttpApi, HttpApiBuilder, HttpApiScalar, HttpServer } from "@effect/platform"
import { Effect, Layer } from "effect"
import { AppConfig } from "../config.js"
import { Api } from "./api.js"
import { ErrorRendererLive, requestContext } from "./middleware.js"
import { OpsLive } from "./ops.js"

/** The API with every group's handlers; needs the services the handlers use. */
export const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide([OpsLive, ErrorRendererLive]))

/**
 * Serves an API layer, its OpenAPI document and the documentation page, behind the
 * request-context middleware, on whatever HttpServer is provided.
 */
export const serveApi = <E, R>(api: Layer.Layer<HttpApi.Api, E, R>) =>
  Layer.unwrapEffect(
    Effect.map(AppConfig, (settings) =>
      HttpApiBuilder.serve(requestContext({ maxBodyBytes: settings.maxBodyBytes })).pipe(
        Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
        Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
        Layer.provide(api),
        HttpServer.withLogAddress
      )
    )
  )

export const HttpAppLive = serveApi(ApiLive)
