/**
 * Smoke test of the job events bench (bench/jobEvents.ts) at a tiny size: both servers start with
 * their layer (LISTEN/NOTIFY, polling), every followed job's `completed` event arrives under the
 * load, LISTEN delivers sooner than polling and holds its one listening connection (polling none),
 * and the reads are counted. ≈ 40 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type BenchEnvironment, seed, type SeededUser, startEnvironment } from "../../bench/environment.js"
import { jobEventsTable, runJobEventsBench } from "../../bench/jobEvents.js"

let environment: BenchEnvironment | undefined
let users: ReadonlyArray<SeededUser> = []

beforeAll(async () => {
  environment = await startEnvironment()
  users = (await seed(environment, 6, 2)).users
}, 60_000)

afterAll(async () => {
  await environment?.close()
}, 60_000)

describe("job events bench", () => {
  it("measures both variants: every completed event arrives, LISTEN sooner and on one listening connection", async () => {
    const rows = await runJobEventsBench(environment!, users, { streams: 5, seconds: 6, loadRate: 20, settleMs: 1_500 })
    const listen = rows.find((row) => row.variant === "LISTEN/NOTIFY")!
    const polling = rows.find((row) => row.variant === "polling")!
    for (const row of rows) {
      expect(row.streams).toBe(5)
      expect(row.changes).toBe(20) // four changes with an event each per job
      expect(row.completedDelivered).toBe(5)
      expect(row.delivered).toBeGreaterThanOrEqual(row.completedDelivered)
      expect(row.load.errors).toBe(0)
      expect(row.jobReadsPerSecond).toBeGreaterThan(0)
    }
    expect(listen.listenConnections).toBe(1)
    expect(polling.listenConnections).toBe(0)
    expect(listen.p50Ms).toBeLessThan(polling.p50Ms)
    expect(jobEventsTable(rows)).toHaveLength(2)
  }, 120_000)
})
