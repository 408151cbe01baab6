/**
 * The Audit capability: an append-only, keyed and sealed trail of who did what to which resource,
 * with what outcome, from where. An event holds ids, codes and network metadata only — never
 * health data, never free text we did not receive as a header (the user agent, cleaned and cut).
 *
 * Tamper evidence rests on a key the database never holds (`AuditMac`: a local key file, KMS
 * GenerateMac live): every row carries a MAC, a single sealer chains committed rows in the order
 * it seals them, and the chain's head is checkpointed outside the database (`AuditCheckpoints`).
 * Whoever holds only the database — the application's role, the owner, a superuser — can still
 * delete or change rows, but not without `verify` naming it. The user appears only as a keyed
 * pseudonym (HMAC of the id), never the id itself; their client IP and user agent are erasable.
 * See layers/audit/chain.ts for the encoding and layers/audit/postgres.ts for the design.
 *
 * The rules every layer applies to an event before it is chained live here (`normalizeAuditEvent`):
 * - ids and codes are ours, so one that is not well formed is a programming error (a defect,
 *   whose message never echoes the value);
 * - network metadata comes from outside, so it is cleaned instead: control characters and lone
 *   surrogates go, the user agent is cut to MAX_USER_AGENT_LENGTH, a client IP that is not an IP
 *   literal is dropped.
 */
import { Context, type Effect, Result, Schema } from "effect"
import { ErrorInfoId, RetryAfterId } from "./errors.js"

export const AuditAction = Schema.Literals(["auth.login", "auth.refresh", "auth.logout", "auth.dev_login", "document.upload", // a presigned upload target issued (programs/presignedUpload.ts); its completion is a document.upload
  "document.upload.begin", "job.read", "job.status", "job.events", "content.list", "content.read", "content.export", "content.delete", "chat.message", "chat.read", "subscription.read", "account.read", "account.export", "account.delete",
  // push devices (programs/devices.ts): registered, removed, listed
  "device.register", "device.remove", "device.list"])
export type AuditAction = typeof AuditAction.Type

export const AuditOutcome = Schema.Literals(["success", "failure", "denied"])
export type AuditOutcome = typeof AuditOutcome.Type

/** What an event can be about: codes, so a resource type can never carry text. */
export const AuditResourceType = Schema.Literals(["user", "account", "session", "refresh_token", "document", "upload", "job", "content", "conversation", "message", "subscription", "device"])
export type AuditResourceType = typeof AuditResourceType.Type

export const AuditEvent = Schema.Struct({
  /** Absent when nobody is signed in (a failed login). */
  actorUserId: Schema.optional(Schema.String),
  action: AuditAction,
  resourceType: Schema.optional(AuditResourceType),
  /** An id (uuid, key or token id): `[A-Za-z0-9][A-Za-z0-9._:/-]*`, at most 128 characters. */
  resourceId: Schema.optional(Schema.String),
  outcome: AuditOutcome,
  requestId: Schema.optional(Schema.String),
  traceId: Schema.optional(Schema.String),
  clientIp: Schema.optional(Schema.String),
  userAgent: Schema.optional(Schema.String),
  /** Defaults to now from the Clock; kept to the millisecond. */
  occurredAt: Schema.optional(Schema.Date)
})
export type AuditEvent = typeof AuditEvent.Type

/** Where a request came from, as the audit trail records it. */
export type RequestContext = Pick<AuditEvent, "requestId" | "traceId" | "clientIp" | "userAgent">

export const AuditBreak = Schema.Literals([/**
   * A link of the chain does not hold: a seal's MAC, its link to the seal before it, or its
   * position (a seal removed, inserted or re-chained); for rows from before the keyed trail, their
   * prev_hash.
   */
  "broken_link", /** A row does not carry a valid MAC of its content: it was changed, or forged without the key. */
  "hash_mismatch", /** A seal names a row that is gone: the row was deleted. */
  "missing_row", /** The chain ends before the last checkpoint taken outside the database: its tail was deleted. */
  "truncated", /** A row older than the sealing grace period is still not sealed (the sealer is not running, or the row was slipped past it). */
  "unsealed", /** The last checkpoint outside the database does not carry a valid MAC: it was forged or damaged. */
  "bad_checkpoint", /** Kept for verdicts written before the keyed trail: actor_user_id did not derive to actor_ref. */
  "actor_mismatch"])
export type AuditBreak = typeof AuditBreak.Type

/**
 * `rows` counts the rows checked: all of them when ok, up to and including the broken one
 * otherwise. `firstBrokenSeq` is the seq of the row at fault (for `truncated`: the seq the last
 * checkpoint names, which is missing).
 */
export const AuditVerdict = Schema.Union([Schema.Struct({ ok: Schema.Literal(true), rows: Schema.Number }), Schema.Struct({
    ok: Schema.Literal(false),
    rows: Schema.Number,
    firstBrokenSeq: Schema.Number,
    reason: AuditBreak
  })])
export type AuditVerdict = typeof AuditVerdict.Type

