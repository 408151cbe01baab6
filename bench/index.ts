/**
 * `npm run bench`: every benchmark of the project in one run, against one PostgreSQL the bench
 * starts itself, so that everything compared is measured under the same conditions.
 *
 * 1. crypto: envelope seal/open next to raw AES-256-GCM (bench/crypto.ts);
 * 2. API hot paths over a seeded dataset (BENCH_USERS users × 20 sealed documents): our server
 *    (`src/main/server.ts` as a child process) on GET /content/timeline, GET /jobs/{id}/status and
 *    POST /chat/messages (offline LLM); the timeline also as bare node:http and as Fastify with
 *    the same SQL and decryption (bench/baselines/), at 1, 16 and 64 connections;
 *    and ours once more exporting every span and metric over OTLP/HTTP to a sink in this process
 *    (the cost of tracing: "traced / ours");
 * 3. the document pipeline in process (bench/pipeline.ts);
 * 4. bench/lambda.ts's rows when that file exists.
 * Prints tables, writes bench/results/latest.json and latest.svg.
 *
 * Knobs: BENCH_SECONDS (per autocannon run, default 10), BENCH_USERS (default 1000),
 * BENCH_DOCUMENTS (pipeline uploads, default 50), BENCH_CONNECTIONS (default "1,16,64"),
 * BENCH_QUICK=1 (50 users, 2 s runs, 10 documents, short crypto cases: checks the harness).
 * The machine's other load moves every number; compare within one run only.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { type Implementation, measure, type Measurement, type Route, serve, warmUp } from "./api.js"
import { runCryptoBench, worstCryptoRatio } from "./crypto.js"
import { seed, startEnvironment } from "./environment.js"
import { runPipelineBench } from "./pipeline.js"
import { GOALS, printApi, ratios, writeResults } from "./report.js"

const QUICK = process.env.BENCH_QUICK === "1"
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 2 : 10))
const USERS = Number(process.env.BENCH_USERS ?? (QUICK ? 50 : 1000))
const PER_USER = 20
const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? (QUICK ? 10 : 50))
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "1,16,64").split(",").map(Number).filter((n) => n > 0)
const WARM_UP_SECONDS = QUICK ? 1 : 3

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

  const plan: ReadonlyArray<readonly [Implementation, ReadonlyArray<Route>]> = [
    // chat last: it writes (messages, usage, audit) and grows conversations
    ["serenya", ["GET /content/timeline", "GET /jobs/{id}/status", "POST /chat/messages"]],
    ["node:http", ["GET /content/timeline"]],
    ["fastify", ["GET /content/timeline"]],
    ["serenya (cache on)", ["GET /content/timeline"]],
    ["serenya (traced)", ["GET /content/timeline"]]
  ]
  // An OTLP/HTTP sink: accepts and drops what the traced server exports, as a collector would receive it.
  const sink = http.createServer((request, response) => {
    request.resume()
    request.on("end", () => response.writeHead(200, { "content-type": "application/x-protobuf" }).end())
  })
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve))
  const sinkAddress = sink.address()
  const sinkUrl = `http://127.0.0.1:${typeof sinkAddress === "object" && sinkAddress !== null ? sinkAddress.port : 0}`
  for (const [implementation, routes] of plan) {
    const env =
      implementation === "serenya (traced)"
        ? { ...environment.env, OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_METRIC_EXPORT_INTERVAL: "5000" }
        : environment.env
    const served = await serve(implementation, env)
    try {
      for (const route of routes) {
        await warmUp(served, route, seeded.users, WARM_UP_SECONDS)
        for (const connections of CONNECTIONS) {
          const m = await measure(served, route, seeded.users, connections, SECONDS)
          measurements.push(m)
          console.log(
            `${implementation.padEnd(19)} ${route.padEnd(22)} c=${String(connections).padStart(2)}: ` +
              `${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms, non-2xx ${m.non2xx}, errors ${m.errors + m.timeouts}`
          )
        }
      }
    } finally {
      await served.stop()
    }
  }
  sink.close()
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
  settings: { quick: QUICK, secondsPerRun: SECONDS, users: USERS, documentsPerUser: PER_USER, connections: CONNECTIONS, pipelineDocuments: DOCUMENTS },
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
