/**
 * `users`: one row per account. An account is found by keyed hash only — `email_hash` and
 * `google_sub_hash`, both unique, HMACs computed by the caller — never by a value; the email and
 * the name are sealed for their row. `content_version` is bumped by a trigger on every change to
 * the user's content (migration 0004). Writers that add rows counted per user lock the user's
 * row first (`lockUser`, FOR NO KEY UPDATE: foreign-key inserts still pass); erasure takes the
 * stronger `lockUserForErasure` (FOR UPDATE), so concurrent inserts that reference the user wait,
 * then fail on the foreign key.
 */
import { Effect, Option, Schema } from "effect"
import { bytea, byteaOrNull, decodeRows, SqlClient } from "../services/database.js"
import { UserId } from "../services/ids.js"

/** The account's id and sealed fields. */
const sealed = {
  id: UserId,
  emailEncrypted: Schema.Uint8Array,
  nameEncrypted: Schema.NullOr(Schema.Uint8Array)
}

export const UserRow = Schema.Struct({ ...sealed, googleSubHash: Schema.NullOr(Schema.Uint8Array) })
export type UserRow = typeof UserRow.Type
const decodeUsers = decodeRows(UserRow)

const ProfileRow = Schema.Struct({ ...sealed, createdAt: Schema.Date })
const decodeProfiles = decodeRows(ProfileRow)
const decodeIds = decodeRows(Schema.Struct({ id: UserId }))
const decodeVersions = decodeRows(Schema.Struct({ version: Schema.String }))

const first = <A>(rows: ReadonlyArray<A>): Option.Option<A> => Option.fromNullishOr(rows[0])

/** The account's sealed fields and Google binding; none when it does not exist. */
export const findUser = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`SELECT id, email_encrypted, name_encrypted, google_sub_hash FROM users WHERE id = ${userId}::uuid`,
      (rows) => Effect.orDie(Effect.map(decodeUsers(rows), first))
    )
  )

const findBy = (column: "email_hash" | "google_sub_hash", hash: Uint8Array) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`SELECT id, email_encrypted, name_encrypted, google_sub_hash FROM users WHERE ${sql(column)} = ${bytea(hash)}`,
      (rows) => Effect.orDie(Effect.map(decodeUsers(rows), first))
    )
  )

/** The account whose email has this lookup hash. */
export const findByEmailHash = (emailHash: Uint8Array) => findBy("email_hash", emailHash)

/** The account bound to the Google subject of this lookup hash. */
export const findByGoogleSubject = (subHash: Uint8Array) => findBy("google_sub_hash", subHash)

/**
 * Binds the account to a Google subject, only while it has none and no other account holds the
 * subject; false when either was no longer so.
 */
export const bindGoogleSubject = (userId: UserId, subHash: Uint8Array) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`
        UPDATE users SET google_sub_hash = ${bytea(subHash)}, updated_at = now()
        WHERE id = ${userId}::uuid AND google_sub_hash IS NULL
          AND NOT EXISTS (SELECT 1 FROM users WHERE google_sub_hash = ${bytea(subHash)})
        RETURNING id`,
      (bound) => bound.length > 0
    )
  )

/** Inserts the account unless one holds either hash already (ON CONFLICT DO NOTHING); whether it did. */
export const insertUser = (user: {
  readonly id: UserId
  readonly emailHash: Uint8Array
  readonly emailEncrypted: Uint8Array
  readonly nameEncrypted: Uint8Array | null
  readonly googleSubHash: Uint8Array | null
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        INSERT INTO users (id, email_hash, email_encrypted, name_encrypted, google_sub_hash)
        VALUES (${user.id}::uuid, ${bytea(user.emailHash)}, ${bytea(user.emailEncrypted)}, ${byteaOrNull(user.nameEncrypted)}, ${byteaOrNull(user.googleSubHash)})
        ON CONFLICT DO NOTHING
        RETURNING id`,
      (rows) => Effect.orDie(Effect.map(decodeIds(rows), (inserted) => inserted.length > 0))
    )
  )

/** The account's sealed email and name and its creation time (the profile); none when it does not exist. */
export const findProfile = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, email_encrypted, name_encrypted, created_at FROM users WHERE id = ${userId}::uuid`,
      (rows) => Effect.map(decodeProfiles(rows), first)
    )
  )

/** The user's content stamp (see the header); none once the account is gone. */
export const contentVersion = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT content_version::text AS version FROM users WHERE id = ${userId}::uuid`.pipe(
      Effect.flatMap(decodeVersions),
      Effect.map((rows) => Option.map(first(rows), (row) => row.version))
    )
  )

/** Inside a transaction: serialises the user's writers of counted rows (FOR NO KEY UPDATE); false when the account is gone. */
export const lockUser = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql`SELECT id FROM users WHERE id = ${userId}::uuid FOR NO KEY UPDATE`, (rows) => rows.length > 0)
  )

/** Inside the erasure's transaction: the row locked FOR UPDATE (see the header); false when the account is gone. */
export const lockUserForErasure = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`, (rows) => rows.length > 0)
  )

/** Deletes the account's row (erasure: after every row that references it). */
export const deleteUser = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM users WHERE id = ${userId}::uuid`)
