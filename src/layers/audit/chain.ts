/**
 * The keyed chain shared by every Audit layer: the canonical encodings, the MACs, the keyed actor
 * pseudonym, and the checks `verify` runs.
 *
 * Keys. Nothing here uses the audit key (services/auditMac.ts) directly; working keys are derived
 * from it by label: `serenya.audit.chain.v2:<epoch>` per calendar month (UTC) for rows, seals and
 * checkpoints, and `serenya.audit.actor.v2` for pseudonyms. One derivation per process and label
 * (one KMS call a month live), so the request path MACs locally. A derived key that leaks lets its
 * holder forge within its month only; the database holds none of them.
 *
 * Row MAC (written with the row, on the request path): HMAC(chainKey(epoch), UTF-8 of the JSON array
 *   ["serenya.audit.row.v2", id, epoch, occurredAt, actorRef, action, resourceType, resourceId,
 *    outcome, requestId, traceId, personalMac])
 * absent values as JSON null. JSON strings are quoted and escaped, so no two distinct rows encode
 * alike. `occurredAt` is ISO 8601 UTC with microseconds, the precision PostgreSQL stores. The seq
 * is not in the row MAC (the database assigns it at insert); the seal binds it.
 *
 * Personal data: the client IP and user agent are kept apart from the row (erasure deletes them)
 * and the row MACs only `personalMac` = HMAC(chainKey, ["serenya.audit.personal.v2", id, clientIp,
 * userAgent]), hex, or null when both are absent. While they exist they are checked against it;
 * once erased nothing of them is left that could be recomputed without the key.
 *
 * Actor pseudonym: actorRef = HMAC(actorKey, "user:" ‖ lower-case user id), hex. Resource ids of
 * `user` and `account` resources are user ids and are stored as the same pseudonym. Without the key
 * nobody can recompute it from an id; with it (and the id) an auditor can still find a user's events.
 *
 * Seal (written by the single sealer, in the order it seals): mac = HMAC(chainKey(seal epoch),
 * prevMac ‖ JSON ["serenya.audit.seal.v2", position, rowId, rowSeq, hex(rowMac)]) with 32 zero bytes
 * for the first seal's prevMac. Positions are 1, 2, 3… with no gap.
 *
 * Checkpoint: mac = HMAC(chainKey(epoch), JSON [version, position, seq, head, epoch, at]).
 *
 * Rows from before the keyed trail (migration 0008) carry the old unkeyed hash chain instead
 * (`hash` = sha256(prev_hash ‖ the v1 canonical row)); `makeLegacyVerifier` still checks them.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import type { AuditBreak, AuditVerdict, NormalizedAuditEvent } from "../../services/audit.js"
import { type AuditCheckpoint, CHECKPOINT_VERSION } from "../../services/auditCheckpoints.js"

const GENESIS = new Uint8Array(32)

export const ACTOR_KEY_LABEL = "serenya.audit.actor.v2"
export const chainKeyLabel = (epoch: string): string => `serenya.audit.chain.v2:${epoch}`

/** The key epoch of a moment: its calendar month, UTC ("2026-12"). */
export const epochOf = (date: Date): string => date.toISOString().slice(0, 7)

/** Exactly the MAC'd fields of a row, as stored. */
export interface ChainRow {
  readonly id: string
  readonly epoch: string
  /** ISO 8601 UTC with six fractional digits. */
  readonly occurredAt: string
  readonly actorRef: string | null
  readonly action: string
  readonly resourceType: string | null
  readonly resourceId: string | null
  readonly outcome: string
  readonly requestId: string | null
  readonly traceId: string | null
  readonly personalMac: string | null
}

/** The erasable part of a row. */
export interface PersonalData {
  readonly clientIp: string | null
  readonly userAgent: string | null
}

/** A row as stored: the MAC'd fields, its seq and MAC, and its personal data unless erased. */
export interface StoredAuditRow extends ChainRow {
  readonly seq: number
  readonly rowMac: Uint8Array
  /** Absent once erased (or when the event had none). */
  readonly personal: PersonalData | null
}

/** A seal as stored. */
export interface StoredSeal {
  readonly position: number
  readonly rowId: string
  readonly rowSeq: number
  readonly epoch: string
  readonly prevMac: Uint8Array | null
  readonly mac: Uint8Array
}

const hmac = (key: Uint8Array, ...parts: ReadonlyArray<Uint8Array | string>): Buffer => {
  const h = createHmac("sha256", key)
  for (const part of parts) h.update(part)
  return h.digest()
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), "utf8")

export const rowMac = (key: Uint8Array, row: ChainRow): Buffer =>
  hmac(
    key,
    json([
      "serenya.audit.row.v2",
      row.id,
      row.epoch,
      row.occurredAt,
      row.actorRef,
      row.action,
      row.resourceType,
      row.resourceId,
      row.outcome,
      row.requestId,
      row.traceId,
      row.personalMac
    ])
  )

