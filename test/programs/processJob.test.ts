/**
 * Processing on a real database with the worker pool: the fixture end to end, retries on the
 * schedule, permanent failures (a document over the reading limits and a defect fail at once), a
 * lease taken over (exactly one completion), two pools racing, no plaintext of the fixture
 * anywhere at rest afterwards, and the upload's allowImageToModel carried to the interpretation.
 */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { type Duration, Effect, Exit, Layer, Option, Scope, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AuditMemory } from "../../src/layers/audit/memory.js"
import { CostTrackerMemory, MemoryCostStore } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { LLMScripted, LLMScriptProbe, scriptedDocument } from "../../src/layers/llm/scripted.js"
import { NotificationsMemory } from "../../src/layers/notifications/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { makeWorkerPool, type WorkerPoolOptions } from "../../src/main/workerPool.js"
import { deleteContent, loadContent, saveContent } from "../../src/programs/content.js"
import { ContentId, UserId } from "../../src/services/ids.js"
import { failureMessage, processJob } from "../../src/programs/processJob.js"
import { type UploadInput, uploadDocument } from "../../src/programs/uploadDocument.js"
import { JobQueue } from "../../src/services/jobQueue.js"
import { DocumentUnreadable, LLM, LLMRequestRejected, reportUsage, TokenUsage } from "../../src/services/llm.js"
import { DEFAULT_MODEL_ID } from "../../src/services/models.js"
import { makeRetrySchedule } from "../../src/services/resilience.js"
import { documentKey, Storage } from "../../src/services/storage.js"
import { TestDatabaseLive } from "../support/database.js"
import { testConfigLayer } from "../support/settings.js"
import { FIXTURES_DIR } from "../support/fixtures.js"
import { flate, pagesPdf } from "../support/pdf.js"
import { UploadTargetsMemory } from "../../src/layers/uploadTargets/memory.js"
import { userIdOf } from "../support/ids.js"

const fixtures = FIXTURES_DIR
const pdf = fs.readFileSync(path.join(fixtures, "lab-report-cbc-cmp.pdf"))
const labText = fs.readFileSync(path.join(fixtures, "lab-report-cbc-cmp.txt"))
/** 50 KB whose one page inflates to 48 MiB: over the offline reader's decoded-bytes budget. */
const FLATE_BOMB = Buffer.from(pagesPdf([{ dict: "/Filter /FlateDecode", data: flate(Buffer.alloc(48 * 1024 * 1024, 0x20)) }]))
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])

/** Plaintext that must never be at rest: the patient's name and a result with its name. */
const SECRETS = ["DOE, JANE", "DOE", "JANE", "Hemoglobin", "11.2 g/dL"]

const testLayer = <L extends LLM | LLMScriptProbe>(llm: Layer.Layer<L>) =>
  Layer.mergeAll(CryptoMemory, StorageMemory, UploadTargetsMemory, AuditMemory, CostTrackerMemory(), JobQueuePostgres, NotificationsMemory, llm).pipe(
    Layer.provideMerge(TestDatabaseLive())
  )

const fast: WorkerPoolOptions = {
  concurrency: 2,
  lease: "10 seconds",
  poll: "20 millis",
  shutdownTimeout: "5 seconds",
  process: { retrySchedule: makeRetrySchedule({ base: "10 millis", maxRetries: 5, maxDelay: "50 millis" }) }
}

const newUser = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ id: string }>`
    INSERT INTO users (email_hash, email_encrypted) VALUES (decode(md5(random()::text), 'hex'), ${Buffer.from([0])})
    RETURNING id::text AS id`
  return UserId.make(row!.id)
})

const upload = (userId: UserId, overrides: Partial<UploadInput> = {}) =>
  uploadDocument({ userId, bytes: pdf, fileName: "cbc.pdf", request: { requestId: "req-1" }, ...overrides }).pipe(
    Effect.provide(testConfigLayer({ FREE_PLAN_DOCUMENTS_PER_MONTH: "1000" }))
  )

interface JobRow {
  readonly status: string
  readonly stage: string | null
  readonly attempts: number
  readonly errorCode: string | null
  readonly contentId: string | null
}

const jobRow = (jobId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<JobRow>`SELECT status, stage, attempts, error_code, content_id::text AS content_id FROM jobs WHERE id = ${jobId}::uuid`
  ).pipe(Effect.map((rows) => rows[0]))

