/**
 * Pushes on a job's completion or failure, through the outbox, on a real database: exactly one
 * notification per device for a finished job, also when the process dies between the commit and
 * the send (the sweep sends it) or after the send and before the row is deleted (the repeat
 * carries the same message id, which the provider collapses: the device shows it once); none for a
 * retry later; a disabled endpoint removes its device; a failing provider is retried with backoff
 * and given up after a bound; and what a push carries is a kind and ids, nothing of the document.
 */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Ref } from "effect"
import { randomBytes } from "node:crypto"
import { UserLookupKeyMemory } from "../../src/layers/auth/memory.js"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { makeOfflineLLM } from "../../src/layers/llm/offline.js"
import { makeMemoryNotifications, NotificationsMemoryProbe } from "../../src/layers/notifications/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { UploadTargetsMemory } from "../../src/layers/uploadTargets/memory.js"
import { makeWorkerPool } from "../../src/main/workerPool.js"
import { registerDevice } from "../../src/programs/devices.js"
import { drainErasureOutbox } from "../../src/programs/erasureOutbox.js"
import {
  drainNotificationOutbox,
  enqueueJobNotifications,
  NOTIFICATION_BACKOFF_BASE_SECONDS,
  NOTIFICATION_MAX_ATTEMPTS
} from "../../src/programs/notificationOutbox.js"
import { processJob } from "../../src/programs/processJob.js"
import { uploadDocument } from "../../src/programs/uploadDocument.js"
import type { JobId, UserId } from "../../src/services/ids.js"
import { JobQueue } from "../../src/services/jobQueue.js"
import { LLM, LLMUnavailable } from "../../src/services/llm.js"
import { Notifications } from "../../src/services/notifications.js"
import { makeRetrySchedule } from "../../src/services/resilience.js"
import { AuditWithRows } from "../support/audit.js"
import { TestDatabaseLive } from "../support/database.js"
import { readFixture } from "../support/fixtures.js"
import { testConfigLayer } from "../support/settings.js"
import { newUser } from "../support/users.js"

const labText = readFixture("lab-report-cbc-cmp.txt")
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
/** What the document says, and what it is called: none of it may reach a push. */
const DOCUMENT_WORDS = ["Hemoglobin", "11.2", "g/dL", "DOE", "JANE", "cbc-april", "Complete Blood Count", "lab_results"]

/** The model: the offline reader, or down (a transient failure: the job is retried later). */
const Model = { down: false }
const SwitchedLLM = Layer.sync(LLM, () => {
  const offline = makeOfflineLLM()
  return {
    ...offline,
    interpret: (input: Parameters<typeof offline.interpret>[0]) =>
      Model.down ? Effect.fail(new LLMUnavailable({ message: "The model is unavailable", retryAfterSeconds: 0 })) : offline.interpret(input)
  }
})

/** The process dies inside a send: before the provider saw it, or after it accepted it (before the row is deleted). */
class Crash extends Context.Service<Crash, { readonly before: Ref.Ref<number>; readonly after: Ref.Ref<number> }>()("test/Crash") {}
const died = (counter: Ref.Ref<number>) =>
  Effect.flatMap(Ref.getAndUpdate(counter, (n) => Math.max(0, n - 1)), (n) =>
    n > 0 ? Effect.die(new Error("the process died")) : Effect.void
  )
const NotificationsCrashing = Layer.effectContext(
  Effect.gen(function* () {
    const { notifications, probe } = yield* makeMemoryNotifications
    const before = yield* Ref.make(0)
    const after = yield* Ref.make(0)
    return Context.make(Notifications, {
      ...notifications,
      send: (endpoint, platform, message) =>
        Effect.andThen(died(before), Effect.tap(notifications.send(endpoint, platform, message), () => died(after)))
    }).pipe(Context.add(NotificationsMemoryProbe, probe), Context.add(Crash, { before, after }))
  })
)

const TestLayer = Layer.mergeAll(
  CryptoMemory,
  StorageMemory,
  UploadTargetsMemory,
  NotificationsCrashing,
  UserLookupKeyMemory,
  AuditWithRows,
  CostTrackerMemory(),
  JobQueuePostgres,
  SwitchedLLM,
  testConfigLayer({ FREE_PLAN_DOCUMENTS_PER_MONTH: "1000" })
).pipe(Layer.provideMerge(TestDatabaseLive()))

const WORKER = "worker-1"
const fastRetries = { retrySchedule: makeRetrySchedule({ base: "10 millis", maxRetries: 3, maxDelay: "50 millis" }) }

