/**
 * The services the whole HTTP application needs, for tests that run it in process: memory
 * crypto, storage, upload targets (MemoryUploads deposits what a client would upload), push
 * notifications (NotificationsMemoryProbe reads deliveries and scripts failures), job events
 * (JobEventsMemory: wake-ups by hand or every 50 ms), audit
 * (with its rows) and costs, the real job queue on a fresh migrated database (TestDatabaseLive), the LLM the test picks (offline by default), the
 * timeline and subscription status caches, access tokens signed
 * with `key`, and Google sign-in refusing everything (it has its own tests in test/http/auth.test.ts).
 */
import { Effect, Layer } from "effect"
import { generateKeyPairSync } from "node:crypto"
import { configLayer, type Settings } from "../../src/config.js"
import { makeAccessTokens, signingKeyFrom, type SigningKey } from "../../src/layers/auth/jwt.js"
import { UserLookupKeyMemory } from "../../src/layers/auth/memory.js"
import { makeTimelineCache } from "../../src/layers/timelineCache/memory.js"
import { makeTrendsCache } from "../../src/layers/trendsCache/memory.js"
import { SubscriptionStatusCacheMemory } from "../../src/layers/subscriptionStatusCache/memory.js"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobEventsMemory } from "../../src/layers/jobEvents/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { NotificationsMemory } from "../../src/layers/notifications/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { UploadTargetsMemory } from "../../src/layers/uploadTargets/memory.js"
import { AccessTokens } from "../../src/services/auth.js"
import { Unauthenticated } from "../../src/services/errors.js"
import { GoogleIdTokens } from "../../src/services/googleIdentity.js"
import type { LLM } from "../../src/services/llm.js"
import { TimelineCache } from "../../src/services/timelineCache.js"
import { TrendsCache } from "../../src/services/trendsCache.js"
import { AuditWithRows } from "./audit.js"
import { TestDatabaseLive } from "./database.js"

/** The issuer of the access tokens the test services sign. */
const ISSUER = "serenya"

/** A fresh ES256 signing key. */
export const newSigningKey = (): SigningKey =>
  signingKeyFrom(
    generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
  )

export const appTestServices = (options: {
  readonly settings: Settings
  readonly key?: SigningKey
  readonly llm?: Layer.Layer<LLM>
  /** Users the timeline cache keeps (100 by default). */
  readonly cachedUsers?: number
}) =>
  Layer.mergeAll(
    CryptoMemory,
    StorageMemory,
    UploadTargetsMemory,
    // push deliveries and their probe (NotificationsMemoryProbe), fresh per build
    NotificationsMemory,
    AuditWithRows,
    CostTrackerMemory(),
    JobQueuePostgres,
    // job event streams' wake-ups (JobEventsMemoryProbe wakes and counts watchers), fresh per build
    JobEventsMemory,
    options.llm ?? LLMOffline,
    Layer.succeed(AccessTokens, makeAccessTokens(options.key ?? newSigningKey(), { issuer: ISSUER, ttlSeconds: 900 })),
    UserLookupKeyMemory,
    Layer.succeed(TimelineCache, makeTimelineCache({ ttl: "5 minutes", maxUsers: options.cachedUsers ?? 100 })),
    Layer.succeed(TrendsCache, makeTrendsCache({ ttl: "5 minutes", maxUsers: options.cachedUsers ?? 100 })),
    // as the API has it (src/main/layers.ts): 15 minutes, fresh per build
    SubscriptionStatusCacheMemory,
    Layer.succeed(GoogleIdTokens, {
      verify: () => Effect.fail(new Unauthenticated({ message: "The Google ID token is invalid" }))
    })
  ).pipe(Layer.provideMerge(TestDatabaseLive()), (services) => Layer.merge(services, configLayer(options.settings)))
