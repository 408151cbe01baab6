import type { AnyApi } from "./routes.js"
/**
 * The API's documentation: `/openapi.json` and the page rendering it at `/docs`. Both are the
 * platform's, fed the definition with the refinement of openapi.ts applied (the exact document),
 * so this module (with the examples) is only in processes that serve documentation.
 */
import { HttpApi, HttpApiScalar, OpenApi } from "effect/http-api"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { Effect, Layer } from "effect"
import { refineDocument } from "./openapi.js"
import type { ServedBeside } from "./serve.js"

type Json = Record<string, unknown>

/** `definition` with the document's refinement: what /openapi.json and /docs describe. */
export const documented = <A extends AnyApi>(definition: A): A =>
  (definition as unknown as AnyApi).annotate(
    OpenApi.Transform,
    (spec) => refineDocument(spec as unknown as Json) as unknown as typeof spec
  ) as unknown as A

/** The exact OpenAPI document of `definition`. */
export const openApiDocument = (definition: AnyApi): OpenApi.OpenAPISpec =>
  OpenApi.fromApi(documented(definition) as unknown as AnyApi)


export const Documentation: ServedBeside = {
  routes: [
    { method: "GET", template: "/openapi.json" },
    { method: "GET", template: "/docs" }
  ],
  layer: (definition) => {
    const refined = documented(definition)
    // Built once, on first request: processes that never serve it never build it.
    let document: OpenApi.OpenAPISpec | undefined
    return Layer.mergeAll(
      HttpApiScalar.layer(refined, { path: "/docs" }),
      HttpRouter.add("GET", "/openapi.json", Effect.sync(() => {
        document ??= OpenApi.fromApi(refined)
        return HttpServerResponse.jsonUnsafe(document)
      }))
    )
  }
}
