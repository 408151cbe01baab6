/**
 * Presigned uploads on a real database with the memory upload targets: begin → (the client's
 * upload, deposited) → complete makes exactly one job, whose sealed original is the uploaded
 * bytes; completing again or concurrently answers the same job; and every refusal — another
 * user's id, a size mismatch, nothing uploaded, an expired target, over the limit, the plan, the
 * bound on pending uploads — plus erasure of an account with an upload under way.
 */
import { TrendsCacheDisabled } from "../../src/layers/trendsCache/memory.js"
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Result, Layer } from "effect"
import { TestClock } from "effect/testing"
import { makeTimelineCache } from "../../src/layers/timelineCache/memory.js"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { MemoryUploads, UploadTargetsMemory } from "../../src/layers/uploadTargets/memory.js"
import { NotificationsMemory } from "../../src/layers/notifications/memory.js"
import { deleteAccount } from "../../src/programs/account.js"
import {
  beginUpload,
  type BeginUploadInput,
  COMPLETION_GRACE_SECONDS,
  completeUpload,
  MAX_PENDING_UPLOADS
} from "../../src/programs/presignedUpload.js"
import { Crypto, documentContext } from "../../src/services/crypto.js"
import { UploadId, type UserId } from "../../src/services/ids.js"
import { documentKey, Storage } from "../../src/services/storage.js"
import { TimelineCache } from "../../src/services/timelineCache.js"
import { incomingKey } from "../../src/services/uploadTargets.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { OwnerSql, TestDatabaseLive } from "../support/database.js"
import { readFixture } from "../support/fixtures.js"
import { testConfigLayer } from "../support/settings.js"
import { newUser } from "../support/users.js"

const pdf = readFixture("lab-report-cbc-cmp.pdf")

const TestLayer = Layer.mergeAll(
  CryptoMemory,
  StorageMemory,
  UploadTargetsMemory,
  NotificationsMemory,
  AuditWithRows,
  CostTrackerMemory(),
  JobQueuePostgres,
  LLMOffline,
  TrendsCacheDisabled,
  Layer.sync(TimelineCache, () => makeTimelineCache({ ttl: "5 minutes", maxUsers: 100 }))
).pipe(Layer.provideMerge(TestDatabaseLive()))

const request = { requestId: "req-presigned-1", clientIp: "203.0.113.9", userAgent: "Serenya/1.0 (Android)" }

const begin = (userId: UserId, overrides: Partial<BeginUploadInput> = {}) =>
  beginUpload({
    userId,
    fileName: "mri-report.pdf",
    contentType: "application/pdf",
    sizeBytes: pdf.length,
    documentType: "report",
    request,
    ...overrides
  })

const complete = (userId: UserId, uploadId: UploadId) => completeUpload({ userId, uploadId, request })

const deposit = (uploadId: string, bytes: Uint8Array = pdf) =>
  Effect.flatMap(MemoryUploads, (uploads) => uploads.deposit(incomingKey(uploadId), bytes))

