/**
 * Job events under the bench's load: how long a change of a job's row takes to reach a client of
 * `GET /jobs/{jobId}/events`, and what it costs the database, with LISTEN/NOTIFY (what servers
 * with a direct connection run) and with polling (what the Lambda functions, behind RDS Proxy, run).
 *
 * Each variant is one server (bench/jobEventsServer.ts, the layer chosen by src/main/layers.ts as
 * deployments choose it) under the fixed-rate load of GET /content/timeline (bench/openLoop.ts)
 * while STREAMS clients each follow a job of their own over SSE. The jobs are moved by this
 * process as a worker moves them, at a worker's pace: claimed 0.3–1.5 s after the stream opens,
 * opening and then interpreting 20 ms apart, the model's 4–12 s, storing, completed 50 ms later.
 * A change's latency is from its UPDATE's commit (its answer here) to its event parsed by the
 * client here; a state overtaken by the next one before it was read is skipped, not counted.
 * Database load: the reads of job rows (scans of `jobs`, less this process's own updates) per second and per second of an open stream, the connections the server holds, and the
 * CPU of every PostgreSQL process and of the server during the run (the load included: compare the
 * variants with each other).
 *
 * Run alone: `node --import tsx bench/jobEvents.ts` (its own database and users; knobs
 * BENCH_JOB_EVENTS_STREAMS (200), BENCH_JOB_EVENTS_SECONDS (30: jobs start over its first half),
 * BENCH_ROUNDS (1: both variants, alternating which goes first),
 * BENCH_JOB_EVENTS_LOAD_RATE (req/s of the load, 200), BENCH_USERS (STREAMS)); `npm run bench`
 * runs it too, at the fixed rate of its other runs.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import pg from "pg"
import { serve, type Served } from "./api.js"
import type { BenchEnvironment, SeededUser } from "./environment.js"
import { openLoop, type OpenLoopResult, quantile } from "./openLoop.js"

export type JobEventsVariant = "LISTEN/NOTIFY" | "polling"

export interface JobEventsBenchOptions {
  /** Streams open at once, each following a job of its own (one user each). */
  readonly streams: number
  /** How long the run lasts; jobs start over its first half. */
  readonly seconds: number
  /** The load: GET /content/timeline offered at this rate, open-loop, over 64 connections. */
  readonly loadRate: number
  /**
   * Quiet before and after the run for PostgreSQL to report every backend's statistics (an idle
   * backend's within 10 s): 11 s by default; shorter makes the reads per second approximate.
   */
  readonly settleMs?: number
}

export interface JobEventsBenchRow {
  readonly variant: JobEventsVariant
  readonly streams: number
  /** State changes made, and the events that reported one (the rest were overtaken, or lost). */
  readonly changes: number
  readonly delivered: number
  /** Jobs whose `completed` event arrived (a final state is never skipped): all of them, or a stream lost it. */
  readonly completedDelivered: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /**
   * From the change that follows the model's seconds (interpreting → storing) to the first event
   * after it (saving, or completed when saving was overtaken): where polling has backed off most.
   */
  readonly afterModelP50Ms: number
  readonly afterModelP99Ms: number
  /** Reads of job rows by the server, per second of the run and per second of one open stream. */
  readonly jobReadsPerSecond: number
  readonly jobReadsPerStreamSecond: number
  /** Connections the server held: its pool's, and the listener's. */
  readonly poolConnections: number
  readonly listenConnections: number
  /** CPU during the run, in % of one core: every PostgreSQL process, and the server. */
  readonly databaseCpuPercent: number
  readonly serverCpuPercent: number
  readonly load: Pick<OpenLoopResult, "offered" | "achieved" | "p50Ms" | "p99Ms" | "non2xx" | "errors">
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const between = (low: number, high: number) => low + Math.random() * (high - low)
const round = (ms: number) => Math.round(ms * 10) / 10

/** utime + stime of a process, in clock ticks (1/100 s), or 0 when it is gone. */
const ticksOf = (pid: number): number => {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

/** The PostgreSQL processes: the postmaster serving `port` and its children (backends, workers). */
const postgresProcesses = (port: number): ReadonlyArray<number> => {
  const all = fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number)
  const commandOf = (pid: number) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
    } catch {
      return []
    }
  }
  const parentOf = (pid: number) => {
    try {
      return Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1])
    } catch {
      return -1
    }
  }
  const postmaster = all.find((pid) => {
    const command = commandOf(pid)
    return command[0]?.endsWith("/postgres") === true && command.includes("-p") && command[command.indexOf("-p") + 1] === String(port)
  })
  return postmaster === undefined ? [] : [postmaster, ...all.filter((pid) => parentOf(pid) === postmaster)]
}

