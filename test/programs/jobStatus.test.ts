/** Job status through its life, scoped to its user. */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { scriptedDocument } from "../../src/layers/llm/scripted.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { saveContent } from "../../src/programs/content.js"
import { JobId, UserId } from "../../src/services/ids.js"
import { getJobStatus } from "../../src/programs/jobStatus.js"
import { uploadDocument } from "../../src/programs/uploadDocument.js"
import { JobQueue } from "../../src/services/jobQueue.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { TestDatabaseLive } from "../support/database.js"

const TestLayer = Layer.mergeAll(CryptoMemory, StorageMemory, AuditWithRows, CostTrackerMemory(), JobQueuePostgres).pipe(
  Layer.provideMerge(TestDatabaseLive())
)

const newUser = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ id: string }>`
    INSERT INTO users (email_hash, email_encrypted) VALUES (decode(md5(random()::text), 'hex'), ${Buffer.from([0])})
    RETURNING id::text AS id`
  return UserId.make(row!.id)
})

const upload = (userId: UserId) =>
  uploadDocument({ userId, bytes: Buffer.from("Hemoglobin 11.2 g/dL 12.0 - 16.0\n"), request: { requestId: "req-status" } })

const status = (userId: UserId, jobId: JobId) => Effect.map(getJobStatus(userId, jobId), Option.getOrThrow)

layer(TestLayer)("getJobStatus", (it) => {
  it.effect("follows a job from queued through processing to completed", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const alice = yield* newUser
      const { jobId } = yield* upload(alice)

      const queued = yield* status(alice, jobId)
      expect(queued).toMatchObject({ jobId, status: "queued", attempts: 0 })
      expect(queued).not.toHaveProperty("stage")
      expect(queued).not.toHaveProperty("contentId")
      expect(queued).not.toHaveProperty("error")
      expect(queued.createdAt).toBeInstanceOf(Date)

      yield* queue.claim("worker-1", "60 seconds")
      expect(yield* status(alice, jobId)).toMatchObject({ status: "processing", attempts: 1 })
      yield* queue.setStage(jobId, "worker-1", "interpreting")
      expect(yield* status(alice, jobId)).toMatchObject({ status: "processing", stage: "interpreting" })

      const contentId = yield* saveContent({ userId: alice, jobId, document: scriptedDocument(), provider: "test", modelId: "m" })
      expect(yield* queue.complete(jobId, "worker-1", contentId)).toBe(true)
      const done = yield* status(alice, jobId)
      expect(done).toMatchObject({ status: "completed", stage: "done", attempts: 1, contentId })
      expect(done).not.toHaveProperty("error")
      expect(done.updatedAt.getTime()).toBeGreaterThanOrEqual(done.createdAt.getTime())
    })
  )

  it.effect("shows the reason of a failed job, and not the last error of one being retried", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const alice = yield* newUser
      const { jobId } = yield* upload(alice)
      yield* queue.claim("worker-1", "60 seconds")
      yield* queue.retryLater(jobId, "worker-1", { code: "LLM_UNAVAILABLE", message: "The interpretation service was unavailable." }, 0)
      const retrying = yield* status(alice, jobId)
      expect(retrying).toMatchObject({ status: "queued", attempts: 1 })
      expect(retrying).not.toHaveProperty("error")

      yield* queue.claim("worker-2", "60 seconds")
      yield* queue.fail(jobId, "worker-2", "IMAGE_UNREADABLE", "The image could not be read.")
      expect(yield* status(alice, jobId)).toMatchObject({
        status: "failed",
        attempts: 2,
        error: { code: "IMAGE_UNREADABLE", message: "The image could not be read." }
      })
    })
  )

  it.effect("another user's job id, and an unknown one, read as none", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const bob = yield* newUser
      const { jobId } = yield* upload(alice)
      const before = (yield* auditRows).length
      expect(Option.isSome(yield* getJobStatus(alice, jobId, { requestId: "req-a" }))).toBe(true)
      expect(Option.isNone(yield* getJobStatus(bob, jobId, { requestId: "req-b" }))).toBe(true)
      // Both reads are in the trail: the refused one as a failure of the caller, never as the owner's.
      expect((yield* auditRows).slice(before).map((r) => [r.action, r.actorUserId, r.resourceId, r.outcome, r.requestId])).toEqual([
        ["job.status", alice, jobId, "success", "req-a"],
        ["job.status", bob, jobId, "failure", "req-b"]
      ])
      expect(Option.isNone(yield* getJobStatus(alice, JobId.make("00000000-0000-4000-8000-000000000000")))).toBe(true)
    })
  )
})