export const personalMacOf = (key: Uint8Array, id: string, personal: PersonalData): string | null =>
  personal.clientIp === null && personal.userAgent === null
    ? null
    : hmac(key, json(["serenya.audit.personal.v2", id, personal.clientIp, personal.userAgent])).toString("hex")

export const sealMac = (
  key: Uint8Array,
  prevMac: Uint8Array | null,
  seal: Pick<StoredSeal, "position" | "rowId" | "rowSeq">,
  sealedRowMac: Uint8Array
): Buffer =>
  hmac(
    key,
    prevMac ?? GENESIS,
    json(["serenya.audit.seal.v2", seal.position, seal.rowId, seal.rowSeq, Buffer.from(sealedRowMac).toString("hex")])
  )

export const checkpointMac = (key: Uint8Array, checkpoint: Omit<AuditCheckpoint, "mac">): string =>
  hmac(
    key,
    json([CHECKPOINT_VERSION, checkpoint.position, checkpoint.seq, checkpoint.head, checkpoint.epoch, checkpoint.at])
  ).toString("hex")

/** The checkpoint of a chain head (its position, the row it sealed, its MAC) at `at`, signed with the epoch's chain key. */
export const signedCheckpoint = (
  key: Uint8Array,
  head: { readonly position: number; readonly rowSeq: number; readonly mac: Uint8Array },
  epoch: string,
  at: Date
): AuditCheckpoint => {
  const fields: Omit<AuditCheckpoint, "mac"> = {
    version: CHECKPOINT_VERSION,
    position: head.position,
    seq: head.rowSeq,
    head: Buffer.from(head.mac).toString("hex"),
    epoch,
    at: at.toISOString()
  }
  return { ...fields, mac: checkpointMac(key, fields) }
}

/** The keyed pseudonym of a user id (the actor reference, and the id of user/account resources). */
export const actorRefOf = (actorKey: Uint8Array, userId: string): string =>
  hmac(actorKey, `user:${userId.toLowerCase()}`).toString("hex")

/** Resource types whose ids are user ids: stored as the pseudonym, never as the id. */
export const USER_RESOURCES: ReadonlySet<string> = new Set(["user", "account"])

/** Milliseconds from a Date, written with the microsecond precision PostgreSQL gives back. */
export const formatOccurredAt = (date: Date): string => `${date.toISOString().slice(0, 23)}000Z`

/** An event as it is stored: pseudonymised, MAC'd, its personal data apart. */
export const toStoredFields = (
  keys: { readonly chain: Uint8Array; readonly actor: Uint8Array; readonly epoch: string },
  id: string,
  occurredAt: Date,
  event: NormalizedAuditEvent
): { readonly row: ChainRow; readonly rowMac: Buffer; readonly personal: PersonalData | null } => {
  const personal: PersonalData = { clientIp: event.clientIp, userAgent: event.userAgent }
  const personalMac = personalMacOf(keys.chain, id, personal)
  const row: ChainRow = {
    id,
    epoch: keys.epoch,
    occurredAt: formatOccurredAt(occurredAt),
    actorRef: event.actorUserId === null ? null : actorRefOf(keys.actor, event.actorUserId),
    action: event.action,
    resourceType: event.resourceType,
    resourceId:
      event.resourceId !== null && event.resourceType !== null && USER_RESOURCES.has(event.resourceType)
        ? actorRefOf(keys.actor, event.resourceId)
        : event.resourceId,
    outcome: event.outcome,
    requestId: event.requestId,
    traceId: event.traceId,
    personalMac
  }
  return { row, rowMac: rowMac(keys.chain, row), personal: personalMac === null ? null : personal }
}

export const sameBytes = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a === null || b === null
    ? a === b
    : a.byteLength === b.byteLength && timingSafeEqual(Buffer.from(a.buffer, a.byteOffset, a.byteLength), b)

/** The break a stored row shows under its chain key, if any: its MAC, then its personal data. */
export const rowBreak = (chainKey: Uint8Array | undefined, row: StoredAuditRow): AuditBreak | undefined => {
  if (chainKey === undefined || !sameBytes(rowMac(chainKey, row), row.rowMac)) return "hash_mismatch"
  if (row.personal !== null && personalMacOf(chainKey, row.id, row.personal) !== row.personalMac) return "hash_mismatch"
  return undefined
}

/**
 * The chain key of an epoch, or undefined for an epoch that is not a real month up to next month:
 * epochs are read from the database, so an attacker could otherwise make verification derive keys
 * without end (a KMS call each), and no key may ever stand in for a missing one.
 */
export type KeyOf = (epoch: string) => Uint8Array | undefined

