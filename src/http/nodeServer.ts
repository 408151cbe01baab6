/**
 * The Node HTTP server the API runs on (npm start, Kubernetes), with one addition the platform
 * lacks: a body refused part-way is drained, not reset. Also its timeouts (SERVER_TIMEOUTS) and
 * its shutdown (shutdownGuard), which let a long response stream (Server-Sent Events) run.
 *
 * A chunked body has no declared length, so its size is known only while it is read; when it
 * passes the operation's limit, @effect/platform-node stops reading and destroys the request
 * stream, which destroys the socket. The client — still sending — gets a connection reset instead
 * of the 413 with the uniform body (a reset can even discard a response already sent, as TCP drops
 * what the receiver had not read). Here, destroying an unfinished request stream instead keeps
 * reading and discarding what the client still sends, so the 413 is answered on a live connection
 * and the connection stays usable afterwards. The drain is bounded in bytes and time: a client
 * that goes on sending beyond it is cut off as before.
 *
 * A body whose declared length is over the limit is refused before any of it is read, with
 * `connection: close` (middleware.ts): that one is never drained.
 */
import { HttpServer } from "effect/http"
import { Duration, Effect, Layer } from "effect"
import { createServer, IncomingMessage, type Server, type ServerOptions } from "node:http"

/**
 * The server's timeouts, written out rather than left to Node's defaults:
 * - `keepAliveTimeout`: how long a connection may sit idle between requests. Above the load
 *   balancer's idle timeout (the ALB's, deploy/k8s/chart/ingress.ts: 60 s), so the balancer always
 *   closes an idle connection first; were the server first, a request the balancer sends on it as
 *   it closes would fail (a 502). Node's 5 s default is far below.
 * - `requestTimeout`: how long receiving a request (headers and body) may take — a slow upload, a
 *   stalled client. It ends once the request is received, so a response that streams for minutes
 *   (`GET /jobs/:jobId/events`, the chat's SSE answer) is not cut by it
 *   (test/deploy/k8s/streaming.test.ts proves it); `headersTimeout` follows it (Node's 60 s).
 * - socket inactivity (`server.timeout`) stays off: a stream's keep-alive comments come every 15 s,
 *   but a quiet response must not be cut by the server either.
 */
export const SERVER_TIMEOUTS = {
  keepAliveTimeout: 65_000,
  requestTimeout: 60_000,
  headersTimeout: 60_000
} as const satisfies ServerOptions

/**
 * Released before the server closes (SIGTERM): idle keep-alive sockets are dropped as they go idle,
 * requests in flight — a response stream included — may finish, and whatever is still open after
 * `timeout` (SHUTDOWN_TIMEOUT_MS) is cut. A stream cut there ends for its client like any dropped
 * connection: an EventSource reconnects (with its Last-Event-ID) to another instance.
 */
export const shutdownGuard = (server: Server, timeout: Duration.Duration) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      yield* HttpServer.HttpServer
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          yield* Effect.logInfo("shutting down: finishing in-flight requests")
          yield* Effect.sync(() => {
            // Keep-alive sockets go idle as their last request finishes: close them as they do.
            server.closeIdleConnections()
            setInterval(() => server.closeIdleConnections(), 100).unref()
            setTimeout(() => server.closeAllConnections(), Duration.toMillis(timeout)).unref()
          })
        })
      )
    })
  )

export interface DrainOptions {
  /** Bytes read and discarded after a refusal, at most. */
  readonly maxBytes: number
  /** How long a refused body may take to finish, at most. */
  readonly maxMillis: number
}

export const DEFAULT_DRAIN: DrainOptions = { maxBytes: 8 * 1024 * 1024, maxMillis: 10_000 }

/** Makes `destroy()` of an unfinished request drain it (bounded) instead of resetting the connection. */
export const drainInsteadOfDestroy = (request: IncomingMessage, options: DrainOptions = DEFAULT_DRAIN): void => {
  const destroy = request.destroy.bind(request)
  let draining = false
  request.destroy = (error?: Error) => {
    // Finished (nothing left to read), already draining, or an error to report: the real thing.
    if (request.complete || draining || error !== undefined) return destroy(error)
    draining = true
    // The reader that gave up is gone; nobody else reads this body.
    request.removeAllListeners("data")
    let drained = 0
    const cutOff = setTimeout(() => destroy(), options.maxMillis)
    cutOff.unref()
    request.on("data", (chunk: Buffer) => {
      drained += chunk.length
      if (drained > options.maxBytes) destroy()
    })
    request.once("close", () => clearTimeout(cutOff))
    // A response that ends the connection (the client asked for `connection: close`) would destroy
    // the socket once written, with the body still arriving: a reset again. Close lingering instead:
    // stop writing, go on draining, and destroy the socket when the body has ended.
    const socket = request.socket as typeof request.socket & { destroySoon?: () => void }
    if (typeof socket.destroySoon === "function") {
      const destroySoon = socket.destroySoon.bind(socket)
      socket.destroySoon = () => {
        if (request.complete) return destroySoon()
        socket.end()
        request.once("end", () => destroySoon())
      }
    }
    request.resume()
    return request
  }
}

/** An HTTP server whose requests drain when refused part-way (see the module comment). */
export const makeNodeServer = (options: ServerOptions = {}, drain: DrainOptions = DEFAULT_DRAIN): Server => {
  // Each request is fitted as it is made, before anything reads it. Not through a "request"
  // listener of our own: @effect/platform-node 4 answers 503 while the app starts only when its
  // listener is the server's sole one, and with a second one such requests would hang.
  // Every constructor argument passed on: Bun's IncomingMessage takes more than the socket.
  class DrainingIncomingMessage extends IncomingMessage {
    constructor(...args: ConstructorParameters<typeof IncomingMessage>) {
      super(...args)
      drainInsteadOfDestroy(this, drain)
    }
  }
  return createServer({ ...options, IncomingMessage: DrainingIncomingMessage })
}
