/**
 * A stalled database under load: the real server (`src/main/server.ts`, in-process workers) on a
 * PostgreSQL of this test's own (never the shared test cluster), whose every process is paused
 * with SIGSTOP for STALL_MS and resumed with SIGCONT. A paused server accepts TCP connections and
 * answers nothing: without bounds, every request that reaches a statement waits for as long as the
 * pause lasts.
 *
 * Expected, with short bounds set for the test (statement 1 s, connect 1 s, breaker open 2 s):
 * every answer during the pause is a success or a 503 with Retry-After and the uniform body, each
 * within the bound (statement + 1 s, plus the connect timeout for a transaction's connection) and
 * generous slack, never a hang; /health answers throughout, /ready says 503; after SIGCONT the
 * breaker half-opens and requests succeed again by themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { Running } from "../support/process.js"
import { fixturePath } from "../support/fixtures.js"
import {
  type Answer,
  bearer,
  controlledPostgres,
  type ControlledPostgres,
  devSignIn,
  isUniformError,
  json,
  query,
  send,
  sleep,
  startReadyOrExplain
} from "./support.js"

const CLIENTS = 3
const BEFORE_MS = 2_000
const STALL_MS = 10_000
const STATEMENT_MS = 1_000
const CONNECT_MS = 1_000
const BREAKER_OPEN_MS = 2_000
/** The longest a request may take against a stalled database: one statement bound plus a connection. */
const BOUND_MS = STATEMENT_MS + 1_000 + CONNECT_MS
/** A shared, noisy machine: generous, but well below STALL_MS so a request waiting out the pause fails. */
const SLACK_MS = 3_000
const CLIENT_TIMEOUT_MS = 15_000
const RECOVERY_LIMIT_MS = 10_000

const pdf = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
const upload = { fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") }

/** A process's parent (the postmaster is every PostgreSQL process's), and a process's children. */
const parentOf = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
}
const childrenOf = (parent: number): Array<number> =>
  fs
    .readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return parentOf(pid) === parent
      } catch {
        return false // gone meanwhile
      }
    })

let tmp = ""
let pg: ControlledPostgres
let server: Running
let paused: Array<number> = []

const resume = () => {
  for (const pid of paused) {
    try {
      process.kill(pid, "SIGCONT")
    } catch {
      // already gone
    }
  }
  paused = []
}

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "serenya-reliability-stall-"))
  pg = await controlledPostgres(path.join(tmp, "pg"))
  await query(pg.url("postgres"), "CREATE DATABASE serenya")
  server = await startReadyOrExplain("server", {
    dataDir: path.join(tmp, "server"),
    env: {
      DATABASE_URL: pg.url("serenya"),
      LOCAL_MASTER_KEY: randomBytes(32).toString("hex"),
      LOG_LEVEL: "error",
      DEV_AUTH_ENABLED: "true",
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
      DB_LOCK_TIMEOUT_MS: "500",
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
      DB_BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
      // Every timeline read goes to the database.
      TIMELINE_CACHE_TTL_MS: "0",
      RATE_LIMIT_IP_CAPACITY: "1000000",
      RATE_LIMIT_IP_REFILL_PER_SECOND: "100000",
      RATE_LIMIT_USER_CAPACITY: "1000000",
      RATE_LIMIT_USER_REFILL_PER_SECOND: "100000",
      FREE_PLAN_DOCUMENTS_PER_MONTH: "100000",
      WORKER_LEASE_MS: "3000",
      WORKER_POLL_MS: "100"
    }
  })
}, 90_000)

afterAll(async () => {
  // Whatever happened, never leave a paused PostgreSQL behind.
  resume()
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill("SIGTERM")
    await Promise.race([server.exited, sleep(15_000)])
    if (server.child.exitCode === null) server.child.kill("SIGKILL")
  }
  await pg?.stop()
  if (tmp !== "") await fsp.rm(tmp, { recursive: true, force: true })
}, 60_000)

type Phase = "before" | "stalled" | "after"

interface Observation {
  readonly kind: "upload" | "timeline" | "health" | "ready"
  readonly phase: Phase
  readonly answer: Answer
}

