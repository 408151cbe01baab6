/**
 * What the API definition says about a request before any handler runs: its route template
 * (`/content/:contentId`; spans and metrics name the route, never the raw path with its ids), the
 * methods a path answers (a 405 names them in `Allow`), and the media types an operation's body
 * may have (anything else is a 415).
 */
import { type HttpApi, HttpApi as Api } from "effect/http-api"
import { HttpMethod } from "effect/http"
import type * as AST from "effect/SchemaAST"
import { JSONSchemaAnnotationId } from "effect/SchemaAST"

/**
 * The most body bytes of an operation that takes no document, whatever its schema says: sign-in,
 * refresh, logout and chat are refused after this (or their own, smaller bound: `payloadBound`),
 * never read and parsed up to MAX_BODY_BYTES. Only operations that take a multipart document
 * (uploads) may send MAX_BODY_BYTES.
 */
export const SMALL_BODY_BYTES = 64 * 1024

/** Room beyond a payload's bound for whitespace and the fields a client may add (which are ignored). */
export const BODY_SLACK_BYTES = 1024

/** Bytes one character may take in JSON text: a control character escaped as `\u0001`. */
const BYTES_PER_CHARACTER = 6

const jsonSchemaOf = (ast: AST.AST): Record<string, unknown> | undefined =>
  ast.annotations[JSONSchemaAnnotationId] as Record<string, unknown> | undefined

/**
 * The most bytes a JSON body valid for `ast` (its encoded side) can take, or undefined when the
 * schema bounds no length (a string without maxLength, an array without maxItems, a record).
 * Lengths come from the schema's JSON Schema annotations (maxLength counts characters, each
 * BYTES_PER_CHARACTER at most), so the bound follows the schema it is derived from.
 */
export const payloadBound = (ast: AST.AST, maxLength?: number, maxItems?: number): number | undefined => {
  switch (ast._tag) {
    case "Transformation":
      return payloadBound(ast.from, maxLength, maxItems)
    case "Refinement": {
      const annotation = jsonSchemaOf(ast)
      // A uuid's pattern bounds it as well as a maxLength would.
      const length =
        typeof annotation?.maxLength === "number" ? annotation.maxLength : annotation?.format === "uuid" ? 36 : maxLength
      const items = typeof annotation?.maxItems === "number" ? annotation.maxItems : maxItems
      return payloadBound(ast.from, length, items)
    }
    case "StringKeyword":
    case "TemplateLiteral":
      return maxLength === undefined ? undefined : 2 + maxLength * BYTES_PER_CHARACTER
    case "Literal":
      return JSON.stringify(ast.literal).length
    case "NumberKeyword":
      return 24
    case "BooleanKeyword":
      return 5
    case "UndefinedKeyword":
      return 0
    case "Enums": {
      let most = 0
      for (const [, value] of ast.enums) most = Math.max(most, JSON.stringify(value).length)
      return most
    }
    case "Union": {
      let most = 0
      for (const member of ast.types) {
        const bound = payloadBound(member, maxLength, maxItems)
        if (bound === undefined) return undefined
        most = Math.max(most, bound)
      }
      return most
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length > 0) return undefined
      let total = 2
      for (const property of ast.propertySignatures) {
        const value = payloadBound(property.type)
        if (value === undefined) return undefined
        total += JSON.stringify(String(property.name)).length + 2 + value
      }
      return total
    }
    case "TupleType": {
      let total = 2
      for (const element of ast.elements) {
        const bound = payloadBound(element.type)
        if (bound === undefined) return undefined
        total += bound + 1
      }
      if (ast.rest.length > 0) {
        const each = payloadBound(ast.rest[0]!.type)
        if (each === undefined || maxItems === undefined) return undefined
        total += maxItems * (each + 1)
      }
      return total
    }
    default:
      return undefined
  }
}

export interface RouteTemplate {
  readonly method: string
  readonly template: string
  /** Media types the body may have (none: the route takes no body). */
  readonly accepts?: ReadonlyArray<string>
  /** The most body bytes it takes; undefined: no limit of its own (MAX_BODY_BYTES applies). */
  readonly bodyLimit?: number
}

