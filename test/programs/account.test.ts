/**
 * The account's GDPR rights on a real database: the profile, the export of everything (decrypted)
 * and erasure — every row of the user in every table, their stored documents, the audit trail's
 * actor pseudonymised — with other users untouched and a new account on the same address empty.
 */
import { TrendsCacheDisabled } from "../../src/layers/trendsCache/memory.js"
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Result, Layer, Option } from "effect"
import { makePostgresCostTracker } from "../../src/layers/costTracker/postgres.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { makeTimelineCache } from "../../src/layers/timelineCache/memory.js"
import { TimelineCache } from "../../src/services/timelineCache.js"
import { deleteAccount, exportUserData, getProfile } from "../../src/programs/account.js"
import { getConversation, sendChatMessage } from "../../src/programs/chat.js"
import { listTimeline, loadContent, saveContent } from "../../src/programs/content.js"
import { JobId, UserId } from "../../src/services/ids.js"
import { getSubscriptionStatus, setPlan } from "../../src/programs/subscription.js"
import { Audit } from "../../src/services/audit.js"
import { CostTracker } from "../../src/services/costTracker.js"
import { Crypto, documentContext, fieldContext } from "../../src/services/crypto.js"
import { LLM } from "../../src/services/llm.js"
import { documentKey, Storage } from "../../src/services/storage.js"
import { TestDatabaseLive } from "../support/database.js"
import { createUser, newUser } from "../support/users.js"
import { auditRows, auditStoredRows, AuditWithRows } from "../support/audit.js"
import { readFixture, type FixtureName } from "../support/fixtures.js"
import { MemoryUploads, UploadTargetsMemory } from "../../src/layers/uploadTargets/memory.js"
import { beginUpload } from "../../src/programs/presignedUpload.js"
import { incomingKey } from "../../src/services/uploadTargets.js"
import { UserLookupKeyMemory } from "../../src/layers/auth/memory.js"
import { NotificationsMemory, NotificationsMemoryProbe } from "../../src/layers/notifications/memory.js"
import { registerDevice } from "../../src/programs/devices.js"
import { enqueueJobNotifications } from "../../src/programs/notificationOutbox.js"
import { randomBytes, randomUUID } from "node:crypto"

const fixture = (name: FixtureName) => readFixture(name)

// The PostgreSQL cost tracker, so that llm_usage holds rows for the export and the erasure to deal with.
const CostTrackerTable = Layer.effect(CostTracker, makePostgresCostTracker({ monthlyBudgetCents: 500, emitMetrics: false }))

const TestLayer = Layer.mergeAll(
  CryptoMemory,
  StorageMemory,
  UploadTargetsMemory,
  NotificationsMemory,
  UserLookupKeyMemory,
  LLMOffline,
  CostTrackerTable,
  AuditWithRows,
  TrendsCacheDisabled,
  Layer.sync(TimelineCache, () => makeTimelineCache({ ttl: "5 minutes", maxUsers: 100 }))
).pipe(
  Layer.provideMerge(TestDatabaseLive())
)

const buf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)


/**
 * Everything a user can have: the lab report interpreted and stored (with its completed job), a
 * conversation about it, a queued job whose sealed original is still in storage, a refresh token,
 * a premium subscription, the LLM usage of the chat, a presigned upload under way, and a phone
 * registered for pushes with the completed job's push still owed to it.
 */
