/**
 * What every entry point shares: settings read once (a bad one stops the process with one
 * plain line on stderr), the JSON logger at the configured level, OpenTelemetry export when
 * configured (spans flushed when the process stops), and one JSON line with the reason when
 * start-up fails.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Either, Layer, Logger } from "effect"
import { AppConfig, loadSettings, type Settings } from "../config.js"
import { JsonLoggerLive } from "../layers/logger/json.js"
import { makeTelemetryLayer } from "../layers/telemetry/otel.js"

export const runEntryPoint = <A, E, R, E2>(
  name: string,
  program: (settings: Settings) => Effect.Effect<A, E, R>,
  provide: (settings: Settings) => Layer.Layer<Exclude<R, AppConfig>, E2, AppConfig>
): void => {
  const main = Effect.gen(function* () {
    const settings = yield* loadSettings()
    if (Either.isLeft(settings)) {
      process.stderr.write(`${settings.left}\n`)
      process.exitCode = 78 // EX_CONFIG
      return
    }
    const base = Layer.mergeAll(
      JsonLoggerLive,
      Logger.minimumLogLevel(settings.right.logLevel),
      Layer.succeed(AppConfig, settings.right),
      makeTelemetryLayer(settings.right.telemetry, settings.right.appEnv)
    )
    const run = program(settings.right).pipe(
      Effect.provide(provide(settings.right)),
      Effect.provide(base)
    ) as Effect.Effect<A, E | E2>
    yield* run.pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Effect.logFatal(`${name} failed`, cause).pipe(
            Effect.zipRight(Effect.sync(() => (process.exitCode = 1))),
            Effect.provide(base)
          )
      )
    )
  })
  NodeRuntime.runMain(main, { disableErrorReporting: true, disablePrettyLogger: true })
}