const EPOCH = /^\d{4}-(0[1-9]|1[0-2])$/

export const isValidEpoch = (epoch: string, now: Date): boolean =>
  EPOCH.test(epoch) && epoch >= "1970-01" && epoch <= epochOf(new Date(now.getTime() + 32 * 24 * 60 * 60 * 1000))

/**
 * Feed seals in position order with their rows (undefined when the row is gone); `check` answers
 * the verdict at the first fault. `head` is the last seal checked, to compare with a checkpoint.
 */
export const makeSealVerifier = (keyOf: KeyOf) => {
  let previous: StoredSeal | undefined
  let rows = 0
  return {
    check: (seal: StoredSeal, row: StoredAuditRow | undefined, rowsBefore: number): AuditVerdict | undefined => {
      rows++
      const broken = (reason: AuditBreak): AuditVerdict => ({ ok: false, rows: rowsBefore + rows, firstBrokenSeq: seal.rowSeq, reason })
      if (seal.position !== (previous?.position ?? 0) + 1) return broken("broken_link")
      if (!sameBytes(seal.prevMac, previous?.mac ?? null)) return broken("broken_link")
      if (row === undefined) return broken("missing_row")
      const sealKey = keyOf(seal.epoch)
      if (sealKey === undefined || !sameBytes(sealMac(sealKey, seal.prevMac, seal, row.rowMac), seal.mac)) {
        // The seal names this row and seq; either the seal was forged, or the row's MAC changed under it.
        return broken(row.seq === seal.rowSeq && rowBreak(keyOf(row.epoch), row) !== undefined ? "hash_mismatch" : "broken_link")
      }
      if (row.seq !== seal.rowSeq) return broken("broken_link")
      const reason = rowBreak(keyOf(row.epoch), row)
      if (reason !== undefined) return broken(reason)
      previous = seal
      return undefined
    },
    rows: () => rows,
    head: () => previous
  }
}

/** The verdict on the last checkpoint, given the last seal of the chain and the seal at the checkpoint's position. */
export const checkpointBreak = (
  keyOf: KeyOf,
  checkpoint: AuditCheckpoint,
  last: StoredSeal | undefined,
  atCheckpoint: StoredSeal | undefined,
  rows: number
): AuditVerdict | undefined => {
  const { mac, ...fields } = checkpoint
  const key = keyOf(checkpoint.epoch)
  if (key === undefined || checkpointMac(key, fields) !== mac) {
    return { ok: false, rows, firstBrokenSeq: checkpoint.seq, reason: "bad_checkpoint" }
  }
  if (last === undefined || last.position < checkpoint.position) {
    return { ok: false, rows, firstBrokenSeq: checkpoint.seq, reason: "truncated" }
  }
  if (atCheckpoint === undefined || Buffer.from(atCheckpoint.mac).toString("hex") !== checkpoint.head) {
    return { ok: false, rows, firstBrokenSeq: checkpoint.seq, reason: "broken_link" }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// The unkeyed chain of rows written before migration 0008, checked as it always was.

export const LEGACY_CHAIN_VERSION = "serenya.audit.v1"

/** Exactly the hashed fields of a legacy row, as stored. */
export interface LegacyChainRow {
  readonly seq: number
  readonly id: string
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

export interface LegacyStoredRow extends LegacyChainRow {
  readonly actorUserId: string | null
  readonly prevHash: Uint8Array | null
  readonly hash: Uint8Array
}

export const legacyCanonicalRow = (row: LegacyChainRow): Buffer =>
  json([
    LEGACY_CHAIN_VERSION,
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
  ])

export const legacyChainHash = (prevHash: Uint8Array | null, row: LegacyChainRow): Buffer =>
  createHash("sha256")
    .update(prevHash ?? GENESIS)
    .update(legacyCanonicalRow(row))
    .digest()

export const legacyActorRefOf = (userId: string): string =>
  createHash("sha256").update(`serenya.audit.actor.v1:${userId.toLowerCase()}`, "utf8").digest("hex")

/** Feed legacy rows in seq order; `check` answers the verdict at the first broken row. */
export const makeLegacyVerifier = () => {
  let previousHash: Uint8Array | null = null
  let rows = 0
  return {
    check: (row: LegacyStoredRow): AuditVerdict | undefined => {
      rows++
      const broken = (reason: AuditBreak): AuditVerdict => ({ ok: false, rows, firstBrokenSeq: row.seq, reason })
      if (!sameBytes(row.prevHash, previousHash)) return broken("broken_link")
      if (!sameBytes(legacyChainHash(row.prevHash, row), row.hash)) return broken("hash_mismatch")
      if (row.actorUserId !== null && row.actorRef !== legacyActorRefOf(row.actorUserId)) return broken("actor_mismatch")
      previousHash = row.hash
      return undefined
    },
    rows: () => rows
  }
}
