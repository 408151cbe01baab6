/**
 * The S3 layer twice over. Against a real S3-protocol server (s3rver, started and stopped
 * here on 127.0.0.1; test/support/s3rver.ts): the shared contract, pagination, the SSE headers on the wire, and the
 * layer built from settings. Against aws-sdk-client-mock: the exact PutObject input and the
 * error classification and retries that no fake server can be made to answer.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException
} from "@aws-sdk/client-s3"
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Cause, Effect, Exit, Layer, Option, Tracer } from "effect"
import { settle } from "../../support/clock.js"
import { AppInfoConfig } from "../../../src/config/app.js"
import { CryptoConfig } from "../../../src/config/crypto.js"
import { StorageConfig } from "../../../src/config/storage.js"
import { makeS3Storage, StorageS3 } from "../../../src/layers/storage/s3.js"
import { documentKey, ObjectNotFound, Storage, StorageUnavailable } from "../../../src/services/storage.js"
import { testConfigProvider } from "../../support/settings.js"
import { type RunningS3rver, S3RVER_CREDENTIALS, startS3rver } from "../../support/s3rver.js"
import { metadata, storageContract } from "./contract.js"
import { userIdOf } from "../../support/ids.js"

/** What StorageS3 reads: the storage slice, the documents key (SSE-KMS) and the Region, each read alone. */
const storageSlices = Layer.mergeAll(StorageConfig.layer, CryptoConfig.layer, AppInfoConfig.layer)

const BUCKET = "serenya-test"
const DOCUMENTS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
const FAKE_CREDENTIALS = S3RVER_CREDENTIALS

let s3rver: RunningS3rver | undefined
let endpoint = ""
const clients: Array<S3Client> = []

/** A client for s3rver; `tap` sees every request as sent (after signing). */
const s3rverClient = (tap?: (command: string, headers: Record<string, string>) => void) => {
  const client = new S3Client({ endpoint, forcePathStyle: true, region: "eu-west-1", credentials: FAKE_CREDENTIALS, maxAttempts: 1 })
  if (tap) {
    client.middlewareStack.add(
      (next, context) => (args) => {
        const request = args.request
        if (typeof request === "object" && request !== null && "headers" in request) {
          tap(context.commandName ?? "", { ...(request.headers as Record<string, string>) })
        }
        return next(args)
      },
      { step: "finalizeRequest", priority: "low", name: "serenyaTestTap" }
    )
  }
  clients.push(client)
  return client
}

beforeAll(async () => {
  s3rver = await startS3rver([BUCKET])
  endpoint = s3rver.endpoint
})

afterAll(async () => {
  for (const client of clients) client.destroy()
  await s3rver?.stop()
})

storageContract("s3 (s3rver)", () => Layer.sync(Storage, () => makeS3Storage(s3rverClient(), { bucket: BUCKET, sseKmsKeyId: undefined })))

