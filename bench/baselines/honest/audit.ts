/**
 * The audit row of a timeline read, written on node-postgres with node:crypto and nothing else,
 * for the benchmark's floor: the row our live Audit layer (src/layers/audit/postgres.ts `record`)
 * inserts for `audit.record({ actorUserId, action: "content.list", resourceType: "content",
 * outcome: "success" })`, column for column, so that our sealer (running in our server's process)
 * seals it and `audit:verify` accepts it. test/bench/honestAudit.test.ts holds the two side by side.
 *
 * Restated from src/layers/audit/chain.ts and keys.ts (this file imports nothing of ours, so no
 * Effect): working keys are HMAC(audit key, label), derived once per process and label, the chain
 * key per calendar month (UTC); the actor is stored as HMAC(actor key, "user:" ‖ lower-case id);
 * the row MAC covers the JSON array of the row's fields. Like ours, the event carries the request
 * id, the client IP and the user agent (no trace id: the bench runs ours untraced), so the row
 * carries the personal MAC and the same one statement also writes audit_personal.
 *
 * What it leaves out: the KMS audit key (KEY_PROVIDER=kms is refused at start), the event
 * normalisation beyond what this one event needs (the user id must be a uuid and is lower-cased,
 * as ours does), ours' statement timeout and circuit breaker, and spans.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Pool } from "pg"

// src/layers/audit/chain.ts
const ACTOR_KEY_LABEL = "serenya.audit.actor.v2"
const chainKeyLabel = (epoch: string) => `serenya.audit.chain.v2:${epoch}`
const ROW_VERSION = "serenya.audit.row.v2"
const PERSONAL_VERSION = "serenya.audit.personal.v2"
// src/services/audit.ts `isAuditUserId`
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
// src/layers/auditMac/local.ts
const KEY_FILE = "audit-mac.key"

const hmac = (key: Uint8Array, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest()

/** The stored columns of an audit_log row, as src/layers/audit/postgres.ts `record` binds them. */
export interface HonestAuditRow {
  readonly id: string
  /** ISO 8601 UTC with six fractional digits (the last three always 0: we keep milliseconds). */
  readonly occurredAt: string
  readonly epoch: string
  readonly actorRef: string
  readonly action: "content.list"
  readonly resourceType: "content"
  readonly resourceId: null
  readonly outcome: "success"
  readonly requestId: string | null
  readonly traceId: null
  readonly personalMac: string | null
  readonly rowMac: Buffer
  readonly clientIp: string | null
  readonly userAgent: string | null
}

/** What our route records of the request with the event (src/services/audit.ts `RequestContext`, less the trace id). */
export interface HonestRequestContext {
  readonly requestId?: string | undefined
  readonly clientIp?: string | undefined
  readonly userAgent?: string | undefined
}

export interface HonestAudit {
  /** The row of a timeline read at `at`, with the id given (pure; the writer draws a random one). */
  readonly rowOf: (userId: string, id: string, at: Date, context?: HonestRequestContext) => HonestAuditRow
  /** Inserts the row of a timeline read by `userId`, now, and answers it (the caller may ignore it). */
  readonly recordTimelineRead: (pool: Pool, userId: string, context?: HonestRequestContext) => Promise<HonestAuditRow>
}