/**
 * An operation's body limit from its payloads: a document upload (multipart) has none of its own;
 * any other takes its schema's bound plus slack, and never more than SMALL_BODY_BYTES.
 */
const withLimit = (bodyLimit: number | undefined): { readonly bodyLimit?: number } =>
  bodyLimit === undefined ? {} : { bodyLimit }

const bodyLimitOf = (payloads: ReadonlyArray<readonly [string, AST.AST]>): number | undefined => {
  let limit = 0
  for (const [mediaType, ast] of payloads) {
    if (mediaType === "multipart/form-data") return undefined
    const bound = payloadBound(ast)
    limit = Math.max(limit, bound === undefined ? SMALL_BODY_BYTES : Math.min(SMALL_BODY_BYTES, bound + BODY_SLACK_BYTES))
  }
  return limit
}

export interface RouteTable {
  /** The template of the route `method` `path` is served by, if any. */
  readonly routeOf: (method: string, path: string) => string | undefined
  /** Methods some route answers at `path` (HEAD wherever GET is); empty when no route matches the path. */
  readonly methodsAt: (path: string) => ReadonlyArray<string>
  /** Media types the body of `method` `template` may have; undefined when it takes no body. */
  readonly accepts: (method: string, template: string) => ReadonlyArray<string> | undefined
  /** The most body bytes `method` `template` takes (SMALL_BODY_BYTES unless it takes a document); undefined: no limit of its own. */
  readonly bodyLimit: (method: string, template: string) => number | undefined
}

/**
 * Any API definition. `HttpApi.Top` does not take a concrete API (its groups are invariant in
 * 4.1.5), so the group type is left open here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyApi = HttpApi.HttpApi<string, any>

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** The routes of `api` (plus `extra` routes served beside it, such as /docs). */
export const routeTable = (api: AnyApi, extra: ReadonlyArray<RouteTemplate> = []): RouteTable => {
  const routes: Array<RouteTemplate & { readonly pattern: RegExp }> = []
  const add = (route: RouteTemplate) =>
    routes.push({
      ...route,
      pattern: new RegExp(
        `^${route.template
          .split("/")
          .map((segment) => (segment.startsWith(":") ? "[^/]+" : escape(segment)))
          .join("/")}/?$`
      )
    })
  Api.reflect(api as HttpApi.HttpApi<string, never, never, never>, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, payloads }) =>
      add({
        method: endpoint.method,
        template: endpoint.path,
        ...(payloads.size > 0 && HttpMethod.hasBody(endpoint.method) ? { accepts: [...payloads.keys()] } : {}),
        ...(payloads.size > 0 && HttpMethod.hasBody(endpoint.method)
          ? withLimit(bodyLimitOf([...payloads].map(([mediaType, payload]) => [mediaType, payload.ast] as const)))
          : // Takes no body (completing an upload, DELETE /me): whatever a client sends is ignored, never read far.
            HttpMethod.hasBody(endpoint.method)
            ? { bodyLimit: BODY_SLACK_BYTES }
            : {})
      })
  })
  for (const route of extra) add(route)
  // Literal segments win over parameters (`/me/export` before `/me/:id`), as in the router.
  const parameters = (route: RouteTemplate) => route.template.split("/:").length
  routes.sort((a, b) => parameters(a) - parameters(b))
  const byKey = new Map(routes.map((route) => [`${route.method} ${route.template}`, route]))
  // Decided once per route, not per request.
  const limits = new Map(routes.map((route) => [`${route.method} ${route.template}`, route.bodyLimit]))
  return {
    routeOf: (method, path) => routes.find((route) => route.method === method && route.pattern.test(path))?.template,
    methodsAt: (path) => {
      const methods = new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method))
      if (methods.has("GET")) methods.add("HEAD")
      return [...methods].sort()
    },
    accepts: (method, template) => byKey.get(`${method} ${template}`)?.accepts,
    bodyLimit: (method, template) => limits.get(`${method} ${template}`)
  }
}
