/**
 * Accepting uploads on a real database: the job row, the sealed original and the audit event;
 * refusals (413, 415, 402, 400); idempotency, including 20 concurrent retries of one request.
 */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Result, Layer } from "effect"
import * as fs from "node:fs"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { Ids, UserId } from "../../src/services/ids.js"
import { requestFingerprint } from "../../src/programs/idempotency.js"
import { requestHash, UPLOAD_SCOPE, type UploadInput, uploadDocument } from "../../src/programs/uploadDocument.js"
import { CostTracker, usageRecord } from "../../src/services/costTracker.js"
import { Crypto, documentContext, fieldContext } from "../../src/services/crypto.js"
import { documentKey, Storage } from "../../src/services/storage.js"
import { TestDatabaseLive } from "../support/database.js"
import { testConfigLayer } from "../support/settings.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { fixturePath } from "../support/fixtures.js"

const fixture = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))

const testLayer = (budgetCents = 500) =>
  Layer.mergeAll(CryptoMemory, StorageMemory, AuditWithRows, CostTrackerMemory({ monthlyBudgetCents: budgetCents }), JobQueuePostgres).pipe(
    Layer.provideMerge(TestDatabaseLive())
  )

const newUser = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ id: string }>`
    INSERT INTO users (email_hash, email_encrypted) VALUES (decode(md5(random()::text), 'hex'), ${Buffer.from([0])})
    RETURNING id::text AS id`
  return UserId.make(row!.id)
})

const request = { requestId: "req-upload-1", clientIp: "203.0.113.7", userAgent: "Serenya/1.0 (iOS)" }

const upload = (userId: UserId, overrides: Partial<UploadInput> = {}) =>
  uploadDocument({
    userId,
    bytes: fixture,
    declaredContentType: "application/pdf",
    fileName: "cbc-april.pdf",
    documentTypeHint: "lab_results",
    request,
    ...overrides
  })

