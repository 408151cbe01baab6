/**
 * The HTTP API as a Lambda handler behind API Gateway (HTTP API, payload 2.0): the auth,
 * documents and chat functions all run this module (each is routed only its own paths by the
 * gateway, and any of them could answer any route). The app is the server's without its
 * documentation (`HttpApiOnlyLive`: request context, CORS, error rendering, rate limits; the
 * gateway routes no /openapi.json or /docs, and building the document would only lengthen the cold
 * start), built once per container on a server that hands the app back as a web handler instead
 * of listening.
 */
// First: Schema's JIT compiler (see src/main/server.ts).
import "effect/schema/SchemaJITCompiler/enable"
import { type Etag, type HttpPlatform, HttpRouter, HttpServer, HttpServerRequest, type HttpServerResponse } from "effect/http"
import { type FileSystem, type Path, type Scope } from "effect"
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda"
import { Context, Effect, Layer, Option } from "effect"
import { ApiLive, routesOf } from "../../http/serve.js"
import { AccessTokensLive } from "../../layers/auth/jwt.js"
import { DatabaseLive } from "../../layers/database/postgres.js"
import { Telemetry } from "../../services/telemetry.js"
import { servicesLayer } from "../layers.js"
import { fromWebResponse, sourceAddressOf, toWebRequest } from "./apiGateway.js"
import { makeContainer } from "./container.js"
import { baseLayer, jobQueueLayer, loadLiveSettings, preloadSdksWhenProvisioned } from "./live.js"

/** The whole API without its documentation (see the module comment). */
const HttpApiOnlyLive = routesOf(ApiLive)

type AppRequirements = Layer.Services<typeof HttpApiOnlyLive>

/**
 * What the HTTP app needs besides a server: the programs' services, the database, the settings.
 * 4.1.5 marks what handlers use per request as `HttpRouter.Request<"Requires", X>`: those are
 * served from the built services too (they are merged into the app's layer below).
 */
export type ApiServices = Exclude<
  | HttpRouter.Request.Without<AppRequirements>
  | HttpRouter.Request.Only<"Requires", AppRequirements>
  | HttpRouter.Request.Only<"GlobalRequires", AppRequirements>,
  | HttpRouter.HttpRouter
  | HttpPlatform.HttpPlatform
  | FileSystem.FileSystem
  | Path.Path
  | Etag.Generator
  | HttpServerRequest.HttpServerRequest
  | Scope.Scope
>

/** `peer`: the client's address as the gateway saw it (the request's remote address). */
export type WebHandler = (request: Request, peer?: string) => Promise<Response>

/** The address a request came from, handed to the app beside the web Request (which has no peer). */
class LambdaPeer extends Context.Service<LambdaPeer, string>()("serenya/LambdaPeer") {}

/**
 * Outermost middleware: the request's remote address becomes the gateway's source address,
 * before rate limits, request context and logging read it, as a server's socket peer would be.
 */
const withPeer = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(Effect.serviceOption(LambdaPeer), (peer) =>
    Option.isNone(peer)
      ? app
      : Effect.updateService(app, HttpServerRequest.HttpServerRequest, (request) =>
          request.modify({ remoteAddress: Option.some(peer.value) })
        )
  )

export interface BuiltApi {
  readonly handle: WebHandler
  /** Exports telemetry at the end of an invocation (nothing when the services have no Telemetry). */
  readonly flush: () => Promise<void>
}

/** Builds HttpApiOnlyLive (in the current scope) and returns it as a web handler. */
export const buildWebHandler = <E>(services: Layer.Layer<ApiServices, E>) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(services)
    const telemetry = Context.getOption(context as Context.Context<unknown>, Telemetry)
    // The app is built on the services built above (once per container), as a web handler.
    const web = HttpRouter.toWebHandler(
      HttpApiOnlyLive.pipe(
        Layer.provide(HttpServer.layerServices),
        // Merged, not only provided: the handlers' per-request services are read from the built app.
        Layer.provideMerge(Layer.succeedContext(context))
      ),
      { disableLogger: true, middleware: withPeer }
    )
    yield* Effect.addFinalizer(() => Effect.promise(web.dispose))
    const handler: WebHandler = (request, peer) =>
      peer === undefined ? web.handler(request) : web.handler(request, Context.make(LambdaPeer, peer))
    const flush = Option.match(telemetry, { onNone: () => Effect.void, onSome: (t) => t.flush })
    return { handle: handler, flush: () => Effect.runPromise(flush) } satisfies BuiltApi
  }).pipe(Effect.withSpan("Lambda.buildApi"))

const unavailable: APIGatewayProxyStructuredResultV2 = {
  statusCode: 503,
  headers: { "content-type": "application/json", "retry-after": "1", "cache-control": "no-store" },
  body: JSON.stringify({ error: { code: "SERVICE_UNAVAILABLE", message: "The service is starting; try again" } }),
  isBase64Encoded: false
}

export const makeApiHandler = <E>(name: string, services: Layer.Layer<ApiServices, E>) => {
  const container = makeContainer(name, buildWebHandler(services))
  const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const web = await container.get().catch(() => undefined)
    // The failure is logged by the container; this request gets a retryable answer.
    if (web === undefined) return unavailable
    try {
      return await fromWebResponse(await web.handle(toWebRequest(event, process.env._X_AMZN_TRACE_ID), sourceAddressOf(event)))
    } finally {
      await web.flush()
    }
  }
  return { handler, dispose: container.dispose }
}

export const liveApiServices = Layer.unwrap(
  Effect.map(loadLiveSettings, ({ settings, lambda }) =>
    // The functions reach PostgreSQL through RDS Proxy (lambda.databaseHost): job events poll (main/layers.ts).
    Layer.mergeAll(jobQueueLayer(lambda), AccessTokensLive, servicesLayer(settings, { route: "rdsProxy" })).pipe(
      Layer.provideMerge(DatabaseLive),
      Layer.provideMerge(baseLayer(settings))
    )
  )
)

export const { handler } = makeApiHandler(process.env.AWS_LAMBDA_FUNCTION_NAME ?? "api", liveApiServices)

await preloadSdksWhenProvisioned()
