/** Sign-in (Google, dev), refresh and logout. These endpoints take no bearer token. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { UserId } from "../../services/ids.js"
import { errorResponse } from "../errors.js"
import { Text } from "../schemas.js"

/**
 * No whitespace and no control characters (C0, DEL, C1: a NUL would otherwise become part of an
 * account's identity). Written with \x escapes rather than \p{Cc}, which many JSON Schema tools
 * and client generators cannot read; the two classes are the same characters.
 */
const EMAIL_PATTERN = /^[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@\x00-\x1f\x7f-\x9f]+\.[^\s@\x00-\x1f\x7f-\x9f]+$/u

const Email = Text(5, 254).pipe(Schema.check(Schema.isPattern(EMAIL_PATTERN))).annotate({
  description: "An email address",
  examples: ["ada@example.com"]
})

const RefreshToken = Text(1, 512).annotate({
  description: "A refresh token from a previous sign-in or refresh"
})

export class GoogleSignInRequest extends Schema.Class<GoogleSignInRequest>("GoogleSignInRequest")({
  idToken: Text(1, 8192).annotate({
    description: "The ID token Google Sign-In gave the app"
  })
}) {}

export class DevSignInRequest extends Schema.Class<DevSignInRequest>("DevSignInRequest")({
  email: Email,
  name: Schema.optionalKey(Text(1, 200).annotate({ description: "The name to show; optional" }))
}) {}

export class RefreshRequest extends Schema.Class<RefreshRequest>("RefreshRequest")({
  refreshToken: RefreshToken
}) {}

export class SignedInUser extends Schema.Class<SignedInUser>("SignedInUser")({
  id: UserId,
  email: Schema.String,
  name: Schema.NullOr(Schema.String)
}) {}

export class TokenPair extends Schema.Class<TokenPair>("TokenPair")({
  accessToken: Schema.String.annotate({ description: "A bearer token (ES256 JWT)" }),
  refreshToken: Schema.String.annotate({ description: "Single use: every refresh returns a new one" }),
  expiresIn: Schema.Int.annotate({ description: "Seconds until the access token expires" }),
  user: SignedInUser
}) {}

const invalidBody = errorResponse(400, "The body is malformed or does not match the schema")
const unavailable = errorResponse(503, "A dependency (database, keys, audit, Google's breaker) is unavailable; retry")

export class AuthGroup extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("google", "/auth/google", {
      payload: GoogleSignInRequest,
      success: TokenPair,
      error: [
        invalidBody,
        errorResponse(
          401,
          "The Google ID token is invalid, expired, for another app or its email is unverified (UNAUTHENTICATED); or its email belongs to an account bound to another Google account (ACCOUNT_BOUND_TO_OTHER_GOOGLE_ACCOUNT)"
        ),
        errorResponse(502, "Google's signing keys could not be fetched"),
        unavailable
      ]
    })
      .annotate(OpenApi.Summary, "Sign in with a Google ID token; the first sign-in creates the account")
  )
  .add(
    HttpApiEndpoint.post("dev", "/auth/dev", {
      payload: DevSignInRequest,
      success: TokenPair,
      error: [
        invalidBody,
        errorResponse(404, "Development sign-in is disabled (always, in production)"),
        unavailable
      ]
    })
      .annotate(OpenApi.Summary, "Development sign-in by email (DEV_AUTH_ENABLED only)")
  )
  .add(
    HttpApiEndpoint.post("refresh", "/auth/refresh", {
      payload: RefreshRequest,
      success: TokenPair,
      error: [
        invalidBody,
        errorResponse(401, "The refresh token is invalid, expired, revoked or already used"),
        unavailable
      ]
    })
      .annotate(OpenApi.Summary, "Trade a refresh token for a new pair (the old token stops working)")
  )
  .add(
    HttpApiEndpoint.post("logout", "/auth/logout", {
      payload: RefreshRequest,
      success: HttpApiSchema.NoContent,
      error: [
        invalidBody,
        errorResponse(401, "The refresh token is unknown"),
        unavailable
      ]
    })
      .annotate(OpenApi.Summary, "End the session: every token of the refresh token's family is revoked")
  )
  .annotate(OpenApi.Title, "Authentication")
{}
