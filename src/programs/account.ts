/**
 * The account and its GDPR rights: the profile, the export of everything we hold about the user
 * (decrypted, as one JSON document), and erasure.
 *
 * Erasure deletes every row of the user in one transaction (messages, conversations, content,
 * jobs, refresh tokens, subscription, the user; idempotency keys go by cascade) and unlinks
 * `llm_usage`: those rows keep their tokens and cost for accounting, with `user_id` NULL, and hold
 * no health data. Stored documents are removed after the commit, best effort. The audit trail
 * keeps its events, which name the user only by a keyed pseudonym (never the id); erasure deletes
 * their client IPs and user agents (services/audit.ts `erase`).
 */
import { Clock, Effect, Option, Schema } from "effect"
import { Audit } from "../services/audit.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { decodeRows, SqlClient } from "../services/database.js"
import { NotFound } from "../services/errors.js"
import { DocumentType, InterpretedDocument, LLMProviderName } from "../services/llm.js"
import { Storage } from "../services/storage.js"
import { listConversations } from "./chat.js"
import { loadContent } from "./content.js"
import { ContentId, JobId, UserId } from "../services/ids.js"
import { currentPlan, Plan } from "./subscription.js"
import type { RequestContext } from "../services/audit.js"
import { traced } from "../services/telemetry.js"

export interface Profile {
  readonly id: UserId
  readonly email: string
  readonly name: string | null
  readonly plan: Plan
  readonly createdAt: Date
}

/** The export: plain JSON values only (dates as ISO 8601 strings), ready for JSON.stringify. */
export interface AccountExport {
  readonly exportedAt: string
  readonly profile: { readonly id: string; readonly email: string; readonly name: string | null; readonly plan: Plan; readonly createdAt: string }
  readonly subscription: {
    readonly plan: Plan
    readonly period: { readonly start: string; readonly end: string }
    /** The stored row, when the operator ever set a plan. */
    readonly record: { readonly plan: Plan; readonly periodStart: string; readonly periodEnd: string } | null
  }
  readonly content: ReadonlyArray<{
    readonly contentId: string
    readonly jobId: string | null
    readonly provider: string
    readonly modelId: string
    readonly createdAt: string
    readonly document: typeof InterpretedDocument.Encoded
  }>
  readonly conversations: ReadonlyArray<{
    readonly conversationId: string
    readonly contentId: string
    readonly createdAt: string
    readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string; readonly createdAt: string }>
  }>
  readonly jobs: ReadonlyArray<{
    readonly jobId: string
    readonly status: string
    readonly fileName: string | null
    readonly contentType: string
    readonly sizeBytes: number
    readonly documentTypeHint: string | null
    readonly attempts: number
    readonly errorCode: string | null
    readonly contentId: string | null
    readonly createdAt: string
    readonly updatedAt: string
    readonly completedAt: string | null
  }>
  readonly llmUsage: ReadonlyArray<{
    readonly occurredAt: string
    readonly provider: string
    readonly modelId: string
    readonly documentType: string
    readonly inputTokens: number
    readonly outputTokens: number
    readonly totalCostCents: number
    readonly processingTimeMs: number
  }>
}

export interface DeletionReport {
  readonly userId: UserId
  readonly erased: {
    readonly messages: number
    readonly conversations: number
    readonly content: number
    readonly jobs: number
    readonly refreshTokens: number
    readonly subscriptions: number
  }
  readonly llmUsageUnlinked: number
  readonly objectsRemoved: number
  /** Stored objects that could not be removed (logged with their job id). */
  readonly objectsFailed: number
  /** The user's audit events: they name the user by keyed pseudonym only, and their IPs and user agents are gone. */
  readonly auditEventsPseudonymised: number
}

const iso = (date: Date) => date.toISOString()

const UserRow = Schema.Struct({
  id: UserId,
  emailEncrypted: Schema.Uint8ArrayFromSelf,
  nameEncrypted: Schema.NullOr(Schema.Uint8ArrayFromSelf),
  createdAt: Schema.DateFromSelf
})

const SubscriptionRow = Schema.Struct({
  plan: Plan,
  periodStart: Schema.DateFromSelf,
  periodEnd: Schema.DateFromSelf
})

const JobRow = Schema.Struct({
  id: JobId,
  status: Schema.String,
  fileNameEncrypted: Schema.NullOr(Schema.Uint8ArrayFromSelf),
  contentType: Schema.String,
  sizeBytes: Schema.Number,
  documentTypeHint: Schema.NullOr(DocumentType),
  attempts: Schema.Number,
  errorCode: Schema.NullOr(Schema.String),
  contentId: Schema.NullOr(ContentId),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf,
  completedAt: Schema.NullOr(Schema.DateFromSelf)
})

