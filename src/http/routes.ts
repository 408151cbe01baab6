/**
 * Route templates (`/content/:contentId`) for a request, from the API definition itself: spans
 * and metrics name the route, never the raw path with its ids.
 */
import { type HttpApi, HttpApi as Api } from "@effect/platform"

export interface RouteTemplate {
  readonly method: string
  readonly template: string
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** A matcher for the endpoints of `api` (plus `extra` routes served beside it, such as /docs). */
export const routeMatcher = (
  api: HttpApi.HttpApi.Any,
  extra: ReadonlyArray<RouteTemplate> = []
): ((method: string, path: string) => string | undefined) => {
  const routes: Array<RouteTemplate & { readonly pattern: RegExp }> = []
  const add = (method: string, template: string) =>
    routes.push({
      method,
      template,
      pattern: new RegExp(
        `^${template
          .split("/")
          .map((segment) => (segment.startsWith(":") ? "[^/]+" : escape(segment)))
          .join("/")}/?$`
      )
    })
  Api.reflect(api as HttpApi.HttpApi<string, never, never, never>, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => add(endpoint.method, endpoint.path)
  })
  for (const route of extra) add(route.method, route.template)
  // Literal segments win over parameters (`/me/export` before `/me/:id`), as in the router.
  const parameters = (route: RouteTemplate) => route.template.split("/:").length
  routes.sort((a, b) => parameters(a) - parameters(b))
  return (method, path) => routes.find((route) => route.method === method && route.pattern.test(path))?.template
}