const jobCount = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs WHERE user_id = ${userId}::uuid`).pipe(
    Effect.map((rows) => rows[0]?.n ?? -1)
  )

const failure = <A, E extends { readonly _tag: string }>(result: Result.Result<A, E>) =>
  Result.isFailure(result) ? result.failure._tag : "accepted"

const withSettings = (env: Record<string, string>) => Effect.provide(testConfigLayer(env))

/** Targets expire by the clock the database's now() also follows: the real one, not TestClock. */
const realClock = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestClock.withLive(effect)

layer(TestLayer)("presigned uploads", (it) => {
  it.effect("begin → upload → complete makes one queued job whose sealed original is the uploaded bytes", () =>
    realClock(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const crypto = yield* Crypto
      const uploads = yield* MemoryUploads
      const alice = yield* newUser()

      const target = yield* begin(alice)
      expect(target).toMatchObject({ method: "POST", maxBytes: pdf.length })
      expect(target.url).toBe(`memory://uploads/incoming/${target.uploadId}`)
      expect(target.expiresAt.getTime() - Date.now()).toBeGreaterThan(14 * 60_000)
      // the target accepts exactly the declared type and size
      expect(yield* uploads.issued(incomingKey(target.uploadId))).toMatchObject({
        contentType: "application/pdf",
        maxBytes: pdf.length
      })
      const [row] = yield* sql<{ fileNameEncrypted: Uint8Array; jobId: string | null }>`
        SELECT file_name_encrypted, job_id FROM document_uploads WHERE id = ${target.uploadId}::uuid`
      expect(row?.jobId).toBeNull()
      expect(Buffer.from(row!.fileNameEncrypted).toString("latin1")).not.toContain("mri-report")
      expect((yield* auditRows).at(-1)).toMatchObject({
        actorUserId: alice,
        action: "document.upload.begin",
        resourceType: "upload",
        resourceId: target.uploadId,
        outcome: "success"
      })

      yield* deposit(target.uploadId)
      const accepted = yield* complete(alice, target.uploadId)
      expect(accepted.status).toBe("queued")
      expect(yield* jobCount(alice)).toBe(1)

      const [job] = yield* sql<{ contentType: string; sizeBytes: number; documentTypeHint: string; allowImageToModel: boolean }>`
        SELECT content_type, size_bytes, document_type_hint, allow_image_to_model FROM jobs WHERE id = ${accepted.jobId}::uuid`
      expect(job).toEqual({ contentType: "application/pdf", sizeBytes: pdf.length, documentTypeHint: "report", allowImageToModel: true })
      const stored = yield* storage.get(documentKey(accepted.jobId))
      const opened = yield* crypto.open(stored.bytes, documentContext(alice, documentKey(accepted.jobId)))
      expect(Buffer.from(opened).equals(Buffer.from(pdf))).toBe(true)

      const [completed] = yield* sql<{ jobId: string }>`SELECT job_id FROM document_uploads WHERE id = ${target.uploadId}::uuid`
      expect(completed?.jobId).toBe(accepted.jobId)
      // the raw incoming object is gone once the sealed original exists
      expect(yield* uploads.keys).not.toContain(incomingKey(target.uploadId))

      // completing again answers the same job, and makes none
      expect(yield* complete(alice, target.uploadId)).toEqual(accepted)
      expect(yield* jobCount(alice)).toBe(1)
    }))
  )

  it.effect("allowImageToModel: false is kept with the upload and carried to its job; not saying it is true", () =>
    realClock(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser()
      const allowed = (table: "document_uploads" | "jobs", id: string) =>
        Effect.map(
          sql<{ allowImageToModel: boolean }>`SELECT allow_image_to_model FROM ${sql(table)} WHERE id = ${id}::uuid`,
          (rows) => rows[0]?.allowImageToModel
        )
      for (const [said, stored] of [[false, false], [true, true], [undefined, true]] as const) {
        const target = yield* begin(alice, said === undefined ? {} : { allowImageToModel: said })
        expect(yield* allowed("document_uploads", target.uploadId), String(said)).toBe(stored)
        yield* deposit(target.uploadId)
        const accepted = yield* complete(alice, target.uploadId)
        expect(yield* allowed("jobs", accepted.jobId), String(said)).toBe(stored)
        // completing again answers the same job: the flag is part of the request its key names
        expect(yield* complete(alice, target.uploadId)).toEqual(accepted)
      }
    }))
  )

  it.effect("concurrent completes of one upload make one job and all answer it", () =>
    realClock(Effect.gen(function* () {
      const alice = yield* newUser()
      const target = yield* begin(alice)
      yield* deposit(target.uploadId)
      const answers = yield* Effect.all(
        Array.from({ length: 8 }, () => Effect.result(complete(alice, target.uploadId))),
        { concurrency: "unbounded" }
      )
      const jobIds = new Set(answers.map((answer) => (Result.isSuccess(answer) ? answer.success.jobId : answer.failure._tag)))
      expect(jobIds.size).toBe(1)
      expect([...jobIds][0]).toMatch(/^[0-9a-f-]{36}$/)
      expect(yield* jobCount(alice)).toBe(1)
    }))
  )

  it.effect("another user's upload id, or an unknown one, is NotFound (404); the owner's upload is untouched", () =>
    realClock(Effect.gen(function* () {
      const alice = yield* newUser()
      const mallory = yield* newUser()
      const target = yield* begin(alice)
      yield* deposit(target.uploadId)
      expect(failure(yield* Effect.result(complete(mallory, target.uploadId)))).toBe("NotFound")
      expect(failure(yield* Effect.result(complete(mallory, UploadId.make("0e71515d-0000-4000-8000-000000000000"))))).toBe("NotFound")
      expect(yield* jobCount(mallory)).toBe(0)
      expect((yield* complete(alice, target.uploadId)).status).toBe("queued")
    }))
  )

  it.effect("an upload of another size than declared is refused (400), larger or smaller", () =>
    realClock(Effect.gen(function* () {
      const alice = yield* newUser()
      const smaller = yield* begin(alice)
      yield* deposit(smaller.uploadId, pdf.subarray(0, pdf.length - 1))
      expect(failure(yield* Effect.result(complete(alice, smaller.uploadId)))).toBe("InvalidRequest")
      const larger = yield* begin(alice, { sizeBytes: pdf.length - 1 })
      yield* deposit(larger.uploadId)
      expect(failure(yield* Effect.result(complete(alice, larger.uploadId)))).toBe("InvalidRequest")
      expect(yield* jobCount(alice)).toBe(0)
    }))
  )

  it.effect("nothing uploaded (or an empty object) is UploadNotReceived (409); uploading then completing works", () =>
    realClock(Effect.gen(function* () {
      const alice = yield* newUser()
      const target = yield* begin(alice)
      const missing = yield* Effect.result(complete(alice, target.uploadId))
      expect(failure(missing)).toBe("UploadNotReceived")
      yield* deposit(target.uploadId, new Uint8Array(0))
      expect(failure(yield* Effect.result(complete(alice, target.uploadId)))).toBe("UploadNotReceived")
      yield* deposit(target.uploadId)
      expect((yield* complete(alice, target.uploadId)).status).toBe("queued")
    }))
  )

  it.effect("an upload completed after its target expired (and the grace) is UploadExpired (410)", () =>
    realClock(Effect.gen(function* () {
      const owner = yield* OwnerSql
      const alice = yield* newUser()
      const target = yield* begin(alice)
      yield* deposit(target.uploadId)
      // within the grace it still completes: S3 refuses late POSTs, so an object there came in time
      yield* owner`UPDATE document_uploads SET expires_at = now() - interval '1 minute' WHERE id = ${target.uploadId}::uuid`
      const late = yield* begin(alice)
      yield* deposit(late.uploadId)
      yield* owner`
        UPDATE document_uploads SET expires_at = now() - make_interval(secs => ${COMPLETION_GRACE_SECONDS + 1})
        WHERE id = ${late.uploadId}::uuid`
      expect((yield* complete(alice, target.uploadId)).status).toBe("queued")
      expect(failure(yield* Effect.result(complete(alice, late.uploadId)))).toBe("UploadExpired")
      expect(yield* jobCount(alice)).toBe(1)
    }))
  )

  it.effect("refuses at begin: over MAX_UPLOAD_BYTES (413), a type we do not take (415), a bad size or name (400)", () =>
    realClock(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser()
      const over = yield* Effect.result(begin(alice, { sizeBytes: 5 * 1024 * 1024 + 1 }))
      expect(failure(over)).toBe("PayloadTooLarge")
      expect(Result.isFailure(over) && over.failure._tag === "PayloadTooLarge" && over.failure.limitBytes).toBe(5 * 1024 * 1024)
      expect(failure(yield* Effect.result(begin(alice, { sizeBytes: 20 * 1024 * 1024 }).pipe(withSettings({ MAX_UPLOAD_BYTES: String(20 * 1024 * 1024) }))))).toBe("accepted")
      expect(failure(yield* Effect.result(begin(alice, { contentType: "application/zip" })))).toBe("UnsupportedMediaType")
      expect(failure(yield* Effect.result(begin(alice, { contentType: "application/octet-stream" })))).toBe("UnsupportedMediaType")
      expect(failure(yield* Effect.result(begin(alice, { sizeBytes: 0 })))).toBe("InvalidRequest")
      expect(failure(yield* Effect.result(begin(alice, { sizeBytes: 1.5 })))).toBe("InvalidRequest")
      expect(failure(yield* Effect.result(begin(alice, { fileName: "" })))).toBe("InvalidRequest")
      expect(failure(yield* Effect.result(begin(alice, { fileName: "a".repeat(256) })))).toBe("InvalidRequest")
      // `image/jpg` and parameters are normalised: the target pins the canonical type
      const jpeg = yield* begin(alice, { contentType: "Image/JPG; charset=binary", fileName: "scan.jpg" })
      expect(jpeg.fields["Content-Type"]).toBe("image/jpeg")
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM document_uploads WHERE user_id = ${alice}::uuid`
      expect(rows[0]?.n).toBe(2)
    }))
  )

  it.effect("a name of 255 characters outside the BMP (510 UTF-16 units) passes begin and complete alike", () =>
    realClock(Effect.gen(function* () {
      const alice = yield* newUser()
      const target = yield* begin(alice, { fileName: "😀".repeat(255) })
      yield* deposit(target.uploadId)
      expect((yield* complete(alice, target.uploadId)).status).toBe("queued")
      expect(failure(yield* Effect.result(begin(alice, { fileName: "😀".repeat(256) })))).toBe("InvalidRequest")
    }))
  )

  it.effect("the free plan counts uploads under way: past the month's documents, begin is QuotaExceeded (402)", () =>
    realClock(Effect.gen(function* () {
      const alice = yield* newUser()
      const twoPerMonth = withSettings({ FREE_PLAN_DOCUMENTS_PER_MONTH: "2" })
      const first = yield* begin(alice).pipe(twoPerMonth)
      yield* deposit(first.uploadId)
      yield* complete(alice, first.uploadId).pipe(twoPerMonth)
      yield* begin(alice).pipe(twoPerMonth)
      expect(failure(yield* Effect.result(begin(alice).pipe(twoPerMonth)))).toBe("QuotaExceeded")
    }))
  )

  it.effect(`at most ${MAX_PENDING_UPLOADS} uploads under way per user (429 with Retry-After); an expired one no longer counts`, () =>
    realClock(Effect.gen(function* () {
      const owner = yield* OwnerSql
      const alice = yield* newUser()
      const many = withSettings({ FREE_PLAN_DOCUMENTS_PER_MONTH: "1000" })
      const targets = yield* Effect.forEach(Array.from({ length: MAX_PENDING_UPLOADS }), () => begin(alice).pipe(many))
      const refused = yield* Effect.result(begin(alice).pipe(many))
      expect(failure(refused)).toBe("RateLimited")
      expect(Result.isFailure(refused) && refused.failure._tag === "RateLimited" && refused.failure.retryAfterSeconds).toBeGreaterThan(0)
      yield* owner`UPDATE document_uploads SET expires_at = now() - interval '1 second' WHERE id = ${targets[0]!.uploadId}::uuid`
      expect(failure(yield* Effect.result(begin(alice).pipe(many)))).toBe("accepted")
    }))
  )

  it.effect("erasing the account leaves no upload row and no incoming object, pending or completed", () =>
    realClock(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const uploads = yield* MemoryUploads
      const alice = yield* newUser()
      const bob = yield* newUser()
      const pending = yield* begin(alice)
      yield* deposit(pending.uploadId)
      const done = yield* begin(alice)
      yield* deposit(done.uploadId)
      yield* complete(alice, done.uploadId)
      const bobs = yield* begin(bob)
      yield* deposit(bobs.uploadId)

      const report = yield* deleteAccount(alice, request)
      expect(report.deletionsPending).toBe(0)
      expect(yield* sql`SELECT 1 FROM document_uploads WHERE user_id = ${alice}::uuid`).toEqual([])
      const keys = yield* uploads.keys
      expect(keys).not.toContain(incomingKey(pending.uploadId))
      expect(keys).toContain(incomingKey(bobs.uploadId))
      expect(yield* sql`SELECT 1 FROM erasure_outbox`).toEqual([])
    }))
  )
})
