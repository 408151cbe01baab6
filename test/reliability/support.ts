/**
 * Shared pieces of the reliability tests: a PostgreSQL the test can stop and start again, raw
 * HTTP with a client-side deadline (a hang is an answer too), and SQL from the test's side.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, ManagedRuntime, Redacted, Scope } from "effect"
import * as http from "node:http"
import { startEmbeddedPostgres } from "../../src/layers/database/embedded.js"
import { startEntry, status } from "../support/process.js"

export interface ControlledPostgres {
  readonly url: (database: string) => string
  readonly port: number
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
  readonly running: () => boolean
}

/** An embedded cluster under `dataDir`; `stop` is a fast shutdown, `start` reuses the data dir and port. */
export const controlledPostgres = async (dataDir: string): Promise<ControlledPostgres> => {
  let scope: Scope.Closeable | undefined
  let port = 0
  let password = ""
  const start = async () => {
    if (scope !== undefined) return
    const next = Effect.runSync(Scope.make())
    const pg = await Effect.runPromise(
      Scope.provide(startEmbeddedPostgres({ dataDir, port, ephemeral: true, maxConnections: 200 }), next)
    )
    port = pg.port
    password = new URL(Redacted.value(pg.url)).password
    scope = next
  }
  await start()
  return {
    url: (database) => `postgres://serenya:${password}@127.0.0.1:${port}/${database}`,
    port,
    start,
    stop: async () => {
      const current = scope
      scope = undefined
      if (current !== undefined) await Effect.runPromise(Scope.close(current, Exit.void))
    },
    running: () => scope !== undefined
  }
}

/** A small pool kept open for many queries (polling); `close` ends it. */
export const sqlSession = (url: string) => {
  const runtime = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(url), maxConnections: 2 }))
  return {
    query: <A = Record<string, unknown>>(text: string) =>
      runtime.runPromise(Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe<A & object>(text))) as Promise<ReadonlyArray<A>>,
    close: () => runtime.dispose()
  }
}

/** Runs SQL text against `url` on a one-connection pool of its own. */
export const query = <A = Record<string, unknown>>(url: string, text: string): Promise<ReadonlyArray<A>> =>
  Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe<A & object>(text)).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
      Effect.scoped
    )
  ) as Promise<ReadonlyArray<A>>

export interface Answer {
  /** 0: no answer (connection refused or reset); -1: the client's deadline passed first. */
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  readonly ms: number
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

export interface RawRequest {
  readonly method: string
  /** Sent as is: no normalisation of `..`, no encoding. */
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string | Uint8Array
  readonly timeoutMs?: number
}

/** One request with node:http (raw paths and bytes), never longer than its deadline. */
export const send = (port: number, request: RawRequest): Promise<Answer> =>
  new Promise((resolve) => {
    const started = Date.now()
    let settled = false
    const done = (answer: Omit<Answer, "ms">) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...answer, ms: Date.now() - started })
    }
    const body = request.body === undefined ? undefined : typeof request.body === "string" ? Buffer.from(request.body) : request.body
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: request.method,
        path: request.path,
        agent,
        headers: { ...(body === undefined ? {} : { "content-length": String(body.byteLength) }), ...request.headers }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }))
        res.on("error", () => done({ status: 0, headers: {}, body: "" }))
      }
    )
    const timer = setTimeout(() => {
      done({ status: -1, headers: {}, body: "" })
      req.destroy()
    }, request.timeoutMs ?? 10_000)
    req.on("error", () => done({ status: 0, headers: {}, body: "" }))
    if (body !== undefined) req.write(body)
    req.end()
  })

export const json = (body: unknown, headers: Record<string, string> = {}) => ({
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers }
})

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The uniform error body of src/http/errors.ts, checked structurally. */
export const isUniformError = (body: string): boolean => {
  try {
    const parsed = JSON.parse(body) as { error?: Record<string, unknown> }
    const error = parsed.error
    return (
      typeof error === "object" &&
      error !== null &&
      typeof error.code === "string" &&
      /^[A-Z][A-Z0-9_]*$/.test(error.code) &&
      typeof error.category === "string" &&
      typeof error.message === "string" &&
      typeof error.correlationId === "string" &&
      Object.keys(parsed).length === 1
    )
  } catch {
    return false
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Signs in by email through POST /auth/dev (DEV_AUTH_ENABLED) and returns the access token. */
export const devSignIn = async (port: number, email: string): Promise<string> => {
  const answer = await send(port, { method: "POST", path: "/auth/dev", ...json({ email, name: "Reliability" }) })
  if (answer.status !== 200) throw new Error(`dev sign-in answered ${answer.status}`)
  return (JSON.parse(answer.body) as { accessToken: string }).accessToken
}

/** startReady, but a failure to become ready says what the process printed. */
export const startReadyOrExplain = async (
  entry: "server" | "worker",
  options: { readonly dataDir?: string; readonly env?: Record<string, string> }
) => {
  const running = await startEntry(entry, options)
  const deadline = Date.now() + 40_000
  while (Date.now() < deadline) {
    if ((await status(running.port, "/ready")) === 200) return running
    if (running.child.exitCode !== null) break
    await sleep(100)
  }
  running.child.kill("SIGKILL")
  throw new Error(`${entry} did not become ready:\n${running.output().slice(-3000)}`)
}
