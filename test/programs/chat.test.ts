/**
 * Chat end to end on a real database with the offline LLM: answers from the user's own document,
 * turns sealed at rest, history kept, scoping, validation, plan limits, budget and cost records.
 */
import { TrendsCacheDisabled } from "../../src/layers/trendsCache/memory.js"
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Result, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { CostTrackerMemory, MemoryCostStore } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { getConversation, MAX_MESSAGE_CHARS, sendChatMessage } from "../../src/programs/chat.js"
import { deleteContent, saveContent } from "../../src/programs/content.js"
import { ContentId, type UserId } from "../../src/services/ids.js"
import { getSubscriptionStatus, setPlan } from "../../src/programs/subscription.js"
import { CostTracker } from "../../src/services/costTracker.js"
import { CRITICAL_ACTION, LLM } from "../../src/services/llm.js"
import { TestDatabaseLive } from "../support/database.js"
import { testConfigLayer } from "../support/settings.js"
import { newUser } from "../support/users.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { readFixture, type FixtureName } from "../support/fixtures.js"

const fixture = (name: FixtureName) => readFixture(name)

const TestLayer = Layer.mergeAll(CryptoMemory, StorageMemory, LLMOffline, CostTrackerMemory(), AuditWithRows, TrendsCacheDisabled).pipe(
  Layer.provideMerge(TestDatabaseLive())
)

/** The lab report fixture, interpreted by the offline LLM and stored for `userId`. */
const storeLabReport = (userId: UserId) =>
  Effect.gen(function* () {
    const llm = yield* LLM
    const interpretation = yield* llm.interpret({ bytes: fixture("lab-report-cbc-cmp.txt"), contentType: "text/plain" })
    return yield* saveContent({
      userId,
      document: interpretation.document,
      provider: interpretation.provider,
      modelId: interpretation.modelId
    })
  })

const ask = (userId: UserId, contentId: ContentId, message: string) => sendChatMessage({ userId, contentId, message })

const rowCounts = (userId: UserId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ conversations: number; messages: number }>`
      SELECT (SELECT count(*)::int FROM conversations WHERE user_id = ${userId}::uuid) AS conversations,
             (SELECT count(*)::int FROM messages WHERE user_id = ${userId}::uuid) AS messages`
    return row!
  })

const chatCosts = (userId: UserId) =>
  Effect.map(
    Effect.flatMap(MemoryCostStore, (store) => store.entries),
    (entries) => entries.filter((e) => e.userId === userId && e.documentType === "chat")
  )

const failureTag = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.result(effect), (result) => (Result.isFailure(result) ? result.failure._tag : "success"))

