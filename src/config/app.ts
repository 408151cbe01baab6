/**
 * The process-wide facts several capabilities need: which environment this is, where local state
 * lives, the log level, how long a stop may take, and the Region of the AWS clients. Kept small:
 * a setting of one capability belongs to that capability's slice.
 */
import { Config, Context, type Duration, Layer, type LogLevel } from "effect"
import * as path from "node:path"
import { type AppEnv, appEnvConfig, check, collect, millis } from "./shared.js"

export { AppEnv } from "./shared.js"

/**
 * The service's name where nothing names the process (OTEL_SERVICE_NAME, which each Kubernetes
 * workload sets: `serenya-api`, `serenya-worker`, `serenya-migrate`): telemetry's `service.name`
 * and every log line's `service` (layers/logger/json.ts), so that a log line and its trace name
 * the same service. The package's name: one code base runs the API, the worker and the commands.
 */
export const SERVICE_NAME = "serenya-backend"

/** This code's version (package.json's; test/layers/logger/identity.test.ts keeps them equal). APP_VERSION overrides it. */
export const SERVICE_VERSION = "0.1.0"

const VERSION = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,127}$/

/** APP_VERSION (a release tag or commit, set by the build), else SERVICE_VERSION: the `version` of every log line. */
export const appVersionConfig: Config.Config<string> = check(
  "APP_VERSION",
  Config.String("APP_VERSION").pipe(Config.withDefault(SERVICE_VERSION)),
  (version) => VERSION.test(version),
  "must be a version: 1 to 128 letters, digits and . _ + -, starting with a letter or digit"
)

export interface AppInfoSettings {
  readonly appEnv: AppEnv
  /** Local state: the embedded database, key files, stored objects and audit checkpoints (absolute). */
  readonly dataDir: string
  readonly logLevel: LogLevel.LogLevel
  /** How long in-flight work may run once a stop is asked for. */
  readonly shutdownTimeout: Duration.Duration
  /** Region of the AWS clients (KMS, S3, DynamoDB). */
  readonly awsRegion: string
  /** APP_VERSION, else SERVICE_VERSION. */
  readonly appVersion: string
}

const logLevel = Config.Literals(["all", "trace", "debug", "info", "warning", "error", "fatal", "none"], "LOG_LEVEL").pipe(
  Config.withDefault("info" as const),
  Config.map((level): LogLevel.LogLevel => {
    switch (level) {
      case "all":
        return "All"
      case "trace":
        return "Trace"
      case "debug":
        return "Debug"
      case "info":
        return "Info"
      case "warning":
        return "Warn"
      case "error":
        return "Error"
      case "fatal":
        return "Fatal"
      case "none":
        return "None"
    }
  })
)

export const appInfoConfig: Config.Config<AppInfoSettings> = collect({
  appEnv: appEnvConfig,
  dataDir: Config.String("DATA_DIR").pipe(Config.withDefault("./.data"), Config.map((dir) => path.resolve(dir))),
  logLevel,
  shutdownTimeout: millis("SHUTDOWN_TIMEOUT_MS", 10_000),
  awsRegion: Config.String("AWS_REGION").pipe(Config.withDefault("eu-west-1")),
  appVersion: appVersionConfig
})

export class AppInfoConfig extends Context.Service<AppInfoConfig, AppInfoSettings>()("serenya/config/AppInfo") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(AppInfoConfig, appInfoConfig)
}
