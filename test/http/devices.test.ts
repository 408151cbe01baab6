/**
 * Devices through the real application (routes, authentication, schemas, error rendering, the
 * worker pool) over a real database: POST, GET and DELETE /me/devices; another user's device reads
 * as missing; a hostile body (any platform, any token) is a 201 or a 400, never a 500, and never
 * answered back; and a document uploaded by a user with a phone ends in exactly one push to it,
 * saying only that the document is ready. Also what a registration costs here (logged).
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import { randomBytes, randomUUID } from "node:crypto"
import { serveApi } from "../../src/http/app.js"
import { ApiLive } from "../../src/http/serve.js"
import { NotificationsMemoryProbe } from "../../src/layers/notifications/memory.js"
import { workerPoolLayer } from "../../src/main/workerPool.js"
import { AccessTokens } from "../../src/services/auth.js"
import { fixturePath } from "../support/fixtures.js"
import { appTestServices } from "../support/services.js"
import { testSettings } from "../support/settings.js"
import { newUser } from "../support/users.js"
import * as fs from "node:fs"

const settings = testSettings({
  FREE_PLAN_DOCUMENTS_PER_MONTH: "1000",
  RATE_LIMIT_IP_CAPACITY: "100000",
  RATE_LIMIT_USER_CAPACITY: "100000"
})
const Workers = workerPoolLayer({ concurrency: 1, poll: "20 millis", lease: "10 seconds", shutdownTimeout: "2 seconds" })
const App = Layer.merge(serveApi(ApiLive).pipe(Layer.provideMerge(NodeHttpServer.layerTest)), Workers).pipe(
  Layer.provideMerge(appTestServices({ settings }))
)

const signedIn = Effect.gen(function* () {
  const userId = yield* newUser("Device Owner")
  const { token } = yield* Effect.flatMap(AccessTokens, (tokens) => tokens.issue(userId, randomUUID()))
  return { userId, token }
})
type Caller = { readonly token: string }

const send = (request: HttpClientRequest.HttpClientRequest, caller?: Caller) =>
  HttpClient.execute(caller === undefined ? request : HttpClientRequest.bearerToken(request, caller.token))
const register = (caller: Caller | undefined, body: unknown) =>
  send(HttpClientRequest.post("/me/devices").pipe(HttpClientRequest.bodyJsonUnsafe(body)), caller)
/** A JSON answer, read loosely (the tests check its fields). */
interface Body {
  readonly [key: string]: unknown
  readonly error: { readonly code: string; readonly message: string }
  readonly id: string
  readonly devices: ReadonlyArray<unknown>
  readonly jobId: string
  readonly status: string
  readonly contentId: string
}
const json = (response: HttpClientResponse.HttpClientResponse) => Effect.map(response.json, (body) => body as Body)
const text = (response: HttpClientResponse.HttpClientResponse) => response.text

const apnsToken = () => randomBytes(32).toString("hex")
/** A real pause: the tests run on the TestClock, the server and the pool on the live one. */
const pause = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