/** A user with `n` phones registered. */
const userWithPhones = (n: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const userId = yield* newUser()
    const devices = yield* Effect.forEach(Array.from({ length: n }), () =>
      registerDevice({ userId, platform: "ios", token: randomBytes(32).toString("hex") })
    )
    const endpoints = yield* Effect.forEach(devices, (device) =>
      Effect.map(sql<{ endpoint: string }>`SELECT endpoint FROM devices WHERE id = ${device.id}::uuid`, ([row]) => row!.endpoint)
    )
    return { userId, devices, endpoints }
  })

/** Uploads a document and processes it on this worker (the only job queued): the outcome. */
const uploadAndProcess = (userId: UserId, document: { readonly bytes: Uint8Array; readonly fileName: string; readonly declaredContentType?: string }) =>
  Effect.gen(function* () {
    const queue = yield* JobQueue
    const { jobId } = yield* uploadDocument({ userId, ...document, request: {} })
    const claimed = yield* queue.claim(WORKER, "30 seconds")
    expect(claimed._tag === "Some" && claimed.value.jobId).toBe(jobId)
    if (claimed._tag !== "Some") return yield* Effect.die(new Error("nothing to claim"))
    const outcome = yield* processJob(claimed.value, WORKER, fastRetries)
    return { jobId, outcome }
  })

const lab = { bytes: labText, fileName: "cbc-april.txt" }

interface OutboxRow {
  readonly id: string
  readonly deviceId: string
  readonly kind: string
  readonly attempts: number
  readonly lastError: string | null
  readonly dueInSeconds: number
}

const outboxOf = (jobId: JobId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<OutboxRow>`
      SELECT id::text AS id, device_id::text AS device_id, kind, attempts, last_error,
             extract(epoch FROM next_attempt_at - now())::float8 AS due_in_seconds
      FROM notification_outbox WHERE job_id = ${jobId}::uuid ORDER BY device_id`
  )

