/**
 * `npm run bench`: every benchmark of the project in one run, against one PostgreSQL the bench
 * starts itself, so that everything compared is measured under the same conditions.
 *
 * 1. crypto: envelope seal/open next to raw AES-256-GCM (bench/crypto.ts);
 * 2. API hot paths over a seeded dataset (BENCH_USERS users × 20 sealed documents): our server
 *    (`src/main/server.ts` as a child process) on GET /content/timeline, GET /jobs/{id}/status and
 *    POST /chat/messages (offline LLM); the timeline also as bare node:http and as Fastify with
 *    the same SQL and decryption (bench/baselines/), at 1, 16 and 64 connections, the three
 *    served side by side and measured back to back in BENCH_ROUNDS rounds (ratios: medians of
 *    the per-round ratios); ours with the timeline cache on;
 *    and ours once more exporting every span and metric over OTLP/HTTP to a sink in this process
 *    (the cost of tracing: "traced / ours"); and ours while another session holds the audit
 *    trail's locks ("audit locks held / ours": audited reads wait on no fleet-wide lock);
 *    Then latency at a fixed offered rate: every compared server offered the same req/s =
 *    BENCH_FIXED_RATE_SHARE (default 0.5) × the best req/s node:http reached at 64 connections
 *    in this run (measured first), evenly spaced and open-loop (bench/openLoop.ts: latency from
 *    each request's due time, at most 64 in flight): p50/p99/max, achieved req/s and CPU
 *    µs/request per server, in rotating rounds like the saturation runs ("fixed rate" table,
 *    latest.json `fixedRate`). A server too slow for the rate shows achieved < offered and a
 *    p99 that grows with the run (its queue);
 * 3. the document pipeline in process (bench/pipeline.ts);
 * 3b. job events under the load (bench/jobEvents.ts): row change → SSE event latency and the
 *    database's load, LISTEN/NOTIFY next to polling, BENCH_JOB_EVENTS_STREAMS streams (200) while
 *    GET /content/timeline is offered at the fixed rate (or 100 req/s when the fixed-rate runs are
 *    skipped); alone: `node --import tsx bench/jobEvents.ts`;
 * 3d. trends for a user with 200 documents (bench/trends.ts, issue 23): GET /results/trends by code
 *    and the list against GET /content/timeline at BENCH_TRENDS_RATE (50 req/s) over 16
 *    connections, rounds rotating the order; judged against the timeline's fixed-rate p99 budget;
 * 3c. the API under OCR load (bench/ocrLoad.ts, issue 22): our server with its in-process workers
 *    offered GET /content/timeline at BENCH_OCR_RATE (100 req/s, open-loop) in BENCH_OCR_ROUNDS
 *    rounds (3) of two BENCH_OCR_SECONDS phases (15 s), idle and while the workers read photos by
 *    OCR (a seeded user keeps two photo jobs open); p50/p99/max of each, p99 under OCR load / idle
 *    (latest.json `ocrLoad`), OCR jobs per minute and seconds per job, and where the time went
 *    (CPU of the server's main thread and other threads, PostgreSQL, the driver and other tenants;
 *    the main thread's wait for a core; the server's event-loop delay); alone:
 *    `node --import tsx bench/ocrLoad.ts`;
 * 4. bench/lambda.ts's rows when that file exists.
 * Prints tables (among them the server CPU µs/request at each connection count), writes
 * bench/results/latest.json and latest.svg.
 *
 * `npm run bench -- --against <git-ref>` (or `--against=<ref>`): our server at that commit too,
 * as "serenya@<short sha>", served from a worktree of its own with ITS dependencies (bench/against.ts:
 * $TMPDIR/serenya-against/<sha>, npm ci on first use, reused afterwards; clean-up is described
 * there) and measured in the same rotating rounds as ours, node:http and Fastify, in the
 * saturation and the fixed-rate runs; "ours / ref" ratios for req/s and CPU µs/request (medians
 * of per-round ratios) are printed and recorded (latest.json `againstRatios`); the Lambda
 * bundles are built from that worktree as well (size and cold init next to ours). The database
 * is migrated by the current tree; the other commit starts with MIGRATE_ON_START=false as ours.
 *
 * Knobs: BENCH_SECONDS (per autocannon run, default 10), BENCH_USERS (default 1000),
 * BENCH_DOCUMENTS (pipeline uploads, default 50), BENCH_CONNECTIONS (default "1,16,64"),
 * BENCH_ROUNDS (rounds of the compared timeline runs, default 3),
 * BENCH_FIXED_RATE_SHARE (share of node:http's best req/s at 64 connections offered in the
 * fixed-rate runs, default 0.5; 0 skips them),
 * BENCH_OCR_RATE, BENCH_OCR_ROUNDS, BENCH_OCR_SECONDS (step 3c),
 * BENCH_QUICK=1 (50 users, 2 s runs, 10 documents, short crypto cases, one round of 5 s OCR
 * phases: checks the harness).
 * The machine's other load moves every number; compare within one run only.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { type Against, againstArgument, prepareAgainst } from "./against.js"
import { type Implementation, measure, type Measurement, registerAgainst, type Route, serve, type Served, warmUp } from "./api.js"
import { runCryptoBench, worstCryptoRatio } from "./crypto.js"
import { seed, startEnvironment } from "./environment.js"
import { runPipelineBench } from "./pipeline.js"
import { type JobEventsBenchRow, jobEventsTable, runJobEventsBench } from "./jobEvents.js"
import { ocrLoadCpuTable, type OcrLoadResult, ocrLoadSummary, ocrLoadTable, runOcrLoadBench } from "./ocrLoad.js"
import { runTrendsBench, type TrendsBenchResult, trendsTable } from "./trends.js"
import { goalVerdicts } from "./goals.js"
import type { LambdaBenchRow } from "./lambda.js"
import { againstRatios, cpuTable, fixedRateTable, printApi, ratios, writeResults } from "./report.js"
import pg from "pg"
import { AUDIT_SEAL_LOCK } from "../src/layers/audit/postgres.js"

/** The advisory lock every audited request took before the sealer (held to commit, fleet-wide). */
const FORMER_AUDIT_CHAIN_LOCK = 7_304_116_201_952

