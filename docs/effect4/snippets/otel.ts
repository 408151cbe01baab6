/** @effect/opentelemetry 4.1.5 with the SDK versions our package.json pins: tracer provider + metrics reader, as otelSdk.ts wires them. */
import { Effect, Layer, Metric, References } from "effect"
import { OtelMetrics, OtelTracer, Resource } from "@effect/opentelemetry"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk" // NOT re-exported from the package index in 4.1.5
import { resourceFromAttributes } from "@opentelemetry/resources"
import { AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"

const spans = new InMemorySpanExporter()
const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
let reader: PeriodicExportingMetricReader
// A MetricReader binds to one MeterProvider: create it inside the evaluate thunk so every build gets a new one.
const newReader = () => (reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 60_000 }))

const ResourceLive = Layer.succeed(Resource.Resource, resourceFromAttributes({ "service.name": "serenya", "deployment.environment.name": "test" }))
const TracerLive = OtelTracer.layer.pipe(Layer.provide(NodeSdk.layerTracerProvider([new SimpleSpanProcessor(spans)], {
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  shutdownTimeout: "5 seconds"
})))
const MetricsLive = OtelMetrics.layer(() => [newReader()], { shutdownTimeout: "5 seconds" })
const TelemetryLive = Layer.mergeAll(TracerLive, MetricsLive).pipe(Layer.provide(ResourceLive))
// "tracing off" (was Layer.setTracerEnabled(false))
const TracingOff = Layer.succeed(References.TracerEnabled, false)

const counter = Metric.counter("serenya_requests_total")
const work = Effect.gen(function*() {
  yield* Effect.annotateCurrentSpan("http.route", "/x")
  yield* Effect.sleep("5 millis").pipe(Effect.withSpan("child", { kind: "client", attributes: { "db.system.name": "postgresql" } }))
  yield* Metric.update(Metric.withAttributes(counter, { route: "/x" }), 1)
}).pipe(Effect.withSpan("GET /x", { kind: "server" }))

// Read before the layer closes: provider shutdown calls InMemorySpanExporter.shutdown(), which clears it.
const finished = await Effect.runPromise(Effect.gen(function*() {
  yield* work
  yield* Effect.promise(() => reader.forceFlush())
  return spans.getFinishedSpans()
}).pipe(Effect.provide(TelemetryLive)))
console.log("exported spans:", finished.map((s) => `${s.name} kind=${s.kind} parent=${s.parentSpanContext?.spanId ? "yes" : "no"} attrs=${JSON.stringify(s.attributes)}`))
console.log("resource service.name:", finished[0]?.resource.attributes["service.name"])
const rm = metrics.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics.map((x) => `${x.descriptor.name}=${JSON.stringify(x.dataPoints.map((d) => [d.attributes, d.value]))}`)))
console.log("exported metrics:", rm.filter((x) => x.startsWith("serenya")))

spans.reset()
const off = await Effect.runPromise(work.pipe(Effect.andThen(Effect.sync(() => spans.getFinishedSpans().length)), Effect.provide(Layer.mergeAll(TelemetryLive, TracingOff))))
console.log("spans with References.TracerEnabled=false:", off)