/** CPU ticks of every PostgreSQL process, children that ended included (cutime, cstime). */
const databaseTicks = (port: number): number => postgresProcesses(port).reduce((sum, pid) => sum + ticksOf(pid), 0)

interface Stream {
  readonly close: () => void
}

/** Follows one job's events; `onEvent` gets the event's id and when it was parsed. */
const follow = (port: number, token: string, jobId: string, onEvent: (id: number, at: number) => void, onEnd: () => void): Stream => {
  const request = http.get({ host: "127.0.0.1", port, path: `/jobs/${jobId}/events`, headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } }, (response) => {
    response.setEncoding("utf8")
    let buffer = ""
    let id: number | undefined
    response.on("data", (chunk: string) => {
      buffer += chunk
      let newline: number
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line.startsWith("id: ")) id = Number(line.slice(4))
        else if (line === "" && id !== undefined) {
          onEvent(id, performance.now())
          id = undefined
        }
      }
    })
    response.on("end", onEnd)
    response.on("error", onEnd)
  })
  request.on("error", onEnd)
  return { close: () => request.destroy() }
}

interface Change {
  readonly jobId: string
  readonly ordinal: number
  readonly at: number
  readonly afterModel: boolean
}

const runVariant = async (
  environment: BenchEnvironment,
  users: ReadonlyArray<SeededUser>,
  variant: JobEventsVariant,
  options: JobEventsBenchOptions
): Promise<JobEventsBenchRow> => {
  const db = new pg.Pool({ connectionString: environment.databaseUrl, max: 8 })
  const databasePort = Number(new URL(environment.databaseUrl).port)
  let served: Served | undefined
  const streams: Array<Stream> = []
  try {
    served = await serve(variant === "LISTEN/NOTIFY" ? "serenya (job events: LISTEN)" : "serenya (job events: polling)", {
      ...environment.env,
      BENCH_JOB_EVENTS_ROUTE: variant === "LISTEN/NOTIFY" ? "direct" : "rdsProxy"
    })
    const port = served.port
    // One parked job per stream (due in a day: no worker would take it), each of its own user.
    const followed = users.slice(0, options.streams)
    const jobs = await Promise.all(
      followed.map(async (user) => {
        const { rows } = await db.query<{ id: string }>(
          `INSERT INTO jobs (user_id, status, content_type, size_bytes, storage_key, run_after)
           VALUES ($1, 'queued', 'application/pdf', 1000, $2, now() + interval '1 day') RETURNING id::text AS id`,
          [user.userId, `jobs/bench-events-${user.userId}-${Date.now()}_original`]
        )
        return { user, jobId: rows[0]!.id }
      })
    )
    const warm = await fetch(`http://127.0.0.1:${port}/content/timeline`, { headers: { authorization: `Bearer ${followed[0]!.token}` } })
    await warm.arrayBuffer()

    const changes: Array<Change> = []
    const received = new Map<string, number>() // `${jobId}:${ordinal}` → when parsed
    let updates = 0
    let streamMillis = 0
    const change = async (jobId: string, sql: string, params: ReadonlyArray<unknown>, ordinal: number | undefined, afterModel = false) => {
      await db.query(sql, [jobId, ...params])
      updates++
      if (ordinal !== undefined) changes.push({ jobId, ordinal, at: performance.now(), afterModel })
    }
    const scansOfJobs = async () => {
      const { rows } = await db.query<{ scans: string }>(
        "SELECT (coalesce(idx_scan, 0) + seq_scan)::text AS scans FROM pg_stat_user_tables WHERE relname = 'jobs'"
      )
      return Number(rows[0]?.scans ?? 0)
    }
    const connections = async () => {
      const { rows } = await db.query<{ name: string; count: number }>(
        "SELECT application_name AS name, count(*)::int AS count FROM pg_stat_activity WHERE application_name LIKE 'serenya%' GROUP BY 1"
      )
      return Object.fromEntries(rows.map((row) => [row.name, row.count])) as Record<string, number>
    }

    // A backend reports its statistics when it has been idle a while (PostgreSQL flushes them at most
    // once a second, and an idle backend's within 10 s): the counts are read after 11 s of quiet,
    // before the run and after it, so that every read of the run is counted and nothing else.
    await sleep(options.settleMs ?? 11_000)
    const scansBefore = await scansOfJobs()
    const updatesBefore = updates
    const serverTicksBefore = ticksOf(served.child.pid!)
    const databaseTicksBefore = databaseTicks(databasePort)
    const started = performance.now()
    let held: Record<string, number> = {}

    const load = openLoop({
      port,
      rate: options.loadRate,
      seconds: options.seconds,
      connections: 64,
      next: (() => {
        let n = 0
        return () => ({ method: "GET", path: "/content/timeline", headers: { authorization: `Bearer ${users[n++ % users.length]!.token}` } })
      })()
    })
    await sleep(1_000) // the load is running before the first stream opens

    const lives = jobs.map(async ({ user, jobId }, i) => {
      await sleep((i / jobs.length) * (options.seconds / 2 - 1) * 1000)
      let opened: () => void = () => {}
      const first = new Promise<void>((resolve) => (opened = resolve))
      let ended = false
      let endedLife: () => void = () => {}
      const life = new Promise<void>((resolve) => (endedLife = resolve))
      const openedAt = performance.now()
      streams.push(
        follow(
          port,
          user.token,
          jobId,
          (ordinal, at) => {
            received.set(`${jobId}:${ordinal}`, at)
            if (ordinal === 0) opened()
          },
          () => {
            if (!ended) streamMillis += performance.now() - openedAt
            ended = true
            opened()
            endedLife()
          }
        )
      )
      await first
      if (ended) return
      await sleep(between(300, 1_500))
      await change(jobId, `UPDATE jobs SET status = 'processing', stage = NULL, lease_owner = 'bench', lease_expires_at = now() + interval '1 minute', attempts = attempts + 1, updated_at = now() WHERE id = $1`, [], 1)
      await sleep(20)
      await change(jobId, `UPDATE jobs SET stage = 'opening', updated_at = now() WHERE id = $1`, [], undefined)
      await sleep(20)
      await change(jobId, `UPDATE jobs SET stage = 'interpreting', updated_at = now() WHERE id = $1`, [], 2)
      await sleep(between(4_000, 12_000))
      await change(jobId, `UPDATE jobs SET stage = 'storing', updated_at = now() WHERE id = $1`, [], 3, true)
      await sleep(50)
      await change(
        jobId,
        `UPDATE jobs SET status = 'completed', stage = 'done', content_id = $2::uuid, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(), completed_at = now() WHERE id = $1`,
        [user.contentIds[0]],
        4
      )
      // the stream ends after `completed` (bounded: polling's longest delay and then some)
      await Promise.race([life, sleep(10_000)])
    })
    const sampler = setTimeout(() => void connections().then((found) => (held = found)), (options.seconds / 2) * 1000)
    await Promise.all(lives)
    clearTimeout(sampler)
    if (Object.keys(held).length === 0) held = await connections()
    const loaded = await load
    const seconds = (performance.now() - started) / 1000
    const serverCpu = ticksOf(served.child.pid!) - serverTicksBefore
    const databaseCpu = databaseTicks(databasePort) - databaseTicksBefore
    for (const stream of streams.splice(0)) stream.close()
    await sleep(options.settleMs ?? 11_000)
    const reads = (await scansOfJobs()) - scansBefore - (updates - updatesBefore)

    const latencies: Array<number> = []
    const afterModel: Array<number> = []
    for (const c of changes) {
      const at = received.get(`${c.jobId}:${c.ordinal}`)
      if (at !== undefined) latencies.push(at - c.at)
      // the result shown after the model's seconds: whichever of saving or completed came first
      if (c.afterModel) {
        const first = Math.min(at ?? Infinity, received.get(`${c.jobId}:4`) ?? Infinity)
        if (Number.isFinite(first)) afterModel.push(first - c.at)
      }
    }
    latencies.sort((x, y) => x - y)
    afterModel.sort((x, y) => x - y)
    const streamSeconds = streamMillis / 1000
    return {
      variant,
      streams: jobs.length,
      changes: changes.length,
      delivered: latencies.length,
      completedDelivered: jobs.filter(({ jobId }) => received.has(`${jobId}:4`)).length,
      p50Ms: round(quantile(latencies, 0.5)),
      p90Ms: round(quantile(latencies, 0.9)),
      p99Ms: round(quantile(latencies, 0.99)),
      maxMs: round(latencies.at(-1) ?? Number.NaN),
      afterModelP50Ms: round(quantile(afterModel, 0.5)),
      afterModelP99Ms: round(quantile(afterModel, 0.99)),
      jobReadsPerSecond: Math.round(reads / seconds),
      jobReadsPerStreamSecond: Math.round((reads / Math.max(1, streamSeconds)) * 100) / 100,
      poolConnections: held.serenya ?? 0,
      listenConnections: held["serenya-job-events"] ?? 0,
      databaseCpuPercent: Math.round(databaseCpu / seconds),
      serverCpuPercent: Math.round(serverCpu / seconds),
      load: {
        offered: loaded.offered,
        achieved: Math.round(loaded.achieved),
        p50Ms: loaded.p50Ms,
        p99Ms: loaded.p99Ms,
        non2xx: loaded.non2xx,
        errors: loaded.errors
      }
    }
  } finally {
    for (const stream of streams) stream.close()
    await served?.stop()
    await db.end()
  }
}

