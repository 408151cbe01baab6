/**
 * Google sign-in: a Google ID token (an RS256 JWT signed with one of Google's published keys)
 * checked for real, and the identity it vouches for.
 */
import { Context, type Effect } from "effect"
import type { CircuitOpen, Unauthenticated, UpstreamFailed } from "./errors.js"

export interface GoogleIdentity {
  /** Google's stable account id. */
  readonly sub: string
  readonly email: string
  readonly name?: string
  readonly emailVerified: boolean
}

export class GoogleIdTokens extends Context.Service<
  GoogleIdTokens,
  {
    /**
     * Any problem with the token itself (format, algorithm, signature, issuer, audience, expiry,
     * unverified email) is the same Unauthenticated; Google's key set being unreachable is
     * UpstreamFailed, or CircuitOpen once the google_oauth breaker has opened.
     */
    readonly verify: (idToken: string) => Effect.Effect<GoogleIdentity, Unauthenticated | UpstreamFailed | CircuitOpen>
  }
>()("serenya/GoogleIdTokens") {}