const QUICK = process.env.BENCH_QUICK === "1"
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 2 : 10))
const USERS = Number(process.env.BENCH_USERS ?? (QUICK ? 50 : 1000))
const PER_USER = 20
const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? (QUICK ? 10 : 50))
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "1,16,64").split(",").map(Number).filter((n) => n > 0)
const WARM_UP_SECONDS = QUICK ? 1 : 3
/** Rounds of the compared timeline runs (ours, the --against commit, node:http, Fastify back to back in each). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3))
/** The fixed-rate runs offer this share of node:http's best req/s at 64 connections, over 64 connections. */
const FIXED_RATE_SHARE = Number(process.env.BENCH_FIXED_RATE_SHARE ?? 0.5)
const FIXED_RATE_CONNECTIONS = 64
const AGAINST_REF = againstArgument(process.argv.slice(2))
/** Step 3c (bench/ocrLoad.ts): the timeline's rate, the rounds and each phase's seconds. */
const OCR_RATE = Number(process.env.BENCH_OCR_RATE ?? 100)
const OCR_ROUNDS = Number(process.env.BENCH_OCR_ROUNDS ?? (QUICK ? 1 : 3))
const OCR_SECONDS = Number(process.env.BENCH_OCR_SECONDS ?? (QUICK ? 5 : 15))
/** Step 3d (bench/trends.ts): one user's documents, the rate, the rounds and each run's seconds. */
const TRENDS_DOCUMENTS = Number(process.env.BENCH_TRENDS_DOCUMENTS ?? (QUICK ? 50 : 200))
const TRENDS_RATE = Number(process.env.BENCH_TRENDS_RATE ?? 50)
const TRENDS_ROUNDS = Number(process.env.BENCH_TRENDS_ROUNDS ?? (QUICK ? 1 : 3))
const TRENDS_SECONDS = Number(process.env.BENCH_TRENDS_SECONDS ?? (QUICK ? 3 : 10))

const started = new Date()
console.log(
  `bench: ${QUICK ? "QUICK " : ""}${SECONDS}s per run, ${USERS} users × ${PER_USER} documents, connections ${CONNECTIONS.join("/")}, ` +
    `${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`
)

// First, so that a bad ref fails before minutes of measuring (npm ci on first use of a ref).
const against: Against | undefined = AGAINST_REF === undefined ? undefined : await prepareAgainst(AGAINST_REF)
if (against !== undefined) {
  registerAgainst(against.label, against.root)
  console.log(`against: ${against.ref} = ${against.sha}, served as ${against.label} from ${against.root}`)
}

const crypto = await runCryptoBench(QUICK ? 0.2 : 1.5)

