/**
 * The HTTP benchmarks: each implementation runs as a child process of its own (ours is
 * `node --import tsx src/main/server.ts`), autocannon drives it from this process, and the
 * child's resident memory is sampled from /proc while it runs (peak VmRSS of the run, VmHWM of
 * the process so far). "serenya@<short sha>" is our server at another commit (bench/against.ts):
 * the same entry and environment, started in that commit's worktree with its own node_modules.
 */
import autocannon, { type Request } from "autocannon"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { type AgainstImplementation, isAgainst } from "./against.js"
import { ROOT, type SeededUser } from "./environment.js"
import { openLoop, type OpenLoopRequest } from "./openLoop.js"
import { freePort } from "../test/support/ports.js"

export type { AgainstImplementation }

export type Implementation =
  | AgainstImplementation
  | "serenya"
  | "serenya (cache on)"
  | "serenya (traced)"
  | "serenya (audit locks held)"
  | "serenya (job events: LISTEN)"
  | "serenya (job events: polling)"
  | "node:http"
  | "fastify"

export interface Served {
  readonly implementation: Implementation
  readonly port: number
  readonly child: ChildProcess
  readonly stop: () => Promise<void>
}

/** What each implementation runs (`node --import tsx <entry>`) and where (the cwd resolves tsx and the entry). */
interface Entry {
  readonly entry: string
  readonly cwd: string
}

const ENTRIES: Record<Exclude<Implementation, AgainstImplementation>, Entry> = {
  serenya: { entry: "src/main/server.ts", cwd: ROOT },
  "serenya (cache on)": { entry: "src/main/server.ts", cwd: ROOT },
  "serenya (traced)": { entry: "src/main/server.ts", cwd: ROOT },
  "serenya (audit locks held)": { entry: "src/main/server.ts", cwd: ROOT },
  // bench/jobEvents.ts: the server with the job events layer BENCH_JOB_EVENTS_ROUTE picks
  "serenya (job events: LISTEN)": { entry: "bench/jobEventsServer.ts", cwd: ROOT },
  "serenya (job events: polling)": { entry: "bench/jobEventsServer.ts", cwd: ROOT },
  "node:http": { entry: "bench/baselines/plain.ts", cwd: ROOT },
  fastify: { entry: "bench/baselines/fastify.ts", cwd: ROOT }
}

/** The worktrees of the "serenya@<sha>" implementations, registered by `registerAgainst`. */
const AGAINST_ROOTS = new Map<AgainstImplementation, string>()

/** Makes `label` servable: our entry, started in `root` (a worktree of that commit with its own node_modules). */
export const registerAgainst = (label: AgainstImplementation, root: string): AgainstImplementation => {
  AGAINST_ROOTS.set(label, root)
  return label
}