const unfinished = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs WHERE status IN ('queued', 'processing')`
).pipe(Effect.map((rows) => rows[0]?.n ?? 0))

/** Polls (real time) until `done` holds; fails the test after `timeout`. */
const waitFor = (done: Effect.Effect<boolean, unknown, SqlClient.SqlClient>, timeout: Duration.Input = "20 seconds") =>
  Effect.gen(function* () {
    while (!(yield* done)) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(new Error("timed out waiting for the workers")) }))

/** Runs a pool until no job is left to do, then shuts it down; answers its stats. */
const runPoolUntilIdle = (options: Partial<WorkerPoolOptions> = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const pool = yield* makeWorkerPool({ ...fast, ...options })
      yield* waitFor(Effect.map(unfinished, (n) => n === 0))
      // A job's row commits before its worker counts the outcome: wait until every claim is counted.
      yield* waitFor(Effect.map(pool.stats, (s) => s.claimed === s.completed + s.retrying + s.failed + s.lost + s.errors))
      return yield* pool.stats
    })
  )

/** Every text-like and bytea column of every table, and every stored object, searched for the secrets. */
const plaintextAtRest = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const storage = yield* Storage
  const found: Array<string> = []
  const columns = yield* sql<{ tableName: string; columnName: string; dataType: string }>`
    SELECT table_name, column_name, data_type FROM information_schema.columns
    WHERE table_schema = 'public' AND data_type IN ('bytea', 'text', 'jsonb', 'json', 'character varying', 'character', 'ARRAY')`
  let values = 0
  for (const column of columns) {
    const rows =
      column.dataType === "bytea"
        ? yield* sql<{ v: Uint8Array }>`SELECT ${sql(column.columnName)} AS v FROM ${sql(column.tableName)} WHERE ${sql(column.columnName)} IS NOT NULL`
        : yield* sql<{ v: string }>`SELECT ${sql(column.columnName)}::text AS v FROM ${sql(column.tableName)} WHERE ${sql(column.columnName)} IS NOT NULL`
    for (const row of rows) {
      values++
      const bytes = typeof row.v === "string" ? Buffer.from(row.v, "utf8") : Buffer.from(row.v)
      for (const secret of SECRETS) if (bytes.includes(Buffer.from(secret))) found.push(`${column.tableName}.${column.columnName}: ${secret}`)
    }
  }
  const keys = yield* storage.list("")
  for (const key of keys) {
    const object = yield* storage.get(key)
    for (const secret of SECRETS) if (Buffer.from(object.bytes).includes(Buffer.from(secret))) found.push(`object ${key}: ${secret}`)
  }
  return { found, values, objects: keys.length }
})

layer(testLayer(LLMOffline), { timeout: "60 seconds", excludeTestServices: true })("processJob with the offline LLM", (it) => {
  it.effect("the fixture PDF: completed once, Hemoglobin 11.2 g/dL low, original kept until its content is deleted, cost recorded once", () =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const costs = yield* MemoryCostStore
      const alice = yield* newUser
      const started = Date.now()
      const { jobId } = yield* upload(alice)
      const stats = yield* runPoolUntilIdle()
      const elapsed = Date.now() - started
      console.log(`fixture PDF: upload → completed in ${elapsed} ms`)

      const job = yield* jobRow(jobId)
      expect(job).toMatchObject({ status: "completed", stage: "done", attempts: 1, errorCode: null })
      expect(stats).toMatchObject({ claimed: 1, completed: 1 })
      const content = Option.getOrThrow(yield* loadContent(alice, ContentId.make(job!.contentId!)))
      expect(Option.getOrNull(content.jobId)).toBe(jobId)
      expect(content.document.results.find((r) => r.name === "Hemoglobin")).toMatchObject({
        value: 11.2,
        unit: "g/dL",
        flag: "low",
        referenceRange: { low: 12, high: 16 }
      })
      // the original is kept, sealed, with its content (the FHIR export's presentedForm), and goes with it
      const removed = Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.map(sql<{ removed: boolean }>`SELECT original_removed_at IS NOT NULL AS removed FROM jobs WHERE id = ${jobId}::uuid`, (rows) => rows[0]?.removed)
      )
      expect(yield* storage.exists(documentKey(jobId))).toBe(true)
      expect(yield* removed).toBe(false)
      expect(yield* deleteContent(alice, ContentId.make(job!.contentId!))).toBe(true)
      expect(yield* storage.exists(documentKey(jobId))).toBe(false)
      expect(yield* removed).toBe(true)
      const records = (yield* costs.entries).filter((r) => r.userId === alice)
      expect(records.map((r) => r.idempotencyKey)).toEqual([`job:${jobId}:attempt:1:call:1`])
      expect(records[0]).toMatchObject({ provider: "offline", documentType: "lab_results" })
      expect(records[0]!.inputTokens).toBeGreaterThan(0)
    })
  )

  it.effect("an image that cannot be decoded fails at once with IMAGE_UNREADABLE, and its original is removed", () =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const alice = yield* newUser
      const { jobId } = yield* upload(alice, { bytes: PNG, declaredContentType: "image/png", fileName: "photo.png" })
      yield* runPoolUntilIdle()
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 1, errorCode: "IMAGE_UNREADABLE", contentId: null })
      expect(yield* storage.exists(documentKey(jobId))).toBe(false)
    })
  )

  it.effect("a PDF over the reading limits (a Flate bomb) fails its job once with DOCUMENT_TOO_COMPLEX: no retry", () =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const alice = yield* newUser
      const { jobId } = yield* upload(alice, { bytes: FLATE_BOMB, fileName: "bomb.pdf" })
      const stats = yield* runPoolUntilIdle()
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 1, errorCode: "DOCUMENT_TOO_COMPLEX", contentId: null })
      expect(stats).toMatchObject({ claimed: 1, failed: 1, retrying: 0 })
      expect(yield* storage.exists(documentKey(jobId))).toBe(false)
    })
  )

  it.effect("a worker whose lease expired cannot complete: the job completes exactly once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const queue = yield* JobQueue
      const alice = yield* newUser
      const { jobId } = yield* upload(alice, { bytes: labText, fileName: "cbc.txt" })

      const a = Option.getOrThrow(yield* queue.claim("worker-A", "60 seconds"))
      expect(a).toMatchObject({ jobId, attempts: 1, leaseOwner: "worker-A", contentType: "text/plain" })
      expect(Option.isNone(yield* queue.claim("worker-B", "60 seconds"))).toBe(true)
      // worker A "dies": its lease runs out
      yield* sql`UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ${jobId}::uuid`
      const b = Option.getOrThrow(yield* queue.claim("worker-B", "60 seconds"))
      expect(b).toMatchObject({ jobId, attempts: 2, leaseOwner: "worker-B" })

      // A wakes up mid-job: its content insert is rolled back because complete finds the lease lost
      const late = yield* Effect.result(
        sql.withTransaction(
          Effect.gen(function* () {
            const contentId = yield* saveContent({ userId: alice, jobId, document: scriptedDocument(), provider: "test", modelId: "late" })
            if (!(yield* queue.complete(jobId, "worker-A", contentId))) return yield* Effect.fail("lease lost" as const)
          })
        )
      )
      expect(late._tag).toBe("Failure")
      expect(yield* processJob(a, "worker-A")).toEqual({ _tag: "lost" })

      const outcome = yield* processJob(b, "worker-B")
      expect(outcome._tag).toBe("completed")
      expect(yield* queue.complete(jobId, "worker-A", ContentId.make(job0(outcome)))).toBe(false)
      expect(yield* queue.heartbeat(jobId, "worker-B", "60 seconds")).toBe(false)
      const [count] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM content WHERE job_id = ${jobId}::uuid`
      expect(count?.n).toBe(1)
      expect(yield* jobRow(jobId)).toMatchObject({ status: "completed", attempts: 2 })
      expect(Option.isNone(yield* queue.claim("worker-C", "60 seconds"))).toBe(true)
    })
  )

  it.effect("two pools racing on 20 jobs complete every job exactly once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const costs = yield* MemoryCostStore
      const alice = yield* newUser
      const jobIds = new Set<string>()
      for (let i = 0; i < 20; i++) jobIds.add((yield* upload(alice, { bytes: labText, fileName: `r${i}.txt` })).jobId)

      const [one, two] = yield* Effect.all(
        [runPoolUntilIdle({ concurrency: 4, name: "pool-one" }), runPoolUntilIdle({ concurrency: 4, name: "pool-two" })],
        { concurrency: 2 }
      )
      expect(one!.completed + two!.completed).toBe(20)
      expect(one!.lost + two!.lost).toBe(0)
      const rows = yield* sql<{ id: string; status: string; attempts: number; contents: number }>`
        SELECT j.id::text AS id, j.status, j.attempts, (SELECT count(*)::int FROM content c WHERE c.job_id = j.id) AS contents
        FROM jobs j WHERE j.user_id = ${alice}::uuid`
      expect(rows).toHaveLength(20)
      for (const row of rows) expect(row, row.id).toMatchObject({ status: "completed", attempts: 1, contents: 1 })
      const keys = (yield* costs.entries).filter((r) => r.userId === alice).map((r) => r.idempotencyKey)
      expect(new Set(keys).size).toBe(20)
      expect(keys.sort()).toEqual([...jobIds].map((id) => `job:${id}:attempt:1:call:1`).sort())
    })
  )

  it.effect("the pool's sweeper drains the erasure outbox: an object an erasure still owes is removed and its row deleted", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const key = documentKey("00000000-0000-4000-8000-00000000e4a5")
      yield* storage.put(key, Uint8Array.of(1, 2, 3), { userId: userIdOf("erased"), uploadedAt: new Date() })
      yield* sql`INSERT INTO erasure_outbox (kind, target) VALUES ('object', ${key})`
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* makeWorkerPool({ ...fast, sweepInterval: "50 millis" })
          yield* waitFor(Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM erasure_outbox`, (rows) => rows[0]?.n === 0))
        })
      )
      expect(yield* storage.exists(key)).toBe(false)
    })
  )

  it.effect("afterwards, no plaintext of the fixture is in any column or stored object", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      // the scan itself finds planted plaintext (rolled back and removed again)
      let planted: Effect.Success<typeof plaintextAtRest> | undefined
      yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`UPDATE jobs SET error_message = 'DOE, JANE' WHERE id = (SELECT id FROM jobs LIMIT 1)`
            yield* storage.put("canary/plain", Buffer.from("Hemoglobin 11.2 g/dL"), { userId: userIdOf("canary"), uploadedAt: new Date() })
            planted = yield* plaintextAtRest
            yield* storage.remove("canary/plain")
            return yield* Effect.fail("roll back" as const)
          })
        )
        .pipe(Effect.catchIf((e) => e === "roll back", () => Effect.void))
      expect(planted?.found).toEqual(
        expect.arrayContaining(["jobs.error_message: DOE, JANE", "object canary/plain: Hemoglobin", "object canary/plain: 11.2 g/dL"])
      )

      const { found, values } = yield* plaintextAtRest
      console.log(`plaintext scan: ${values} values at rest, nothing found`)
      expect(values).toBeGreaterThan(50)
      expect(found).toEqual([])
    })
  )
})

const job0 = (outcome: { readonly _tag: string }) => ("contentId" in outcome && typeof outcome.contentId === "string" ? outcome.contentId : "")

layer(
  testLayer(
    LLMScripted({
      interpret: [{ _tag: "throttle", times: 2, retryAfterSeconds: 0 }, { _tag: "answer", document: scriptedDocument() }]
    })
  ),
  { timeout: "60 seconds", excludeTestServices: true }
)("processJob with an LLM that throttles twice, then answers", (it) => {
  it.effect("retries on the schedule and completes with attempts 3", () =>
    Effect.gen(function* () {
      const probe = yield* LLMScriptProbe
      const costs = yield* MemoryCostStore
      const alice = yield* newUser
      const { jobId } = yield* upload(alice)
      const stats = yield* runPoolUntilIdle()
      expect(yield* jobRow(jobId)).toMatchObject({ status: "completed", stage: "done", attempts: 3, errorCode: null })
      expect(stats).toMatchObject({ claimed: 3, retrying: 2, completed: 1 })
      expect((yield* probe.calls).interpret).toBe(3)
      expect((yield* costs.entries).map((r) => r.idempotencyKey)).toEqual([`job:${jobId}:attempt:3:call:1`])
    })
  )
})

layer(
  testLayer(LLMScripted({ interpret: [{ _tag: "throttle", times: 3, retryAfterSeconds: 0 }, { _tag: "invalid" }] })),
  { timeout: "60 seconds", excludeTestServices: true }
)("processJob with an LLM that keeps failing", (it) => {
  it.effect("fails the job with a reason code after 3 attempts; invalid output fails at once", () =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const probe = yield* LLMScriptProbe
      const alice = yield* newUser
      const { jobId } = yield* upload(alice)
      yield* runPoolUntilIdle({ concurrency: 1 })
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 3, errorCode: "LLM_UNAVAILABLE", contentId: null })
      expect(yield* storage.exists(documentKey(jobId))).toBe(false)

      const second = yield* upload(alice)
      yield* runPoolUntilIdle({ concurrency: 1 })
      expect(yield* jobRow(second.jobId)).toMatchObject({ status: "failed", attempts: 1, errorCode: "LLM_INVALID_OUTPUT" })
      expect((yield* probe.remaining).interpret).toBe(0)
    })
  )
})

/** An interpretation that dies: a defect inside processing (the layout's old stack overflow, say). */
const LLMDying = Layer.succeed(LLM, {
  interpret: () => Effect.die(new RangeError("Maximum call stack size exceeded")),
  chat: () => Effect.never,
  chatStream: () => Stream.never,
  forgetUser: () => Effect.void
})

layer(testLayer(LLMDying), { timeout: "60 seconds", excludeTestServices: true })("processJob when processing dies", (it) => {
  it.effect("a defect fails the job once with INTERNAL_ERROR: a bug is met again on every attempt, so none is retried", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const { jobId } = yield* upload(alice)
      const stats = yield* runPoolUntilIdle()
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 1, errorCode: "INTERNAL_ERROR", contentId: null })
      expect(stats).toMatchObject({ claimed: 1, failed: 1, retrying: 0 })
    })
  )
})

/** A model that never answers. */
const LLMHanging = Layer.succeed(LLM, { interpret: () => Effect.never, chat: () => Effect.never, chatStream: () => Stream.never, forgetUser: () => Effect.void })

layer(testLayer(LLMHanging), { timeout: "60 seconds", excludeTestServices: true })("processJob with an LLM that never answers", (it) => {
  it.effect("shutdown hands an in-flight job back to the queue without counting the attempt", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const { jobId } = yield* upload(alice)
      const scope = yield* Scope.make()
      yield* makeWorkerPool({ ...fast, shutdownTimeout: "100 millis" }).pipe(Scope.provide(scope))
      yield* waitFor(Effect.map(jobRow(jobId), (row) => row?.stage === "interpreting"))
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      expect(Date.now() - started).toBeLessThan(2_000)
      const [row] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ status: string; attempts: number; leaseOwner: string | null }>`
          SELECT status, attempts, lease_owner FROM jobs WHERE id = ${jobId}::uuid`
      )
      expect(row).toEqual({ status: "queued", attempts: 0, leaseOwner: null })
    })
  )

  it.effect("an interpretation over the time limit is retried, then the job fails with TIMEOUT", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM jobs`)
      const { jobId } = yield* upload(alice)
      yield* runPoolUntilIdle({ process: { ...fast.process, interpretTimeout: "50 millis" } })
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 3, errorCode: "TIMEOUT" })
    })
  )
})

