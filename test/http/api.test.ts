/**
 * The user-facing API in process, over a real PostgreSQL: real job queue and worker pool, memory
 * crypto/storage/cost/audit, the offline LLM. The whole walk of a document, plus authentication,
 * isolation between users, size/type/validation refusals and idempotent uploads.
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { serveApi } from "../../src/http/app.js"
import { ApiLive } from "../../src/http/serve.js"
import { workerPoolLayer } from "../../src/main/workerPool.js"
import { AccessTokens } from "../../src/services/auth.js"
import { makeApiClient } from "../../src/http/client.js"
import { ContentId } from "../../src/services/ids.js"
import { appTestServices } from "../support/services.js"
import { testSettings } from "../support/settings.js"
import { newUser } from "../support/users.js"
import { auditRows } from "../support/audit.js"
import { fixturePath } from "../support/fixtures.js"

const pdf = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
const MAX_UPLOAD_BYTES = 64 * 1024

const settings = testSettings({
  FREE_PLAN_DOCUMENTS_PER_MONTH: "1000",
  MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
  DEV_AUTH_ENABLED: "true",
  // Job polling makes many requests; the limiter has its own tests (rateLimit.test.ts).
  RATE_LIMIT_IP_CAPACITY: "100000",
  RATE_LIMIT_USER_CAPACITY: "100000"
})
const Services = appTestServices({ settings })

const Workers = workerPoolLayer({ concurrency: 2, poll: "20 millis", lease: "10 seconds", shutdownTimeout: "2 seconds" })

const ServeOnly = serveApi(ApiLive).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

const App = Layer.merge(ServeOnly, Workers).pipe(
  Layer.provideMerge(Services)
)

// ---------------------------------------------------------------------------------------------

const ErrorBody = Schema.Struct({ error: Schema.Struct({ code: Schema.String, message: Schema.String }) })

/** A user inserted in the database and an access token for them. */
const signedIn = Effect.gen(function* () {
  const userId = yield* newUser("Jane Doe")
  const { token } = yield* Effect.flatMap(AccessTokens, (tokens) => tokens.issue(userId, randomUUID()))
  return { userId, token }
})

type Caller = { readonly token: string }

const send = (request: HttpClientRequest.HttpClientRequest, caller?: Caller) =>
  HttpClient.execute(caller === undefined ? request : HttpClientRequest.bearerToken(request, caller.token))

const jsonOf = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.json, (body) => body as Record<string, unknown>)

const errorCode = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(Effect.flatMap(response.json, Schema.decodeUnknownEffect(ErrorBody)), (body) => body.error.code)

const uploadJson = (
  caller: Caller,
  body: Record<string, unknown>,
  headers: Record<string, string> = {}
) =>
  send(
    HttpClientRequest.post("/documents/upload").pipe(
      HttpClientRequest.setHeaders(headers),
      HttpClientRequest.bodyJsonUnsafe(body)
    ),
    caller
  )

const pdfUpload = { fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") }

const JobStatus = Schema.Struct({ status: Schema.String, contentId: Schema.optional(Schema.String) })

/** Polls the job's status until it is completed or failed. */
const waitForJob = (caller: Caller, jobId: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 300; i++) {
      const response = yield* send(HttpClientRequest.get(`/jobs/${jobId}/status`), caller)
      expect(response.status).toBe(200)
      const status = yield* Effect.flatMap(response.json, Schema.decodeUnknownEffect(JobStatus))
      if (status.status === "completed" || status.status === "failed") return status
      // A real pause: tests run on the TestClock, the worker pool on the live one.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
    }
    return yield* Effect.die(new Error("the job did not finish"))
  })

const uploadAndProcess = (caller: Caller) =>
  Effect.gen(function* () {
    const response = yield* uploadJson(caller, pdfUpload)
    expect(response.status).toBe(202)
    const { jobId } = (yield* jsonOf(response)) as { jobId: string }
    const status = yield* waitForJob(caller, jobId)
    expect(status.status).toBe("completed")
    return { jobId, contentId: status.contentId ?? "" }
  })

const Content = Schema.Struct({
  contentId: Schema.String,
  results: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      value: Schema.Union([Schema.Number, Schema.String]),
      unit: Schema.String,
      referenceRange: Schema.Struct({ low: Schema.optional(Schema.Number), high: Schema.optional(Schema.Number) }),
      flag: Schema.String
    })
  ),
  summary: Schema.String,
  provider: Schema.String,
  modelId: Schema.String
})

// ---------------------------------------------------------------------------------------------

