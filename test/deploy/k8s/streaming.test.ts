/**
 * Long responses (Server-Sent Events, issue 21) on Kubernetes: the ALB's idle timeout against the
 * streams' keep-alive, the api server's timeouts against the ALB's, and — on the server the api
 * runs (makeNodeServer with SERVER_TIMEOUTS and its shutdownGuard) — a stream outliving
 * `requestTimeout` is not cut, and a stream in flight when shutdown begins finishes within
 * SHUTDOWN_TIMEOUT_MS (one that would outlive it is cut there, so the pod still stops in time).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { Duration, Effect, Exit, Fiber, Layer, Schedule, Scope, Stream } from "effect"
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress"
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap"
import type { AddressInfo } from "node:net"
import * as net from "node:net"
import type { Server } from "node:http"
import * as http from "node:http"
import { describe, expect, it } from "vitest"
import { ALB_IDLE_TIMEOUT_SECONDS, terminationGracePeriodSeconds } from "../../../deploy/k8s/chart.js"
import { environments } from "../../../deploy/k8s/environments.js"
import { SSE_KEEP_ALIVE_SECONDS, STREAMED_ROUTES } from "../../../deploy/streaming.js"
import { parsePlatformApplicationArn } from "../../../src/config/notifications.js"
import { makeNodeServer, SERVER_TIMEOUTS, shutdownGuard } from "../../../src/http/nodeServer.js"
import { named, synth } from "./manifests.js"

describe.each(Object.values(environments))("the chart ($name): timeouts for long responses, and push settings", (settings) => {
  const objects = synth(settings)
  const ingress = named<IIngress>(objects, "Ingress", "serenya-api")
  const attributes = Object.fromEntries(
    (ingress.metadata.annotations?.["alb.ingress.kubernetes.io/load-balancer-attributes"] ?? "").split(",").map((pair) => pair.split("=") as [string, string])
  )
  const data = named<IConfigMap>(objects, "ConfigMap", "serenya-config").data ?? {}

  it("sets the ALB's idle timeout explicitly, above the streams' keep-alive with room for missed comments", () => {
    expect(attributes["idle_timeout.timeout_seconds"]).toBe(String(ALB_IDLE_TIMEOUT_SECONDS))
    expect(ALB_IDLE_TIMEOUT_SECONDS).toBeGreaterThanOrEqual(3 * SSE_KEEP_ALIVE_SECONDS)
    // the other attribute stays
    expect(attributes["routing.http.drop_invalid_header_fields.enabled"]).toBe("true")
  })

  it("the server closes an idle connection only after the ALB would (its keep-alive timeout is above the ALB's idle timeout)", () => {
    expect(SERVER_TIMEOUTS.keepAliveTimeout).toBeGreaterThan(ALB_IDLE_TIMEOUT_SECONDS * 1000)
    // Node refuses a headersTimeout above a non-zero requestTimeout
    expect(SERVER_TIMEOUTS.headersTimeout).toBeLessThanOrEqual(SERVER_TIMEOUTS.requestTimeout)
  })

  it("the streamed routes are the api pods' own: one Ingress rule sends every path to them", () => {
    const paths = ingress.spec?.rules?.flatMap((rule) => rule.http?.paths ?? []) ?? []
    expect(paths).toEqual([expect.objectContaining({ path: "/", pathType: "Prefix" })])
    expect(STREAMED_ROUTES.length).toBeGreaterThan(0)
  })

  it("push through SNS: the provider and both platform applications, of the right platforms, in the pods' Region", () => {
    expect(data.NOTIFICATIONS_PROVIDER).toBe("sns")
    const ios = parsePlatformApplicationArn(data.SNS_PLATFORM_APPLICATION_ARN_IOS ?? "")
    const android = parsePlatformApplicationArn(data.SNS_PLATFORM_APPLICATION_ARN_ANDROID ?? "")
    expect(ios?.platform).toMatch(/^APNS(_SANDBOX)?$/)
    expect(android?.platform).toBe("GCM")
    expect(ios?.region).toBe(settings.app.awsRegion)
    expect(android?.region).toBe(settings.app.awsRegion)
    // production's iOS builds talk to APNs' production service
    if (settings.name === "production") expect(ios?.platform).toBe("APNS")
  })
})

// ---------------------------------------------------------------------------------------------
// The api's server, in process: makeNodeServer (with overrides where a test needs a short timeout),
// the shutdown guard, and a router serving Server-Sent Events.

const encoder = new TextEncoder()
const sse = (count: number, every: Duration.Input) =>
  Stream.fromSchedule(Schedule.spaced(every)).pipe(
    Stream.take(count),
    Stream.map((n) => encoder.encode(`id: ${n}\nevent: tick\ndata: {"n":${n}}\n\n`))
  )

const routes = Layer.mergeAll(
  HttpRouter.add("GET", "/events", (request) => {
    const url = new URL(request.url, "http://server")
    const count = Number(url.searchParams.get("count") ?? "5")
    const every = Number(url.searchParams.get("every") ?? "100")
    return Effect.succeed(HttpServerResponse.stream(sse(count, Duration.millis(every)), { contentType: "text/event-stream" }))
  }),
  // the chat's shape: a POST whose body is read before the answer streams
  HttpRouter.add("POST", "/events", (request) =>
    Effect.map(request.text, (body) =>
      HttpServerResponse.stream(Stream.concat(Stream.make(encoder.encode(`: got ${body.length} bytes\n\n`)), sse(6, "400 millis")), {
        contentType: "text/event-stream"
      })
    ).pipe(Effect.orDie)
  )
)

interface Running {
  readonly server: Server
  readonly port: number
  readonly scope: Scope.Closeable
}

const start = async (options: { readonly shutdownTimeout?: Duration.Input; readonly server?: http.ServerOptions } = {}): Promise<Running> => {
  const server = makeNodeServer({ ...SERVER_TIMEOUTS, ...options.server })
  const app = Layer.mergeAll(
    HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }),
    shutdownGuard(server, Duration.fromInputUnsafe(options.shutdownTimeout ?? "20 seconds"))
  ).pipe(Layer.provide(NodeHttpServer.layer(() => server, { port: 0, host: "127.0.0.1" })))
  const scope = Effect.runSync(Scope.make())
  await Effect.runPromise(Layer.buildWithScope(app, scope))
  return { server, port: (server.address() as AddressInfo).port, scope }
}

/** A request whose response is read as it comes: each chunk with the time it arrived. */
const open = (port: number, path: string, options: { readonly method?: string; readonly body?: string; readonly agent?: http.Agent } = {}) => {
  const chunks: Array<{ readonly at: number; readonly text: string }> = []
  let response: http.IncomingMessage | undefined
  const request = http.request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", agent: options.agent ?? false })
  const ended = new Promise<"ended" | "cut">((resolve) => {
    request.on("response", (res) => {
      response = res
      res.on("data", (chunk: Buffer) => chunks.push({ at: Date.now(), text: chunk.toString("utf8") }))
      res.on("end", () => resolve(res.complete ? "ended" : "cut"))
      res.on("aborted", () => resolve("cut"))
      res.on("error", () => resolve("cut"))
    })
    request.on("error", () => resolve("cut"))
  })
  request.end(options.body)
  const events = () => (chunks.map((c) => c.text).join("").match(/^event: tick$/gm) ?? []).length
  return { chunks, ended, events, status: () => response?.statusCode, request }
}

