/** The job workers (in-process pool or `npm run worker`). */
import { Config, Context, Duration, Layer, Option } from "effect"
import { appEnvConfig, check, collect, millis, portOrZero, positiveInt } from "./shared.js"

/** The job workers (in-process pool or `npm run worker`). */
export interface WorkerSettings {
  readonly concurrency: number
  /** A claimed job is re-claimable after this long without a heartbeat (heartbeats come every third of it). */
  readonly lease: Duration.Duration
  /** How long an idle worker waits before looking for work again. */
  readonly poll: Duration.Duration
  /** Run the pool inside the HTTP server (the local default); deployments run `npm run worker`. */
  readonly inProcess: boolean
  /** How often the pool sweeps originals that outlived their finished jobs. */
  readonly sweepInterval: Duration.Duration
  /** `npm run worker` answers /health and /ready here for its probes; 0 serves nothing. */
  readonly healthPort: number
}

/** The variables, read and defaulted (IN_PROCESS_WORKERS's default follows APP_ENV). */
export const workerConfig: Config.Config<WorkerSettings> = collect({
  appEnv: appEnvConfig,
  concurrency: positiveInt("WORKER_CONCURRENCY", 2),
  lease: check("WORKER_LEASE_MS", millis("WORKER_LEASE_MS", 60_000), (d) => Duration.toMillis(d) >= 3_000, "must be at least 3000"),
  poll: millis("WORKER_POLL_MS", 500),
  inProcess: Config.Boolean("IN_PROCESS_WORKERS").pipe(Config.option),
  sweepInterval: millis("WORKER_SWEEP_MS", 60_000),
  healthPort: portOrZero("WORKER_HEALTH_PORT", 3001, "serves nothing")
}).pipe(
  Config.map(({ appEnv, ...worker }) => ({
    ...worker,
    inProcess: Option.getOrElse(worker.inProcess, () => appEnv !== "production")
  }))
)

export class WorkerConfig extends Context.Service<WorkerConfig, WorkerSettings>()("serenya/config/Worker") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(WorkerConfig, workerConfig)
}
