/**
 * The hash chain shared by every Audit layer: the canonical encoding of a row, the hash, the
 * actor reference, and the incremental check `verify` runs row by row.
 *
 * Canonical row: the UTF-8 bytes of the JSON array
 *   ["serenya.audit.v1", seq, id, occurredAt, actorRef, action, resourceType, resourceId,
 *    outcome, requestId, traceId, clientIp, userAgent]
 * in that fixed order, absent values as JSON null. JSON strings are quoted and escaped (lone
 * surrogates included), so no two distinct rows encode alike and a separator inside a value
 * cannot shift a field. `occurredAt` is ISO 8601 UTC with microseconds ("…T12:00:00.123000Z"),
 * the precision PostgreSQL stores, so a tampered microsecond shows.
 * hash = sha256(prev_hash ‖ canonical row), with 32 zero bytes standing in for the first row's
 * (absent) prev_hash.
 *
 * Pseudonymisation: the row hashes `actorRef` = sha256("serenya.audit.actor.v1:" ‖ user id), hex,
 * never the user id. `actor_user_id` is stored beside it for lookups and bound to it by the check
 * (a present user id must derive to the hashed reference), so erasing it later (and recording
 * the caller's `actor_pseudonym` label, which is not hashed) leaves every hash intact, while
 * swapping in another user's id is caught. The reference is unkeyed: it resists guessing only
 * because user ids are random uuids; whoever holds a user id can still find that user's rows.
 */
import { createHash } from "node:crypto"
import type { AuditBreak, AuditVerdict, NormalizedAuditEvent } from "../../services/audit.js"

export const CHAIN_VERSION = "serenya.audit.v1"
const ACTOR_DOMAIN = "serenya.audit.actor.v1:"
const GENESIS = new Uint8Array(32)

/** Exactly the hashed fields, as stored. */
export interface ChainRow {
  readonly seq: number
  readonly id: string
  /** ISO 8601 UTC with six fractional digits. */
  readonly occurredAt: string
  readonly actorRef: string | null
  readonly action: string
  readonly resourceType: string | null
  readonly resourceId: string | null
  readonly outcome: string
  readonly requestId: string | null
  readonly traceId: string | null
  readonly clientIp: string | null
  readonly userAgent: string | null
}

/** A row as stored: the hashed fields, the erasable actor columns and the links. */
export interface StoredAuditRow extends ChainRow {
  readonly actorUserId: string | null
  readonly actorPseudonym: string | null
  readonly prevHash: Uint8Array | null
  readonly hash: Uint8Array
}

export const canonicalRow = (row: ChainRow): Buffer =>
  Buffer.from(
    JSON.stringify([
      CHAIN_VERSION,
      row.seq,
      row.id,
      row.occurredAt,
      row.actorRef,
      row.action,
      row.resourceType,
      row.resourceId,
      row.outcome,
      row.requestId,
      row.traceId,
      row.clientIp,
      row.userAgent
    ]),
    "utf8"
  )

export const chainHash = (prevHash: Uint8Array | null, row: ChainRow): Buffer =>
  createHash("sha256")
    .update(prevHash ?? GENESIS)
    .update(canonicalRow(row))
    .digest()

export const actorRefOf = (userId: string): string =>
  createHash("sha256").update(`${ACTOR_DOMAIN}${userId.toLowerCase()}`, "utf8").digest("hex")

/** Milliseconds from a Date, written with the microsecond precision PostgreSQL gives back. */
export const formatOccurredAt = (date: Date): string => `${date.toISOString().slice(0, 23)}000Z`

export const toChainRow = (seq: number, id: string, occurredAt: Date, event: NormalizedAuditEvent): ChainRow => ({
  seq,
  id,
  occurredAt: formatOccurredAt(occurredAt),
  actorRef: event.actorUserId === null ? null : actorRefOf(event.actorUserId),
  action: event.action,
  resourceType: event.resourceType,
  resourceId: event.resourceId,
  outcome: event.outcome,
  requestId: event.requestId,
  traceId: event.traceId,
  clientIp: event.clientIp,
  userAgent: event.userAgent
})

const sameBytes = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a === null || b === null ? a === b : Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)

const breakOf = (previousHash: Uint8Array | null, row: StoredAuditRow): AuditBreak | undefined => {
  if (!sameBytes(row.prevHash, previousHash)) return "broken_link"
  if (!sameBytes(chainHash(row.prevHash, row), row.hash)) return "hash_mismatch"
  if (row.actorUserId !== null && row.actorRef !== actorRefOf(row.actorUserId)) return "actor_mismatch"
  return undefined
}

/** Feed rows in seq order; `check` answers the verdict at the first broken row, `done` at the end. */
export const makeChainVerifier = () => {
  let previousHash: Uint8Array | null = null
  let rows = 0
  return {
    check: (row: StoredAuditRow): AuditVerdict | undefined => {
      rows++
      const reason = breakOf(previousHash, row)
      if (reason !== undefined) return { ok: false, rows, firstBrokenSeq: row.seq, reason }
      previousHash = row.hash
      return undefined
    },
    done: (): AuditVerdict => ({ ok: true, rows })
  }
}
