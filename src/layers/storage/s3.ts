/**
 * The live layer: Amazon S3 (or an S3-compatible server through S3_ENDPOINT). Objects are
 * already sealed by Crypto; SSE-KMS with the documents key is a second layer on top, sent only
 * when a key id is configured so servers without KMS still work. The SDK does not retry
 * (`maxAttempts: 1`): throttling, 5xx and network errors retry on the `storage` schedule
 * within a timeout, then surface as StorageUnavailable. The SDK loads, and the client is
 * created, on the first storage call, not when the layer is built (src/layers/aws/sdk.ts).
 */
import type * as S3 from "@aws-sdk/client-s3"
import { Data, Effect, Layer, Option, Schema } from "effect"
import { AppInfoConfig } from "../../config/app.js"
import { CryptoConfig } from "../../config/crypto.js"
import { StorageConfig, type StorageSettings } from "../../config/storage.js"
import { OperationTimedOut } from "../../services/errors.js"
import { UserId } from "../../services/ids.js"
import { Timeouts, withRetry, withTimeout } from "../../services/resilience.js"
import {
  type ObjectMetadata,
  ObjectNotFound,
  Storage,
  StorageUnavailable,
  validateObjectKey,
  validateObjectKeyPrefix
} from "../../services/storage.js"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, lazyClient, tryAws } from "../aws/sdk.js"

/** The subset of the S3 client we use: tests hand in a mocked one. */
export type S3Send = Pick<S3.S3Client, "send">

export interface S3StorageOptions {
  readonly bucket: string
  /** The documents KMS key for SSE-KMS; undefined sends no SSE headers (S3-compatible servers). */
  readonly sseKmsKeyId: string | undefined
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). */
  readonly pageSize?: number
}

export const USER_ID_METADATA = "user-id"
export const UPLOAD_TIMESTAMP_METADATA = "upload-timestamp"

const THROTTLING = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestTimeout",
  "TooManyRequestsException",
  "RequestLimitExceeded"
])


const isUserId = Schema.is(UserId)

/** The 404s that mean "no such object"; NoSuchBucket is a misconfiguration, not a missing object. */
export const isMissingObject = (cause: unknown): boolean => {
  const name = awsErrorName(cause)
  return name === "NoSuchKey" || name === "NotFound" || (awsHttpStatus(cause) === 404 && name !== "NoSuchBucket")
}

const classify = (operation: string, cause: unknown): StorageUnavailable => {
  const name = awsErrorName(cause)
  const status = awsHttpStatus(cause)
  const transient =
    THROTTLING.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    // no HTTP answer at all: a network error; missing credentials will not appear by retrying
    (status === undefined && name !== "CredentialsProviderError")
  return new StorageUnavailable({ message: `S3 ${operation} failed: ${name}`, transient })
}

/** One S3 request: timed out, retried on the `storage` schedule while transient, as a span; other S3 capabilities use it too. */
export const callS3 = <A, E = never>(
  operation: string,
  send: (signal: AbortSignal) => Promise<A>,
  recognise: (cause: unknown) => E | undefined = () => undefined
): Effect.Effect<A, E | StorageUnavailable> =>
  tryAws(send, (cause) => recognise(cause) ?? classify(operation, cause)).pipe(
    withTimeout(`s3.${operation}`, Timeouts.storage),
    Effect.catchIf(
      (e): e is OperationTimedOut => e instanceof OperationTimedOut,
      () => Effect.fail(new StorageUnavailable({ message: `S3 ${operation} timed out`, transient: true }))
    ),
    withRetry("storage"),
    Effect.withSpan(`S3.${operation}`, { attributes: { "rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": operation } })
  )

/**
 * S3-compatible servers without versioning refuse ListObjectVersions (s3rver: MethodNotAllowed;
 * others NotImplemented). S3 itself lists versions of any bucket, versioned or not.
 */
const VERSIONING_UNSUPPORTED = new Set(["NotImplemented", "MethodNotAllowed"])
class NoVersioning extends Data.TaggedError("NoVersioning") {}

const invalidAnswer = (what: string) => new StorageUnavailable({ message: `S3 GetObject answered ${what}`, transient: false })

