/**
 * Smoke test of the OCR load bench (bench/ocrLoad.ts) at a tiny size: one round of short phases,
 * our server with its in-process workers, photos uploaded and read by OCR during the load phase,
 * the event-loop probe answering, the numbers finite. No performance assertion: the targets are
 * `npm run bench`'s (bench/goals.ts). ≈ 25 s (longer on a busy machine: it waits for the photo).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type BenchEnvironment, seed, type SeededUser, startEnvironment } from "../../bench/environment.js"
import { ocrLoadCpuTable, ocrLoadSummary, ocrLoadTable, runOcrLoadBench } from "../../bench/ocrLoad.js"

let environment: BenchEnvironment | undefined
let users: ReadonlyArray<SeededUser> = []

beforeAll(async () => {
  environment = await startEnvironment()
  users = (await seed(environment, 3, 2)).users
}, 60_000)

afterAll(async () => {
  await environment?.close()
}, 60_000)

describe("OCR load bench", () => {
  it("runs an idle and an OCR load phase: the timeline answers, photos are read meanwhile, the numbers are finite", { timeout: 180_000 }, async () => {
    // no OCR warm-up and one photo open at a time: the load phase's photo (5–8 s, longer on a busy
    // machine) completes in its window or while the phase drains, which waits for it
    const result = await runOcrLoadBench(environment!, users, { rate: 20, rounds: 1, seconds: 4, idleSeconds: 2, depth: 1, warmUpSeconds: 1, warmUpOcr: false })
    expect(result.phases.map((p) => p.phase)).toEqual(["idle", "OCR load"])
    for (const phase of result.phases) {
      expect(phase.requests).toBeGreaterThan(0)
      expect(phase.non2xx + phase.errors).toBe(0)
      for (const value of [phase.achieved, phase.p50Ms, phase.p99Ms, phase.maxMs, phase.serverCpuPercent, phase.mainThreadCpuPercent, phase.loopDelayMaxMs]) {
        expect(Number.isFinite(value)).toBe(true)
      }
    }
    const [idle, loaded] = result.phases
    expect(idle!.ocrCompleted + idle!.ocrDrained + idle!.uploads).toBe(0)
    expect(loaded!.uploads).toBeGreaterThan(0)
    // every photo of the phase was read: in the window, or while the phase drained
    expect(loaded!.ocrCompleted + loaded!.ocrDrained).toBe(loaded!.uploads)
    expect(loaded!.ocrFailed).toBe(0)
    expect(Number.isFinite(result.p99Ratio)).toBe(true)
    expect(Number.isFinite(result.ocrJobsPerMinute)).toBe(true)
    expect(ocrLoadTable(result)).toHaveLength(4)
    expect(ocrLoadCpuTable(result)).toHaveLength(4)
    expect(ocrLoadSummary(result)).toMatch(/jobs\/min/)
  })
})
