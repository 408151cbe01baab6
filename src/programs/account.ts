/**
 * The account and its GDPR rights: the profile, the export of everything we hold about the user
 * (decrypted, as one JSON document, their cost records included), and erasure.
 *
 * Erasure deletes every row of the user in one transaction (messages, conversations, content,
 * pending pushes, devices, jobs, presigned uploads, refresh tokens, subscription, the PostgreSQL
 * cost records, the user; idempotency keys and plan usage go by cascade) and, in the same
 * transaction, writes what it still owes outside the database into the erasure outbox: every
 * stored object of the user's jobs (all its versions), the incoming objects of their presigned
 * uploads, their devices' endpoints at the push provider, and the cost records of the live cost
 * store (DynamoDB in production). Right after the commit those
 * deletions are tried at once; whatever fails stays in the outbox and is retried by the drainers
 * until it succeeds (programs/erasureOutbox.ts). Then this process's caches drop everything of
 * the user: timeline pages, the LLM's fallback answers, cached data keys. The audit trail keeps
 * its events, which name the user only by a keyed pseudonym (never the id); erasure deletes their
 * client IPs and user agents (services/audit.ts `erase`).
 */
import { Clock, Effect, Option, Schema } from "effect"
import * as Accounts from "../repos/accounts.js"
import * as Content from "../repos/content.js"
import * as ErasureOutbox from "../repos/erasureOutbox.js"
import * as Jobs from "../repos/jobs.js"
import * as Subscriptions from "../repos/subscriptions.js"
import { inTransaction } from "../repos/transaction.js"
import * as Uploads from "../repos/uploads.js"
import * as Users from "../repos/users.js"
import { Audit } from "../services/audit.js"
import { CostTracker } from "../services/costTracker.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { NotFound } from "../services/errors.js"
import { InterpretedDocument, LLM } from "../services/llm.js"
import { TimelineCache } from "../services/timelineCache.js"
import { TrendsCache } from "../services/trendsCache.js"
import { SubscriptionStatusCache } from "../services/subscriptionStatusCache.js"
import { listDevices } from "./devices.js"
import { drainErasureOutbox, nothingDrained } from "./erasureOutbox.js"
import { listConversations } from "./chat.js"
import { loadContent } from "./content.js"
import type { UserId } from "../services/ids.js"
import { currentPlan, type Plan } from "./subscription.js"
import type { RequestContext } from "../services/audit.js"
import { fnTraced } from "../services/telemetry.js"

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
    readonly allowImageToModel: boolean
    readonly attempts: number
    readonly errorCode: string | null
    readonly contentId: string | null
    readonly createdAt: string
    readonly updatedAt: string
    readonly completedAt: string | null
  }>
  /** Presigned uploads, under way or completed (their rows go with the account). */
  readonly uploads: ReadonlyArray<{
    readonly uploadId: string
    readonly fileName: string | null
    readonly contentType: string
    readonly sizeBytes: number
    readonly documentTypeHint: string | null
    readonly allowImageToModel: boolean
    readonly createdAt: string
    readonly expiresAt: string
    readonly jobId: string | null
  }>
  /** The devices registered for pushes: id, platform, when registered (never the push token or the provider's endpoint). */
  readonly devices: ReadonlyArray<{ readonly deviceId: string; readonly platform: string; readonly createdAt: string }>
  /** Every LLM call made for the user, from the live cost store: when, what for, which model, tokens, cost. */
  readonly costs: ReadonlyArray<{
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
    readonly devices: number
  }
  /** Cost records deleted with the rows (the PostgreSQL store) and right after (any store). */
  readonly costRecordsErased: number
  readonly objectsRemoved: number
  /** Deletions (objects, cost records) that failed right after the commit: the outbox retries them. */
  readonly deletionsPending: number
  /** The user's audit events: they name the user by keyed pseudonym only, and their IPs and user agents are gone. */
  readonly auditEventsPseudonymised: number
}

const iso = (date: Date) => date.toISOString()

const encodeDocument = Schema.encodeEffect(InterpretedDocument)

const readProfile = (userId: UserId) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const found = yield* Users.findProfile(userId)
    if (Option.isNone(found)) return Option.none<Profile>()
    const row = found.value
    const email = yield* crypto.openString(row.emailEncrypted, fieldContext(userId, "users", "email_encrypted", userId))
    const name =
      row.nameEncrypted === null
        ? null
        : yield* crypto.openString(row.nameEncrypted, fieldContext(userId, "users", "name_encrypted", userId))
    const { plan } = yield* currentPlan(userId)
    return Option.some<Profile>({ id: row.id, email, name, plan, createdAt: row.createdAt })
  })

/** The signed-in user's profile; NotFound when the account no longer exists. */
export const getProfile = fnTraced("Account.profile")(function* (userId: UserId, requestContext: RequestContext = {}) {
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
})

