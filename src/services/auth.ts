/**
 * Who is calling. Access tokens are short-lived signed JWTs (`sub`, `iat`, `exp`, `jti`); the
 * HTTP layer turns a valid bearer token into `CurrentUser` for the handlers.
 */
import { Context, type Effect, Schema } from "effect"
import type { Unauthenticated } from "./errors.js"

/** The `aud` of our access tokens: this API, and nothing else that might trust our issuer. */
export const ACCESS_TOKEN_AUDIENCE = "serenya-api"

export class AccessTokenClaims extends Schema.Class<AccessTokenClaims>("AccessTokenClaims")({
  iss: Schema.String,
  aud: Schema.String,
  sub: Schema.UUID,
  iat: Schema.Int,
  exp: Schema.Int,
  jti: Schema.String.pipe(Schema.minLength(16), Schema.maxLength(64))
}) {}

export interface IssuedAccessToken {
  readonly token: string
  /** Seconds until it expires. */
  readonly expiresIn: number
  readonly claims: AccessTokenClaims
}

export class AccessTokens extends Context.Tag("AccessTokens")<
  AccessTokens,
  {
    readonly issue: (userId: string) => Effect.Effect<IssuedAccessToken>
    /** Any problem (malformed, forged, `alg: none`, wrong issuer, expired) is the same Unauthenticated. */
    readonly verify: (token: string) => Effect.Effect<AccessTokenClaims, Unauthenticated>
  }
>() {}

/** The signed-in user of the current request. */
export class CurrentUser extends Context.Tag("CurrentUser")<CurrentUser, { readonly userId: string }>() {}
