/**
 * The HTTP application as layers, independent of how it is served, without its documentation:
 * what the Lambda API function serves (API Gateway routes only the API's endpoints, so the OpenAPI
 * document and its page would be dead weight in its bundle and its cold start). app.ts adds the
 * documentation for the Node server and the tests.
 */
import { type HttpApi, HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import { type HttpRouter as HttpRouterTypes, HttpMiddleware, HttpRouter } from "effect/http"
import { Effect, Layer, Option } from "effect"
import { HttpConfig } from "../config/http.js"
import { TelemetryConfig } from "../config/telemetry.js"
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
  /** The routes' layer, given the API definition it documents. */
  readonly layer: <Id extends string, Groups extends HttpApiGroup.Constraint>(
    definition: HttpApi.HttpApi<Id, Groups>
  ) => Layer.Layer<never, never, HttpRouterTypes.HttpRouter>
}

/**
 * The API with every group's handlers; needs the services the handlers use (the programs'
 * services, the database, AccessTokens for bearer authentication, the settings slices they read).
 */
/** One set of buckets per process (limits are per instance). */
export const RateLimitsLive = Layer.effect(
  RateLimits,
  Effect.map(HttpConfig, ({ rateLimit, trustedProxyHops }) =>
    makeRateLimiter({
      perIp: { capacity: rateLimit.ipCapacity, refillPerSecond: rateLimit.ipRefillPerSecond },
      perUser: { capacity: rateLimit.userCapacity, refillPerSecond: rateLimit.userRefillPerSecond },
      maxKeys: rateLimit.maxKeys,
      clientKey: (request) => Option.getOrElse(clientAddress(request, trustedProxyHops), () => "unknown")
    })
  )
)

/**
 * Middleware implementations are provided to the group layers (4.1.5). The per-IP half of the
 * limiter runs in the request-context middleware, which finds RateLimits among this layer's
 * outputs; the per-user half runs in bearer authentication.
 */
export const ApiLive = HttpApiBuilder.layer(Api).pipe(
  Layer.provide(
    Layer.mergeAll(OpsLive, AuthLive, DocumentsLive, ContentLive, ChatLive, SubscriptionsLive, AccountLive).pipe(
      Layer.provide([AuthenticationLive, ErrorRendererLive])
    )
  ),
  // One limiter for both halves.
  Layer.provideMerge(RateLimitsLive)
)

/**
 * Serves an API layer (and whatever is served beside it) behind the request-context middleware,
 * on whatever HttpServer is provided. `definition` is the API the layer implements: its routes
 * name spans and decide 405s and 415s.
 */
export const serve = <A, E, R, Id extends string = typeof Api.identifier, Groups extends HttpApiGroup.Constraint = never>(
  api: Layer.Layer<A, E, R>,
  definition?: HttpApi.HttpApi<Id, Groups>,
  beside?: ServedBeside
) => HttpRouter.serve(routesOf(api, definition, beside), { disableLogger: true })

/**
 * The routes of `serve` as one layer (on an HttpRouter): the API, what is served beside it, and
 * the request-context middleware (global: it sees unknown routes too). For a server (`serve`) or
 * a web handler (`HttpRouter.toWebHandler`, main/lambda/api.ts).
 */
export const routesOf = <A, E, R, Id extends string = typeof Api.identifier, Groups extends HttpApiGroup.Constraint = never>(
  api: Layer.Layer<A, E, R>,
  /** The API `api` implements; Api when omitted. */
  definition?: HttpApi.HttpApi<Id, Groups>,
  beside?: ServedBeside
) => {
  const routes = definition === undefined ? routeTable(Api, beside?.routes ?? []) : routeTable(definition, beside?.routes ?? [])
  const besideLayer = beside === undefined ? Layer.empty : definition === undefined ? beside.layer(Api) : beside.layer(definition)
  return Layer.unwrap(
    Effect.gen(function* () {
      const http = yield* HttpConfig
      const telemetry = yield* TelemetryConfig
      return requestContext({
        maxBodyBytes: http.maxBodyBytes,
        corsAllowedOrigins: http.corsAllowedOrigins,
        routes,
        sample: makeRequestSampler(telemetry.sampler, telemetry.samplerRatio)
      }).pipe(
        Layer.provideMerge(Layer.mergeAll(api, besideLayer)),
        // requestContext opens the server span itself: the platform's would be a second one per request,
        // carrying the raw path, query and headers. Here, so that a server and a web handler both get it.
        Layer.provideMerge(Layer.succeed(HttpMiddleware.TracerDisabledWhen, () => true))
      )
    })
  )
}
