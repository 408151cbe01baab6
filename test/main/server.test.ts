/**
 * The server as a user runs it: `node --import tsx src/main/server.ts` in a child process with
 * its own DATA_DIR (so its own embedded PostgreSQL). Proves start-up to ready, graceful exit on
 * SIGTERM and SIGINT, and that no postgres outlives the server, even after `kill -9`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const ROOT = path.resolve(import.meta.dirname, "../..")
const dirs: Array<string> = []

afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true })
})

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

/** PIDs of postgres processes whose command line names this data dir. */
const postgresFor = (dataDir: string): Array<number> => {
  let out = ""
  try {
    out = execFileSync("pgrep", ["-f", `postgres -D ${dataDir}`], { encoding: "utf8" })
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
  return out.split("\n").filter(Boolean).map(Number)
}

const waitFor = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

interface Running {
  readonly child: ChildProcess
  readonly port: number
  readonly dataDir: string
  readonly stdout: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const start = async (dataDir?: string): Promise<Running> => {
  const dir = dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "serenya-server-test-")))
  if (!dataDir) dirs.push(dir)
  const port = await freePort()
  const env: Record<string, string> = { ...(process.env as Record<string, string>) }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, ["--import", "tsx", "src/main/server.ts"], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), DATA_DIR: dir, APP_ENV: "local", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
  child.stderr?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, port, dataDir: path.join(dir, "postgres"), stdout: () => stdout, exited }
}

const status = async (port: number, route: string): Promise<number> => {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${route}`)
    await response.arrayBuffer()
    return response.status
  } catch {
    return 0
  }
}

const startReady = async (dataDir?: string) => {
  const server = await start(dataDir)
  const begun = Date.now()
  await waitFor("/ready to answer 200", async () => (await status(server.port, "/ready")) === 200, 20_000)
  return { ...server, readyAfterMs: Date.now() - begun }
}

describe("the server process", () => {
  it("answers /ready within 20 s on a fresh data dir and exits 0 on SIGTERM with no postgres left", async () => {
    const server = await startReady()
    expect(server.readyAfterMs).toBeLessThan(20_000)
    expect(postgresFor(server.dataDir).length).toBeGreaterThan(0)

    server.child.kill("SIGTERM")
    expect(await server.exited).toEqual({ code: 0, signal: null })
    expect(postgresFor(server.dataDir)).toEqual([])

    // Every line on stdout is one JSON object, and shutdown was logged.
    const lines = server.stdout().trim().split("\n")
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
