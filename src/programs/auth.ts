/**
 * Sign-in, refresh and logout.
 *
 * A session is a family of refresh tokens: each token is 32 random bytes (base64url) stored only
 * as its SHA-256 hash, and every use rotates it (the presented row is marked rotated and a child
 * of the same family is issued). Presenting an already-rotated token means it leaked, unless it
 * is a client's concurrent retry: when the token was rotated less than REUSE_GRACE_SECONDS ago
 * and its child is still active, nothing is revoked but the retry is refused (the client keeps
 * the pair the first request got); otherwise the whole family is revoked (`reuse_detected`).
 * Expired, revoked and unknown tokens all get the same Unauthenticated.
 *
 * Times come from Clock, so TestClock can age tokens; they are passed to SQL, never `now()`.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { createHash, randomBytes } from "node:crypto"
import * as Sessions from "../repos/sessions.js"
import { inTransaction } from "../repos/transaction.js"
import { Audit, type AuditAction } from "../services/audit.js"
import { AccessTokens, SessionLifetime } from "../services/auth.js"
import { orDatabaseUnavailable } from "../services/database.js"
import { AccountBoundElsewhere, Unauthenticated } from "../services/errors.js"
import { GoogleIdTokens } from "../services/googleIdentity.js"
import { newUuid, type UserId } from "../services/ids.js"
import type { RequestContext } from "../services/audit.js"
import { findOrCreateUser, loadUser, type UserSummary } from "./users.js"
import { fnTraced } from "../services/telemetry.js"

/** A rotated token presented again within this window, while its child is active, is a concurrent retry. */
export const REUSE_GRACE_SECONDS = 10
const MAX_REFRESH_TOKEN_LENGTH = 512

export interface SignedIn {
  readonly accessToken: string
  readonly refreshToken: string
  /** Seconds until the access token expires. */
  readonly expiresIn: number
  readonly user: UserSummary
}

const refreshRejected = () => new Unauthenticated({ message: "The refresh token is invalid or expired" })

/** What is stored of a refresh token: its SHA-256. */
export const refreshTokenHash = (token: string) => createHash("sha256").update(token, "utf8").digest()

const databaseFailure = orDatabaseUnavailable("Signing in is not possible right now; retry", "auth")

/** Inserts a new refresh token of `familyId` (a new family when absent) and returns the token. */
const insertRefreshToken = (userId: UserId, familyId: string, parentId: string | null, now: Date) =>
  Effect.gen(function* () {
    const lifetime = yield* SessionLifetime
    const token = randomBytes(32).toString("base64url")
    const expiresAt = new Date(now.getTime() + Duration.toMillis(lifetime.refreshToken))
    yield* Sessions.insertRefreshToken({
      id: yield* newUuid,
      userId,
      familyId,
      tokenHash: refreshTokenHash(token),
      parentId,
      issuedAt: now,
      expiresAt
    })
    return token
  })

const currentDate = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/** The pair for a session: the access token names the session (its token family) so logout ends it too. */
const answer = (user: UserSummary, sessionId: string, refreshToken: string) =>
  Effect.map(AccessTokens, (tokens) => tokens.issue(user.id, sessionId)).pipe(
    Effect.flatten,
    Effect.map(
      (access): SignedIn => ({ accessToken: access.token, refreshToken, expiresIn: access.expiresIn, user })
    )
  )

const recordAudit = (
  action: AuditAction,
  outcome: "success" | "failure",
  requestContext: RequestContext,
  userId?: string
) =>
  Effect.flatMap(Audit, (audit) =>
    audit.record({
      ...requestContext,
      ...(userId !== undefined ? { actorUserId: userId, resourceType: "user" as const, resourceId: userId } : {}),
      action,
      outcome
    })
  )

/** Starts a session (a new token family) for the account of this email, creating it on first sign-in. */
const startSession = (
  input: { readonly email: string; readonly name?: string; readonly googleSub?: string },
  action: AuditAction,
  requestContext: RequestContext
) =>
  Effect.gen(function* () {
    const { user } = yield* findOrCreateUser(input)
    const sessionId = yield* newUuid
    const refreshToken = yield* insertRefreshToken(user.id, sessionId, null, yield* currentDate)
    const signedIn = yield* answer(user, sessionId, refreshToken)
    yield* recordAudit(action, "success", requestContext, user.id)
    return signedIn
  }).pipe(databaseFailure)

/** Local development and tests only (the HTTP layer refuses it unless DEV_AUTH_ENABLED). */
export const signInWithDev = fnTraced("Auth.devLogin")(function* (
  input: { readonly email: string; readonly name?: string },
  requestContext: RequestContext = {}
) {
  return yield* startSession(input, "auth.dev_login", requestContext)
})

