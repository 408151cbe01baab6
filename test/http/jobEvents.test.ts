/**
 * GET /jobs/{jobId}/events across instances: two HTTP servers on 127.0.0.1 sharing one database,
 * each with its own LISTEN listener (JobEventsPostgres) and nothing else of the events in common.
 * A job changes on instance A (its worker) or outside both (the test, as a worker), and a client
 * reads the raw stream from instance B with fetch and a small SSE parser:
 *
 * - a job driven stage by stage outside both instances: queued, processing (reading,
 *   interpreting, saving), completed with its contentId, each once, with growing ids; then the
 *   stream ends;
 * - a reconnect with Last-Event-ID gets only later events; one naming the final event gets 204;
 * - a document uploaded to A and processed by A's worker: B streams it to completed, with the
 *   contentId B's status endpoint reports;
 * - another user's job is a 404 before any stream; a bad Last-Event-ID a 400;
 * - a client that goes away releases its watch on B (counted), and B's listener serves every stream.
 */
import { HttpServer } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { serveApi } from "../../src/http/app.js"
import { makeNodeServer } from "../../src/http/nodeServer.js"
import { ApiLive } from "../../src/http/serve.js"
import { JobEventsPostgres } from "../../src/layers/jobEvents/postgres.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { workerPoolLayer } from "../../src/main/workerPool.js"
import { AccessTokens } from "../../src/services/auth.js"
import { ContentId, JobId, type UserId } from "../../src/services/ids.js"
import { JobEvents } from "../../src/services/jobEvents.js"
import { JobQueue } from "../../src/services/jobQueue.js"
import { LLM } from "../../src/services/llm.js"
import { fixturePath } from "../support/fixtures.js"
import { OwnerSql, TestDatabase } from "../support/database.js"
import { appTestServices } from "../support/services.js"
import { testSettings } from "../support/settings.js"
import { newUser } from "../support/users.js"

const settings = testSettings({
  FREE_PLAN_DOCUMENTS_PER_MONTH: "1000",
  DEV_AUTH_ENABLED: "true",
  RATE_LIMIT_IP_CAPACITY: "100000",
  RATE_LIMIT_USER_CAPACITY: "100000"
})

/** The offline reader, a second slower: the stream has time to see the job interpreting. */
const SlowLLM = Layer.effect(
  LLM,
  Effect.map(LLM, (llm) => ({ ...llm, interpret: (input: Parameters<typeof llm.interpret>[0]) => Effect.delay(llm.interpret(input), "1 second") }))
).pipe(Layer.provide(LLMOffline))

/** The database, the settings and every other service: one set, shared by both instances. */
const shared = ManagedRuntime.make(appTestServices({ settings, llm: SlowLLM }))

type Shared = Layer.Success<ReturnType<typeof appTestServices>>

/** One instance: its own HTTP server and its own job events listener; with A, the job workers. */
const instance = (context: Context.Context<Shared>, options: { readonly workers: boolean }) =>
  ManagedRuntime.make(
    Layer.mergeAll(
      serveApi(ApiLive),
      options.workers ? workerPoolLayer({ concurrency: 1, poll: "20 millis", lease: "10 seconds", shutdownTimeout: "2 seconds" }) : Layer.empty
    ).pipe(
      Layer.provideMerge(Layer.merge(NodeHttpServer.layer(() => makeNodeServer(), { port: 0, host: "127.0.0.1" }), JobEventsPostgres)),
      // nothing of the events is shared: the other's JobEvents is not in this one's context
      Layer.provide(Layer.succeedContext(Context.omit(JobEvents)(context) as Context.Context<Exclude<Shared, JobEvents>>))
    )
  )

let a: ReturnType<typeof instance> | undefined
let b: ReturnType<typeof instance> | undefined
let baseA = ""
let baseB = ""

const baseOf = async (runtime: ReturnType<typeof instance>) => {
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag === "UnixPathAddress") throw new Error("not a TCP server")
  return `http://127.0.0.1:${address.port}`
}

