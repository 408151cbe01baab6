/**
 * Accounts by lookup hash. The email (and a Google subject) is never stored in the clear nor
 * hashed plainly: `email_hash` and `google_sub_hash` are HMACs under UserLookupKey, and the email
 * and name are sealed for their row (the id is chosen first, so the row can be bound to it).
 */
import { Effect, Option, Schema } from "effect"
import { randomUUID, timingSafeEqual } from "node:crypto"
import { Crypto, fieldContext } from "../services/crypto.js"
import { bytea, decodeRows, SqlClient } from "../services/database.js"
import { AccountBoundElsewhere } from "../services/errors.js"
import { UserLookupKey } from "../services/users.js"
import { UserId } from "../services/ids.js"
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

const UserRow = Schema.Struct({
  id: UserId,
  emailEncrypted: Schema.Uint8Array,
  nameEncrypted: Schema.NullOr(Schema.Uint8Array),
  googleSubHash: Schema.NullOr(Schema.Uint8Array)
})
const IdRow = Schema.Struct({ id: UserId })

const emailContext = (userId: string) => fieldContext(userId, "users", "email_encrypted", userId)
const nameContext = (userId: string) => fieldContext(userId, "users", "name_encrypted", userId)

const openUser = (row: typeof UserRow.Type) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const email = yield* crypto.openString(row.emailEncrypted, emailContext(row.id))
    const name = row.nameEncrypted === null ? null : yield* crypto.openString(row.nameEncrypted, nameContext(row.id))
    return { id: row.id, email, name } satisfies UserSummary
  })

/** The account's id, email and name; none when it does not exist. */
export const loadUser = fnTraced("Users.load")(function* (userId: UserId) {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* Effect.orDie(
    decodeRows(UserRow)(
      yield* sql`SELECT id, email_encrypted, name_encrypted, google_sub_hash FROM users WHERE id = ${userId}::uuid`
    )
  )
  return row === undefined ? Option.none<UserSummary>() : Option.some(yield* Effect.orDie(openUser(row)))
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
export const sessionActive = (sql: SqlClient.SqlClient, userId: string, sessionId: string) =>
  !isUuid(userId) || !isUuid(sessionId)
    ? Effect.succeed(false)
    : Effect.map(
        sql<{ readonly active: boolean }>`
          SELECT EXISTS (SELECT 1 FROM users WHERE id = ${userId}::uuid)
             AND NOT EXISTS (
               SELECT 1 FROM refresh_tokens
               WHERE family_id = ${sessionId}::uuid AND revoked_reason IN ('logout', 'reuse_detected', 'account_deleted')
             ) AS active`,
        (rows) => rows[0]?.active === true
      ).pipe(traced("Users.sessionActive"))

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
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const emailHash = yield* emailLookupHash(input.email)
  const subHash = input.googleSub === undefined ? null : yield* googleSubLookupHash(input.googleSub)
  const selectBy = (column: "email_hash" | "google_sub_hash", hash: Buffer) =>
    Effect.flatMap(
      sql`SELECT id, email_encrypted, name_encrypted, google_sub_hash FROM users WHERE ${sql(column)} = ${hash}`,
      (rows) => Effect.orDie(decodeRows(UserRow)(rows))
    )
  const find = Effect.gen(function* () {
    // The Google subject is the stable identity: it still finds the account after an email change.
    const [bySub] = subHash === null ? [] : yield* selectBy("google_sub_hash", subHash)
    if (bySub !== undefined) return bySub
    const [byEmail] = yield* selectBy("email_hash", emailHash)
    return byEmail
  })

  /**
   * An account is bound to the first Google subject that signs in to it. A Google identity may
   * use an account bound to its own subject, or bind one that has none yet (an account made by the
   * dev sign-in); an account bound to another subject is refused, whatever the email says.
   */
  const claim = (row: typeof UserRow.Type) =>
    Effect.gen(function* () {
      if (subHash === null) return row
      const boundElsewhere = new AccountBoundElsewhere({
        message: "This email belongs to an account that signs in with another Google account",
        userId: row.id
      })
      if (row.googleSubHash !== null) {
        return sameHash(row.googleSubHash, subHash) ? row : yield* Effect.fail(boundElsewhere)
      }
      const bound = yield* sql`
        UPDATE users SET google_sub_hash = ${subHash}, updated_at = now()
        WHERE id = ${row.id}::uuid AND google_sub_hash IS NULL
          AND NOT EXISTS (SELECT 1 FROM users WHERE google_sub_hash = ${subHash})
        RETURNING id`
      if (bound.length > 0) return row
      // Bound by someone else meanwhile (a concurrent first sign-in): ours only if it is our subject.
      const [now] = yield* selectBy("google_sub_hash", subHash)
      return now !== undefined && now.id === row.id ? now : yield* Effect.fail(boundElsewhere)
    })

  const existing = yield* find
  if (existing !== undefined) {
    return { user: yield* Effect.orDie(openUser(yield* claim(existing))), created: false }
  }

  const userId = UserId.make(randomUUID())
  const email = bytea(yield* crypto.sealString(normaliseEmail(input.email), emailContext(userId)))
  const name = input.name === undefined ? null : bytea(yield* crypto.sealString(input.name, nameContext(userId)))
  const inserted = yield* Effect.flatMap(
    sql`
      INSERT INTO users (id, email_hash, email_encrypted, name_encrypted, google_sub_hash)
      VALUES (${userId}::uuid, ${emailHash}, ${email}, ${name}, ${subHash})
      ON CONFLICT DO NOTHING
      RETURNING id`,
    (rows) => Effect.orDie(decodeRows(IdRow)(rows))
  )
  // A concurrent first sign-in may have won the insert (on either unique hash): read the winner.
  const row = yield* find
  if (row === undefined) return yield* Effect.die(new Error("findOrCreateUser: the account vanished after its insert"))
  return { user: yield* Effect.orDie(openUser(yield* claim(row))), created: inserted.length > 0 }
})
