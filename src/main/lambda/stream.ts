/**
 * The streamed routes as a Lambda function URL handler with response streaming (InvokeMode
 * RESPONSE_STREAM): `POST /chat/messages` (Server-Sent Events with `Accept: text/event-stream`,
 * JSON otherwise) and `GET /jobs/:jobId/events`. API Gateway's HTTP API neither streams nor waits
 * past 30 s, so CloudFront sends these two paths to the stream function's URL instead
 * (deploy/lambda/infra/edge.ts), with origin access control, under the same web ACL.
 *
 * It serves the same app as the chat function (api.ts: `buildWebHandler`, built once per
 * container) and differs only at both ends:
 * - in: the function URL's event, with the client's `Authorization` restored from the copy the
 *   edge made before CloudFront's SigV4 signature overwrote it (./functionUrl.ts);
 * - out: the web Response's status and headers go first (`awslambda.HttpResponseStream.from`),
 *   then each chunk of its body is written as the app produces it — nothing is buffered, so an
 *   event reaches CloudFront while the app's stream is still running. When the client goes away
 *   (the response stream errors or closes first) the body is cancelled, which interrupts the
 *   app's stream and runs its finalizers.
 * Telemetry is exported after the stream has ended and before the invocation does (as in
 * api.ts), so a long stream's spans and metrics are not left for the next invocation.
 *
 * `awslambda` is a global of Lambda's Node.js runtime; it is typed here (LambdaStreaming), and
 * tests install a stand-in on globalThis before making a handler.
 */
// First: Schema's JIT compiler (see src/main/server.ts).
import "effect/schema/SchemaJITCompiler/enable"
import type { Effect, Layer, Scope } from "effect"
import type { Writable } from "node:stream"
import { type ApiServices, type BuiltApi, buildWebHandler, liveApiServices } from "./api.js"
import { toWebRequest } from "./apiGateway.js"
import { makeContainer } from "./container.js"
import { type FunctionUrlEvent, fromEdge } from "./functionUrl.js"

/** What the runtime sends before the body: the response's status, headers and cookies. */
export interface StreamMetadata {
  readonly statusCode: number
  readonly headers: Record<string, string>
  readonly cookies?: ReadonlyArray<string>
}

/** A streaming handler as the runtime calls it (the third argument, Lambda's context, is not used). */
export type StreamingHandler = (event: FunctionUrlEvent, responseStream: Writable, context?: unknown) => Promise<void>

/** The part of Lambda's `awslambda` global this module uses. */
export interface LambdaStreaming {
  readonly streamifyResponse: (handler: StreamingHandler) => StreamingHandler
  readonly HttpResponseStream: { readonly from: (stream: Writable, metadata: StreamMetadata) => Writable }
}

/** The runtime's global, when there is one (Lambda; a test's stand-in). */
export const lambdaStreaming = (): LambdaStreaming | undefined => (globalThis as unknown as { awslambda?: LambdaStreaming }).awslambda

const notOnLambda: StreamingHandler = () =>
  Promise.reject(new Error("The stream handler needs Lambda's `awslambda` global (response streaming): it runs on Lambda only"))

const unavailable: Response = new Response(
  JSON.stringify({ error: { code: "SERVICE_UNAVAILABLE", message: "The service is starting; try again" } }),
  { status: 503, headers: { "content-type": "application/json", "retry-after": "1", "cache-control": "no-store" } }
)

export const metadataOf = (response: Response): StreamMetadata => {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value
  })
  const cookies = response.headers.getSetCookie()
  return { statusCode: response.status, headers, ...(cookies.length > 0 ? { cookies } : {}) }
}

/** Resolves when `stream` emits `event`, or can no longer (closed, failed, already done). */
const settled = (stream: Writable, event: "drain" | "finish"): Promise<void> =>
  new Promise((resolve) => {
    if (stream.destroyed || (event === "finish" && stream.writableFinished)) return resolve()
    const done = () => {
      stream.off(event, done)
      stream.off("close", done)
      stream.off("error", done)
      resolve()
    }
    stream.on(event, done)
    stream.on("close", done)
    stream.on("error", done)
  })

export type PipeOutcome = "completed" | "abandoned" | "failed"

/**
 * Writes `response` to Lambda's response stream: the metadata, then every chunk as it comes
 * (waiting for `drain` when the stream asks for it). The stream closing or failing before the
 * body ended means the client is gone: the body is cancelled (the app's stream is interrupted).
 * A body that fails part-way destroys the stream, so the client sees an incomplete response rather
 * than one that looks whole.
 */
export const pipeResponse = async (response: Response, responseStream: Writable, streaming: LambdaStreaming): Promise<PipeOutcome> => {
  const out = streaming.HttpResponseStream.from(responseStream, metadataOf(response))
  const reader = response.body?.getReader()
  let ended = false
  let abandoned = false
  const abandon = () => {
    if (ended || abandoned) return
    abandoned = true
    if (reader !== undefined) reader.cancel().catch(() => undefined)
  }
  out.on("close", abandon)
  out.on("error", abandon)
  try {
    if (reader === undefined) {
      // The runtime sends the metadata before the first write: a response without a body writes once, empty.
      out.write(new Uint8Array(0))
    } else {
      for (;;) {
        const { done, value } = await reader.read()
        if (done || abandoned) break
        if (value.byteLength > 0 && !out.write(value)) await settled(out, "drain")
        if (abandoned) break
      }
    }
    if (abandoned) return "abandoned"
    ended = true
    out.end()
    await settled(out, "finish")
    return "completed"
  } catch (error) {
    if (abandoned) return "abandoned"
    ended = true
    out.destroy(error instanceof Error ? error : new Error(String(error)))
    return "failed"
  } finally {
    out.off("close", abandon)
    // a listener stays: an error after the end must not become an uncaught exception
    out.off("error", abandon)
    out.on("error", () => undefined)
  }
}

/** Serves the web handler `build` returns (built once per container) on the function URL's events. */
export const makeWebStreamHandler = <E>(
  name: string,
  build: Effect.Effect<BuiltApi, E, Scope.Scope>,
  streaming: LambdaStreaming | undefined = lambdaStreaming()
) => {
  const container = makeContainer(name, build)
  const respond: StreamingHandler = async (event, responseStream) => {
    if (streaming === undefined) return notOnLambda(event, responseStream)
    const web = await container.get().catch(() => undefined)
    // The failure is logged by the container; this request gets a retryable answer.
    if (web === undefined) {
      await pipeResponse(unavailable.clone(), responseStream, streaming)
      return
    }
    try {
      const { event: request, peer } = fromEdge(event)
      const response = await web.handle(toWebRequest(request, process.env._X_AMZN_TRACE_ID), peer)
      await pipeResponse(response, responseStream, streaming)
    } finally {
      // after the stream has ended (or was abandoned), before the invocation does
      await web.flush()
    }
  }
  const handler = streaming === undefined ? notOnLambda : streaming.streamifyResponse(respond)
  return { handler, respond, dispose: container.dispose }
}

/** The API (api.ts's app, on `services`) as a streaming function URL handler. */
export const makeStreamHandler = <E>(name: string, services: Layer.Layer<ApiServices, E>, streaming?: LambdaStreaming) =>
  makeWebStreamHandler(name, buildWebHandler(services), streaming ?? lambdaStreaming())

// (importing api.ts has already loaded the AWS SDKs at init where concurrency is provisioned)
export const { handler } = makeStreamHandler(process.env.AWS_LAMBDA_FUNCTION_NAME ?? "stream", liveApiServices)
