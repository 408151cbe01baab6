/** The one place that picks an implementation for each capability from the settings. */
import { Layer } from "effect"
import type { Settings } from "../config.js"
import { AuditPostgres } from "../layers/audit/postgres.js"
import { CostTrackerDynamoDb } from "../layers/costTracker/dynamodb.js"
import { CostTrackerPostgres } from "../layers/costTracker/postgres.js"
import { CryptoKms } from "../layers/crypto/kms.js"
import { CryptoLocal } from "../layers/crypto/local.js"
import { LLMBedrock } from "../layers/llm/bedrock.js"
import { LLMOffline } from "../layers/llm/offline.js"
import { StorageLocal } from "../layers/storage/filesystem.js"
import { StorageS3 } from "../layers/storage/s3.js"
import { CircuitBreakers } from "../services/resilience.js"
import { GoogleIdTokensLive } from "../layers/auth/google.js"
import { UserLookupKeyLive } from "../layers/auth/lookupKey.js"
import { TimelineCacheMemory } from "../layers/cache/timelineMemory.js"

export const cryptoLayer = (settings: Settings) => (settings.crypto.provider === "kms" ? CryptoKms : CryptoLocal)

export const storageLayer = (settings: Settings) => (settings.storage.provider === "s3" ? StorageS3 : StorageLocal)

export const llmLayer = (settings: Settings) => (settings.llm.provider === "bedrock" ? LLMBedrock : LLMOffline)

export const costTrackerLayer = (settings: Settings) =>
  settings.cost.tracker === "dynamodb" ? CostTrackerDynamoDb : CostTrackerPostgres

/**
 * Every capability but the database, which the caller provides (it is shared by several of
 * them); one set of circuit breakers for the whole process.
 */
export const servicesLayer = (settings: Settings) =>
  Layer.mergeAll(
    cryptoLayer(settings),
    storageLayer(settings),
    llmLayer(settings),
    costTrackerLayer(settings),
    AuditPostgres,
    UserLookupKeyLive,
    GoogleIdTokensLive,
    TimelineCacheMemory
  ).pipe(Layer.provideMerge(CircuitBreakers.layer))
