/**
 * Erasure is complete and provable: after `DELETE /me` nothing of the person is left anywhere we
 * keep things. The user is given everything a user can have — documents uploaded (job rows and
 * sealed objects), interpreted content, a chat (messages, plan usage, an idempotency key, cost
 * records), a session, a subscription, a phone registered for pushes (its endpoint at the provider),
 * audited requests from an address and a user agent, timeline pages and fallback answers cached,
 * data keys cached — and then erased. The search does not list
 * what it expects to find: it reads every table and every column of the schema from
 * information_schema (a table added later is searched too) for every identifier of the person, and
 * then every stored object, the cost store and the caches.
 *
 * The audit trail is searched in a test of its own: keeping it free of the raw user id, address
 * and user agent is the audit trail's own part of the fix.
 */
import { TrendsCacheDisabled } from "../../src/layers/trendsCache/memory.js"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option, Ref } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import { AuditPostgres } from "../../src/layers/audit/postgres.js"
import { AuditCheckpointsMemory } from "../../src/layers/auditCheckpoints/memory.js"
import { AuditMacMemory } from "../../src/layers/auditMac/memory.js"
import { makeTimelineCache } from "../../src/layers/timelineCache/memory.js"
import { CostTrackerMemory, MemoryCostStore } from "../../src/layers/costTracker/memory.js"
import { type KeyProvider, makeEnvelopeCrypto } from "../../src/layers/crypto/envelope.js"
import { keyIdOf, keyringProvider } from "../../src/layers/crypto/local.js"
import { TEST_MASTER_KEY } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { type BedrockSend, makeBedrockLLM } from "../../src/layers/llm/bedrock.js"
import { makeOfflineLLM } from "../../src/layers/llm/offline.js"
import { makeMemoryStorage } from "../../src/layers/storage/memory.js"
import { housekeeping } from "../../src/main/lambda/processor.js"
import { deleteAccount, getProfile } from "../../src/programs/account.js"
import { sendChatMessage } from "../../src/programs/chat.js"
import { readTimeline, saveContent } from "../../src/programs/content.js"
import { setPlan } from "../../src/programs/subscription.js"
import { uploadDocument } from "../../src/programs/uploadDocument.js"
import { CostTracker } from "../../src/services/costTracker.js"
import { Crypto } from "../../src/services/crypto.js"
import { SqlClient } from "../../src/services/database.js"
import { LLM } from "../../src/services/llm.js"
import { BreakerConfigs, makeRetrySchedule } from "../../src/services/resilience.js"
import { makeCircuitBreaker } from "../../src/layers/resilience/circuitBreaker.js"
import { Storage, StorageUnavailable } from "../../src/services/storage.js"
import { TimelineCache } from "../../src/services/timelineCache.js"
import { TestDatabaseLive } from "../support/database.js"
import { readFixture } from "../support/fixtures.js"
import { testConfigLayer } from "../support/settings.js"
import { createUser, emailHash } from "../support/users.js"
import { UploadTargetsMemory } from "../../src/layers/uploadTargets/memory.js"
import { UserLookupKeyMemory } from "../../src/layers/auth/memory.js"
import { NotificationsMemory, NotificationsMemoryProbe } from "../../src/layers/notifications/memory.js"
import { pushTokenHash, registerDevice } from "../../src/programs/devices.js"
import { makeLocalDeidentifier } from "../../src/layers/deidentifier/local.js"

// ---------------------------------------------------------------------------------------------
// Stores whose insides the test can see

/** Every data key the key provider handed out, by the user it was for: the cache must zero a user's on erasure. */
const DataKeys = { byUser: new Map<string, Array<Uint8Array>>() }
const recordingProvider = (inner: KeyProvider): KeyProvider => {
  const keep = (userId: string, key: Uint8Array) => {
    const keys = DataKeys.byUser.get(userId) ?? []
    keys.push(key)
    DataKeys.byUser.set(userId, keys)
  }
  return {
    ...inner,
    generate: (p) => Effect.tap(inner.generate(p), (g) => Effect.sync(() => keep(p.userId, g.plaintext))),
    unwrap: (k, w, p) => Effect.tap(inner.unwrap(k, w, p), (key) => Effect.sync(() => keep(p.userId, key)))
  }
}
const keyring = { current: keyIdOf(TEST_MASTER_KEY), keys: new Map([[keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY as Uint8Array]]) }
const CryptoCaching = Layer.effect(
  Crypto,
  makeEnvelopeCrypto({
    provider: recordingProvider(keyringProvider("memory", () => keyring, (size) => randomBytes(size))),
    // field keys cached as in production; document keys never are
    cachePolicy: (purpose) =>
      purpose === "fields" ? { maxAge: "5 minutes", maxUses: 1000, maxEntries: 100 } : { maxAge: 0, maxUses: 1, maxEntries: 0 }
  })
)