const UsageRow = Schema.Struct({
  occurredAt: Schema.DateFromSelf,
  provider: LLMProviderName,
  modelId: Schema.String,
  documentType: Schema.String,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  // numeric(12, 4) arrives as text
  totalCostCents: Schema.NumberFromString,
  processingTimeMs: Schema.Number
})

const ContentIdRow = Schema.Struct({ id: ContentId })
const StorageKeyRow = Schema.Struct({ id: JobId, storageKey: Schema.String })
const Count = Schema.Struct({ n: Schema.Number })

const encodeDocument = Schema.encode(InterpretedDocument)

const readProfile = (userId: UserId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const crypto = yield* Crypto
    const rows = yield* sql`
      SELECT id, email_encrypted, name_encrypted, created_at FROM users WHERE id = ${userId}::uuid`
    const [row] = yield* decodeRows(UserRow)(rows)
    if (row === undefined) return Option.none<Profile>()
    const email = yield* crypto.openString(row.emailEncrypted, fieldContext(userId, "users", "email_encrypted", userId))
    const name =
      row.nameEncrypted === null
        ? null
        : yield* crypto.openString(row.nameEncrypted, fieldContext(userId, "users", "name_encrypted", userId))
    const { plan } = yield* currentPlan(userId)
    return Option.some<Profile>({ id: row.id, email, name, plan, createdAt: row.createdAt })
  })

/** The signed-in user's profile; NotFound when the account no longer exists. */
export const getProfile = Effect.fnUntraced(function* (userId: UserId, requestContext: RequestContext = {}) {
  const audit = yield* Audit
  const profile = yield* readProfile(userId)
  if (Option.isNone(profile)) return yield* new NotFound({ message: "No such account" })
  yield* audit.record({
    ...requestContext,
    actorUserId: userId,
    action: "account.read",
    resourceType: "account",
    resourceId: userId,
    outcome: "success"
  })
  return profile.value
}, traced("Account.profile"))

/** Everything we hold about the user, decrypted: what GDPR's access and portability rights ask for. */
export const exportUserData = Effect.fnUntraced(function* (userId: UserId, requestContext: RequestContext = {}) {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const audit = yield* Audit
  const exportedAt = new Date(yield* Clock.currentTimeMillis)

  const profile = yield* readProfile(userId)
  if (Option.isNone(profile)) return yield* new NotFound({ message: "No such account" })

  const current = yield* currentPlan(userId)
  const [subscriptionRow] = yield* decodeRows(SubscriptionRow)(
    yield* sql`SELECT plan, period_start, period_end FROM subscriptions WHERE user_id = ${userId}::uuid`
  )

  const contentIds = yield* decodeRows(ContentIdRow)(
    yield* sql`SELECT id FROM content WHERE user_id = ${userId}::uuid ORDER BY created_at, id`
  )
  const content = yield* Effect.forEach(contentIds, ({ id }) =>
    Effect.flatMap(loadContent(userId, id), (loaded) =>
      Option.match(loaded, {
        // deleted since the list was read
        onNone: () => Effect.succeed([]),
        onSome: (item) =>
          Effect.map(encodeDocument(item.document), (document) => [
            {
              contentId: item.contentId,
              jobId: Option.getOrNull(item.jobId),
              provider: item.provider,
              modelId: item.modelId,
              createdAt: iso(item.createdAt),
              document
            }
          ])
      })
    )
  )

  const conversations = yield* listConversations(userId)

  const jobRows = yield* decodeRows(JobRow)(
    yield* sql`
      SELECT id, status, file_name_encrypted, content_type, size_bytes, document_type_hint, attempts, error_code,
             content_id, created_at, updated_at, completed_at
      FROM jobs WHERE user_id = ${userId}::uuid ORDER BY created_at, id`
  )
  const jobs = yield* Effect.forEach(jobRows, (job) =>
    Effect.map(
      job.fileNameEncrypted === null
        ? Effect.succeed(null)
        : crypto.openString(job.fileNameEncrypted, fieldContext(userId, "jobs", "file_name_encrypted", job.id)),
      (fileName) => ({
        jobId: job.id,
        status: job.status,
        fileName,
        contentType: job.contentType,
        sizeBytes: job.sizeBytes,
        documentTypeHint: job.documentTypeHint,
        attempts: job.attempts,
        errorCode: job.errorCode,
        contentId: job.contentId,
        createdAt: iso(job.createdAt),
        updatedAt: iso(job.updatedAt),
        completedAt: job.completedAt === null ? null : iso(job.completedAt)
      })
    )
  )

  // The PostgreSQL cost store's table; with COST_TRACKER=dynamodb the records live there instead.
  const usage = yield* decodeRows(UsageRow)(
    yield* sql`
      SELECT occurred_at, provider, model_id, document_type, input_tokens, output_tokens,
             total_cost_cents::text AS total_cost_cents, processing_time_ms
      FROM llm_usage WHERE user_id = ${userId}::uuid ORDER BY occurred_at, id`
  )

  yield* audit.record({
    ...requestContext,
    actorUserId: userId,
    action: "account.export",
    resourceType: "account",
    resourceId: userId,
    outcome: "success"
  })

  const { email, name, plan, createdAt } = profile.value
  return {
    exportedAt: iso(exportedAt),
    profile: { id: userId, email, name, plan, createdAt: iso(createdAt) },
    subscription: {
      plan: current.plan,
      period: { start: iso(current.period.start), end: iso(current.period.end) },
      record:
        subscriptionRow === undefined
          ? null
          : { plan: subscriptionRow.plan, periodStart: iso(subscriptionRow.periodStart), periodEnd: iso(subscriptionRow.periodEnd) }
    },
    content: content.flat(),
    conversations: conversations.map((c) => ({
      conversationId: c.conversationId,
      contentId: c.contentId,
      createdAt: iso(c.createdAt),
      messages: c.messages.map((m) => ({ role: m.role, content: m.content, createdAt: iso(m.createdAt) }))
    })),
    jobs,
    llmUsage: usage.map((u) => ({ ...u, occurredAt: iso(u.occurredAt) }))
  } satisfies AccountExport
}, traced("Account.export"))