const seedUser = (userId: UserId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const crypto = yield* Crypto
    const storage = yield* Storage
    const llm = yield* LLM

    const addJob = (status: "queued" | "completed", fileName: string, allowImageToModel = true) =>
      Effect.gen(function* () {
        const jobId = randomUUID()
        const key = documentKey(jobId)
        const sealedName = buf(yield* crypto.sealString(fileName, fieldContext(userId, "jobs", "file_name_encrypted", jobId)))
        yield* sql`
          INSERT INTO jobs (id, user_id, status, content_type, size_bytes, storage_key, file_name_encrypted, allow_image_to_model)
          VALUES (${jobId}::uuid, ${userId}::uuid, ${status}, 'text/plain', 100, ${key}, ${sealedName}, ${allowImageToModel})`
        yield* storage.put(key, yield* crypto.seal(fixture("lab-report-cbc-cmp.txt"), documentContext(userId, key)), {
          userId,
          uploadedAt: new Date(),
          contentType: "text/plain"
        })
        return { jobId, key }
      })

    const done = yield* addJob("completed", "cbc-april.txt")
    const queued = yield* addJob("queued", "vitals.txt", false)
    const interpretation = yield* llm.interpret({ bytes: fixture("lab-report-cbc-cmp.txt"), contentType: "text/plain" })
    const contentId = yield* saveContent({
      userId,
      jobId: JobId.make(done.jobId),
      document: interpretation.document,
      provider: interpretation.provider,
      modelId: interpretation.modelId
    })
    yield* sql`UPDATE jobs SET content_id = ${contentId}::uuid, completed_at = now() WHERE id = ${done.jobId}::uuid`
    const reply = yield* sendChatMessage({ userId, contentId, message: "what is my hemoglobin?", idempotencyKey: "seed-question" })
    yield* sql`
      INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
      VALUES (${userId}::uuid, ${randomUUID()}::uuid, ${buf(new Uint8Array(32).map(() => Math.floor(Math.random() * 256)))}, now() + interval '30 days')`
    yield* setPlan(userId, "premium")
    // a presigned upload under way: its row, and the raw object the client posted
    const upload = yield* beginUpload({
      userId,
      fileName: "mri.pdf",
      contentType: "application/pdf",
      sizeBytes: 5,
      allowImageToModel: false,
      request: {}
    })
    const incoming = incomingKey(upload.uploadId)
    yield* Effect.flatMap(MemoryUploads, (uploads) => uploads.deposit(incoming, new TextEncoder().encode("%PDF-")))
    // a phone (a token of this user's only) and the completed job's push, not sent yet
    const pushToken = randomBytes(32).toString("hex")
    const device = yield* registerDevice({ userId, platform: "ios", token: pushToken })
    yield* enqueueJobNotifications(JobId.make(done.jobId), "job.completed", contentId)
    return { contentId, reply, keys: [done.key, queued.key], jobIds: [done.jobId, queued.jobId], incoming, device, pushToken }
  })

/** Rows that name the user, in every table of the schema that has a user_id column, and users itself. */
const rowsOf = (userId: UserId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* sql<{ table: string }>`
      SELECT table_name AS table FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY 1`
    const counts: Record<string, number> = {}
    for (const { table } of tables) {
      const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)} WHERE user_id = ${userId}::uuid`
      counts[table] = row!.n
    }
    const [user] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE id = ${userId}::uuid`
    counts["users"] = user!.n
    return counts
  })

