/**
 * Issue 18's performance goals, issue 22's (the API under OCR load) and issue 23's (trends within
 * the timeline's budget), judged on one run's
 * numbers (reported, never asserted in tests: the machines are shared). Each verdict names its
 * target and what was measured; a goal whose numbers the run did not produce (no 64-connection
 * run, no Lambda bench) is "not measured".
 */
import type { Measurement } from "./api.js"
import type { CryptoRow } from "./crypto.js"
import type { LambdaBenchRow } from "./lambda.js"
import type { OcrLoadResult } from "./ocrLoad.js"
import type { TrendsBenchResult } from "./trends.js"
import { median, roundRatio, summarize } from "./report.js"

export const GOAL_TARGETS = {
  nodeHttpRatioAt64: 0.8,
  fastifyRatioAt64: 1.0,
  fixedRateP99Ms: 25,
  cpuAt1OverAt64: 1.3,
  peakRssMbAt64: 250,
  /** The largest API function's minified bundle (auth, documents, chat), bytes. */
  lambdaApiBundleBytes: 800_000,
  lambdaColdInitMedianMs: 200,
  cryptoRatioAt64KiB: 0.9,
  /**
   * Issue 22, "API p99 during OCR load unchanged within the bench's noise": the median over rounds
   * of p99 under OCR load / p99 idle (bench/ocrLoad.ts, 100 req/s, 3 rounds of 15 s). The bound is
   * that ratio's spread with no OCR at all, measured first with BENCH_OCR_CONTROL=1 (idle against
   * idle, same rounds) on the 2-core machine the bench runs on, shared with other tenants: per-round
   * ratios 0.12–26 (0.59, 1.33, 1.28, 0.12, 0.5, 2.11, 0.96, 26.37), medians of a run 1.28 and
   * 0.96; resampled (each ratio and its inverse: idle against idle is symmetric), the median of 3
   * rounds stays ≤ 2 in 91% of runs and ≤ 1.5 in 77%. Above 2 is a change the noise does not
   * explain; at or below it, unchanged within the noise (1.5 would fail one run in four with no
   * OCR at all). On a quiet machine the idle p99s of a run differ by ~1.5× at most: the bound is
   * loose there, not strict.
   */
  ocrLoadP99Ratio: 2
} as const

export interface GoalVerdict {
  readonly goal: string
  readonly measured: string
  readonly verdict: "met" | "NOT met" | "not measured"
}

const API_FUNCTIONS = new Set(["auth", "documents", "chat"])

const verdictOf = (goal: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string): GoalVerdict =>
  value === undefined || !Number.isFinite(value)
    ? { goal, measured: "—", verdict: "not measured" }
    : { goal, measured: show(value), verdict: ok(value) ? "met" : "NOT met" }

