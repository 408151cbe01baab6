/**
 * `refresh_tokens`: a session is a family of refresh tokens (`family_id`, which access tokens name
 * as their session). A token is stored only as its SHA-256 (`token_hash`, unique, computed by the
 * caller); each use marks the row rotated and inserts its child (`parent_id`). A family ended by a
 * logout or a detected reuse has its rows revoked with that reason, and its access tokens stop
 * working at once (`sessionActive`). Times are the caller's (Clock), never `now()`.
 */
import { Effect, Option, Schema } from "effect"
import { bytea, decodeRows, SqlClient } from "../services/database.js"
import { UserId } from "../services/ids.js"
import type { Client } from "./transaction.js"

const Uuid = Schema.String.check(Schema.isUUID())

/** Where a token is in its life. */
const lifetime = {
  expiresAt: Schema.Date,
  rotatedAt: Schema.NullOr(Schema.Date),
  revokedAt: Schema.NullOr(Schema.Date)
}

export const TokenRow = Schema.Struct({ id: Uuid, userId: UserId, familyId: Uuid, ...lifetime })
export type TokenRow = typeof TokenRow.Type
const decodeTokens = decodeRows(TokenRow)

const ChildRow = Schema.Struct({ id: Uuid, ...lifetime })
const decodeChildren = decodeRows(ChildRow)

const first = <A>(rows: ReadonlyArray<A>): Option.Option<A> => Option.fromNullishOr(rows[0])

export const insertRefreshToken = (token: {
  readonly id: string
  readonly userId: UserId
  readonly familyId: string
  readonly tokenHash: Uint8Array
  readonly parentId: string | null
  readonly issuedAt: Date
  readonly expiresAt: Date
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, parent_id, issued_at, expires_at)
      VALUES (${token.id}::uuid, ${token.userId}::uuid, ${token.familyId}::uuid, ${bytea(token.tokenHash)},
              ${token.parentId}::uuid, ${token.issuedAt}, ${token.expiresAt})`
  )

/** The token of this hash, locked until the transaction ends (a refresh: FOR UPDATE). */
export const lockToken = (tokenHash: Uint8Array) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at
        FROM refresh_tokens WHERE token_hash = ${bytea(tokenHash)} FOR UPDATE`,
      (rows) => Effect.orDie(Effect.map(decodeTokens(rows), first))
    )
  )

/** The token of this hash, unlocked (a logout). */
export const findToken = (tokenHash: Uint8Array) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at
        FROM refresh_tokens WHERE token_hash = ${bytea(tokenHash)}`,
      (rows) => Effect.orDie(Effect.map(decodeTokens(rows), first))
    )
  )

/** The token issued when `parentId` was rotated. */
export const findChild = (parentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`SELECT id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE parent_id = ${parentId}::uuid`,
      (rows) => Effect.orDie(Effect.map(decodeChildren(rows), first))
    )
  )

export const markRotated = (tokenId: string, at: Date) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE refresh_tokens SET rotated_at = ${at} WHERE id = ${tokenId}::uuid`)

/** Ends the session: every token of the family not revoked yet is revoked, for `reason`. */
export const revokeFamily = (familyId: string, at: Date, reason: "logout" | "reuse_detected") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    // The reason stays a literal in each statement, as it was written in the programs.
    reason === "logout"
      ? sql`
          UPDATE refresh_tokens SET revoked_at = ${at}, revoked_reason = 'logout'
          WHERE family_id = ${familyId}::uuid AND revoked_at IS NULL`
      : sql`
          UPDATE refresh_tokens SET revoked_at = ${at}, revoked_reason = 'reuse_detected'
          WHERE family_id = ${familyId}::uuid AND revoked_at IS NULL`
  )

/**
 * Whether the account exists and the session (token family) was not ended. One round trip: the
 * session check is an index probe (refresh_tokens_family_idx) in the same statement. Handed the
 * client, not reading it from the context: on the request path, providing it to each request's
 * context would copy every service in it. The ids must be UUIDs (the caller checks).
 */
export const sessionActive = (sql: Client, userId: string, sessionId: string) =>
  Effect.map(
    sql<{ readonly active: boolean }>`
      SELECT EXISTS (SELECT 1 FROM users WHERE id = ${userId}::uuid)
         AND NOT EXISTS (
           SELECT 1 FROM refresh_tokens
           WHERE family_id = ${sessionId}::uuid AND revoked_reason IN ('logout', 'reuse_detected', 'account_deleted')
         ) AS active`,
    (rows) => rows[0]?.active === true
  )