beforeAll(async () => {
  const context = await shared.context()
  a = instance(context, { workers: true })
  b = instance(context, { workers: false })
  baseA = await baseOf(a)
  baseB = await baseOf(b)
}, 60_000)

afterEach(() => {
  for (const controller of opened.splice(0)) controller.abort()
})

afterAll(async () => {
  await a?.dispose()
  await b?.dispose()
  await shared.dispose()
}, 30_000)

const signedIn = async () =>
  shared.runPromise(
    Effect.gen(function* () {
      const userId = yield* newUser()
      const { token } = yield* Effect.flatMap(AccessTokens, (tokens) => tokens.issue(userId, randomUUID()))
      return { userId, token }
    })
  )

/** A job of `userId` that no worker will claim (due in an hour): the test moves it, as a worker outside both instances would. */
const parkedJob = (userId: UserId) =>
  shared.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ id: string }>`
        INSERT INTO jobs (user_id, status, content_type, size_bytes, storage_key, run_after)
        VALUES (${userId}::uuid, 'queued', 'text/plain', 10, ${`jobs/${randomUUID()}_original`}, now() + interval '1 hour')
        RETURNING id`
      return JobId.make(rows[0]!.id)
    })
  )

const WORKER = "outside-both"

/** Moves the parked job as a worker does: claimed by id, then through the queue's own methods. */
const claimParked = (jobId: JobId) =>
  shared.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql`
        UPDATE jobs SET status = 'processing', stage = NULL, lease_owner = ${WORKER},
               lease_expires_at = now() + interval '1 minute', attempts = attempts + 1, updated_at = now()
        WHERE id = ${jobId}::uuid`
    )
  )
const setStage = (jobId: JobId, stage: "opening" | "interpreting" | "storing") =>
  shared.runPromise(Effect.flatMap(JobQueue, (queue) => queue.setStage(jobId, WORKER, stage)))
const complete = (jobId: JobId, userId: UserId) =>
  shared.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const contentId = ContentId.make(randomUUID())
      yield* sql`
        INSERT INTO content (id, user_id, job_id, document_type, title_encrypted, summary_encrypted, body_encrypted, provider, model_id)
        VALUES (${contentId}::uuid, ${userId}::uuid, ${jobId}::uuid, 'report', '\\x00', '\\x00', '\\x00', 'test', 'm')`
      expect(yield* Effect.flatMap(JobQueue, (queue) => queue.complete(jobId, WORKER, contentId))).toBe(true)
      return contentId
    })
  )

// ---------------------------------------------------------------------------------------------
// The client: fetch and a small SSE parser (https://html.spec.whatwg.org/multipage/server-sent-events.html).

interface SseEvent {
  readonly id?: string
  readonly event: string
  readonly data: string
}

interface Stream {
  readonly status: number
  readonly headers: Headers
  /** The next event, or "end" when the server ended the stream; fails after `ms`. */
  readonly next: (ms?: number) => Promise<SseEvent | "end">
  /** `retry:` values and comments seen so far. */
  readonly retries: Array<number>
  readonly comments: Array<string>
  readonly close: () => void
}

/** Every stream opened, closed after each test whatever its outcome. */
const opened: Array<AbortController> = []

