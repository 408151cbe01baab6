/**
 * The Lambda handlers built with test layers over a real PostgreSQL: API Gateway 2.0 events in,
 * gateway results out; SQS batches to the processor (poisoned, valid, already finished, leased,
 * transiently failing); the migrate custom resource; an init that fails once and then succeeds.
 */
import { SqlClient } from "effect/sql"
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, ScheduledEvent, SQSEvent, SQSRecord } from "aws-lambda"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fromWebResponse, sourceAddressOf, toWebRequest } from "../../../src/main/lambda/apiGateway.js"
import { makeApiHandler } from "../../../src/main/lambda/api.js"
import { makeMigrateHandler } from "../../../src/main/lambda/migrate.js"
import { DELIVERY_EXHAUSTED, makeProcessorHandler, ProcessorConfig } from "../../../src/main/lambda/processor.js"
import { LLM, LLMUnavailable } from "../../../src/services/llm.js"
import { configLayer } from "../../../src/config.js"
import { TestDatabase } from "../../support/database.js"
import { Storage } from "../../../src/services/storage.js"
import { appTestServices } from "../../support/services.js"
import { testSettings } from "../../support/settings.js"
import { Telemetry } from "../../../src/services/telemetry.js"
import { fixturePath } from "../../support/fixtures.js"
import { UserId } from "../../../src/services/ids.js"
import { gatewayEvent } from "./support/events.js"
import { NotificationsMemoryProbe } from "../../../src/layers/notifications/memory.js"

const pdf = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
const MAX_BODY_BYTES = 200_000

const settings = testSettings({
  DEV_AUTH_ENABLED: "true",
  MAX_BODY_BYTES: String(MAX_BODY_BYTES),
  MAX_UPLOAD_BYTES: String(64 * 1024),
  FREE_PLAN_DOCUMENTS_PER_MONTH: "1000",
  RATE_LIMIT_IP_CAPACITY: "100000",
  RATE_LIMIT_USER_CAPACITY: "100000"
})
const Services = Layer.merge(
  appTestServices({ settings }),
  Layer.succeed(ProcessorConfig, { maxReceiveCount: 5, lease: "10 seconds" })
)

type ServicesContext = Layer.Success<typeof Services>

let scope: Scope.Closeable
let context: Context.Context<ServicesContext>
const run = <A, E>(effect: Effect.Effect<A, E, ServicesContext>) => Effect.runPromise(Effect.provide(effect, context))

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  context = await Effect.runPromise(Layer.buildWithScope(Services, scope))
}, 60_000)

