/**
 * OpenTelemetry for the whole process, from the standard variables:
 * - OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / _METRICS_ENDPOINT):
 *   OTLP over HTTP, `OTEL_EXPORTER_OTLP_PROTOCOL` `http/protobuf` (default) or `http/json`;
 * - OTEL_TRACES_EXPORTER `otlp` (default), `console` or `none`; OTEL_METRICS_EXPORTER `otlp` or `none`;
 * - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG) (read by the SDK).
 * With nothing to export to, the Effect tracer is switched off: no span is created at all, so
 * tracing costs nothing. The resource says what runs where: service, version, environment, and
 * the cloud, Lambda (`faas.*`) and Kubernetes (`k8s.*`) facts the environment offers.
 * The SDK itself (./otelSdk.ts) is loaded only when something is exported: a Lambda bundle
 * without an endpoint neither parses nor initialises it.
 */
import { Effect, Layer, Option, References } from "effect"
import { SERVICE_NAME, SERVICE_VERSION } from "../../config/app.js"
import type { TelemetrySettings } from "../../config/telemetry.js"
import { Telemetry } from "../../services/telemetry.js"

/** `k=v,k2=v2` (values may be percent-encoded, as the specification allows). */
export const parseResourceAttributes = (text: string): Record<string, string> => {
  const attributes: Record<string, string> = {}
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=")
    if (at <= 0) continue
    const key = pair.slice(0, at).trim()
    let value = pair.slice(at + 1).trim()
    try {
      value = decodeURIComponent(value)
    } catch {
      // not percent-encoded after all: keep it as written
    }
    if (key !== "" && value !== "") attributes[key] = value
  }
  return attributes
}

/** What the environment tells about where this process runs (AWS Lambda, Kubernetes). */
export const environmentAttributes = (env: NodeJS.ProcessEnv): Record<string, string | number> => {
  const attributes: Record<string, string | number> = {}
  const set = (key: string, value: string | number | undefined) => {
    if (value !== undefined && value !== "") attributes[key] = value
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION
  if (env.AWS_LAMBDA_FUNCTION_NAME !== undefined) {
    set("cloud.provider", "aws")
    set("cloud.platform", "aws_lambda")
    set("cloud.region", region)
    set("faas.name", env.AWS_LAMBDA_FUNCTION_NAME)
    set("faas.version", env.AWS_LAMBDA_FUNCTION_VERSION)
    set("faas.instance", env.AWS_LAMBDA_LOG_STREAM_NAME)
    const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
    if (Number.isFinite(memory) && memory > 0) set("faas.max_memory", memory * 1024 * 1024)
  }
  if (env.KUBERNETES_SERVICE_HOST !== undefined) {
    set("cloud.provider", "aws")
    set("cloud.platform", "aws_eks")
    set("cloud.region", region)
  }
  set("k8s.pod.name", env.K8S_POD_NAME)
  set("k8s.namespace.name", env.K8S_NAMESPACE_NAME)
  set("k8s.node.name", env.K8S_NODE_NAME)
  return attributes
}

/** Ours first, then OTEL_RESOURCE_ATTRIBUTES, and OTEL_SERVICE_NAME over everything (the specification's order). */
export const resourceAttributes = (settings: TelemetrySettings, appEnv: string, env: NodeJS.ProcessEnv, version: string = SERVICE_VERSION) => ({
  "service.name": SERVICE_NAME,
  "service.version": version,
  "deployment.environment": appEnv,
  "deployment.environment.name": appEnv,
  ...environmentAttributes(env),
  ...parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES ?? ""),
  ...Option.match(settings.serviceName, { onNone: () => ({}), onSome: (name) => ({ "service.name": name }) })
})

/** Spans are not created at all: Effect's own tracer is switched off. */
export const TelemetryOff = Layer.merge(
  Layer.succeed(References.TracerEnabled, false),
  Layer.succeed(Telemetry, { tracing: false, flush: Effect.void })
)

const exportsSomething = (settings: TelemetrySettings) =>
  settings.tracesExporter === "console" ||
  (settings.tracesExporter === "otlp" && (Option.isSome(settings.endpoint) || Option.isSome(settings.tracesEndpoint))) ||
  (settings.metricsExporter === "otlp" && (Option.isSome(settings.endpoint) || Option.isSome(settings.metricsEndpoint)))

/** The exporters the settings ask for, or TelemetryOff when there is nowhere to send anything. */
export const makeTelemetryLayer = (
  settings: TelemetrySettings,
  appEnv: string,
  env: NodeJS.ProcessEnv = process.env,
  /** APP_VERSION (the log lines' `version` too), else the package's. */
  version: string = SERVICE_VERSION
) =>
  exportsSomething(settings)
    ? Layer.unwrap(
      Effect.map(
        Effect.promise(() => import("./otelSdk.js")),
        (sdk) => sdk.sdkLayer(settings, resourceAttributes(settings, appEnv, env, version))
      )
    )
    : TelemetryOff