describe("database stalled (SIGSTOP) under load", () => {
  it("answers every request within the bound (503 + Retry-After or success), /health stays up, and recovers after SIGCONT", async () => {
    const port = server.port
    const tokens = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => devSignIn(port, `stall-${i}-${Date.now()}@example.com`))
    )
    let phase: Phase = "before"
    let stopped = false
    const observations: Array<Observation> = []

    const client = async (token: string, index: number) => {
      let turn = index
      while (!stopped) {
        const kind = turn++ % 2 === 0 ? "timeline" : "upload"
        const at = phase
        const answer =
          kind === "timeline"
            ? await send(port, { method: "GET", path: "/content/timeline", timeoutMs: CLIENT_TIMEOUT_MS, headers: bearer(token) })
            : await send(port, {
              method: "POST",
              path: "/documents/upload",
              timeoutMs: CLIENT_TIMEOUT_MS,
              body: json(upload).body,
              headers: { ...json(upload).headers, ...bearer(token) }
            })
        observations.push({ kind, phase: at, answer })
        if (answer.status <= 0) await sleep(50)
      }
    }
    const probes = async () => {
      while (!stopped) {
        const at = phase
        for (const kind of ["health", "ready"] as const) {
          observations.push({ kind, phase: at, answer: await send(port, { method: "GET", path: `/${kind}`, timeoutMs: CLIENT_TIMEOUT_MS }) })
        }
        await sleep(250)
      }
    }
    const load = Promise.all([...tokens.map(client), probes()])

    let resumedAt = 0
    let servingAfterMs = Number.POSITIVE_INFINITY
    try {
      await sleep(BEFORE_MS)
      // Pause the postmaster first (it forks no backend after that), then every process it started.
      // The checkpointer lives as long as the cluster (a backend exits with its connection).
      const [checkpointer] = await query<{ pid: number }>(pg.url("postgres"), "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
      const postmaster = parentOf(checkpointer!.pid)
      process.kill(postmaster, "SIGSTOP")
      paused.push(postmaster)
      for (const pid of childrenOf(postmaster)) {
        process.kill(pid, "SIGSTOP")
        paused.push(pid)
      }
      phase = "stalled"
      await sleep(STALL_MS)
    } finally {
      resume()
      resumedAt = Date.now()
      phase = "after"
    }

    while (Date.now() - resumedAt < RECOVERY_LIMIT_MS + 5_000) {
      const timeline = await send(port, { method: "GET", path: "/content/timeline", timeoutMs: 5_000, headers: bearer(tokens[0]!) })
      const accepted = await send(port, {
        method: "POST",
        path: "/documents/upload",
        timeoutMs: 5_000,
        body: json(upload).body,
        headers: { ...json(upload).headers, ...bearer(tokens[0]!) }
      })
      if (timeline.status === 200 && accepted.status === 202) {
        servingAfterMs = Date.now() - resumedAt
        break
      }
      await sleep(100)
    }
    stopped = true
    await load

    const requests = observations.filter((o) => o.kind === "timeline" || o.kind === "upload")
    const stalled = requests.filter((o) => o.phase === "stalled")
    const unavailable = stalled.filter((o) => o.answer.status === 503)
    const bad = requests.filter(
      (o) =>
        !(o.answer.status >= 200 && o.answer.status < 300) &&
        !(o.answer.status === 503 && o.answer.headers["retry-after"] !== undefined && isUniformError(o.answer.body))
    )
    const slow = requests.filter((o) => o.answer.ms > BOUND_MS + SLACK_MS)
    const health = observations.filter((o) => o.kind === "health")
    const readyWhileStalled = observations.filter((o) => o.kind === "ready" && o.phase === "stalled")
    const summary = {
      requests: requests.length,
      whileStalled: stalled.length,
      unavailableWhileStalled: unavailable.length,
      slowestMs: Math.max(0, ...requests.map((o) => o.answer.ms)),
      slow: slow.map((o) => `${o.kind}:${o.phase}:${o.answer.status}:${o.answer.ms}ms`).slice(0, 10),
      unexpected: bad.map((o) => `${o.kind}:${o.phase}:${o.answer.status}`).slice(0, 10),
      servingAfterMs
    }
    console.log("database stall:", JSON.stringify(summary))

    expect(stalled.length, "requests were made while the database was paused").toBeGreaterThan(0)
    expect(unavailable.length, "the pause was visible as 503s").toBeGreaterThan(0)
    expect(summary.slow, `no request took longer than ${BOUND_MS} ms + ${SLACK_MS} ms`).toEqual([])
    expect(summary.unexpected, "only successes and 503 + Retry-After with the uniform body").toEqual([])
    expect(health.filter((o) => o.answer.status !== 200 || o.answer.ms > 2_000).map((o) => `${o.phase}:${o.answer.status}:${o.answer.ms}ms`), "/health answers 200 at once throughout").toEqual([])
    expect(readyWhileStalled.length).toBeGreaterThan(0)
    expect(readyWhileStalled.filter((o) => o.answer.status === 200).map((o) => o.answer.ms), "/ready reports the database down").toEqual([])
    expect(servingAfterMs, `requests succeed within ${RECOVERY_LIMIT_MS} ms of SIGCONT`).toBeLessThanOrEqual(RECOVERY_LIMIT_MS)
  }, 120_000)
})
