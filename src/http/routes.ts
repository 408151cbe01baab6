/**
 * What the API definition says about a request before any handler runs: its route template
 * (`/content/:contentId`; spans and metrics name the route, never the raw path with its ids), the
 * methods a path answers (a 405 names them in `Allow`), and the media types an operation's body
 * may have (anything else is a 415).
 */
import { HttpApi, type HttpApiEndpoint, type HttpApiGroup } from "effect/http-api"
import { HttpMethod } from "effect/http"
import { SchemaAST as AST } from "effect"

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

type JsonFragment = Readonly<Record<string, unknown>>

/**
 * What the checks on `ast` say in JSON Schema (for a value of JSON type `type`): each check's own
 * `toJsonSchema` hook, so a bound follows the same hook that documents it.
 */
const checkFragments = (ast: AST.AST, type: "string" | "array"): ReadonlyArray<JsonFragment> => {
  const fragments: Array<JsonFragment> = []
  const visit = (check: AST.Check<unknown>): void => {
    if (check._tag === "FilterGroup") {
      for (const inner of check.checks) visit(inner)
    }
    const hook = check.annotations?.toJsonSchema
    if (hook === undefined) return
    const output = hook({ type, schemas: [] })
    const fragment = Array.isArray(output) ? output[0] : output
    if (typeof fragment === "object" && fragment !== null) fragments.push(fragment as JsonFragment)
  }
  for (const check of ast.checks ?? []) visit(check)
  return fragments
}

const boundOf = (fragments: ReadonlyArray<JsonFragment>, key: "maxLength" | "maxItems"): number | undefined => {
  let bound: number | undefined
  for (const fragment of fragments) {
    const value = fragment[key]
    if (typeof value === "number") bound = bound === undefined ? value : Math.min(bound, value)
  }
  return bound
}

/**
 * The most bytes a JSON body valid for `ast` (its encoded side) can take, or undefined when the
 * schema bounds no length (a string without maxLength, an array without maxItems, a record).
 * Lengths come from the JSON Schema the checks document (maxLength counts characters, each
 * BYTES_PER_CHARACTER at most), so the bound follows the schema it is derived from.
 */
export const payloadBound = (schema: AST.AST): number | undefined => bound(AST.toEncoded(schema))

const bound = (ast: AST.AST): number | undefined => {
  switch (ast._tag) {
    case "String":
    case "TemplateLiteral": {
      const fragments = checkFragments(ast, "string")
      // A uuid's pattern bounds it as well as a maxLength would.
      const maxLength = boundOf(fragments, "maxLength") ?? (fragments.some((f) => f["format"] === "uuid") ? 36 : undefined)
      return maxLength === undefined ? undefined : 2 + maxLength * BYTES_PER_CHARACTER
    }
    case "Literal":
      return JSON.stringify(typeof ast.literal === "bigint" ? String(ast.literal) : ast.literal).length
    case "Number":
      return 24
    case "Boolean":
      return 5
    case "Null":
      return 4
    case "Undefined":
    case "Void":
      return 0
    case "Enum": {
      let most = 0
      for (const [, value] of ast.enums) most = Math.max(most, JSON.stringify(value).length)
      return most
    }
    case "Union": {
      let most = 0
      for (const member of ast.types) {
        const each = bound(member)
        if (each === undefined) return undefined
        most = Math.max(most, each)
      }
      return most
    }
    case "Objects": {
      if (ast.indexSignatures.length > 0) return undefined
      let total = 2
      for (const property of ast.propertySignatures) {
        const value = bound(property.type)
        if (value === undefined) return undefined
        total += JSON.stringify(String(property.name)).length + 2 + value
      }
      return total
    }
    case "Arrays": {
      let total = 2
      for (const element of ast.elements) {
        const each = bound(element)
        if (each === undefined) return undefined
        total += each + 1
      }
      if (ast.rest.length > 0) {
        const each = bound(ast.rest[0]!)
        const maxItems = boundOf(checkFragments(ast, "array"), "maxItems")
        if (each === undefined || maxItems === undefined) return undefined
        total += maxItems * (each + 1)
      }
      return total
    }
    case "Suspend":
      // Recursive: no bound of its own.
      return undefined
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

const bodyLimitOf = (payloads: HttpApiEndpoint.PayloadMap): number | undefined => {
  let limit = 0
  for (const { encoding, schemas } of payloads.values()) {
    if (encoding._tag === "Multipart" || encoding._tag === "Stream") return undefined
    for (const schema of schemas) {
      const bound = payloadBound(schema.ast)
      limit = Math.max(limit, bound === undefined ? SMALL_BODY_BYTES : Math.min(SMALL_BODY_BYTES, bound + BODY_SLACK_BYTES))
    }
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

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** The routes of `api` (plus `extra` routes served beside it, such as /docs). */
export const routeTable = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<Id, Groups>,
  extra: ReadonlyArray<RouteTemplate> = []
): RouteTable => {
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
  HttpApi.reflect(api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      const payloads = endpoint.payload
      add({
        method: endpoint.method,
        template: endpoint.path,
        ...(payloads.size > 0 && HttpMethod.hasBody(endpoint.method) ? { accepts: [...payloads.keys()] } : {}),
        ...(payloads.size > 0 && HttpMethod.hasBody(endpoint.method)
          ? withLimit(bodyLimitOf(payloads))
          : // Takes no body (completing an upload, DELETE /me): whatever a client sends is ignored, never read far.
            HttpMethod.hasBody(endpoint.method)
            ? { bodyLimit: BODY_SLACK_BYTES }
            : {})
      })
    }
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