describe("S3 storage against s3rver", () => {
  it.live("list pages through ListObjectsV2 with continuation tokens", () =>
    Effect.gen(function* () {
      const commands: Array<string> = []
      const storage = makeS3Storage(
        s3rverClient((command) => commands.push(command)),
        { bucket: BUCKET, sseKmsKeyId: undefined, pageSize: 2 }
      )
      const keys = ["paged/e", "paged/a", "paged/d", "paged/b", "paged/c"]
      yield* Effect.forEach(keys, (key) => storage.put(key, Uint8Array.of(1), metadata()), { discard: true })
      commands.length = 0
      expect(yield* storage.list("paged/")).toEqual(["paged/a", "paged/b", "paged/c", "paged/d", "paged/e"])
      expect(commands).toEqual(["ListObjectsV2Command", "ListObjectsV2Command", "ListObjectsV2Command"])
    }))

  it.live("with a documents key id, PutObject carries the SSE-KMS headers on the wire", () =>
    Effect.gen(function* () {
      const sent: Array<Record<string, string>> = []
      const storage = makeS3Storage(
        s3rverClient((command, headers) => {
          if (command === "PutObjectCommand") sent.push(headers)
        }),
        { bucket: BUCKET, sseKmsKeyId: DOCUMENTS_KEY }
      )
      const key = documentKey("sse-job")
      yield* storage.put(key, Uint8Array.of(1, 2), metadata({ userId: userIdOf("user-7") }))
      expect(sent).toHaveLength(1)
      expect(sent[0]).toMatchObject({
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": DOCUMENTS_KEY,
        "x-amz-meta-user-id": userIdOf("user-7"),
        "x-amz-meta-upload-timestamp": "2026-03-01T08:15:30.123Z",
        "content-type": "application/pdf"
      })
      // s3rver ignores SSE; the object is stored and readable all the same
      expect((yield* storage.get(key)).bytes).toEqual(Uint8Array.of(1, 2))
    }))

  it.live("without a key id no SSE header is sent", () =>
    Effect.gen(function* () {
      const sent: Array<Record<string, string>> = []
      const storage = makeS3Storage(
        s3rverClient((command, headers) => {
          if (command === "PutObjectCommand") sent.push(headers)
        }),
        { bucket: BUCKET, sseKmsKeyId: undefined }
      )
      yield* storage.put("plain/no-sse", Uint8Array.of(1), metadata())
      expect(Object.keys(sent[0] ?? {}).filter((h) => h.startsWith("x-amz-server-side-encryption"))).toEqual([])
    }))

  it.live("StorageS3 from settings (S3_BUCKET, S3_ENDPOINT, S3_FORCE_PATH_STYLE) round-trips", () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS.accessKeyId)
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS.secretAccessKey)
    // the three slices it reads (storage, the documents key, the Region), read alone from these variables
    const settings = testConfigProvider({
      STORAGE_PROVIDER: "s3",
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: "true"
    })
    return Effect.gen(function* () {
      const storage = yield* Storage
      const key = documentKey("from-settings")
      yield* storage.put(key, Uint8Array.of(4, 2), metadata())
      expect(yield* storage.exists(key)).toBe(true)
      const stored = yield* storage.get(key)
      expect(stored.bytes).toEqual(Uint8Array.of(4, 2))
      yield* storage.remove(key)
      expect(yield* storage.exists(key)).toBe(false)
    }).pipe(
      Effect.provide(StorageS3.pipe(Layer.provide(storageSlices), Layer.provide(settings))),
      Effect.ensuring(Effect.sync(() => vi.unstubAllEnvs()))
    )
  })

  it.effect("StorageS3 without S3_BUCKET fails to build with a non-transient StorageUnavailable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(StorageS3).pipe(Effect.scoped))
      expect(error).toBeInstanceOf(StorageUnavailable)
      expect(error).toMatchObject({ transient: false, message: "S3_BUCKET is not configured" })
    }).pipe(Effect.provide(storageSlices), Effect.provide(testConfigProvider())))
})

