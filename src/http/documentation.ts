/**
 * The API's documentation: `/openapi.json` and the page rendering it at `/docs`. Both are the
 * platform's, fed the definition with the refinement of openapi.ts applied (the exact document),
 * so this module (with the examples) is only in processes that serve documentation.
 */
import { HttpApi, type HttpApiGroup, HttpApiScalar, OpenApi } from "effect/http-api"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { Effect, Layer, type SchemaAST } from "effect"
import { refineDocument } from "./openapi.js"
import type { ServedBeside } from "./serve.js"

type Json = Record<string, unknown>

/**
 * The descriptions of the named schemas of `definition`, by name. 4.1.5 documents a class from its
 * encoded side, which does not carry the class's own description; the document keeps it.
 */
const describedSchemas = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  definition: HttpApi.HttpApi<Id, Groups>
): ReadonlyMap<string, string> => {
  const found = new Map<string, string>()
  const seen = new Set<SchemaAST.AST>()
  const visit = (ast: SchemaAST.AST): void => {
    if (seen.has(ast)) return
    seen.add(ast)
    const { identifier, description } = ast.annotations ?? {}
    if (typeof identifier === "string" && typeof description === "string" && !found.has(identifier)) {
      found.set(identifier, description)
    }
    for (const link of ast.encoding ?? []) visit(link.to)
    switch (ast._tag) {
      case "Declaration":
        for (const parameter of ast.typeParameters) visit(parameter)
        break
      case "Objects":
        for (const property of ast.propertySignatures) visit(property.type)
        for (const index of ast.indexSignatures) visit(index.type)
        break
      case "Arrays":
        for (const element of ast.elements) visit(element)
        for (const rest of ast.rest) visit(rest)
        break
      case "Union":
        for (const member of ast.types) visit(member)
        break
      case "Suspend":
        visit(ast.thunk())
        break
    }
  }
  HttpApi.reflect(definition, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, successes, errors }) => {
      for (const { schemas } of endpoint.payload.values()) for (const schema of schemas) visit(schema.ast)
      for (const map of [successes, errors]) for (const schemas of map.values()) for (const schema of schemas) visit(schema.ast)
    }
  })
  return found
}

/** `definition` with the document's refinement: what /openapi.json and /docs describe. */
export const documented = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  definition: HttpApi.HttpApi<Id, Groups>
): HttpApi.HttpApi<Id, Groups> => {
  const descriptions = describedSchemas(definition)
  return definition.annotate(OpenApi.Transform, (spec) => refineDocument(spec as Json, descriptions))
}

/** The exact OpenAPI document of `definition`. */
export const openApiDocument = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  definition: HttpApi.HttpApi<Id, Groups>
): OpenApi.OpenAPISpec => OpenApi.fromApi(documented(definition))


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