const entryOf = (implementation: Implementation): Entry => {
  if (!isAgainst(implementation)) return ENTRIES[implementation]
  const root = AGAINST_ROOTS.get(implementation)
  if (root === undefined) throw new Error(`${implementation}: no worktree registered (bench/against.ts prepareAgainst, then registerAgainst)`)
  return { entry: "src/main/server.ts", cwd: root }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const serve = async (
  implementation: Implementation,
  env: Record<string, string>,
  nodeArgs: ReadonlyArray<string> = []
): Promise<Served> => {
  const port = await freePort()
  const { entry, cwd } = entryOf(implementation)
  // The other commit is migrated by the current tree (bench/environment.ts) and, like ours, starts with MIGRATE_ON_START=false.
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", entry], {
    cwd,
    env: {
      ...(process.env as Record<string, string>),
      ...env,
      PORT: String(port),
      // The compared timeline reads the database every time, as the baselines do; the cache is measured apart.
      TIMELINE_CACHE_TTL_MS: implementation === "serenya (cache on)" ? "300000" : "0"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-4000)))
  child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-4000)))
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${implementation} exited during start:\n${output}`)
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
    if (ok) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`${implementation} did not start:\n${output}`)
    }
    await sleep(100)
  }
  return {
    implementation,
    port,
    child,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await Promise.race([exited, sleep(15_000)])
      if (child.exitCode === null) child.kill("SIGKILL")
    }
  }
}

const memoryOf = (pid: number | undefined, field: "VmRSS" | "VmHWM"): number => {
  if (pid === undefined) return 0
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)
    return match?.[1] === undefined ? 0 : Number(match[1]) / 1024
  } catch {
    return 0
  }
}

export type Route = "GET /content/timeline" | "GET /jobs/{id}/status" | "POST /chat/messages"

export interface Measurement {
  readonly route: Route
  readonly implementation: Implementation
  readonly connections: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly requests: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly peakRssMb: number
  readonly hwmMb: number
  /** CPU time (user + system) the server process spent per request during the run, in µs. */
  readonly cpuUsPerRequest: number
  /** Of the compared timeline runs: which round (0-based); absent for single runs. */
  readonly round?: number
  /** Of a summary (see report.ts `summarize`): how many rounds its medians come from. */
  readonly rounds?: number
  /** Of a fixed-rate run: the rate offered, evenly spaced (bench/openLoop.ts), req/s. */
  readonly offeredRate?: number
}

/** utime + stime of a process, in clock ticks (1/100 s on Linux). */
const cpuTicks = (pid: number | undefined): number => {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return Number.NaN
  }
}

/** Each request goes out as the next user, round robin, so no single account is hot. */
const requestsOf = (route: Route, users: ReadonlyArray<SeededUser>): (() => OpenLoopRequest) => {
  let next = 0
  return () => {
    const user = users[next++ % users.length]!
    const headers = { authorization: `Bearer ${user.token}` }
    switch (route) {
      case "GET /content/timeline":
        return { method: "GET", path: "/content/timeline", headers }
      case "GET /jobs/{id}/status":
        return { method: "GET", path: `/jobs/${user.jobId}/status`, headers }
      case "POST /chat/messages":
        return {
          method: "POST",
          path: "/chat/messages",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ contentId: user.contentIds[next % user.contentIds.length], message: "What is my hemoglobin?" })
        }
    }
  }
}

const requestFor = (route: Route, users: ReadonlyArray<SeededUser>) => {
  const next = requestsOf(route, users)
  const setupRequest = (request: Request): Request => {
    const made = next()
    return { ...request, ...made, headers: { ...request.headers, ...made.headers } }
  }
  return [{ setupRequest }]
}

export const measure = async (
  served: Served,
  route: Route,
  users: ReadonlyArray<SeededUser>,
  connections: number,
  seconds: number,
  options: { readonly fixedRate?: number } = {}
): Promise<Measurement> => {
  let peak = memoryOf(served.child.pid, "VmRSS")
  const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(served.child.pid, "VmRSS"))), 100)
  const ticksBefore = cpuTicks(served.child.pid)
  try {
    if (options.fixedRate !== undefined) {
      const result = await openLoop({ port: served.port, rate: options.fixedRate, seconds, connections, next: requestsOf(route, users) })
      return {
        route,
        implementation: served.implementation,
        connections,
        seconds,
        requestsPerSecond: result.achieved,
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        maxMs: result.maxMs,
        requests: result.requests,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: 0,
        peakRssMb: peak,
        hwmMb: memoryOf(served.child.pid, "VmHWM"),
        cpuUsPerRequest: Math.round(((cpuTicks(served.child.pid) - ticksBefore) * 10_000) / Math.max(1, result.requests)),
        offeredRate: options.fixedRate
      }
    }
    const result = await autocannon({
      url: `http://127.0.0.1:${served.port}`,
      connections,
      duration: seconds,
      timeout: 10,
      requests: requestFor(route, users)
    })
    return {
      route,
      implementation: served.implementation,
      connections,
      seconds,
      requestsPerSecond: result.requests.average,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      peakRssMb: peak,
      hwmMb: memoryOf(served.child.pid, "VmHWM"),
      cpuUsPerRequest: Math.round(((cpuTicks(served.child.pid) - ticksBefore) * 10_000) / Math.max(1, result.requests.total))
    }
  } finally {
    clearInterval(sampler)
  }
}

/** A short untimed run so the JIT, the pools and the key caches are warm before measuring. */
export const warmUp = (served: Served, route: Route, users: ReadonlyArray<SeededUser>, seconds: number) =>
  autocannon({ url: `http://127.0.0.1:${served.port}`, connections: 8, duration: seconds, requests: requestFor(route, users) })