/** Storage whose removals can be made to fail, as S3 does in an outage. */
class StorageOutage extends Context.Service<StorageOutage, { readonly down: Ref.Ref<boolean> }>()("test/StorageOutage") {
  static readonly layer = Layer.succeed(StorageOutage, { down: Ref.makeUnsafe(false) })
}
const FlakyStorage = Layer.effect(
  Storage,
  Effect.gen(function* () {
    const inner = yield* makeMemoryStorage
    const { down } = yield* StorageOutage
    return {
      ...inner,
      remove: (key: string) =>
        Effect.flatMap(Ref.get(down), (isDown) =>
          isDown ? Effect.fail(new StorageUnavailable({ message: "S3 DeleteObject failed: ServiceUnavailable", transient: true })) : inner.remove(key)
        )
    } satisfies (typeof Storage)["Service"]
  })
).pipe(Layer.provideMerge(StorageOutage.layer))

/** Bedrock behind a stand-in that answers every chat, or fails like an outage when told to. */
const Bedrock = { down: false, calls: 0 }
const BedrockLLM = Layer.effect(
  LLM,
  Effect.gen(function* () {
    // open for as long as any test here runs, once opened
    const breaker = yield* makeCircuitBreaker({ ...BreakerConfigs.llm, timeout: "10 minutes", name: `llm-erasure-${randomUUID()}` })
    const send: BedrockSend["send"] = (async () => {
      Bedrock.calls++
      if (Bedrock.down) throw Object.assign(new Error("ServiceUnavailableException"), { name: "ServiceUnavailableException", $metadata: { httpStatusCode: 503 } })
      return {
        output: { message: { role: "assistant", content: [{ text: "Your hemoglobin is 11.2 g/dL, below the range." }] } },
        stopReason: "end_turn",
        usage: { inputTokens: 500, outputTokens: 40, totalTokens: 540 },
        metrics: { latencyMs: 5 }
      }
    }) as unknown as BedrockSend["send"]
    return makeBedrockLLM({ send }, { modelId: "anthropic.claude-3-5-sonnet-20241022-v2:0", breaker, retry: makeRetrySchedule({ base: "1 millis", maxRetries: 0, maxDelay: "1 millis" }), deidentifier: makeLocalDeidentifier() })
  })
)

const Timeline = Layer.sync(TimelineCache, () => makeTimelineCache({ ttl: "5 minutes", maxUsers: 100 }))

const TestLayer = Layer.mergeAll(
  CryptoCaching,
  FlakyStorage,
  UploadTargetsMemory,
  NotificationsMemory,
  UserLookupKeyMemory,
  BedrockLLM,
  CostTrackerMemory(),
  Timeline,
  TrendsCacheDisabled,
  AuditPostgres.pipe(Layer.provide(Layer.merge(AuditMacMemory, AuditCheckpointsMemory))),
  JobQueuePostgres,
  testConfigLayer()
).pipe(Layer.provideMerge(TestDatabaseLive()))

// ---------------------------------------------------------------------------------------------

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const utf8Hex = (text: string) => Buffer.from(text, "utf8").toString("hex")
const WINDOW = { limit: 20, offset: 0 }

let people = 0