const readMetadata = (
  metadata: Record<string, string> | undefined,
  contentType: string | undefined
): Effect.Effect<ObjectMetadata, StorageUnavailable> => {
  const userId = metadata?.[USER_ID_METADATA]
  const timestamp = metadata?.[UPLOAD_TIMESTAMP_METADATA]
  const uploadedAt = timestamp === undefined ? undefined : new Date(timestamp)
  if (userId === undefined || !isUserId(userId) || uploadedAt === undefined || Number.isNaN(uploadedAt.getTime())) {
    return Effect.fail(invalidAnswer("without valid user-id and upload-timestamp metadata"))
  }
  return Effect.succeed({ userId, uploadedAt, ...(contentType !== undefined ? { contentType } : {}) })
}

export const makeS3Storage = (client: ClientSource<S3Send>, options: S3StorageOptions): (typeof Storage)["Service"] => {
  const { bucket, sseKmsKeyId } = options
  const pageSize = options.pageSize ?? 1000
  const sse = sseKmsKeyId === undefined ? {} : { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: sseKmsKeyId }
  /** The client and the SDK's command classes (the module the client came from). */
  const s3 = Effect.zip(clientFrom(client), AwsSdk.s3)

  const put: (typeof Storage)["Service"]["put"] = (key, bytes, metadata) =>
    Effect.flatMap(Effect.zip(Effect.fromResult(validateObjectKey(key)), s3), ([valid, [client, sdk]]) =>
      callS3("PutObject", (abortSignal) =>
        client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: valid,
            Body: bytes,
            ContentLength: bytes.length,
            ...(metadata.contentType !== undefined ? { ContentType: metadata.contentType } : {}),
            Metadata: {
              [USER_ID_METADATA]: metadata.userId,
              [UPLOAD_TIMESTAMP_METADATA]: metadata.uploadedAt.toISOString()
            },
            ...sse
          }),
          { abortSignal }
        )
      )
    ).pipe(
      Effect.asVoid,
      Effect.withSpan("Storage.put", { attributes: { "storage.provider": "s3", "storage.bytes": bytes.length } })
    )

  const get: (typeof Storage)["Service"]["get"] = (key) =>
    Effect.gen(function* () {
      const valid = yield* Effect.fromResult(validateObjectKey(key))
      const [client, sdk] = yield* s3
      const answer = yield* callS3(
        "GetObject",
        async (abortSignal) => {
          const out = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: valid }), { abortSignal })
          // the body streams after the headers: reading it belongs to the same timed, retried attempt
          return { out, bytes: await out.Body?.transformToByteArray() }
        },
        (cause) => (isMissingObject(cause) ? new ObjectNotFound({ message: "No object is stored under this key", key: valid }) : undefined)
      )
      const bytes = answer.bytes
      if (bytes === undefined) return yield* Effect.fail(invalidAnswer("without a body"))
      const metadata = yield* readMetadata(answer.out.Metadata, answer.out.ContentType)
      // the SDK may hand back a Buffer; callers get a plain Uint8Array view of the same memory
      return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), metadata }
    }).pipe(Effect.withSpan("Storage.get", { attributes: { "storage.provider": "s3" } }))

  /**
   * Removal leaves nothing under the key, in a versioned bucket too: a plain DeleteObject there
   * only stacks a delete marker on the versions, which stay readable by version id (an original
   * would survive as a noncurrent version). So: DeleteObject (on an unversioned bucket, or a
   * server without versioning, that is the whole job), then every version and delete marker of
   * the key is listed and deleted by VersionId. Each step is idempotent, so a removal interrupted
   * half-way is finished by the next call.
   */
  const remove: (typeof Storage)["Service"]["remove"] = (key) =>
    Effect.gen(function* () {
      const valid = yield* Effect.fromResult(validateObjectKey(key))
      const [client, sdk] = yield* s3
      // S3 answers 204 for a key that holds nothing
      yield* callS3("DeleteObject", (abortSignal) => client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: valid }), { abortSignal }))
      let keyMarker: string | undefined
      let versionMarker: string | undefined
      do {
        const markers = { keyMarker, versionMarker }
        const listed = yield* callS3(
          "ListObjectVersions",
          (abortSignal) =>
            client.send(
              new sdk.ListObjectVersionsCommand({
                Bucket: bucket,
                Prefix: valid,
                MaxKeys: pageSize,
                ...(markers.keyMarker !== undefined ? { KeyMarker: markers.keyMarker } : {}),
                ...(markers.versionMarker !== undefined ? { VersionIdMarker: markers.versionMarker } : {})
              }),
              { abortSignal }
            ),
          (cause) => (VERSIONING_UNSUPPORTED.has(awsErrorName(cause)) ? new NoVersioning() : undefined)
        ).pipe(Effect.catchTag("NoVersioning", () => Effect.succeed(undefined)))
        // a server that keeps no versions (s3rver; S3 itself never says so): DeleteObject was the whole job
        if (listed === undefined) return
        const page = listed
        // the prefix also matches longer keys; only this key's versions are ours to delete
        const versions = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].flatMap((v) =>
          v.Key === valid && v.VersionId !== undefined ? [{ Key: valid, VersionId: v.VersionId }] : []
        )
        if (versions.length > 0) {
          const answer = yield* callS3("DeleteObjects", (abortSignal) =>
            client.send(
              new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: versions, Quiet: true } }),
              { abortSignal }
            )
          )
          const failed = answer.Errors ?? []
          if (failed.length > 0) {
            const code = failed[0]?.Code ?? "Unknown"
            return yield* Effect.fail(
              new StorageUnavailable({
                message: `S3 DeleteObjects failed for ${failed.length} version(s): ${code}`,
                transient: code === "SlowDown" || code === "InternalError" || code === "ServiceUnavailable"
              })
            )
          }
        }
        const truncated = page.IsTruncated === true
        keyMarker = truncated ? page.NextKeyMarker : undefined
        versionMarker = truncated ? page.NextVersionIdMarker : undefined
      } while (keyMarker !== undefined)
    }).pipe(Effect.withSpan("Storage.remove", { attributes: { "storage.provider": "s3" } }))

  const exists: (typeof Storage)["Service"]["exists"] = (key) =>
    Effect.flatMap(Effect.zip(Effect.fromResult(validateObjectKey(key)), s3), ([valid, [client, sdk]]) =>
      callS3("HeadObject", (abortSignal) =>
        client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: valid }), { abortSignal }).then(
          () => true,
          (cause: unknown) => {
            if (isMissingObject(cause)) return false
            throw cause
          }
        )
      )
    ).pipe(Effect.withSpan("Storage.exists", { attributes: { "storage.provider": "s3" } }))

  const list: (typeof Storage)["Service"]["list"] = (prefix) =>
    Effect.gen(function* () {
      const valid = yield* Effect.fromResult(validateObjectKeyPrefix(prefix))
      const [client, sdk] = yield* s3
      const keys: Array<string> = []
      let token: string | undefined
      do {
        const continuation = token
        const page = yield* callS3("ListObjectsV2", (abortSignal) =>
          client.send(
            new sdk.ListObjectsV2Command({
              Bucket: bucket,
              MaxKeys: pageSize,
              ...(valid !== "" ? { Prefix: valid } : {}),
              ...(continuation !== undefined ? { ContinuationToken: continuation } : {})
            }),
            { abortSignal }
          )
        )
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key)
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (token !== undefined)
      // S3 lists in UTF-8 byte order; keys are ASCII, so this is the same order on every layer
      return keys.sort()
    }).pipe(Effect.withSpan("Storage.list", { attributes: { "storage.provider": "s3" } }))

  return { put, get, remove, exists, list }
}

