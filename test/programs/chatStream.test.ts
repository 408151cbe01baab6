/**
 * The streamed chat answer on a real database: the deltas, the stored message they add up to,
 * the guardrails applied before text is released, and what a client that goes away leaves behind
 * (nothing stored, nothing counted, the model stopped and what it had used recorded once).
 */
import { TrendsCacheDisabled } from "../../src/layers/trendsCache/memory.js"
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Result, Stream } from "effect"
import { CostTrackerMemory, MemoryCostStore } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { LLMScripted, LLMScriptProbe, scriptedDocument, type ChatStep } from "../../src/layers/llm/scripted.js"
import { getConversation, sendChatMessage } from "../../src/programs/chat.js"
import { AnswerGuard, type ChatStreamEvent, releasableLength, streamChatMessage } from "../../src/programs/chatStream.js"
import { saveContent } from "../../src/programs/content.js"
import type { ContentId, UserId } from "../../src/services/ids.js"
import { CRITICAL_ACTION, type InterpretedDocument, LabResult, ReferenceRange } from "../../src/services/llm.js"
import { TestDatabaseLive } from "../support/database.js"
import { testConfigLayer } from "../support/settings.js"
import { newUser } from "../support/users.js"
import { AuditWithRows } from "../support/audit.js"
import * as fc from "fast-check"

const layerWith = (chat: ReadonlyArray<ChatStep>) =>
  Layer.mergeAll(CryptoMemory, LLMScripted({ chat }), CostTrackerMemory(), AuditWithRows, TrendsCacheDisabled).pipe(
    Layer.provideMerge(TestDatabaseLive())
  )

const store = (userId: UserId, document: InterpretedDocument = scriptedDocument()) =>
  saveContent({ userId, document, provider: "test", modelId: "scripted" })

const collect = (userId: UserId, contentId: ContentId, message: string, idempotencyKey?: string) =>
  Effect.flatMap(
    streamChatMessage({ userId, contentId, message, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) }),
    (events) => Stream.runCollect(events)
  )

const deltasOf = (events: ReadonlyArray<ChatStreamEvent>) =>
  events.flatMap((e) => (e._tag === "delta" ? [e.text] : []))

const doneOf = (events: ReadonlyArray<ChatStreamEvent>) => {
  const last = events.at(-1)
  if (last?._tag !== "done") throw new Error(`the stream did not end with done: ${JSON.stringify(last)}`)
  return last.reply
}

const counts = (userId: UserId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ messages: number; usage: number }>`
      SELECT (SELECT count(*)::int FROM messages WHERE user_id = ${userId}::uuid) AS messages,
             (SELECT count(*)::int FROM plan_usage WHERE user_id = ${userId}::uuid) AS usage`
    return row!
  })

const chatCosts = (userId: UserId) =>
  Effect.map(
    Effect.flatMap(MemoryCostStore, (s) => s.entries),
    (entries) => entries.filter((e) => e.userId === userId && e.documentType === "chat")
  )

const ANSWER_CHUNKS = ["Your hemoglobin", " is 11.2 g/dL. ", "That is below the", " reference range. ", "Please ask your clinician."]

layer(
  layerWith([
    { _tag: "answer", answer: "", streaming: { chunks: ANSWER_CHUNKS } },
    { _tag: "answer", answer: "", streaming: { chunks: ANSWER_CHUNKS } }
  ]),
  { excludeTestServices: true }
)("chat stream: deltas and the stored message", (it) => {
  it.effect("the deltas, joined, are the done event's text and the stored answer; a replay under the key streams it again", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* store(alice)
      const events = yield* collect(alice, contentId, "what is my hemoglobin?", "stream-key-1")
      const deltas = deltasOf(events)
      // released by sentence: nothing reaches the client mid-sentence
      expect(deltas).toEqual(["Your hemoglobin is 11.2 g/dL. ", "That is below the reference range. ", "Please ask your clinician."])
      const reply = doneOf(events)
      expect(reply.message.content).toBe(deltas.join(""))
      expect(reply.message.citations).toEqual([{ result: 0, name: "Hemoglobin" }])
      const conversation = Option.getOrThrow(yield* getConversation(alice, contentId))
      expect(conversation.messages.map((m) => m.content)).toEqual(["what is my hemoglobin?", deltas.join("")])
      expect(yield* counts(alice)).toEqual({ messages: 2, usage: 1 })
      expect((yield* chatCosts(alice)).length).toBe(1)

      // the same key again: no model call (the script has one answer left, unused), the same message
      const again = yield* collect(alice, contentId, "what is my hemoglobin?", "stream-key-1")
      expect(deltasOf(again)).toEqual([reply.message.content])
      expect(doneOf(again).message.id).toBe(reply.message.id)
      const json = yield* sendChatMessage({ userId: alice, contentId, message: "what is my hemoglobin?", idempotencyKey: "stream-key-1" })
      expect(json.message).toEqual(reply.message)
      expect((yield* (yield* LLMScriptProbe).calls).chat).toBe(1)
      expect(yield* counts(alice)).toEqual({ messages: 2, usage: 1 })
    })
  )
})

