/**
 * A chunked body over an operation's limit, through the server `npm start` runs: the client gets
 * the 413 with the uniform body — not a connection reset (the platform destroys the request
 * stream when it stops reading, which destroyed the socket) — and the connection stays usable.
 * A client that goes on sending far beyond the limit is still cut off, within the drain's bounds.
 */
import { HttpApiBuilder } from "effect/http-api"
import { HttpServer } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { serveApi } from "../../src/http/app.js"
import { ErrorRendererLive } from "../../src/http/middleware.js"
import { makeNodeServer } from "../../src/http/nodeServer.js"
import { OpsLive } from "../../src/http/ops.js"
import { Database } from "../../src/services/database.js"
import { ProbeLive, TestApi } from "../support/probe.js"
import { testConfigLayer } from "../support/settings.js"

const DRAIN_BYTES = 1024 * 1024

const App = serveApi(HttpApiBuilder.layer(TestApi).pipe(Layer.provide(Layer.mergeAll(OpsLive, ProbeLive).pipe(Layer.provide(ErrorRendererLive)))), TestApi).pipe(
  Layer.provideMerge(
    NodeHttpServer.layer(() => makeNodeServer({}, { maxBytes: DRAIN_BYTES, maxMillis: 10_000 }), { port: 0, host: "127.0.0.1" })
  ),
  Layer.provide(Layer.succeed(Database, { ping: Effect.void })),
  Layer.provide(testConfigLayer())
)

let port = 0
let close: () => Promise<void> = async () => {}
beforeAll(async () => {
  const { runtime, dispose } = await (async () => {
    const { ManagedRuntime } = await import("effect")
    const managed = ManagedRuntime.make(App)
    return { runtime: managed, dispose: () => managed.dispose() }
  })()
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag === "UnixPathAddress") throw new Error("not a TCP server")
  port = address.port
  close = dispose
}, 30_000)
afterAll(() => close())

interface Answer {
  readonly status?: number
  readonly headers?: http.IncomingHttpHeaders
  readonly body?: string
  /** The error that ended the exchange, if one did (a reset, a broken pipe). */
  readonly error?: string
  /** Whether every byte of the body was handed to the connection. */
  readonly bodySent: boolean
}

/** POSTs `total` bytes in chunks of `chunk` bytes (chunked: no content-length); settles when the socket closes. */
const postChunked = (agent: http.Agent, total: number, chunk = 16 * 1024): Promise<Answer> =>
  new Promise((resolve) => {
    let answer: Omit<Answer, "bodySent"> = {}
    let bodySent = false
    let settled = false
    const settle = () => {
      if (!settled) {
        settled = true
        resolve({ ...answer, bodySent })
      }
    }
    const request = http.request(
      { host: "127.0.0.1", port, method: "POST", path: "/probe/echo", agent, headers: { "content-type": "application/json" } },
      (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (data: string) => (body += data))
        response.on("end", () => {
          answer = { ...answer, ...(response.statusCode === undefined ? {} : { status: response.statusCode }), headers: response.headers, body }
          // A kept-alive socket does not close: the exchange is over once the body is sent too.
          if (bodySent) settle()
        })
      }
    )
    request.on("error", (error) => {
      answer = { ...answer, error: (error as NodeJS.ErrnoException).code ?? error.message }
      settle()
    })
    request.on("finish", () => {
      bodySent = true
      if (answer.status !== undefined) settle()
    })
    request.on("close", () => setTimeout(settle, 50))
    let sent = 0
    const write = () => {
      while (sent < total) {
        const size = Math.min(chunk, total - sent)
        sent += size
        if (!request.write("x".repeat(size))) return void request.once("drain", write)
      }
      request.end()
    }
    write()
  })

describe("a chunked body over the limit", () => {
  it("is answered 413 with the uniform body, not a reset, and the connection can be used again", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const answer = await postChunked(agent, 256 * 1024)
      expect(answer.error).toBeUndefined()
      expect(answer.bodySent).toBe(true)
      expect(answer.status).toBe(413)
      expect(answer.headers?.["retry-after"]).toBeUndefined()
      const body = JSON.parse(answer.body ?? "") as { error: { code: string; correlationId: string } }
      expect(body.error.code).toBe("PAYLOAD_TOO_LARGE")
      expect(body.error.correlationId).toBe(answer.headers?.["x-request-id"])
      // The same socket (one per agent) carries the next request.
      const next = await postChunked(agent, 20)
      expect(next.error).toBeUndefined()
      expect(next.status).toBe(400)
    } finally {
      agent.destroy()
    }
  }, 30_000)

  it("the same for a client that asked to close the connection after its request", async () => {
    const agent = new http.Agent({ keepAlive: false })
    try {
      const answer = await postChunked(agent, 256 * 1024)
      expect(answer.error).toBeUndefined()
      expect(answer.bodySent).toBe(true)
      expect(answer.status).toBe(413)
      expect((JSON.parse(answer.body ?? "") as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE")
    } finally {
      agent.destroy()
    }
  }, 30_000)

  it("a client that keeps sending past the drain's bound is cut off, not read forever", async () => {
    const agent = new http.Agent({ keepAlive: false })
    try {
      const answer = await postChunked(agent, 16 * DRAIN_BYTES)
      // The 413 may arrive before the cut; what matters is that the server stopped reading.
      expect(answer.bodySent).toBe(false)
      // The connection ended under the client: reset or broken pipe mid-write, or (@effect/platform-node
      // 4) closed right after the uniform 413 — either way nothing more of the body was read.
      if (answer.error === undefined) {
        expect(answer.status).toBe(413)
        expect((JSON.parse(answer.body ?? "") as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE")
      } else {
        expect(["ECONNRESET", "EPIPE"]).toContain(answer.error)
      }
    } finally {
      agent.destroy()
    }
  }, 30_000)
})
