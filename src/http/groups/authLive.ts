/**
 * Handlers of the auth group. Built against an API holding only AuthGroup: the layer provides
 * the "auth" group of the "serenya" API, so it serves any "serenya" API that adds AuthGroup
 * (`Api` once it does), and this file needs nothing of api.ts.
 */
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { Effect } from "effect"
import { AuthConfig } from "../../config/auth.js"
import { logout, refreshTokens, signInWithDev, signInWithGoogle, type SignedIn } from "../../programs/auth.js"
import { NotFound } from "../../services/errors.js"
import { ErrorRenderer } from "../errors.js"
import { AuthGroup, SignedInUser, TokenPair } from "./auth.js"
import { auditContext } from "./requestContext.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

const toBody = (signedIn: SignedIn) =>
  new TokenPair({
    accessToken: signedIn.accessToken,
    refreshToken: signedIn.refreshToken,
    expiresIn: signedIn.expiresIn,
    user: new SignedInUser(signedIn.user, { disableChecks: true })
  }, { disableChecks: true })

/**
 * The routes are built here, from this definition's group (4.1.5 builds a group's routes in
 * HttpApiBuilder.group): it carries the same API-level middleware as Api (the error renderer,
 * outermost), so the auth endpoints render errors as every other endpoint does.
 */
const AuthOnlyApi = HttpApi.make("serenya").add(AuthGroup).middleware(ErrorRenderer)

export const AuthLive = HttpApiBuilder.group(AuthOnlyApi, "auth", (handlers) =>
  handlers
    .handle("google", ({ payload }) =>
      Effect.flatMap(auditContext, (context) => signInWithGoogle({ idToken: payload.idToken }, context)).pipe(
        Effect.map(toBody)
      )
    )
    .handle("dev", ({ payload }) =>
      Effect.gen(function* () {
        const auth = yield* AuthConfig
        // Disabled looks exactly like a route that does not exist.
        if (!auth.devAuthEnabled) return yield* new NotFound({ message: "No such endpoint" })
        const input = { email: payload.email, ...(payload.name !== undefined ? { name: payload.name } : {}) }
        return toBody(yield* signInWithDev(input, yield* auditContext))
      })
    )
    .handle("refresh", ({ payload }) =>
      Effect.flatMap(auditContext, (context) => refreshTokens({ refreshToken: payload.refreshToken }, context)).pipe(
        Effect.map(toBody)
      )
    )
    .handle("logout", ({ payload }) =>
      Effect.flatMap(auditContext, (context) => logout({ refreshToken: payload.refreshToken }, context))
    )
)
export const AuthGroupLive = AuthLive