/**
 * Erases the account (GDPR art. 17). Safe to call again after a partial failure: a user already
 * gone still has the audit trail's personal data erased, then answers NotFound.
 */
export const deleteAccount = Effect.fnUntraced(function* (userId: UserId, requestContext: RequestContext = {}) {
  const sql = yield* SqlClient.SqlClient
  const storage = yield* Storage
  const audit = yield* Audit

  const count = (rows: unknown) =>
    Effect.map(decodeRows(Count)(rows), ([row]) => row?.n ?? 0)

  const erased = yield* sql.withTransaction(
    Effect.gen(function* () {
      // The lock makes concurrent inserts that reference the user wait, then fail on the foreign key.
      const user = yield* sql`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`
      if (user.length === 0) return Option.none()
      const objects = yield* decodeRows(StorageKeyRow)(
        yield* sql`SELECT id, storage_key FROM jobs WHERE user_id = ${userId}::uuid`
      )
      // Children before parents; each count is what the erasure report shows.
      const erase = (table: "messages" | "conversations" | "content" | "jobs" | "refresh_tokens" | "subscriptions") =>
        Effect.flatMap(
          sql`WITH d AS (DELETE FROM ${sql(table)} WHERE user_id = ${userId}::uuid RETURNING 1) SELECT count(*)::int AS n FROM d`,
          count
        )
      const messages = yield* erase("messages")
      const conversations = yield* erase("conversations")
      const content = yield* erase("content")
      const jobs = yield* erase("jobs")
      const refreshTokens = yield* erase("refresh_tokens")
      const subscriptions = yield* erase("subscriptions")
      const llmUsageUnlinked = yield* count(
        yield* sql`WITH u AS (UPDATE llm_usage SET user_id = NULL WHERE user_id = ${userId}::uuid RETURNING 1) SELECT count(*)::int AS n FROM u`
      )
      yield* sql`DELETE FROM users WHERE id = ${userId}::uuid`
      return Option.some({
        objects,
        erased: { messages, conversations, content, jobs, refreshTokens, subscriptions },
        llmUsageUnlinked
      })
    })
  )

  if (Option.isNone(erased)) {
    yield* audit.erase(userId)
    return yield* new NotFound({ message: "No such account" })
  }

  // After the commit: an object left behind is sealed to a user who no longer exists, and logged.
  const removals = yield* Effect.forEach(
    erased.value.objects,
    ({ id, storageKey }) =>
      storage.remove(storageKey).pipe(
        Effect.as(true),
        Effect.catchAll((error) =>
          Effect.logWarning("stored document of an erased account not removed").pipe(
            Effect.annotateLogs({ jobId: id, errorCode: error._tag }),
            Effect.as(false)
          )
        )
      ),
    { concurrency: 4 }
  )

  yield* audit.record({
    ...requestContext,
    actorUserId: userId,
    action: "account.delete",
    resourceType: "account",
    resourceId: userId,
    outcome: "success"
  })
  // After the event above, so its IP and user agent go too.
  const auditEventsPseudonymised = yield* audit.erase(userId)

  return {
    userId,
    erased: erased.value.erased,
    llmUsageUnlinked: erased.value.llmUsageUnlinked,
    objectsRemoved: removals.filter(Boolean).length,
    objectsFailed: removals.filter((ok) => !ok).length,
    auditEventsPseudonymised
  } satisfies DeletionReport
}, traced("Account.delete"))
