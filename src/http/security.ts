/**
 * Bearer authentication for every endpoint but sign-in and operations: a missing, expired,
 * forged or `alg: none` token is a 401 with the uniform body; a valid one provides CurrentUser
 * as long as its account still exists, so erasing an account ends its access tokens at once
 * instead of when they expire.
 */
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { accountExists } from "../programs/users.js"
import { AccessTokens, CurrentUser } from "../services/auth.js"
import { SqlClient } from "../services/database.js"
import { Unauthenticated } from "../services/errors.js"
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

const accountGone = new Unauthenticated({ message: "The account of this access token no longer exists" })

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const tokens = yield* AccessTokens
    const sql = yield* SqlClient.SqlClient
    return Authentication.of({
      bearer: (token) =>
        Effect.gen(function* () {
          const claims = yield* tokens.verify(Redacted.value(token))
          // On the client itself: providing it to the request's context per request would copy every service in it.
          const exists = yield* accountExists(sql, claims.sub).pipe(
            // The middleware may only fail with its 401: an outage travels as a defect, which the
            // error renderer answers as every lost database, a 503 to retry.
            Effect.orDie
          )
          if (!exists) return yield* accountGone
          return CurrentUser.of({ userId: claims.sub })
        })
    })
  })
)
