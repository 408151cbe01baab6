/** The telemetry layer: what the OTEL_* settings turn on, the resource, and the wire protocols. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import type { TelemetrySettings } from "../../src/config.js"
import {
  environmentAttributes,
  makeTelemetryLayer,
  parseResourceAttributes,
  resourceAttributes
} from "../../src/layers/telemetry/otel.js"
import { Telemetry } from "../../src/services/telemetry.js"
import { startOtlpReceiver } from "./otlpReceiver.js"

const off: TelemetrySettings = {
  serviceName: Option.none(),
  endpoint: Option.none(),
  tracesEndpoint: Option.none(),
  metricsEndpoint: Option.none(),
  protocol: "http/protobuf",
  tracesExporter: "otlp",
  metricsExporter: "otlp",
  metricExportInterval: Duration.seconds(60),
  sampler: "parentbased_always_on",
  samplerRatio: 1
}

describe("resource", () => {
  it("parses OTEL_RESOURCE_ATTRIBUTES, percent-decoding values and skipping malformed pairs", () => {
    expect(parseResourceAttributes("a=1, b = two ,broken,=x,c=%2Fpath%20x,d=")).toEqual({ a: "1", b: "two", c: "/path x" })
  })

  it("knows Lambda's and Kubernetes' facts from their environments", () => {
    expect(
      environmentAttributes({
        AWS_LAMBDA_FUNCTION_NAME: "serenya-documents",
        AWS_LAMBDA_FUNCTION_VERSION: "7",
        AWS_LAMBDA_LOG_STREAM_NAME: "2026/11/26/[7]abc",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "2048",
        AWS_REGION: "eu-west-1"
      })
    ).toEqual({
      "cloud.provider": "aws",
      "cloud.platform": "aws_lambda",
      "cloud.region": "eu-west-1",
      "faas.name": "serenya-documents",
      "faas.version": "7",
      "faas.instance": "2026/11/26/[7]abc",
      "faas.max_memory": 2048 * 1024 * 1024
    })
    expect(
      environmentAttributes({ KUBERNETES_SERVICE_HOST: "10.0.0.1", K8S_POD_NAME: "api-1", K8S_NAMESPACE_NAME: "serenya", K8S_NODE_NAME: "n1" })
    ).toEqual({
      "cloud.provider": "aws",
      "cloud.platform": "aws_eks",
      "k8s.pod.name": "api-1",
      "k8s.namespace.name": "serenya",
      "k8s.node.name": "n1"
    })
    expect(environmentAttributes({})).toEqual({})
  })

  it("OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES, which wins over our defaults", () => {
    const attributes = resourceAttributes({ ...off, serviceName: Option.some("from-name") }, "production", {
      OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attributes,deployment.environment=staging"
    })
    expect(attributes["service.name"]).toBe("from-name")
    expect(attributes["deployment.environment"]).toBe("staging")
    expect(resourceAttributes(off, "production", {})).toMatchObject({
      "service.name": "serenya-backend",
      "deployment.environment": "production"
    })
  })
})

describe("what gets exported", () => {
  it.effect("with no endpoint nothing is exported and spans are not recorded at all", () =>
    Effect.gen(function* () {
      const telemetry = yield* Telemetry
      expect(telemetry.tracing).toBe(false)
      const span = yield* Effect.currentSpan.pipe(Effect.withSpan("anything"))
      // the tracer is off: a span that records nothing and samples nothing
      expect(span.sampled).toBe(false)
    }).pipe(Effect.provide(makeTelemetryLayer(off, "test", {})))
  )

  it.effect("the console exporter needs no endpoint", () =>
    Effect.gen(function* () {
      expect((yield* Telemetry).tracing).toBe(true)
    }).pipe(Effect.provide(makeTelemetryLayer({ ...off, tracesExporter: "console", metricsExporter: "none" }, "test", {})))
  )

  it.live("http/protobuf (the default) and http/json both reach a collector; flush exports at once", () =>
    Effect.gen(function* () {
      const receiver = yield* Effect.promise(() => startOtlpReceiver())
      const settingsFor = (protocol: TelemetrySettings["protocol"]): TelemetrySettings => ({
        ...off,
        endpoint: Option.some(receiver.url),
        protocol,
        metricsExporter: "none"
      })
      for (const protocol of ["http/protobuf", "http/json"] as const) {
        yield* Effect.gen(function* () {
          yield* Effect.void.pipe(Effect.withSpan(`probe ${protocol}`))
          yield* (yield* Telemetry).flush
        }).pipe(Effect.provide(Layer.fresh(makeTelemetryLayer(settingsFor(protocol), "test", {}))), Effect.scoped)
      }
      expect(receiver.contentTypes()).toEqual(["/v1/traces application/x-protobuf", "/v1/traces application/json"])
      expect(receiver.spans().map((s) => s.name)).toEqual(["probe http/json"])
      yield* Effect.promise(() => receiver.close())
    })
  )

  it.live("a signal's own endpoint is used as given", () =>
    Effect.gen(function* () {
      const receiver = yield* Effect.promise(() => startOtlpReceiver())
      yield* Effect.gen(function* () {
        yield* Effect.void.pipe(Effect.withSpan("probe"))
        yield* (yield* Telemetry).flush
      }).pipe(
        Effect.provide(
          makeTelemetryLayer(
            { ...off, tracesEndpoint: Option.some(`${receiver.url}/custom/traces`), protocol: "http/json", metricsExporter: "none" },
            "test",
            {}
          )
        ),
        Effect.scoped
      )
      expect(receiver.contentTypes()).toEqual(["/custom/traces application/json"])
      yield* Effect.promise(() => receiver.close())
    })
  )
})
