/**
 * Large documents on Lambda: API Gateway hands a body to the function base64-encoded inside the
 * 6 MB invocation payload, so a 5 MiB or 20 MiB document can never be a request body there. Here
 * the API handler (API Gateway 2.0 events in, over a real PostgreSQL) begins an upload, the
 * document goes straight to S3 (s3rver, a presigned POST sent with fetch), and the handler
 * completes it: 202 and a queued job whose stored original opens to the same bytes — while every
 * event the function received carried less than 1 KiB.
 */
import { SqlClient } from "effect/sql"
import { S3Client } from "@aws-sdk/client-s3"
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeApiHandler } from "../../../src/main/lambda/api.js"
import { makeS3UploadTargets } from "../../../src/layers/uploadTargets/s3.js"
import { UploadTargetsUnconfigured } from "../../../src/layers/uploadTargets/unconfigured.js"
import { Crypto, documentContext } from "../../../src/services/crypto.js"
import { documentKey, Storage } from "../../../src/services/storage.js"
import { UploadTargets } from "../../../src/services/uploadTargets.js"
import { readFixture } from "../../support/fixtures.js"
import { postToTarget, type RunningS3rver, S3RVER_CREDENTIALS, startS3rver } from "../../support/s3rver.js"
import { appTestServices } from "../../support/services.js"
import { testSettings } from "../../support/settings.js"
import { LAMBDA_DIRECT_UPLOAD_BYTES, LAMBDA_PAYLOAD_BYTES } from "../../../src/services/uploadLimits.js"
import type { UserId } from "../../../src/services/ids.js"
import { gatewayEvent } from "./support/events.js"

const MiB = 1024 * 1024
const BUCKET = "serenya-lambda-uploads"

const settings = testSettings({
  DEV_AUTH_ENABLED: "true",
  MAX_UPLOAD_BYTES: String(20 * MiB),
  // as the Lambda stages set it (deploy/lambda/infra/functions.ts)
  MAX_DIRECT_UPLOAD_BYTES: String(LAMBDA_DIRECT_UPLOAD_BYTES),
  FREE_PLAN_DOCUMENTS_PER_MONTH: "1000",
  RATE_LIMIT_IP_CAPACITY: "100000",
  RATE_LIMIT_USER_CAPACITY: "100000"
})
const Services = appTestServices({ settings })
type ServicesContext = Layer.Success<typeof Services>

let scope: Scope.Closeable
let context: Context.Context<ServicesContext>
let s3rver: RunningS3rver
let s3: S3Client
const run = <A, E>(effect: Effect.Effect<A, E, ServicesContext>) => Effect.runPromise(Effect.provide(effect, context))

beforeAll(async () => {
  s3rver = await startS3rver([BUCKET])
  s3 = new S3Client({ endpoint: s3rver.endpoint, forcePathStyle: true, region: "eu-west-1", credentials: S3RVER_CREDENTIALS, maxAttempts: 1 })
  scope = Effect.runSync(Scope.make())
  const built = await Effect.runPromise(Layer.buildWithScope(Services, scope))
  // The services of the tests' app, with targets on "S3" in place of the memory ones.
  context = Context.add(built, UploadTargets, makeS3UploadTargets(s3, { bucket: BUCKET, sseKmsKeyId: undefined }))
}, 60_000)

afterAll(async () => {
  await api.dispose()
  await unconfigured.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  s3.destroy()
  await s3rver.stop()
})

const api = makeApiHandler("test-api-uploads", Layer.effectContext(Effect.sync(() => context)))
const unconfigured = makeApiHandler(
  "test-api-no-uploads",
  Layer.effectContext(
    Effect.map(Effect.sync(() => context), (services) =>
      Context.merge(services, Effect.runSync(Effect.scoped(Layer.build(UploadTargetsUnconfigured))))
    )
  )
)

const received: Array<APIGatewayProxyEventV2> = []

