/**
 * What every function does first at init: Lambda defaults in the environment, secrets resolved
 * into it, the application's settings read once, the JSON logger at the configured level.
 */
import { Data, Effect, Layer, Option, References, Result, Tracer } from "effect"
import { configLayer, formatConfigError, loadSettings, type Settings } from "../../config.js"
import { AwsSdk } from "../../layers/aws/sdk.js"
import { JobQueueSqs } from "../../layers/jobQueue/sqs.js"
import { JobQueuePostgres } from "../../layers/jobQueue/postgres.js"
import { JsonLoggerLive } from "../../layers/logger/json.js"
import { EmfSink, makeEmfMetrics } from "../../layers/telemetry/emf.js"
import { makeTelemetryLayer } from "../../layers/telemetry/otel.js"
import { CLOUDWATCH_METRICS } from "../../services/metrics.js"
import { Telemetry } from "../../services/telemetry.js"
import { sampledXRayContext } from "../../services/xray.js"
import { applyLambdaDefaults, type LambdaSettings, lambdaSettingsConfig, resolveSecrets, secretsManagerReader } from "./settings.js"

export class ConfigurationInvalid extends Data.TaggedError("ConfigurationInvalid")<{ readonly message: string }> {}

export interface LiveSettings {
  readonly settings: Settings
  readonly lambda: LambdaSettings
}

export const loadLiveSettings = Effect.gen(function* () {
  applyLambdaDefaults()
  const lambda = yield* lambdaSettingsConfig.pipe(
    // one line naming the variables, never their values (as for the application's settings)
    Effect.mapError(
      (error) =>
        new ConfigurationInvalid({
          message: formatConfigError(error).replace(/^Invalid configuration/, "Invalid Lambda configuration")
        })
    )
  )
  yield* resolveSecrets(lambda, secretsManagerReader())
  const settings = yield* loadSettings()
  if (Result.isFailure(settings)) return yield* new ConfigurationInvalid({ message: settings.failure })
  return { settings: settings.success, lambda } satisfies LiveSettings
}).pipe(Effect.withSpan("Lambda.loadSettings"))

/**
 * Telemetry on Lambda: OpenTelemetry export when configured, and always the error-handling
 * metrics (CLOUDWATCH_METRICS) as EMF lines — the stack's alarms read those, and no OTLP
 * receiver need run beside a function for them. Both leave at every flush (end of invocation).
 */
export const lambdaTelemetryLayer = (settings: Settings) => {
  const otel = makeTelemetryLayer(settings.telemetry, settings.appEnv, process.env, settings.appVersion)
  const withEmf = Layer.effect(
    Telemetry,
    Effect.gen(function* () {
      const exported = yield* Telemetry
      const emf = makeEmfMetrics(Object.values(CLOUDWATCH_METRICS), yield* EmfSink)
      return { tracing: exported.tracing, flush: Effect.andThen(emf.flush, exported.flush) }
    })
  ).pipe(Layer.provide(otel))
  return Layer.merge(otel, withEmf)
}

/** The settings, whole and as slices (configLayer), the logger at the configured level, and telemetry (lambdaTelemetryLayer). */
export const baseLayer = (settings: Settings) =>
  Layer.mergeAll(
    JsonLoggerLive,
    Layer.succeed(References.MinimumLogLevel, settings.logLevel),
    configLayer(settings),
    lambdaTelemetryLayer(settings)
  )

/**
 * Exports every finished span and the metrics before the handler returns: once it has, Lambda
 * freezes the process and batched telemetry would wait for the next invocation, or be lost.
 */
export const flushTelemetry = Effect.flatMap(
  Effect.serviceOption(Telemetry),
  Option.match({ onNone: () => Effect.void, onSome: (telemetry) => telemetry.flush })
)

/** SQS wake-ups when the function has a queue; the table alone otherwise (local runs). */
export const jobQueueLayer = (lambda: LambdaSettings) =>
  Option.match(lambda.jobQueueUrl, {
    onNone: () => JobQueuePostgres,
    onSome: (queueUrl) => JobQueueSqs({ queueUrl })
  })

/**
 * The layers create their AWS clients, and load the SDK packages, on first use: an on-demand cold
 * start loads only what its first request needs. A provisioned-concurrency environment
 * initialises before any request is routed to it, so there every SDK loads at init instead
 * (awaited at the handler module's top level), off the requests' path.
 */
export const preloadSdksWhenProvisioned = (env: Record<string, string | undefined> = process.env): Promise<void> =>
  env.AWS_LAMBDA_INITIALIZATION_TYPE === "provisioned-concurrency"
    ? Effect.runPromise(Effect.all(Object.values(AwsSdk), { concurrency: "unbounded", discard: true }))
    : Promise.resolve()

/**
 * The invocation's X-Ray segment as the parent of the spans an invocation starts (Lambda sets
 * `_X_AMZN_TRACE_ID` per invocation; with active tracing it names the function's own segment).
 * Only when sampled (sampledXRayContext), as for requests (toWebRequest in ./apiGateway.ts).
 */
export const withinInvocationTrace = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  header: string | undefined = process.env._X_AMZN_TRACE_ID
): Effect.Effect<A, E, R> => {
  const xray = sampledXRayContext(header)
  return xray === undefined
    ? effect
    : Effect.withParentSpan(effect, Tracer.externalSpan({ traceId: xray.traceId, spanId: xray.parentId, sampled: true }))
}
