/**
 * `npm start`: the HTTP server on embedded defaults (or whatever the settings say).
 * SIGINT/SIGTERM: stop accepting, finish in-flight requests (forcing them after
 * SHUTDOWN_TIMEOUT_MS), close the pool, stop the embedded database, exit 0.
 */
// First, before any module builds a parser: Effect 4's Schema JIT compiles each schema's
// decoder/encoder to a plain function on first use (falling back to the interpreter where it cannot).
// Measured on the timeline (bench/profile.ts, 64 connections): ~1.1 ms less CPU per request,
// most of it the interpreter's per-field Effects. "Unstable" in 4.1.5, so the whole test suite
// runs with it too (vitest.config.ts setupFiles).
import "effect/schema/SchemaJITCompiler/enable"
import { HttpServer } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer } from "effect"
import type { Server } from "node:http"
import type { Settings } from "../config.js"
import { HttpAppLive } from "../http/app.js"
import { makeNodeServer } from "../http/nodeServer.js"
import { AccessTokensLive } from "../layers/auth/jwt.js"
import { DatabaseLive } from "../layers/database/postgres.js"
import { JobQueuePostgres } from "../layers/jobQueue/postgres.js"
import { WorkerPoolLive } from "./workerPool.js"
import { servicesLayer } from "./layers.js"
import { runEntryPoint } from "./runtime.js"

/** Released before the server closes: drop idle keep-alive sockets, force the rest after the timeout. */
const shutdownGuard = (server: Server, timeout: Duration.Duration) =>
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

export const serverLayer = (settings: Settings) => {
  const server = makeNodeServer({ keepAliveTimeout: 5_000, requestTimeout: 60_000 })
  // Locally the job workers run inside the server; deployments run them as `npm run worker`.
  const workers = settings.worker.inProcess ? WorkerPoolLive : Layer.empty
  return Layer.mergeAll(HttpAppLive, shutdownGuard(server, settings.shutdownTimeout), workers).pipe(
    Layer.provide(NodeHttpServer.layer(() => server, { port: settings.port, host: settings.host })),
    Layer.provide(Layer.mergeAll(JobQueuePostgres, AccessTokensLive, servicesLayer(settings))),
    Layer.provide(DatabaseLive)
  )
}

runEntryPoint(
  "server",
  (settings) => Layer.launch(serverLayer(settings)),
  () => Layer.empty
)
