/**
 * A job's events (programs/jobEvents.ts): the sequence of a job processed to completion and to
 * failure, ids that only grow, resuming after a Last-Event-ID without repeats, the 404 of another
 * user's job (audited like the status), the end of a stream open too long, and the watch of every
 * stream released when it ends. The row is changed here with the real job queue on a real
 * database; JobEventsMemory's probe stands in for the notification (or its 50 ms poll finds it).
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Queue, Stream } from "effect"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobEventsMemory, JobEventsMemoryProbe } from "../../src/layers/jobEvents/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { scriptedDocument } from "../../src/layers/llm/scripted.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { saveContent } from "../../src/programs/content.js"
import { type JobEventsAnswer, type JobStreamItem, watchJobEvents } from "../../src/programs/jobEvents.js"
import { uploadDocument } from "../../src/programs/uploadDocument.js"
import { JobId, type UserId } from "../../src/services/ids.js"
import { JobEvents } from "../../src/services/jobEvents.js"
import { JobQueue } from "../../src/services/jobQueue.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { OwnerSql, TestDatabaseLive } from "../support/database.js"
import { newUser } from "../support/users.js"

const TestLayer = Layer.mergeAll(CryptoMemory, StorageMemory, AuditWithRows, CostTrackerMemory(), JobQueuePostgres, JobEventsMemory).pipe(
  Layer.provideMerge(TestDatabaseLive())
)

const upload = (userId: UserId) =>
  Effect.map(uploadDocument({ userId, bytes: Buffer.from("Hemoglobin 11.2 g/dL 12.0 - 16.0\n"), request: {} }), ({ jobId }) => jobId)

type Seen = JobStreamItem | { readonly _tag: "End" }

/** Runs the stream in the test's scope; `next` is the next item (or its end), within 5 s. */
const follow = (stream: Stream.Stream<JobStreamItem>) =>
  Effect.gen(function* () {
    const seen = yield* Queue.unbounded<Seen>()
    const fiber = yield* Stream.runForEach(stream, (item) => Queue.offer(seen, item)).pipe(
      Effect.ensuring(Queue.offer(seen, { _tag: "End" })),
      Effect.forkScoped
    )
    const next = Queue.take(seen).pipe(
      Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("no event within 5 s")) })
    )
    /** Nothing arrives for `ms`. */
    const quiet = (ms: number) => Effect.map(Effect.timeoutOption(Queue.take(seen), `${ms} millis`), Option.isNone)
    return { next, quiet, fiber }
  })

const streaming = (answer: Option.Option<JobEventsAnswer>) => {
  const value = Option.getOrThrow(answer)
  if (value._tag !== "Streaming") throw new Error(`expected a stream, got ${value._tag}`)
  return value.stream
}

/** What an event item says, in one line. */
const said = (item: Seen) =>
  item._tag === "Event" ? `${item.id} ${item.event}${item.data.stage !== undefined ? `/${item.data.stage}` : ""}` : item._tag