/**
 * An S3 client for `region` and the storage settings' endpoint, made on first use (the SDK loads
 * then, not at start-up). Every S3 capability (documents, audit checkpoints) uses this one recipe.
 */
export const s3ClientFor = (storage: Pick<StorageSettings, "endpoint" | "forcePathStyle">, region: string) => {
  const endpoint = Option.getOrUndefined(storage.endpoint)
  return lazyClient(
    Effect.map(
      AwsSdk.s3,
      (sdk) =>
        new sdk.S3Client({
          region,
          // we retry ourselves, on our schedule and only what is worth it
          maxAttempts: 1,
          forcePathStyle: storage.forcePathStyle,
          ...(endpoint !== undefined ? { endpoint } : {})
        })
    )
  )
}

/** Storage on S3 with the bucket, region, endpoint and documents key (SSE-KMS) from the settings. */
export const StorageS3: Layer.Layer<Storage, StorageUnavailable, StorageConfig | CryptoConfig | AppInfoConfig> = Layer.effect(
  Storage,
  Effect.gen(function* () {
    const storage = yield* StorageConfig
    const bucket = Option.getOrUndefined(storage.bucket)
    if (bucket === undefined) {
      return yield* Effect.fail(new StorageUnavailable({ message: "S3_BUCKET is not configured", transient: false }))
    }
    const client = yield* s3ClientFor(storage, (yield* AppInfoConfig).awsRegion)
    return makeS3Storage(client, { bucket, sseKmsKeyId: Option.getOrUndefined((yield* CryptoConfig).kmsDocumentsKeyId) })
  })
)
