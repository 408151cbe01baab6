/**
 * The whole HTTP application with its documentation (`/openapi.json`, `/docs`): what the Node
 * server (main/server.ts) and the in-process tests serve. serve.ts has the same without the
 * documentation, for the Lambda API function.
 */
import type { HttpApi, HttpApiGroup } from "effect/http-api"
import type { Layer } from "effect"
import { Documentation } from "./documentation.js"
import { ApiLive, serve } from "./serve.js"

/** Serves an API layer with its OpenAPI document and documentation page (see serve.ts). */
export const serveApi = <A, E, R, Id extends string = "serenya", Groups extends HttpApiGroup.Constraint = never>(
  api: Layer.Layer<A, E, R>,
  /** The API `api` implements; Api when omitted. */
  definition?: HttpApi.HttpApi<Id, Groups>
) => serve(api, definition, Documentation)

export const HttpAppLive = serveApi(ApiLive)
