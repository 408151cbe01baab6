/**
 * Uploads that go straight to storage: on Lambda a request body travels base64-encoded inside the
 * 6 MB invocation payload, so `POST /documents/upload` cannot take documents above ~4.4 MiB there.
 *
 * 1. `beginUpload` checks what the client declares (size, type, name) and the cheap plan and budget
 *    refusals, bounds the user's pending uploads, records the upload, and answers a presigned
 *    target (UploadTargets) that accepts exactly that: one key, the type, at most the size.
 * 2. The client uploads the bytes to the target; they never pass through our handlers.
 * 3. `completeUpload` reads them back (never more than declared), and hands them to uploadDocument,
 *    which seals them with our envelope, stores the original and queues the job exactly as for a
 *    direct upload. Its idempotency key `upload-<uploadId>` makes concurrent and repeated completes
 *    yield one job; the row then remembers the job and the incoming object is removed (best effort:
 *    the bucket's lifecycle rule removes leftovers after a day).
 */
import { Effect, Result, Option, Schema } from "effect"
import { PlanLimits } from "../services/plans.js"
import { UploadLimits } from "../services/uploadLimits.js"
import * as Subscriptions from "../repos/subscriptions.js"
import { inTransaction } from "../repos/transaction.js"
import * as Uploads from "../repos/uploads.js"
import * as Usage from "../repos/usage.js"
import * as Users from "../repos/users.js"
import { Audit, type RequestContext } from "../services/audit.js"
import { CostTracker } from "../services/costTracker.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { orDatabaseUnavailable } from "../services/database.js"
import {
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  QuotaExceeded,
  RateLimited,
  Unauthenticated,
  UnsupportedMediaType
} from "../services/errors.js"
import { type JobId, newUuid, UploadId, type UserId } from "../services/ids.js"
import type { DocumentType } from "../services/llm.js"
import { fnTraced } from "../services/telemetry.js"
import { incomingKey, UploadExpired, UploadTargets } from "../services/uploadTargets.js"
import { ALLOWED_CONTENT_TYPES, normalizeDeclaredType } from "./detectContentType.js"
import { MAX_FILE_NAME_LENGTH, uploadDocument } from "./uploadDocument.js"

/** Unexpired, uncompleted uploads a user may hold at once: nobody parks objects without end. */
export const MAX_PENDING_UPLOADS = 20

/**
 * S3 refuses a POST after the target's expiry, so an object that is there arrived in time: its
 * completion is accepted for this long after, for a client that finished uploading at the last moment.
 */
export const COMPLETION_GRACE_SECONDS = 10 * 60

export interface BeginUploadInput {
  readonly userId: UserId
  readonly fileName: string
  readonly contentType: string
  readonly sizeBytes: number
  readonly documentType?: DocumentType
  /** false: a document the model could read only as an image fails (IMAGE_WITHHELD) instead of being sent; default true. */
  readonly allowImageToModel?: boolean
  readonly request: RequestContext
}

export const UploadTargetAnswer = Schema.Struct({
  uploadId: UploadId,
  url: Schema.String,
  method: Schema.Literal("POST"),
  fields: Schema.Record(Schema.String, Schema.String),
  // ISO text when encoded, as v3's Schema.Date was (4.x's Schema.Date is a Date instance)
  expiresAt: Schema.DateFromString,
  maxBytes: Schema.Int
})
export type UploadTargetAnswer = typeof UploadTargetAnswer.Type

export interface CompleteUploadInput {
  readonly userId: UserId
  readonly uploadId: UploadId
  readonly request: RequestContext
}

