/**
 * Bearer authentication for every endpoint but sign-in and operations: a missing, expired,
 * forged or `alg: none` token is a 401 with the uniform body; a valid one provides CurrentUser.
 */
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { AccessTokens, CurrentUser } from "../services/auth.js"
import { errorResponse } from "./errors.js"

export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  failure: errorResponse(401, "Missing, invalid or expired access token"),
  provides: CurrentUser,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(OpenApi.Description, "An access token from /auth/google, /auth/dev or /auth/refresh")
    )
  }
}) {}

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(AccessTokens, (tokens) =>
    Authentication.of({
      bearer: (token) =>
        Effect.map(tokens.verify(Redacted.value(token)), (claims) => CurrentUser.of({ userId: claims.sub }))
    })
  )
)