layer(App, { timeout: 60_000, excludeTestServices: true })("user-facing API over a real database", (it) => {
  it.effect("the whole walk: upload → job → timeline → content → chat → conversation → export → erase", () =>
    Effect.gen(function* () {
      const user = yield* signedIn

      const accepted = yield* uploadJson(user, pdfUpload, { "idempotency-key": "walk-1" })
      expect(accepted.status).toBe(202)
      const { jobId, status } = (yield* jsonOf(accepted)) as { jobId: string; status: string }
      expect(status).toBe("queued")

      const job = yield* waitForJob(user, jobId)
      expect(job.status).toBe("completed")
      const contentId = job.contentId ?? ""

      const timeline = yield* send(HttpClientRequest.get("/content/timeline?limit=20&offset=0"), user)
      expect(timeline.status).toBe(200)
      const page = (yield* jsonOf(timeline)) as { items: Array<{ contentId: string; flaggedCount: number }>; total: number; limit: number; offset: number }
      expect(page).toMatchObject({ total: 1, limit: 20, offset: 0 })
      expect(page.items[0]?.contentId).toBe(contentId)
      expect(page.items[0]?.flaggedCount).toBeGreaterThan(0)

      const contentResponse = yield* send(HttpClientRequest.get(`/content/${contentId}`), user)
      expect(contentResponse.status).toBe(200)
      const content = yield* Effect.flatMap(contentResponse.json, Schema.decodeUnknownEffect(Content))
      expect(content.results.find((r) => r.name === "Hemoglobin")).toMatchObject({
        value: 11.2,
        unit: "g/dL",
        referenceRange: { low: 12, high: 16 },
        flag: "low"
      })
      expect(content.provider).toBe("offline")

      const chat = yield* send(
        HttpClientRequest.post("/chat/messages").pipe(
          HttpClientRequest.bodyJsonUnsafe({ contentId, message: "what is my hemoglobin?" })
        ),
        user
      )
      expect(chat.status).toBe(200)
      const reply = (yield* jsonOf(chat)) as { conversationId: string; message: { role: string; content: string } }
      expect(reply.message.role).toBe("assistant")
      expect(reply.message.content).toContain("11.2")

      const conversation = yield* send(HttpClientRequest.get(`/chat/conversations/${contentId}`), user)
      expect(conversation.status).toBe(200)
      const turns = (yield* jsonOf(conversation)) as { contentId: string; messages: Array<{ role: string; content: string }> }
      expect(turns.contentId).toBe(contentId)
      expect(turns.messages.map((m) => m.role)).toEqual(["user", "assistant"])
      expect(turns.messages[0]?.content).toBe("what is my hemoglobin?")

      const subscription = yield* send(HttpClientRequest.get("/subscriptions/status"), user)
      expect(subscription.status).toBe(200)
      expect(yield* jsonOf(subscription)).toMatchObject({
        plan: "free",
        documents: { used: 1, limit: 1000 },
        chatMessages: { used: 1 }
      })

      const profile = yield* send(HttpClientRequest.get("/me"), user)
      expect(profile.status).toBe(200)
      expect(yield* jsonOf(profile)).toMatchObject({ id: user.userId, name: "Jane Doe", plan: "free" })

      const exported = yield* send(HttpClientRequest.get("/me/export"), user)
      expect(exported.status).toBe(200)
      const data = (yield* jsonOf(exported)) as { content: Array<{ contentId: string }>; conversations: Array<{ messages: Array<unknown> }> }
      expect(data.content.map((c) => c.contentId)).toEqual([contentId])
      expect(data.conversations[0]?.messages).toHaveLength(2)
      expect(JSON.stringify(data)).toContain("Hemoglobin")

      // the same record as FHIR R4: the Patient (named as the user named themself), the report, its results
      const fhirRecord = yield* send(HttpClientRequest.get("/me/export?format=fhir"), user)
      expect(fhirRecord.status).toBe(200)
      expect(fhirRecord.headers["content-type"]).toMatch(/^application\/fhir\+json/)
      const record = (yield* jsonOf(fhirRecord)) as { resourceType: string; type: string; entry: Array<{ resource: { resourceType: string; id?: string; name?: unknown; code?: { text?: string } } }> }
      expect(record).toMatchObject({ resourceType: "Bundle", type: "collection" })
      expect(record.entry[0]?.resource).toEqual({ resourceType: "Patient", id: user.userId, name: [{ text: "Jane Doe" }] })
      expect(record.entry.filter((e) => e.resource.resourceType === "DiagnosticReport").map((e) => e.resource.id)).toEqual([contentId])
      expect(record.entry.some((e) => e.resource.resourceType === "Observation" && e.resource.code?.text === "Hemoglobin")).toBe(true)
      const oneDocument = yield* send(HttpClientRequest.get(`/content/${contentId}/fhir`), user)
      expect(oneDocument.status).toBe(200)
      expect(oneDocument.headers["content-type"]).toMatch(/^application\/fhir\+json/)
      const single = (yield* jsonOf(oneDocument)) as typeof record
      expect(single.entry.map((e) => e.resource)).toEqual(record.entry.map((e) => e.resource))
      expect(JSON.stringify(single)).not.toContain("presentedForm")
      // asked for, the original upload itself is the report's presentedForm (kept, sealed, with its content)
      const withOriginal = yield* send(HttpClientRequest.get(`/content/${contentId}/fhir?include=original`), user)
      expect(withOriginal.status).toBe(200)
      const report = ((yield* jsonOf(withOriginal)) as { entry: Array<{ resource: { resourceType: string; presentedForm?: Array<{ contentType: string; data: string; size: number; title?: string }> } }> })
        .entry.find((e) => e.resource.resourceType === "DiagnosticReport")?.resource
      expect(report?.presentedForm).toEqual([{ contentType: "application/pdf", data: pdf.toString("base64"), size: pdf.length, title: "cbc.pdf" }])
      for (const bad of ["originals", "ORIGINAL", ""]) {
        const refused = yield* send(HttpClientRequest.get(`/content/${contentId}/fhir?include=${bad}`), user)
        expect(refused.status, bad).toBe(400)
        expect(yield* jsonOf(refused)).toMatchObject({ error: { code: expect.any(String) } })
      }
      // trends: the tests the user has, one test by code or by name, and the refusals
      const tests = (yield* jsonOf(yield* send(HttpClientRequest.get("/results/trends"), user))) as { tests: Array<{ code?: string; name: string; count: number; latest: { value: unknown } }> }
      expect(tests.tests.find((t) => t.code === "718-7")).toMatchObject({ name: "Hemoglobin", count: 1, latest: { value: 11.2 } })
      const byCode = yield* send(HttpClientRequest.get("/results/trends?code=718-7"), user)
      expect(byCode.status).toBe(200)
      const trend = (yield* jsonOf(byCode)) as { code: string; unit: string; points: Array<{ contentId: string; value: unknown; unit: string; flag: string }> }
      expect(trend).toMatchObject({ code: "718-7", unit: "g/dL", points: [{ contentId, value: 11.2, unit: "g/dL", flag: "low" }] })
      const byName = (yield* jsonOf(yield* send(HttpClientRequest.get("/results/trends?name=HEMOGLOBIN"), user))) as typeof trend
      expect(byName.points).toEqual(trend.points)
      // a code decides: the name beside it is ignored
      const both = (yield* jsonOf(yield* send(HttpClientRequest.get("/results/trends?code=718-7&name=Potassium"), user))) as typeof trend
      expect(both.points).toEqual(trend.points)
      const badCode = yield* send(HttpClientRequest.get("/results/trends?code=hemoglobin"), user)
      expect([badCode.status, yield* errorCode(badCode)]).toEqual([400, "VALIDATION_FAILED"])

      const unknownFormat = yield* send(HttpClientRequest.get("/me/export?format=xml"), user)
      expect(unknownFormat.status).toBe(400)
      expect(yield* errorCode(unknownFormat)).toBe("VALIDATION_FAILED")

      const erased = yield* send(HttpClientRequest.delete("/me"), user)
      expect(erased.status).toBe(204)
      // Erasure ends the account's access tokens at once, not when they expire.
      for (const path of ["/me", "/content/timeline", `/content/${contentId}`]) {
        const gone = yield* send(HttpClientRequest.get(path), user)
        expect(gone.status, path).toBe(401)
      }
    })
  )

  it.effect("dev sign-in gives tokens that open every group; refresh rotates; logout ends the session", () =>
    Effect.gen(function* () {
      const email = `walk-${Date.now()}@example.com`
      const signIn = yield* HttpClient.execute(
        HttpClientRequest.post("/auth/dev").pipe(HttpClientRequest.bodyJsonUnsafe({ email, name: "Walker" }))
      )
      expect(signIn.status).toBe(200)
      const tokens = (yield* signIn.json) as { accessToken: string; refreshToken: string; user: { email: string } }
      expect(tokens.user.email).toBe(email)
      const me = yield* send(HttpClientRequest.get("/me"), { token: tokens.accessToken })
      expect(me.status).toBe(200)
      expect(me.headers["ratelimit-limit"]).toBeDefined() // the limiter is wired into the real API
      const refreshed = yield* HttpClient.execute(
        HttpClientRequest.post("/auth/refresh").pipe(HttpClientRequest.bodyJsonUnsafe({ refreshToken: tokens.refreshToken }))
      )
      expect(refreshed.status).toBe(200)
      const next = (yield* refreshed.json) as { refreshToken: string }
      const logout = yield* HttpClient.execute(
        HttpClientRequest.post("/auth/logout").pipe(HttpClientRequest.bodyJsonUnsafe({ refreshToken: next.refreshToken }))
      )
      expect(logout.status).toBe(204)
      const after = yield* HttpClient.execute(
        HttpClientRequest.post("/auth/refresh").pipe(HttpClientRequest.bodyJsonUnsafe({ refreshToken: next.refreshToken }))
      )
      expect(after.status).toBe(401)
    })
  )

  it.effect("the exported typed client talks to the API: typed answers and typed errors", () =>
    Effect.gen(function* () {
      const { userId, token } = yield* signedIn
      const client = yield* makeApiClient({ accessToken: token })
      const status = yield* client.subscriptions.status()
      expect(status.plan).toBe("free")
      const timeline = yield* client.content.timeline({ query: { limit: 20, offset: 0 } })
      expect(timeline.total).toBe(0)
      const missing = yield* Effect.flip(client.content.get({ params: { contentId: ContentId.make(userId) } }))
      expect(missing).toMatchObject({ _tag: "ApiError", status: 404, code: "NOT_FOUND" })
      const anonymous = yield* makeApiClient()
      const refused = yield* Effect.flip(anonymous.subscriptions.status())
      expect(refused).toMatchObject({ status: 401, code: "UNAUTHENTICATED" })
    })
  )

  it.effect("an id in upper case names the same job and document (it answered 500 DECRYPTION_FAILED)", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const { jobId, contentId } = yield* uploadAndProcess(user)
      const upper = contentId.toUpperCase()
      expect(upper).not.toBe(contentId)
      const job = yield* send(HttpClientRequest.get(`/jobs/${jobId.toUpperCase()}/status`), user)
      expect(job.status).toBe(200)
      expect(((yield* jsonOf(job)) as { jobId: string }).jobId).toBe(jobId)
      const content = yield* send(HttpClientRequest.get(`/content/${upper}`), user)
      expect(content.status).toBe(200)
      expect(((yield* jsonOf(content)) as { contentId: string }).contentId).toBe(contentId)
      const chat = yield* send(
        HttpClientRequest.post("/chat/messages").pipe(HttpClientRequest.bodyJsonUnsafe({ contentId: upper, message: "What is my hemoglobin?" })),
        user
      )
      expect(chat.status).toBe(200)
      const conversation = yield* send(HttpClientRequest.get(`/chat/conversations/${upper}`), user)
      expect(conversation.status).toBe(200)
      expect(((yield* jsonOf(conversation)) as { contentId: string; messages: ReadonlyArray<unknown> })).toMatchObject({
        contentId,
        messages: [{ role: "user" }, { role: "assistant" }]
      })
      // Another user's id stays a 404 in any case.
      const other = yield* signedIn
      expect((yield* send(HttpClientRequest.get(`/content/${upper}`), other)).status).toBe(404)
      expect((yield* send(HttpClientRequest.delete(`/content/${upper}`), user)).status).toBe(204)
      expect((yield* send(HttpClientRequest.get(`/content/${contentId}`), user)).status).toBe(404)
    })
  )

  it.effect("audit rows carry our request id, never the client's X-Request-Id: two requests sending one id are two ids", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const answers = []
      for (let i = 0; i < 2; i++) {
        const request = HttpClientRequest.get("/content/timeline").pipe(HttpClientRequest.setHeader("x-request-id", "replayed-client-id-0001"))
        answers.push(yield* send(request, user))
      }
      const rows = (yield* auditRows).filter((r) => r.actorUserId === user.userId && r.action === "content.list")
      expect(rows).toHaveLength(2)
      expect(rows.map((r) => r.requestId)).not.toContain("replayed-client-id-0001")
      expect(new Set(rows.map((r) => r.requestId)).size).toBe(2)
      expect(rows.map((r) => r.requestId).sort()).toEqual(answers.map((a) => a.headers["x-request-id"]).sort())
    })
  )

  it.effect("operations that take no document read at most 64 KiB of body; uploads read up to MAX_BODY_BYTES", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const padding = "x".repeat(100 * 1024)
      for (const [path, body] of [
        ["/auth/dev", { email: "ada@example.com", name: padding }],
        ["/auth/refresh", { refreshToken: padding }],
        ["/chat/messages", { contentId: randomUUID(), message: padding }]
      ] as const) {
        const response = yield* send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyJsonUnsafe(body)), user)
        expect(response.status, path).toBe(413)
        expect(yield* errorCode(response)).toBe("PAYLOAD_TOO_LARGE")
      }
      // An upload body of that size is an ordinary upload (a 60 KiB text document, 80 KiB as base64 JSON;
      // MAX_UPLOAD_BYTES is 64 KiB here).
      const dataBase64 = Buffer.from(`Hemoglobin 11.2 g/dL\n${"x".repeat(60 * 1024)}`).toString("base64")
      expect(dataBase64.length).toBeGreaterThan(64 * 1024)
      const upload = yield* uploadJson(user, { fileName: "notes.txt", contentType: "text/plain", dataBase64 })
      expect(upload.status).toBe(202)
    })
  )

  it.effect("each operation's body limit follows its schema: a few KB for sign-in and refresh, a longest question fits chat", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const padding = "x".repeat(6 * 1024)
      for (const [path, body] of [
        ["/auth/dev", { email: "ada@example.com", name: "Ada", note: padding }],
        ["/auth/refresh", { refreshToken: "r", note: padding }],
        ["/auth/logout", { refreshToken: "r", note: padding }],
        ["/chat/messages", { contentId: randomUUID(), message: "x".repeat(30 * 1024) }]
      ] as const) {
        const response = yield* send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyJsonUnsafe(body)), user)
        expect(response.status, path).toBe(413)
        expect(yield* errorCode(response)).toBe("PAYLOAD_TOO_LARGE")
      }
      // The longest question the schema allows, in three-byte characters, is read (and answered: no such content).
      const longest = yield* send(
        HttpClientRequest.post("/chat/messages").pipe(
          HttpClientRequest.bodyJsonUnsafe({ contentId: randomUUID(), message: "€".repeat(4_000) })
        ),
        user
      )
      expect(longest.status).toBe(404)
    })
  )

  it.effect("the API's own routes decide 405 (with Allow) and 415 before any handler runs", () =>
    Effect.gen(function* () {
      const methods: ReadonlyArray<readonly [string, string, string]> = [
        ["PUT", "/me", "DELETE, GET, HEAD"],
        ["PATCH", `/content/${randomUUID()}`, "DELETE, GET, HEAD"],
        ["DELETE", "/documents/upload", "POST"],
        ["GET", "/auth/dev", "POST"],
        // /content/timeline is also /content/{contentId}, whose DELETE answers (400: not a UUID).
        ["OPTIONS", "/content/timeline", "DELETE, GET, HEAD"]
      ]
      for (const [method, path, allow] of methods) {
        const response = yield* send(HttpClientRequest.make(method as "PUT")(path))
        expect(response.status, `${method} ${path}`).toBe(405)
        expect(response.headers["allow"], `${method} ${path}`).toBe(allow)
      }
      const bodies: ReadonlyArray<readonly [string, string, string]> = [
        ["/auth/dev", "email=ada%40example.com", "application/x-www-form-urlencoded"],
        ["/auth/dev", "<email>ada@example.com</email>", "application/xml"],
        ["/chat/messages", `{"contentId":"${randomUUID()}","message":"hi"}`, "text/plain"],
        ["/documents/upload", "%PDF-1.7", "application/pdf"]
      ]
      for (const [path, body, type] of bodies) {
        const response = yield* send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyText(body, type)))
        expect(response.status, `${type} to ${path}`).toBe(415)
        expect(yield* errorCode(response)).toBe("UNSUPPORTED_MEDIA_TYPE")
      }
    })
  )

  it.effect("every group answers 401 with the uniform body without a token", () =>
    Effect.gen(function* () {
      const id = randomUUID()
      const requests = [
        HttpClientRequest.post("/documents/upload").pipe(HttpClientRequest.bodyJsonUnsafe(pdfUpload)),
        HttpClientRequest.get(`/jobs/${id}/status`),
        HttpClientRequest.get("/content/timeline"),
        HttpClientRequest.get(`/content/${id}`),
        HttpClientRequest.delete(`/content/${id}`),
        HttpClientRequest.post("/chat/messages").pipe(HttpClientRequest.bodyJsonUnsafe({ contentId: id, message: "hi" })),
        HttpClientRequest.get(`/chat/conversations/${id}`),
        HttpClientRequest.get("/subscriptions/status"),
        HttpClientRequest.get("/me"),
        HttpClientRequest.get("/me/export"),
        HttpClientRequest.get("/me/export?format=fhir"),
        HttpClientRequest.get(`/content/${id}/fhir`),
        HttpClientRequest.get("/results/trends"),
        HttpClientRequest.delete("/me")
      ]
      for (const request of requests) {
        const response = yield* send(request)
        expect(response.status, `${request.method} ${request.url}`).toBe(401)
        expect(yield* errorCode(response)).toBe("UNAUTHENTICATED")
        // RFC 6750: the challenge clients use to sign in again.
        expect(response.headers["www-authenticate"], `${request.method} ${request.url}`).toBe('Bearer realm="serenya"')
        const forged = yield* send(request, { token: "not.a.token" })
        expect(forged.status).toBe(401)
        expect(forged.headers["www-authenticate"]).toBe('Bearer realm="serenya", error="invalid_token"')
      }
    })
  )

  it.effect("another user's job and content ids answer 404 exactly like missing ones; non-UUID ids are 400", () =>
    Effect.gen(function* () {
      const owner = yield* signedIn
      const stranger = yield* signedIn
      const { contentId, jobId } = yield* uploadAndProcess(owner)
      const missing = randomUUID()

      const attempts = (id: string, job: string) => [
        HttpClientRequest.get(`/jobs/${job}/status`),
        HttpClientRequest.get(`/content/${id}`),
        HttpClientRequest.get(`/content/${id}/fhir`),
        HttpClientRequest.delete(`/content/${id}`),
        HttpClientRequest.post("/chat/messages").pipe(HttpClientRequest.bodyJsonUnsafe({ contentId: id, message: "hi" })),
        HttpClientRequest.get(`/chat/conversations/${id}`)
      ]
      const answers = (requests: ReadonlyArray<HttpClientRequest.HttpClientRequest>) =>
        Effect.forEach(requests, (request) =>
          Effect.flatMap(send(request, stranger), (response) =>
            Effect.map(errorCode(response), (code) => ({ status: response.status, code }))
          )
        )
      const foreign = yield* answers(attempts(contentId, jobId))
      const absent = yield* answers(attempts(missing, missing))
      expect(foreign).toEqual(absent)
      expect(foreign.every((a) => a.status === 404 && a.code === "NOT_FOUND")).toBe(true)

      const strangersTimeline = yield* send(HttpClientRequest.get("/content/timeline"), stranger)
      expect(yield* jsonOf(strangersTimeline)).toMatchObject({ items: [], total: 0 })

      const malformed = yield* answers(attempts("not-a-uuid", "not-a-uuid"))
      expect(malformed.every((a) => a.status === 400)).toBe(true)

      // Still the owner's, then deleted by the owner: 204, then 404.
      expect((yield* send(HttpClientRequest.get(`/content/${contentId}`), owner)).status).toBe(200)
      expect((yield* send(HttpClientRequest.delete(`/content/${contentId}`), owner)).status).toBe(204)
      expect((yield* send(HttpClientRequest.get(`/content/${contentId}`), owner)).status).toBe(404)
    })
  )

  it.effect("refusals: 413 too large, 415 PNG declared as PDF, 400 bad base64 / missing fields / limit=0", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const large = Buffer.concat([pdf, Buffer.alloc(MAX_UPLOAD_BYTES)])
      const tooLarge = yield* uploadJson(user, { ...pdfUpload, dataBase64: large.toString("base64") })
      expect(tooLarge.status).toBe(413)
      expect(yield* errorCode(tooLarge)).toBe("PAYLOAD_TOO_LARGE")

      const png = yield* uploadJson(user, { ...pdfUpload, dataBase64: PNG.toString("base64") })
      expect(png.status).toBe(415)
      expect(yield* errorCode(png)).toBe("UNSUPPORTED_MEDIA_TYPE")

      const badBase64 = yield* uploadJson(user, { ...pdfUpload, dataBase64: "%%% not base64 %%%" })
      expect(badBase64.status).toBe(400)
      const missing = yield* uploadJson(user, { fileName: "cbc.pdf" })
      expect(missing.status).toBe(400)
      const body = (yield* jsonOf(missing)) as { error: { message: string } }
      expect(body.error.message).toContain("dataBase64")
      const notJson = yield* send(
        HttpClientRequest.post("/documents/upload").pipe(HttpClientRequest.bodyText("{not json", "application/json")),
        user
      )
      expect(notJson.status).toBe(400)
      const otherType = yield* send(
        HttpClientRequest.post("/documents/upload").pipe(HttpClientRequest.bodyText("hello", "text/plain")),
        user
      )
      expect(otherType.status).toBe(415)

      // Each refusal that reached the upload handler is in the audit trail, as a failure of this user's;
      // a body of a media type the operation does not take is refused before it (like a declared 413).
      const refused = (yield* auditRows).filter((r) => r.actorUserId === user.userId && r.action === "document.upload")
      expect(refused.map((r) => r.outcome)).toEqual(Array(5).fill("failure"))

      for (const query of ["limit=0", "limit=101", "offset=-1", "limit=abc"]) {
        const response = yield* send(HttpClientRequest.get(`/content/timeline?${query}`), user)
        expect(response.status, query).toBe(400)
      }
      // One message per problem: an empty offset fails two checks but is one problem.
      const emptyOffset = yield* send(HttpClientRequest.get("/content/timeline?offset="), user)
      expect(emptyOffset.status).toBe(400)
      expect(((yield* jsonOf(emptyOffset)) as { error: { message: string } }).error.message).toBe(
        "The request is invalid: offset is invalid"
      )
      const emptyQuestion = yield* send(
        HttpClientRequest.post("/chat/messages").pipe(HttpClientRequest.bodyJsonUnsafe({ contentId: randomUUID(), message: " " })),
        user
      )
      expect(emptyQuestion.status).toBe(400)
      const longQuestion = yield* send(
        HttpClientRequest.post("/chat/messages").pipe(
          HttpClientRequest.bodyJsonUnsafe({ contentId: randomUUID(), message: "a".repeat(4001) })
        ),
        user
      )
      expect(longQuestion.status).toBe(400)
    })
  )

  it.effect("an Idempotency-Key makes a retried upload answer the same job; another body with it is 409", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const first = yield* uploadJson(user, pdfUpload, { "idempotency-key": "retry-me" })
      const second = yield* uploadJson(user, pdfUpload, { "idempotency-key": "retry-me" })
      expect(first.status).toBe(202)
      expect(second.status).toBe(202)
      const a = (yield* jsonOf(first)) as { jobId: string }
      const b = (yield* jsonOf(second)) as { jobId: string }
      expect(b.jobId).toBe(a.jobId)
      const other = yield* uploadJson(user, { ...pdfUpload, fileName: "other.pdf" }, { "idempotency-key": "retry-me" })
      expect(other.status).toBe(409)
      const subscription = yield* jsonOf(yield* send(HttpClientRequest.get("/subscriptions/status"), user))
      expect(subscription).toMatchObject({ documents: { used: 1 } })
    })
  )

  describe("multipart/form-data", () => {
    const form = (bytes: Uint8Array, type: string, name = "file", fields: Record<string, string> = {}) => {
      const data = new FormData()
      data.append(name, new Blob([bytes], { type }), "cbc.pdf")
      data.append("documentType", "lab_results")
      for (const [key, value] of Object.entries(fields)) data.append(key, value)
      return HttpClientRequest.post("/documents/upload").pipe(HttpClientRequest.bodyFormData(data))
    }

    it.effect("a `file` part is accepted (202) and processed", () =>
      Effect.gen(function* () {
        const user = yield* signedIn
        const response = yield* send(form(pdf, "application/pdf"), user)
        expect(response.status).toBe(202)
        const { jobId } = (yield* jsonOf(response)) as { jobId: string }
        expect((yield* waitForJob(user, jobId)).status).toBe("completed")
      })
    )

    it.effect("a file over the limit is 413 with the error body; a missing part or a PNG declared as PDF is refused", () =>
      Effect.gen(function* () {
        const user = yield* signedIn
        const tooLarge = yield* send(form(Buffer.concat([pdf, Buffer.alloc(MAX_UPLOAD_BYTES)]), "application/pdf"), user)
        expect(tooLarge.status).toBe(413)
        expect(yield* errorCode(tooLarge)).toBe("PAYLOAD_TOO_LARGE")
        const noFile = yield* send(form(pdf, "application/pdf", "document"), user)
        expect(noFile.status).toBe(400)
        const png = yield* send(form(PNG, "application/pdf"), user)
        expect(png.status).toBe(415)
      })
    )

    it.effect("an `allowImageToModel` field of true or false is kept with the job; another value is a 400 with the uniform body", () =>
      Effect.gen(function* () {
        const user = yield* signedIn
        const jobIds: Array<string> = []
        for (const value of ["false", "true"]) {
          const response = yield* send(form(pdf, "application/pdf", "file", { allowImageToModel: value }), user)
          expect(response.status, value).toBe(202)
          jobIds.push(((yield* jsonOf(response)) as { jobId: string }).jobId)
        }
        const unsaid = yield* send(form(pdf, "application/pdf"), user)
        jobIds.push(((yield* jsonOf(unsaid)) as { jobId: string }).jobId)
        for (const value of ["yes", "TRUE", "0", ""]) {
          const refused = yield* send(form(pdf, "application/pdf", "file", { allowImageToModel: value }), user)
          expect(refused.status, value).toBe(400)
          expect(yield* Effect.flatMap(refused.json, Schema.decodeUnknownEffect(ErrorBody)), value).toEqual({
            error: { code: "INVALID_REQUEST", message: "The request is invalid: allowImageToModel is invalid" }
          })
        }
        const exported = (yield* jsonOf(yield* send(HttpClientRequest.get("/me/export"), user))) as {
          jobs: Array<{ jobId: string; allowImageToModel: boolean }>
        }
        expect(jobIds.map((jobId) => exported.jobs.find((job) => job.jobId === jobId)?.allowImageToModel)).toEqual([false, true, true])
      })
    )
  })

  it.effect("allowImageToModel in a JSON upload and a presigned begin: a boolean, kept (the export says it); another type is a 400", () =>
    Effect.gen(function* () {
      const user = yield* signedIn
      const accepted = yield* uploadJson(user, { ...pdfUpload, allowImageToModel: false })
      expect(accepted.status).toBe(202)
      const { jobId } = (yield* jsonOf(accepted)) as { jobId: string }
      const begin = (body: Record<string, unknown>) =>
        send(
          HttpClientRequest.post("/documents/uploads").pipe(
            HttpClientRequest.bodyJsonUnsafe({ fileName: "scan.pdf", contentType: "application/pdf", sizeBytes: pdf.length, ...body })
          ),
          user
        )
      const begun = yield* begin({ allowImageToModel: false })
      expect(begun.status).toBe(201)
      const { uploadId } = (yield* jsonOf(begun)) as { uploadId: string }
      for (const value of ["false", 0, null]) {
        const json = yield* uploadJson(user, { ...pdfUpload, allowImageToModel: value })
        expect(json.status, String(value)).toBe(400)
        expect(((yield* jsonOf(json)) as { error: { code: string; message: string } }).error).toMatchObject({
          code: "INVALID_REQUEST",
          message: "The request is invalid: allowImageToModel"
        })
        const presigned = yield* begin({ allowImageToModel: value })
        expect(presigned.status, String(value)).toBe(400)
        expect(((yield* jsonOf(presigned)) as { error: { code: string; message: string } }).error).toMatchObject({
          code: "VALIDATION_FAILED",
          message: "The request is invalid: allowImageToModel is invalid"
        })
      }
      const exported = (yield* jsonOf(yield* send(HttpClientRequest.get("/me/export"), user))) as {
        jobs: Array<{ jobId: string; allowImageToModel: boolean }>
        uploads: Array<{ uploadId: string; allowImageToModel: boolean }>
      }
      expect(exported.jobs.map((job) => [job.jobId, job.allowImageToModel])).toEqual([[jobId, false]])
      expect(exported.uploads.map((upload) => [upload.uploadId, upload.allowImageToModel])).toEqual([[uploadId, false]])
    })
  )

  it.effect("GET /openapi.json documents the new groups with bearer security", () =>
    Effect.gen(function* () {
      const response = yield* send(HttpClientRequest.get("/openapi.json"))
      const spec = (yield* jsonOf(response)) as { paths: Record<string, Record<string, { security?: unknown }>> }
      for (const p of ["/documents/upload", "/jobs/{jobId}/status", "/content/timeline", "/content/{contentId}", "/chat/messages", "/chat/conversations/{contentId}", "/subscriptions/status", "/me", "/me/export"]) {
        expect(Object.keys(spec.paths), p).toContain(p)
      }
      expect(spec.paths["/me"]?.get?.security).toEqual([{ bearer: [] }])
      // the FHIR exports are documented with FHIR's media type
      const content = (path: string) => (spec.paths[path]?.get as { responses?: Record<string, { content?: Record<string, unknown> }> } | undefined)?.responses?.["200"]?.content ?? {}
      expect(Object.keys(content("/content/{contentId}/fhir"))).toEqual(["application/fhir+json"])
      expect(Object.keys(content("/me/export")).sort()).toEqual(["application/fhir+json", "application/json"])
    })
  )
})
