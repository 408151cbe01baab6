/**
 * Bearer authentication for every endpoint but sign-in and operations: a missing, expired,
 * forged or `alg: none` token is a 401 with the uniform body; a valid one provides CurrentUser
 * as long as its account exists and its session was not ended, so erasing an account, logging
 * out or a detected refresh-token reuse ends its access tokens at once instead of when they
 * expire. The verified user then spends a token of their own rate-limit bucket.
 */
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { Effect, Layer, Redacted } from "effect"
import { sessionActive } from "../programs/users.js"
import { AccessTokens, CurrentUser } from "../services/auth.js"
import { SqlClient } from "../services/database.js"
import { Unauthenticated } from "../services/errors.js"
import { errorResponse } from "./errors.js"
import { RateLimits } from "./rateLimit.js"

export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentUser }>()("Authentication", {
  error: errorResponse(401, "Missing, invalid or expired access token"),
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(OpenApi.Description, "An access token from /auth/google, /auth/dev or /auth/refresh")
    )
  }
}) {}

const sessionEnded = new Unauthenticated({ message: "The session of this access token has ended" })

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const tokens = yield* AccessTokens
    const sql = yield* SqlClient.SqlClient
    const limits = yield* RateLimits
    return Authentication.of({
      bearer: (httpEffect, { credential: token }) =>
        Effect.gen(function* () {
          const claims = yield* tokens.verify(Redacted.value(token))
          // On the client itself: providing it to the request's context per request would copy every service in it.
          // The signature holds, so `sub` is ours: spend the user's bucket before any database work.
          // The middleware may only fail with its 401, so a refusal travels as a defect, which the
          // error renderer answers as the 429 it is.
          yield* Effect.orDie(limits.takeUser(claims.sub))
          const active = yield* sessionActive(sql, claims.sub, claims.sid).pipe(
            // An outage travels as a defect too, answered as every lost database: a 503 to retry.
            Effect.orDie
          )
          if (!active) return yield* sessionEnded
          return CurrentUser.of({ userId: claims.sub })
        }).pipe(Effect.flatMap((user) => Effect.provideService(httpEffect, CurrentUser, user)))
    })
  })
)
