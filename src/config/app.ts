/**
 * The process-wide facts several capabilities need: which environment this is, where local state
 * lives, the log level, how long a stop may take, and the Region of the AWS clients. Kept small:
 * a setting of one capability belongs to that capability's slice.
 */
import { Config, Context, type Duration, Layer, type LogLevel } from "effect"
import * as path from "node:path"
import { type AppEnv, appEnvConfig, collect, millis } from "./shared.js"

export { AppEnv } from "./shared.js"

export interface AppInfoSettings {
  readonly appEnv: AppEnv
  /** Local state: the embedded database, key files, stored objects and audit checkpoints (absolute). */
  readonly dataDir: string
  readonly logLevel: LogLevel.LogLevel
  /** How long in-flight work may run once a stop is asked for. */
  readonly shutdownTimeout: Duration.Duration
  /** Region of the AWS clients (KMS, S3, DynamoDB). */
  readonly awsRegion: string
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
  awsRegion: Config.String("AWS_REGION").pipe(Config.withDefault("eu-west-1"))
})

export class AppInfoConfig extends Context.Service<AppInfoConfig, AppInfoSettings>()("serenya/config/AppInfo") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(AppInfoConfig, appInfoConfig)
}
