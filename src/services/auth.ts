/**
 * Who is calling. Access tokens are short-lived signed JWTs (`iss`, `aud`, `sub`, `sid`, `iat`,
 * `exp`, `jti`); the HTTP layer turns a valid bearer token into `CurrentUser` for the handlers.
 * `sid` is the session: the refresh-token family the token was issued with, so that ending the
 * session (logout, reuse detected) ends its access tokens at once, not when they expire.
 */
import { Context, type Duration, type Effect, Schema } from "effect"
import type { Unauthenticated } from "./errors.js"

/** The `aud` of our access tokens: this API, and nothing else that might trust our issuer. */
export const ACCESS_TOKEN_AUDIENCE = "serenya-api"

export class AccessTokenClaims extends Schema.Class<AccessTokenClaims>("AccessTokenClaims")({
  iss: Schema.String,
  aud: Schema.String,
  sub: Schema.String.check(Schema.isUUID()),
  sid: Schema.String.check(Schema.isUUID()),
  iat: Schema.Int,
  exp: Schema.Int,
  jti: Schema.String.pipe(Schema.check(Schema.isMinLength(16)), Schema.check(Schema.isMaxLength(64)))
}) {}

export interface IssuedAccessToken {
  readonly token: string
  /** Seconds until it expires. */
  readonly expiresIn: number
  readonly claims: AccessTokenClaims
}

export class AccessTokens extends Context.Service<
  AccessTokens,
  {
    /** An access token for `userId` in session `sessionId` (a refresh-token family id). */
    readonly issue: (userId: string, sessionId: string) => Effect.Effect<IssuedAccessToken>
    /** Any problem (malformed, forged, `alg: none`, wrong issuer, expired) is the same Unauthenticated. */
    readonly verify: (token: string) => Effect.Effect<AccessTokenClaims, Unauthenticated>
  }
>()("serenya/AccessTokens") {}

/** How long a session lasts without signing in again (REFRESH_TOKEN_TTL_DAYS): all sign-in needs of the settings. */
export class SessionLifetime extends Context.Service<SessionLifetime, { readonly refreshToken: Duration.Duration }>()(
  "serenya/SessionLifetime"
) {}

/** The signed-in user of the current request. */
export class CurrentUser extends Context.Service<CurrentUser, { readonly userId: string }>()("serenya/CurrentUser") {}