/** Both variants, one after the other, `rounds` times in alternating order. */
export const runJobEventsBench = async (
  environment: BenchEnvironment,
  users: ReadonlyArray<SeededUser>,
  options: JobEventsBenchOptions,
  rounds = 1
): Promise<ReadonlyArray<JobEventsBenchRow>> => {
  const rows: Array<JobEventsBenchRow> = []
  for (let round = 0; round < rounds; round++) {
    const order: ReadonlyArray<JobEventsVariant> = round % 2 === 0 ? ["LISTEN/NOTIFY", "polling"] : ["polling", "LISTEN/NOTIFY"]
    for (const variant of order) {
      const row = await runVariant(environment, users, variant, options)
      rows.push(row)
      console.log(
        `job events, ${variant}: ${row.delivered}/${row.changes} changes as events (completed ${row.completedDelivered}/${row.streams}), p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms ` +
          `(after the model: p50 ${row.afterModelP50Ms} ms, p99 ${row.afterModelP99Ms} ms); ${row.jobReadsPerSecond} job reads/s ` +
          `(${row.jobReadsPerStreamSecond} per stream·s); ` +
          `connections ${row.poolConnections} pool + ${row.listenConnections} listening; CPU PostgreSQL ${row.databaseCpuPercent}%, ` +
          `server ${row.serverCpuPercent}%; load ${row.load.achieved}/${row.load.offered} req/s p99 ${row.load.p99Ms} ms`
      )
    }
  }
  return rows
}

