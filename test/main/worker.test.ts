/** `npm run worker` as its pod runs it: probes on its own port, nothing else served, a clean exit on SIGTERM. */
import { describe, expect, it } from "vitest"
import { postgresFor, startReady, status } from "../support/process.js"

describe("the worker process", () => {
  it("answers /health and /ready on WORKER_HEALTH_PORT, serves no API there, and exits 0 on SIGTERM", async () => {
    const worker = await startReady("worker")
    expect(await status(worker.port, "/health")).toBe(200)
    expect(await status(worker.port, "/ready")).toBe(200)
    expect(await status(worker.port, "/content/timeline")).toBe(404)
    expect(await status(worker.port, "/auth/dev")).toBe(404)

    worker.child.kill("SIGTERM")
    expect(await worker.exited).toEqual({ code: 0, signal: null })
    expect(postgresFor(worker.dataDir)).toEqual([])
    expect(worker.output()).toContain("worker pool stopped")
  }, 40_000)
})
