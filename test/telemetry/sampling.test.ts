/**
 * Request sampling through the real middleware: with OTEL_TRACES_SAMPLER=always_off no span of a
 * request reaches the exporter, a caller's sampled traceparent is still followed under the
 * parent-based default, and an unsampled caller is not.
 */
import { HttpClient, HttpClientRequest } from "effect/http"
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import type { TelemetrySettings } from "../../src/config.js"
import { makeTelemetryLayer } from "../../src/layers/telemetry/otel.js"
import { Database } from "../../src/services/database.js"
import { Telemetry } from "../../src/services/telemetry.js"
import { appWith } from "../support/probe.js"
import { startOtlpReceiver } from "./otlpReceiver.js"

const DatabaseUp = Layer.succeed(Database, { ping: Effect.void })
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

const exportTo = (url: string): TelemetrySettings => ({
  serviceName: Option.none(),
  endpoint: Option.some(url),
  tracesEndpoint: Option.none(),
  metricsEndpoint: Option.none(),
  protocol: "http/json",
  tracesExporter: "otlp",
  metricsExporter: "none",
  metricExportInterval: Duration.seconds(60),
  sampler: "parentbased_always_on",
  samplerRatio: 1
})

/** Serves the probe app under the given sampler, sends the requests, flushes, and answers the exported server spans. */
const serverSpansFor = (sampler: string, requests: ReadonlyArray<Record<string, string>>) =>
  Effect.gen(function* () {
    const receiver = yield* Effect.acquireRelease(
      Effect.promise(() => startOtlpReceiver()),
      (r) => Effect.promise(() => r.close())
    )
    yield* Effect.gen(function* () {
      for (const headers of requests) {
        // The test's client must not propagate its own trace: only the headers given here reach the server.
        const response = yield* HttpClient.execute(HttpClientRequest.get("/health").pipe(HttpClientRequest.setHeaders(headers))).pipe(
          Effect.provideService(HttpClient.TracerPropagationEnabled, false)
        )
        expect(response.status).toBe(200)
      }
      yield* (yield* Telemetry).flush
    }).pipe(
      Effect.provide(appWith(DatabaseUp, { OTEL_TRACES_SAMPLER: sampler })),
      Effect.provide(makeTelemetryLayer(exportTo(receiver.url), "test", {}))
    )
    return receiver.spans().filter((s) => s.kind === 2)
  }).pipe(Effect.scoped)

it.live("always_off: requests are served and no span of theirs is exported", () =>
  Effect.gen(function* () {
    expect(yield* serverSpansFor("always_off", [{}, {}])).toEqual([])
  })
)

it.live("parentbased_always_on: every request is traced, except one whose caller did not sample it", () =>
  Effect.gen(function* () {
    const spans = yield* serverSpansFor("parentbased_always_on", [
      {},
      { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
      { traceparent: `00-${"1".repeat(32)}-00f067aa0ba902b7-00` }
    ])
    expect(spans.map((s) => s.name)).toEqual(["GET /health", "GET /health"])
    expect(spans.map((s) => s.traceId)).toContain(TRACE)
    expect(spans.map((s) => s.traceId)).not.toContain("1".repeat(32))
  })
)
