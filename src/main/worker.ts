/**
 * `npm run worker`: the job workers as a process of their own (a Kubernetes Deployment), the same
 * pool the server runs in-process. Its probes get `/health` and `/ready` (the database answers) on
 * WORKER_HEALTH_PORT. SIGINT/SIGTERM: stop claiming, let in-flight jobs finish for up to
 * SHUTDOWN_TIMEOUT_MS, hand the rest back to the queue, close the pool, exit 0.
 */
// First: Schema's JIT compiler (see src/main/server.ts).
import "effect/schema/SchemaJITCompiler/enable"
import { HttpApiBuilder } from "effect/http-api"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Layer } from "effect"
import { createServer } from "node:http"
import type { Settings } from "../config.js"
import { CoreApi } from "../http/api.js"
import { serveApi } from "../http/app.js"
import { ErrorRendererLive } from "../http/middleware.js"
import { OpsLive } from "../http/ops.js"
import { DatabaseLive } from "../layers/database/postgres.js"
import { JobQueuePostgres } from "../layers/jobQueue/postgres.js"
import { WorkerPoolLive } from "./workerPool.js"
import { servicesLayer } from "./layers.js"
import { runEntryPoint } from "./runtime.js"

/** Operations endpoints only: nothing of the user-facing API is reachable through the worker. */
const probesLayer = (settings: Settings) =>
  settings.worker.healthPort === 0
    ? Layer.empty
    : serveApi(HttpApiBuilder.layer(CoreApi).pipe(Layer.provide(OpsLive.pipe(Layer.provide(ErrorRendererLive)))), CoreApi).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.worker.healthPort, host: settings.host }))
    )

export const workerLayer = (settings: Settings) =>
  Layer.merge(WorkerPoolLive, probesLayer(settings)).pipe(
    Layer.provide(Layer.mergeAll(JobQueuePostgres, servicesLayer(settings))),
    Layer.provide(DatabaseLive)
  )

runEntryPoint(
  "worker",
  (settings) => Layer.launch(workerLayer(settings)),
  () => Layer.empty
)