const environment = await startEnvironment()
const measurements: Array<Measurement> = []
const fixedRateRuns: Array<Measurement> = []
let fixedRate: Record<string, unknown> | undefined
let seeded: Awaited<ReturnType<typeof seed>>
let pipeline: Awaited<ReturnType<typeof runPipelineBench>> | undefined
let jobEvents: { readonly streams: number; readonly loadRate: number; readonly rows: ReadonlyArray<JobEventsBenchRow> } | undefined
let ocrLoad: OcrLoadResult | undefined
let trends: TrendsBenchResult | undefined
try {
  seeded = await seed(environment, USERS, PER_USER)
  console.log(`\nseeded ${USERS} users × ${PER_USER} documents in ${seeded.seconds.toFixed(1)} s`)

  const TIMELINE: Route = "GET /content/timeline"
  const record = (m: Measurement) => {
    measurements.push(m)
    console.log(
      `${m.implementation.padEnd(19)} ${m.route.padEnd(22)} c=${String(m.connections).padStart(2)}${m.round === undefined ? "" : ` round ${m.round + 1}`}: ` +
        `${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms, CPU ${m.cpuUsPerRequest} µs/req, non-2xx ${m.non2xx}, errors ${m.errors + m.timeouts}`
    )
  }

  // The compared timeline: ours, ours at the --against commit and both baselines run side by
  // side, and each round measures them back to back in a rotating order, so that drift on a
  // shared machine (other tenants, CPU frequency) falls on all instead of on whichever ran last.
  // Ratios are the medians of the per-round ratios.
  const compared: ReadonlyArray<Implementation> = ["serenya", ...(against === undefined ? [] : [against.label]), "node:http", "fastify"]
  const servers: Array<Served> = []
  try {
    for (const implementation of compared) servers.push(await serve(implementation, environment.env))
    for (const served of servers) await warmUp(served, TIMELINE, seeded.users, WARM_UP_SECONDS)
    for (const connections of CONNECTIONS) {
      for (let round = 0; round < ROUNDS; round++) {
        const order = servers.map((_, i) => servers[(i + round) % servers.length]!)
        for (const served of order) record({ ...(await measure(served, TIMELINE, seeded.users, connections, SECONDS)), round })
      }
    }
    // Latency at a fixed offered rate: a share of what node:http managed at 64 connections in this
    // run (a run of its own first when 64 is not among BENCH_CONNECTIONS), offered to every
    // compared server over 64 connections, in rotating rounds.
    if (FIXED_RATE_SHARE > 0) {
      const plain = servers[compared.indexOf("node:http")]!
      const plainAt64 = measurements.filter((m) => m.implementation === "node:http" && m.route === TIMELINE && m.connections === FIXED_RATE_CONNECTIONS)
      // kept out of `measurements` when 64 is not among BENCH_CONNECTIONS: the saturation tables compare only rounds of all servers
      if (plainAt64.length === 0) {
        const basisRun = await measure(plain, TIMELINE, seeded.users, FIXED_RATE_CONNECTIONS, SECONDS)
        console.log(`node:http at ${FIXED_RATE_CONNECTIONS} connections for the fixed rate: ${basisRun.requestsPerSecond.toFixed(0)} req/s`)
        plainAt64.push(basisRun)
      }
      const basis = Math.max(...plainAt64.map((m) => m.requestsPerSecond))
      const rate = Math.max(1, Math.round(basis * FIXED_RATE_SHARE))
      console.log(`\nfixed rate: ${rate} req/s offered over ${FIXED_RATE_CONNECTIONS} connections (${FIXED_RATE_SHARE} × node:http's best ${basis.toFixed(0)} req/s at ${FIXED_RATE_CONNECTIONS} connections)`)
      for (let round = 0; round < ROUNDS; round++) {
        const order = servers.map((_, i) => servers[(i + round) % servers.length]!)
        for (const served of order) {
          const m = { ...(await measure(served, TIMELINE, seeded.users, FIXED_RATE_CONNECTIONS, SECONDS, { fixedRate: rate })), round }
          fixedRateRuns.push(m)
          console.log(
            `${m.implementation.padEnd(19)} fixed ${rate} req/s c=${m.connections} round ${round + 1}: ` +
              `${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms, max ${m.maxMs} ms, CPU ${m.cpuUsPerRequest} µs/req, non-2xx ${m.non2xx}, errors ${m.errors + m.timeouts}`
          )
        }
      }
      fixedRate = {
        connections: FIXED_RATE_CONNECTIONS,
        share: FIXED_RATE_SHARE,
        basis: `best node:http req/s at ${FIXED_RATE_CONNECTIONS} connections in this run`,
        basisRequestsPerSecond: basis,
        offeredRequestsPerSecond: rate,
        summary: fixedRateTable(fixedRateRuns),
        runs: fixedRateRuns
      }
    }
    // Our other hot paths, on the same server (chat last: it writes messages, usage and audit rows).
    const ours = servers[0]!
    for (const route of ["GET /jobs/{id}/status", "POST /chat/messages"] as const) {
      await warmUp(ours, route, seeded.users, WARM_UP_SECONDS)
      for (const connections of CONNECTIONS) record(await measure(ours, route, seeded.users, connections, SECONDS))
    }
  } finally {
    for (const served of servers) await served.stop()
  }

  // An OTLP/HTTP sink: accepts and drops what the traced server exports, as a collector would receive it.
  const sink = http.createServer((request, response) => {
    request.resume()
    request.on("end", () => response.writeHead(200, { "content-type": "application/x-protobuf" }).end())
  })
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve))
  const sinkAddress = sink.address()
  const sinkUrl = `http://127.0.0.1:${typeof sinkAddress === "object" && sinkAddress !== null ? sinkAddress.port : 0}`
  for (const implementation of ["serenya (cache on)", "serenya (traced)"] as const) {
    const env =
      implementation === "serenya (traced)"
        ? { ...environment.env, OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_METRIC_EXPORT_INTERVAL: "5000" }
        : environment.env
    const served = await serve(implementation, env)
    try {
      await warmUp(served, TIMELINE, seeded.users, WARM_UP_SECONDS)
      for (const connections of CONNECTIONS) record(await measure(served, TIMELINE, seeded.users, connections, SECONDS))
    } finally {
      await served.stop()
    }
  }
  sink.close()

  // Audited reads while another session holds the audit trail's locks for the whole run: the
  // sealer's (it skips a round) and the fleet-wide lock every audited request used to wait on.
  // One connection that never idles out: a session lock lives as long as its connection.
  const holder = new pg.Pool({ connectionString: environment.env.DATABASE_URL, max: 1, idleTimeoutMillis: 0 })
  try {
    await holder.query("SELECT pg_advisory_lock($1), pg_advisory_lock($2)", [AUDIT_SEAL_LOCK, FORMER_AUDIT_CHAIN_LOCK])
    const served = await serve("serenya (audit locks held)", environment.env)
    try {
      await warmUp(served, TIMELINE, seeded.users, WARM_UP_SECONDS)
      for (const connections of CONNECTIONS) record(await measure(served, TIMELINE, seeded.users, connections, SECONDS))
    } finally {
      await served.stop()
    }
  } finally {
    await holder.end()
  }
  printApi(measurements)
  if (fixedRate !== undefined) {
    console.log(
      `GET /content/timeline at a fixed offered rate: ${String(fixedRate.offeredRequestsPerSecond)} req/s over ${FIXED_RATE_CONNECTIONS} connections ` +
        `(${FIXED_RATE_SHARE} × node:http's best at ${FIXED_RATE_CONNECTIONS}; medians over rounds, max: the highest)`
    )
    console.table(fixedRateTable(fixedRateRuns))
  }

  pipeline = await runPipelineBench(environment, DOCUMENTS)
  console.log(`\ndocument pipeline: ${pipeline.documents} uploads of the fixture PDF in ${pipeline.seconds.toFixed(2)} s = ${pipeline.documentsPerSecond.toFixed(2)} documents/s`)
  console.log(`(${pipeline.method})`)
  console.table(Object.entries(pipeline.stages).map(([stage, ms]) => ({ stage, "mean ms per document": Number(ms.toFixed(2)) })))

  // Job events under the fixed-rate load: LISTEN/NOTIFY next to polling (bench/jobEvents.ts).
  const eventStreams = Math.min(Number(process.env.BENCH_JOB_EVENTS_STREAMS ?? (QUICK ? 20 : 200)), seeded.users.length)
  const eventLoad = typeof fixedRate?.offeredRequestsPerSecond === "number" ? fixedRate.offeredRequestsPerSecond : 100
  console.log(`\njob events: ${eventStreams} streams under GET /content/timeline at ${eventLoad} req/s`)
  const eventRows = await runJobEventsBench(environment, seeded.users, { streams: eventStreams, seconds: QUICK ? 12 : 30, loadRate: eventLoad })
  console.table(jobEventsTable(eventRows))
  jobEvents = { streams: eventStreams, loadRate: eventLoad, rows: eventRows }

  // The API while the server's in-process workers read photos by OCR (bench/ocrLoad.ts; the last seeded user uploads).
  console.log(`\nOCR load: GET /content/timeline at ${OCR_RATE} req/s, idle and while the server reads photos (${OCR_ROUNDS} rounds of ${OCR_SECONDS} s phases)`)
  ocrLoad = await runOcrLoadBench(environment, seeded.users, { rate: OCR_RATE, rounds: OCR_ROUNDS, seconds: OCR_SECONDS, warmUpSeconds: WARM_UP_SECONDS })
  console.table(ocrLoadTable(ocrLoad))
  console.log("where the time went (CPU in % of one core)")
  console.table(ocrLoadCpuTable(ocrLoad))
  console.log(ocrLoadSummary(ocrLoad))

  // Trends for one user with TRENDS_DOCUMENTS documents, within the timeline's budget (bench/trends.ts).
  const { users: [trendsUser] } = await seed(environment, 1, TRENDS_DOCUMENTS)
  console.log(`\ntrends: one user with ${TRENDS_DOCUMENTS} documents; ${TRENDS_RATE} req/s over 16 connections, ${TRENDS_ROUNDS} rounds of ${TRENDS_SECONDS} s per route`)
  trends = await runTrendsBench(environment, trendsUser!, { rate: TRENDS_RATE, rounds: TRENDS_ROUNDS, seconds: TRENDS_SECONDS, documents: TRENDS_DOCUMENTS })
  console.table(trendsTable(trends))
} finally {
  await environment.close()
}

