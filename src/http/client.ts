/**
 * The typed client of the API, derived from the same definition the server serves: every
 * endpoint, body and error is typed (errors decode to ApiError with status and code).
 * `import { makeApiClient } from "serenya-backend/client"`.
 */
import { HttpApiClient } from "effect/http-api"
import { HttpClient, HttpClientRequest } from "effect/http"
import { Api } from "./api.js"

export const makeApiClient = (options: { readonly baseUrl?: string; readonly accessToken?: string } = {}) =>
  HttpApiClient.make(Api, {
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
    ...(options.accessToken !== undefined
      ? { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(options.accessToken)) }
      : {})
  })

export { Api }