export const goalVerdicts = (input: {
  readonly measurements: ReadonlyArray<Measurement>
  readonly fixedRateRuns: ReadonlyArray<Measurement>
  readonly crypto: ReadonlyArray<CryptoRow>
  readonly lambda?: ReadonlyArray<LambdaBenchRow> | undefined
  readonly ocrLoad?: OcrLoadResult | undefined
  readonly trends?: TrendsBenchResult | undefined
}): ReadonlyArray<GoalVerdict> => {
  const trendRows = (input.trends?.rows ?? []).filter((r) => r.route !== "GET /content/timeline")
  const t = GOAL_TARGETS
  const ours = summarize(input.measurements).filter((m) => m.route === "GET /content/timeline" && m.implementation === "serenya")
  const oursAt = (connections: number) => ours.find((m) => m.connections === connections)
  const fixed = summarize(input.fixedRateRuns).find((m) => m.implementation === "serenya")
  const cpu1 = oursAt(1)?.cpuUsPerRequest
  const cpu64 = oursAt(64)?.cpuUsPerRequest
  const lambda = input.lambda ?? []
  const oursLambda = lambda.filter((r) => r.implementation === "serenya" && API_FUNCTIONS.has(r.function))
  const refLambda = lambda.filter((r) => r.implementation !== "serenya" && API_FUNCTIONS.has(r.function))
  const coldOurs = oursLambda.length === 0 ? undefined : median(oursLambda.map((r) => r.coldInitMs))
  const coldRef = refLambda.length === 0 ? undefined : median(refLambda.map((r) => r.coldInitMs))
  const cryptoLarge = input.crypto.filter((r) => r.payload !== "1 KiB").map((r) => Number(r.ratio))
  return [
    verdictOf(`timeline at 64 connections ≥ ${t.nodeHttpRatioAt64}× the honest node:http floor`, roundRatio(input.measurements, "node:http", 64), (v) => v >= t.nodeHttpRatioAt64, (v) => `${v.toFixed(2)}×`),
    verdictOf(`timeline at 64 connections ≥ ${t.fastifyRatioAt64}× Fastify`, roundRatio(input.measurements, "fastify", 64), (v) => v >= t.fastifyRatioAt64, (v) => `${v.toFixed(2)}×`),
    verdictOf(`p99 ≤ ${t.fixedRateP99Ms} ms at the fixed offered rate`, fixed?.p99Ms, (v) => v <= t.fixedRateP99Ms, (v) => `${v} ms at ${fixed?.offeredRate ?? "?"} req/s`),
    verdictOf(
      `CPU per request at 1 connection ≤ ${t.cpuAt1OverAt64}× at 64`,
      cpu1 !== undefined && cpu64 !== undefined ? cpu1 / cpu64 : undefined,
      (v) => v <= t.cpuAt1OverAt64,
      (v) => `${v.toFixed(2)}× (${cpu1} / ${cpu64} µs)`
    ),
    verdictOf(`peak RSS at 64 connections ≤ ${t.peakRssMbAt64} MB`, oursAt(64)?.peakRssMb, (v) => v <= t.peakRssMbAt64, (v) => `${v.toFixed(0)} MB`),
    verdictOf(
      `Lambda API bundle ≤ ${t.lambdaApiBundleBytes / 1000} KB`,
      oursLambda.length === 0 ? undefined : Math.max(...oursLambda.map((r) => r.minifiedBytes)),
      (v) => v <= t.lambdaApiBundleBytes,
      (v) => `${(v / 1000).toFixed(0)} KB`
    ),
    verdictOf(
      `Lambda API cold init median ≤ ${t.lambdaColdInitMedianMs} ms${coldRef === undefined ? "" : " and below the other commit's"}`,
      coldOurs,
      (v) => v <= t.lambdaColdInitMedianMs && (coldRef === undefined || v < coldRef),
      (v) => `${v.toFixed(0)} ms${coldRef === undefined ? "" : ` (other commit ${coldRef.toFixed(0)} ms)`}`
    ),
    verdictOf(
      `crypto ≥ ${t.cryptoRatioAt64KiB}× raw at ≥ 64 KiB (fields and documents, seal and open)`,
      cryptoLarge.length === 0 ? undefined : Math.min(...cryptoLarge),
      (v) => v >= t.cryptoRatioAt64KiB,
      (v) => `worst ${v.toFixed(2)}×`
    ),
    verdictOf(
      `p99 under OCR load ≤ ${t.ocrLoadP99Ratio}× idle (the noise between idle rounds)`,
      input.ocrLoad === undefined || input.ocrLoad.control ? undefined : input.ocrLoad.p99Ratio,
      (v) => v <= t.ocrLoadP99Ratio,
      (v) => `${v.toFixed(2)}× (${input.ocrLoad?.medians[1]?.p99Ms} / ${input.ocrLoad?.medians[0]?.p99Ms} ms at ${input.ocrLoad?.rate} req/s)`
    ),
    // issue 23: "trends for a user with 200 documents answers in the same budget as the timeline" (its fixed-rate p99 goal)
    verdictOf(
      `trends (${input.trends?.documents ?? "?"} documents) p99 ≤ ${t.fixedRateP99Ms} ms, the timeline's budget`,
      trendRows.length === 0 ? undefined : Math.max(...trendRows.map((r) => r.p99Ms)),
      (v) => v <= t.fixedRateP99Ms,
      (v) => `worst ${v.toFixed(1)} ms at ${input.trends?.rate} req/s (timeline ${input.trends?.rows.find((r) => r.route === "GET /content/timeline")?.p99Ms.toFixed(1)} ms)`
    )
  ]
}
