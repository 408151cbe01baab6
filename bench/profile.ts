/**
 * `npm run bench:profile`: where a timeline request's CPU goes. Seeds the bench's dataset, serves
 * one implementation under `--cpu-prof` (ours by default; PROFILE_IMPL=node:http|fastify for the
 * floor, which serve the timeline only), drives GET /content/timeline (PROFILE_ROUTE="GET
 * /jobs/{id}/status" or "POST /chat/messages" for ours' other hot paths) with autocannon at PROFILE_CONNECTIONS (default 64) for
 * PROFILE_SECONDS (default 15) after a warm-up, stops the server (SIGTERM: the profile is written
 * on exit) and prints the self time per request, in µs, grouped by where it is spent (package or
 * source directory, GC, idle) and the top functions. The .cpuprofile is kept in $TMPDIR for
 * Chrome DevTools / speedscope. The numbers are sampled (1 ms interval by default), so rows under
 * ~5 µs/request are noise.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Implementation, measure, type Route, serve, warmUp } from "./api.js"
import { ROOT, seed, startEnvironment } from "./environment.js"

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

/** A frame as the tables name it: function and file:line, the file relative to the project or its package. */
const frameName = ({ functionName, lineNumber, url }: CallFrame) =>
  `${functionName || "(anonymous)"} ${url === "" ? "" : `${url.replace(/^.*node_modules\//, "").replace(ROOT + "/", "").replace(/^file:\/\//, "")}:${lineNumber + 1}`}`

const add = (totals: Map<string, number>, key: string, amount: number) => totals.set(key, (totals.get(key) ?? 0) + amount)

/** The `TOP` largest rows, each with its share of `total`. */
const topRows = (totals: Map<string, number>, total: number, column: string, value: (amount: number) => number, share: string) =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([where, amount]) => ({ where, [column]: value(amount), [share]: Number(((100 * amount) / total).toFixed(1)) }))

interface HeapNode {
  readonly callFrame: CallFrame
  readonly selfSize: number
  readonly children: ReadonlyArray<HeapNode>
}

/** Sampled live bytes by allocation site (function) and by group, in MB. */
export const summarizeHeap = (root: HeapNode) => {
  const functions = new Map<string, number>()
  const groups = new Map<string, number>()
  let total = 0
  const visit = (node: HeapNode) => {
    if (node.selfSize > 0) {
      add(functions, frameName(node.callFrame), node.selfSize)
      add(groups, groupOf(node.callFrame.url, node.callFrame.functionName), node.selfSize)
      total += node.selfSize
    }
    for (const child of node.children) visit(child)
  }
  visit(root)
  const table = (totals: Map<string, number>) => topRows(totals, total, "MB", (bytes) => Number((bytes / 1048576).toFixed(1)), "% of sampled")
  return { groups: table(groups), functions: table(functions) }
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
  readonly startTime: number
  readonly endTime: number
}

const IMPLEMENTATION = (process.env.PROFILE_IMPL ?? "serenya") as Implementation
const CONNECTIONS = Number(process.env.PROFILE_CONNECTIONS ?? 64)
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 15)
const USERS = Number(process.env.BENCH_USERS ?? 300)
const TOP = Number(process.env.PROFILE_TOP ?? 40)
/**
 * PROFILE_HEAP=1: V8's sampling heap profiler as well (--heap-prof). It reports what was still
 * alive when the server exited, by allocation site: what the process holds (the RSS question:
 * module sources, compiled code, source maps under tsx), not what each request churns through.
 */
const HEAP = process.env.PROFILE_HEAP === "1"
const ROUTES: ReadonlyArray<Route> = ["GET /content/timeline", "GET /jobs/{id}/status", "POST /chat/messages"]
const ROUTE = (ROUTES.find((route) => route === process.env.PROFILE_ROUTE) ?? "GET /content/timeline") satisfies Route