const jobCount = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs WHERE user_id = ${userId}::uuid`).pipe(
    Effect.map((rows) => rows[0]?.n ?? -1)
  )

const withSettings = (env: Record<string, string>) => Effect.provide(testConfigLayer(env))

const failureTag = <A, E extends { readonly _tag: string }>(result: Result.Result<A, E>) =>
  Result.isFailure(result) ? result.failure._tag : "accepted"

layer(testLayer())("uploadDocument", (it) => {
  it.effect("stores the sealed original, writes the job row, audits, and answers queued", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const crypto = yield* Crypto
      const storage = yield* Storage
      const alice = yield* newUser
      const answer = yield* upload(alice)
      expect(answer.status).toBe("queued")

      const [job] = yield* sql<{
        status: string
        contentType: string
        sizeBytes: number
        storageKey: string
        documentTypeHint: string
        allowImageToModel: boolean
        attempts: number
        fileNameEncrypted: Uint8Array
        traceContext: string | null
      }>`SELECT status, content_type, size_bytes, storage_key, document_type_hint, allow_image_to_model, attempts,
                file_name_encrypted, trace_context
         FROM jobs WHERE id = ${answer.jobId}::uuid AND user_id = ${alice}::uuid`
      expect(job).toMatchObject({
        status: "queued",
        contentType: "application/pdf",
        sizeBytes: fixture.length,
        storageKey: documentKey(answer.jobId),
        documentTypeHint: "lab_results",
        // an upload that does not say allows it, as before the option existed
        allowImageToModel: true,
        attempts: 0
      })
      expect(job!.traceContext).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      expect(Buffer.from(job!.fileNameEncrypted).toString("latin1")).not.toContain("cbc-april")
      expect(
        yield* crypto.openString(job!.fileNameEncrypted, fieldContext(alice, "jobs", "file_name_encrypted", answer.jobId))
      ).toBe("cbc-april.pdf")

      const stored = yield* storage.get(documentKey(answer.jobId))
      expect(stored.metadata).toMatchObject({ userId: alice, contentType: "application/pdf" })
      expect(Buffer.from(stored.bytes).includes(Buffer.from("DOE, JANE"))).toBe(false)
      const opened = yield* crypto.open(stored.bytes, documentContext(alice, documentKey(answer.jobId)))
      expect(Buffer.from(opened).equals(fixture)).toBe(true)

      const events = yield* auditRows
      expect(events.at(-1)).toMatchObject({
        actorUserId: alice,
        action: "document.upload",
        resourceType: "job",
        resourceId: answer.jobId,
        outcome: "success",
        requestId: "req-upload-1",
        clientIp: "203.0.113.7"
      })
    })
  )

  it.effect("takes the job's id from Ids: with a sequence provided, the job, its row and its stored original have the known id", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const alice = yield* newUser
      const ids = Ids.sequential("0000000a")
      const known = "0000000a-0000-4000-8000-000000000001"
      const answer = yield* upload(alice).pipe(Effect.provideService(Ids, ids))
      expect(answer).toEqual({ jobId: known, status: "queued" })
      const [job] = yield* sql<{ id: string; storageKey: string }>`SELECT id::text AS id, storage_key FROM jobs WHERE user_id = ${alice}::uuid`
      expect(job).toEqual({ id: known, storageKey: `jobs/${known}_original` })
      expect((yield* storage.get(`jobs/${known}_original`)).metadata).toMatchObject({ userId: alice })
      // the same sequence goes on; without one, ids are random again
      expect((yield* upload(alice).pipe(Effect.provideService(Ids, ids))).jobId).toBe("0000000a-0000-4000-8000-000000000002")
      expect((yield* upload(alice)).jobId).not.toMatch(/^0000000/)
    })
  )

  it.effect("refuses a document over MAX_UPLOAD_BYTES with PayloadTooLarge (413), storing nothing", () =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const alice = yield* newUser
      const before = (yield* storage.list("jobs/")).length
      const result = yield* Effect.result(upload(alice).pipe(withSettings({ MAX_UPLOAD_BYTES: String(fixture.length - 1) })))
      expect(failureTag(result)).toBe("PayloadTooLarge")
      expect(Result.isFailure(result) && result.failure._tag === "PayloadTooLarge" && result.failure.limitBytes).toBe(fixture.length - 1)
      // exactly at the limit is fine
      yield* upload(alice).pipe(withSettings({ MAX_UPLOAD_BYTES: String(fixture.length) }))
      expect(yield* jobCount(alice)).toBe(1)
      expect((yield* storage.list("jobs/")).length).toBe(before + 1)
    })
  )

  it.effect("refuses unknown bytes and a declared type that disagrees with the bytes (415)", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00])
      expect(failureTag(yield* Effect.result(upload(alice, { bytes: zip, declaredContentType: "application/zip" })))).toBe(
        "UnsupportedMediaType"
      )
      expect(failureTag(yield* Effect.result(upload(alice, { declaredContentType: "image/png" })))).toBe("UnsupportedMediaType")
      expect(failureTag(yield* Effect.result(upload(alice, { bytes: Buffer.from("plain text"), declaredContentType: "application/pdf" })))).toBe(
        "UnsupportedMediaType"
      )
      expect(yield* jobCount(alice)).toBe(0)
    })
  )

  it.effect("refuses an empty document and a malformed idempotency key (400)", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      expect(failureTag(yield* Effect.result(upload(alice, { bytes: new Uint8Array(0) })))).toBe("InvalidRequest")
      expect(failureTag(yield* Effect.result(upload(alice, { idempotencyKey: "has space" })))).toBe("InvalidRequest")
      expect(failureTag(yield* Effect.result(upload(alice, { idempotencyKey: "k".repeat(256) })))).toBe("InvalidRequest")
      expect(yield* jobCount(alice)).toBe(0)
    })
  )

  it.effect("enforces the free plan's documents per month (402); premium has no limit", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const free = withSettings({ FREE_PLAN_DOCUMENTS_PER_MONTH: "2" })
      const alice = yield* newUser
      yield* upload(alice).pipe(free)
      yield* upload(alice).pipe(free)
      const objects = (yield* storage.list("jobs/")).length
      const third = yield* Effect.result(upload(alice).pipe(free))
      expect(failureTag(third)).toBe("QuotaExceeded")
      expect(yield* jobCount(alice)).toBe(2)
      expect((yield* storage.list("jobs/")).length).toBe(objects)

      // last month's uploads do not count
      yield* sql`UPDATE jobs SET created_at = date_trunc('month', now()) - interval '1 day' WHERE user_id = ${alice}::uuid`
      yield* upload(alice).pipe(free)

      const bob = yield* newUser
      yield* sql`INSERT INTO subscriptions (user_id, plan, period_start, period_end)
                 VALUES (${bob}::uuid, 'premium', now() - interval '1 day', now() + interval '30 days')`
      for (let i = 0; i < 3; i++) yield* upload(bob).pipe(free)
      expect(yield* jobCount(bob)).toBe(3)
    })
  )

  it.effect("concurrent uploads of one free user never pass the plan limit together", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const results = yield* Effect.all(
        Array.from({ length: 8 }, () => Effect.result(upload(alice).pipe(withSettings({ FREE_PLAN_DOCUMENTS_PER_MONTH: "3" })))),
        { concurrency: "unbounded" }
      )
      expect(results.filter(Result.isSuccess)).toHaveLength(3)
      expect(results.filter((r) => failureTag(r) === "QuotaExceeded")).toHaveLength(5)
      expect(yield* jobCount(alice)).toBe(3)
    })
  )

  it.effect("same key, same body: one job and the first answer; same key, another body: Conflict (409)", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser
      const bob = yield* newUser
      const first = yield* upload(alice, { idempotencyKey: "retry-me-1" })
      const again = yield* upload(alice, { idempotencyKey: "retry-me-1" })
      expect(again).toEqual(first)
      expect(yield* jobCount(alice)).toBe(1)

      const other = yield* Effect.result(upload(alice, { idempotencyKey: "retry-me-1", fileName: "another.pdf" }))
      expect(failureTag(other)).toBe("Conflict")
      const otherBytes = yield* Effect.result(upload(alice, { idempotencyKey: "retry-me-1", bytes: Buffer.from("text"), declaredContentType: "text/plain" }))
      expect(failureTag(otherBytes)).toBe("Conflict")
      expect(yield* jobCount(alice)).toBe(1)

      // keys are per user
      const bobs = yield* upload(bob, { idempotencyKey: "retry-me-1" })
      expect(bobs.jobId).not.toBe(first.jobId)

      // after 24 h the key is free again
      yield* sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = ${alice}::uuid`
      const later = yield* upload(alice, { idempotencyKey: "retry-me-1" })
      expect(later.jobId).not.toBe(first.jobId)
      expect(yield* jobCount(alice)).toBe(2)
    })
  )

  it.effect("allowImageToModel is stored with the job (true unless the upload says false), and is part of the request an Idempotency-Key names", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const allowed = (jobId: string) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ allowImageToModel: boolean }>`SELECT allow_image_to_model FROM jobs WHERE id = ${jobId}::uuid`
        ).pipe(Effect.map((rows) => rows[0]?.allowImageToModel))
      expect(yield* allowed((yield* upload(alice, { allowImageToModel: false })).jobId)).toBe(false)
      expect(yield* allowed((yield* upload(alice, { allowImageToModel: true })).jobId)).toBe(true)
      expect(yield* allowed((yield* upload(alice)).jobId)).toBe(true)

      const withheld = yield* upload(alice, { idempotencyKey: "image-1", allowImageToModel: false })
      expect(yield* upload(alice, { idempotencyKey: "image-1", allowImageToModel: false })).toEqual(withheld)
      for (const allowImageToModel of [true, undefined]) {
        const other = yield* Effect.result(upload(alice, { idempotencyKey: "image-1", ...(allowImageToModel === undefined ? {} : { allowImageToModel }) }))
        expect(failureTag(other)).toBe("Conflict")
      }
      // saying true is saying nothing: the request is the same, and its fingerprint the one it had before the option
      const input: UploadInput = { userId: alice, bytes: fixture, declaredContentType: "application/pdf", fileName: "a.pdf", request }
      const before = requestFingerprint([alice, UPLOAD_SCOPE, "k", "application/pdf", "a.pdf", null], fixture)
      expect(requestHash(input, "k").equals(before)).toBe(true)
      expect(requestHash({ ...input, allowImageToModel: true }, "k").equals(before)).toBe(true)
      expect(requestHash({ ...input, allowImageToModel: false }, "k").equals(before)).toBe(false)
      const unsaid = yield* upload(alice, { idempotencyKey: "image-2" })
      expect(yield* upload(alice, { idempotencyKey: "image-2", allowImageToModel: true })).toEqual(unsaid)
      expect(failureTag(yield* Effect.result(upload(alice, { idempotencyKey: "image-2", allowImageToModel: false })))).toBe("Conflict")
    })
  )

  it.effect("20 concurrent uploads with one key create exactly one job and leave one stored object", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const alice = yield* newUser
      const before = new Set(yield* storage.list("jobs/"))
      const answers = yield* Effect.all(
        Array.from({ length: 20 }, () => upload(alice, { idempotencyKey: "tap-tap-tap" })),
        { concurrency: "unbounded" }
      )
      expect(new Set(answers.map((a) => a.jobId)).size).toBe(1)
      expect(yield* jobCount(alice)).toBe(1)
      const [keys] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM idempotency_keys WHERE user_id = ${alice}::uuid`
      expect(keys?.n).toBe(1)
      const added = (yield* storage.list("jobs/")).filter((key) => !before.has(key))
      expect(added).toEqual([documentKey(answers[0]!.jobId)])
    })
  )
})

layer(testLayer(1))("uploadDocument with the monthly LLM budget spent", (it) => {
  it.effect("refuses with QuotaExceeded (402)", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      const alice = yield* newUser
      yield* costs.record(
        yield* usageRecord({
          userId: alice,
          provider: "aws.bedrock",
          modelId: "anthropic.claude-3-5-sonnet-20241022-v2:0",
          documentType: "lab_results",
          usage: { inputTokens: 100_000, outputTokens: 10_000 },
          processingTimeMs: 1000,
          idempotencyKey: `test:${alice}`
        })
      )
      expect(failureTag(yield* Effect.result(upload(alice)))).toBe("QuotaExceeded")
      expect(yield* jobCount(alice)).toBe(0)
    })
  )
})
