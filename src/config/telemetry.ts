/** OpenTelemetry export, from the standard OTEL_* variables (see layers/telemetry/otel.ts). */
import { Config, Context, type Duration, Layer, type Option } from "effect"
import { check, collect, millis } from "./shared.js"

/** OpenTelemetry export, from the standard OTEL_* variables (see layers/telemetry/otel.ts). */
export interface TelemetrySettings {
  readonly serviceName: Option.Option<string>
  readonly endpoint: Option.Option<string>
  readonly tracesEndpoint: Option.Option<string>
  readonly metricsEndpoint: Option.Option<string>
  readonly protocol: "http/protobuf" | "http/json"
  readonly tracesExporter: "otlp" | "console" | "none"
  readonly metricsExporter: "otlp" | "none"
  readonly metricExportInterval: Duration.Duration
  /** OTEL_TRACES_SAMPLER / _ARG, applied per request before any span exists (http/sampling.ts). */
  readonly sampler: TraceSampler
  readonly samplerRatio: number
}

export const TraceSamplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const
export type TraceSampler = (typeof TraceSamplers)[number]

/** OTEL_SERVICE_NAME: telemetry's `service.name` over everything, and the log lines' `service` (layers/logger/json.ts). */
export const serviceNameConfig: Config.Config<Option.Option<string>> = Config.String("OTEL_SERVICE_NAME").pipe(Config.option)

export const telemetryConfig: Config.Config<TelemetrySettings> = collect({
  serviceName: serviceNameConfig,
  endpoint: Config.String("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(Config.option),
  tracesEndpoint: Config.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").pipe(Config.option),
  metricsEndpoint: Config.String("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").pipe(Config.option),
  protocol: Config.Literals(["http/protobuf", "http/json"], "OTEL_EXPORTER_OTLP_PROTOCOL").pipe(
    Config.withDefault("http/protobuf" as const)
  ),
  tracesExporter: Config.Literals(["otlp", "console", "none"], "OTEL_TRACES_EXPORTER").pipe(Config.withDefault("otlp" as const)),
  metricsExporter: Config.Literals(["otlp", "none"], "OTEL_METRICS_EXPORTER").pipe(Config.withDefault("otlp" as const)),
  metricExportInterval: millis("OTEL_METRIC_EXPORT_INTERVAL", 60_000),
  sampler: Config.Literals(TraceSamplers, "OTEL_TRACES_SAMPLER").pipe(Config.withDefault("parentbased_always_on" as const)),
  samplerRatio: check(
    "OTEL_TRACES_SAMPLER_ARG",
    Config.Finite("OTEL_TRACES_SAMPLER_ARG").pipe(Config.withDefault(1)),
    (n) => n >= 0 && n <= 1,
    "must be a number between 0 and 1"
  )
})

export class TelemetryConfig extends Context.Service<TelemetryConfig, TelemetrySettings>()("serenya/config/Telemetry") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(TelemetryConfig, telemetryConfig)
}