/** Where a frame belongs: a package, a directory of ours, node's internals, or V8's pseudo-frames. */
export const groupOf = (url: string, functionName: string): string => {
  if (url === "") {
    if (functionName === "(garbage collector)") return "GC"
    if (functionName === "(idle)") return "idle"
    if (functionName === "(program)") return "V8/native (program)"
    return `native: ${functionName || "(anonymous)"}`
  }
  const modules = url.lastIndexOf("node_modules/")
  if (modules >= 0) {
    const rest = url.slice(modules + "node_modules/".length).split("/")
    const name = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!
    if (name === "effect") {
      const file = rest.findIndex((part) => part === "dist")
      return `effect/${rest.slice(file + 1, file + 3).join("/").replace(/\.js$/, "")}`
    }
    return name
  }
  if (url.startsWith("node:")) return url
  const relative = url.replace(/^file:\/\//, "").replace(ROOT + "/", "")
  return relative.split("/").slice(0, 3).join("/")
}

/**
 * Self time per frame and group, counting only samples between `from` and `to` (µs on the
 * profile's clock), divided by the requests served in that window.
 */
export const summarize = (profile: CpuProfile, requests: number, from = -Infinity, to = Infinity) => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<number, number>()
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at < from || at > to) continue
    const id = profile.samples[i]!
    self.set(id, (self.get(id) ?? 0) + delta)
  }
  const groups = new Map<string, number>()
  const functions = new Map<string, number>()
  let busy = 0
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame
    const group = groupOf(frame.url, frame.functionName)
    if (group === "idle") continue
    add(groups, group, micros)
    add(functions, frameName(frame), micros)
    busy += micros
  }
  const perRequest = (micros: number) => Number((micros / Math.max(1, requests)).toFixed(1))
  const table = (totals: Map<string, number>) => topRows(totals, busy, "µs/request", perRequest, "% of busy")
  return { busyUsPerRequest: perRequest(busy), groups: table(groups), functions: table(functions) }
}

const main = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serenya-profile-"))
  const environment = await startEnvironment()
  try {
    const seeded = await seed(environment, USERS, 20)
    const served = await serve(IMPLEMENTATION, environment.env, [
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      ...(HEAP ? ["--heap-prof", `--heap-prof-dir=${dir}`, "--heap-prof-interval=32768"] : [])
    ])
    let requests = 0
    // The measured window on the child's clock: the profile ends when the child exits, so the
    // window is [exit - shutdown - run, exit - shutdown]; both measured here with a monotonic clock.
    let runMicros = 0
    let shutdownMicros = 0
    try {
      await warmUp(served, ROUTE, seeded.users, 3)
      const started = performance.now()
      const m = await measure(served, ROUTE, seeded.users, CONNECTIONS, SECONDS)
      runMicros = (performance.now() - started) * 1000
      requests = m.requests
      console.log(`${IMPLEMENTATION} ${ROUTE} c=${CONNECTIONS}: ${m.requestsPerSecond.toFixed(0)} req/s, p99 ${m.p99Ms} ms, CPU ${m.cpuUsPerRequest} µs/req (whole process, /proc), non-2xx ${m.non2xx}`)
    } finally {
      const stopping = performance.now()
      await served.stop()
      shutdownMicros = (performance.now() - stopping) * 1000
    }
    // One file per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile): the main thread is 0; workers (the PDF pool) idle here.
    const file = fs.readdirSync(dir).find((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name))
    if (file === undefined) throw new Error(`no .cpuprofile in ${dir}: did the server exit cleanly?`)
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as CpuProfile
    const to = profile.endTime - shutdownMicros
    const summary = summarize(profile, requests, to - runMicros, to)
    console.log(`\nmain thread busy ${summary.busyUsPerRequest} µs per request during the run: by group`)
    console.table(summary.groups)
    console.log(`top ${TOP} functions (self time)`)
    console.table(summary.functions)
    console.log(`profile: ${path.join(dir, file)}`)
    const heapFile = fs.readdirSync(dir).find((name) => /\.\d+\.0\.\d+\.heapprofile$/.test(name))
    if (HEAP && heapFile !== undefined) {
      const heap = JSON.parse(fs.readFileSync(path.join(dir, heapFile), "utf8")) as { readonly head: HeapNode }
      const allocations = summarizeHeap(heap.head)
      console.log("live at exit (sampled heap profile, MB): by group")
      console.table(allocations.groups)
      console.log("by function")
      console.table(allocations.functions)
    }
  } finally {
    await environment.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