/** A user with everything a user can have; answers every identifier of theirs the search looks for. */
const livedIn = (label: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const email = `${label}-${randomUUID().slice(0, 8)}@example.com`
    const userId = yield* createUser({ email, name: `${label} Person` })
    // an address and a user agent of this person's only
    const request = { requestId: `req-${label}`, clientIp: `203.0.113.${++people}`, userAgent: `Serenya/1.0 (${label}-phone)` }

    // two uploads: jobs and their sealed originals in storage
    const uploads = yield* Effect.forEach(["first", "second"], (n) =>
      uploadDocument({ userId, bytes: readFixture("lab-report-cbc-cmp.txt"), fileName: `${label}-${n}.txt`, idempotencyKey: `${label}-${n}`, request })
    )
    // interpreted content, a chat about it (plan usage, an idempotency key, cost records)
    const interpretation = yield* makeOfflineLLM().interpret({ bytes: readFixture("lab-report-cbc-cmp.txt"), contentType: "text/plain" })
    const contentId = yield* saveContent({ userId, document: interpretation.document, provider: "aws.bedrock", modelId: "m" })
    const reply = yield* sendChatMessage({
      userId,
      contentId,
      message: "what is my hemoglobin?",
      idempotencyKey: `${label}-chat`,
      requestContext: request
    })
    // a session, a subscription, a cost record in the PostgreSQL store's table as well
    const familyId = randomUUID()
    const tokenHash = Buffer.from(randomUUID().replaceAll("-", ""), "hex")
    yield* sql`
      INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
      VALUES (${userId}::uuid, ${familyId}::uuid, ${tokenHash}, now() + interval '30 days')`
    yield* setPlan(userId, "premium")
    yield* sql`
      INSERT INTO llm_usage (idempotency_key, user_id, provider, model_id, document_type, input_tokens, output_tokens,
                             total_cost_cents, processing_time_ms, month)
      VALUES (${`job:${uploads[0]!.jobId}:attempt:1`}, ${userId}::uuid, 'aws.bedrock', 'm', 'lab_results', 1, 1, 0.5, 1, '2026-12')`
    // an audited read; the timeline read also fills the timeline cache
    yield* getProfile(userId, request)
    yield* readTimeline(userId, WINDOW, request)
    const [stamp] = yield* sql<{ version: string }>`SELECT content_version::text AS version FROM users WHERE id = ${userId}::uuid`
    // a phone registered for pushes: its row (sealed token, keyed hash) and its endpoint at the provider
    const pushToken = randomBytes(32).toString("hex")
    const device = yield* registerDevice({ userId, platform: "ios", token: pushToken, request })
    const [registered] = yield* sql<{ endpoint: string }>`SELECT endpoint FROM devices WHERE id = ${device.id}::uuid`
    const pushHash = yield* pushTokenHash({ platform: "ios", token: pushToken })

    return {
      userId,
      email,
      contentId,
      version: stamp!.version,
      chat: { document: interpretation.document, question: "what is my hemoglobin?" },
      request,
      objectKeys: uploads.map((u) => `jobs/${u.jobId}_original`),
      endpoint: registered!.endpoint,
      /** What would identify the person or their records, as it could appear in a text or bytea column. */
      needles: [
        userId,
        utf8Hex(userId),
        hex(emailHash(email)),
        familyId,
        hex(tokenHash),
        contentId,
        reply.conversationId,
        ...uploads.map((u) => u.jobId),
        device.id,
        registered!.endpoint,
        pushToken,
        hex(pushHash)
      ]
    }
  })

type Person = Effect.Success<ReturnType<typeof livedIn>>

