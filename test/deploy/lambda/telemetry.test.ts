/**
 * Telemetry leaving a Lambda invocation: the handlers built as on Lambda (lambdaTelemetryLayer:
 * OTLP export when configured, EMF lines always) over test services and a real PostgreSQL. When
 * the handler has returned, the spans are already at the OTLP receiver (127.0.0.1) and the EMF
 * lines are written — Lambda freezes the process then, so nothing may wait for later. The spans
 * continue the invocation's X-Ray segment (`_X_AMZN_TRACE_ID`).
 */
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EmfSink } from "../../../src/layers/telemetry/emf.js"
import { makeApiHandler } from "../../../src/main/lambda/api.js"
import { lambdaTelemetryLayer } from "../../../src/main/lambda/live.js"
import { makeProcessorHandler, ProcessorConfig } from "../../../src/main/lambda/processor.js"
import { startOtlpReceiver, type OtlpReceiver } from "../../telemetry/otlpReceiver.js"
import { appTestServices } from "../../support/services.js"
import { gatewayEvent } from "./support/events.js"
import { testSettings } from "../../support/settings.js"

const XRAY_TRACE = "65f0c0de0123456789abcdef01234567"
const XRAY_PARENT = "53995c3f42cd8ad8"
const xrayEnv = (sampled: 0 | 1) => `Root=1-${XRAY_TRACE.slice(0, 8)}-${XRAY_TRACE.slice(8)};Parent=${XRAY_PARENT};Sampled=${sampled};Lineage=a87bd80c:0`

let receiver: OtlpReceiver
const emf: Array<Record<string, unknown>> = []
let api: ReturnType<typeof makeApiHandler>
let processor: ReturnType<typeof makeProcessorHandler>

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  const settings = testSettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_METRICS_EXPORTER: "none",
    RATE_LIMIT_IP_CAPACITY: "100000"
  })
  const telemetry = lambdaTelemetryLayer(settings).pipe(
    Layer.provide(Layer.succeed(EmfSink, { emit: (line) => Effect.sync(() => void emf.push(JSON.parse(line) as Record<string, unknown>)) }))
  )
  const services = Layer.mergeAll(appTestServices({ settings }), Layer.succeed(ProcessorConfig, { maxReceiveCount: 5 }), telemetry)
  api = makeApiHandler("telemetry-api", services)
  processor = makeProcessorHandler("telemetry-processor", services)
}, 60_000)

afterAll(async () => {
  await api.dispose()
  await processor.dispose()
  await receiver.close()
})

const apiEvent = (method: string, rawPath: string) =>
  gatewayEvent(method, rawPath, { "x-amzn-trace-id": `Root=1-${XRAY_TRACE.slice(0, 8)}-${XRAY_TRACE.slice(8)}` })

/** Runs one invocation with Lambda's per-invocation X-Ray variable set, as the runtime does. */
const invoke = async <A>(header: string | undefined, run: () => Promise<A>): Promise<A> => {
  const before = process.env._X_AMZN_TRACE_ID
  if (header === undefined) delete process.env._X_AMZN_TRACE_ID
  else process.env._X_AMZN_TRACE_ID = header
  try {
    return await run()
  } finally {
    if (before === undefined) delete process.env._X_AMZN_TRACE_ID
    else process.env._X_AMZN_TRACE_ID = before
  }
}

describe("an API invocation on Lambda", () => {
  it("has exported its spans, under the invocation's X-Ray segment, and written its error metric as EMF when it returns", async () => {
    const result = await invoke(xrayEnv(1), () => api.handler(apiEvent("GET", "/me")))
    expect(result.statusCode).toBe(401)

    // no waiting: the handler flushed before returning
    const server = receiver.spans().filter((s) => s.traceId === XRAY_TRACE && s.kind === 2)
    expect(server).toHaveLength(1)
    expect(server[0]!.parentSpanId).toBe(XRAY_PARENT)
    expect(server[0]!.attributes["http.response.status_code"]).toBe(401)

    const errors = emf.filter((line) => line.ErrorsByCategory !== undefined)
    expect(errors).toEqual([
      expect.objectContaining({ Category: expect.any(String), RecoveryStrategy: expect.any(String), ErrorsByCategory: 1 })
    ])
    const directive = (errors[0]!._aws as { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: Array<Array<string>> }> }).CloudWatchMetrics[0]!
    expect(directive).toMatchObject({ Namespace: "Serenya/Errors", Dimensions: [["Category", "RecoveryStrategy"], ["Category"]] })
  })

  it("a second invocation writes only its own errors (counts are not written twice)", async () => {
    const before = emf.length
    expect((await invoke(xrayEnv(1), () => api.handler(apiEvent("GET", "/health")))).statusCode).toBe(200)
    expect(emf.slice(before).filter((line) => line.ErrorsByCategory !== undefined)).toEqual([])
  })

  it("an unsampled X-Ray context is not followed: the request is traced on its own sampler's decision", async () => {
    const spansBefore = receiver.spans().length
    expect((await invoke(xrayEnv(0), () => api.handler(apiEvent("GET", "/health")))).statusCode).toBe(200)
    const added = receiver.spans().slice(spansBefore).filter((s) => s.kind === 2)
    expect(added).toHaveLength(1)
    expect(added[0]!.traceId).not.toBe(XRAY_TRACE)
    expect(added[0]!.parentSpanId).toBe("")
  })
})

describe("a processor invocation on Lambda", () => {
  it("has exported its spans, under the invocation's X-Ray segment, when it returns", async () => {
    const messageId = randomUUID()
    const response = await invoke(xrayEnv(1), () =>
      processor.handler({
        Records: [
          {
            messageId,
            receiptHandle: "r",
            body: JSON.stringify({ jobId: randomUUID() }),
            attributes: {
              ApproximateReceiveCount: "1",
              SentTimestamp: "0",
              SenderId: "s",
              ApproximateFirstReceiveTimestamp: "0"
            },
            messageAttributes: {},
            md5OfBody: "",
            eventSource: "aws:sqs",
            eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:jobs",
            awsRegion: "eu-west-1"
          }
        ]
      })
    )
    expect(response).toEqual({ batchItemFailures: [] })
    const batch = receiver.spans().find((s) => s.name === "Lambda.processBatch")
    expect(batch).toMatchObject({ traceId: XRAY_TRACE, parentSpanId: XRAY_PARENT })
    const record = receiver.spans().find((s) => s.name === "Lambda.processRecord")
    expect(record).toMatchObject({ traceId: XRAY_TRACE, parentSpanId: batch!.spanId })
    expect(record!.attributes["messaging.message.id"]).toBe(messageId)
  })
})
