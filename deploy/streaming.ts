/**
 * What both deployments assume of the API's streamed responses (Server-Sent Events, issue 21), in
 * one place: which routes stream, how often a quiet stream sends a keep-alive comment, and how
 * long a job's event stream may stay open. Every proxy in front of the app must wait longer than
 * the keep-alive without a byte (CloudFront's origin read timeout on Lambda, the ALB's idle
 * timeout on Kubernetes), and whatever runs a stream must outlive its longest one.
 *
 * The tests hold these to the API itself: every endpoint with an SSE response is one of
 * STREAMED_ROUTES, and each of those responses sends keep-alives at SSE_KEEP_ALIVE_SECONDS at
 * most (test/deploy/lambda/streaming.test.ts).
 */
import { Duration } from "effect"
import { SSE_KEEP_ALIVE } from "../src/http/schemas.js"
import { MAX_STREAM } from "../src/programs/jobEvents.js"

/** The keep-alive comment's interval the API's SSE responses promise (`keepAlive` of HttpApiSchema.StreamSse). */
export const SSE_KEEP_ALIVE_SECONDS = Duration.toSeconds(Duration.fromInputUnsafe(SSE_KEEP_ALIVE))

/**
 * How long a job's event stream stays open before it ends with a reconnect hint
 * (src/programs/jobEvents.ts MAX_STREAM); the chat's streamed answer is far shorter (its time budget).
 */
export const LONGEST_STREAM_SECONDS = Duration.toSeconds(MAX_STREAM)

/**
 * The routes that answer as a stream, in the API's path syntax. On Lambda, CloudFront sends them to
 * the stream function's URL (deploy/lambda/infra/edge.ts); on Kubernetes they are ordinary routes
 * of the api pods.
 */
export const STREAMED_ROUTES: ReadonlyArray<{ readonly method: "GET" | "POST"; readonly path: string }> = [
  // SSE with `Accept: text/event-stream`, JSON otherwise: the same path and method either way
  { method: "POST", path: "/chat/messages" },
  { method: "GET", path: "/jobs/:jobId/events" }
]

/** A path of the API (`/jobs/:jobId/events`) as a CloudFront path pattern (`/jobs/*\/events`). */
export const cloudFrontPathPattern = (path: string): string => path.replace(/:\w+/g, "*")
