/**
 * Accepting an upload. Nothing is answered until everything is durable, so an accepted upload is
 * never lost, and nothing is done twice for a retried request:
 *
 * 1. refuse cheaply: size (413), type detected from the bytes (415), a replayed idempotency key
 *    (the first answer, or 409 for another body), plan and cost limits (402);
 * 2. seal the bytes with a fresh documents data key and put them at `jobs/{jobId}_original`;
 * 3. one transaction: claim the idempotency key (a concurrent duplicate waits here, then replays),
 *    lock the user's uploads and count them against the plan, insert the job row, audit;
 * 4. enqueue, then answer 202 `{ jobId, status: "queued" }`.
 *
 * If the transaction does not commit, the stored object is removed again (best effort; only when
 * no job row refers to it, so an uncertain commit never loses an accepted document).
 */
import { Cause, Effect, Result, Exit, Option, Schema } from "effect"
import { PlanLimits } from "../services/plans.js"
import { UploadLimits } from "../services/uploadLimits.js"
import {
  claimIdempotencyKey,
  deleteExpiredIdempotencyKeys,
  findIdempotencyKey,
  type StoredIdempotencyKey
} from "../repos/idempotencyKeys.js"
import * as Jobs from "../repos/jobs.js"
import * as Subscriptions from "../repos/subscriptions.js"
import { inTransaction } from "../repos/transaction.js"
import * as Usage from "../repos/usage.js"
import * as Users from "../repos/users.js"
import { Audit, type RequestContext } from "../services/audit.js"
import { CostTracker } from "../services/costTracker.js"
import { Crypto, documentContext, fieldContext } from "../services/crypto.js"
import { Conflict, InvalidRequest, PayloadTooLarge, QuotaExceeded, Unauthenticated } from "../services/errors.js"
import { JobQueue } from "../services/jobQueue.js"
import type { DocumentType } from "../services/llm.js"
import { documentKey, Storage } from "../services/storage.js"
import { JobId, newUuid, type UserId } from "../services/ids.js"
import { resolveContentType } from "./detectContentType.js"
import { orDatabaseUnavailable } from "../services/database.js"
import { requestFingerprint, sameFingerprint, validateIdempotencyKey } from "./idempotency.js"
import { currentTraceparent, fnTraced } from "../services/telemetry.js"

/** The idempotency scope of uploads (keys are per user and scope). */
export const UPLOAD_SCOPE = "documents.upload"

export const MAX_FILE_NAME_LENGTH = 255

export interface UploadInput {
  readonly userId: UserId
  /** The decoded document; the caller keeps ownership (it is not zeroed here). */
  readonly bytes: Uint8Array
  /** What the client said the type is; only checked against the bytes. */
  readonly declaredContentType?: string
  readonly fileName?: string
  readonly documentTypeHint?: DocumentType
  /** false: a document the model could read only as an image fails (IMAGE_WITHHELD) instead of being sent; default true. */
  readonly allowImageToModel?: boolean
  readonly idempotencyKey?: string
  readonly request: RequestContext
}

export const UploadAccepted = Schema.Struct({ jobId: JobId, status: Schema.Literal("queued") })
export type UploadAccepted = typeof UploadAccepted.Type

/**
 * Identifies an upload: its metadata, then the bytes (see requestFingerprint). `allowImageToModel`
 * is a part only when false, so that an upload which does not say (or says true) keeps the
 * fingerprint it had before the option existed: a retry across the deployment still replays.
 */
export const requestHash = (input: UploadInput, key: string): Buffer =>
  requestFingerprint(
    [
      input.userId,
      UPLOAD_SCOPE,
      key,
      input.declaredContentType ?? null,
      input.fileName ?? null,
      input.documentTypeHint ?? null,
      ...(input.allowImageToModel === false ? [{ allowImageToModel: false }] : [])
    ],
    input.bytes
  )

const quotaExceeded = (limit: number) =>
  new QuotaExceeded({
    message: `The free plan allows ${limit} documents per calendar month; it resets at the start of next month (UTC)`
  })

