/**
 * Sign-in, refresh rotation, reuse detection and logout on a real database: users are created
 * once per email (sealed, found by an HMAC), refresh tokens rotate on every use, a rotated token
 * presented again (outside the grace window) revokes its whole family, and anything else that is
 * not a live token is the same Unauthenticated.
 */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Cause, Effect, Result, Exit, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { generateKeyPairSync } from "node:crypto"
import { makeAccessTokens, signingKeyFrom } from "../../src/layers/auth/jwt.js"
import { UserLookupKeyMemory } from "../../src/layers/auth/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { logout, refreshTokenHash, refreshTokens, signInWithDev, signInWithGoogle } from "../../src/programs/auth.js"
import { emailLookupHash, findOrCreateUser, sessionActive } from "../../src/programs/users.js"
import { AccessTokens } from "../../src/services/auth.js"
import { Crypto, fieldContext } from "../../src/services/crypto.js"
import { AccountBoundElsewhere, errorInfo, Unauthenticated } from "../../src/services/errors.js"
import { GoogleIdTokens } from "../../src/services/googleIdentity.js"
import { TestDatabaseLive } from "../support/database.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { createUser } from "../support/users.js"
import { UserId } from "../../src/services/ids.js"

const key = signingKeyFrom(
  generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
)
const Tokens = Layer.succeed(AccessTokens, makeAccessTokens(key, { issuer: "serenya", ttlSeconds: 900 }))

// A stand-in for Google: "good:<sub>:<email>" is a valid token, anything else is not.
const GoogleFake = Layer.succeed(
  GoogleIdTokens,
  GoogleIdTokens.of({
    verify: (idToken) => {
      const [kind, sub, email] = idToken.split(":")
      return kind === "good" && sub !== undefined && email !== undefined
        ? Effect.succeed({ sub, email, name: "Google User", emailVerified: true })
        : Effect.fail(new Unauthenticated({ message: "The Google ID token is not valid" }))
    }
  })
)

const TestLayer = Layer.mergeAll(CryptoMemory, AuditWithRows, UserLookupKeyMemory, Tokens, GoogleFake).pipe(
  Layer.provideMerge(TestDatabaseLive())
)

const UserRow = Schema.Struct({
  id: Schema.String,
  emailHash: Schema.Uint8Array,
  emailEncrypted: Schema.Uint8Array,
  nameEncrypted: Schema.NullOr(Schema.Uint8Array)
})

