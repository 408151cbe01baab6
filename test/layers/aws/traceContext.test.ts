/**
 * Every AWS call carries its span's trace context: a real SDK client against a server of the
 * test's own on 127.0.0.1, which records the headers each request arrived with.
 */
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { Effect, Tracer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { propagateTraceContext, tryAws } from "../../../src/layers/aws/sdk.js"
import { parseXRayHeader } from "../../../src/services/xray.js"

const received: Array<http.IncomingHttpHeaders & { path: string }> = []
const server = http.createServer((request, response) => {
  received.push({ ...request.headers, path: request.url ?? "" })
  // slow enough that concurrent calls overlap
  setTimeout(() => response.writeHead(200, { "content-length": "0" }).end(), 20)
})
let client: S3Client

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  client = propagateTraceContext(
    new S3Client({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: "eu-west-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1
    })
  )
})

afterAll(async () => {
  client.destroy()
  await new Promise((resolve) => server.close(resolve))
})

const head = (key: string) => tryAws((abortSignal) => client.send(new HeadObjectCommand({ Bucket: "b", Key: key }), { abortSignal }), (e) => e)
const headerOf = (key: string) => received.find((r) => r.path.endsWith(`/b/${key}`))!

describe("trace context on AWS calls", () => {
  it("a call inside a span sends its traceparent and the same trace and parent as X-Amzn-Trace-Id", async () => {
    const span = await Effect.runPromise(Effect.flatMap(head("inside"), () => Effect.currentSpan).pipe(Effect.withSpan("S3.HeadObject")))
    const headers = headerOf("inside")
    expect(headers.traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`)
    expect(parseXRayHeader(String(headers["x-amzn-trace-id"]))).toEqual({ traceId: span.traceId, parentId: span.spanId, sampled: true })
  })

  it("a call outside any span sends neither", async () => {
    await Effect.runPromise(head("outside"))
    expect(headerOf("outside").traceparent).toBeUndefined()
    expect(headerOf("outside")["x-amzn-trace-id"]).toBeUndefined()
  })

  it("concurrent calls each carry their own span's context, never another's", async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `concurrent-${i}`)
    const spans = await Effect.runPromise(
      Effect.forEach(keys, (key) => Effect.flatMap(head(key), () => Effect.currentSpan).pipe(Effect.withSpan(`call ${key}`)), {
        concurrency: "unbounded"
      })
    )
    keys.forEach((key, i) => expect(headerOf(key).traceparent, key).toBe(`00-${spans[i]!.traceId}-${spans[i]!.spanId}-01`))
  })

  it("an unsampled span's context is sent as unsampled", async () => {
    const parent = Tracer.externalSpan({ traceId: "65f0c0de0123456789abcdef01234567", spanId: "53995c3f42cd8ad8", sampled: false })
    await Effect.runPromise(head("unsampled").pipe(Effect.withSpan("child"), Effect.withParentSpan(parent)))
    const headers = headerOf("unsampled")
    expect(String(headers.traceparent)).toMatch(/^00-65f0c0de0123456789abcdef01234567-[0-9a-f]{16}-00$/)
    expect(String(headers["x-amzn-trace-id"])).toMatch(/^Root=1-65f0c0de-0123456789abcdef01234567;Parent=[0-9a-f]{16};Sampled=0$/)
  })
})