const critical = scriptedDocument({
  results: [
    new LabResult({
      name: "Potassium",
      value: 6.9,
      unit: "mmol/L",
      referenceRange: new ReferenceRange({ low: 3.5, high: 5.1, text: "3.5 - 5.1" }),
      flag: "critical_high"
    })
  ]
})

layer(
  layerWith([
    { _tag: "answer", answer: "", streaming: { chunks: ["Potassium is high. ", "Talk to your clinician."] } },
    { _tag: "answer", answer: "", streaming: { chunks: ["Your hemoglobin is 11.2. ", "All your results are within the normal range. ", "Nothing to worry about."] } }
  ]),
  { excludeTestServices: true }
)("chat stream: guardrails before the client sees text", (it) => {
  it.effect("a critical value's notice is the first delta, before the model's first word", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* store(alice, critical)
      const events = yield* collect(alice, contentId, "how am I?")
      const deltas = deltasOf(events)
      expect(deltas[0]).toContain(CRITICAL_ACTION)
      expect(deltas[0]).toContain("Potassium 6.9 mmol/L")
      expect(doneOf(events).message.content).toBe(deltas.join(""))
    })
  )

  it.effect("an answer calling a flagged document normal is cut at that sentence: the correction is sent, the model stopped, the sent text stored", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* store(alice)
      const events = yield* collect(alice, contentId, "is everything fine?")
      const deltas = deltasOf(events)
      const sent = deltas.join("")
      expect(sent).not.toMatch(/within the normal range|Nothing to worry/u)
      expect(deltas[0]).toBe("Your hemoglobin is 11.2. ")
      expect(sent).toContain("outside the reference range, so I can't say that everything is normal")
      expect(doneOf(events).message.content).toBe(sent)
      const conversation = Option.getOrThrow(yield* getConversation(alice, contentId))
      expect(conversation.messages[1]!.content).toBe(sent)
      // the third chunk was never produced: the model's stream was stopped at the cut
      const streamed = yield* (yield* LLMScriptProbe).streamed
      expect(streamed.interrupted).toBe(1)
      // two chunks in the first test, two here: the third was never produced
      expect(streamed.chunks).toBe(4)
    })
  )
})

layer(
  layerWith([
    { _tag: "answer", answer: "", streaming: { chunks: ["One. ", "Two. ", "Three. ", "Four. ", "Five."], delay: "40 millis" } },
    { _tag: "answer", answer: "", streaming: { chunks: ["One. ", "Two. ", "Three."], failAfter: 2 } }
  ]),
  { excludeTestServices: true }
)("chat stream: a client that goes away, a model that fails", (it) => {
  it.effect("a disconnect mid-stream stops the model, stores nothing, counts nothing against the plan and records the tokens used once", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* store(alice)
      const events = yield* streamChatMessage({ userId: alice, contentId, message: "tell me everything" })
      // the consumer stops after two deltas, as a server does when its client has gone
      const received = yield* Stream.runCollect(Stream.take(events, 2))
      expect(deltasOf(received)).toEqual(["One. ", "Two. "])
      // time goes on (three more chunks' worth): nothing more is produced, nothing is stored
      yield* Effect.sleep("200 millis")
      const probe = yield* LLMScriptProbe
      expect(yield* probe.streamed).toEqual({ chunks: 2, interrupted: 1 })
      expect(yield* counts(alice)).toEqual({ messages: 0, usage: 0 })
      const costs = yield* chatCosts(alice)
      expect(costs.length).toBe(1)
      expect(costs[0]!.outputTokens).toBe(Math.ceil("One. Two. ".length / 4))
    })
  )

  it.effect("a model failing mid-stream fails the stream after the sent deltas; nothing is stored or counted", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const contentId = yield* store(alice)
      const received: Array<ChatStreamEvent> = []
      const events = yield* streamChatMessage({ userId: alice, contentId, message: "tell me" })
      const exit = yield* Effect.exit(Stream.runForEach(events, (e) => Effect.sync(() => void received.push(e))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("LLMUnavailable")
      expect(deltasOf(received)).toEqual(["One. ", "Two. "])
      expect(received.some((e) => e._tag === "done")).toBe(false)
      expect(yield* counts(alice)).toEqual({ messages: 0, usage: 0 })
    })
  )
})