/** A model that is paid for one call, then never answers: the interpretation runs out of time. */
const LLMPaidThenHanging = Layer.succeed(LLM, {
  interpret: (input) =>
    Effect.andThen(
      reportUsage(input.onUsage, { usage: new TokenUsage({ inputTokens: 5000, outputTokens: 700 }), provider: "aws.bedrock", modelId: DEFAULT_MODEL_ID, elapsedMs: 40 }),
      Effect.never
    ),
  chat: () => Effect.never,
  chatStream: () => Stream.never,
  forgetUser: () => Effect.void
})

layer(testLayer(LLMPaidThenHanging), { timeout: "60 seconds", excludeTestServices: true })("processJob when a paid call is followed by a timeout", (it) => {
  it.effect("every call that consumed tokens is recorded, though the attempt timed out: once per attempt and call", () =>
    Effect.gen(function* () {
      const costs = yield* MemoryCostStore
      const alice = yield* newUser
      const { jobId } = yield* upload(alice, { documentTypeHint: "lab_results" })
      yield* runPoolUntilIdle({ process: { ...fast.process, interpretTimeout: "50 millis" } })
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 3, errorCode: "TIMEOUT" })
      const records = (yield* costs.entries).filter((r) => r.userId === alice)
      expect(records.map((r) => r.idempotencyKey)).toEqual([1, 2, 3].map((n) => `job:${jobId}:attempt:${n}:call:1`))
      expect(records.every((r) => r.inputTokens === 5000 && r.outputTokens === 700 && r.documentType === "lab_results")).toBe(true)
      // Sonnet 5.5 through the EU profile: 5 × 0.22¢ + 0.7 × 1.1¢
      expect(records[0]?.totalCostCents).toBe(1.87)
    })
  )
})