let lambda: unknown = undefined
if (fs.existsSync(path.resolve(import.meta.dirname, "lambda.ts"))) {
  const specifier = "./lambda.js"
  const module = (await import(specifier)) as {
    runLambdaBench?: (options?: { readonly against?: { readonly label: string; readonly root: string } }) => Promise<unknown>
    lambdaComparison?: (rows: unknown) => unknown
  }
  if (typeof module.runLambdaBench === "function") {
    lambda = await module.runLambdaBench(against === undefined ? {} : { against: { label: against.label, root: against.root } })
    console.log("\nlambda")
    if (Array.isArray(lambda)) console.table(lambda)
    if (against !== undefined && typeof module.lambdaComparison === "function") {
      console.log(`lambda: ours next to ${against.label} (cold starts alternate between the two)`)
      console.table(module.lambdaComparison(lambda))
    }
  } else {
    console.log("\nlambda: bench/lambda.ts exports no runLambdaBench(); skipped")
  }
} else {
  console.log("\nlambda: bench/lambda.ts does not exist; skipped")
}

const goals = goalVerdicts({
  measurements,
  fixedRateRuns,
  crypto,
  lambda: Array.isArray(lambda) ? (lambda as ReadonlyArray<LambdaBenchRow>) : undefined,
  ocrLoad,
  trends
})
console.log("\ngoals (issues 18, 22 and 23; this run's numbers)")
console.table(goals)