afterAll(async () => {
  await api.dispose()
  await processor.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const shared = Layer.effectContext(Effect.sync(() => context))
const api = makeApiHandler("test-api", shared)
const processor = makeProcessorHandler("test-processor", shared)

// ---------------------------------------------------------------------------------------------

interface EventOptions {
  readonly query?: string
  readonly headers?: Record<string, string>
  readonly cookies?: ReadonlyArray<string>
  readonly body?: string
  readonly base64?: boolean
  readonly token?: string
}

/** An event as API Gateway (HTTP API, payload 2.0) sends it. */
const apiEvent = (method: string, rawPath: string, options: EventOptions = {}): APIGatewayProxyEventV2 => {
  const event: APIGatewayProxyEventV2 = {
    ...gatewayEvent(method, rawPath, {
      "x-amzn-trace-id": "Root=1-65f0c0de-0123456789abcdef01234567",
      "x-forwarded-port": "443",
      "x-forwarded-proto": "https",
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...options.headers
    }),
    rawQueryString: options.query ?? ""
  }
  if (options.cookies !== undefined) event.cookies = [...options.cookies]
  if (options.query !== undefined && options.query !== "") {
    event.queryStringParameters = Object.fromEntries(new URLSearchParams(options.query))
  }
  if (options.body !== undefined) {
    event.body = options.base64 ? Buffer.from(options.body).toString("base64") : options.body
    event.isBase64Encoded = options.base64 === true
  }
  return event
}

const json = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(result.body ?? "null") as Record<string, unknown>

const signIn = async (email: string) => {
  const result = await api.handler(apiEvent("POST", "/auth/dev", { body: JSON.stringify({ email, name: "Jane Doe" }) }))
  expect(result.statusCode).toBe(200)
  const body = json(result) as { accessToken: string }
  return body.accessToken
}

const upload = async (token: string) => {
  const body = JSON.stringify({ fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") })
  const result = await api.handler(apiEvent("POST", "/documents/upload", { body, base64: true, token }))
  expect(result.statusCode).toBe(202)
  return (json(result) as { jobId: string }).jobId
}

const sqsRecord = (body: string, receiveCount = 1): SQSRecord => ({
  messageId: randomUUID(),
  receiptHandle: `AQEB${randomUUID()}`,
  body,
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: "1795000000000",
    SenderId: "AROAEXAMPLE:documents",
    ApproximateFirstReceiveTimestamp: "1795000000100"
  },
  messageAttributes: {},
  md5OfBody: "0",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:serenya-jobs",
  awsRegion: "eu-west-1"
})

const sqsEvent = (...records: ReadonlyArray<SQSRecord>): SQSEvent => ({ Records: [...records] })

interface JobRow {
  readonly status: string
  readonly attempts: number
  readonly updatedAt: Date
  readonly errorCode: string | null
}

const jobRow = (jobId: string) =>
  run(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<JobRow>`SELECT status, attempts, updated_at, error_code FROM jobs WHERE id = ${jobId}::uuid`
    ).pipe(Effect.map((rows) => rows[0]))
  )

// ---------------------------------------------------------------------------------------------

describe("API Gateway events ↔ web requests", () => {
  it("rebuilds the URL, cookies, base64 body and client address; answers with cookies and base64 bodies", async () => {
    const request = toWebRequest(
      apiEvent("POST", "/auth/refresh", {
        query: "a=1&b=two%20words",
        cookies: ["session=abc", "theme=dark"],
        headers: { "x-forwarded-for": "198.51.100.1, 198.51.100.2", accept: "application/json, text/plain" },
        body: '{"refreshToken":"x"}',
        base64: true
      })
    )
    expect(request.method).toBe("POST")
    expect(new URL(request.url).pathname).toBe("/auth/refresh")
    expect(new URL(request.url).searchParams.get("b")).toBe("two words")
    expect(request.headers.get("cookie")).toBe("session=abc; theme=dark")
    expect(request.headers.get("x-forwarded-for")).toBe("198.51.100.1, 198.51.100.2")
    expect(request.headers.get("accept")).toBe("application/json, text/plain")
    expect(await request.text()).toBe('{"refreshToken":"x"}')

    // The gateway's source address travels beside the request (as its peer), never as a header.
    const bare = apiEvent("GET", "/health")
    expect(toWebRequest(bare).headers.get("x-forwarded-for")).toBeNull()
    expect(sourceAddressOf(bare)).toBe("203.0.113.7")

    const headers = new Headers({ "content-type": "application/pdf" })
    headers.append("set-cookie", "a=1; Secure")
    headers.append("set-cookie", "b=2; HttpOnly")
    const result = await fromWebResponse(new Response(new Uint8Array([0x25, 0x50, 0x44, 0x46, 0xff]), { status: 201, headers }))
    expect(result).toMatchObject({ statusCode: 201, cookies: ["a=1; Secure", "b=2; HttpOnly"], isBase64Encoded: true })
    expect(Buffer.from(result.body ?? "", "base64")).toEqual(Buffer.from([0x25, 0x50, 0x44, 0x46, 0xff]))
    expect(result.headers?.["set-cookie"]).toBeUndefined()
  })
})

describe("api handler", () => {
  it("/health, dev sign-in, base64 upload, timeline with a query string, 401, 404 and 413", async () => {
    const health = await api.handler(apiEvent("GET", "/health"))
    expect(health.statusCode).toBe(200)
    // The request id is always ours; a client's X-Request-Id is only a correlation hint in the logs.
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    expect(health.headers?.["x-request-id"]).toMatch(uuid)
    const traced = await api.handler(apiEvent("GET", "/health", { headers: { "x-request-id": "mobile-req-000123" } }))
    expect(traced.headers?.["x-request-id"]).toMatch(uuid)

    const token = await signIn("lambda-walk@example.com")
    await upload(token)

    const timeline = await api.handler(apiEvent("GET", "/content/timeline", { query: "limit=5&offset=0", token }))
    expect(timeline.statusCode).toBe(200)
    expect(json(timeline)).toMatchObject({ limit: 5, offset: 0 })

    const anonymous = await api.handler(apiEvent("GET", "/content/timeline", { query: "limit=5" }))
    expect(anonymous.statusCode).toBe(401)
    expect(json(anonymous)).toMatchObject({ error: { code: "UNAUTHENTICATED" } })

    const unknown = await api.handler(apiEvent("GET", "/no/such/route", { token }))
    expect(unknown.statusCode).toBe(404)
    expect(json(unknown)).toMatchObject({ error: { code: "NOT_FOUND", message: expect.any(String) } })

    const huge = JSON.stringify({ fileName: "big.pdf", contentType: "application/pdf", dataBase64: "A".repeat(MAX_BODY_BYTES) })
    const tooLarge = await api.handler(apiEvent("POST", "/documents/upload", { body: huge, base64: true, token }))
    expect(tooLarge.statusCode).toBe(413)
    expect(json(tooLarge)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } })
  })

  it("an init that fails is released and built again on the next invocation", async () => {
    let attempts = 0
    let released = 0
    const flaky = Layer.unwrap(
      Effect.gen(function* () {
        attempts++
        yield* Effect.addFinalizer(() => Effect.sync(() => released++))
        if (attempts === 1) return yield* Effect.fail(new Error("the secret is not readable yet"))
        return shared
      })
    )
    const { handler, dispose } = makeApiHandler("flaky", flaky)
    const first = await handler(apiEvent("GET", "/health"))
    expect(first.statusCode).toBe(503)
    expect(json(first)).toMatchObject({ error: { code: "SERVICE_UNAVAILABLE" } })
    expect(released).toBe(1)
    const second = await handler(apiEvent("GET", "/health"))
    expect(second.statusCode).toBe(200)
    const third = await handler(apiEvent("GET", "/health"))
    expect(third.statusCode).toBe(200)
    expect(attempts).toBe(2)
    await dispose()
    expect(released).toBe(2)
  })
})

