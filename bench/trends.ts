/**
 * Trends for a user with 200 documents, against the timeline's budget (issue 23: "trends for a
 * user with 200 documents answers in the same budget as the timeline"). The timeline's budget is
 * its fixed-rate p99 goal (bench/goals.ts `fixedRateP99Ms`).
 *
 * One server (src/main/server.ts, with its content caches on — the timeline's and the trends', which
 * keep a user's opened index under their content stamp — as deployments run them), one seeded user
 * with 200 documents (the CBC/CMP fixture as the offline reader reads it: 16 results each, so a
 * trend has 200 points and the list 16 tests of 200 values), and, at a fixed rate over 16
 * connections (bench/openLoop.ts), in rounds whose order rotates: `GET /content/timeline` (a page
 * of 20), `GET /results/trends?code=718-7` (hemoglobin: 200 points), `GET /results/trends` (the
 * list). Per route: the medians over rounds of p50, p99 and max, and each trend route's p99 over
 * the timeline's measured in the same rounds.
 *
 * Run alone: `node --import tsx bench/trends.ts`; knobs BENCH_TRENDS_RATE (50 req/s),
 * BENCH_TRENDS_SECONDS (10 per route and round), BENCH_TRENDS_ROUNDS (3), BENCH_TRENDS_DOCUMENTS (200).
 */
import { pathToFileURL } from "node:url"
import { serve, warmUp } from "./api.js"
import type { BenchEnvironment, SeededUser } from "./environment.js"
import { openLoop } from "./openLoop.js"
import { median } from "./report.js"
import { GOAL_TARGETS } from "./goals.js"

export const TRENDS_ROUTES = ["GET /content/timeline", "GET /results/trends?code=718-7", "GET /results/trends"] as const
export type TrendsRoute = (typeof TRENDS_ROUTES)[number]

export interface TrendsBenchRow {
  readonly route: TrendsRoute
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly requests: number
  readonly failed: number
  /** p99 over the timeline's (1 for the timeline itself). */
  readonly p99OverTimeline: number
}

export interface TrendsBenchResult {
  readonly documents: number
  readonly rate: number
  readonly seconds: number
  readonly rounds: number
  readonly rows: ReadonlyArray<TrendsBenchRow>
}

const pathOf = (route: TrendsRoute) => route.slice("GET ".length)

export const runTrendsBench = async (
  environment: BenchEnvironment,
  user: SeededUser,
  options: { readonly rate: number; readonly seconds: number; readonly rounds: number; readonly documents: number; readonly nodeArgs?: ReadonlyArray<string> }
): Promise<TrendsBenchResult> => {
  // the content caches on (the timeline's and the trends', sized alike), as deployments run
  const served = await serve("serenya (cache on)", environment.env, options.nodeArgs ?? [])
  const headers = { authorization: `Bearer ${user.token}` }
  try {
    await warmUp(served, "GET /content/timeline", [user], 2)
    // the first trends read of each route warms its code paths
    for (const route of TRENDS_ROUTES) await fetch(`http://127.0.0.1:${served.port}${pathOf(route)}`, { headers })
    const runs = new Map<TrendsRoute, Array<{ p50Ms: number; p99Ms: number; maxMs: number; requests: number; failed: number }>>()
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < TRENDS_ROUTES.length; i++) {
        const route = TRENDS_ROUTES[(i + round) % TRENDS_ROUTES.length]!
        const run = await openLoop({
          port: served.port,
          rate: options.rate,
          seconds: options.seconds,
          connections: 16,
          next: () => ({ method: "GET", path: pathOf(route), headers })
        })
        runs.set(route, [...(runs.get(route) ?? []), { p50Ms: run.p50Ms, p99Ms: run.p99Ms, maxMs: run.maxMs, requests: run.requests, failed: run.non2xx + run.errors }])
      }
    }
    const of = (route: TrendsRoute) => runs.get(route) ?? []
    const timelineP99 = median(of("GET /content/timeline").map((r) => r.p99Ms))
    const rows = TRENDS_ROUTES.map((route): TrendsBenchRow => {
      const r = of(route)
      const p99Ms = median(r.map((x) => x.p99Ms))
      return {
        route,
        p50Ms: median(r.map((x) => x.p50Ms)),
        p99Ms,
        maxMs: median(r.map((x) => x.maxMs)),
        requests: r.reduce((n, x) => n + x.requests, 0),
        failed: r.reduce((n, x) => n + x.failed, 0),
        p99OverTimeline: timelineP99 > 0 ? p99Ms / timelineP99 : Number.NaN
      }
    })
    return { documents: options.documents, rate: options.rate, seconds: options.seconds, rounds: options.rounds, rows }
  } finally {
    await served.stop()
  }
}

/** The table, and whether each route keeps the timeline's budget (its fixed-rate p99 goal). */
export const trendsTable = (result: TrendsBenchResult) =>
  result.rows.map((row) => ({
    route: row.route,
    "p50 ms": Number(row.p50Ms.toFixed(1)),
    "p99 ms": Number(row.p99Ms.toFixed(1)),
    "max ms": Number(row.maxMs.toFixed(1)),
    "p99 / timeline": Number(row.p99OverTimeline.toFixed(2)),
    [`p99 ≤ ${GOAL_TARGETS.fixedRateP99Ms} ms`]: row.p99Ms <= GOAL_TARGETS.fixedRateP99Ms ? "yes" : "NO",
    failed: row.failed
  }))

// Run alone: its own database and one user with BENCH_TRENDS_DOCUMENTS documents.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { seed, startEnvironment } = await import("./environment.js")
  const documents = Number(process.env.BENCH_TRENDS_DOCUMENTS ?? 200)
  const options = {
    rate: Number(process.env.BENCH_TRENDS_RATE ?? 50),
    seconds: Number(process.env.BENCH_TRENDS_SECONDS ?? 10),
    rounds: Number(process.env.BENCH_TRENDS_ROUNDS ?? 3),
    documents,
    // BENCH_TRENDS_PROFILE=<dir>: the server writes a CPU profile there (node --cpu-prof)
    ...(process.env.BENCH_TRENDS_PROFILE === undefined ? {} : { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_TRENDS_PROFILE}`] })
  }
  const environment = await startEnvironment()
  try {
    const { users } = await seed(environment, 1, documents)
    const result = await runTrendsBench(environment, users[0]!, options)
    console.log(`\none user with ${documents} documents; ${options.rate} req/s over 16 connections, ${options.rounds} rounds of ${options.seconds} s per route`)
    console.table(trendsTable(result))
  } finally {
    await environment.close()
  }
}
