/**
 * `npm run worker`: the job workers as a process of their own (a Kubernetes Deployment), the same
 * pool the server runs in-process. SIGINT/SIGTERM: stop claiming, let in-flight jobs finish for
 * up to SHUTDOWN_TIMEOUT_MS, hand the rest back to the queue, close the pool, exit 0.
 */
import { Layer } from "effect"
import type { Settings } from "../config.js"
import { DatabaseLive } from "../layers/database/postgres.js"
import { JobQueuePostgres } from "../layers/jobQueue/postgres.js"
import { WorkerPoolLive } from "../layers/worker/pool.js"
import { servicesLayer } from "./layers.js"
import { runEntryPoint } from "./runtime.js"

export const workerLayer = (settings: Settings) =>
  WorkerPoolLive.pipe(
    Layer.provide(Layer.mergeAll(JobQueuePostgres, servicesLayer(settings))),
    Layer.provide(DatabaseLive)
  )

runEntryPoint(
  "worker",
  (settings) => Layer.launch(workerLayer(settings)),
  () => Layer.empty
)
