/**
 * What an SRE sees: the server process (`src/main/server.ts`, embedded PostgreSQL, offline LLM)
 * exports OTLP/HTTP to a receiver of our own while a user signs in, uploads the lab report,
 * waits for it and asks about it. Then: one trace per request with the expected tree, GenAI
 * spans with the right token counts, the job's span linked to the upload's, an incoming
 * traceparent continued, log lines carrying the trace, metrics exported — and not one exported
 * byte that carries the fixture's health data.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeOfflineLLM } from "../../src/layers/llm/offline.js"
import { startReady } from "../support/process.js"
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlpReceiver.js"
import { FIXTURES_DIR } from "../support/fixtures.js"

const fixtures = FIXTURES_DIR
const pdf = fs.readFileSync(path.join(fixtures, "lab-report-cbc-cmp.pdf"))
/** Text from the fixture and the user that must never reach telemetry. */
const FORBIDDEN = ["hemoglobin", "hematocrit", "glucose", "jane", "doe, ", "alvarez", "1984-03-12", "ncl-2026", "microcytic", "pat traceable", "trace-walk@example.com", "what is my"]

const INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
const INCOMING_PARENT = "00f067aa0ba902b7"

let receiver: OtlpReceiver
let spans: ReadonlyArray<ReceivedSpan> = []
let serverOutput = ""
let jobId = ""
let contentId = ""
let answer = ""
let imageJobId = ""
const PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  const server = await startReady("server", {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "serenya-api-test",
      OTEL_RESOURCE_ATTRIBUTES: "team=health-platform,k8s.cluster.name=test",
      OTEL_METRIC_EXPORT_INTERVAL: "500",
      K8S_POD_NAME: "serenya-api-7d9f-abcde"
    }
  })
  const base = `http://127.0.0.1:${server.port}`
  const json = async (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's answers, read field by field
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, any> }
  }
  try {
    const signIn = await json("POST", "/auth/dev", { email: "trace-walk@example.com", name: "Pat Traceable" })
    expect(signIn.status).toBe(200)
    const auth = { authorization: `Bearer ${signIn.body.accessToken}` }
    const upload = await json(
      "POST",
      "/documents/upload",
      { fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") },
      auth
    )
    expect(upload.status).toBe(202)
    jobId = upload.body.jobId
    for (let i = 0; i < 200; i++) {
      const status = await json("GET", `/jobs/${jobId}/status`, undefined, auth)
      if (status.body.status === "completed") {
        contentId = status.body.contentId
        break
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(contentId).not.toBe("")
    // An image with no print in it (1×1): the offline provider's OCR finds no text, and its job fails for good.
    const image = await json("POST", "/documents/upload", { fileName: "scan.png", contentType: "image/png", dataBase64: PNG_1X1 }, auth)
    expect(image.status).toBe(202)
    imageJobId = image.body.jobId
    for (let i = 0; i < 200; i++) {
      if ((await json("GET", `/jobs/${imageJobId}/status`, undefined, auth)).body.status === "failed") break
      // OCR starts a thread: polled gently, so that the walk's later requests stay within the rate limit
      await new Promise((r) => setTimeout(r, 250))
    }
    const chat = await json("POST", "/chat/messages", { contentId, message: "what is my hemoglobin?" }, auth)
    expect(chat.status).toBe(200)
    answer = chat.body.message.content
    // A caller that is itself traced: its trace goes on through us.
    const continued = await json("GET", "/content/timeline", undefined, {
      ...auth,
      traceparent: `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01`
    })
    expect(continued.status).toBe(200)
    expect((await json("GET", "/no/such/route")).status).toBe(404)
    await new Promise((r) => setTimeout(r, 1200)) // one metric export at least
  } finally {
    server.child.kill("SIGTERM") // shutdown flushes every span still batched
    await server.exited
    serverOutput = server.output()
  }
  spans = receiver.spans()
}, 90_000)

afterAll(async () => {
  await receiver?.close()
})

const serverSpan = (name: string) => {
  const found = spans.filter((s) => s.kind === 2 && s.name === name)
  expect(found.length, `server span ${name}`).toBeGreaterThan(0)
  return found[0]!
}
const childrenOf = (span: ReceivedSpan) => spans.filter((s) => s.parentSpanId === span.spanId && s.traceId === span.traceId)
const descendantsOf = (span: ReceivedSpan): Array<ReceivedSpan> =>
  childrenOf(span).flatMap((child) => [child, ...descendantsOf(child)])

describe("traces of the whole walk", () => {
  it("a server span per request, named for the route template, with method, route and status, never the raw path", () => {
    const upload = serverSpan("POST /documents/upload")
    expect(upload.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/documents/upload",
      "http.response.status_code": 202
    })
    const status = serverSpan("GET /jobs/:jobId/status")
    expect(status.attributes["http.route"]).toBe("/jobs/:jobId/status")
    for (const span of spans.filter((s) => s.kind === 2)) {
      expect(span.attributes).not.toHaveProperty("url.path")
      expect(span.attributes).not.toHaveProperty("url.full")
      expect(span.attributes).not.toHaveProperty("url.query")
      expect(span.name).not.toContain(jobId)
      expect(JSON.stringify(span.attributes)).not.toContain(jobId)
    }
    const missing = spans.find((s) => s.kind === 2 && s.attributes["http.response.status_code"] === 404)
    expect(missing?.name).toBe("GET")
    expect(missing?.attributes).toMatchObject({ "error.type": "NOT_FOUND", "error.category": "business", "error.recovery": "ignore" })
  })

  it("the upload's trace is one tree: server span → program span → SQL, crypto, storage and audit spans", () => {
    const upload = serverSpan("POST /documents/upload")
    const below = descendantsOf(upload)
    const program = below.find((s) => s.name === "Documents.upload")
    expect(program).toBeDefined()
    const underProgram = descendantsOf(program!)
    const names = new Set(underProgram.map((s) => s.name))
    for (const name of ["Crypto.seal", "Storage.put", "Audit.record"]) expect(names, name).toContain(name)
    // SQL spans are named as OpenTelemetry's database conventions say (Effect 4's SQL client does):
    // after their target, the database's name (`db.namespace`), no longer `sql.execute`.
    const sql = underProgram.find((s) => s.attributes["db.query.text"] !== undefined)
    expect(sql).toBeDefined()
    expect(sql!.attributes["db.namespace"]).toEqual(expect.any(String))
    expect(sql!.name).toBe(sql!.attributes["db.namespace"])
    expect(sql!.attributes["db.system"]).toBe("postgresql")
    expect(String(sql!.attributes["db.query.text"])).toMatch(/\$1/)
    // one trace id for the whole request
    expect(new Set([upload, ...below].map((s) => s.traceId)).size).toBe(1)
  })

  it("LLM calls are GenAI spans with the operation, provider, model and exact token counts", async () => {
    const expected = await Effect.runPromise(makeOfflineLLM().interpret({ bytes: pdf, contentType: "application/pdf" }))
    const interpret = spans.find((s) => s.name === "generate_content offline-parser-v1")
    expect(interpret?.kind).toBe(3)
    expect(interpret?.attributes).toMatchObject({
      "gen_ai.provider.name": "offline",
      "gen_ai.operation.name": "generate_content",
      "gen_ai.request.model": "offline-parser-v1",
      "gen_ai.response.model": "offline-parser-v1",
      "gen_ai.usage.input_tokens": expected.usage.inputTokens,
      "gen_ai.usage.output_tokens": expected.usage.outputTokens
    })
    // @effect/opentelemetry 0.64 writes array attributes as their JSON text.
    const reasons = interpret!.attributes["gen_ai.response.finish_reasons"]
    expect(typeof reasons === "string" ? JSON.parse(reasons) : reasons).toEqual(["stop"])
    const chat = spans.find((s) => s.name === "chat offline-parser-v1")
    expect(chat?.attributes).toMatchObject({ "gen_ai.operation.name": "chat", "gen_ai.provider.name": "offline" })
    expect(chat?.attributes["gen_ai.usage.output_tokens"]).toBe(Math.ceil(answer.length / 4))
    // the chat's LLM span hangs under its request's server span
    const chatRequest = serverSpan("POST /chat/messages")
    expect(descendantsOf(chatRequest).map((s) => s.spanId)).toContain(chat!.spanId)
  })

  it("the job's processing span links to the upload's span, in another trace", () => {
    const upload = serverSpan("POST /documents/upload")
    const program = descendantsOf(upload).find((s) => s.name === "Documents.upload")!
    const job = spans.find((s) => s.name === "Jobs.process" && s.attributes["job.id"] === jobId)
    expect(job).toBeDefined()
    expect(job!.links).toContainEqual(expect.objectContaining({ traceId: program.traceId, spanId: program.spanId }))
    const names = new Set(descendantsOf(job!).map((s) => s.name))
    for (const name of ["Storage.get", "Crypto.open", "generate_content offline-parser-v1", "Content.save"]) expect(names, name).toContain(name)
  })

  it("a failed job's span carries the error code, category and recovery strategy", () => {
    const failed = spans.find((s) => s.name === "Jobs.process" && s.attributes["job.id"] === imageJobId)
    expect(failed?.attributes).toMatchObject({
      "error.type": "IMAGE_NO_TEXT",
      "error.category": expect.any(String),
      "error.recovery": expect.stringMatching(/^(escalate|ignore|fallback)$/)
    })
  })

  it("an incoming W3C traceparent is continued", () => {
    const timeline = serverSpan("GET /content/timeline")
    const continued = spans.find((s) => s.kind === 2 && s.traceId === INCOMING_TRACE)
    expect(continued).toBeDefined()
    expect(continued!.parentSpanId).toBe(INCOMING_PARENT)
    expect(continued!.name).toBe(timeline.name)
  })

  it("the resource names the service, its version and environment, and what the environment adds", () => {
    const resource = spans[0]!.resource
    expect(resource).toMatchObject({
      "service.name": "serenya-api-test",
      "service.version": expect.any(String),
      "deployment.environment": "local",
      "k8s.pod.name": "serenya-api-7d9f-abcde",
      "k8s.cluster.name": "test",
      team: "health-platform"
    })
  })

  it("log lines written inside a request carry its trace_id and span_id", () => {
    const upload = serverSpan("POST /documents/upload")
    const lines = serverOutput.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)
    const access = lines.find((l) => l.message === "http request" && l.route === "/documents/upload")
    expect(access).toMatchObject({ trace_id: upload.traceId })
    expect(spans.map((s) => s.spanId)).toContain(access!.span_id)
  })

  it("metrics are exported: GenAI client metrics, LLM tokens and cost, errors by category", () => {
    const names = new Set(receiver.metrics().map((m) => m.name))
    for (const name of ["gen_ai.client.token.usage", "gen_ai.client.operation.duration", "LLMTokens", "LLMCostCents", "ErrorsByCategory"]) {
      expect(names, name).toContain(name)
    }
    const tokenTypes = new Set(
      receiver.metrics().filter((m) => m.name === "gen_ai.client.token.usage").map((m) => m.attributes["gen_ai.token.type"])
    )
    expect(tokenTypes).toEqual(new Set(["input", "output"]))
  })

  it("no exported byte carries health data: no fixture text, no question, no answer, no name or email", () => {
    expect(receiver.rawBodies().length).toBeGreaterThan(0)
    const everything = receiver.rawBodies().join("\n").toLowerCase()
    for (const word of FORBIDDEN) expect(everything, word).not.toContain(word)
    expect(everything).not.toContain(answer.toLowerCase().slice(0, 40))
  })
})
