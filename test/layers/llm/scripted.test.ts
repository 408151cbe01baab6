/**
 * The scripted test LLM: outcomes in order per operation, throttles that fail n times as
 * LLMUnavailable and then let the next outcome through, invalid output, call counting, and a
 * loud defect when a test calls more often than it scripted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Schedule } from "effect"
import { LLMScripted, LLMScriptProbe, makeScriptedLLM, scriptedDocument } from "../../../src/layers/llm/scripted.js"
import { isTransient } from "../../../src/services/errors.js"
import { LLM, TokenUsage } from "../../../src/services/llm.js"

const input = { bytes: new TextEncoder().encode("Hemoglobin 11.2 g/dL"), contentType: "text/plain" } as const
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

describe("scripted LLM", () => {
  it.effect("answers in the scripted order, with provider test", () =>
    Effect.gen(function* () {
      const first = scriptedDocument()
      const second = scriptedDocument({ title: "Second" })
      const { llm } = yield* makeScriptedLLM({
        interpret: [
          { _tag: "answer", document: first },
          { _tag: "answer", document: second, usage: new TokenUsage({ inputTokens: 7, outputTokens: 3 }) }
        ]
      })
      const a = yield* llm.interpret(input)
      const b = yield* llm.interpret(input)
      expect(a.document).toBe(first)
      expect(a.provider).toBe("test")
      expect(a.usage.inputTokens).toBe(Math.ceil(input.bytes.length / 4))
      expect(b.document.title).toBe("Second")
      expect(b.usage).toEqual(new TokenUsage({ inputTokens: 7, outputTokens: 3 }))
    }))

  it.effect("throttle n times fails n calls with LLMUnavailable (Retry-After), then the next outcome succeeds", () =>
    Effect.gen(function* () {
      const { llm, probe } = yield* makeScriptedLLM({
        interpret: [{ _tag: "throttle", times: 2, retryAfterSeconds: 7 }, { _tag: "answer", document: scriptedDocument() }]
      })
      expect(yield* probe.remaining).toEqual({ interpret: 3, chat: 0 })
      for (let i = 0; i < 2; i++) {
        const error = failureOf(yield* Effect.exit(llm.interpret(input)))
        expect(error).toMatchObject({ _tag: "LLMUnavailable", retryAfterSeconds: 7 })
      }
      const ok = yield* llm.interpret(input)
      expect(ok.document.title).toBe("Complete Blood Count")
      expect(yield* probe.calls).toEqual({ interpret: 3, chat: 0 })
      expect(yield* probe.remaining).toEqual({ interpret: 0, chat: 0 })
    }))

  it.effect("a caller retrying on LLMUnavailable gets through after the throttles; withRetry-style isTransient does not retry it", () =>
    Effect.gen(function* () {
      const { llm, probe } = yield* makeScriptedLLM({
        interpret: [{ _tag: "throttle", times: 3 }, { _tag: "answer", document: scriptedDocument() }]
      })
      const error = failureOf(yield* Effect.exit(llm.interpret(input)))
      // recovery "fallback": the live layer has already retried; callers decide on another attempt
      expect(isTransient(error)).toBe(false)
      const result = yield* llm.interpret(input).pipe(
        Effect.retry({ schedule: Schedule.recurs(5), while: (e) => e._tag === "LLMUnavailable" })
      )
      expect(result.document.results).toHaveLength(1)
      expect((yield* probe.calls).interpret).toBe(4)
    }))

  it.effect("invalid → LLMInvalidOutput; unreadable → DocumentUnreadable with its reason", () =>
    Effect.gen(function* () {
      const { llm } = yield* makeScriptedLLM({
        interpret: [{ _tag: "invalid" }, { _tag: "unreadable", reason: "IMAGE_NEEDS_BEDROCK" }],
        chat: [{ _tag: "invalid", message: "bad json" }]
      })
      expect(failureOf(yield* Effect.exit(llm.interpret(input)))).toMatchObject({ _tag: "LLMInvalidOutput" })
      expect(failureOf(yield* Effect.exit(llm.interpret(input)))).toMatchObject({
        _tag: "DocumentUnreadable",
        reason: "IMAGE_NEEDS_BEDROCK"
      })
      const chat = failureOf(yield* Effect.exit(llm.chat({ document: scriptedDocument(), history: [], question: "?" })))
      expect(chat).toMatchObject({ _tag: "LLMInvalidOutput", message: "bad json" })
    }))

  it.effect("chat has its own queue and counter", () =>
    Effect.gen(function* () {
      const { llm, probe } = yield* makeScriptedLLM({
        chat: [{ _tag: "throttle", times: 1 }, { _tag: "answer", answer: "Your hemoglobin was 11.2 g/dL." }]
      })
      const document = scriptedDocument()
      expect(failureOf(yield* Effect.exit(llm.chat({ document, history: [], question: "Hb?" })))).toMatchObject({
        _tag: "LLMUnavailable"
      })
      const { answer, provider, modelId } = yield* llm.chat({ document, history: [], question: "Hb?" })
      expect(answer).toBe("Your hemoglobin was 11.2 g/dL.")
      expect([provider, modelId]).toEqual(["test", "scripted"])
      expect(yield* probe.calls).toEqual({ interpret: 0, chat: 2 })
    }))

  it.effect("a call beyond the script is a defect that names the operation", () =>
    Effect.gen(function* () {
      const { llm } = yield* makeScriptedLLM({ interpret: [] })
      const exit = yield* Effect.exit(llm.interpret(input))
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toContain("no outcome left for interpret")
    }))

  it.effect("a throttle of 0 is skipped", () =>
    Effect.gen(function* () {
      const { llm } = yield* makeScriptedLLM({
        interpret: [{ _tag: "throttle", times: 0 }, { _tag: "answer", document: scriptedDocument() }]
      })
      expect((yield* llm.interpret(input)).provider).toBe("test")
    }))

  it.effect("as a layer: LLM and LLMScriptProbe from one script", () =>
    Effect.gen(function* () {
      const llm = yield* LLM
      const probe = yield* LLMScriptProbe
      yield* Effect.exit(llm.interpret(input))
      yield* llm.interpret(input)
      expect(yield* probe.calls).toEqual({ interpret: 2, chat: 0 })
    }).pipe(
      Effect.provide(LLMScripted({ interpret: [{ _tag: "throttle", times: 1 }, { _tag: "answer", document: scriptedDocument() }] }))
    ))
})