const usersWithEmailHash = (hash: Uint8Array) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT id, email_hash, email_encrypted, name_encrypted FROM users WHERE email_hash = ${Buffer.from(hash)}`
    return yield* Schema.decodeUnknownEffect(Schema.Array(UserRow))(rows)
  })

const isUnauthenticated = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && Option.exists(Cause.findErrorOption(exit.cause), (error) => error instanceof Unauthenticated)

const expectUnauthenticated = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const result = yield* Effect.result(effect)
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) expect(result.failure).toBeInstanceOf(Unauthenticated)
  })

const familyRevocations = (refreshToken: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`
      SELECT revoked_reason FROM refresh_tokens
      WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ${refreshTokenHash(refreshToken)})
      ORDER BY issued_at, id`
    return rows.map((row) => row["revokedReason"] ?? null)
  })

const auditActions = auditRows.pipe(
  Effect.map((rows) => rows.map((row) => `${row.action}:${row.outcome}`))
)

let counter = 0
const uniqueEmail = () => `Person.${++counter}.${Date.now()}@Example.com`

layer(TestLayer)("auth programs", (it) => {
  it.effect("dev sign-in creates the user once: same email, same id; email and name sealed; lookup hash is an HMAC", () =>
    Effect.gen(function* () {
      const email = uniqueEmail()
      const first = yield* signInWithDev({ email, name: "Ada" })
      const again = yield* signInWithDev({ email: `  ${email.toUpperCase()} ` })
      expect(again.user.id).toBe(first.user.id)
      expect(first.user).toEqual({ id: first.user.id, email: email.toLowerCase(), name: "Ada" })
      expect(first.expiresIn).toBe(900)
      expect(first.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(first.refreshToken).not.toBe(again.refreshToken)
      const claims = yield* Effect.flatMap(AccessTokens, (tokens) => tokens.verify(first.accessToken))
      expect(claims.sub).toBe(first.user.id)

      const hash = yield* emailLookupHash(email)
      expect(Buffer.from(hash).equals(Buffer.from(email.toLowerCase()))).toBe(false)
      expect(hash.length).toBe(32)
      const rows = yield* usersWithEmailHash(hash)
      expect(rows).toHaveLength(1)
      const row = rows[0]!
      expect(Buffer.from(row.emailEncrypted).includes(Buffer.from(email.toLowerCase()))).toBe(false)
      const crypto = yield* Crypto
      const opened = yield* crypto.openString(row.emailEncrypted, fieldContext(UserId.make(row.id), "users", "email_encrypted", row.id))
      expect(opened).toBe(email.toLowerCase())
      expect(row.nameEncrypted).not.toBeNull()
      expect(yield* crypto.openString(row.nameEncrypted!, fieldContext(UserId.make(row.id), "users", "name_encrypted", row.id))).toBe("Ada")
      const sql = yield* SqlClient.SqlClient
      const session = "11111111-1111-4111-8111-111111111111"
      expect(yield* sessionActive(sql, first.user.id, session)).toBe(true)
      expect(yield* sessionActive(sql, "00000000-0000-4000-8000-000000000000", session)).toBe(false)
      expect(yield* sessionActive(sql, "not-a-uuid", session)).toBe(false)
      expect(yield* sessionActive(sql, first.user.id, "not-a-uuid")).toBe(false)
      expect(yield* auditActions).toContain("auth.dev_login:success")
    })
  )

  it.effect("a user the test support inserts directly is found by sign-in: it hashes the email as the app does", () =>
    Effect.gen(function* () {
      const email = uniqueEmail()
      const inserted = yield* createUser({ email: `  ${email.toUpperCase()} `, name: "Grace" })
      const found = yield* findOrCreateUser({ email })
      expect(found).toMatchObject({ created: false, user: { id: inserted, email: email.toLowerCase(), name: "Grace" } })
    })
  )

  it.effect("concurrent first sign-ins with one email make one account", () =>
    Effect.gen(function* () {
      const email = uniqueEmail()
      const results = yield* Effect.all(
        Array.from({ length: 8 }, () => findOrCreateUser({ email })),
        { concurrency: "unbounded" }
      )
      expect(new Set(results.map((r) => r.user.id)).size).toBe(1)
      expect(results.filter((r) => r.created)).toHaveLength(1)
      expect(yield* usersWithEmailHash(yield* emailLookupHash(email))).toHaveLength(1)
    })
  )

  it.effect("Google sign-in creates the user from the verified identity and finds it again by its subject", () =>
    Effect.gen(function* () {
      const email = uniqueEmail()
      const first = yield* signInWithGoogle({ idToken: `good:sub-${counter}:${email}` })
      expect(first.user.name).toBe("Google User")
      // the same Google account after an email change is still the same user
      const moved = yield* signInWithGoogle({ idToken: `good:sub-${counter}:moved-${email}` })
      expect(moved.user.id).toBe(first.user.id)
      yield* expectUnauthenticated(signInWithGoogle({ idToken: "forged" }))
      const actions = yield* auditActions
      expect(actions).toContain("auth.login:success")
      expect(actions).toContain("auth.login:failure")
    })
  )

  it.effect("an account is bound to its first Google subject: another Google account with the same email is refused", () =>
    Effect.gen(function* () {
      const email = uniqueEmail()
      const victim = yield* signInWithGoogle({ idToken: `good:victim-${counter}:${email}` })
      // A recycled Workspace address: a different Google account, the same verified email.
      const takeover = yield* Effect.result(signInWithGoogle({ idToken: `good:attacker-${counter}:${email}` }))
      expect(Result.isFailure(takeover)).toBe(true)
      if (Result.isFailure(takeover)) {
        expect(takeover.failure).toBeInstanceOf(AccountBoundElsewhere)
        expect(errorInfo(takeover.failure)).toMatchObject({ code: "ACCOUNT_BOUND_TO_OTHER_GOOGLE_ACCOUNT", status: 401 })
      }
      // Audited against the account, as denied; the email is nowhere in the trail.
      const rows = yield* auditRows
      const denied = rows.filter((row) => row.action === "auth.login" && row.outcome === "denied")
      expect(denied.map((row) => row.resourceId)).toContain(victim.user.id)
      expect(JSON.stringify(rows).toLowerCase()).not.toContain(email.toLowerCase())
      // The victim still signs in, to the same account.
      expect((yield* signInWithGoogle({ idToken: `good:victim-${counter}:${email}` })).user.id).toBe(victim.user.id)
    })
  )

  it.effect("an account made by the dev sign-in is linked to Google the first time, and only to that Google account", () =>
    Effect.gen(function* () {
      const email = uniqueEmail()
      const dev = yield* signInWithDev({ email })
      const linked = yield* signInWithGoogle({ idToken: `good:first-${counter}:${email}` })
      expect(linked.user.id).toBe(dev.user.id)
      const second = yield* Effect.result(signInWithGoogle({ idToken: `good:second-${counter}:${email}` }))
      expect(Result.isFailure(second) && second.failure instanceof AccountBoundElsewhere).toBe(true)
    })
  )

  it.effect("concurrent first Google sign-ins of two subjects to one unbound account: one subject wins, the other is refused", () =>
    Effect.gen(function* () {
      const email = uniqueEmail()
      const dev = yield* signInWithDev({ email })
      const results = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => Effect.result(signInWithGoogle({ idToken: `good:racer-${i % 2}-${counter}:${email}` }))),
        { concurrency: "unbounded" }
      )
      const won = results.flatMap((result, i) => (Result.isSuccess(result) ? [i % 2] : []))
      const refused = results.filter((result) => Result.isFailure(result) && result.failure instanceof AccountBoundElsewhere)
      expect(won.length).toBeGreaterThan(0)
      expect(new Set(won).size).toBe(1) // only one subject ever got in
      expect(won.length + refused.length).toBe(8)
      for (const result of results) if (Result.isSuccess(result)) expect(result.success.user.id).toBe(dev.user.id)
    })
  )

  it.effect("refresh rotates: the new pair works, the used token is rejected", () =>
    Effect.gen(function* () {
      const signedIn = yield* signInWithDev({ email: uniqueEmail() })
      const next = yield* refreshTokens({ refreshToken: signedIn.refreshToken })
      expect(next.user.id).toBe(signedIn.user.id)
      expect(next.refreshToken).not.toBe(signedIn.refreshToken)
      // within the grace window: a concurrent retry, refused but nothing revoked
      yield* expectUnauthenticated(refreshTokens({ refreshToken: signedIn.refreshToken }))
      expect(yield* familyRevocations(signedIn.refreshToken)).toEqual([null, null])
      const third = yield* refreshTokens({ refreshToken: next.refreshToken })
      expect(third.user.id).toBe(signedIn.user.id)
      const actions = yield* auditActions
      expect(actions).toContain("auth.refresh:success")
      expect(actions).toContain("auth.refresh:failure")
    })
  )

  it.effect("reuse of a rotated token outside the grace window revokes the whole family", () =>
    Effect.gen(function* () {
      const signedIn = yield* signInWithDev({ email: uniqueEmail() })
      const next = yield* refreshTokens({ refreshToken: signedIn.refreshToken })
      const newest = yield* refreshTokens({ refreshToken: next.refreshToken })
      yield* TestClock.adjust("11 seconds")
      yield* expectUnauthenticated(refreshTokens({ refreshToken: signedIn.refreshToken }))
      expect(yield* familyRevocations(signedIn.refreshToken)).toEqual(["reuse_detected", "reuse_detected", "reuse_detected"])
      // the thief's (or the owner's) newest token stops working too
      yield* expectUnauthenticated(refreshTokens({ refreshToken: newest.refreshToken }))
    })
  )

  it.effect("inside the grace window, a token whose child was already rotated is reuse: the thief's chain dies too", () =>
    Effect.gen(function* () {
      const signedIn = yield* signInWithDev({ email: uniqueEmail() })
      // A thief refreshes the stolen token, then refreshes again (the child is rotated)...
      const stolen = yield* refreshTokens({ refreshToken: signedIn.refreshToken })
      const thiefs = yield* refreshTokens({ refreshToken: stolen.refreshToken })
      // ...and the victim presents the same original token within the 10 s window.
      yield* TestClock.adjust("2 seconds")
      yield* expectUnauthenticated(refreshTokens({ refreshToken: signedIn.refreshToken }))
      expect(yield* familyRevocations(signedIn.refreshToken)).toEqual(["reuse_detected", "reuse_detected", "reuse_detected"])
      yield* expectUnauthenticated(refreshTokens({ refreshToken: thiefs.refreshToken }))
    })
  )

  it.effect("an expired refresh token is rejected", () =>
    Effect.gen(function* () {
      const signedIn = yield* signInWithDev({ email: uniqueEmail() })
      yield* TestClock.adjust("30 days")
      yield* expectUnauthenticated(refreshTokens({ refreshToken: signedIn.refreshToken }))
    })
  )

  it.effect("logout revokes the family and answers; unknown tokens are Unauthenticated", () =>
    Effect.gen(function* () {
      const signedIn = yield* signInWithDev({ email: uniqueEmail() })
      const next = yield* refreshTokens({ refreshToken: signedIn.refreshToken })
      yield* logout({ refreshToken: next.refreshToken })
      expect(yield* familyRevocations(next.refreshToken)).toEqual(["logout", "logout"])
      yield* expectUnauthenticated(refreshTokens({ refreshToken: next.refreshToken }))
      // idempotent for a token we issued
      yield* logout({ refreshToken: next.refreshToken })
      yield* expectUnauthenticated(logout({ refreshToken: "never-issued" }))
      expect(yield* auditActions).toContain("auth.logout:success")
    })
  )

  it.effect("random strings as refresh tokens are Unauthenticated, never a defect", () =>
    Effect.gen(function* () {
      const samples = fc.sample(fc.oneof(fc.string({ maxLength: 600 }), fc.string({ unit: "binary", maxLength: 100 }), fc.base64String()), 60)
      for (const token of [...samples, "", "\u0000", "x".repeat(10_000)]) {
        const exit = yield* Effect.exit(refreshTokens({ refreshToken: token }))
        expect(isUnauthenticated(exit), JSON.stringify(token).slice(0, 40)).toBe(true)
      }
    })
  )
})