layer(layerWith([]), { excludeTestServices: true })("chat stream: refusals before the stream", (it) => {
  it.effect("the plan's limit, an empty question and someone else's content fail before any event, and no model is asked", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const bob = yield* newUser()
      const contentId = yield* store(alice)
      const failure = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.map(Effect.result(effect), (r) => (Result.isFailure(r) ? r.failure._tag : "success"))
      expect(yield* failure(streamChatMessage({ userId: alice, contentId, message: "   " }))).toBe("InvalidRequest")
      expect(yield* failure(streamChatMessage({ userId: bob, contentId, message: "mine?" }))).toBe("NotFound")
      const limited = Effect.provide(
        streamChatMessage({ userId: alice, contentId, message: "hello" }),
        testConfigLayer({ FREE_PLAN_CHAT_MESSAGES_PER_MONTH: "0" })
      )
      expect(yield* failure(limited)).toBe("QuotaExceeded")
      expect((yield* (yield* LLMScriptProbe).calls).chat).toBe(0)
    })
  )
})

describeGuard()

function describeGuard() {
  layer(Layer.empty)("the answer guard", (it) => {
    it.effect("whatever the model's chunking, the sent text is the model's answer (trimmed) when nothing is refused", () =>
      Effect.sync(() => {
        const document = scriptedDocument({ results: [] })
        fc.assert(
          fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 30 }), (chunks) => {
            const guard = new AnswerGuard(document, "")
            const out = [...chunks.flatMap((c) => guard.push(c)), ...guard.end()]
            const texts = out.flatMap((o) => (o._tag === "text" ? [o.text] : []))
            const complete = out.filter((o) => o._tag === "complete")
            expect(complete).toHaveLength(1)
            expect(texts.every((t) => t !== "")).toBe(true)
            expect(texts.join("")).toBe(chunks.join("").trim())
            expect((complete[0] as { answer: string }).answer).toBe(texts.join(""))
          })
        )
      })
    )

    it.effect("on a flagged document no released text ever sounds reassuring, however the reassurance is chunked", () =>
      Effect.sync(() => {
        const document = scriptedDocument()
        const reassuring = "Hemoglobin is 11.2. All of your results are within the normal range. Great news."
        fc.assert(
          fc.property(fc.array(fc.integer({ min: 1, max: reassuring.length - 1 }), { maxLength: 8 }), (cuts) => {
            const points = [...new Set(cuts)].sort((a, b) => a - b)
            const chunks = [0, ...points].map((start, i) => reassuring.slice(start, points[i] ?? reassuring.length))
            const guard = new AnswerGuard(document, "")
            const out = [...chunks.flatMap((c) => guard.push(c)), ...guard.end()]
            const sent = out.flatMap((o) => (o._tag === "text" ? [o.text] : [])).join("")
            expect(sent).not.toContain("normal range")
            expect(sent).toContain("can't say that everything is normal")
          })
        )
      })
    )

    it.effect("text is held until a sentence ends, or until it is too long to hold", () =>
      Effect.sync(() => {
        expect(releasableLength("Hello there")).toBe(0)
        expect(releasableLength("Hello. There")).toBe("Hello. ".length)
        expect(releasableLength("One.\nTwo")).toBe("One.\n".length)
        expect(releasableLength(`${"word ".repeat(200)}end`)).toBe("word ".repeat(200).length)
      })
    )
  })
}
