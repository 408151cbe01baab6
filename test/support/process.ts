/**
 * Entry points as a user (or a pod) runs them: `node --import tsx src/main/<entry>.ts` in a child
 * process with its own DATA_DIR, so its own embedded PostgreSQL, on free ports of 127.0.0.1.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { freePort } from "./ports.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const dirs: Array<string> = []

afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true })
})


/** PIDs of postgres processes whose command line names this data dir. */
export const postgresFor = (dataDir: string): Array<number> => {
  let out = ""
  try {
    out = execFileSync("pgrep", ["-f", `postgres -D ${dataDir}`], { encoding: "utf8" })
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
  return out.split("\n").filter(Boolean).map(Number)
}

export const waitFor = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export interface Running {
  readonly child: ChildProcess
  /** The HTTP port: PORT for the server, WORKER_HEALTH_PORT for the worker. */
  readonly port: number
  readonly dataDir: string
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export const startEntry = async (
  entry: "server" | "worker",
  options: { readonly dataDir?: string; readonly env?: Record<string, string> } = {}
): Promise<Running> => {
  const dir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), `serenya-${entry}-test-`)))
  if (!options.dataDir) dirs.push(dir)
  const port = await freePort()
  const env: Record<string, string> = { ...(process.env as Record<string, string>) }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, ["--import", "tsx", `src/main/${entry}.ts`], {
    cwd: ROOT,
    env: {
      ...env,
      ...(entry === "server" ? { PORT: String(port) } : { WORKER_HEALTH_PORT: String(port) }),
      DATA_DIR: dir,
      APP_ENV: "local",
      LOG_LEVEL: "info",
      ...options.env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, port, dataDir: path.join(dir, "postgres"), output: () => output, exited }
}

/** The status of GET `route`, or 0 when nothing answers. */
export const status = async (port: number, route: string): Promise<number> => {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${route}`)
    await response.arrayBuffer()
    return response.status
  } catch {
    return 0
  }
}

export const startReady = async (
  entry: "server" | "worker",
  options: { readonly dataDir?: string; readonly env?: Record<string, string> } = {}
) => {
  const running = await startEntry(entry, options)
  const begun = Date.now()
  await waitFor("/ready to answer 200", async () => (await status(running.port, "/ready")) === 200, 20_000)
  return { ...running, readyAfterMs: Date.now() - begun }
}