/** Every place in the database where a needle occurs: "table.column", searched in every column of every table. */
const databaseHits = (needles: ReadonlyArray<string>, tables: (table: string) => boolean) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = yield* sql<{ tableName: string; columnName: string }>`
      SELECT c.table_name, c.column_name FROM information_schema.columns c
      JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      ORDER BY 1, 2`
    expect(columns.length).toBeGreaterThan(50)
    const hits: Array<string> = []
    for (const { tableName, columnName } of columns) {
      if (!tables(tableName)) continue
      for (const needle of needles) {
        // every type has a text form (bytea's is \x + hex): one search covers them all
        const [row] = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM ${sql(tableName)} WHERE strpos(lower(${sql(columnName)}::text), ${needle.toLowerCase()}) > 0`
        if (row!.n > 0) hits.push(`${tableName}.${columnName}`)
      }
    }
    return [...new Set(hits)]
  })

const isAuditTable = (table: string) => table.startsWith("audit")

/** Everything outside the database that could still hold something of the person. */
const storeHits = (person: Person) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const timeline = yield* TimelineCache
    const costs = yield* CostTracker
    const costStore = yield* MemoryCostStore
    const llm = yield* LLM
    const pushes = yield* NotificationsMemoryProbe
    const hits: Array<string> = []
    for (const key of yield* storage.list("")) {
      const stored = yield* storage.get(key)
      if (stored.metadata.userId === person.userId || person.needles.some((n) => key.includes(n))) hits.push(`storage:${key}`)
    }
    if ((yield* costStore.entries).some((r) => r.userId === person.userId)) hits.push("cost store")
    if ((yield* costs.usageRecords(person.userId)).length > 0) hits.push("cost records")
    if (Option.isSome(yield* timeline.lookup(person.userId, WINDOW, person.version))) hits.push("timeline cache")
    if ((yield* pushes.registered).includes(person.endpoint)) hits.push("push endpoint")
    if ((DataKeys.byUser.get(person.userId) ?? []).some((key) => key.some((b) => b !== 0))) hits.push("data key cache")
    // with Bedrock down, only a kept answer could answer this exact request
    Bedrock.down = true
    const answered = yield* Effect.result(llm.chat({ document: person.chat.document, history: [], question: person.chat.question, userId: person.userId }))
    Bedrock.down = false
    if (answered._tag === "Success") hits.push("LLM answer cache")
    return hits
  })

/** Opens the Bedrock breaker: three failed calls (questions nobody asked before). */
const openBreaker = (person: Person) =>
  Effect.gen(function* () {
    const llm = yield* LLM
    Bedrock.down = true
    for (let i = 0; i < 3; i++) {
      yield* Effect.result(llm.chat({ document: person.chat.document, history: [], question: `breaker ${i}`, userId: "nobody" }))
    }
    Bedrock.down = false
  })

// The last test opens the LLM breaker for good (to see whether a kept answer is served), so it runs last.
layer(TestLayer, { excludeTestServices: true })("erasure leaves nothing of the person", (it) => {
  it.effect("a deletion that fails at erasure stays owed in the outbox (by object key, no user data) and the scheduled drainer finishes it", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { down } = yield* StorageOutage
      const storage = yield* Storage
      const carol = yield* livedIn("carol")

      yield* Ref.set(down, true)
      const report = yield* deleteAccount(carol.userId, carol.request)
      // the account is gone all the same; the two objects are owed
      expect(report.deletionsPending).toBe(2)
      const owed = yield* sql<{ kind: string; target: string; attempts: number; lastError: string | null }>`
        SELECT kind, target, attempts, last_error FROM erasure_outbox ORDER BY target`
      expect(owed).toEqual(carol.objectKeys.sort().map((target) => ({ kind: "object", target, attempts: 1, lastError: "StorageUnavailable" })))
      for (const key of carol.objectKeys) expect(yield* storage.exists(key)).toBe(true)
      // not due yet (backoff): a drain now leaves them alone
      expect((yield* housekeeping).outbox).toEqual({ done: 0, failed: 0 })

      // storage is back and the backoff has run out: the scheduled run (Lambda's drainer) removes them
      yield* Ref.set(down, false)
      yield* sql`UPDATE erasure_outbox SET next_attempt_at = now() - interval '1 second'`
      expect((yield* housekeeping).outbox).toEqual({ done: 2, failed: 0 })
      for (const key of carol.objectKeys) expect(yield* storage.exists(key)).toBe(false)
      expect(yield* sql`SELECT 1 FROM erasure_outbox`).toEqual([])
      expect(yield* databaseHits(carol.needles, (table) => !isAuditTable(table))).toEqual([])
    })
  )

  it.effect("the audit trail holds no raw user id, address or user agent of the erased user (the audit trail's part of the fix)", () =>
    Effect.gen(function* () {
      const dave = yield* livedIn("dave")
      yield* deleteAccount(dave.userId, dave.request)
      expect(yield* databaseHits([dave.userId, dave.request.clientIp, dave.request.userAgent], isAuditTable)).toEqual([])
    })
  )
  it.effect("every table (read from information_schema), every stored object, the cost store and every cache hold nothing of the erased user; the other user keeps everything", () =>
    Effect.gen(function* () {
      const alice = yield* livedIn("alice")
      const bob = yield* livedIn("bob")
      yield* openBreaker(alice)
      // the search finds both people before the erasure: it can see what it is looking for
      const outsideAudit = (table: string) => !isAuditTable(table)
      expect((yield* databaseHits(alice.needles, outsideAudit)).length).toBeGreaterThanOrEqual(10)
      expect([...(yield* storeHits(alice))].sort()).toEqual(
        [
          ...alice.objectKeys.map((key) => `storage:${key}`),
          "cost store",
          "cost records",
          "timeline cache",
          "push endpoint",
          "data key cache",
          "LLM answer cache"
        ].sort()
      )

      const report = yield* deleteAccount(alice.userId, alice.request)
      expect(report.deletionsPending).toBe(0)

      expect(yield* databaseHits(alice.needles, outsideAudit)).toEqual([])
      expect(yield* storeHits(alice)).toEqual([])

      // bob is untouched, in every one of those places
      expect((yield* databaseHits([bob.userId], outsideAudit)).length).toBeGreaterThanOrEqual(10)
      expect(yield* storeHits(bob)).toEqual(
        expect.arrayContaining(["cost store", "cost records", "timeline cache", "push endpoint", "data key cache", "LLM answer cache"])
      )
    })
  )
})