const waitFor = async (what: string, check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"))
  })

describe("the api server and long responses", () => {
  it("a stream outliving requestTimeout is not cut by it: the timeout bounds receiving the request, GET or POST", async () => {
    // Node's checks scaled down: the request must arrive within 1 s, checked every 100 ms
    const running = await start({ server: { requestTimeout: 1_000, headersTimeout: 1_000, connectionsCheckingInterval: 100 } })
    try {
      const get = open(running.port, "/events?count=12&every=250")
      const post = open(running.port, "/events", { method: "POST", body: JSON.stringify({ message: "How is my iron?" }) })
      const [getEnd, postEnd] = await Promise.all([get.ended, post.ended])
      expect([getEnd, postEnd]).toEqual(["ended", "ended"])
      expect(get.events()).toBe(12)
      expect(post.events()).toBe(6)
      // three seconds of streaming, three times the request timeout
      expect(get.chunks.at(-1)!.at - get.chunks[0]!.at).toBeGreaterThan(2_000)
    } finally {
      await Effect.runPromise(Scope.close(running.scope, Exit.void))
    }
  }, 20_000)

  it("a keep-alive connection idle past headersTimeout (and under keepAliveTimeout) is still there for the next request", async () => {
    const running = await start({ server: { keepAliveTimeout: 5_000, requestTimeout: 1_000, headersTimeout: 1_000, connectionsCheckingInterval: 100 } })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const sockets = new Set<net.Socket>()
      agent.on("free", (socket: net.Socket) => sockets.add(socket))
      const first = open(running.port, "/events?count=1&every=10", { agent })
      expect(await first.ended).toBe("ended")
      await new Promise((r) => setTimeout(r, 2_000))
      const second = open(running.port, "/events?count=1&every=10", { agent })
      expect(await second.ended).toBe("ended")
      // both requests went over one connection
      expect(sockets.size).toBe(1)
    } finally {
      agent.destroy()
      await Effect.runPromise(Scope.close(running.scope, Exit.void))
    }
  }, 20_000)

  it("shutdown lets an SSE response in flight finish within SHUTDOWN_TIMEOUT_MS, and refuses new connections", async () => {
    const shutdownTimeoutMs = environments.production.shutdown.timeoutSeconds * 1000
    const running = await start({ shutdownTimeout: Duration.millis(shutdownTimeoutMs) })
    const stream = open(running.port, "/events?count=10&every=150")
    await waitFor("the first event", () => stream.events() >= 1)

    const startedAt = Date.now()
    const closing = Effect.runFork(Scope.close(running.scope, Exit.void))
    const refusedNow = await (async () => {
      const deadline = Date.now() + 3_000
      while (Date.now() < deadline) {
        if (await refused(running.port)) return true
        await new Promise((r) => setTimeout(r, 20))
      }
      return false
    })()
    expect(refusedNow).toBe(true)
    // the stream goes on after shutdown began, to its own end
    expect(stream.events()).toBeLessThan(10)
    expect(await stream.ended).toBe("ended")
    expect(stream.events()).toBe(10)
    expect(stream.chunks.some((c) => c.at > startedAt)).toBe(true)

    await Effect.runPromise(Fiber.join(closing))
    const tookMs = Date.now() - startedAt
    // done when the stream was, long before the timeout (and the pod's grace period)
    expect(tookMs).toBeLessThan(shutdownTimeoutMs)
    expect(tookMs).toBeLessThan(terminationGracePeriodSeconds(shutdownTimeoutMs / 1000, environments.production.shutdown.preStopSeconds) * 1000)
  }, 30_000)

  it("a stream that would outlive SHUTDOWN_TIMEOUT_MS is cut there, so the process still stops in time", async () => {
    const shutdownTimeoutMs = 1_500
    const running = await start({ shutdownTimeout: Duration.millis(shutdownTimeoutMs) })
    // a job's events can stay open for minutes
    const stream = open(running.port, "/events?count=1000&every=100")
    await waitFor("the first event", () => stream.events() >= 1)
    const startedAt = Date.now()
    await Effect.runPromise(Scope.close(running.scope, Exit.void))
    const tookMs = Date.now() - startedAt
    expect(await stream.ended).toBe("cut")
    expect(tookMs).toBeGreaterThanOrEqual(shutdownTimeoutMs - 50)
    expect(tookMs).toBeLessThan(shutdownTimeoutMs + 2_000)
    // it ran until then: events kept coming after shutdown began
    expect(stream.chunks.filter((c) => c.at > startedAt + 500).length).toBeGreaterThan(0)
  }, 20_000)
})