/** Bedrock refusing what was ours to get right (a model id, say): technical, never the user's document's fault. */
const LLMRejecting = Layer.succeed(LLM, {
  interpret: () =>
    Effect.fail(new LLMRequestRejected({ message: "Bedrock refused the request (ValidationException)", reason: "MODEL_ID_INVALID", retryLater: true, retryAfterSeconds: 0 })),
  chat: () => Effect.never,
  chatStream: () => Stream.never,
  forgetUser: () => Effect.void
})

layer(testLayer(LLMRejecting), { timeout: "60 seconds", excludeTestServices: true })("processJob when Bedrock refuses our request", (it) => {
  it.effect("the job is retried later, then fails with LLM_REQUEST_REJECTED and 'we could not process this right now'", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const { jobId } = yield* upload(alice)
      const stats = yield* runPoolUntilIdle()
      expect(stats).toMatchObject({ retrying: 2, failed: 1 })
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 3, errorCode: "LLM_REQUEST_REJECTED" })
      const [row] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ errorMessage: string }>`SELECT error_message FROM jobs WHERE id = ${jobId}::uuid`)
      expect(row?.errorMessage).toBe("We could not process this document right now; we are looking into it.")
      expect(row?.errorMessage).not.toMatch(/unreadable/i)
    })
  )
})

