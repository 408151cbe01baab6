/**
 * Accounts by lookup hash. The email (and a Google subject) is never stored in the clear nor
 * hashed plainly: `email_hash` and `google_sub_hash` are HMACs under UserLookupKey, and the email
 * and name are sealed for their row (the id is chosen first, so the row can be bound to it).
 */
import { Effect, Option, Schema } from "effect"
import { timingSafeEqual } from "node:crypto"
import * as Sessions from "../repos/sessions.js"
import type { Client } from "../repos/transaction.js"
import * as Users from "../repos/users.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { bytea } from "../services/database.js"
import { AccountBoundElsewhere } from "../services/errors.js"
import { UserLookupKey } from "../services/users.js"
import { newUuid, UserId } from "../services/ids.js"
import { fnTraced, traced } from "../services/telemetry.js"

/** The form every lookup starts from: trimmed, lower-cased. */
export const normaliseEmail = (email: string) => email.trim().toLowerCase()

/** HMAC-SHA256 of the normalised email under the lookup key. */
export const emailLookupHash = (email: string) =>
  Effect.map(UserLookupKey, (key) => bytea(key.hmac(normaliseEmail(email))))

/** HMAC-SHA256 of a Google subject, domain-separated from email hashes. */
export const googleSubLookupHash = (sub: string) =>
  Effect.map(UserLookupKey, (key) => bytea(key.hmac(`google-sub:${sub}`)))

export interface UserSummary {
  readonly id: UserId
  readonly email: string
  readonly name: string | null
}

const sameHash = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b)

const emailContext = (userId: UserId) => fieldContext(userId, "users", "email_encrypted", userId)
const nameContext = (userId: UserId) => fieldContext(userId, "users", "name_encrypted", userId)

const openUser = (row: Users.UserRow) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const email = yield* crypto.openString(row.emailEncrypted, emailContext(row.id))
    const name = row.nameEncrypted === null ? null : yield* crypto.openString(row.nameEncrypted, nameContext(row.id))
    return { id: row.id, email, name } satisfies UserSummary
  })

/** The account's id, email and name; none when it does not exist. */
export const loadUser = fnTraced("Users.load")(function* (userId: UserId) {
  const row = yield* Users.findUser(userId)
  return Option.isNone(row) ? Option.none<UserSummary>() : Option.some(yield* Effect.orDie(openUser(row.value)))
})

const isUuid = Schema.is(Schema.String.check(Schema.isUUID()))

/**
 * Whether an access token's session still holds: its account exists and its session (refresh-token
 * family) was not ended by a logout or a detected reuse (erasure deletes the account, and the
 * family with it). One round trip, as the account check alone took before: the session check is
 * an index probe (refresh_tokens_family_idx) in the same statement, so it costs the request path
 * nothing measurable and needs no cache that instances would have to keep in step.
 * A family whose last token merely expired is not ended: its access tokens expire on their own.
 */
export const sessionActive = (sql: Client, userId: string, sessionId: string) =>
  !isUuid(userId) || !isUuid(sessionId)
    ? Effect.succeed(false)
    : Sessions.sessionActive(sql, userId, sessionId).pipe(traced("Users.sessionActive"))

/**
 * The account for this email, created on first sign-in. Race-safe: two first sign-ins with the
 * same email insert at most one row (ON CONFLICT DO NOTHING) and both read that row back.
 * A Google subject is recorded the first time one is seen for the account.
 */
export const findOrCreateUser = fnTraced("Users.findOrCreate")(function* (input: {
  readonly email: string
  readonly name?: string
  readonly googleSub?: string
}) {
  const crypto = yield* Crypto
  const emailHash = yield* emailLookupHash(input.email)
  const subHash = input.googleSub === undefined ? null : yield* googleSubLookupHash(input.googleSub)
  const find = Effect.gen(function* () {
    // The Google subject is the stable identity: it still finds the account after an email change.
    const bySub = subHash === null ? Option.none() : yield* Users.findByGoogleSubject(subHash)
    return Option.isSome(bySub) ? bySub : yield* Users.findByEmailHash(emailHash)
  })

  /**
   * An account is bound to the first Google subject that signs in to it. A Google identity may
   * use an account bound to its own subject, or bind one that has none yet (an account made by the
   * dev sign-in); an account bound to another subject is refused, whatever the email says.
   */
  const claim = (row: Users.UserRow) =>
    Effect.gen(function* () {
      if (subHash === null) return row
      const boundElsewhere = new AccountBoundElsewhere({
        message: "This email belongs to an account that signs in with another Google account",
        userId: row.id
      })
      if (row.googleSubHash !== null) {
        return sameHash(row.googleSubHash, subHash) ? row : yield* Effect.fail(boundElsewhere)
      }
      if (yield* Users.bindGoogleSubject(row.id, subHash)) return row
      // Bound by someone else meanwhile (a concurrent first sign-in): ours only if it is our subject.
      const now = yield* Users.findByGoogleSubject(subHash)
      return Option.isSome(now) && now.value.id === row.id ? now.value : yield* Effect.fail(boundElsewhere)
    })

  const existing = yield* find
  if (Option.isSome(existing)) {
    return { user: yield* Effect.orDie(openUser(yield* claim(existing.value))), created: false }
  }

  const userId = UserId.make(yield* newUuid)
  const inserted = yield* Users.insertUser({
    id: userId,
    emailHash,
    emailEncrypted: yield* crypto.sealString(normaliseEmail(input.email), emailContext(userId)),
    nameEncrypted: input.name === undefined ? null : yield* crypto.sealString(input.name, nameContext(userId)),
    googleSubHash: subHash
  })
  // A concurrent first sign-in may have won the insert (on either unique hash): read the winner.
  const row = yield* find
  if (Option.isNone(row)) return yield* Effect.die(new Error("findOrCreateUser: the account vanished after its insert"))
  return { user: yield* Effect.orDie(openUser(yield* claim(row.value))), created: inserted }
})