/** From the audit key itself (32 bytes): the working keys are derived from it as ours derives them. */
export const makeHonestAudit = (auditKey: Uint8Array): HonestAudit => {
  const secret = Buffer.from(auditKey)
  // keys.ts keeps every derived key for the life of the process: so does this.
  const derived = new Map<string, Buffer>()
  const derive = (label: string) => {
    let key = derived.get(label)
    if (key === undefined) derived.set(label, (key = hmac(secret, label)))
    return key
  }

  const rowOf = (userId: string, id: string, at: Date, context: HonestRequestContext = {}): HonestAuditRow => {
    // A malformed id is a defect in ours (the row is never written); here it throws.
    if (!UUID.test(userId)) throw new Error("the audit actor is not a uuid")
    // chain.ts `epochOf` and `formatOccurredAt`
    const iso = at.toISOString()
    const epoch = iso.slice(0, 7)
    const occurredAt = `${iso.slice(0, 23)}000Z`
    const actorRef = hmac(derive(ACTOR_KEY_LABEL), `user:${userId.toLowerCase()}`).toString("hex")
    const requestId = context.requestId ?? null
    const clientIp = context.clientIp ?? null
    const userAgent = context.userAgent ?? null
    const chainKey = derive(chainKeyLabel(epoch))
    // chain.ts `personalMacOf`: none when there is neither an IP nor a user agent.
    const personalMac =
      clientIp === null && userAgent === null ? null : hmac(chainKey, JSON.stringify([PERSONAL_VERSION, id, clientIp, userAgent])).toString("hex")
    const fields = [ROW_VERSION, id, epoch, occurredAt, actorRef, "content.list", "content", null, "success", requestId, null, personalMac]
    return {
      id,
      occurredAt,
      epoch,
      actorRef,
      action: "content.list",
      resourceType: "content",
      resourceId: null,
      outcome: "success",
      requestId,
      traceId: null,
      personalMac,
      rowMac: hmac(chainKey, JSON.stringify(fields)),
      clientIp,
      userAgent
    }
  }

  const recordTimelineRead = async (pool: Pool, userId: string, context: HonestRequestContext = {}): Promise<HonestAuditRow> => {
    const row = rowOf(userId, randomUUID(), new Date(), context)
    const values = [
      row.id,
      row.occurredAt,
      row.epoch,
      row.actorRef,
      row.action,
      row.resourceType,
      row.resourceId,
      row.outcome,
      row.requestId,
      row.traceId,
      row.personalMac,
      row.rowMac
    ]
    const insertRow = `INSERT INTO audit_log (id, occurred_at, epoch, actor_ref, action, resource_type, resource_id, outcome,
                              request_id, trace_id, personal_mac, row_mac)
       VALUES ($1::uuid, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
    // The statement(s) of postgres.ts `record`: one round trip either way, both rows committed together.
    await (row.personalMac === null
      ? pool.query(insertRow, values)
      : pool.query(
          `WITH inserted AS (${insertRow} RETURNING id)
           INSERT INTO audit_personal (row_id, client_ip, user_agent) SELECT id, $13, $14 FROM inserted`,
          [...values, row.clientIp, row.userAgent]
        ))
    return row
  }

  return { rowOf, recordTimelineRead }
}

const parseKey = (text: string): Buffer | undefined => {
  const value = text.trim()
  return /^[0-9a-f]{64}$/.test(value) ? Buffer.from(value, "hex") : undefined
}

/**
 * The local audit key, as src/layers/auditMac/local.ts `loadLocalAuditKey` finds it:
 * DATA_DIR/keys/audit-mac.key (64 lower-case hex digits), created 0600 when absent, the first of
 * two racing processes winning ("wx"). Ours reads it on the first derivation; the floor at start.
 */
export const loadLocalAuditKey = async (dataDir: string): Promise<Buffer> => {
  const file = path.join(dataDir, "keys", KEY_FILE)
  const read = async () => parseKey(await fs.readFile(file, "utf8").catch(() => ""))
  const existing = await read()
  if (existing) return existing
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  await fs.writeFile(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" }).catch(() => undefined)
  const created = await read()
  if (!created) throw new Error("no valid audit key")
  return created
}

/** The writer from the environment our server reads: KEY_PROVIDER (local only) and DATA_DIR (default ./.data). */
export const honestAuditFromEnv = async (env: NodeJS.ProcessEnv = process.env): Promise<HonestAudit> => {
  if ((env.KEY_PROVIDER ?? "local") !== "local") throw new Error("the honest baseline supports KEY_PROVIDER=local only")
  // src/config.ts: DATA_DIR defaults to ./.data, resolved against the working directory.
  return makeHonestAudit(await loadLocalAuditKey(path.resolve(env.DATA_DIR ?? "./.data")))
}
