/**
 * The API's documentation: `/openapi.json` and the page rendering it at `/docs`. Both are the
 * platform's, fed the definition with the refinement of openapi.ts applied (the exact document),
 * so this module (with the examples) is only in processes that serve documentation.
 */
import { HttpApi, HttpApiBuilder, HttpApiScalar, OpenApi } from "effect/http-api"
import { Effect, Layer } from "effect"
import { refineDocument } from "./openapi.js"
import type { ServedBeside } from "./serve.js"

type Json = Record<string, unknown>

/** `definition` with the document's refinement: what /openapi.json and /docs describe. */
export const documented = <A extends HttpApi.Top>(definition: A): A =>
  (definition as unknown as HttpApi.Top).annotate(
    OpenApi.Transform,
    (spec) => refineDocument(spec as unknown as Json) as unknown as typeof spec
  ) as unknown as A

/** The exact OpenAPI document of `definition`. */
export const openApiDocument = (definition: HttpApi.Top): OpenApi.OpenAPISpec =>
  OpenApi.fromApi(documented(definition) as unknown as HttpApi.Top)

/** The served API's definition, refined, for the platform's documentation layers. */
const DocumentedApi = Layer.effect(
  HttpApi.Api,
  Effect.map(HttpApi.Api, (served) => ({ ...served, api: documented(served.api) }))
)

export const Documentation: ServedBeside = {
  routes: [
    { method: "GET", template: "/openapi.json" },
    { method: "GET", template: "/docs" }
  ],
  layer: Layer.mergeAll(
    HttpApiScalar.layer({ path: "/docs" }),
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })
  ).pipe(Layer.provide(DocumentedApi))
}