describe("telemetry on Lambda", () => {
  it("every invocation flushes spans and metrics before it returns (Lambda freezes the process afterwards)", async () => {
    let flushes = 0
    const traced = Layer.merge(shared, Layer.succeed(Telemetry, { tracing: true, flush: Effect.sync(() => flushes++) }))
    const { handler, dispose } = makeApiHandler("traced", traced)
    expect((await handler(apiEvent("GET", "/health"))).statusCode).toBe(200)
    expect(flushes).toBe(1)
    expect((await handler(apiEvent("GET", "/no/such/route"))).statusCode).toBe(404)
    expect(flushes).toBe(2)
    await dispose()

    const tracedProcessor = makeProcessorHandler("traced-processor", traced)
    await tracedProcessor.handler({ Records: [] })
    expect(flushes).toBe(3)
    await tracedProcessor.dispose()
  })
})

describe("processor handler", () => {
  it("acknowledges poisoned and finished records, completes the valid job, leaves the finished one alone", async () => {
    const token = await signIn("lambda-processor@example.com")
    const finished = await upload(token)
    const valid = await upload(token)

    const first = sqsRecord(JSON.stringify({ jobId: finished }))
    expect(await processor.handler(sqsEvent(first))).toEqual({ batchItemFailures: [] })
    const before = await jobRow(finished)
    expect(before?.status).toBe("completed")

    const batch = sqsEvent(
      sqsRecord("this is not json"),
      sqsRecord(JSON.stringify({ hello: "world" })),
      sqsRecord(JSON.stringify({ jobId: randomUUID() })),
      sqsRecord(JSON.stringify({ jobId: valid, traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" })),
      sqsRecord(JSON.stringify({ jobId: finished }), 2)
    )
    expect(await processor.handler(batch)).toEqual({ batchItemFailures: [] })
    expect((await jobRow(valid))?.status).toBe("completed")
    const after = await jobRow(finished)
    expect(after).toEqual(before)

    const status = await api.handler(apiEvent("GET", `/jobs/${valid}/status`, { token }))
    expect(json(status)).toMatchObject({ status: "completed" })
  })

  it("an EventBridge scheduled event runs the housekeeping: the erasure outbox is drained (and originals swept), no SQS batch is assumed", async () => {
    const key = `jobs/${randomUUID()}_original`
    await run(
      Effect.gen(function* () {
        const storage = yield* Storage
        const sql = yield* SqlClient.SqlClient
        yield* storage.put(key, Uint8Array.of(1, 2, 3), { userId: UserId.make(randomUUID()), uploadedAt: new Date() })
        yield* sql`INSERT INTO erasure_outbox (kind, target) VALUES ('object', ${key})`
      })
    )
    const scheduled: ScheduledEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "111122223333",
      time: new Date().toISOString(),
      region: "eu-west-1",
      resources: ["arn:aws:events:eu-west-1:111122223333:rule/housekeeping"],
      detail: {}
    }
    const report = await processor.handler(scheduled)
    expect(report.outbox).toEqual({ done: 1, failed: 0 })
    expect(await run(Effect.flatMap(Storage, (storage) => storage.exists(key)))).toBe(false)
    const left = await run(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 FROM erasure_outbox WHERE target = ${key}`))
    expect(left).toEqual([])
  })

  it("asks for redelivery of a job another worker holds, and gives up on it only at the last delivery", async () => {
    const token = await signIn("lambda-leased@example.com")
    const leased = await upload(token)
    await run(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql`UPDATE jobs SET status = 'processing', lease_owner = 'someone-else', attempts = 1,
                lease_expires_at = now() + interval '1 hour' WHERE id = ${leased}::uuid`
      )
    )
    const record = sqsRecord(JSON.stringify({ jobId: leased }))
    expect(await processor.handler(sqsEvent(record))).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] })
    expect((await jobRow(leased))?.status).toBe("processing")

    // its owner is alive: the last delivery is acknowledged, the job is left to that owner
    const last = sqsRecord(JSON.stringify({ jobId: leased }), 5)
    expect(await processor.handler(sqsEvent(last))).toEqual({ batchItemFailures: [] })
    expect(await jobRow(leased)).toMatchObject({ status: "processing", attempts: 1 })
  })

  it("a transient failure is redelivered; on the last delivery the job fails with DELIVERY_EXHAUSTED", async () => {
    const token = await signIn("lambda-transient@example.com")
    const jobId = await upload(token)
    const failingLlm = Layer.effectContext(
      Effect.sync(() =>
        Context.add(context, LLM, {
          ...Context.get(context, LLM),
          interpret: () => Effect.fail(new LLMUnavailable({ message: "throttled", retryAfterSeconds: 0 }))
        })
      )
    )
    const flaky = makeProcessorHandler("test-processor-flaky", failingLlm)
    try {
      const early = sqsRecord(JSON.stringify({ jobId }), 1)
      expect(await flaky.handler(sqsEvent(early))).toEqual({ batchItemFailures: [{ itemIdentifier: early.messageId }] })
      expect(await jobRow(jobId)).toMatchObject({ status: "queued", attempts: 1, errorCode: "LLM_UNAVAILABLE" })

      const last = sqsRecord(JSON.stringify({ jobId }), 5)
      expect(await flaky.handler(sqsEvent(last))).toEqual({ batchItemFailures: [] })
      expect(await jobRow(jobId)).toMatchObject({ status: "failed", errorCode: DELIVERY_EXHAUSTED })
    } finally {
      await flaky.dispose()
    }
  })
})

describe("processor handler on the job dead-letter queue", () => {
  const DLQ_ARN = "arn:aws:sqs:eu-west-1:123456789012:serenya-jobs-dlq"
  const deadLetter = (body: string): SQSRecord => ({ ...sqsRecord(body, 1), eventSourceARN: DLQ_ARN })
  const withDeadLetters = Layer.effectContext(
    Effect.sync(() => Context.add(context, ProcessorConfig, { ...Context.get(context, ProcessorConfig), deadLetterQueueArn: DLQ_ARN }))
  )
  const leaseOf = (jobId: string) =>
    run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ leaseOwner: string | null; errorMessage: string | null }>`
          SELECT lease_owner, error_message FROM jobs WHERE id = ${jobId}::uuid`
      ).pipe(Effect.map((rows) => rows[0]))
    )

  it("fails a job stuck in processing under a hung worker's live lease with DELIVERY_EXHAUSTED, and pushes job.failed to the user's phone", async () => {
    const token = await signIn("lambda-dlq-stuck@example.com")
    const phone = await api.handler(apiEvent("POST", "/me/devices", { body: JSON.stringify({ platform: "ios", token: "ab".repeat(32) }), token }))
    expect(phone.statusCode).toBe(201)
    const stuck = await upload(token)
    await run(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql`UPDATE jobs SET status = 'processing', stage = 'interpreting', lease_owner = 'lambda-hung', attempts = 5,
                lease_expires_at = now() + interval '1 hour' WHERE id = ${stuck}::uuid`
      )
    )
    const handler = makeProcessorHandler("test-processor-dlq-stuck", withDeadLetters)
    try {
      expect(await handler.handler(sqsEvent(deadLetter(JSON.stringify({ jobId: stuck }))))).toEqual({ batchItemFailures: [] })
      expect(await jobRow(stuck)).toMatchObject({ status: "failed", errorCode: DELIVERY_EXHAUSTED, attempts: 5 })
      expect(await leaseOf(stuck)).toMatchObject({ leaseOwner: null, errorMessage: expect.stringContaining("deliveries") })
      const status = await api.handler(apiEvent("GET", `/jobs/${stuck}/status`, { token }))
      expect(json(status)).toMatchObject({ status: "failed" })
      // the failure and its push committed together; the push went out right after
      const pushes = await run(Effect.flatMap(NotificationsMemoryProbe, (probe) => probe.delivered))
      expect(pushes.filter((p) => p.message.jobId === stuck).map((p) => p.message.kind)).toEqual(["job.failed"])
    } finally {
      await handler.dispose()
    }
  })

  it("fails a queued job without running it, and leaves a completed one untouched", async () => {
    const token = await signIn("lambda-dlq-finished@example.com")
    const completed = await upload(token)
    const queued = await upload(token)
    expect(await processor.handler(sqsEvent(sqsRecord(JSON.stringify({ jobId: completed }))))).toEqual({ batchItemFailures: [] })
    const before = await jobRow(completed)
    expect(before?.status).toBe("completed")

    const handler = makeProcessorHandler("test-processor-dlq-finished", withDeadLetters)
    try {
      const batch = sqsEvent(deadLetter(JSON.stringify({ jobId: completed })), deadLetter(JSON.stringify({ jobId: queued })))
      expect(await handler.handler(batch)).toEqual({ batchItemFailures: [] })
      expect(await jobRow(completed)).toEqual(before)
      expect(await jobRow(queued)).toMatchObject({ status: "failed", errorCode: DELIVERY_EXHAUSTED, attempts: 0 })
    } finally {
      await handler.dispose()
    }
  })

  it("acknowledges poisoned dead letters; job-queue records still run as before", async () => {
    const token = await signIn("lambda-dlq-poisoned@example.com")
    const valid = await upload(token)
    const handler = makeProcessorHandler("test-processor-dlq-poisoned", withDeadLetters)
    try {
      const batch = sqsEvent(
        deadLetter("this is not json"),
        deadLetter(JSON.stringify({ hello: "world" })),
        deadLetter(JSON.stringify({ jobId: "not-a-uuid" })),
        deadLetter(JSON.stringify({ jobId: randomUUID() })),
        sqsRecord(JSON.stringify({ jobId: valid }))
      )
      expect(await handler.handler(batch)).toEqual({ batchItemFailures: [] })
      expect((await jobRow(valid))?.status).toBe("completed")
    } finally {
      await handler.dispose()
    }
  })
})

describe("migrate handler", () => {
  it("migrates on Create and Update (as the owner, DATABASE_OWNER_URL), does nothing on Delete", async () => {
    // The function's settings: DATABASE_URL is the application's role, DATABASE_OWNER_URL the owner's.
    const migrateSettings = Layer.unwrap(
      Effect.map(TestDatabase, (database) =>
        configLayer({
          ...settings,
          database: { ...settings.database, url: Option.some(database.url), ownerUrl: Option.some(database.ownerUrl) }
        })
      )
    ).pipe(Layer.provide(shared))
    const { handler, dispose } = makeMigrateHandler("test-migrate", migrateSettings)
    try {
      const base = {
        ServiceToken: "arn:aws:lambda:eu-west-1:123456789012:function:provider",
        ResponseURL: "https://cloudformation-custom-resource-response.example/",
        StackId: "arn:aws:cloudformation:eu-west-1:123456789012:stack/serenya/1",
        RequestId: randomUUID(),
        LogicalResourceId: "Migration",
        ResourceType: "Custom::SerenyaMigration",
        ResourceProperties: { ServiceToken: "x", DeploymentId: "d1" }
      }
      const created = await handler({ ...base, RequestType: "Create" })
      expect(created).toMatchObject({ PhysicalResourceId: "serenya-schema-migrations", Data: { Applied: "0" } })
      const updated = await handler({
        ...base,
        RequestType: "Update",
        PhysicalResourceId: created.PhysicalResourceId,
        OldResourceProperties: { ServiceToken: "x" }
      })
      expect(updated.PhysicalResourceId).toBe("serenya-schema-migrations")
      const deleted = await handler({ ...base, RequestType: "Delete", PhysicalResourceId: "serenya-schema-migrations" })
      expect(deleted).toEqual({ PhysicalResourceId: "serenya-schema-migrations" })
    } finally {
      await dispose()
    }
  })
})
