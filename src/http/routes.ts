/**
 * What the API definition says about a request before any handler runs: its route template
 * (`/content/:contentId`; spans and metrics name the route, never the raw path with its ids), the
 * methods a path answers (a 405 names them in `Allow`), and the media types an operation's body
 * may have (anything else is a 415).
 */
import { type HttpApi, HttpApi as Api, HttpMethod } from "@effect/platform"

/**
 * The body limit of every operation that takes no document: sign-in, refresh, logout, chat (an ID
 * token is at most 8 KiB, a question 4,000 characters). Only operations that take a multipart
 * document (uploads) may send MAX_BODY_BYTES, so an unauthenticated /auth request is refused after
 * 64 KiB, not read and parsed up to 8 MiB.
 */
export const SMALL_BODY_BYTES = 64 * 1024

export interface RouteTemplate {
  readonly method: string
  readonly template: string
  /** Media types the body may have (none: the route takes no body). */
  readonly accepts?: ReadonlyArray<string>
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
export const routeTable = (api: HttpApi.HttpApi.Any, extra: ReadonlyArray<RouteTemplate> = []): RouteTable => {
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
        ...(payloads.size > 0 && HttpMethod.hasBody(endpoint.method) ? { accepts: [...payloads.keys()] } : {})
      })
  })
  for (const route of extra) add(route)
  // Literal segments win over parameters (`/me/export` before `/me/:id`), as in the router.
  const parameters = (route: RouteTemplate) => route.template.split("/:").length
  routes.sort((a, b) => parameters(a) - parameters(b))
  const byKey = new Map(routes.map((route) => [`${route.method} ${route.template}`, route]))
  // Decided once per route, not per request.
  const limits = new Map(
    routes.map((route) => [
      `${route.method} ${route.template}`,
      route.accepts?.includes("multipart/form-data") === true ? undefined : SMALL_BODY_BYTES
    ])
  )
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