/** The declared upload, checked before anything is recorded: the type normalised, the rest as sent. */
export const validateBeginUpload = (
  input: Pick<BeginUploadInput, "fileName" | "contentType" | "sizeBytes">,
  maxUploadBytes: number
): Result.Result<{ readonly contentType: string }, InvalidRequest | PayloadTooLarge | UnsupportedMediaType> => {
  const { fileName, sizeBytes } = input
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1) {
    return Result.fail(new InvalidRequest({ message: "The request is invalid: sizeBytes must be a whole number of bytes, at least 1" }))
  }
  if (sizeBytes > maxUploadBytes) {
    return Result.fail(new PayloadTooLarge({ message: `The document is larger than ${maxUploadBytes} bytes`, limitBytes: maxUploadBytes }))
  }
  // code points, as the API's schema counts them (JSON Schema's maxLength)
  const length = [...fileName].length
  if (length < 1 || length > MAX_FILE_NAME_LENGTH) {
    return Result.fail(new InvalidRequest({ message: `The request is invalid: fileName must be 1 to ${MAX_FILE_NAME_LENGTH} characters` }))
  }
  const contentType = Option.getOrUndefined(normalizeDeclaredType(input.contentType))
  if (contentType === undefined || !(ALLOWED_CONTENT_TYPES as ReadonlyArray<string>).includes(contentType)) {
    return Result.fail(new UnsupportedMediaType({ message: `Only ${ALLOWED_CONTENT_TYPES.join(", ")} documents are accepted` }))
  }
  return Result.succeed({ contentType })
}

const quotaExceeded = (limit: number) =>
  new QuotaExceeded({
    message: `The free plan allows ${limit} documents per calendar month, uploads under way included; it resets at the start of next month (UTC)`
  })

export const beginUpload = fnTraced("Documents.beginUpload")(
  function* (input: BeginUploadInput) {
    const crypto = yield* Crypto
    const targets = yield* UploadTargets
    const audit = yield* Audit
    const costs = yield* CostTracker
    const limits = yield* UploadLimits
    const plans = yield* PlanLimits
    const { userId } = input
    const maxBytes = limits.maxUploadBytes

    // 1. Cheap refusals, before anything is recorded or signed.
    const { contentType } = yield* Result.match(validateBeginUpload(input, maxBytes), {
      onFailure: Effect.fail,
      onSuccess: Effect.succeed
    })
    const freeLimit = (yield* Subscriptions.hasRunningPremium(userId)) ? undefined : plans.freeDocumentsPerMonth
    // Jobs this month and uploads still under way count alike: a pending upload becomes a job.
    const usedThisMonth = Usage.countJobsAndPendingUploadsThisMonth(userId)
    if (freeLimit !== undefined && (yield* usedThisMonth) >= freeLimit) return yield* quotaExceeded(freeLimit)
    yield* costs.ensureWithinBudget(userId)

    // 2. The target: signed locally, so it costs nothing if the transaction below refuses.
    const uploadId = UploadId.make(yield* newUuid)
    const key = incomingKey(uploadId)
    yield* Effect.annotateCurrentSpan({ "upload.id": uploadId, "document.content_type": contentType })
    const target = yield* targets.issue({ key, contentType, maxBytes: input.sizeBytes }).pipe(
      Effect.catchTag("InvalidObjectKey", Effect.die)
    )
    const fileName = yield* crypto.sealString(input.fileName, fieldContext(userId, "document_uploads", "file_name_encrypted", uploadId))

    // 3. The bound on pending uploads, the plan, the row and the audit event commit together.
    yield* inTransaction(
      Effect.gen(function* () {
        // Serialises this user's begins (and uploads), so concurrent ones cannot all pass the bounds.
        if (!(yield* Users.lockUser(userId))) return yield* new Unauthenticated({ message: "The account no longer exists" })
        const pending = yield* Uploads.pendingUploads(userId)
        if (pending.count >= MAX_PENDING_UPLOADS) {
          return yield* new RateLimited({
            message: `At most ${MAX_PENDING_UPLOADS} uploads may be under way at once; complete one, or wait until one expires`,
            retryAfterSeconds: Math.max(1, pending.retryAfter ?? 1)
          })
        }
        if (freeLimit !== undefined && (yield* usedThisMonth) >= freeLimit) return yield* quotaExceeded(freeLimit)
        yield* Uploads.insertUpload({
          id: uploadId,
          userId,
          objectKey: key,
          contentType,
          sizeBytes: input.sizeBytes,
          fileNameEncrypted: fileName,
          documentTypeHint: input.documentType ?? null,
          allowImageToModel: input.allowImageToModel ?? true,
          expiresAt: target.expiresAt
        })
        yield* audit.record({
          actorUserId: userId,
          action: "document.upload.begin",
          resourceType: "upload",
          resourceId: uploadId,
          outcome: "success",
          ...input.request
        })
      })
    )
    return {
      uploadId,
      url: target.url,
      method: target.method,
      fields: target.fields,
      expiresAt: target.expiresAt,
      maxBytes: input.sizeBytes
    } satisfies UploadTargetAnswer
  },
  orDatabaseUnavailable("The upload could not be prepared right now", "upload.begin")
)