export const signInWithGoogle = fnTraced("Auth.googleLogin")(function* (
  input: { readonly idToken: string },
  requestContext: RequestContext = {}
) {
  const google = yield* GoogleIdTokens
  const identity = yield* google.verify(input.idToken).pipe(
    Effect.tapError(() => recordAudit("auth.login", "failure", requestContext))
  )
  return yield* startSession(
    { email: identity.email, googleSub: identity.sub, ...(identity.name !== undefined ? { name: identity.name } : {}) },
    "auth.login",
    requestContext
  ).pipe(
    Effect.tapError((error) =>
      error instanceof AccountBoundElsewhere
        ? Effect.andThen(
          // Someone holds a verified Google identity for this account's email: worth an alarm. The
          // account is named by its id; the email never goes into a log line or the audit trail.
          Effect.logWarning("Google sign-in refused: the email's account is bound to another Google account").pipe(
            Effect.annotateLogs({ userId: error.userId })
          ),
          Effect.flatMap(Audit, (audit) =>
            audit.record({ ...requestContext, resourceType: "user", resourceId: error.userId, action: "auth.login", outcome: "denied" })
          )
        )
        : Effect.void
    )
  )
})

type Rotation =
  | { readonly _tag: "rotated"; readonly userId: UserId; readonly familyId: string; readonly refreshToken: string }
  | { readonly _tag: "rejected"; readonly userId?: UserId }
  | { readonly _tag: "reuse"; readonly userId: UserId; readonly familyId: string }

const rejected: Rotation = { _tag: "rejected" }

/** Rotates the presented token: a new pair, or Unauthenticated (after revoking the family on reuse). */
export const refreshTokens = fnTraced("Auth.refresh")(function* (
  input: { readonly refreshToken: string },
  requestContext: RequestContext = {}
) {
  const now = yield* currentDate
  const presented = input.refreshToken

  const rotation: Rotation =
    presented.length === 0 || presented.length > MAX_REFRESH_TOKEN_LENGTH
      ? rejected
      : yield* databaseFailure(
          inTransaction(
            Effect.gen(function* () {
              const found = yield* Sessions.lockToken(refreshTokenHash(presented))
              if (Option.isNone(found)) return rejected
              const row = found.value
              if (row.revokedAt !== null) return { _tag: "rejected", userId: row.userId } satisfies Rotation
              if (row.rotatedAt !== null) {
                const child = Option.getOrUndefined(yield* Sessions.findChild(row.id))
                // A client's concurrent retry: the token was rotated moments ago and the pair it got
                // back has not been used yet. A child already rotated means two holders of this
                // token (a thief refreshed first): that is reuse, whatever the time.
                const concurrentRetry =
                  now.getTime() - row.rotatedAt.getTime() <= REUSE_GRACE_SECONDS * 1000 &&
                  child !== undefined &&
                  child.rotatedAt === null &&
                  child.revokedAt === null &&
                  child.expiresAt > now
                if (concurrentRetry) return { _tag: "rejected", userId: row.userId } satisfies Rotation
                yield* Sessions.revokeFamily(row.familyId, now, "reuse_detected")
                return { _tag: "reuse", userId: row.userId, familyId: row.familyId } satisfies Rotation
              }
              if (row.expiresAt <= now) return { _tag: "rejected", userId: row.userId } satisfies Rotation
              yield* Sessions.markRotated(row.id, now)
              const refreshToken = yield* insertRefreshToken(row.userId, row.familyId, row.id, now)
              return { _tag: "rotated", userId: row.userId, familyId: row.familyId, refreshToken } satisfies Rotation
            })
          )
        )

  if (rotation._tag !== "rotated") {
    if (rotation._tag === "reuse") {
      yield* Effect.logWarning("refresh token reuse: family revoked").pipe(
        Effect.annotateLogs({ userId: rotation.userId, familyId: rotation.familyId })
      )
    }
    yield* recordAudit("auth.refresh", "failure", requestContext, rotation.userId)
    return yield* refreshRejected()
  }
  const user = yield* databaseFailure(loadUser(rotation.userId))
  if (Option.isNone(user)) return yield* refreshRejected()
  const signedIn = yield* answer(user.value, rotation.familyId, rotation.refreshToken)
  yield* recordAudit("auth.refresh", "success", requestContext, rotation.userId)
  return signedIn
})

/**
 * Ends the session: the presented token's whole family is revoked. Idempotent for a token we
 * issued (rotated, revoked or expired alike); an unknown token is Unauthenticated.
 */
export const logout = fnTraced("Auth.logout")(function* (
  input: { readonly refreshToken: string },
  requestContext: RequestContext = {}
) {
  const now = yield* currentDate
  const presented = input.refreshToken
  const row =
    presented.length === 0 || presented.length > MAX_REFRESH_TOKEN_LENGTH
      ? undefined
      : Option.getOrUndefined(yield* databaseFailure(Sessions.findToken(refreshTokenHash(presented))))
  if (row === undefined) {
    yield* recordAudit("auth.logout", "failure", requestContext)
    return yield* refreshRejected()
  }
  yield* databaseFailure(Sessions.revokeFamily(row.familyId, now, "logout"))
  yield* recordAudit("auth.logout", "success", requestContext, row.userId)
})
