/**
 * The SQS JobQueue: `enqueue` sends the wake-up message (SQS mocked at the client), every other
 * method is the PostgreSQL layer's; claiming by id on a real database.
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs"
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Effect, Exit, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { CryptoMemory } from "../../../src/layers/crypto/memory.js"
import { claimJobById, failDeadLettered, failUndeliverable, JobQueueSqs } from "../../../src/layers/jobQueue/sqs.js"
import { JobId } from "../../../src/services/ids.js"
import { JobQueue } from "../../../src/services/jobQueue.js"
import { TestDatabaseLive } from "../../support/database.js"
import { newUser } from "../../support/users.js"

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/serenya-jobs"
const sqs = mockClient(SQSClient)
const client = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })

const App = Layer.merge(JobQueueSqs({ queueUrl: QUEUE_URL, client }), CryptoMemory).pipe(Layer.provideMerge(TestDatabaseLive()))

const insertJob = (fields: { readonly status?: string; readonly attempts?: number; readonly leaseExpiresIn?: string } = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const userId = yield* newUser()
    const lease = fields.leaseExpiresIn === undefined ? null : fields.leaseExpiresIn
    const rows = yield* sql<{ id: string }>`
      INSERT INTO jobs (user_id, status, content_type, size_bytes, storage_key, attempts, lease_owner, lease_expires_at)
      VALUES (${userId}::uuid, ${fields.status ?? "queued"}, 'application/pdf', 10, ${`jobs/${randomUUID()}_original`},
              ${fields.attempts ?? 0}, ${lease === null ? null : "other-worker"},
              ${lease === null ? null : sql.literal(`now() + interval '${lease}'`)})
      RETURNING id`
    return JobId.make(rows[0]!.id)
  })

const statusOf = (jobId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ status: string; attempts: number; leaseOwner: string | null; errorCode: string | null }>`
      SELECT status, attempts, lease_owner, error_code FROM jobs WHERE id = ${jobId}::uuid`
  ).pipe(Effect.map((rows) => rows[0]))

layer(App, { timeout: 60_000 })("JobQueue on SQS", (it) => {
  it.effect("enqueue sends {jobId, traceparent} to the queue, with a capped delay", () =>
    Effect.gen(function* () {
      sqs.reset()
      sqs.on(SendMessageCommand).resolves({ MessageId: "m-1" })
      const queue = yield* JobQueue
      const jobId = JobId.make(randomUUID())

      yield* queue.enqueue(jobId).pipe(Effect.withSpan("upload"))
      const [first] = sqs.commandCalls(SendMessageCommand)
      expect(first?.args[0].input.QueueUrl).toBe(QUEUE_URL)
      const body = JSON.parse(first?.args[0].input.MessageBody ?? "{}") as { jobId: string; traceparent?: string }
      expect(body.jobId).toBe(jobId)
      expect(body.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      expect(first?.args[0].input.DelaySeconds).toBeUndefined()

      yield* queue.enqueue(jobId, { delay: "1 hour" })
      expect(sqs.commandCalls(SendMessageCommand)[1]?.args[0].input.DelaySeconds).toBe(900)
    })
  )

  it.effect("a failed send is retried, then reported as the queue being unavailable", () =>
    Effect.gen(function* () {
      sqs.reset()
      sqs.on(SendMessageCommand).rejects(Object.assign(new Error("down"), { name: "ServiceUnavailable" }))
      const queue = yield* JobQueue
      const sending = yield* Effect.forkChild(Effect.exit(queue.enqueue(JobId.make(randomUUID()))))
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.join(sending)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("DatabaseUnavailable")
      expect(sqs.commandCalls(SendMessageCommand).length).toBe(3)
    })
  )

  it.effect("claims a queued job by id once; leaves finished, leased and unknown jobs alone", () =>
    Effect.gen(function* () {
      const queued = yield* insertJob()
      const claimed = yield* claimJobById(queued, "w1", "30 seconds")
      expect(claimed._tag).toBe("claimed")
      if (claimed._tag === "claimed") {
        expect(claimed.job).toMatchObject({ jobId: queued, attempts: 1, leaseOwner: "w1", contentType: "application/pdf", allowImageToModel: true })
        expect(Option.isNone(claimed.job.documentTypeHint)).toBe(true)
      }
      // the upload's allowImageToModel comes with the claimed job
      const withheld = yield* insertJob()
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE jobs SET allow_image_to_model = false WHERE id = ${withheld}::uuid`)
      const claimedWithheld = yield* claimJobById(withheld, "w1", "30 seconds")
      expect(claimedWithheld._tag === "claimed" ? claimedWithheld.job.allowImageToModel : claimedWithheld._tag).toBe(false)
      // the same message again: another worker now holds it
      expect((yield* claimJobById(queued, "w2", "30 seconds"))._tag).toBe("leased")

      const queue = yield* JobQueue
      expect(yield* queue.fail(queued, "w1", "PDF_UNREADABLE", "The PDF could not be read.")).toBe(true)
      expect((yield* claimJobById(queued, "w3", "30 seconds"))._tag).toBe("finished")
      expect((yield* statusOf(queued))?.attempts).toBe(1)

      expect((yield* claimJobById(randomUUID(), "w1", "30 seconds"))._tag).toBe("unknown")
      expect((yield* claimJobById("not-a-uuid", "w1", "30 seconds"))._tag).toBe("unknown")
    })
  )

  it.effect("takes over an expired lease with attempts left; fails one whose attempts are spent", () =>
    Effect.gen(function* () {
      const expired = yield* insertJob({ status: "processing", attempts: 1, leaseExpiresIn: "-1 minute" })
      const taken = yield* claimJobById(expired, "w1", "30 seconds")
      expect(taken._tag === "claimed" && taken.job.attempts).toBe(2)

      const spent = yield* insertJob({ status: "processing", attempts: 3, leaseExpiresIn: "-1 minute" })
      expect((yield* claimJobById(spent, "w1", "30 seconds"))._tag).toBe("exhausted")
      expect(yield* statusOf(spent)).toMatchObject({ status: "failed", errorCode: "LEASE_EXPIRED", leaseOwner: null })
    })
  )

  it.effect("failUndeliverable fails a queued job but not one another worker is running", () =>
    Effect.gen(function* () {
      const queued = yield* insertJob()
      expect(yield* failUndeliverable(queued, "w1", "DELIVERY_EXHAUSTED", "…")).toBe(true)
      expect(yield* statusOf(queued)).toMatchObject({ status: "failed", errorCode: "DELIVERY_EXHAUSTED" })

      const running = yield* insertJob({ status: "processing", attempts: 1, leaseExpiresIn: "1 hour" })
      expect(yield* failUndeliverable(running, "w1", "DELIVERY_EXHAUSTED", "…")).toBe(false)
      expect((yield* statusOf(running))?.status).toBe("processing")
    })
  )

  it.effect("failDeadLettered fails queued and processing jobs, a live lease included, never a finished one", () =>
    Effect.gen(function* () {
      const queued = yield* insertJob()
      expect(yield* failDeadLettered(queued, "DELIVERY_EXHAUSTED", "…")).toBe(true)
      expect(yield* statusOf(queued)).toMatchObject({ status: "failed", errorCode: "DELIVERY_EXHAUSTED" })

      const hung = yield* insertJob({ status: "processing", attempts: 5, leaseExpiresIn: "1 hour" })
      expect(yield* failDeadLettered(hung, "DELIVERY_EXHAUSTED", "…")).toBe(true)
      expect(yield* statusOf(hung)).toMatchObject({ status: "failed", errorCode: "DELIVERY_EXHAUSTED", leaseOwner: null, attempts: 5 })

      const completed = yield* insertJob({ status: "completed", attempts: 1 })
      expect(yield* failDeadLettered(completed, "DELIVERY_EXHAUSTED", "…")).toBe(false)
      expect(yield* statusOf(completed)).toMatchObject({ status: "completed", errorCode: null })
      // already failed for its own reason: the reason stays
      expect(yield* failDeadLettered(queued, "OTHER", "…")).toBe(false)
      expect((yield* statusOf(queued))?.errorCode).toBe("DELIVERY_EXHAUSTED")

      expect(yield* failDeadLettered(randomUUID(), "DELIVERY_EXHAUSTED", "…")).toBe(false)
      expect(yield* failDeadLettered("not-a-uuid", "DELIVERY_EXHAUSTED", "…")).toBe(false)
    })
  )
})
