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
 * 3. the document pipeline in process (bench/pipeline.ts);
 * 4. bench/lambda.ts's rows when that file exists.
 * Prints tables, writes bench/results/latest.json and latest.svg.
 *
 * Knobs: BENCH_SECONDS (per autocannon run, default 10), BENCH_USERS (default 1000),
 * BENCH_DOCUMENTS (pipeline uploads, default 50), BENCH_CONNECTIONS (default "1,16,64"),
 * BENCH_ROUNDS (rounds of the compared timeline runs, default 3),
 * BENCH_QUICK=1 (50 users, 2 s runs, 10 documents, short crypto cases: checks the harness).
 * The machine's other load moves every number; compare within one run only.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { type Implementation, measure, type Measurement, type Route, serve, type Served, warmUp } from "./api.js"
import { runCryptoBench, worstCryptoRatio } from "./crypto.js"
import { seed, startEnvironment } from "./environment.js"
import { runPipelineBench } from "./pipeline.js"
import { GOALS, printApi, ratios, writeResults } from "./report.js"
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
/** Rounds of the compared timeline runs (ours, node:http, Fastify back to back in each). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3))

const started = new Date()
console.log(
  `bench: ${QUICK ? "QUICK " : ""}${SECONDS}s per run, ${USERS} users × ${PER_USER} documents, connections ${CONNECTIONS.join("/")}, ` +
    `${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`
)

const crypto = await runCryptoBench(QUICK ? 0.2 : 1.5)

const environment = await startEnvironment()
const measurements: Array<Measurement> = []
let seeded: Awaited<ReturnType<typeof seed>>
let pipeline: Awaited<ReturnType<typeof runPipelineBench>> | undefined
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

  // The compared timeline: ours and both baselines run side by side, and each round measures
  // the three back to back in a rotating order, so that drift on a shared machine (other
  // tenants, CPU frequency) falls on all three instead of on whichever ran last. Ratios are the
  // medians of the per-round ratios.
  const compared: ReadonlyArray<Implementation> = ["serenya", "node:http", "fastify"]
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

  pipeline = await runPipelineBench(environment, DOCUMENTS)
  console.log(`\ndocument pipeline: ${pipeline.documents} uploads of the fixture PDF in ${pipeline.seconds.toFixed(2)} s = ${pipeline.documentsPerSecond.toFixed(2)} documents/s`)
  console.log(`(${pipeline.method})`)
  console.table(Object.entries(pipeline.stages).map(([stage, ms]) => ({ stage, "mean ms per document": Number(ms.toFixed(2)) })))
} finally {
  await environment.close()
}

let lambda: unknown = undefined
if (fs.existsSync(path.resolve(import.meta.dirname, "lambda.ts"))) {
  const specifier = "./lambda.js"
  const module = (await import(specifier)) as { runLambdaBench?: () => Promise<unknown> }
  if (typeof module.runLambdaBench === "function") {
    lambda = await module.runLambdaBench()
    console.log("\nlambda")
    if (Array.isArray(lambda)) console.table(lambda)
  } else {
    console.log("\nlambda: bench/lambda.ts exports no runLambdaBench(); skipped")
  }
} else {
  console.log("\nlambda: bench/lambda.ts does not exist; skipped")
}

const results = {
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverageAtStart: os.loadavg(), node: process.version },
  settings: { quick: QUICK, secondsPerRun: SECONDS, rounds: ROUNDS, users: USERS, documentsPerUser: PER_USER, connections: CONNECTIONS, pipelineDocuments: DOCUMENTS },
  seedSeconds: seeded.seconds,
  goals: GOALS,
  api: measurements,
  timelineRatios: ratios(measurements),
  pipeline,
  crypto: { rows: crypto, worstRatioAt64KiBAndAbove: worstCryptoRatio(crypto) },
  lambda
}
const dir = await writeResults(results, measurements, `Serenya API bench ${started.toISOString().slice(0, 16)} (${QUICK ? "quick" : `${SECONDS}s runs`})`)
console.log(`\nwrote ${path.join(dir, "latest.json")} and latest.svg`)
