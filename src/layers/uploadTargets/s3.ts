/**
 * The live layer: S3 presigned POSTs into the documents bucket (the same bucket, region, endpoint
 * and SSE-KMS key as src/layers/storage/s3.ts), under `incoming/`. A POST policy, unlike a
 * presigned PUT, can bound the body's size (`content-length-range`), so S3 itself refuses a
 * document over the limit instead of us finding out after storing it. The policy pins the key, the
 * exact Content-Type and, when a documents key is configured, SSE-KMS with that key: the client
 * cannot choose another key, type or encryption. Signing is local (no AWS call); the SDK package
 * loads on the first issue, as the others do (src/layers/aws/sdk.ts).
 */
import type * as S3 from "@aws-sdk/client-s3"
import { Effect, Layer, Option } from "effect"
import { AppInfoConfig } from "../../config/app.js"
import { CryptoConfig } from "../../config/crypto.js"
import { StorageConfig, type StorageSettings } from "../../config/storage.js"
import { PayloadTooLarge } from "../../services/errors.js"
import { StorageUnavailable, validateObjectKey } from "../../services/storage.js"
import { uploadExpirySeconds, UploadNotReceived, UploadTargets } from "../../services/uploadTargets.js"
import { AwsSdk, type ClientSource, clientFrom } from "../aws/sdk.js"
import { callS3, isMissingObject, makeS3Storage, s3ClientFor } from "../storage/s3.js"

export interface S3UploadTargetsOptions {
  readonly bucket: string
  /** The documents KMS key; undefined: no SSE fields (S3-compatible servers without KMS). */
  readonly sseKmsKeyId: string | undefined
}

/** Thrown inside a read's attempt once the object shows itself larger than allowed. */
class TooLarge extends Error {}

type Body = AsyncIterable<Uint8Array> & { destroy?: () => void }

/** At most `maxBytes` of `body`; one byte more ends the read (and the connection) at once. */
const readBounded = async (body: Body, maxBytes: number): Promise<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  let total = 0
  for await (const chunk of body) {
    total += chunk.length
    if (total > maxBytes) {
      body.destroy?.()
      throw new TooLarge()
    }
    chunks.push(chunk)
  }
  return new Uint8Array(Buffer.concat(chunks, total))
}

export const makeS3UploadTargets = (client: ClientSource<S3.S3Client>, options: S3UploadTargetsOptions): (typeof UploadTargets)["Service"] => {
  const { bucket, sseKmsKeyId } = options
  const s3 = Effect.zip(clientFrom(client), AwsSdk.s3)
  // Removal is Storage's on the same bucket: every version goes (the bucket is versioned).
  const storage = makeS3Storage(client, options)
  const sse: Record<string, string> =
    sseKmsKeyId === undefined
      ? {}
      : { "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": sseKmsKeyId }

  const issue: (typeof UploadTargets)["Service"]["issue"] = (request) =>
    Effect.gen(function* () {
      const key = yield* Effect.fromResult(validateObjectKey(request.key))
      const [s3Client, presign] = yield* Effect.zip(clientFrom(client), AwsSdk.s3PresignedPost)
      const expires = uploadExpirySeconds(request.expiresInSeconds)
      const signedAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      const post = yield* Effect.tryPromise({
        // Every field is also an exact-match condition of the policy (the package adds them), and so is the key.
        try: () =>
          presign.createPresignedPost(s3Client, {
            Bucket: bucket,
            Key: key,
            Expires: expires,
            Fields: { "Content-Type": request.contentType, ...sse },
            Conditions: [["content-length-range", 1, Math.max(1, Math.floor(request.maxBytes))]]
          }),
        // signing is local: only missing credentials or a broken endpoint configuration fail it
        catch: (cause) =>
          new StorageUnavailable({
            message: `S3 presigned POST could not be signed: ${cause instanceof Error ? cause.name : "Error"}`,
            transient: false
          })
      })
      return { url: post.url, method: "POST" as const, fields: post.fields, expiresAt: new Date(signedAt + expires * 1000) }
    }).pipe(Effect.withSpan("UploadTargets.issue", { attributes: { "storage.provider": "s3" } }))

  const read: (typeof UploadTargets)["Service"]["read"] = (key, maxBytes) =>
    Effect.gen(function* () {
      const valid = yield* Effect.fromResult(validateObjectKey(key))
      const [s3Client, sdk] = yield* s3
      const tooLarge = new PayloadTooLarge({ message: `The upload is larger than ${maxBytes} bytes`, limitBytes: maxBytes })
      const notReceived = new UploadNotReceived({ message: "Nothing was uploaded to this target" })
      const bytes = yield* callS3(
        "GetObject",
        async (abortSignal) => {
          const out = await s3Client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: valid }), { abortSignal })
          const body = out.Body as Body | undefined
          // the declared length settles it before a byte is read; the bounded read covers a server that omits it
          if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
            body?.destroy?.()
            throw new TooLarge()
          }
          return body === undefined ? new Uint8Array(0) : await readBounded(body, maxBytes)
        },
        (cause) => (cause instanceof TooLarge ? tooLarge : isMissingObject(cause) ? notReceived : undefined)
      )
      if (bytes.length === 0) return yield* notReceived
      return bytes
    }).pipe(Effect.withSpan("UploadTargets.read", { attributes: { "storage.provider": "s3" } }))

  return { issue, read, remove: (key) => Effect.withSpan(storage.remove(key), "UploadTargets.remove") }
}

/**
 * S3 clients for uploads: the settings' region and endpoint, path-style whenever an endpoint is
 * configured (the URL a client posts to must name the bucket in its path on s3rver and MinIO).
 */
export const uploadClientFor = (storage: Pick<StorageSettings, "endpoint" | "forcePathStyle">, region: string) =>
  s3ClientFor({ ...storage, forcePathStyle: storage.forcePathStyle || Option.isSome(storage.endpoint) }, region)

export const UploadTargetsS3: Layer.Layer<UploadTargets, StorageUnavailable, StorageConfig | CryptoConfig | AppInfoConfig> = Layer.effect(
  UploadTargets,
  Effect.gen(function* () {
    const storage = yield* StorageConfig
    const bucket = Option.getOrUndefined(storage.bucket)
    if (bucket === undefined) {
      return yield* Effect.fail(new StorageUnavailable({ message: "S3_BUCKET is not configured", transient: false }))
    }
    const client = yield* uploadClientFor(storage, (yield* AppInfoConfig).awsRegion)
    return makeS3UploadTargets(client, { bucket, sseKmsKeyId: Option.getOrUndefined((yield* CryptoConfig).kmsDocumentsKeyId) })
  })
)
