/**
 * Checkpoints as S3 objects under Object Lock in compliance mode: each is written with
 * ObjectLockMode COMPLIANCE and a retain-until date AUDIT_CHECKPOINT_RETENTION_DAYS ahead, so no
 * one — the application, an administrator, the account's root — can delete or overwrite that
 * version before then (the bucket, deploy/lambda/infra/data.ts, also has compliance-mode default
 * retention). Keys are `audit-checkpoints/<name>` with names that sort the latest first, so finding
 * it is one ListObjectsV2 of one key and one GetObject. Throttling, 5xx and network errors retry
 * on the `storage` schedule within a timeout, then surface as AuditUnavailable.
 */
import type * as S3 from "@aws-sdk/client-s3"
import { Effect, Layer, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { AppInfoConfig } from "../../config/app.js"
import { AuditConfig } from "../../config/audit.js"
import { StorageConfig } from "../../config/storage.js"
import { AuditUnavailable } from "../../services/audit.js"
import { AuditCheckpoint, AuditCheckpoints, checkpointName } from "../../services/auditCheckpoints.js"
import { StorageUnavailable } from "../../services/storage.js"
import { Timeouts, withRetry, withTimeout } from "../../services/resilience.js"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, tryAws } from "../aws/sdk.js"
import { s3ClientFor } from "../storage/s3.js"

export type S3CheckpointSend = Pick<S3.S3Client, "send">

export const CHECKPOINT_PREFIX = "audit-checkpoints/"

const DAY_MS = 24 * 60 * 60 * 1000

const decode = Schema.decodeUnknownOption(Schema.fromJsonString(AuditCheckpoint))

const call = <A>(operation: string, send: (signal: AbortSignal) => Promise<A>) =>
  tryAws(send, (cause) => {
    const status = awsHttpStatus(cause)
    // StorageUnavailable carries `transient`, which the retry schedule reads.
    return new StorageUnavailable({
      message: `S3 ${operation} failed: ${awsErrorName(cause)}`,
      transient: status === undefined || status === 429 || status >= 500
    })
  }).pipe(
    withTimeout(`s3.${operation}`, Timeouts.storage),
    withRetry("storage"),
    Effect.tapError((error) => Effect.logWarning("audit checkpoint store unavailable").pipe(Effect.annotateLogs({ error: error.message }))),
    Effect.mapError(() => new AuditUnavailable({ message: `The audit checkpoint store failed (${operation})` })),
    Effect.withSpan(`S3.${operation}`, { attributes: { "rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": operation } })
  )

export const makeS3Checkpoints = (
  client: ClientSource<S3CheckpointSend>,
  options: { readonly bucket: string; readonly retentionDays: number; readonly now?: () => Date }
) => {
  const s3 = Effect.zip(clientFrom(client), AwsSdk.s3)
  const now = options.now ?? (() => new Date())
  return AuditCheckpoints.of({
    write: (checkpoint) =>
      Effect.flatMap(s3, ([c, sdk]) => {
        const body = Buffer.from(`${JSON.stringify(checkpoint)}\n`, "utf8")
        return call("PutObject", (abortSignal) =>
          c.send(
            new sdk.PutObjectCommand({
              Bucket: options.bucket,
              Key: `${CHECKPOINT_PREFIX}${checkpointName(checkpoint.position)}`,
              Body: body,
              ContentLength: body.length,
              ContentType: "application/json",
              // Object Lock requires an integrity checksum on the request.
              ContentMD5: createHash("md5").update(body).digest("base64"),
              ObjectLockMode: "COMPLIANCE",
              ObjectLockRetainUntilDate: new Date(now().getTime() + options.retentionDays * DAY_MS)
            }),
            { abortSignal }
          )
        )
      }).pipe(Effect.asVoid),
    latest: Effect.gen(function* () {
      const [c, sdk] = yield* s3
      const listed = yield* call("ListObjectsV2", (abortSignal) =>
        c.send(new sdk.ListObjectsV2Command({ Bucket: options.bucket, Prefix: CHECKPOINT_PREFIX, MaxKeys: 1 }), { abortSignal })
      )
      const key = listed.Contents?.[0]?.Key
      if (key === undefined) return Option.none<AuditCheckpoint>()
      const text = yield* call("GetObject", async (abortSignal) => {
        const out = await c.send(new sdk.GetObjectCommand({ Bucket: options.bucket, Key: key }), { abortSignal })
        return (await out.Body?.transformToString("utf8")) ?? ""
      })
      const decoded = decode(text.trim())
      if (Option.isNone(decoded)) return yield* Effect.fail(new AuditUnavailable({ message: "The last audit checkpoint is malformed" }))
      return decoded
    })
  })
}

/** Checkpoints in AUDIT_CHECKPOINT_BUCKET (through the documents' S3 endpoint, if any); the SDK loads on first use. */
export const AuditCheckpointsS3: Layer.Layer<AuditCheckpoints, never, AuditConfig | StorageConfig | AppInfoConfig> = Layer.effect(
  AuditCheckpoints,
  Effect.gen(function* () {
    const audit = yield* AuditConfig
    const bucket = Option.getOrUndefined(audit.checkpointBucket)
    // main/layers.ts picks this layer only when it is set.
    if (bucket === undefined) return yield* Effect.die(new Error("AUDIT_CHECKPOINT_BUCKET is not configured"))
    const client = yield* s3ClientFor(yield* StorageConfig, (yield* AppInfoConfig).awsRegion)
    return makeS3Checkpoints(client, { bucket, retentionDays: audit.checkpointRetentionDays })
  })
)
