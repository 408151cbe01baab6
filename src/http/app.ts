/**
 * The whole HTTP application as layers, independent of how it is served: the Node server
 * (main/server.ts), in-process tests (NodeHttpServer.layerTest) and, later, Lambda.
 */
import { type HttpApi, HttpApiBuilder, HttpApiScalar, HttpMiddleware, HttpServer } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"
import { Api } from "./api.js"
import { clientAddress } from "./clientAddress.js"
import { AccountLive } from "./groups/accountLive.js"
import { AuthLive } from "./groups/authLive.js"
import { ChatLive } from "./groups/chatLive.js"
import { ContentLive } from "./groups/contentLive.js"
import { DocumentsLive } from "./groups/documentsLive.js"
import { SubscriptionsLive } from "./groups/subscriptionsLive.js"
import { ErrorRendererLive, requestContext } from "./middleware.js"
import { OpsLive } from "./ops.js"
import { rateLimit } from "./rateLimit.js"
import { routeTable } from "./routes.js"
import { makeRequestSampler } from "./sampling.js"
import { AuthenticationLive } from "./security.js"

const routesOfApi = routeTable(Api, [
  { method: "GET", template: "/openapi.json" },
  { method: "GET", template: "/docs" }
])

/**
 * The API with every group's handlers; needs the services the handlers use (the programs'
 * services, the database, AccessTokens for bearer authentication, AppConfig).
 */
/** One set of buckets per process (limits are per instance). */
export const RateLimitLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (settings) =>
    HttpApiBuilder.middleware(
      rateLimit({
        perIp: { capacity: settings.rateLimit.ipCapacity, refillPerSecond: settings.rateLimit.ipRefillPerSecond },
        perUser: { capacity: settings.rateLimit.userCapacity, refillPerSecond: settings.rateLimit.userRefillPerSecond },
        maxKeys: settings.rateLimit.maxKeys,
        clientKey: (request) => Option.getOrElse(clientAddress(request, settings.trustedProxyHops), () => "unknown")
      })
    )
  )
)

export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([
    OpsLive,
    AuthLive,
    DocumentsLive,
    ContentLive,
    ChatLive,
    SubscriptionsLive,
    AccountLive,
    ErrorRendererLive,
    RateLimitLive
  ]),
  Layer.provide(AuthenticationLive)
)

/**
 * Serves an API layer, its OpenAPI document and the documentation page, behind the
 * request-context middleware, on whatever HttpServer is provided.
 */
export const serveApi = <E, R>(api: Layer.Layer<HttpApi.Api, E, R>) =>
  Layer.unwrapEffect(
    Effect.map(AppConfig, (settings) =>
      HttpApiBuilder.serve(
        requestContext({
          maxBodyBytes: settings.maxBodyBytes,
          corsAllowedOrigins: settings.corsAllowedOrigins,
          routes: routesOfApi,
          sample: makeRequestSampler(settings.telemetry.sampler, settings.telemetry.samplerRatio)
        })
      ).pipe(
        Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
        Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
        Layer.provide(api),
        // requestContext opens the server span itself: the platform's would carry the raw path, query and headers.
        HttpMiddleware.withTracerDisabledWhen(() => true),
        HttpServer.withLogAddress
      )
    )
  )

export const HttpAppLive = serveApi(ApiLive)