layer(TestLayer, { excludeTestServices: true })("chat", (it) => {
  it.effect("answers 'what is my hemoglobin?' with 11.2; both turns are kept in order; a follow-up sees the history", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)

      const first = yield* ask(alice, contentId, "  what is my hemoglobin?  ")
      expect(first.message.role).toBe("assistant")
      expect(first.message.content).toContain("11.2")

      const conversation = Option.getOrThrow(yield* getConversation(alice, contentId))
      expect(conversation.contentId).toBe(contentId)
      expect(conversation.messages.map((m) => [m.role, m.content])).toEqual([
        ["user", "what is my hemoglobin?"],
        ["assistant", first.message.content]
      ])
      expect(conversation.messages[1]!.createdAt.getTime()).toBe(first.message.createdAt.getTime())

      // "it" only makes sense with the previous question: the offline model resolves it from the history.
      const second = yield* ask(alice, contentId, "what does it mean?")
      expect(second.conversationId).toBe(first.conversationId)
      expect(second.message.content).toContain("11.2")
      const after = Option.getOrThrow(yield* getConversation(alice, contentId))
      expect(after.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"])
      expect(after.messages[2]!.content).toBe("what does it mean?")

      const rows = yield* auditRows
      const mine = rows.filter((r) => r.actorUserId === alice)
      expect(mine.filter((r) => r.action === "chat.message" && r.outcome === "success").map((r) => r.resourceId)).toEqual([
        first.conversationId,
        first.conversationId
      ])
      expect(mine.filter((r) => r.action === "chat.read").length).toBe(2)
    })
  )

  it.effect("a document with a critical value: the first answer, whatever the question, says to act now; later ones do not repeat it", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const llm = yield* LLM
      const report = "Potassium   6.9  HH  mmol/L   3.5-5.1\nSodium   139      mmol/L   135-145\n"
      const interpretation = yield* llm.interpret({ bytes: new TextEncoder().encode(report), contentType: "text/plain" })
      expect(interpretation.document.results[0]).toMatchObject({ name: "Potassium", flag: "critical_high" })
      const contentId = yield* saveContent({ userId: alice, document: interpretation.document, provider: "offline", modelId: "m" })

      const first = yield* ask(alice, contentId, "what is my sodium?")
      expect(first.message.content.startsWith("Important: this document has a critical value (Potassium 6.9 mmol/L).")).toBe(true)
      expect(first.message.content).toContain(CRITICAL_ACTION)
      expect(first.message.content).toContain("139")
      const second = yield* ask(alice, contentId, "and my potassium?")
      expect(second.message.content).not.toContain(CRITICAL_ACTION)
      expect(second.message.content).toContain("6.9")

      // a document without one: no notice
      const plain = yield* storeLabReport(alice)
      expect((yield* ask(alice, plain, "what is my hemoglobin?")).message.content).not.toContain(CRITICAL_ACTION)
    })
  )

  it.effect("turns are sealed at rest: no question or answer text in messages.content_encrypted", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)
      yield* ask(alice, contentId, "what is my hemoglobin?")
      const raw = yield* sql<{ value: Uint8Array }>`
        SELECT content_encrypted AS value FROM messages WHERE user_id = ${alice}::uuid`
      expect(raw.length).toBe(2)
      for (const { value } of raw) {
        const text = Buffer.from(value).toString("latin1").toLowerCase()
        expect(text).not.toContain("hemoglobin")
        expect(text).not.toContain("11.2")
      }
    })
  )

  it.effect("another user's content answers NotFound, like a missing one, and nothing is written or charged", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const mallory = yield* newUser()
      const contentId = yield* storeLabReport(alice)

      expect(yield* failureTag(ask(mallory, contentId, "what is my hemoglobin?"))).toBe("NotFound")
      expect(yield* failureTag(ask(mallory, ContentId.make(randomUUID()), "what is my hemoglobin?"))).toBe("NotFound")
      expect(Option.isNone(yield* getConversation(mallory, contentId))).toBe(true)

      expect(yield* rowCounts(alice)).toEqual({ conversations: 0, messages: 0 })
      expect(yield* rowCounts(mallory)).toEqual({ conversations: 0, messages: 0 })
      expect(yield* chatCosts(mallory)).toEqual([])
      // the owner sees an empty conversation until the first question
      expect(Option.getOrThrow(yield* getConversation(alice, contentId)).messages).toEqual([])
    })
  )

  it.effect("a message must have 1 to 4,000 characters after trimming", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)
      expect(yield* failureTag(ask(alice, contentId, ""))).toBe("InvalidRequest")
      expect(yield* failureTag(ask(alice, contentId, " \n\t "))).toBe("InvalidRequest")
      expect(yield* failureTag(ask(alice, contentId, "a".repeat(MAX_MESSAGE_CHARS + 1)))).toBe("InvalidRequest")
      expect(yield* rowCounts(alice)).toEqual({ conversations: 0, messages: 0 })
      // the limit counts characters, not UTF-16 units, and surrounding spaces do not count
      const longest = yield* ask(alice, contentId, ` ${"é".repeat(MAX_MESSAGE_CHARS - 1)}🩸 `)
      expect(longest.message.content.length).toBeGreaterThan(0)
    })
  )

  it.effect("the free plan's monthly chat limit answers QuotaExceeded; premium has none", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)
      const limited = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.provide(effect, testConfigLayer({ FREE_PLAN_CHAT_MESSAGES_PER_MONTH: "2" }))

      yield* limited(ask(alice, contentId, "what is my hemoglobin?"))
      yield* limited(ask(alice, contentId, "what is my glucose?"))
      expect(yield* failureTag(limited(ask(alice, contentId, "what is my sodium?")))).toBe("QuotaExceeded")
      expect((yield* rowCounts(alice)).messages).toBe(4)
      expect((yield* chatCosts(alice)).length).toBe(2)

      yield* setPlan(alice, "premium")
      const answer = yield* limited(ask(alice, contentId, "what is my sodium?"))
      expect(answer.message.content).toContain("139")
    })
  )

  it.effect("deleting the document does not give its questions back to the free plan", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const limited = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.provide(effect, testConfigLayer({ FREE_PLAN_CHAT_MESSAGES_PER_MONTH: "2" }))
      const first = yield* storeLabReport(alice)
      yield* limited(ask(alice, first, "what is my hemoglobin?"))
      yield* limited(ask(alice, first, "what is my glucose?"))
      // The conversation goes with the document (and used to take the count with it).
      expect(yield* deleteContent(alice, first)).toBe(true)
      expect((yield* rowCounts(alice)).messages).toBe(0)
      const second = yield* storeLabReport(alice)
      expect(yield* failureTag(limited(ask(alice, second, "what is my sodium?")))).toBe("QuotaExceeded")
      expect((yield* getSubscriptionStatus(alice)).chatMessages).toEqual({ used: 2, limit: 50 })
    })
  )

  it.effect("past the monthly LLM budget the question is refused with QuotaExceeded before the model is asked", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)
      yield* costs.record({
        userId: alice,
        provider: "offline",
        modelId: "offline-parser-v1",
        documentType: "lab_results",
        inputTokens: 1,
        outputTokens: 1,
        totalCostCents: 10_000,
        processingTimeMs: 1,
        occurredAt: new Date(),
        idempotencyKey: `test:${alice}`
      })
      expect(yield* failureTag(ask(alice, contentId, "what is my hemoglobin?"))).toBe("QuotaExceeded")
      expect(yield* rowCounts(alice)).toEqual({ conversations: 0, messages: 0 })
      expect(yield* chatCosts(alice)).toEqual([])
    })
  )

  it.effect("cost is recorded once per answer, as chat, keyed by the answer's message id", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)
      yield* ask(alice, contentId, "what is my hemoglobin?")
      yield* ask(alice, contentId, "and my platelets?")
      const costs = yield* chatCosts(alice)
      expect(costs.length).toBe(2)
      const answers = yield* sql<{ id: string }>`
        SELECT id::text AS id FROM messages WHERE user_id = ${alice}::uuid AND role = 'assistant' ORDER BY seq`
      expect(costs.map((c) => c.idempotencyKey).sort()).toEqual(answers.map((a) => `chat:${a.id}:call:1`).sort())
      for (const cost of costs) {
        expect(cost.provider).toBe("offline")
        expect(cost.inputTokens).toBeGreaterThan(0)
        expect(cost.outputTokens).toBeGreaterThan(0)
      }
    })
  )

  it.effect("concurrent first questions on one content create one conversation, with each question next to its answer", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)
      const questions = ["what is my hemoglobin?", "what is my glucose?", "what is my sodium?", "what is my potassium?"]
      const replies = yield* Effect.forEach(questions, (q) => ask(alice, contentId, q), { concurrency: "unbounded" })
      expect(new Set(replies.map((r) => r.conversationId)).size).toBe(1)
      const [count] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM conversations WHERE content_id = ${contentId}::uuid`
      expect(count!.n).toBe(1)

      const conversation = Option.getOrThrow(yield* getConversation(alice, contentId))
      expect(conversation.messages.length).toBe(8)
      for (let i = 0; i < 8; i += 2) {
        const question = conversation.messages[i]!
        const answer = conversation.messages[i + 1]!
        expect([question.role, answer.role]).toEqual(["user", "assistant"])
        expect(replies.find((r) => r.message.content === answer.content)).toBeDefined()
      }
      expect(new Set(conversation.messages.filter((m) => m.role === "user").map((m) => m.content))).toEqual(new Set(questions))
    })
  )

  it.effect("an Idempotency-Key replays the first answer without asking again; another question under it is a Conflict", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* storeLabReport(alice)
      const send = (message: string, idempotencyKey: string) => sendChatMessage({ userId: alice, contentId, message, idempotencyKey })

      const first = yield* send("what is my hemoglobin?", "key-1")
      const again = yield* send("what is my hemoglobin?", "key-1")
      expect(again).toEqual(first)
      expect(yield* rowCounts(alice)).toEqual({ conversations: 1, messages: 2 })
      expect((yield* chatCosts(alice)).length).toBe(1)

      expect(yield* failureTag(send("what is my glucose?", "key-1"))).toBe("Conflict")
      expect(yield* failureTag(send("what is my glucose?", "has space"))).toBe("InvalidRequest")
      expect(yield* failureTag(send("what is my glucose?", "k".repeat(256)))).toBe("InvalidRequest")

      // concurrent duplicates: one pair of turns stored, every caller gets that answer
      const replies = yield* Effect.forEach([1, 2, 3], () => send("what is my glucose?", "key-2"), { concurrency: "unbounded" })
      expect(replies[1]).toEqual(replies[0])
      expect(replies[2]).toEqual(replies[0])
      expect(yield* rowCounts(alice)).toEqual({ conversations: 1, messages: 4 })

      // keys are per user
      const bob = yield* newUser()
      const bobContent = yield* storeLabReport(bob)
      const bobs = yield* sendChatMessage({ userId: bob, contentId: bobContent, message: "what is my hemoglobin?", idempotencyKey: "key-1" })
      expect(bobs.conversationId).not.toBe(first.conversationId)
    })
  )

})
