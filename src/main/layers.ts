/** The one place that picks an implementation for each capability from the settings. */
import { Effect, Layer, Option } from "effect"
import type { Settings } from "../config.js"
import { AuditPostgres } from "../layers/audit/postgres.js"
import { AuditCheckpointsFile } from "../layers/auditCheckpoints/file.js"
import { AuditCheckpointsS3 } from "../layers/auditCheckpoints/s3.js"
import { AuditMacKms } from "../layers/auditMac/kms.js"
import { AuditMacLocal } from "../layers/auditMac/local.js"
import { CostTrackerDynamoDb } from "../layers/costTracker/dynamodb.js"
import { CostTrackerPostgres } from "../layers/costTracker/postgres.js"
import { CryptoKms } from "../layers/crypto/kms.js"
import { CryptoLocal } from "../layers/crypto/local.js"
import { JobEventsPolling } from "../layers/jobEvents/polling.js"
import { JobEventsPostgres } from "../layers/jobEvents/postgres.js"
import { LLMBedrock } from "../layers/llm/bedrockOnDemand.js"
import { NotificationsSns } from "../layers/notifications/sns.js"
import { NotificationsWebhook } from "../layers/notifications/webhook.js"
import { StorageFilesystem } from "../layers/storage/filesystem.js"
import { StorageS3 } from "../layers/storage/s3.js"
import { UploadTargetsS3 } from "../layers/uploadTargets/s3.js"
import { UploadTargetsUnconfigured } from "../layers/uploadTargets/unconfigured.js"
import { CircuitBreakersLive } from "../layers/resilience/circuitBreaker.js"
import { GoogleIdTokensLive } from "../layers/auth/google.js"
import { UserLookupKeyLive } from "../layers/auth/lookupKey.js"
import { TimelineCacheMemory } from "../layers/timelineCache/memory.js"
import { TrendsCacheMemory } from "../layers/trendsCache/memory.js"
import { SubscriptionStatusCacheMemory } from "../layers/subscriptionStatusCache/memory.js"

export const cryptoLayer = (settings: Settings) => (settings.crypto.provider === "kms" ? CryptoKms : CryptoLocal)

export const storageLayer = (settings: Settings) => (settings.storage.provider === "s3" ? StorageS3 : StorageFilesystem)

/**
 * Presigned uploads go to the documents bucket, so they exist only where Storage is S3 (an
 * S3-compatible server locally too); on the file-system storage the endpoints answer 501.
 */
export const uploadTargetsLayer = (settings: Settings) =>
  settings.storage.provider === "s3" ? UploadTargetsS3 : UploadTargetsUnconfigured

/**
 * The offline provider (pdfjs glue, the lab-report parser, templated summaries and chat) is loaded
 * only where it is chosen: deployments use Bedrock, and the Lambda API bundle, which must start
 * fast and stay within its size budget, keeps it as a chunk that is never loaded.
 */
const LLMOfflineOnDemand = Layer.unwrap(
  Effect.map(
    Effect.promise(() => import("../layers/llm/offline.js")),
    (offline) => offline.LLMOffline
  )
)

/**
 * What finds identifiers before anything goes to Bedrock: Comprehend Medical (loaded on first use,
 * like every AWS client) or the local rules. The offline provider sends nothing anywhere and needs none.
 */
export const deidentifierLayer = (settings: Settings) =>
  settings.llm.deidentifier === "local"
    ? Layer.unwrap(Effect.map(Effect.promise(() => import("../layers/deidentifier/local.js")), (m) => m.DeidentifierLocal))
    : Layer.unwrap(Effect.map(Effect.promise(() => import("../layers/deidentifier/comprehendMedical.js")), (m) => m.DeidentifierComprehendMedical))

export const llmLayer = (settings: Settings) =>
  settings.llm.provider === "bedrock" ? LLMBedrock.pipe(Layer.provide(deidentifierLayer(settings))) : LLMOfflineOnDemand

/** The audit key follows KEY_PROVIDER (KMS_AUDIT_KEY_ID with kms); checkpoints go to S3 when AUDIT_CHECKPOINT_BUCKET is set. */
export const auditLayer = (settings: Settings) =>
  AuditPostgres.pipe(
    Layer.provide(
      Layer.merge(
        settings.crypto.provider === "kms" ? AuditMacKms : AuditMacLocal,
        Option.isSome(settings.audit.checkpointBucket) ? AuditCheckpointsS3 : AuditCheckpointsFile
      )
    )
  )

/** Push notifications: Amazon SNS mobile push, or locally NOTIFY_WEBHOOK_URL (unset: a log line per push). */
export const notificationsLayer = (settings: Settings) =>
  settings.notifications.provider === "sns" ? NotificationsSns : NotificationsWebhook

/** How this process reaches PostgreSQL: straight (npm start, Kubernetes), or through RDS Proxy (the Lambda functions). */
export type DatabaseRoute = "direct" | "rdsProxy"

/**
 * A job's events (GET /jobs/{jobId}/events): LISTEN/NOTIFY on a direct connection, one listening
 * connection per process whatever the number of streams; polling through RDS Proxy, where a LISTEN
 * pins its client connection to a database connection for as long as it listens — on Lambda, one
 * pinned connection per container serving a stream. bench/jobEvents.ts measured both.
 */
export const jobEventsLayer = (route: DatabaseRoute) => (route === "direct" ? JobEventsPostgres : JobEventsPolling)

export const costTrackerLayer = (settings: Settings) =>
  settings.cost.tracker === "dynamodb" ? CostTrackerDynamoDb : CostTrackerPostgres

/**
 * Every capability but the database, which the caller provides (it is shared by several of
 * them); one set of circuit breakers for the whole process.
 */
export const servicesLayer = (settings: Settings, database: { readonly route?: DatabaseRoute } = {}) =>
  Layer.mergeAll(
    jobEventsLayer(database.route ?? "direct"),
    cryptoLayer(settings),
    storageLayer(settings),
    uploadTargetsLayer(settings),
    notificationsLayer(settings),
    llmLayer(settings),
    costTrackerLayer(settings),
    auditLayer(settings),
    UserLookupKeyLive,
    GoogleIdTokensLive,
    TimelineCacheMemory,
    TrendsCacheMemory,
    SubscriptionStatusCacheMemory
  ).pipe(Layer.provideMerge(CircuitBreakersLive))