// Real time: streams wait on polls and timeouts.
layer(TestLayer, { excludeTestServices: true })("watchJobEvents", (it) => {
  it.effect("follows a job from queued through every stage to completed, each state once, ids growing", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const probe = yield* JobEventsMemoryProbe
      const alice = yield* newUser()
      const jobId = yield* upload(alice)
      const events = yield* follow(streaming(yield* watchJobEvents(alice, jobId)))

      const first = yield* events.next
      expect(first).toEqual({ _tag: "Event", id: "0", event: "queued", data: { jobId, status: "queued", attempts: 0 } })

      yield* queue.claim("worker-1", "60 seconds")
      yield* probe.wake(jobId)
      expect(said(yield* events.next)).toBe("1 processing/reading")
      // opening is still reading: nothing new is sent
      yield* queue.setStage(jobId, "worker-1", "opening")
      yield* probe.wake(jobId)
      expect(yield* events.quiet(200)).toBe(true)

      yield* queue.setStage(jobId, "worker-1", "interpreting")
      yield* probe.wake(jobId)
      expect(said(yield* events.next)).toBe("2 processing/interpreting")
      yield* queue.setStage(jobId, "worker-1", "storing")
      yield* probe.wake(jobId)
      expect(said(yield* events.next)).toBe("3 processing/saving")

      const contentId = yield* saveContent({ userId: alice, jobId, document: scriptedDocument(), provider: "test", modelId: "m" })
      expect(yield* queue.complete(jobId, "worker-1", contentId)).toBe(true)
      yield* probe.wake(jobId)
      expect(yield* events.next).toEqual({
        _tag: "Event",
        id: "4",
        event: "completed",
        data: { jobId, status: "completed", attempts: 1, contentId }
      })
      expect(yield* events.next).toEqual({ _tag: "End" })
      // the stream's watch is released with it
      expect(yield* probe.watchersOf(jobId)).toBe(0)
    })
  )

  it.effect("follows a retried job to its failure: the next attempt's states, then the reason code and our sentence", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const alice = yield* newUser()
      const jobId = yield* upload(alice)
      yield* queue.claim("worker-1", "60 seconds")
      const events = yield* follow(streaming(yield* watchJobEvents(alice, jobId)))
      expect(said(yield* events.next)).toBe("1 processing/reading")

      // no wake-up by hand: the memory layer's 50 ms poll finds each change, as the safety poll would
      yield* queue.retryLater(jobId, "worker-1", { code: "LLM_UNAVAILABLE", message: "The interpretation service was unavailable." }, 0)
      const retrying = yield* events.next
      expect(retrying).toEqual({ _tag: "Event", id: "5", event: "queued", data: { jobId, status: "queued", attempts: 1 } })
      yield* queue.claim("worker-2", "60 seconds")
      expect(said(yield* events.next)).toBe("6 processing/reading")
      yield* queue.fail(jobId, "worker-2", "IMAGE_UNREADABLE", "The image could not be read.")
      const failed = yield* events.next
      expect(failed).toEqual({
        _tag: "Event",
        id: "9",
        event: "failed",
        data: {
          jobId,
          status: "failed",
          attempts: 2,
          error: { code: "IMAGE_UNREADABLE", message: "The image could not be read." }
        }
      })
      expect(yield* events.next).toEqual({ _tag: "End" })
    })
  )

  it.effect("resumes after a Last-Event-ID with only later events, and answers Finished once the client has the last one", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const probe = yield* JobEventsMemoryProbe
      const alice = yield* newUser()
      const jobId = yield* upload(alice)
      yield* queue.claim("worker-1", "60 seconds")
      yield* queue.setStage(jobId, "worker-1", "interpreting")

      // The client saw "2 interpreting" before it lost the connection: nothing is repeated…
      const resumed = yield* follow(streaming(yield* watchJobEvents(alice, jobId, { lastEventId: 2 })))
      expect(yield* resumed.quiet(200)).toBe(true)
      yield* queue.setStage(jobId, "worker-1", "storing")
      yield* probe.wake(jobId)
      expect(said(yield* resumed.next)).toBe("3 processing/saving")
      yield* Fiber.interrupt(resumed.fiber)

      // …a client further behind gets the current state at once…
      const behind = yield* follow(streaming(yield* watchJobEvents(alice, jobId, { lastEventId: 1 })))
      expect(said(yield* behind.next)).toBe("3 processing/saving")
      yield* Fiber.interrupt(behind.fiber)

      const contentId = yield* saveContent({ userId: alice, jobId, document: scriptedDocument(), provider: "test", modelId: "m" })
      yield* queue.complete(jobId, "worker-1", contentId)
      // …one that has the final event is told there is nothing more; one that does not gets it.
      expect(Option.getOrThrow(yield* watchJobEvents(alice, jobId, { lastEventId: 4 }))).toEqual({ _tag: "Finished" })
      const late = yield* follow(streaming(yield* watchJobEvents(alice, jobId, { lastEventId: 3 })))
      expect(said(yield* late.next)).toBe("4 completed")
      expect(yield* late.next).toEqual({ _tag: "End" })
      expect(yield* probe.watchersOf(jobId)).toBe(0)
    })
  )

  it.effect("another user's job and an unknown one are none, before any stream; each open is audited once", () =>
    Effect.gen(function* () {
      const events = yield* JobEvents
      const alice = yield* newUser()
      const bob = yield* newUser()
      const jobId = yield* upload(alice)
      const before = (yield* auditRows).length
      expect(Option.isNone(yield* watchJobEvents(bob, jobId, { requestContext: { requestId: "req-b" } }))).toBe(true)
      expect(Option.isNone(yield* watchJobEvents(alice, JobId.make("00000000-0000-4000-8000-000000000000")))).toBe(true)
      expect(yield* events.watchers).toBe(0)

      const stream = yield* follow(streaming(yield* watchJobEvents(alice, jobId, { requestContext: { requestId: "req-a" } })))
      expect(said(yield* stream.next)).toBe("0 queued")
      yield* Effect.sleep("150 millis") // several polls: still one audit row for the stream
      expect((yield* auditRows).slice(before).map((r) => [r.action, r.actorUserId, r.resourceId, r.outcome, r.requestId])).toEqual([
        ["job.events", bob, jobId, "failure", "req-b"],
        ["job.events", alice, "00000000-0000-4000-8000-000000000000", "failure", null],
        ["job.events", alice, jobId, "success", "req-a"]
      ])
    })
  )

  it.effect("a stream open longer than its bound ends with the reconnect hint, and its watch is released", () =>
    Effect.gen(function* () {
      const probe = yield* JobEventsMemoryProbe
      const alice = yield* newUser()
      const jobId = yield* upload(alice)
      const events = yield* follow(streaming(yield* watchJobEvents(alice, jobId, { maxStream: "300 millis" })))
      expect(said(yield* events.next)).toBe("0 queued")
      expect(yield* probe.watchersOf(jobId)).toBe(1)
      expect(yield* events.next).toEqual({ _tag: "Reconnect", retryMillis: 1000 })
      expect(yield* events.next).toEqual({ _tag: "End" })
      expect(yield* probe.watchersOf(jobId)).toBe(0)
    })
  )

  it.effect("a client that goes away releases its watch; a job erased mid-stream ends its stream", () =>
    Effect.gen(function* () {
      const probe = yield* JobEventsMemoryProbe
      const owner = yield* OwnerSql
      const alice = yield* newUser()
      const jobId = yield* upload(alice)
      const gone = yield* follow(streaming(yield* watchJobEvents(alice, jobId)))
      const staying = yield* follow(streaming(yield* watchJobEvents(alice, jobId)))
      expect(said(yield* gone.next)).toBe("0 queued")
      expect(said(yield* staying.next)).toBe("0 queued")
      expect(yield* probe.watchersOf(jobId)).toBe(2)
      yield* Fiber.interrupt(gone.fiber)
      expect(yield* probe.watchersOf(jobId)).toBe(1)

      yield* owner`DELETE FROM jobs WHERE id = ${jobId}::uuid`
      yield* probe.wake(jobId)
      expect(yield* staying.next).toEqual({ _tag: "End" })
      expect(yield* probe.watchersOf(jobId)).toBe(0)
    })
  )
})