/** What `interpret` was told, but the bytes and the usage sink: one entry per call. */
type InterpretInput = Omit<Parameters<(typeof LLM)["Service"]["interpret"]>[0], "bytes" | "onUsage">
const interpretInputs: Array<InterpretInput> = []

/**
 * The offline LLM, recording what each interpretation was told, and withholding images as the
 * Bedrock layer does when told allowImageToModel false: an image fails with IMAGE_WITHHELD.
 */
const LLMRecording = Layer.effect(
  LLM,
  Effect.map(LLM, (offline) => ({
    ...offline,
    interpret: (input: Parameters<typeof offline.interpret>[0]) => {
      const { bytes: _bytes, onUsage: _onUsage, ...told } = input
      interpretInputs.push(told)
      return input.allowImageToModel === false && input.contentType.startsWith("image/")
        ? Effect.fail(new DocumentUnreadable({ message: "The image was withheld (test)", reason: "IMAGE_WITHHELD" }))
        : offline.interpret(input)
    }
  }))
).pipe(Layer.provide(LLMOffline))

layer(testLayer(LLMRecording), { timeout: "60 seconds", excludeTestServices: true })("processJob and the upload's allowImageToModel", (it) => {
  it.effect("false reaches interpret as false; true, or not saying, reaches it as nothing said", () =>
    Effect.gen(function* () {
      const said = { withheld: yield* newUser, allowed: yield* newUser, unsaid: yield* newUser }
      const jobs = [
        yield* upload(said.withheld, { allowImageToModel: false }),
        yield* upload(said.allowed, { allowImageToModel: true }),
        yield* upload(said.unsaid)
      ]
      yield* runPoolUntilIdle()
      for (const { jobId } of jobs) expect(yield* jobRow(jobId)).toMatchObject({ status: "completed", attempts: 1 })
      const told = (userId: UserId) => interpretInputs.filter((input) => input.userId === userId)
      expect(told(said.withheld)).toEqual([{ contentType: "application/pdf", userId: said.withheld, allowImageToModel: false }])
      expect(told(said.allowed)).toEqual([{ contentType: "application/pdf", userId: said.allowed }])
      expect(told(said.unsaid)).toEqual([{ contentType: "application/pdf", userId: said.unsaid }])
    })
  )

  it.effect("an image withheld fails its job at once with IMAGE_WITHHELD and our sentence for it, and its original is removed", () =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const alice = yield* newUser
      const { jobId } = yield* upload(alice, { bytes: PNG, declaredContentType: "image/png", fileName: "photo.png", allowImageToModel: false })
      const stats = yield* runPoolUntilIdle()
      expect(stats).toMatchObject({ claimed: 1, failed: 1, retrying: 0 })
      expect(yield* jobRow(jobId)).toMatchObject({ status: "failed", attempts: 1, errorCode: "IMAGE_WITHHELD", contentId: null })
      const [row] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ errorMessage: string }>`SELECT error_message FROM jobs WHERE id = ${jobId}::uuid`)
      expect(row?.errorMessage).toBe(failureMessage("IMAGE_WITHHELD"))
      expect(failureMessage("IMAGE_WITHHELD")).toBe(
        "The image could not be read as text, and this upload did not allow sending the image itself to the model."
      )
      expect(yield* storage.exists(documentKey(jobId))).toBe(false)
    })
  )
})