const results = {
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverageAtStart: os.loadavg(), node: process.version },
  settings: {
    quick: QUICK,
    secondsPerRun: SECONDS,
    rounds: ROUNDS,
    users: USERS,
    documentsPerUser: PER_USER,
    connections: CONNECTIONS,
    pipelineDocuments: DOCUMENTS,
    fixedRateShare: FIXED_RATE_SHARE,
    ocrRate: OCR_RATE,
    ocrRounds: OCR_ROUNDS,
    ocrSecondsPerPhase: OCR_SECONDS,
    trendsDocuments: TRENDS_DOCUMENTS,
    trendsRate: TRENDS_RATE,
    trendsRounds: TRENDS_ROUNDS,
    trendsSeconds: TRENDS_SECONDS
  },
  against: against === undefined ? undefined : { ref: against.ref, sha: against.sha, label: against.label, root: against.root },
  seedSeconds: seeded.seconds,
  goals,
  api: measurements,
  timelineRatios: ratios(measurements),
  timelineCpuUsPerRequest: cpuTable(measurements),
  againstRatios: against === undefined ? undefined : againstRatios(measurements),
  fixedRate,
  pipeline,
  jobEvents,
  ocrLoad,
  trends,
  crypto: { rows: crypto, worstRatioAt64KiBAndAbove: worstCryptoRatio(crypto) },
  lambda
}
const dir = await writeResults(results, measurements, `Serenya API bench ${started.toISOString().slice(0, 16)} (${QUICK ? "quick" : `${SECONDS}s runs`})`)
console.log(`\nwrote ${path.join(dir, "latest.json")} and latest.svg`)
