/**
 * The local webhook layer against a real HTTP server on 127.0.0.1 (node:http, started per test):
 * the shared contract, then what goes on the wire (only the allowed fields, the Idempotency-Key),
 * how answers classify (5xx and 429 retried, 410 EndpointDisabled, other 4xx refused once), a
 * hanging server cut by the timeout, no URL (one log line, kind and ids only), and the layer built
 * from its settings.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Layer, Logger, Option, Redacted, References } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { NotificationsConfig } from "../../../src/config/notifications.js"
import { CircuitBreakersLive } from "../../../src/layers/resilience/circuitBreaker.js"
import { localEndpoint, makeWebhookNotifications, NotificationsWebhook } from "../../../src/layers/notifications/webhook.js"
import {
  EndpointDisabled,
  Notifications,
  NotificationsUnavailable,
  PUSH_TEXT
} from "../../../src/services/notifications.js"
import { makeRetrySchedule } from "../../../src/services/resilience.js"
import { userIdOf } from "../../support/ids.js"
import { testConfigProvider } from "../../support/settings.js"
import { ANDROID_TOKEN, IOS_TOKEN, message, notificationsContract } from "./contract.js"

interface Received {
  readonly method: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

type Answer = number | "hang"

/** A server recording every request, answering each with `answer(request, index)`; closed with the scope. */
const startServer = (answer: (request: Received, index: number) => Answer) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly server: http.Server; readonly url: string; readonly received: Array<Received> }>((resolve) => {
          const received: Array<Received> = []
          const server = http.createServer((req, res) => {
            const chunks: Array<Buffer> = []
            req.on("data", (chunk: Buffer) => chunks.push(chunk))
            req.on("end", () => {
              const request = { method: req.method ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") }
              received.push(request)
              const status = answer(request, received.length - 1)
              if (status !== "hang") res.writeHead(status, { "content-type": "application/json" }).end("{}")
            })
          })
          server.listen(0, "127.0.0.1", () =>
            resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`, received })
          )
        })
    ),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
  )

const fast = makeRetrySchedule({ base: "10 millis", maxRetries: 3, maxDelay: "40 millis" })

const webhookAt = (url: string, options: { readonly timeout?: Duration.Input; readonly retry?: typeof fast } = {}) =>
  makeWebhookNotifications({ url: Option.some(Redacted.make(url)), retry: options.retry ?? fast, timeout: options.timeout ?? "2 seconds" })

const bodyOf = (request: Received) => JSON.parse(request.body) as Record<string, unknown>

notificationsContract("webhook (node:http on 127.0.0.1)", () =>
  Effect.gen(function* () {
    const disabled = new Set<string>()
    const { url, received } = yield* startServer((request) => (disabled.has(String(bodyOf(request).endpoint)) ? 410 : 202))
    return {
      notifications: webhookAt(url),
      disable: (endpoint: string) => Effect.sync(() => void disabled.add(endpoint)),
      delivered: Effect.sync(() =>
        received
          .filter((request) => !disabled.has(String(bodyOf(request).endpoint)))
          .map((request) => ({ endpoint: String(bodyOf(request).endpoint), messageId: String(request.headers["idempotency-key"]) }))
      ),
      // register never calls out: only the pushes reach the server
      tokensSeen: Effect.sync(() => received.flatMap((request) => [request.body]))
    }
  })
)

const alice = userIdOf("alice")

describe("the webhook on the wire", () => {
  it.live("a push is a JSON POST of the endpoint, platform, fixed text and ids only, keyed by the message id", () =>
    Effect.gen(function* () {
      const { url, received } = yield* startServer(() => 200)
      const notifications = webhookAt(url)
      const endpoint = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
      yield* notifications.send(endpoint, "ios", message())
      const { contentId: _, ...failed } = message({ id: "retry-2", kind: "job.failed" })
      yield* notifications.send(endpoint, "ios", failed)
      expect(received).toHaveLength(2)
      const [first, second] = received
      expect(first!.method).toBe("POST")
      expect(first!.headers["content-type"]).toBe("application/json")
      expect(first!.headers["idempotency-key"]).toBe(message().id)
      expect(second!.headers["idempotency-key"]).toBe("retry-2")
      expect(bodyOf(first!)).toEqual({
        endpoint,
        platform: "ios",
        title: PUSH_TEXT["job.completed"].title,
        body: PUSH_TEXT["job.completed"].body,
        data: { kind: "job.completed", jobId: message().jobId, contentId: message().contentId }
      })
      expect(bodyOf(second!)).toEqual({
        endpoint,
        platform: "ios",
        ...PUSH_TEXT["job.failed"],
        data: { kind: "job.failed", jobId: message().jobId }
      })
      // nothing beyond the allowed fields, and never the token
      for (const request of received) {
        const body = bodyOf(request)
        expect(Object.keys(body).sort()).toEqual(["body", "data", "endpoint", "platform", "title"])
        expect(Object.keys(body.data as object).every((key) => ["kind", "jobId", "contentId"].includes(key))).toBe(true)
        expect(request.body).not.toContain(IOS_TOKEN)
      }
    }).pipe(Effect.scoped))

  it.live("register: a stable local:<hex> endpoint from a hash of (platform, token), as the memory layer answers", () =>
    Effect.gen(function* () {
      const notifications = webhookAt("http://127.0.0.1:9/unused")
      const ios = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
      expect(ios).toMatch(/^local:[0-9a-f]{32}$/)
      expect(ios).toBe(localEndpoint("ios", IOS_TOKEN))
      expect(yield* notifications.register(alice, { platform: "android", token: ANDROID_TOKEN })).not.toBe(ios)
    }))

  it.live("5xx and 429 are retried with the same Idempotency-Key until the webhook takes the push", () =>
    Effect.gen(function* () {
      const statuses = [503, 429, 500, 204]
      const { url, received } = yield* startServer((_, index) => statuses[index] ?? 204)
      yield* webhookAt(url).send("local:x", "android", message())
      expect(received).toHaveLength(4)
      expect(new Set(received.map((request) => request.headers["idempotency-key"]))).toEqual(new Set([message().id]))
    }).pipe(Effect.scoped))

  it.live("5xx past the retries: NotificationsUnavailable, transient", () =>
    Effect.gen(function* () {
      const { url, received } = yield* startServer(() => 502)
      const error = yield* Effect.flip(webhookAt(url).send("local:x", "android", message()))
      expect(error).toBeInstanceOf(NotificationsUnavailable)
      expect(error).toMatchObject({ transient: true, message: "The push webhook answered 502" })
      expect(received).toHaveLength(4)
    }).pipe(Effect.scoped))

  it.live("410: EndpointDisabled at once; another 4xx: refused once, not transient", () =>
    Effect.gen(function* () {
      const gone = yield* startServer(() => 410)
      expect(yield* Effect.flip(webhookAt(gone.url).send("local:x", "ios", message()))).toBeInstanceOf(EndpointDisabled)
      expect(gone.received).toHaveLength(1)
      const refusing = yield* startServer(() => 400)
      const error = yield* Effect.flip(webhookAt(refusing.url).send("local:x", "ios", message()))
      expect(error).toBeInstanceOf(NotificationsUnavailable)
      expect(error).toMatchObject({ transient: false })
      expect(refusing.received).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.live("a server that never answers is cut by the timeout on every attempt", () =>
    Effect.gen(function* () {
      const { url, received } = yield* startServer(() => "hang")
      const started = Date.now()
      const error = yield* Effect.flip(
        webhookAt(url, { timeout: "150 millis", retry: makeRetrySchedule({ base: "10 millis", maxRetries: 1, maxDelay: "10 millis" }) }).send(
          "local:x",
          "ios",
          message()
        )
      )
      expect(error).toBeInstanceOf(NotificationsUnavailable)
      expect(error).toMatchObject({ transient: true, message: "The push webhook timed out" })
      expect(received).toHaveLength(2)
      expect(Date.now() - started).toBeLessThan(2_000)
    }).pipe(Effect.scoped))

  it.live("nobody listening: NotificationsUnavailable, transient, naming no URL", () =>
    Effect.gen(function* () {
      // a port nothing listens on: a server's, once it is closed
      const closed = yield* Effect.scoped(Effect.map(startServer(() => 200), (s) => s.url))
      const error = yield* Effect.flip(webhookAt(closed).send("local:x", "ios", message()))
      expect(error).toBeInstanceOf(NotificationsUnavailable)
      expect(error).toMatchObject({ transient: true })
      expect(error.message).not.toContain("127.0.0.1")
    }).pipe(Effect.scoped))

  it.live("without NOTIFY_WEBHOOK_URL, send logs one line with the kind and ids, and nothing else", () =>
    Effect.gen(function* () {
      const lines: Array<{ readonly message: string; readonly annotations: Record<string, unknown> }> = []
      const notifications = makeWebhookNotifications({ url: Option.none() })
      const endpoint = yield* notifications.register(alice, { platform: "android", token: ANDROID_TOKEN })
      yield* notifications.send(endpoint, "android", message()).pipe(
        Effect.provide(
          Logger.layer([
            Logger.make(({ fiber, message: logged }) => {
              lines.push({
                message: Array.isArray(logged) ? logged.map(String).join(" ") : String(logged),
                annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
              })
            })
          ])
        )
      )
      expect(lines).toHaveLength(1)
      expect(lines[0]!.annotations).toEqual({
        kind: "job.completed",
        jobId: message().jobId,
        contentId: message().contentId,
        messageId: message().id
      })
      const everything = JSON.stringify(lines)
      expect(everything).not.toContain(ANDROID_TOKEN.slice(0, 20))
      expect(everything).not.toContain(endpoint)
      expect(everything).not.toContain(PUSH_TEXT["job.completed"].body)
    }))
})

describe("NotificationsWebhook (the layer, from its settings)", () => {
  it.live("reads NOTIFY_WEBHOOK_URL from the notifications slice and POSTs there", () =>
    Effect.gen(function* () {
      const { url, received } = yield* startServer(() => 200)
      yield* Effect.gen(function* () {
        const notifications = yield* Notifications
        yield* notifications.send("local:x", "ios", message())
      }).pipe(
        Effect.provide(
          NotificationsWebhook.pipe(Layer.provide(Layer.merge(NotificationsConfig.layer, CircuitBreakersLive)), Layer.provide(testConfigProvider({ NOTIFY_WEBHOOK_URL: url })))
        )
      )
      expect(received.map((request) => request.headers["idempotency-key"])).toEqual([message().id])
    }).pipe(Effect.scoped))
})
