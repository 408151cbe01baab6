/**
 * The server as a user runs it: `node --import tsx src/main/server.ts` in a child process with
 * its own DATA_DIR (so its own embedded PostgreSQL). Proves start-up to ready, graceful exit on
 * SIGTERM and SIGINT, and that no postgres outlives the server, even after `kill -9`.
 */
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { postgresFor, startReady as startEntryReady, waitFor } from "../support/process.js"

const startReady = (dataDir?: string) => startEntryReady("server", dataDir === undefined ? {} : { dataDir })

describe("the server process", () => {
  it("answers /ready within 20 s on a fresh data dir and exits 0 on SIGTERM with no postgres left", async () => {
    const server = await startReady()
    expect(server.readyAfterMs).toBeLessThan(20_000)
    expect(postgresFor(server.dataDir).length).toBeGreaterThan(0)

    server.child.kill("SIGTERM")
    expect(await server.exited).toEqual({ code: 0, signal: null })
    expect(postgresFor(server.dataDir)).toEqual([])

    // Every line on stdout is one JSON object, and shutdown was logged.
    const lines = server.output().trim().split("\n")
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow()
    expect(lines.some((l) => l.includes("shutting down"))).toBe(true)
  }, 40_000)

  it("exits 0 on SIGINT (Ctrl-C), restarts on the same data dir, and keeps no orphan", async () => {
    const first = await startReady()
    first.child.kill("SIGINT")
    expect(await first.exited).toEqual({ code: 0, signal: null })
    expect(postgresFor(first.dataDir)).toEqual([])

    const second = await startReady(path.dirname(first.dataDir))
    second.child.kill("SIGINT")
    expect((await second.exited).code).toBe(0)
    expect(postgresFor(second.dataDir)).toEqual([])
  }, 60_000)

  it("stops postgres even when the server is killed with SIGKILL, and starts again afterwards", async () => {
    const server = await startReady()
    expect(postgresFor(server.dataDir).length).toBeGreaterThan(0)
    server.child.kill("SIGKILL")
    await server.exited
    await waitFor("the orphaned postgres to stop", () => postgresFor(server.dataDir).length === 0, 15_000)

    const again = await startReady(path.dirname(server.dataDir))
    again.child.kill("SIGTERM")
    expect((await again.exited).code).toBe(0)
  }, 60_000)
})