describe("S3 storage against a mocked client", () => {
  const client = new S3Client({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })
  const s3 = mockClient(client)
  beforeEach(() => {
    s3.reset()
  })
  afterAll(() => {
    s3.restore()
    client.destroy()
  })

  const storage = (sseKmsKeyId: string | undefined) => makeS3Storage(client, { bucket: BUCKET, sseKmsKeyId })

  const serviceError = (name: string, status: number | undefined) =>
    new S3ServiceException({
      name,
      $fault: status !== undefined && status < 500 ? "client" : "server",
      $metadata: status === undefined ? {} : { httpStatusCode: status },
      message: name
    })

  /**
   * Runs `effect` to completion under TestClock: whenever it waits on a retry delay, time
   * jumps ahead. The mocked answers are promises, so each step first lets them settle.
   */
  const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
    Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

  it.effect("PutObject: jobs/{jobId}_original, SSE-KMS with the documents key, user-id and upload-timestamp metadata", () =>
    Effect.gen(function* () {
      s3.on(PutObjectCommand).resolves({})
      const bytes = Uint8Array.of(0xde, 0xad)
      yield* storage(DOCUMENTS_KEY).put(documentKey("job-1"), bytes, metadata({ userId: userIdOf("user-9"), contentType: "application/pdf" }))
      const calls = s3.commandCalls(PutObjectCommand)
      expect(calls).toHaveLength(1)
      expect(calls[0]?.args[0].input).toEqual({
        Bucket: BUCKET,
        Key: "jobs/job-1_original",
        Body: bytes,
        ContentLength: 2,
        ContentType: "application/pdf",
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: DOCUMENTS_KEY,
        Metadata: { "user-id": userIdOf("user-9"), "upload-timestamp": "2026-03-01T08:15:30.123Z" }
      })
    }))

  it.effect("PutObject without a documents key id sends neither SSE field", () =>
    Effect.gen(function* () {
      s3.on(PutObjectCommand).resolves({})
      yield* storage(undefined).put("jobs/job-2_original", Uint8Array.of(1), metadata())
      const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input
      expect(input).not.toHaveProperty("ServerSideEncryption")
      expect(input).not.toHaveProperty("SSEKMSKeyId")
    }))

  it.effect("a 503 answered twice, then success: the put succeeds on the third attempt", () =>
    Effect.gen(function* () {
      s3.on(PutObjectCommand)
        .rejectsOnce(serviceError("ServiceUnavailable", 503))
        .rejectsOnce(serviceError("ServiceUnavailable", 503))
        .resolves({})
      const exit = yield* settle(storage(DOCUMENTS_KEY).put("jobs/job-3_original", Uint8Array.of(1), metadata()))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(3)
    }))

  it.effect("GetObject NoSuchKey is ObjectNotFound, asked once", () =>
    Effect.gen(function* () {
      s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } }))
      const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).get("jobs/missing_original")))
      expect(error).toBeInstanceOf(ObjectNotFound)
      expect(error).toMatchObject({ key: "jobs/missing_original" })
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1)
    }))

  it.effect("HeadObject NotFound (404, no body) means exists is false", () =>
    Effect.gen(function* () {
      s3.on(HeadObjectCommand).rejects(serviceError("NotFound", 404))
      expect(yield* storage(DOCUMENTS_KEY).exists("jobs/missing_original")).toBe(false)
    }))

  it.effect("AccessDenied (403) is StorageUnavailable, not transient, and is not retried", () =>
    Effect.gen(function* () {
      s3.on(PutObjectCommand).rejects(serviceError("AccessDenied", 403))
      const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).put("jobs/job-4_original", Uint8Array.of(1), metadata())))
      expect(error).toBeInstanceOf(StorageUnavailable)
      expect(error).toMatchObject({ transient: false, message: "S3 PutObject failed: AccessDenied" })
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1)
    }))

  it.effect("NoSuchBucket (404) is a misconfiguration, not a missing object", () =>
    Effect.gen(function* () {
      s3.on(GetObjectCommand).rejects(serviceError("NoSuchBucket", 404))
      const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).get("jobs/a_original")))
      expect(error).toBeInstanceOf(StorageUnavailable)
      expect(error).toMatchObject({ transient: false })
    }))

  it.effect("remove in a versioned bucket deletes every version and delete marker of the key by VersionId, and only of that key", () =>
    Effect.gen(function* () {
      s3.on(DeleteObjectCommand).resolves({ DeleteMarker: true, VersionId: "marker-2" })
      s3.on(ListObjectVersionsCommand)
        .resolvesOnce({
          IsTruncated: true,
          NextKeyMarker: "jobs/v_original",
          NextVersionIdMarker: "v1",
          Versions: [
            { Key: "jobs/v_original", VersionId: "v2", IsLatest: false },
            { Key: "jobs/v_original", VersionId: "v1", IsLatest: false }
          ],
          DeleteMarkers: [{ Key: "jobs/v_original", VersionId: "marker-2", IsLatest: true }]
        })
        .resolvesOnce({
          IsTruncated: false,
          // the prefix also matches a longer key, which is not ours to delete
          Versions: [{ Key: "jobs/v_original", VersionId: "v0" }, { Key: "jobs/v_original-other", VersionId: "x1" }]
        })
      s3.on(DeleteObjectsCommand).resolves({})
      yield* storage(DOCUMENTS_KEY).remove("jobs/v_original")

      const lists = s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input)
      expect(lists).toEqual([
        { Bucket: BUCKET, Prefix: "jobs/v_original", MaxKeys: 1000 },
        { Bucket: BUCKET, Prefix: "jobs/v_original", MaxKeys: 1000, KeyMarker: "jobs/v_original", VersionIdMarker: "v1" }
      ])
      const deleted = s3.commandCalls(DeleteObjectsCommand).flatMap((c) => c.args[0].input.Delete?.Objects ?? [])
      expect(deleted).toEqual([
        { Key: "jobs/v_original", VersionId: "v2" },
        { Key: "jobs/v_original", VersionId: "v1" },
        { Key: "jobs/v_original", VersionId: "marker-2" },
        { Key: "jobs/v_original", VersionId: "v0" }
      ])
      expect(s3.commandCalls(DeleteObjectsCommand).every((c) => c.args[0].input.Bucket === BUCKET)).toBe(true)
    }))

  it.effect("remove fails (for the outbox to retry) when DeleteObjects reports a version it could not delete", () =>
    Effect.gen(function* () {
      s3.on(DeleteObjectCommand).resolves({})
      s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false, Versions: [{ Key: "jobs/w_original", VersionId: "v1" }] })
      s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: "jobs/w_original", VersionId: "v1", Code: "AccessDenied" }] })
      const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).remove("jobs/w_original")))
      expect(error).toMatchObject({ _tag: "StorageUnavailable", transient: false })
    }))

  it.effect("remove on a server that keeps no versions (ListObjectVersions NotImplemented) is done after DeleteObject", () =>
    Effect.gen(function* () {
      s3.on(DeleteObjectCommand).resolves({})
      s3.on(ListObjectVersionsCommand).rejects(serviceError("NotImplemented", 501))
      const exit = yield* settle(storage(DOCUMENTS_KEY).remove("jobs/u_original"))
      expect(failureOf(exit)).toBeUndefined()
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(s3.commandCalls(ListObjectVersionsCommand)).toHaveLength(1)
      expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0)
    }))

  const transientCases: ReadonlyArray<readonly [string, unknown]> = [
    ["500 InternalError", serviceError("InternalError", 500)],
    ["503 SlowDown", serviceError("SlowDown", 503)],
    ["400 RequestTimeout", serviceError("RequestTimeout", 400)],
    ["400 ThrottlingException", serviceError("ThrottlingException", 400)],
    ["429 TooManyRequestsException", serviceError("TooManyRequestsException", 429)],
    ["a network error (no HTTP answer)", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })]
  ]
  for (const [label, cause] of transientCases) {
    it.effect(`${label}: transient, tried 1 + 3 times on the storage schedule`, () =>
      Effect.gen(function* () {
        s3.on(DeleteObjectCommand).rejects(cause as Error)
        const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).remove("jobs/a_original")))
        expect(error).toBeInstanceOf(StorageUnavailable)
        expect(error).toMatchObject({ transient: true })
        expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(4)
      }))
  }

  const refusalCases: ReadonlyArray<readonly [string, number]> = [
    ["InvalidBucketName", 400],
    ["InvalidAccessKeyId", 403],
    ["KMS.DisabledException", 400]
  ]
  for (const [name, status] of refusalCases) {
    it.effect(`${status} ${name}: not transient, asked once`, () =>
      Effect.gen(function* () {
        s3.on(DeleteObjectCommand).rejects(serviceError(name, status))
        const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).remove("jobs/a_original")))
        expect(error).toMatchObject({ _tag: "StorageUnavailable", transient: false })
        expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(1)
      }))
  }

  it.effect("an answer that never comes times out after 10 s per attempt: transient StorageUnavailable", () =>
    Effect.gen(function* () {
      s3.on(HeadObjectCommand).callsFake(() => new Promise(() => {}))
      const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).exists("jobs/slow_original")))
      expect(error).toBeInstanceOf(StorageUnavailable)
      expect(error).toMatchObject({ transient: true, message: "S3 HeadObject timed out" })
      expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(4)
    }))

  it.effect("an object without our metadata is refused rather than invented", () =>
    Effect.gen(function* () {
      s3.on(GetObjectCommand).resolves({
        Metadata: {},
        // only the part of the SDK's stream mixin that the layer reads
        Body: { transformToByteArray: () => Promise.resolve(Uint8Array.of(1)) } as unknown as NonNullable<GetObjectCommandOutput["Body"]>
      })
      const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).get("jobs/foreign")))
      expect(error).toMatchObject({ _tag: "StorageUnavailable", transient: false })
    }))

  it.effect("an object whose user-id is not a user id (a UUID) is refused, not handed on as someone's", () =>
    Effect.gen(function* () {
      s3.on(GetObjectCommand).resolves({
        Metadata: { "user-id": "../alice", "upload-timestamp": "2026-03-01T08:15:30.123Z" },
        Body: { transformToByteArray: () => Promise.resolve(Uint8Array.of(1)) } as unknown as NonNullable<GetObjectCommandOutput["Body"]>
      })
      const error = failureOf(yield* settle(storage(DOCUMENTS_KEY).get("jobs/forged")))
      expect(error).toMatchObject({ _tag: "StorageUnavailable", transient: false })
    }))

  it.effect("each call is a span S3.<Op> (rpc.system aws-api, rpc.service S3) inside Storage.<method>", () =>
    Effect.gen(function* () {
      s3.on(PutObjectCommand).resolves({})
      const spans: Array<{ name: string; parent: string | undefined; attributes: ReadonlyMap<string, unknown> }> = []
      const base = yield* Effect.tracer
      const recording = Tracer.make({
        context: base.context,
        span: (options) => {
          const span = base.span(options)
          spans.push({
            name: options.name,
            parent: Option.getOrUndefined(Option.map(options.parent, (p) => (p._tag === "Span" ? p.name : undefined))),
            attributes: span.attributes
          })
          return span
        }
      })
      yield* storage(DOCUMENTS_KEY).put("jobs/traced", Uint8Array.of(1), metadata()).pipe(Effect.withTracer(recording))
      const call = spans.find((s) => s.name === "S3.PutObject")
      expect(call?.parent).toBe("Storage.put")
      expect(Object.fromEntries(call?.attributes ?? [])).toMatchObject({
        "rpc.system": "aws-api",
        "rpc.service": "S3",
        "rpc.method": "PutObject"
      })
    }))
})