const open = async (base: string, token: string, jobId: string, lastEventId?: string): Promise<Stream> => {
  const controller = new AbortController()
  opened.push(controller)
  const response = await fetch(`${base}/jobs/${jobId}/events`, {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...(lastEventId !== undefined ? { "last-event-id": lastEventId } : {}) },
    signal: controller.signal
  })
  const retries: Array<number> = []
  const comments: Array<string> = []
  const queued: Array<SseEvent | "end"> = []
  const waiting: Array<(event: SseEvent | "end") => void> = []
  const deliver = (event: SseEvent | "end") => {
    const waiter = waiting.shift()
    if (waiter !== undefined) waiter(event)
    else queued.push(event)
  }
  if (response.body !== null && response.headers.get("content-type")?.startsWith("text/event-stream")) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    void (async () => {
      let buffer = ""
      let fields: { id?: string; event?: string; data: Array<string> } = { data: [] }
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          buffer += value
          let newline: number
          while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
            const line = buffer.slice(0, newline)
            buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1))
            if (line === "") {
              if (fields.data.length > 0) deliver({ ...(fields.id !== undefined ? { id: fields.id } : {}), event: fields.event ?? "message", data: fields.data.join("\n") })
              fields = { data: [] }
            } else if (line.startsWith(":")) comments.push(line.slice(1).trim())
            else {
              const colon = line.indexOf(":")
              const name = colon < 0 ? line : line.slice(0, colon)
              const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
              if (name === "data") fields.data.push(value)
              else if (name === "event") fields.event = value
              else if (name === "id") fields.id = value
              else if (name === "retry" && /^\d+$/.test(value)) retries.push(Number(value))
            }
          }
        }
      } catch {
        // aborted by the test
      }
      deliver("end")
    })()
  } else {
    await response.body?.cancel()
  }
  return {
    status: response.status,
    headers: response.headers,
    retries,
    comments,
    next: (ms = 5_000) =>
      new Promise((resolve, reject) => {
        const ready = queued.shift()
        if (ready !== undefined) return resolve(ready)
        const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms)
        waiting.push((event) => {
          clearTimeout(timer)
          resolve(event)
        })
      }),
    close: () => controller.abort()
  }
}

const said = (event: SseEvent | "end") => {
  if (event === "end") return "end"
  const data = JSON.parse(event.data) as { stage?: string }
  return `${event.id} ${event.event}${data.stage !== undefined ? `/${data.stage}` : ""}`
}

const watchersOnB = () => b!.runPromise(Effect.flatMap(JobEvents, (events) => events.watchers))

/** The job events listeners connected to the test's database. */
const listeningSessions = () =>
  shared.runPromise(
    Effect.gen(function* () {
      const owner = yield* OwnerSql
      const { name } = yield* TestDatabase
      const [row] = yield* owner<{ count: number }>`
        SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = ${name} AND application_name = 'serenya-job-events'`
      return row?.count ?? 0
    })
  )

