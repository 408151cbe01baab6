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
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Layer } from "effect"
import type { Settings } from "../config.js"
import { HttpAppLive } from "../http/app.js"
import { makeNodeServer, SERVER_TIMEOUTS, shutdownGuard } from "../http/nodeServer.js"
import { AccessTokensLive } from "../layers/auth/jwt.js"
import { DatabaseLive } from "../layers/database/postgres.js"
import { JobQueuePostgres } from "../layers/jobQueue/postgres.js"
import { WorkerPoolLive } from "./workerPool.js"
import { servicesLayer } from "./layers.js"
import { runEntryPoint } from "./runtime.js"

export const serverLayer = (settings: Settings) => {
  // timeouts that let a response stream run, and outlast the load balancer's idle timeout (nodeServer.ts)
  const server = makeNodeServer(SERVER_TIMEOUTS)
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