export class AuditUnavailable extends Schema.TaggedError<AuditUnavailable>()("AuditUnavailable", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "AUDIT_UNAVAILABLE", category: "technical", recovery: "retry", status: 503 } as const
  }
  get [RetryAfterId]() {
    return 5
  }
}

export class Audit extends Context.Service<
  Audit,
  {
    /**
     * Appends one event (with its MAC) and returns once it is stored; it takes no lock and waits
     * for no other writer. Inside a caller's transaction it commits or rolls back with it.
     */
    readonly record: (event: AuditEvent) => Effect.Effect<void, AuditUnavailable>
    /**
     * Seals what is committed and not sealed yet, in one order, and checkpoints the head outside
     * the database when a checkpoint is due. Only one sealer of the fleet works at a time; the
     * others answer 0 at once. Returns the number of rows sealed.
     */
    readonly seal: Effect.Effect<number, AuditUnavailable>
    /**
     * Checks every row's MAC, every seal's link, that the chain reaches the last checkpoint with
     * the same head, and that no old row is left unsealed; names the first fault.
     */
    readonly verify: Effect.Effect<AuditVerdict, AuditUnavailable>
    /**
     * GDPR erasure: the client IPs and user agents of every event by or about this user are
     * deleted; the events stay, naming the user only by the keyed pseudonym, and still verify.
     * Returns the number of the user's events (whose personal data is gone after the call).
     */
    readonly erase: (userId: string) => Effect.Effect<number, AuditUnavailable>
  }
>()("serenya/Audit") {}

// ---------------------------------------------------------------------------------------------
// The rules shared by every layer.

export const MAX_USER_AGENT_LENGTH = 512
export const MAX_ID_LENGTH = 128

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6 = /^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(:\d{1,3}(\.\d{1,3}){3})?$/
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** An event after the rules: absent fields are null, strings are exactly what gets hashed and stored. */
export interface NormalizedAuditEvent {
  readonly actorUserId: string | null
  readonly action: AuditAction
  readonly resourceType: AuditResourceType | null
  readonly resourceId: string | null
  readonly outcome: AuditOutcome
  readonly requestId: string | null
  readonly traceId: string | null
  readonly clientIp: string | null
  readonly userAgent: string | null
  readonly occurredAt: Date | null
}

/** Text that survives PostgreSQL unchanged (no NUL, valid UTF-16), without splitting a surrogate pair. */
export const cleanText = (text: string, maxLength: number): string | null => {
  let cleaned = text.replace(LONE_SURROGATE, "\uFFFD").replace(CONTROL, "").trim()
  if (cleaned.length > maxLength) {
    const cut = /[\uD800-\uDBFF]/.test(cleaned.charAt(maxLength - 1)) ? maxLength - 1 : maxLength
    cleaned = cleaned.slice(0, cut)
  }
  return cleaned.length === 0 ? null : cleaned
}

export const isAuditUserId = (value: string): boolean => UUID.test(value)

const isIp = (value: string): boolean => IPV4.test(value) || (value.length <= 45 && IPV6.test(value))

const id = (field: string, value: string | undefined): Result.Result<string | null, string> =>
  value === undefined
    ? Result.succeed(null)
    : value.length <= MAX_ID_LENGTH && ID.test(value)
      ? Result.succeed(value)
      : Result.fail(`audit event field ${field} is not an id`)

const isAction = Schema.is(AuditAction)
const isOutcome = Schema.is(AuditOutcome)
const isResourceType = Schema.is(AuditResourceType)

/** Applies the rules; Left names the offending field (never its value). */
export const normalizeAuditEvent = (event: AuditEvent): Result.Result<NormalizedAuditEvent, string> =>
  Result.gen(function* () {
    if (!isAction(event.action)) return yield* Result.fail("audit event action is not a known action")
    if (!isOutcome(event.outcome)) return yield* Result.fail("audit event outcome is not a known outcome")
    if (event.resourceType !== undefined && !isResourceType(event.resourceType)) {
      return yield* Result.fail("audit event resourceType is not a known resource type")
    }
    if (event.actorUserId !== undefined && !isAuditUserId(event.actorUserId)) {
      return yield* Result.fail("audit event field actorUserId is not a uuid")
    }
    if (event.occurredAt !== undefined) {
      const year = event.occurredAt.getUTCFullYear()
      if (Number.isNaN(event.occurredAt.getTime()) || year < 1 || year > 9999) {
        return yield* Result.fail("audit event occurredAt is not a valid date")
      }
    }
    const ip = event.clientIp === undefined ? null : cleanText(event.clientIp, 64)
    return {
      actorUserId: event.actorUserId === undefined ? null : event.actorUserId.toLowerCase(),
      action: event.action,
      resourceType: event.resourceType ?? null,
      resourceId: yield* id("resourceId", event.resourceId),
      outcome: event.outcome,
      requestId: yield* id("requestId", event.requestId),
      traceId: yield* id("traceId", event.traceId),
      clientIp: ip !== null && isIp(ip) ? ip.toLowerCase() : null,
      userAgent: event.userAgent === undefined ? null : cleanText(event.userAgent, MAX_USER_AGENT_LENGTH),
      occurredAt: event.occurredAt ?? null
    }
  })