export const completeUpload = fnTraced("Documents.completeUpload")(
  function* (input: CompleteUploadInput) {
    const crypto = yield* Crypto
    const targets = yield* UploadTargets
    const { userId, uploadId } = input
    yield* Effect.annotateCurrentSpan({ "upload.id": uploadId })

    // Another user's upload is answered like a missing one: ids are never confirmed to others.
    const load = Uploads.findUpload(userId, uploadId, COMPLETION_GRACE_SECONDS)
    const notFound = new NotFound({ message: "No such upload" })
    const queued = (jobId: JobId) => ({ jobId, status: "queued" as const })

    const row = yield* Effect.flatMap(load, Option.match({ onNone: () => Effect.fail(notFound), onSome: Effect.succeed }))
    if (row.jobId !== null) return queued(row.jobId)
    if (row.expired) {
      return yield* new UploadExpired({ message: "The upload's time ran out before it was completed; begin a new one" })
    }

    // At most the declared size is read: one byte more is a mismatch, whatever the object holds.
    const received = yield* targets.read(row.objectKey, row.sizeBytes).pipe(
      Effect.map(Result.succeed),
      Effect.catchTags({
        InvalidObjectKey: Effect.die,
        PayloadTooLarge: () => Effect.fail(new InvalidRequest({ message: "The uploaded document is larger than the declared sizeBytes" })),
        // A concurrent complete may have finished and removed the object meanwhile: answer its job (left).
        UploadNotReceived: (error) =>
          Effect.flatMap(load, (again) =>
            Option.isSome(again) && again.value.jobId !== null ? Effect.succeed(Result.fail(again.value.jobId)) : Effect.fail(error)
          )
      })
    )
    if (Result.isFailure(received)) return queued(received.failure)
    const bytes = received.success
    if (bytes.length !== row.sizeBytes) {
      return yield* new InvalidRequest({ message: "The uploaded document is not the declared sizeBytes" })
    }

    const fileName =
      row.fileNameEncrypted === null
        ? undefined
        : yield* crypto.openString(row.fileNameEncrypted, fieldContext(userId, "document_uploads", "file_name_encrypted", uploadId))
    const accepted = yield* uploadDocument({
      userId,
      bytes,
      declaredContentType: row.contentType,
      ...(fileName !== undefined ? { fileName } : {}),
      ...(row.documentTypeHint !== null ? { documentTypeHint: row.documentTypeHint } : {}),
      ...(row.allowImageToModel ? {} : { allowImageToModel: false }),
      idempotencyKey: `upload-${uploadId}`,
      request: input.request
    })
    yield* Uploads.linkJob(uploadId, accepted.jobId)
    yield* targets.remove(row.objectKey).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning("upload: the incoming object could not be removed; the lifecycle rule will", cause).pipe(
          Effect.annotateLogs({ uploadId })
        )
      )
    )
    return accepted
  },
  orDatabaseUnavailable("The upload could not be completed right now", "upload.complete")
)
