/**
 * The OpenTelemetry SDK side of telemetry: exporters, span processor, metric reader, and the
 * Effect tracer and metrics bridged onto them. Imported on demand by ./otel.ts.
 */
import { OtelMetrics, Resource, OtelTracer } from "@effect/opentelemetry"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { OTLPMetricExporter as OTLPMetricExporterJson } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPMetricExporter as OTLPMetricExporterProto } from "@opentelemetry/exporter-metrics-otlp-proto"
import { OTLPTraceExporter as OTLPTraceExporterJson } from "@opentelemetry/exporter-trace-otlp-http"
import { OTLPTraceExporter as OTLPTraceExporterProto } from "@opentelemetry/exporter-trace-otlp-proto"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { AggregationTemporality, type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type SpanExporter,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import { Duration, Effect, Layer, Option, References } from "effect"
import type { TelemetrySettings } from "../../config/telemetry.js"
import { Telemetry } from "../../services/telemetry.js"

const signalUrl = (settings: TelemetrySettings, signal: "traces" | "metrics") =>
  Option.orElse(signal === "traces" ? settings.tracesEndpoint : settings.metricsEndpoint, () =>
    Option.map(settings.endpoint, (base) => `${base.replace(/\/+$/, "")}/v1/${signal}`)
  )

const spanExporter = (settings: TelemetrySettings): Option.Option<SpanExporter> => {
  if (settings.tracesExporter === "none") return Option.none()
  if (settings.tracesExporter === "console") return Option.some(new ConsoleSpanExporter())
  return Option.map(signalUrl(settings, "traces"), (url) =>
    settings.protocol === "http/json" ? new OTLPTraceExporterJson({ url }) : new OTLPTraceExporterProto({ url })
  )
}

const metricReader = (settings: TelemetrySettings): Option.Option<MetricReader> => {
  if (settings.metricsExporter === "none") return Option.none()
  return Option.map(signalUrl(settings, "metrics"), (url) => {
    const options = { url, temporalityPreference: AggregationTemporality.CUMULATIVE }
    return new PeriodicExportingMetricReader({
      exporter: settings.protocol === "http/json" ? new OTLPMetricExporterJson(options) : new OTLPMetricExporterProto(options),
      exportIntervalMillis: Duration.toMillis(settings.metricExportInterval)
    })
  })
}

const flushAll = (processors: ReadonlyArray<SpanProcessor>, readers: ReadonlyArray<MetricReader>) =>
  Effect.promise(() =>
    Promise.allSettled([...processors.map((p) => p.forceFlush()), ...readers.map((r) => r.forceFlush())])
  ).pipe(Effect.asVoid, Effect.timeoutOption("5 seconds"), Effect.asVoid)

/** The OpenTelemetry SDK with the exporters the settings ask for (at least one: see makeTelemetryLayer). */
export const sdkLayer = (settings: TelemetrySettings, attributes: Record<string, string | number>) =>
  Layer.unwrap(
    Effect.sync(() => {
      const exporter = spanExporter(settings)
      const reader = metricReader(settings)
      const processors = Option.toArray(
        Option.map(exporter, (e) => new BatchSpanProcessor(e, { scheduledDelayMillis: 1000, maxExportBatchSize: 512 }))
      )
      const readers = Option.toArray(reader)
      const ResourceLive = Layer.succeed(Resource.Resource, resourceFromAttributes(attributes))
      const [first, ...rest] = processors
      const TracerLive =
        first === undefined
          ? Layer.succeed(References.TracerEnabled, false)
          : OtelTracer.layer.pipe(
            Layer.provide(
              NodeSdk.layerTracerProvider([first, ...rest], {
                // Requests are sampled before their spans exist (http/sampling.ts, from OTEL_TRACES_SAMPLER);
                // what reaches the SDK is meant to be recorded, so it must not sample a second time.
                sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
                shutdownTimeout: "5 seconds"
              })
            )
          )
      const [firstReader, ...moreReaders] = readers
      const MetricsLive =
        firstReader === undefined
          ? Layer.empty
          : OtelMetrics.layer(() => [firstReader, ...moreReaders], { shutdownTimeout: "5 seconds", temporality: "cumulative" })
      const TelemetryLive = Layer.succeed(Telemetry, { tracing: first !== undefined, flush: flushAll(processors, readers) })
      return Layer.mergeAll(TracerLive, MetricsLive, TelemetryLive).pipe(Layer.provide(ResourceLive))
    })
  )

