/**
 * The HTTP application as layers, independent of how it is served, without its documentation:
 * what the Lambda API function serves (API Gateway routes only the API's endpoints, so the OpenAPI
 * document and its page would be dead weight in its bundle and its cold start). app.ts adds the
 * documentation for the Node server and the tests.
 */
import { type HttpApi, HttpApiBuilder } from "effect/http-api"
import { HttpMiddleware, HttpServer } from "effect/http"
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
import { makeRateLimiter, RateLimits } from "./rateLimit.js"
import { routeTable } from "./routes.js"
import { makeRequestSampler } from "./sampling.js"
import { AuthenticationLive } from "./security.js"

/** Routes served beside the API's own endpoints, and the layer that serves them (documentation). */
export interface ServedBeside {
  readonly routes: ReadonlyArray<{ readonly method: string; readonly template: string }>
  readonly layer: Layer.Layer<never, never, HttpApi.Api>
}

/**
 * The API with every group's handlers; needs the services the handlers use (the programs'
 * services, the database, AccessTokens for bearer authentication, AppConfig).
 */
/** One set of buckets per process (limits are per instance). */
export const RateLimitsLive = Layer.effect(
  RateLimits,
  Effect.map(AppConfig, (settings) =>
    makeRateLimiter({
      perIp: { capacity: settings.rateLimit.ipCapacity, refillPerSecond: settings.rateLimit.ipRefillPerSecond },
      perUser: { capacity: settings.rateLimit.userCapacity, refillPerSecond: settings.rateLimit.userRefillPerSecond },
      maxKeys: settings.rateLimit.maxKeys,
      clientKey: (request) => Option.getOrElse(clientAddress(request, settings.trustedProxyHops), () => "unknown")
    })
  )
)

/** The per-IP half on every request; the per-user half runs in bearer authentication. */
const RateLimitMiddlewareLive = Layer.unwrap(Effect.map(RateLimits, (limits) => HttpApiBuilder.middleware(limits.middleware)))

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
    RateLimitMiddlewareLive
  ]),
  Layer.provide(AuthenticationLive),
  // One limiter for both halves.
  Layer.provide(RateLimitsLive)
)

/**
 * Serves an API layer (and whatever is served beside it) behind the request-context middleware,
 * on whatever HttpServer is provided. `definition` is the API the layer implements: its routes
 * name spans and decide 405s and 415s.
 */
export const serve = <E, R>(
  api: Layer.Layer<HttpApi.Api, E, R>,
  definition: HttpApi.Top = Api,
  beside?: ServedBeside
) => {
  const routes = routeTable(definition, beside?.routes ?? [])
  return Layer.unwrap(
    Effect.map(AppConfig, (settings) =>
      HttpApiBuilder.serve(
        requestContext({
          maxBodyBytes: settings.maxBodyBytes,
          corsAllowedOrigins: settings.corsAllowedOrigins,
          routes,
          sample: makeRequestSampler(settings.telemetry.sampler, settings.telemetry.samplerRatio)
        })
      ).pipe(
        Layer.provide(beside?.layer ?? Layer.empty),
        Layer.provide(api),
        // requestContext opens the server span itself: the platform's would carry the raw path, query and headers.
        HttpMiddleware.withTracerDisabledWhen(() => true),
        HttpServer.withLogAddress
      )
    )
  )
}