layer(App, { timeout: 120_000, excludeTestServices: true })("/me/devices", (it) => {
  it.effect("POST registers (201: id, platform, createdAt; never the token), again answers the same device; GET lists; DELETE removes", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const token = apnsToken()
      const created = yield* register(user, { platform: "ios", token })
      expect(created.status).toBe(201)
      const raw = yield* text(created)
      expect(raw).not.toContain(token)
      const device = JSON.parse(raw) as Record<string, string>
      expect(Object.keys(device).sort()).toEqual(["createdAt", "id", "platform"])
      expect(device.platform).toBe("ios")
      expect(new Date(device.createdAt!).toISOString()).toBe(device.createdAt)

      const again = yield* register(user, { platform: "ios", token })
      expect(again.status).toBe(201)
      expect(yield* json(again)).toEqual(device)

      const listed = yield* send(HttpClientRequest.get("/me/devices"), user)
      expect(listed.status).toBe(200)
      expect(yield* json(listed)).toEqual({ devices: [device] })

      const exported = yield* json(yield* send(HttpClientRequest.get("/me/export"), user))
      expect(exported.devices).toEqual([{ deviceId: device.id, platform: "ios", createdAt: device.createdAt }])

      const removed = yield* send(HttpClientRequest.delete(`/me/devices/${device.id}`), user)
      expect(removed.status).toBe(204)
      expect(yield* json(yield* send(HttpClientRequest.get("/me/devices"), user))).toEqual({ devices: [] })
      const twice = yield* send(HttpClientRequest.delete(`/me/devices/${device.id}`), user)
      expect(twice.status).toBe(404)
      expect((yield* json(twice)).error.code).toBe("NOT_FOUND")
    })
  )

  it.effect("another user's device reads as missing (404) and stays; a malformed id is a 400; no token, a 401", () =>
    Effect.gen(function* () {
      const alice = yield* signedIn
      const mallory = yield* signedIn
      const device = yield* json(yield* register(alice, { platform: "ios", token: apnsToken() }))

      const refused = yield* send(HttpClientRequest.delete(`/me/devices/${device.id}`), mallory)
      expect(refused.status).toBe(404)
      const missing = yield* send(HttpClientRequest.delete(`/me/devices/${randomUUID()}`), mallory)
      expect(yield* json(refused)).toMatchObject({ error: { code: "NOT_FOUND", message: (yield* json(missing)).error.message } })
      expect((yield* json(yield* send(HttpClientRequest.get("/me/devices"), alice))).devices).toHaveLength(1)
      expect((yield* json(yield* send(HttpClientRequest.get("/me/devices"), mallory))).devices).toEqual([])

      expect((yield* send(HttpClientRequest.delete("/me/devices/not-a-uuid"), alice)).status).toBe(400)
      expect((yield* register(undefined, { platform: "ios", token: apnsToken() })).status).toBe(401)
      expect((yield* send(HttpClientRequest.delete(`/me/devices/${device.id}`))).status).toBe(401)
    })
  )

  it.effect("a token not of its platform's shape, or an unknown platform, is a 400 naming the field; neither is answered back", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const fcmLooking = `fcm:${randomBytes(120).toString("base64url")}`
      const wrong = yield* register(user, { platform: "ios", token: fcmLooking })
      expect(wrong.status).toBe(400)
      const wrongText = yield* text(wrong)
      expect(JSON.parse(wrongText).error).toMatchObject({ code: "VALIDATION_FAILED", message: expect.stringContaining("token") })
      expect(wrongText).not.toContain(fcmLooking)

      const platform = "windows-phone-secret-platform"
      const unknown = yield* register(user, { platform, token: apnsToken() })
      expect(unknown.status).toBe(400)
      const unknownText = yield* text(unknown)
      expect(JSON.parse(unknownText).error.code).toBe("VALIDATION_FAILED")
      expect(unknownText).not.toContain(platform)

      const tooLong = yield* register(user, { platform: "android", token: "a".repeat(5000) })
      expect(tooLong.status).toBe(400)
      expect(yield* text(tooLong)).not.toContain("a".repeat(64))
    })
  )

  it.effect("property: any JSON body is a 201 or a 400 — never a 500 — and never carries the token or platform back", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const hostile = fc.oneof(
        fc.string({ maxLength: 80 }),
        fc.string({ unit: "binary", maxLength: 80 }),
        fc.constantFrom("ios", "android", "IOS", " ios", "ios\u0000", "💥", "__proto__")
      )
      const token = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.stringMatching(/^[A-Za-z0-9_:.-]{100,140}$/),
        fc.constantFrom("<script>alert(1)</script>".repeat(4), "'; DROP TABLE devices; --".repeat(4))
      )
      const body = fc.oneof(
        fc.record({ platform: fc.constantFrom("ios", "android"), token }),
        fc.record({ platform: fc.constant("ios"), token: fc.stringMatching(/^[0-9a-fA-F]{64,80}$/) }),
        fc.record({ platform: hostile, token }),
        fc.record({ platform: hostile, token, extra: fc.string() }),
        fc.record({ token }),
        fc.record({ platform: fc.constant("ios"), token: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())) })
      )
      const samples = fc.sample(body, { numRuns: 120, seed: 2103 })
      const statuses = new Set<number>()
      for (const sample of samples) {
        const response = yield* register(user, sample)
        statuses.add(response.status)
        expect([201, 400], JSON.stringify(sample).slice(0, 120)).toContain(response.status)
        const answer = yield* text(response)
        const sent = sample as { platform?: unknown; token?: unknown }
        if (typeof sent.token === "string" && sent.token.length >= 8) expect(answer).not.toContain(sent.token)
        if (response.status === 400) {
          expect(JSON.parse(answer).error.code).toMatch(/^(VALIDATION_FAILED|INVALID_PUSH_TOKEN)$/)
          if (typeof sent.platform === "string" && sent.platform.length >= 8) expect(answer).not.toContain(sent.platform)
        }
      }
      // both answers were met: the property saw valid registrations and refusals
      expect([...statuses].sort()).toEqual([201, 400])
    })
  )

  it.effect("a document uploaded by a user with two phones: each gets exactly one push, 'ready' with ids only", () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const user = yield* signedIn
      for (const token of [apnsToken(), apnsToken()]) expect((yield* register(user, { platform: "ios", token })).status).toBe(201)

      const pdf = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
      const accepted = yield* send(
        HttpClientRequest.post("/documents/upload").pipe(
          HttpClientRequest.bodyJsonUnsafe({ fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") })
        ),
        user
      )
      expect(accepted.status).toBe(202)
      const { jobId } = yield* json(accepted)
      let status: Partial<Body> = {}
      for (let i = 0; i < 400 && status.status !== "completed" && status.status !== "failed"; i++) {
        status = yield* json(yield* send(HttpClientRequest.get(`/jobs/${jobId}/status`), user))
        if (status.status !== "completed") yield* pause(25)
      }
      expect(status.status).toBe("completed")
      // the push follows the commit at once (the fast path): give it a moment, bounded
      let pushes = (yield* probe.delivered).filter((d) => d.message.jobId === jobId)
      for (let i = 0; i < 100 && pushes.length < 2; i++) {
        yield* pause(20)
        pushes = (yield* probe.delivered).filter((d) => d.message.jobId === jobId)
      }
      expect(pushes).toHaveLength(2)
      expect(new Set(pushes.map((p) => p.endpoint)).size).toBe(2)
      for (const push of pushes) expect(push.message).toEqual({ id: expect.any(String), kind: "job.completed", jobId, contentId: status.contentId })
      expect(JSON.stringify(pushes)).not.toMatch(/Hemoglobin|11\.2|cbc\.pdf/)
    })
  )

  it.effect("what a registration costs here: milliseconds per POST (new device, same token again)", () =>
    Effect.gen(function* () {
      const users = yield* Effect.forEach(Array.from({ length: 40 }), () => signedIn)
      // warm up the path (first requests compile schemas, open connections)
      for (const user of users.slice(0, 5)) yield* register(user, { platform: "ios", token: apnsToken() })
      const timed = users.slice(5)
      const tokens = timed.map(() => apnsToken())

      const startNew = performance.now()
      for (const [i, user] of timed.entries()) expect((yield* register(user, { platform: "ios", token: tokens[i] })).status).toBe(201)
      const newMs = (performance.now() - startNew) / timed.length

      const startAgain = performance.now()
      for (const [i, user] of timed.entries()) expect((yield* register(user, { platform: "ios", token: tokens[i] })).status).toBe(201)
      const againMs = (performance.now() - startAgain) / timed.length

      console.log(`POST /me/devices: ${newMs.toFixed(2)} ms per new device, ${againMs.toFixed(2)} ms per re-registration (${timed.length} each, in process, memory provider)`)
      expect(newMs).toBeGreaterThan(0)
      expect(newMs).toBeLessThan(1000)
    })
  )
})
