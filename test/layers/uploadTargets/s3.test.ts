/**
 * The S3 upload targets against s3rver on 127.0.0.1: the shared contract with real presigned POSTs
 * sent by `fetch` + `FormData`, the layer built from settings (path-style whenever an endpoint is
 * set), and the POST policy itself. s3rver 3.7 stores a POST without checking its policy — no
 * signature, no `content-length-range`, no condition — so what S3 enforces is asserted on the
 * signed policy document, and the bound we enforce ourselves (`read`) on the object s3rver kept.
 */
import { S3Client } from "@aws-sdk/client-s3"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { AppInfoConfig } from "../../../src/config/app.js"
import { CryptoConfig } from "../../../src/config/crypto.js"
import { StorageConfig } from "../../../src/config/storage.js"
import { makeS3UploadTargets, UploadTargetsS3 } from "../../../src/layers/uploadTargets/s3.js"
import { incomingKey, type UploadTarget, UploadTargets } from "../../../src/services/uploadTargets.js"
import { postToTarget, type RunningS3rver, S3RVER_CREDENTIALS, startS3rver } from "../../support/s3rver.js"
import { testConfigProvider } from "../../support/settings.js"
import { uploadTargetsContract } from "./contract.js"

const BUCKET = "serenya-uploads-test"
const DOCUMENTS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

let s3rver: RunningS3rver | undefined
const clients: Array<S3Client> = []

beforeAll(async () => {
  s3rver = await startS3rver([BUCKET])
})

afterAll(async () => {
  for (const client of clients) client.destroy()
  await s3rver?.stop()
})

const client = () => {
  const made = new S3Client({
    endpoint: s3rver!.endpoint,
    forcePathStyle: true,
    region: "eu-west-1",
    credentials: S3RVER_CREDENTIALS,
    maxAttempts: 1
  })
  clients.push(made)
  return made
}

const upload = (target: UploadTarget, bytes: Uint8Array, contentType: string) =>
  Effect.promise(async () => {
    const answer = await postToTarget(target, bytes, contentType)
    if (answer.status !== 204) throw new Error(`s3rver answered the POST with ${answer.status}`)
  })

uploadTargetsContract(
  "s3 (s3rver)",
  () => Layer.sync(UploadTargets, () => makeS3UploadTargets(client(), { bucket: BUCKET, sseKmsKeyId: undefined })),
  upload
)

/** The layer's client takes the default credential chain: here the environment's, s3rver's, for the test's length. */
const withEnvironmentCredentials = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY }
      process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId
      process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey
      return saved
    }),
    () => effect,
    (saved) =>
      Effect.sync(() => {
        if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID
        else process.env.AWS_ACCESS_KEY_ID = saved.id
        if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY
        else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
      })
  )

interface Policy {
  readonly expiration: string
  readonly conditions: ReadonlyArray<unknown>
}
const policyOf = (target: UploadTarget): Policy =>
  JSON.parse(Buffer.from(target.fields.Policy ?? "", "base64").toString("utf8")) as Policy

describe("S3 upload targets against s3rver", () => {
  it.live("the signed policy pins the key, the exact type, 1..maxBytes and SSE-KMS with the documents key", () =>
    Effect.gen(function* () {
      const targets = makeS3UploadTargets(client(), { bucket: BUCKET, sseKmsKeyId: DOCUMENTS_KEY })
      const key = incomingKey(randomUUID())
      const target = yield* targets.issue({ key, contentType: "image/png", maxBytes: 20 * 1024 * 1024, expiresInSeconds: 600 })
      expect(target.url).toBe(`${s3rver!.endpoint}/${BUCKET}`)
      expect(target.fields).toMatchObject({
        key,
        bucket: BUCKET,
        "Content-Type": "image/png",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": DOCUMENTS_KEY,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256"
      })
      expect(target.fields["X-Amz-Signature"]).toMatch(/^[0-9a-f]{64}$/)
      const policy = policyOf(target)
      expect(policy.conditions).toEqual(
        expect.arrayContaining([
          ["content-length-range", 1, 20 * 1024 * 1024],
          { key },
          { bucket: BUCKET },
          { "Content-Type": "image/png" },
          { "x-amz-server-side-encryption": "aws:kms" },
          { "x-amz-server-side-encryption-aws-kms-key-id": DOCUMENTS_KEY }
        ])
      )
      // S3 refuses the POST after the policy's expiration: the one the answer states, to the second
      expect(Math.abs(new Date(policy.expiration).getTime() - target.expiresAt.getTime())).toBeLessThan(1_000)
      // no condition lets the client pick another key, type or encryption
      expect(JSON.stringify(policy.conditions)).not.toContain("starts-with")
    }))

  it.live("a body over maxBytes: S3 refuses it by the policy (s3rver does not), and read never takes it", () =>
    Effect.gen(function* () {
      const targets = makeS3UploadTargets(client(), { bucket: BUCKET, sseKmsKeyId: undefined })
      const key = incomingKey(randomUUID())
      const target = yield* targets.issue({ key, contentType: "text/plain", maxBytes: 1_000 })
      expect(policyOf(target).conditions).toContainEqual(["content-length-range", 1, 1_000])
      const answer = yield* Effect.promise(() => postToTarget(target, new Uint8Array(5_000).fill(65), "text/plain"))
      // s3rver 3.7 ignores every policy condition and stores it (S3 answers 400 EntityTooLarge)
      expect(answer.status).toBe(204)
      const refused = yield* Effect.result(targets.read(key, 1_000))
      expect(refused._tag === "Failure" && refused.failure._tag).toBe("PayloadTooLarge")
    }))

  it.live("the layer from settings: the storage bucket and endpoint, path-style whenever an endpoint is set", () =>
    Effect.gen(function* () {
      const targets = yield* UploadTargets
      const key = incomingKey(randomUUID())
      const target = yield* targets.issue({ key, contentType: "text/plain", maxBytes: 10 })
      // S3_FORCE_PATH_STYLE is not set: the endpoint alone makes the URL name the bucket in its path
      expect(target.url).toBe(`${s3rver!.endpoint}/${BUCKET}`)
      expect(target.fields).not.toHaveProperty("x-amz-server-side-encryption")
      yield* upload(target, new TextEncoder().encode("Hemoglobin"), "text/plain")
      expect(new TextDecoder().decode(yield* targets.read(key, 10))).toBe("Hemoglobin")
    }).pipe(
      Effect.provide(
        Layer.unwrap(
          Effect.sync(() =>
            // the storage slice, the documents key and the Region, read alone from these variables
            UploadTargetsS3.pipe(
              Layer.provide(Layer.mergeAll(StorageConfig.layer, CryptoConfig.layer, AppInfoConfig.layer)),
              Layer.provide(testConfigProvider({ STORAGE_PROVIDER: "s3", S3_BUCKET: BUCKET, S3_ENDPOINT: s3rver!.endpoint }))
            )
          )
        )
      ),
      withEnvironmentCredentials
    ))
})
