/**
 * What every entry point shares: settings read once (a bad one stops the process with one
 * plain line on stderr) and provided whole and as slices (configLayer), the JSON logger at the
 * configured level, OpenTelemetry export when configured (spans flushed when the process stops),
 * and one JSON line with the reason when start-up fails.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Layer, References, Result, Runtime } from "effect"
import { type ConfigServices, configLayer, loadSettings, type Settings } from "../config.js"
import { JsonLoggerLive } from "../layers/logger/json.js"
import { makeTelemetryLayer } from "../layers/telemetry/otel.js"

export const runEntryPoint = <A, E, R, E2>(
  name: string,
  program: (settings: Settings) => Effect.Effect<A, E, R>,
  provide: (settings: Settings) => Layer.Layer<Exclude<R, ConfigServices>, E2, ConfigServices>
): void => {
  const main = Effect.gen(function* () {
    const settings = yield* loadSettings()
    if (Result.isFailure(settings)) {
      process.stderr.write(`${settings.failure}\n`)
      process.exitCode = 78 // EX_CONFIG
      return
    }
    const base = Layer.mergeAll(
      JsonLoggerLive,
      Layer.succeed(References.MinimumLogLevel, settings.success.logLevel),
      configLayer(settings.success),
      makeTelemetryLayer(settings.success.telemetry, settings.success.appEnv, process.env, settings.success.appVersion)
    )
    const run = program(settings.success).pipe(
      Effect.provide(provide(settings.success)),
      Effect.provide(base)
    ) as Effect.Effect<A, E | E2>
    yield* run.pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.void
          : Effect.logFatal(`${name} failed`, cause).pipe(
            Effect.andThen(Effect.sync(() => (process.exitCode = 1))),
            Effect.provide(base)
          )
      )
    )
  })
  NodeRuntime.runMain(main, {
    disableErrorReporting: true,
    // SIGTERM/SIGINT interrupt the main fiber; a stop asked for and carried out is a clean exit
    // (0, as under Effect 3 and as Kubernetes and the tests expect), not 130.
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
  })
}