/** The leases and backoffs run out: every row is due now. */
const everythingDue = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE notification_outbox SET next_attempt_at = now() - interval '1 second'`)

const deliveredFor = (jobId: JobId) =>
  Effect.map(Effect.flatMap(NotificationsMemoryProbe, (probe) => probe.delivered), (all) => all.filter((d) => d.message.jobId === jobId))

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("the notification outbox", (it) => {
  it.effect("a completed job: exactly one push per device, committed with the completion, carrying a kind and ids only", () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const { userId, endpoints } = yield* userWithPhones(3)
      const other = yield* userWithPhones(1)

      const { jobId, outcome } = yield* uploadAndProcess(userId, lab)
      expect(outcome._tag).toBe("completed")
      const contentId = outcome._tag === "completed" ? outcome.contentId : ""

      const delivered = yield* deliveredFor(jobId)
      expect(delivered.map((d) => d.endpoint).sort()).toEqual([...endpoints].sort())
      for (const push of delivered) {
        expect(Object.keys(push.message).sort()).toEqual(["contentId", "id", "jobId", "kind"])
        expect(push.message).toMatchObject({ kind: "job.completed", jobId, contentId })
      }
      // each device's push has an id of its own (the collapse key), and nobody else got one
      expect(new Set(delivered.map((d) => d.message.id)).size).toBe(3)
      expect((yield* probe.attempts).filter((d) => other.endpoints.includes(d.endpoint))).toEqual([])
      expect(yield* probe.repeats).toBe(0)
      // sent, so gone; a sweep now sends nothing more
      expect(yield* outboxOf(jobId)).toEqual([])
      expect((yield* drainNotificationOutbox()).sent).toBe(0)
      expect(yield* deliveredFor(jobId)).toHaveLength(3)

      // nothing of the document in what went to the provider
      const text = JSON.stringify(yield* probe.attempts)
      for (const word of DOCUMENT_WORDS) expect(text, word).not.toContain(word)
    })
  )

  it.effect("a failed job notifies job.failed (no content id); a retry later notifies nobody", () =>
    Effect.gen(function* () {
      const { userId, endpoints } = yield* userWithPhones(2)

      // an image that cannot be decoded: permanent, failed at once
      const failed = yield* uploadAndProcess(userId, { bytes: PNG, fileName: "scan.png", declaredContentType: "image/png" })
      expect(failed.outcome).toMatchObject({ _tag: "failed", code: "IMAGE_UNREADABLE" })
      const pushes = yield* deliveredFor(failed.jobId)
      expect(pushes.map((d) => d.endpoint).sort()).toEqual([...endpoints].sort())
      for (const push of pushes) expect(push.message).toEqual({ id: expect.any(String), kind: "job.failed", jobId: failed.jobId })

      // the model is down: the job is queued again, which is not a failure
      Model.down = true
      const retried = yield* uploadAndProcess(userId, lab).pipe(Effect.ensuring(Effect.sync(() => (Model.down = false))))
      expect(retried.outcome._tag).toBe("retrying")
      expect(yield* outboxOf(retried.jobId)).toEqual([])
      expect(yield* deliveredFor(retried.jobId)).toEqual([])
      // (finished here, so that later tests claim their own jobs)
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE jobs SET status = 'failed' WHERE id = ${retried.jobId}::uuid`)
    })
  )

  it.effect("the process dies between the commit and the send: nothing is lost, the sweep sends exactly one per device", () =>
    Effect.gen(function* () {
      const crash = yield* Crash
      const { userId, endpoints } = yield* userWithPhones(3)

      // every send dies before the provider sees it: the fast path is cut off after the commit
      yield* Ref.set(crash.before, 1000)
      const { jobId, outcome } = yield* uploadAndProcess(userId, lab).pipe(Effect.ensuring(Ref.set(crash.before, 0)))
      // the job is completed all the same, and its pushes are owed
      expect(outcome._tag).toBe("completed")
      expect(yield* deliveredFor(jobId)).toEqual([])
      const owed = yield* outboxOf(jobId)
      expect(owed).toHaveLength(3)

      // a claimed row is left to its lease: a sweep now does not take it
      expect(owed.filter((row) => row.attempts === 1).every((row) => row.dueInSeconds > 30)).toBe(true)
      expect((yield* drainNotificationOutbox()).sent).toBe(3 - owed.filter((row) => row.attempts === 1).length)

      // once the leases run out, the sweep sends the rest: one per device, no repeat
      yield* everythingDue
      yield* drainNotificationOutbox()
      const delivered = yield* deliveredFor(jobId)
      expect(delivered.map((d) => d.endpoint).sort()).toEqual([...endpoints].sort())
      expect(delivered.map((d) => d.message.id).sort()).toEqual(owed.map((row) => row.id).sort())
      expect(yield* Effect.flatMap(NotificationsMemoryProbe, (probe) => probe.repeats)).toBe(0)
      expect(yield* outboxOf(jobId)).toEqual([])
    })
  )

  it.effect("the process dies after the provider accepted a push, before its row is deleted: the repeat has the same id and collapses", () =>
    Effect.gen(function* () {
      const crash = yield* Crash
      const probe = yield* NotificationsMemoryProbe
      const { userId, endpoints } = yield* userWithPhones(2)
      const repeatsBefore = yield* probe.repeats

      yield* Ref.set(crash.after, 1000)
      const { jobId, outcome } = yield* uploadAndProcess(userId, lab).pipe(Effect.ensuring(Ref.set(crash.after, 0)))
      expect(outcome._tag).toBe("completed")
      // the provider has at least one, and the rows are all still there
      const firstIds = (yield* probe.attempts).filter((d) => d.message.jobId === jobId).map((d) => d.message.id)
      expect(firstIds.length).toBeGreaterThanOrEqual(1)
      expect(yield* outboxOf(jobId)).toHaveLength(2)

      yield* everythingDue
      expect((yield* drainNotificationOutbox()).sent).toBe(2)
      // every send counted, but each device shows one notification: the repeat carried the same id
      const attempts = (yield* probe.attempts).filter((d) => d.message.jobId === jobId)
      expect(attempts.length).toBe(2 + firstIds.length)
      const delivered = yield* deliveredFor(jobId)
      expect(delivered.map((d) => d.endpoint).sort()).toEqual([...endpoints].sort())
      expect((yield* probe.repeats) - repeatsBefore).toBe(firstIds.length)
      for (const id of firstIds) expect(delivered.map((d) => d.message.id)).toContain(id)
      expect(yield* outboxOf(jobId)).toEqual([])
    })
  )

  it.effect("the worker pool's sweeper sends what the fast path did not", () =>
    Effect.gen(function* () {
      const crash = yield* Crash
      const { userId } = yield* userWithPhones(2)
      yield* Ref.set(crash.before, 1000)
      const { jobId } = yield* uploadAndProcess(userId, lab).pipe(Effect.ensuring(Ref.set(crash.before, 0)))
      expect(yield* deliveredFor(jobId)).toEqual([])
      yield* everythingDue

      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* makeWorkerPool({ concurrency: 1, lease: "10 seconds", poll: "50 millis", shutdownTimeout: "2 seconds", sweepInterval: "50 millis" })
          for (let i = 0; i < 200 && (yield* deliveredFor(jobId)).length < 2; i++) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 25)))
        })
      )
      expect(yield* deliveredFor(jobId)).toHaveLength(2)
      expect(yield* outboxOf(jobId)).toEqual([])
    })
  )

  it.effect("a disabled endpoint (EndpointDisabled) removes its device, and the endpoint is unregistered; the others get theirs", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const probe = yield* NotificationsMemoryProbe
      const { userId, devices, endpoints } = yield* userWithPhones(2)
      yield* probe.disable(endpoints[0]!)

      const { jobId } = yield* uploadAndProcess(userId, lab)
      expect((yield* deliveredFor(jobId)).map((d) => d.endpoint)).toEqual([endpoints[1]])
      const left = yield* sql<{ id: string }>`SELECT id::text AS id FROM devices WHERE user_id = ${userId}::uuid`
      expect(left.map((row) => row.id)).toEqual([devices[1]!.id])
      expect(yield* outboxOf(jobId)).toEqual([])
      // its endpoint is owed to the provider, and the erasure outbox's drainer forgets it there
      const owed = yield* sql<{ kind: string }>`SELECT kind FROM erasure_outbox WHERE target = ${endpoints[0]!}`
      expect(owed).toEqual([{ kind: "push_endpoint" }])
      expect(yield* probe.registered).toContain(endpoints[0])
      const drained = yield* drainErasureOutbox()
      expect(drained.endpointsUnregistered).toBe(1)
      expect(yield* probe.registered).not.toContain(endpoints[0])
      expect(yield* probe.registered).toContain(endpoints[1])
    })
  )

  it.effect("a failing provider: each push is retried after a backoff, then sent once; past the bound it is given up", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const probe = yield* NotificationsMemoryProbe
      const { userId, endpoints } = yield* userWithPhones(2)

      yield* probe.failNextSends(2)
      const { jobId } = yield* uploadAndProcess(userId, lab)
      expect(yield* deliveredFor(jobId)).toEqual([])
      const waiting = yield* outboxOf(jobId)
      expect(waiting.map((row) => [row.attempts, row.lastError])).toEqual([
        [1, "NotificationsUnavailable"],
        [1, "NotificationsUnavailable"]
      ])
      for (const row of waiting) {
        expect(row.dueInSeconds).toBeGreaterThan(NOTIFICATION_BACKOFF_BASE_SECONDS - 5)
        expect(row.dueInSeconds).toBeLessThanOrEqual(NOTIFICATION_BACKOFF_BASE_SECONDS)
      }
      // not due yet: a sweep leaves them alone
      expect(yield* drainNotificationOutbox()).toMatchObject({ sent: 0, retrying: 0 })

      // the backoff ran out, the provider is back: sent, once each
      yield* everythingDue
      expect((yield* drainNotificationOutbox()).sent).toBe(2)
      expect((yield* deliveredFor(jobId)).map((d) => d.endpoint).sort()).toEqual([...endpoints].sort())

      // a push that keeps failing is given up after NOTIFICATION_MAX_ATTEMPTS, without another send
      const second = yield* uploadAndProcess(userId, lab)
      expect(yield* deliveredFor(second.jobId)).toHaveLength(2)
      yield* enqueueJobNotifications(second.jobId, "job.completed")
      expect(yield* outboxOf(second.jobId)).toHaveLength(2)
      yield* sql`UPDATE notification_outbox SET attempts = ${NOTIFICATION_MAX_ATTEMPTS - 1}, next_attempt_at = now() - interval '1 second' WHERE job_id = ${second.jobId}::uuid`
      yield* probe.failNextSends(2)
      expect(yield* drainNotificationOutbox()).toMatchObject({ sent: 0, dropped: 2 })
      expect(yield* outboxOf(second.jobId)).toEqual([])
    })
  )

  it.effect("a job notifies a device once: enqueueing again while owed adds nothing; two sweeps at once never send one push twice", () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const { userId } = yield* userWithPhones(6)
      yield* probe.failNextSends(6)
      const { jobId } = yield* uploadAndProcess(userId, lab)
      expect(yield* outboxOf(jobId)).toHaveLength(6)
      expect(yield* enqueueJobNotifications(jobId, "job.completed")).toEqual([])
      expect(yield* outboxOf(jobId)).toHaveLength(6)

      yield* everythingDue
      const repeatsBefore = yield* probe.repeats
      const [a, b] = yield* Effect.all([drainNotificationOutbox({ batch: 4 }), drainNotificationOutbox({ batch: 4 })], { concurrency: 2 })
      yield* drainNotificationOutbox()
      expect(a!.sent + b!.sent).toBeGreaterThanOrEqual(4)
      expect(yield* deliveredFor(jobId)).toHaveLength(6)
      expect((yield* probe.repeats) - repeatsBefore).toBe(0)
    })
  )
})