/** Everything we hold about the user, decrypted: what GDPR's access and portability rights ask for. */
export const exportUserData = fnTraced("Account.export")(function* (userId: UserId, requestContext: RequestContext = {}) {
  const crypto = yield* Crypto
  const audit = yield* Audit
  const exportedAt = new Date(yield* Clock.currentTimeMillis)

  const profile = yield* readProfile(userId)
  if (Option.isNone(profile)) return yield* new NotFound({ message: "No such account" })

  const current = yield* currentPlan(userId)
  const subscriptionRow = Option.getOrUndefined(yield* Subscriptions.findSubscription(userId))

  const contentIds = yield* Content.listContentIds(userId)
  const content = yield* Effect.forEach(contentIds, (id) =>
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

  const jobRows = yield* Jobs.listJobsOf(userId)
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
        allowImageToModel: job.allowImageToModel,
        attempts: job.attempts,
        errorCode: job.errorCode,
        contentId: job.contentId,
        createdAt: iso(job.createdAt),
        updatedAt: iso(job.updatedAt),
        completedAt: job.completedAt === null ? null : iso(job.completedAt)
      })
    )
  )

  const uploadRows = yield* Uploads.listUploadsOf(userId)
  const uploads = yield* Effect.forEach(uploadRows, (upload) =>
    Effect.map(
      upload.fileNameEncrypted === null
        ? Effect.succeed(null)
        : crypto.openString(upload.fileNameEncrypted, fieldContext(userId, "document_uploads", "file_name_encrypted", upload.id)),
      (fileName) => ({
        uploadId: upload.id,
        fileName,
        contentType: upload.contentType,
        sizeBytes: upload.sizeBytes,
        documentTypeHint: upload.documentTypeHint,
        allowImageToModel: upload.allowImageToModel,
        createdAt: iso(upload.createdAt),
        expiresAt: iso(upload.expiresAt),
        jobId: upload.jobId
      })
    )
  )

  const devices = yield* listDevices(userId)

  // From the live cost store (DynamoDB in production, llm_usage locally): whatever holds them.
  const costs = yield* Effect.flatMap(CostTracker, (tracker) => tracker.usageRecords(userId))

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
    uploads,
    devices: devices.map((d) => ({ deviceId: d.id, platform: d.platform, createdAt: iso(d.createdAt) })),
    costs: costs.map((c) => ({
      occurredAt: iso(c.occurredAt),
      provider: c.provider,
      modelId: c.modelId,
      documentType: c.documentType,
      inputTokens: c.inputTokens,
      outputTokens: c.outputTokens,
      totalCostCents: c.totalCostCents,
      processingTimeMs: c.processingTimeMs
    }))
  } satisfies AccountExport
})

/**
 * Erases the account (GDPR art. 17). Safe to call again after a partial failure: a user already
 * gone still has the audit trail's personal data erased, then answers NotFound.
 */
export const deleteAccount = fnTraced("Account.delete")(function* (userId: UserId, requestContext: RequestContext = {}) {
  const audit = yield* Audit
  const timeline = yield* TimelineCache
  const trends = yield* TrendsCache
  const llm = yield* LLM
  const crypto = yield* Crypto

  const erased = yield* inTransaction(
    Effect.gen(function* () {
      if (!(yield* Users.lockUserForErasure(userId))) return Option.none()
      // What is owed outside the database, recorded with the rows' deletion: commit ⇒ owed.
      const outbox = yield* ErasureOutbox.recordOwedDeletions(userId)
      // Children before parents; each count is what the erasure report shows.
      const messages = yield* Accounts.deleteRowsOf("messages", userId)
      const conversations = yield* Accounts.deleteRowsOf("conversations", userId)
      const content = yield* Accounts.deleteRowsOf("content", userId)
      // Their endpoints are owed above; a pending push names a device and a job.
      yield* Accounts.deleteRowsOf("notification_outbox", userId)
      const devices = yield* Accounts.deleteRowsOf("devices", userId)
      const jobs = yield* Accounts.deleteRowsOf("jobs", userId)
      const refreshTokens = yield* Accounts.deleteRowsOf("refresh_tokens", userId)
      const subscriptions = yield* Accounts.deleteRowsOf("subscriptions", userId)
      // The PostgreSQL cost store's records go with the rest (its foreign key would only unlink them).
      const costRecords = yield* Accounts.deleteRowsOf("llm_usage", userId)
      // Their incoming objects are owed above; the rows hold sealed file names.
      yield* Uploads.deleteUploadsOf(userId)
      yield* Users.deleteUser(userId)
      return Option.some({
        outbox,
        erased: { messages, conversations, content, jobs, refreshTokens, subscriptions, devices },
        costRecords
      })
    })
  )

  if (Option.isNone(erased)) {
    yield* audit.erase(userId)
    return yield* new NotFound({ message: "No such account" })
  }

  // After the commit, the fast path: this erasure's deletions at once. A failure is not the
  // erasure's: the rows stay in the outbox and the drainers retry them until they succeed.
  const drained = yield* drainErasureOutbox({ ids: erased.value.outbox }).pipe(
    Effect.catchCause((cause) =>
      Effect.as(Effect.logWarning("erasure: the outbox is left to the drainers", cause), nothingDrained(erased.value.outbox.length))
    )
  )

  // This process's caches (other instances' age out: see the README's erasure section).
  yield* timeline.invalidate(userId)
  yield* trends.invalidate(userId)
  yield* Effect.flatMap(SubscriptionStatusCache, (statuses) => statuses.invalidate(userId))
  yield* llm.forgetUser(userId)
  yield* crypto.forgetUser(userId)

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
    costRecordsErased: erased.value.costRecords + drained.costRecordsErased,
    objectsRemoved: drained.objectsRemoved,
    deletionsPending: erased.value.outbox.length - drained.done,
    auditEventsPseudonymised
  } satisfies DeletionReport
})
