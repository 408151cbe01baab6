/**
 * The whole HTTP application with its documentation (`/openapi.json`, `/docs`): what the Node
 * server (main/server.ts) and the in-process tests serve. serve.ts has the same without the
 * documentation, for the Lambda API function.
 */
import type { HttpApi } from "effect/http-api"
import type { Layer } from "effect"
import type { AnyApi } from "./routes.js"
import { Api } from "./api.js"
import { Documentation } from "./documentation.js"
import { ApiLive, serve } from "./serve.js"

/** Serves an API layer with its OpenAPI document and documentation page (see serve.ts). */
export const serveApi = <A, E, R>(api: Layer.Layer<A, E, R>, definition: AnyApi = Api) =>
  serve(api, definition, Documentation)

export const HttpAppLive = serveApi(ApiLive)
