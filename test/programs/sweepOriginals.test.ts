/**
 * Originals no longer kept are swept (a failed job's; a completed job's whose content was deleted);
 * those of unfinished jobs, and those kept with their content, never are.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AuditMemory } from "../../src/layers/audit/memory.js"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { sweepOriginals } from "../../src/programs/sweepOriginals.js"
import { uploadDocument } from "../../src/programs/uploadDocument.js"
import { SqlClient } from "../../src/services/database.js"
import { JobQueue } from "../../src/services/jobQueue.js"
import { Storage } from "../../src/services/storage.js"
import { TestDatabaseLive } from "../support/database.js"
import { newUser } from "../support/users.js"

const TestLayer = Layer.mergeAll(CryptoMemory, StorageMemory, AuditMemory, CostTrackerMemory(), JobQueuePostgres).pipe(
  Layer.provideMerge(TestDatabaseLive())
)

const upload = (userId: Parameters<typeof uploadDocument>[0]["userId"]) =>
  uploadDocument({ userId, bytes: Buffer.from("Hemoglobin 11.2 g/dL 12.0 - 16.0\n"), request: { requestId: "req-sweep" } })

const jobRow = (jobId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ status: string; errorCode: string | null; storageKey: string; removed: boolean }>`
        SELECT status, error_code, storage_key, original_removed_at IS NOT NULL AS removed FROM jobs WHERE id = ${jobId}::uuid`,
      (rows) => rows[0]!
    )
  )

layer(TestLayer)("sweeping originals", (it) => {
  it.effect("a job failed because its lease expired on the last attempt loses its original at the next sweep", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const queue = yield* JobQueue
      const alice = yield* newUser()
      const dying = yield* upload(alice)
      const waiting = yield* upload(alice)

      // Its worker vanished on every attempt: the last lease has run out.
      yield* sql`
        UPDATE jobs SET status = 'processing', attempts = max_attempts, lease_owner = 'gone',
                        lease_expires_at = now() - interval '1 second'
        WHERE id = ${dying.jobId}::uuid`
      yield* queue.claim("worker-sweep", "60 seconds") // reaps it (and claims the other one)
      const failed = yield* jobRow(dying.jobId)
      expect(failed).toMatchObject({ status: "failed", errorCode: "LEASE_EXPIRED", removed: false })
      expect(yield* storage.exists(failed.storageKey)).toBe(true)

      expect(yield* sweepOriginals()).toBeGreaterThanOrEqual(1)
      expect(yield* storage.exists(failed.storageKey)).toBe(false)
      expect((yield* jobRow(dying.jobId)).removed).toBe(true)

      // The job still being processed keeps its original, and a second sweep finds nothing of these.
      const inProgress = yield* jobRow(waiting.jobId)
      expect(inProgress.status).toBe("processing")
      expect(yield* storage.exists(inProgress.storageKey)).toBe(true)
      yield* sweepOriginals()
      expect(yield* storage.exists(inProgress.storageKey)).toBe(true)
      expect(inProgress.removed).toBe(false)
    })
  )

  it.effect("a completed job's original stays while its content does, and is swept once the content is gone", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const carol = yield* newUser()
      const { jobId } = yield* upload(carol)
      const contentId = crypto.randomUUID()
      yield* sql`UPDATE jobs SET status = 'completed', stage = NULL WHERE id = ${jobId}::uuid`
      yield* sql`
        INSERT INTO content (id, user_id, job_id, document_type, title_encrypted, summary_encrypted, body_encrypted, provider, model_id)
        VALUES (${contentId}::uuid, ${carol}::uuid, ${jobId}::uuid, 'lab_results', ${Buffer.from([1])}, ${Buffer.from([1])}, ${Buffer.from([1])}, 'offline', 'm')`
      const row = yield* jobRow(jobId)
      yield* sweepOriginals()
      expect(yield* storage.exists(row.storageKey)).toBe(true)
      expect((yield* jobRow(jobId)).removed).toBe(false)
      yield* sql`DELETE FROM content WHERE id = ${contentId}::uuid`
      yield* sweepOriginals()
      expect(yield* storage.exists(row.storageKey)).toBe(false)
      expect((yield* jobRow(jobId)).removed).toBe(true)
    })
  )

  it.effect("a completed job whose content is gone and whose removal failed at the time is swept, and marked so it is not swept twice", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const bob = yield* newUser()
      const { jobId } = yield* upload(bob)
      yield* sql`UPDATE jobs SET status = 'completed', stage = NULL WHERE id = ${jobId}::uuid`
      const row = yield* jobRow(jobId)
      expect(yield* storage.exists(row.storageKey)).toBe(true)
      yield* sweepOriginals()
      expect(yield* storage.exists(row.storageKey)).toBe(false)
      expect((yield* jobRow(jobId)).removed).toBe(true)
      const [left] = yield* sql<{ n: number }>`
        SELECT count(*)::int AS n FROM jobs WHERE status IN ('completed', 'failed') AND original_removed_at IS NULL`
      expect(left!.n).toBe(0)
    })
  )
})