export const uploadDocument = fnTraced("Documents.upload")(
  function* (input: UploadInput) {
    const crypto = yield* Crypto
    const storage = yield* Storage
    const queue = yield* JobQueue
    const audit = yield* Audit
    const costs = yield* CostTracker
    const limits = yield* UploadLimits
    const plans = yield* PlanLimits
    const { userId } = input
    const maxBytes = limits.maxUploadBytes

    // 1. Cheap refusals, before any byte is stored.
    if (input.bytes.length > maxBytes) {
      return yield* new PayloadTooLarge({ message: `The document is larger than ${maxBytes} bytes`, limitBytes: maxBytes })
    }
    if (input.bytes.length === 0) return yield* new InvalidRequest({ message: "The document is empty" })
    const key = yield* validateIdempotencyKey(input.idempotencyKey)
    // characters as people count them (code points), as the API's schemas and beginUpload do: a
    // name of emoji or rarer CJK that passed the presigned begin must not fail its complete
    if (input.fileName !== undefined && [...input.fileName].length > MAX_FILE_NAME_LENGTH) {
      return yield* new InvalidRequest({ message: `The file name is longer than ${MAX_FILE_NAME_LENGTH} characters` })
    }
    const contentType = yield* Result.match(resolveContentType(input.bytes, input.declaredContentType), {
      onFailure: Effect.fail,
      onSuccess: Effect.succeed
    })
    const hash = key === undefined ? undefined : requestHash(input, key)

    const lookupKey = (k: string) => findIdempotencyKey(UploadAccepted, userId, UPLOAD_SCOPE, k)

    // A replay answers as the first request did; the same key with another body is refused.
    const replay = (stored: StoredIdempotencyKey<UploadAccepted>, requestHashValue: Uint8Array) =>
      sameFingerprint(stored.requestHash, requestHashValue)
        ? // Enqueueing again is harmless (claiming is atomic) and recovers a wake-up lost after the first commit.
          Effect.as(queue.enqueue(stored.response.jobId), stored.response)
        : Effect.fail(new Conflict({ message: "This Idempotency-Key was used with a different request" }))

    if (key !== undefined && hash !== undefined) {
      const earlier = yield* lookupKey(key)
      if (Option.isSome(earlier) && earlier.value.fresh) return yield* replay(earlier.value, hash)
    }

    // Premium only while its period runs; no row, or a lapsed one, is the free plan.
    const freeLimit = (yield* Subscriptions.hasRunningPremium(userId)) ? undefined : plans.freeDocumentsPerMonth
    const usedThisMonth = Usage.countJobsThisMonth(userId)
    if (freeLimit !== undefined && (yield* usedThisMonth) >= freeLimit) return yield* quotaExceeded(freeLimit)
    yield* costs.ensureWithinBudget(userId)

    // 2. The sealed original, stored before the job row can point at it.
    const jobId = JobId.make(yield* newUuid)
    const objectKey = documentKey(jobId)
    yield* Effect.annotateCurrentSpan({ "job.id": jobId, "document.content_type": contentType })
    const sealed = yield* crypto.seal(input.bytes, documentContext(userId, objectKey))
    const uploadedAt = new Date(yield* Effect.clockWith((clock) => clock.currentTimeMillis))
    yield* storage.put(objectKey, sealed, { userId, uploadedAt, contentType }).pipe(
      Effect.catchTag("InvalidObjectKey", Effect.die)
    )
    const fileName =
      input.fileName === undefined
        ? null
        : yield* crypto.sealString(input.fileName, fieldContext(userId, "jobs", "file_name_encrypted", jobId))
    const traceContext = Option.getOrNull(yield* currentTraceparent)
    const accepted: UploadAccepted = { jobId, status: "queued" }

    // 3. The key, the quota, the job row and the audit event commit together or not at all.
    const transaction = inTransaction(
      Effect.gen(function* () {
        if (key !== undefined && hash !== undefined) {
          const claimed = yield* claimIdempotencyKey(userId, UPLOAD_SCOPE, key, hash, accepted)
          if (!claimed) {
            const winner = yield* lookupKey(key)
            if (Option.isSome(winner)) return { _tag: "replay", stored: winner.value, hash } as const
          }
        }
        // Serialises this user's uploads, so concurrent ones cannot all pass the plan check.
        if (!(yield* Users.lockUser(userId))) return yield* new Unauthenticated({ message: "The account no longer exists" })
        if (freeLimit !== undefined && (yield* usedThisMonth) >= freeLimit) return yield* quotaExceeded(freeLimit)
        yield* Jobs.insertJob({
          id: jobId,
          userId,
          documentTypeHint: input.documentTypeHint ?? null,
          allowImageToModel: input.allowImageToModel ?? true,
          contentType,
          sizeBytes: input.bytes.length,
          storageKey: objectKey,
          fileNameEncrypted: fileName,
          traceContext
        })
        yield* audit.record({
          actorUserId: userId,
          action: "document.upload",
          resourceType: "job",
          resourceId: jobId,
          outcome: "success",
          ...input.request
        })
        return { _tag: "created" } as const
      })
    )

    // Only when no job row refers to the object: after an uncertain commit, keeping it is the safe side.
    const removeOrphan = Effect.gen(function* () {
      if (!(yield* Jobs.jobExists(jobId))) yield* storage.remove(objectKey)
    }).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning("upload: could not remove the stored original of an upload that was not accepted", cause).pipe(
          Effect.annotateLogs({ jobId })
        )
      )
    )

    const outcome = yield* transaction.pipe(
      Effect.onExit((exit) => (Exit.isSuccess(exit) && exit.value._tag === "created" ? Effect.void : removeOrphan))
    )
    if (outcome._tag === "replay") return yield* replay(outcome.stored, outcome.hash)

    // 4. Wake a worker; the committed row is the source of truth, a retry of this request enqueues again.
    yield* queue.enqueue(jobId)
    if (key !== undefined) yield* deleteExpiredIdempotencyKeys(userId).pipe(Effect.ignore)
    return accepted
  },
  orDatabaseUnavailable("The document could not be accepted right now", "upload")
)

/**
 * A refused upload leaves a trace too: who tried, from where, and whether the refusal was a rule
 * of ours (plan, budget, a reused key: "denied") or a problem with what was sent ("failure").
 * Nothing was stored, so a trail that cannot be written right now only costs a log line.
 */
export const recordRefusedUpload = (userId: UserId, status: number, requestContext: RequestContext) =>
  Effect.flatMap(Audit, (audit) =>
    audit.record({
      ...requestContext,
      actorUserId: userId,
      action: "document.upload",
      resourceType: "document",
      outcome: status === 402 || status === 403 || status === 409 || status === 429 ? "denied" : "failure"
    })
  ).pipe(
    Effect.catchCause((cause) => Effect.logWarning("upload: the refusal could not be audited", Cause.squash(cause)))
  )