/** The table printed for the rows. */
export const jobEventsTable = (rows: ReadonlyArray<JobEventsBenchRow>) =>
  rows.map((row) => ({
    variant: row.variant,
    streams: row.streams,
    "events/changes": `${row.delivered}/${row.changes}`,
    "completed/jobs": `${row.completedDelivered}/${row.streams}`,
    "p50 ms": row.p50Ms,
    "p90 ms": row.p90Ms,
    "p99 ms": row.p99Ms,
    "max ms": row.maxMs,
    "after model p50 ms": row.afterModelP50Ms,
    "after model p99 ms": row.afterModelP99Ms,
    "job reads/s": row.jobReadsPerSecond,
    "reads/stream·s": row.jobReadsPerStreamSecond,
    "pool conns": row.poolConnections,
    "listen conns": row.listenConnections,
    "PostgreSQL CPU %": row.databaseCpuPercent,
    "server CPU %": row.serverCpuPercent,
    "load req/s": `${row.load.achieved}/${row.load.offered}`,
    "load p99 ms": row.load.p99Ms
  }))

// Run alone: its own database and users.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { seed, startEnvironment } = await import("./environment.js")
  const streams = Number(process.env.BENCH_JOB_EVENTS_STREAMS ?? 200)
  const options: JobEventsBenchOptions = {
    streams,
    seconds: Number(process.env.BENCH_JOB_EVENTS_SECONDS ?? 30),
    loadRate: Number(process.env.BENCH_JOB_EVENTS_LOAD_RATE ?? 200)
  }
  const environment = await startEnvironment()
  try {
    const { users } = await seed(environment, Number(process.env.BENCH_USERS ?? streams), 20)
    const rows = await runJobEventsBench(environment, users, options, Number(process.env.BENCH_ROUNDS ?? 1))
    console.table(jobEventsTable(rows))
  } finally {
    await environment.close()
  }
}
