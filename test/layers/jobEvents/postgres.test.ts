/**
 * JobEvents over LISTEN/NOTIFY on a real PostgreSQL: migration 0012's trigger notifies the job's id
 * (the id alone) on the channel the layer listens on, for a change of status, stage or attempt and
 * for nothing else; the one listening connection is opened on the first watch, wakes only the
 * watchers of the job notified, and after the server ends it, reconnects and wakes every watcher
 * (twice: when lost, when back), so nothing changed meanwhile goes unseen.
 */
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Queue } from "effect"
import { randomUUID } from "node:crypto"
import { CryptoMemory } from "../../../src/layers/crypto/memory.js"
import { JOB_EVENTS_CHANNEL, LISTENING, listenLike, makeJobEventsPostgres } from "../../../src/layers/jobEvents/postgres.js"
import { JobQueuePostgres } from "../../../src/layers/jobQueue/postgres.js"
import { JobId } from "../../../src/services/ids.js"
import type { JobWatch } from "../../../src/services/jobEvents.js"
import { JobQueue } from "../../../src/services/jobQueue.js"
import { OwnerSql, TestDatabase, TestDatabaseLive } from "../../support/database.js"
import { newUser } from "../../support/users.js"

const App = Layer.merge(JobQueuePostgres, CryptoMemory).pipe(Layer.provideMerge(TestDatabaseLive()))

const insertJob = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const userId = yield* newUser()
  const rows = yield* sql<{ id: string }>`
    INSERT INTO jobs (user_id, status, content_type, size_bytes, storage_key)
    VALUES (${userId}::uuid, 'queued', 'application/pdf', 10, ${`jobs/${randomUUID()}_original`})
    RETURNING id`
  return JobId.make(rows[0]!.id)
})

/** A change of the job's stage, as a worker makes it (by id: the queue's claim takes whichever job is oldest). */
const changeStage = (jobId: JobId, stage: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE jobs SET status = 'processing', stage = ${stage} WHERE id = ${jobId}::uuid`)

/** The service on the test's database: a short reconnect delay, the default safety poll (10 s, never reached here). */
const listening = Effect.flatMap(PgClient.PgClient, (client) =>
  makeJobEventsPostgres(listenLike(client.config), { ...LISTENING, reconnectInitial: "50 millis", reconnectMax: "200 millis" })
)

/** Whether the watch wakes within `ms`. */
const wakes = (watch: JobWatch, ms = 2_000) => Effect.map(Effect.timeoutOption(watch.next, `${ms} millis`), Option.isSome)

/** The listening sessions on the test's database. */
const listeners = Effect.gen(function* () {
  const owner = yield* OwnerSql
  const { name } = yield* TestDatabase
  const rows = yield* owner<{ pid: number }>`
    SELECT pid FROM pg_stat_activity WHERE datname = ${name} AND application_name = 'serenya-job-events'`
  return rows.map((row) => row.pid)
})

const untilListening = Effect.gen(function* () {
  for (let i = 0; i < 100; i++) {
    const pids = yield* listeners
    if (pids.length > 0) return pids
    yield* Effect.sleep("20 millis")
  }
  return yield* Effect.die(new Error("the listener did not connect within 2 s"))
})

// Real time: the listener connects, reconnects and waits.
layer(App, { excludeTestServices: true })("JobEventsPostgres", (it) => {
  it.effect("the trigger notifies the job's id alone, on the layer's channel, for status, stage and attempt changes only", () =>
    Effect.gen(function* () {
      const client = yield* PgClient.PgClient
      const queue = yield* JobQueue
      const jobId = yield* insertJob
      const notifications = yield* listenLike(client.config)
      const notified = Effect.map(Effect.timeoutOption(Queue.take(notifications), "1 second"), Option.getOrUndefined)

      yield* queue.claim("worker-1", "60 seconds")
      expect(yield* notified).toMatchObject({ channel: JOB_EVENTS_CHANNEL, payload: jobId })
      yield* queue.heartbeat(jobId, "worker-1", "60 seconds")
      yield* queue.setStage(jobId, "worker-1", "interpreting")
      // the heartbeat notified nothing: the next notification is the stage's
      expect(yield* notified).toMatchObject({ payload: jobId })
      yield* queue.setStage(jobId, "worker-1", "interpreting") // the same stage again: no change
      expect(yield* notified).toBeUndefined()
      yield* queue.release(jobId, "worker-1")
      expect(yield* notified).toMatchObject({ payload: jobId })
    })
  )

  it.effect("listens from the first watch on, and wakes only the watchers of the job that changed", () =>
    Effect.gen(function* () {
      const events = yield* listening
      const first = yield* insertJob
      const other = yield* insertJob
      expect(yield* listeners).toEqual([]) // nothing open before a stream needs it
      const watch = yield* events.watch(first)
      const bystander = yield* events.watch(other)
      yield* untilListening
      // connecting woke both (a change before the LISTEN would otherwise be missed)
      expect(yield* wakes(watch)).toBe(true)
      expect(yield* wakes(bystander)).toBe(true)
      expect(yield* events.watchers).toBe(2)

      yield* changeStage(first, "opening")
      expect(yield* wakes(watch)).toBe(true)
      expect(yield* wakes(bystander, 300)).toBe(false)
    })
  )

  it.effect("reconnects when the server ends its session, waking every watcher, and hears changes again", () =>
    Effect.gen(function* () {
      const owner = yield* OwnerSql
      const events = yield* listening
      const jobId = yield* insertJob
      const watch = yield* events.watch(jobId)
      const [pid] = yield* untilListening
      expect(yield* wakes(watch)).toBe(true) // connected

      yield* owner`SELECT pg_terminate_backend(${pid!})`
      expect(yield* wakes(watch)).toBe(true) // lost: read again, then poll fast
      let replaced: ReadonlyArray<number> = []
      for (let i = 0; i < 100 && (replaced.length === 0 || replaced.includes(pid!)); i++) {
        yield* Effect.sleep("20 millis")
        replaced = yield* listeners
      }
      expect(replaced.length).toBe(1)
      expect(replaced).not.toContain(pid)
      yield* watch.next // back: woken again (or the 1 s poll while away)

      yield* changeStage(jobId, "interpreting")
      expect(yield* wakes(watch)).toBe(true)
    })
  )

  it.effect("a watch released with its scope is no longer counted", () =>
    Effect.gen(function* () {
      const events = yield* listening
      const jobId = yield* insertJob
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* events.watch(jobId)
          yield* events.watch(jobId)
          expect(yield* events.watchers).toBe(2)
        })
      )
      expect(yield* events.watchers).toBe(0)
    })
  )
})