/** An event as API Gateway (HTTP API, payload 2.0) sends it; every one is kept to measure. */
const apiEvent = (method: string, rawPath: string, options: { readonly body?: string; readonly token?: string } = {}) => {
  const event: APIGatewayProxyEventV2 = {
    ...gatewayEvent(method, rawPath, {
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` })
    }),
    ...(options.body === undefined ? {} : { body: options.body })
  }
  received.push(event)
  return event
}

const json = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(result.body ?? "null") as Record<string, unknown>

const signIn = async (email: string) => {
  const result = await api.handler(apiEvent("POST", "/auth/dev", { body: JSON.stringify({ email }) }))
  expect(result.statusCode).toBe(200)
  return (json(result) as { accessToken: string }).accessToken
}

/** A valid PDF (the synthetic lab report) padded to `size` bytes with a comment after %%EOF. */
const paddedPdf = (size: number): Uint8Array => {
  const pdf = readFixture("lab-report-cbc-cmp.pdf")
  const bytes = new Uint8Array(size)
  bytes.set(pdf)
  bytes.set(new TextEncoder().encode("\n%"), pdf.length)
  bytes.fill(0x41, pdf.length + 2)
  bytes[size - 1] = 0x0a
  return bytes
}

interface Target {
  readonly uploadId: string
  readonly url: string
  readonly method: string
  readonly fields: Record<string, string>
  readonly maxBytes: number
}

describe("api handler: a direct upload takes what fits in Lambda's payload, and says where the rest goes", () => {
  it("the largest direct upload fits a 6 MB invocation with its event; one byte more is 413 pointing to POST /documents/uploads", async () => {
    const token = await signIn("direct-limit@example.com")
    const upload = (size: number) =>
      apiEvent("POST", "/documents/upload", {
        token,
        body: JSON.stringify({ fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: Buffer.from(paddedPdf(size)).toString("base64") })
      })
    const largest = upload(LAMBDA_DIRECT_UPLOAD_BYTES)
    expect(Buffer.byteLength(JSON.stringify(largest))).toBeLessThanOrEqual(LAMBDA_PAYLOAD_BYTES)
    const accepted = await api.handler(largest)
    expect(accepted.statusCode).toBe(202)

    const refused = await api.handler(upload(LAMBDA_DIRECT_UPLOAD_BYTES + 1))
    expect(refused.statusCode).toBe(413)
    expect(json(refused)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } })
    expect(JSON.stringify(json(refused))).toContain("POST /documents/uploads")
  })
})

describe("api handler: documents too large for a Lambda payload go straight to S3", () => {
  for (const size of [5 * MiB, 20 * MiB]) {
    it(`a ${size / MiB} MiB PDF: begin (event) → POST to S3 → complete (event) → 202 and a queued job with the same bytes`, async () => {
      received.length = 0
      const token = await signIn(`lambda-large-${size}@example.com`)
      const document = paddedPdf(size)

      const begun = await api.handler(
        apiEvent("POST", "/documents/uploads", {
          token,
          body: JSON.stringify({ fileName: "mri-report.pdf", contentType: "application/pdf", sizeBytes: size, documentType: "report" })
        })
      )
      expect(begun.statusCode).toBe(201)
      const target = json(begun) as unknown as Target
      expect(target).toMatchObject({ method: "POST", maxBytes: size, url: `${s3rver.endpoint}/${BUCKET}` })

      const posted = await postToTarget(target, document, "application/pdf")
      expect(posted.status).toBe(204)

      const completed = await api.handler(apiEvent("POST", `/documents/uploads/${target.uploadId}/complete`, { token }))
      expect(completed.statusCode).toBe(202)
      const accepted = json(completed) as { jobId: string; status: string }
      expect(accepted.status).toBe("queued")

      // completing again (a retry after a lost answer) is the same job
      const again = await api.handler(apiEvent("POST", `/documents/uploads/${target.uploadId}/complete`, { token }))
      expect(again.statusCode).toBe(202)
      expect(json(again)).toEqual(accepted)

      const job = await run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const storage = yield* Storage
          const crypto = yield* Crypto
          const [row] = yield* sql<{ status: string; sizeBytes: number; userId: UserId }>`
            SELECT status, size_bytes, user_id::text AS user_id FROM jobs WHERE id = ${accepted.jobId}::uuid`
          const stored = yield* storage.get(documentKey(accepted.jobId))
          const opened = yield* crypto.open(stored.bytes, documentContext(row!.userId, documentKey(accepted.jobId)))
          return { row, same: Buffer.from(opened).equals(Buffer.from(document)) }
        })
      )
      expect(job.row).toMatchObject({ status: "queued", sizeBytes: size })
      expect(job.same).toBe(true)

      // the incoming raw object is removed once the sealed original is stored
      const incoming = await fetch(`${s3rver.endpoint}/${BUCKET}/${target.fields.key}`)
      expect(incoming.status).not.toBe(200)

      // what passed through API Gateway and Lambda: small JSON only
      expect(received.length).toBe(4)
      for (const event of received) expect(Buffer.byteLength(event.body ?? "", "utf8")).toBeLessThan(1024)
    }, 60_000)
  }

  it("above MAX_UPLOAD_BYTES the begin is refused with 413; nothing is recorded", async () => {
    const token = await signIn("lambda-too-large@example.com")
    const refused = await api.handler(
      apiEvent("POST", "/documents/uploads", {
        token,
        body: JSON.stringify({ fileName: "huge.pdf", contentType: "application/pdf", sizeBytes: 20 * MiB + 1 })
      })
    )
    expect(refused.statusCode).toBe(413)
    expect(json(refused)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } })
  })

  it("without storage to upload to, both endpoints answer 501 UPLOADS_NOT_CONFIGURED in the uniform body", async () => {
    const token = await signIn("lambda-no-uploads@example.com")
    const begun = await unconfigured.handler(
      apiEvent("POST", "/documents/uploads", {
        token,
        body: JSON.stringify({ fileName: "a.pdf", contentType: "application/pdf", sizeBytes: 1000 })
      })
    )
    expect(begun.statusCode).toBe(501)
    expect(json(begun)).toMatchObject({
      error: { code: "UPLOADS_NOT_CONFIGURED", category: "technical", message: expect.stringContaining("POST /documents/upload") }
    })
    const unknown = await unconfigured.handler(
      apiEvent("POST", "/documents/uploads/0e71515d-0000-4000-8000-000000000000/complete", { token })
    )
    expect(unknown.statusCode).toBe(404)
  })
})