layer(TestLayer, { excludeTestServices: true })("account", (it) => {
  it.effect("the profile opens email and name, names the plan, and is audited; a missing account is NotFound", () =>
    Effect.gen(function* () {
      const jane = yield* createUser({ email: "jane.profile@example.com", name: "Jane Roe" })
      const profile = yield* getProfile(jane, { requestId: "req-profile-1" })
      expect(profile).toMatchObject({ id: jane, email: "jane.profile@example.com", name: "Jane Roe", plan: "free" })
      expect(profile.createdAt).toBeInstanceOf(Date)

      const nameless = yield* createUser({ email: "nameless@example.com" })
      expect((yield* getProfile(nameless)).name).toBeNull()
      yield* setPlan(nameless, "premium")
      expect((yield* getProfile(nameless)).plan).toBe("premium")

      const missing = yield* Effect.result(getProfile(UserId.make(randomUUID())))
      expect(Result.isFailure(missing) && missing.failure._tag).toBe("NotFound")
      const read = (yield* auditRows).filter((r) => r.action === "account.read" && r.actorUserId === jane)
      expect(read.map((r) => r.requestId)).toEqual(["req-profile-1"])
    })
  )

  it.effect("the export holds every piece of the user's data, decrypted, as plain JSON, and is audited", () =>
    Effect.gen(function* () {
      const alice = yield* createUser({ email: "alice.export@example.com", name: "Alice Export" })
      const bob = yield* newUser()
      const seeded = yield* seedUser(alice)
      yield* seedUser(bob)

      const exported = yield* exportUserData(alice, { requestId: "req-export-1" })
      expect(JSON.parse(JSON.stringify(exported))).toEqual(exported)

      expect(exported.profile).toMatchObject({ id: alice, email: "alice.export@example.com", name: "Alice Export", plan: "premium" })
      expect(exported.subscription.plan).toBe("premium")
      expect(exported.subscription.record?.plan).toBe("premium")

      expect(exported.content).toHaveLength(1)
      const [item] = exported.content
      expect(item!.contentId).toBe(seeded.contentId)
      expect(item!.jobId).toBe(seeded.jobIds[0])
      expect(item!.document.results.find((r) => r.name === "Hemoglobin")).toMatchObject({ value: 11.2, unit: "g/dL", flag: "low" })

      expect(exported.conversations).toHaveLength(1)
      const [conversation] = exported.conversations
      expect(conversation).toMatchObject({ conversationId: seeded.reply.conversationId, contentId: seeded.contentId })
      expect(conversation!.messages.map((m) => m.role)).toEqual(["user", "assistant"])
      expect(conversation!.messages[0]!.content).toBe("what is my hemoglobin?")
      expect(conversation!.messages[1]!.content).toContain("11.2")

      expect(exported.jobs.map((j) => [j.jobId, j.status, j.fileName, j.allowImageToModel])).toEqual([
        [seeded.jobIds[0], "completed", "cbc-april.txt", true],
        [seeded.jobIds[1], "queued", "vitals.txt", false]
      ])
      expect(exported.jobs[0]!.contentId).toBe(seeded.contentId)

      // the presigned upload under way, its file name opened
      expect(exported.uploads).toEqual([
        expect.objectContaining({ fileName: "mri.pdf", contentType: "application/pdf", sizeBytes: 5, allowImageToModel: false, jobId: null })
      ])
      expect(seeded.incoming).toBe(`incoming/${exported.uploads[0]!.uploadId}`)

      expect(exported.costs).toHaveLength(1)
      expect(exported.costs[0]).toMatchObject({ documentType: "chat", provider: "offline" })
      expect(exported.costs[0]!.inputTokens).toBeGreaterThan(0)

      // the phone: id, platform, when; never its push token or the provider's endpoint
      expect(exported.devices).toEqual([{ deviceId: seeded.device.id, platform: "ios", createdAt: seeded.device.createdAt.toISOString() }])
      const text = JSON.stringify(exported)
      expect(text).not.toContain(seeded.pushToken)
      expect(text).not.toContain("local:")

      // nothing of bob's
      expect(text).not.toContain(bob)
      const events = (yield* auditRows).filter((r) => r.action === "account.export")
      expect(events.map((r) => [r.actorUserId, r.resourceId, r.requestId])).toEqual([[alice, alice, "req-export-1"]])
    })
  )

  it.effect(
    "erasure removes every row of the user in every table and their stored documents, erases the trail's personal data, and leaves others alone",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const storage = yield* Storage
        const audit = yield* Audit
        const alice = yield* createUser({ email: "alice.erase@example.com", name: "Alice Erase" })
        const bob = yield* createUser({ email: "bob.stays@example.com", name: "Bob Stays" })
        const aliceData = yield* seedUser(alice)
        const bobData = yield* seedUser(bob)
        yield* exportUserData(alice, { clientIp: "203.0.113.77", userAgent: "AliceApp/1.0" })
        const before = yield* rowsOf(alice)
        expect(Object.entries(before).filter(([, n]) => n === 0)).toEqual([])

        const pushes = yield* NotificationsMemoryProbe
        const endpointOf = (seeded: typeof aliceData) =>
          Effect.map(sql<{ endpoint: string }>`SELECT endpoint FROM devices WHERE id = ${seeded.device.id}::uuid`, ([row]) => row!.endpoint)
        const aliceEndpoint = yield* endpointOf(aliceData)
        const bobEndpoint = yield* endpointOf(bobData)
        expect(yield* pushes.registered).toEqual(expect.arrayContaining([aliceEndpoint, bobEndpoint]))
        const report = yield* deleteAccount(alice, { requestId: "req-delete-1" })
        expect(report.erased).toEqual({ messages: 2, conversations: 1, content: 1, jobs: 2, refreshTokens: 1, subscriptions: 1, devices: 1 })
        // her phone's endpoint is unregistered at the provider; bob's stays
        expect(yield* pushes.registered).not.toContain(aliceEndpoint)
        expect(yield* pushes.registered).toContain(bobEndpoint)
        expect(report.costRecordsErased).toBe(1)
        // the two jobs' originals and the upload's incoming object
        expect(report.objectsRemoved).toBe(3)
        expect(report.deletionsPending).toBe(0)
        // chat.message, document.upload.begin, device.register, account.export, account.delete
        expect(report.auditEventsPseudonymised).toBe(5)

        expect(Object.values(yield* rowsOf(alice)).every((n) => n === 0)).toBe(true)
        const [orphans] = yield* sql<{ n: number }>`
          SELECT (SELECT count(*)::int FROM messages WHERE conversation_id = ${aliceData.reply.conversationId}::uuid)
               + (SELECT count(*)::int FROM content WHERE id = ${aliceData.contentId}::uuid) AS n`
        expect(orphans!.n).toBe(0)
        // the cost records are erased, not kept unattributed; bob's stay
        const [usage] = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM llm_usage WHERE user_id IS NULL`
        expect(usage!.n).toBe(0)
        expect(yield* Effect.flatMap(CostTracker, (c) => c.usageRecords(alice))).toEqual([])
        expect(yield* Effect.flatMap(CostTracker, (c) => c.usageRecords(bob))).toHaveLength(1)
        for (const key of aliceData.keys) expect(yield* storage.exists(key)).toBe(false)
        expect(yield* Effect.flatMap(MemoryUploads, (uploads) => uploads.keys)).not.toContain(aliceData.incoming)

        // the trail keeps the events, naming alice by keyed pseudonym only, without her IPs and user agents, and still verifies
        const rows = yield* auditRows
        const hers = rows.filter((r) => r.actorUserId === alice)
        expect(hers.length).toBe(report.auditEventsPseudonymised)
        expect(hers.map((r) => r.action)).toEqual(
          expect.arrayContaining(["chat.message", "document.upload.begin", "device.register", "account.export", "account.delete"])
        )
        expect(hers.find((r) => r.action === "account.delete")?.requestId).toBe("req-delete-1")
        const stored = yield* auditStoredRows
        for (const row of stored.filter((r) => hers.some((h) => h.seq === r.seq))) expect(row.personal).toBeNull()
        for (const needle of [alice, "203.0.113.77", "AliceApp/1.0"]) expect(JSON.stringify(stored)).not.toContain(needle)
        expect(yield* audit.verify).toEqual({ ok: true, rows: rows.length })

        // bob is untouched
        expect(Object.values(yield* rowsOf(bob)).every((n) => n >= 1)).toBe(true)
        expect((yield* getProfile(bob)).email).toBe("bob.stays@example.com")
        expect(Option.isSome(yield* loadContent(bob, bobData.contentId))).toBe(true)
        expect(Option.getOrThrow(yield* getConversation(bob, bobData.contentId)).messages).toHaveLength(2)
        for (const key of bobData.keys) expect(yield* storage.exists(key)).toBe(true)
        expect(yield* Effect.flatMap(MemoryUploads, (uploads) => uploads.keys)).toContain(bobData.incoming)

        // a second erasure finds nothing
        const again = yield* Effect.result(deleteAccount(alice))
        expect(Result.isFailure(again) && again.failure._tag).toBe("NotFound")
      })
  )

  it.effect("ask → answer has 11.2 → both turns kept → export has them → delete → a new account on the same email sees nothing", () =>
    Effect.gen(function* () {
      const llm = yield* LLM
      const email = "jane.again@example.com"
      const first = yield* createUser({ email, name: "Jane" })
      const interpretation = yield* llm.interpret({ bytes: fixture("lab-report-cbc-cmp.txt"), contentType: "text/plain" })
      const contentId = yield* saveContent({
        userId: first,
        document: interpretation.document,
        provider: interpretation.provider,
        modelId: interpretation.modelId
      })
      const reply = yield* sendChatMessage({ userId: first, contentId, message: "what is my hemoglobin?" })
      expect(reply.message.content).toContain("11.2")
      expect(Option.getOrThrow(yield* getConversation(first, contentId)).messages.map((m) => m.role)).toEqual(["user", "assistant"])
      const exported = yield* exportUserData(first)
      expect(exported.conversations[0]!.messages[1]!.content).toContain("11.2")

      yield* deleteAccount(first)
      const second = yield* createUser({ email, name: "Jane" })
      expect(second).not.toBe(first)
      expect((yield* listTimeline(second, { limit: 20, offset: 0 })).total).toBe(0)
      expect(Option.isNone(yield* getConversation(second, contentId))).toBe(true)
      const fresh = yield* exportUserData(second)
      expect(fresh).toMatchObject({ content: [], conversations: [], jobs: [], costs: [] })
      expect(fresh.profile.email).toBe(email)
      const status = yield* getSubscriptionStatus(second)
      expect(status.plan).toBe("free")
      expect(status.chatMessages.used).toBe(0)
      expect(status.llmCostCents.used).toBe(0)
    })
  )
})