const until = async (what: string, check: () => Promise<boolean>, ms = 5_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("GET /jobs/{jobId}/events on another instance than the job's", () => {
  it("streams queued → processing (reading, interpreting, saving) → completed from the database, each once, then ends", async () => {
    const { userId, token } = await signedIn()
    const jobId = await parkedJob(userId)
    const stream = await open(baseB, token, jobId)
    expect(stream.status).toBe(200)
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/)
    expect(stream.headers.get("cache-control")).toBe("no-store")
    expect(stream.headers.get("x-accel-buffering")).toBe("no")

    const queued = await stream.next()
    expect(queued).toMatchObject({ id: "0", event: "queued" })
    expect(JSON.parse((queued as SseEvent).data)).toEqual({ jobId, status: "queued", attempts: 0 })
    await claimParked(jobId)
    expect(said(await stream.next())).toBe("1 processing/reading")
    await setStage(jobId, "opening") // still reading: nothing new
    await setStage(jobId, "interpreting")
    expect(said(await stream.next())).toBe("2 processing/interpreting")
    await setStage(jobId, "storing")
    expect(said(await stream.next())).toBe("3 processing/saving")
    const contentId = await complete(jobId, userId)
    const completed = await stream.next()
    expect(said(completed)).toBe("4 completed")
    expect(JSON.parse((completed as SseEvent).data)).toEqual({ jobId, attempts: 1, status: "completed", contentId })
    expect(await stream.next()).toBe("end")
    // the reconnect delay is said first (retry:), as EventSource reads it
    expect(stream.retries).toEqual([1000])
    await until("B's watch of the finished stream to be released", async () => (await watchersOnB()) === 0)
  }, 30_000)

  it("resumes after Last-Event-ID with only later events; 204 once the client has the final one", async () => {
    const { userId, token } = await signedIn()
    const jobId = await parkedJob(userId)
    await claimParked(jobId)
    await setStage(jobId, "interpreting")

    const resumed = await open(baseB, token, jobId, "2")
    expect(resumed.status).toBe(200)
    await setStage(jobId, "storing")
    // "2 interpreting" is not sent again: the first event is the next state
    expect(said(await resumed.next())).toBe("3 processing/saving")
    resumed.close()

    const behind = await open(baseA, token, jobId, "0")
    expect(said(await behind.next())).toBe("3 processing/saving")
    behind.close()

    await complete(jobId, userId)
    const finished = await open(baseB, token, jobId, "4")
    expect(finished.status).toBe(204)
    const late = await open(baseB, token, jobId, "3")
    expect(said(await late.next())).toBe("4 completed")
    expect(await late.next()).toBe("end")
  }, 30_000)

  it("follows a document uploaded to A and processed by A's worker to completed, on B", async () => {
    const { token } = await signedIn()
    const form = new FormData()
    form.append("file", new Blob([fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))], { type: "application/pdf" }), "lab.pdf")
    const uploaded = await fetch(`${baseA}/documents/upload`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form })
    expect(uploaded.status).toBe(202)
    const { jobId } = (await uploaded.json()) as { jobId: string }

    const stream = await open(baseB, token, jobId)
    const seen: Array<SseEvent> = []
    for (;;) {
      const event = await stream.next(15_000)
      if (event === "end") break
      seen.push(event)
    }
    const ids = seen.map((event) => Number(event.id))
    expect(ids).toEqual([...ids].sort((x, y) => x - y))
    expect(new Set(ids).size).toBe(ids.length)
    // the model takes a second: B saw the job being interpreted, then its end
    expect(seen.map(said)).toContain("2 processing/interpreting")
    const last = seen.at(-1)!
    expect(last.event).toBe("completed")
    const status = (await (await fetch(`${baseB}/jobs/${jobId}/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      status: string
      contentId: string
    }
    expect(status.status).toBe("completed")
    expect(JSON.parse(last.data)).toMatchObject({ status: "completed", contentId: status.contentId })
  }, 30_000)

  it("answers another user's job 404 and a malformed Last-Event-ID 400, before any stream", async () => {
    const alice = await signedIn()
    const bob = await signedIn()
    const jobId = await parkedJob(alice.userId)
    const other = await open(baseB, bob.token, jobId)
    expect(other.status).toBe(404)
    expect(other.headers.get("content-type")).toMatch(/^application\/json/)
    const malformed = await open(baseB, alice.token, jobId, "not-an-id")
    expect(malformed.status).toBe(400)
    const anonymous = await fetch(`${baseB}/jobs/${jobId}/events`)
    expect(anonymous.status).toBe(401)
    expect(await watchersOnB()).toBe(0)
  }, 30_000)

  it("releases the watch of a client that goes away", async () => {
    const { userId, token } = await signedIn()
    const jobId = await parkedJob(userId)
    const streams = await Promise.all([open(baseB, token, jobId), open(baseB, token, jobId), open(baseB, token, jobId)])
    for (const stream of streams) expect(said(await stream.next())).toBe("0 queued")
    expect(await watchersOnB()).toBe(3)
    // one LISTEN connection on B serves all three (and A has its own from the earlier tests)
    const sessions = await listeningSessions()
    expect(sessions).toBeGreaterThanOrEqual(1)
    expect(sessions).toBeLessThanOrEqual(2)
    streams[0]!.close()
    streams[1]!.close()
    await until("two watches to be released", async () => (await watchersOnB()) === 1)
    // the one left still hears changes
    await claimParked(jobId)
    expect(said(await streams[2]!.next())).toBe("1 processing/reading")
    streams[2]!.close()
    await until("the last watch to be released", async () => (await watchersOnB()) === 0)
  }, 30_000)
})
