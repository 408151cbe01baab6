/**
 * A worker killed mid-job: the server (no in-process workers) accepts uploads of the fixture PDF;
 * a `src/main/worker.ts` process (WORKER_LEASE_MS=3000) starts on them and is SIGKILLed as soon
 * as the database shows it holding a job in `processing`. Another worker process then finds every
 * job it left behind once the lease has expired and completes each exactly once: one content row,
 * attempts ≥ 2, status completed. All share one PostgreSQL and one DATA_DIR (sealed originals,
 * the master key). ≈ 10 s.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Running, startEntry } from "../support/process.js"
import { fixturePath } from "../support/fixtures.js"
import {
  bearer,
  controlledPostgres,
  type ControlledPostgres,
  devSignIn,
  json,
  query,
  send,
  sleep,
  sqlSession,
  startReadyOrExplain
} from "./support.js"

const JOBS = 12
const LEASE_MS = 3_000

const pdf = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
const upload = { fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") }

let tmp = ""
let pg: ControlledPostgres
let server: Running | undefined
const children: Array<Running> = []

const shared = () => ({
  DATABASE_URL: pg.url("serenya"),
  LOCAL_MASTER_KEY: masterKey,
  LOG_LEVEL: "error",
  IN_PROCESS_WORKERS: "false",
  DEV_AUTH_ENABLED: "true",
  FREE_PLAN_DOCUMENTS_PER_MONTH: "100000",
  RATE_LIMIT_IP_CAPACITY: "1000000",
  RATE_LIMIT_USER_CAPACITY: "1000000",
  WORKER_LEASE_MS: String(LEASE_MS),
  WORKER_POLL_MS: "50",
  WORKER_CONCURRENCY: "2"
})
const masterKey = randomBytes(32).toString("hex")

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "serenya-reliability-worker-"))
  pg = await controlledPostgres(path.join(tmp, "pg"))
  await query(pg.url("postgres"), "CREATE DATABASE serenya")
  server = await startReadyOrExplain("server", { dataDir: path.join(tmp, "app"), env: shared() })
}, 90_000)

afterAll(async () => {
  for (const child of [...children, ...(server ? [server] : [])]) {
    if (child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill("SIGTERM")
      await Promise.race([child.exited, sleep(10_000)])
      if (child.child.exitCode === null) child.child.kill("SIGKILL")
    }
  }
  await pg?.stop()
  if (tmp !== "") await fsp.rm(tmp, { recursive: true, force: true })
}, 60_000)

interface JobRow {
  readonly id: string
  readonly status: string
  readonly attempts: number
  readonly leaseOwner: string | null
}

const JOBS_SQL = `SELECT id::text AS id, status, attempts, lease_owner AS "leaseOwner" FROM jobs ORDER BY created_at`

describe("worker crash", () => {
  it("a job whose worker was SIGKILLed mid-processing is claimed again after its lease and completes exactly once", async () => {
    const port = server!.port
    const token = await devSignIn(port, `crash-${Date.now()}@example.com`)
    const accepted: Array<string> = []
    for (let i = 0; i < JOBS; i++) {
      const answer = await send(port, {
        method: "POST",
        path: "/documents/upload",
        body: json(upload).body,
        headers: { ...json(upload).headers, ...bearer(token) }
      })
      expect(answer.status).toBe(202)
      accepted.push((JSON.parse(answer.body) as { jobId: string }).jobId)
    }

    const db = sqlSession(pg.url("serenya"))
    try {
      // Start the first worker and kill it the moment it holds a job mid-processing.
      const first = await startEntry("worker", { dataDir: path.join(tmp, "app"), env: shared() })
      children.push(first)
      let victims: ReadonlyArray<JobRow> = []
      let completedAtKill = 0
      const deadline = Date.now() + 30_000
      while (Date.now() < deadline && first.child.exitCode === null) {
        const processing = await db.query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE status = 'processing'")
        if (Number(processing[0]?.n ?? 0) > 0) {
          first.child.kill("SIGKILL")
          await first.exited
          const atKill = await db.query<JobRow>(JOBS_SQL)
          victims = atKill.filter((j) => j.status === "processing")
          completedAtKill = atKill.filter((j) => j.status === "completed").length
          break
        }
        await sleep(2)
      }
      const killedAt = Date.now()
      expect(victims.length, "the first worker died holding at least one job").toBeGreaterThan(0)
      const victimOwners = new Set(victims.map((v) => v.leaseOwner))

      const second = await startEntry("worker", { dataDir: path.join(tmp, "app"), env: shared() })
      children.push(second)
      const finishDeadline = Date.now() + 60_000
      let jobs: ReadonlyArray<JobRow> = []
      let reclaimedAt: number | undefined
      while (Date.now() < finishDeadline) {
        jobs = await db.query<JobRow>(JOBS_SQL)
        const victimRows = jobs.filter((j) => victims.some((v) => v.id === j.id))
        if (reclaimedAt === undefined && victimRows.some((j) => j.attempts >= 2)) reclaimedAt = Date.now()
        if (jobs.every((j) => j.status === "completed" || j.status === "failed")) break
        await sleep(100)
      }
      const content = await db.query<{ jobId: string; n: string }>(
        `SELECT job_id::text AS "jobId", count(*) AS n FROM content GROUP BY job_id`
      )
      const contentOf = (id: string) => Number(content.find((c) => c.jobId === id)?.n ?? 0)
      const summary = {
        accepted: accepted.length,
        victims: victims.length,
        victimOwners: victimOwners.size,
        completedBeforeKill: completedAtKill,
        reclaimedAfterMs: reclaimedAt === undefined ? null : reclaimedAt - killedAt,
        byStatus: Object.fromEntries(["completed", "failed", "queued", "processing"].map((s) => [s, jobs.filter((j) => j.status === s).length])),
        victimAttempts: jobs.filter((j) => victims.some((v) => v.id === j.id)).map((j) => j.attempts)
      }
      console.log("worker crash:", JSON.stringify(summary))

      expect(jobs.map((j) => j.id).sort()).toEqual([...accepted].sort())
      for (const victim of victims) {
        const row = jobs.find((j) => j.id === victim.id)
        expect(row?.status, `victim ${victim.id}`).toBe("completed")
        expect(row?.attempts, `victim ${victim.id} was attempted again`).toBeGreaterThanOrEqual(2)
        expect(contentOf(victim.id), `victim ${victim.id} has exactly one content row`).toBe(1)
      }
      for (const job of jobs) {
        expect(job.status, `job ${job.id}`).toBe("completed")
        expect(contentOf(job.id), `job ${job.id} has exactly one content row`).toBe(1)
      }
      expect(content.filter((c) => Number(c.n) > 1)).toEqual([])
    } finally {
      await db.close()
    }
  }, 120_000)
})
