/**
 * The Bedrock layer's streamed chat (ConverseStream) against aws-sdk-client-mock: the mock answers
 * with an async iterable of events, timed by a script, which stops when the request's abortSignal
 * is aborted (its pending read rejects with an AbortError, as the SDK's does). Deltas and the end,
 * usage reported once per call (metadata, or an estimate for a call cut short), the consumer going
 * away (the request aborted at once), exceptions in the stream, stop reasons, the first-event and
 * idle timeouts, retries only before any text, the breaker and its fallback, the span; and time to
 * first token against the whole answer, on a scripted Bedrock and on the offline provider.
 */
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type ConverseStreamCommandInput,
  type ConverseStreamOutput,
  ThrottlingException
} from "@aws-sdk/client-bedrock-runtime"
import { beforeEach, describe, expect, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Cause, Deferred, Effect, Exit, Fiber, Stream, Tracer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { makeBedrockLLM } from "../../../src/layers/llm/bedrock.js"
import { CHAT_BUDGET, outputBudget } from "../../../src/layers/llm/bedrockRequest.js"
import { requestChars, type StreamTimeouts } from "../../../src/layers/llm/bedrockStream.js"
import { chunksOf } from "../../../src/layers/llm/answerStream.js"
import { makeOfflineLLM } from "../../../src/layers/llm/offline.js"
import { errorInfo } from "../../../src/services/errors.js"
import { type ChatStreamPart, InterpretedDocument, type ModelCall } from "../../../src/services/llm.js"
import { DEFAULT_MODEL_ID, findModel } from "../../../src/services/models.js"
import { BreakerConfigs, makeRetrySchedule } from "../../../src/services/resilience.js"
import { makeCircuitBreaker } from "../../../src/layers/resilience/circuitBreaker.js"
import { FIXTURES_DIR } from "../../support/fixtures.js"
import { makeLocalDeidentifier } from "../../../src/layers/deidentifier/local.js"

const MODEL = DEFAULT_MODEL_ID
const bedrock = mockClient(BedrockRuntimeClient)
beforeEach(() => bedrock.reset())

const client = () =>
  new BedrockRuntimeClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })

// retries on a millisecond schedule of the llm schedule's shape (its own delays are proven in the resilience tests)
const fastRetry = makeRetrySchedule({ base: "2 millis", maxRetries: 3, maxDelay: "10 millis" })

const makeLLM = (streamTimeouts?: Partial<StreamTimeouts>) =>
  Effect.map(makeCircuitBreaker({ ...BreakerConfigs.llm, name: `llm-stream-test-${Math.random()}` }), (breaker) =>
    makeBedrockLLM(client(), { modelId: MODEL, breaker, retry: fastRetry, deidentifier: makeLocalDeidentifier(), ...(streamTimeouts ? { streamTimeouts } : {}) })
  )

const document = InterpretedDocument.make({
  documentType: "lab_results",
  title: "Complete Blood Count",
  results: [],
  vitals: [],
  summary: "Hemoglobin is below the range; talk to your clinician."
})

// ---------------------------------------------------------------------------------------------
// A scripted ConverseStream

const messageStart: ConverseStreamOutput = { messageStart: { role: "assistant" } }
const delta = (text: string): ConverseStreamOutput => ({ contentBlockDelta: { contentBlockIndex: 0, delta: { text } } })
const reasoning = (text: string): ConverseStreamOutput => ({
  contentBlockDelta: { contentBlockIndex: 0, delta: { reasoningContent: { text } } }
})
const stop = (stopReason: "end_turn" | "max_tokens" | "content_filtered" = "end_turn"): ConverseStreamOutput => ({ messageStop: { stopReason } })
const metadata = (inputTokens = 500, outputTokens = 40): ConverseStreamOutput => ({
  metadata: { usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }, metrics: { latencyMs: 10 } }
})

/** One step of a scripted stream: an event (after `after` ms), an exception thrown by the stream, or no event ever. */
type Step =
  | { readonly event: ConverseStreamOutput; readonly after?: number }
  | { readonly throws: Error; readonly after?: number }
  | { readonly hang: true }

const abortError = () => Object.assign(new Error("Request aborted"), { name: "AbortError" })

/** Resolves after `ms` (never, for Infinity), or rejects as soon as the signal is aborted. */
const wait = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortError())
    if (ms <= 0) return resolve()
    const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined
    signal?.addEventListener("abort", () => {
      clearTimeout(timer)
      reject(abortError())
    }, { once: true })
  })

/** What each scripted call did: the events it yielded, and its request's signal. */
interface CallRecord {
  readonly signal: AbortSignal | undefined
  yielded: number
}
let records: Array<CallRecord> = []
beforeEach(() => {
  records = []
})

/** The events as the SDK gives them, stopping (the pending read rejected) once the request is aborted. */
const eventStream = (steps: ReadonlyArray<Step>, record: CallRecord): AsyncIterable<ConverseStreamOutput> => ({
  async *[Symbol.asyncIterator]() {
    for (const step of steps) {
      if ("hang" in step) await wait(Infinity, record.signal)
      await wait(("after" in step ? step.after : undefined) ?? 0, record.signal)
      if ("throws" in step) throw step.throws
      if ("event" in step) {
        record.yielded++
        yield step.event
      }
    }
  }
})

/** The abortSignal the layer passed to `client.send` for the call being made now. */
const currentSignal = (): AbortSignal | undefined =>
  (bedrock.send.lastCall?.args as ReadonlyArray<{ abortSignal?: AbortSignal } | undefined> | undefined)?.[1]?.abortSignal

/** A ConverseStream answer that plays `steps`. */
const answering = (steps: ReadonlyArray<Step>) => () => {
  const record: CallRecord = { signal: currentSignal(), yielded: 0 }
  records.push(record)
  return Promise.resolve({ stream: eventStream(steps, record), $metadata: {} })
}

const events = (...list: ReadonlyArray<ConverseStreamOutput>): ReadonlyArray<Step> => list.map((event) => ({ event }))
const answer = (pieces: ReadonlyArray<string>, usage = metadata()) => events(messageStart, ...pieces.map(delta), stop(), usage)

const streamInputs = () => bedrock.commandCalls(ConverseStreamCommand).map((call) => call.args[0].input as ConverseStreamCommandInput)

// retries wait on the (real) millisecond schedule: tests that retry run live

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const [only, ...more] = exit.cause.reasons
  return only !== undefined && more.length === 0 && Cause.isFailReason(only) ? only.error : undefined
}

const deltasOf = (parts: ReadonlyArray<ChatStreamPart>) => parts.flatMap((part) => (part._tag === "delta" ? [part.text] : []))
const endOf = (parts: ReadonlyArray<ChatStreamPart>) => parts.flatMap((part) => (part._tag === "end" ? [part.answer] : []))

const recorder = () => {
  const calls: Array<ModelCall> = []
  return { calls, onUsage: (call: ModelCall) => Effect.sync(() => void calls.push(call)) }
}

/** The stream run to its end (or its failure), every part kept, even those before a failure. */
const runAll = (stream: Stream.Stream<ChatStreamPart, unknown>) =>
  Effect.gen(function* () {
    const parts: Array<ChatStreamPart> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (part) => Effect.sync(() => void parts.push(part))))
    return { parts, exit }
  })

// ---------------------------------------------------------------------------------------------

describe("Bedrock chatStream", () => {
  it.effect("sends the chat's request as ConverseStream; deltas in order, then once the end: the deltas joined, with the metadata's usage", () =>
    Effect.gen(function* () {
      const pieces = ["Your hemoglobin ", "was 11.2 g/dL, ", "below the range ", "of 12.0 - 16.0 g/dL."]
      bedrock.on(ConverseStreamCommand).callsFake(answering(answer(pieces, metadata(812, 23))))
      const llm = yield* makeLLM()
      const usage = recorder()
      const history = [
        { role: "user" as const, content: "hello" },
        { role: "assistant" as const, content: "Hi, ask me about your report." }
      ]
      const parts = yield* Stream.runCollect(llm.chatStream({ document, history, question: "what is my hemoglobin?", onUsage: usage.onUsage }))

      expect(parts.map((p) => p._tag)).toEqual(["delta", "delta", "delta", "delta", "end"])
      expect(deltasOf(parts)).toEqual(pieces)
      const [end] = endOf(parts)
      expect(end).toMatchObject({ answer: pieces.join("").trim(), provider: "aws.bedrock", modelId: MODEL })
      expect(end?.usage).toMatchObject({ inputTokens: 812, outputTokens: 23 })
      // the call's own usage, reported once
      expect(usage.calls.map((c) => [c.usage.inputTokens, c.usage.outputTokens, c.provider, c.modelId])).toEqual([[812, 23, "aws.bedrock", MODEL]])

      // the very request `chat` sends, as ConverseStream
      bedrock.on(ConverseCommand).resolves({
        output: { message: { role: "assistant", content: [{ text: "ok" }] } },
        stopReason: "end_turn",
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        metrics: { latencyMs: 1 }
      })
      yield* llm.chat({ document, history, question: "what is my hemoglobin?" })
      const [streamed] = streamInputs()
      const whole = bedrock.commandCalls(ConverseCommand)[0]?.args[0].input as ConverseCommandInput
      expect(streamed).toEqual(whole)
      expect(JSON.stringify(streamed?.system)).toContain("never recommend or dose")
      expect(JSON.stringify(streamed?.system)).toContain("Complete Blood Count")
      expect(streamed?.messages?.map((m) => m.role)).toEqual(["user", "assistant", "user"])
      expect(streamed?.inferenceConfig?.maxTokens).toBe(outputBudget(findModel(MODEL)!, CHAT_BUDGET))
      // the abort signal is the request's own, and a stream read to its end is not aborted
      expect(records[0]?.signal).toBeInstanceOf(AbortSignal)
      expect(records[0]?.signal?.aborted).toBe(false)
    }))

  it.effect("never sends an empty delta nor the answer's leading whitespace; a thinking model's reasoning is not text", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(
        answering(events(messageStart, reasoning("The user asks about..."), delta("\n\n"), delta(""), delta("  Hemoglobin"), delta(""), delta(" is low.\n"), stop(), metadata()))
      )
      const llm = yield* makeLLM()
      const parts = yield* Stream.runCollect(llm.chatStream({ document, history: [], question: "hemoglobin?" }))
      expect(deltasOf(parts)).toEqual(["Hemoglobin", " is low.\n"])
      expect(endOf(parts)[0]?.answer).toBe("Hemoglobin is low.")
    }))

  it.live("a consumer that stops after two deltas: the request is aborted at once, nothing more is read, an estimate is reported once", () =>
    Effect.gen(function* () {
      const pieces = ["Your hemoglobin ", "was 11.2 g/dL, ", "below the range ", "of 12.0 - 16.0 g/dL."]
      bedrock.on(ConverseStreamCommand).callsFake(
        answering([{ event: messageStart }, ...pieces.map((text) => ({ event: delta(text), after: 20 })), { event: stop() }, { event: metadata() }])
      )
      const llm = yield* makeLLM()
      const usage = recorder()
      const parts = yield* Stream.runCollect(Stream.take(llm.chatStream({ document, history: [], question: "what is my hemoglobin?", onUsage: usage.onUsage }), 2))
      expect(deltasOf(parts)).toEqual(pieces.slice(0, 2))

      // aborted by the time the consumer is done, not when the model finishes
      expect(records).toHaveLength(1)
      expect(records[0]?.signal?.aborted).toBe(true)
      const request = streamInputs()[0]!
      expect(usage.calls).toHaveLength(1)
      expect(usage.calls[0]?.usage).toMatchObject({
        inputTokens: Math.ceil(requestChars(request) / 4),
        outputTokens: Math.ceil(pieces.slice(0, 2).join("").length / 4)
      })
      expect(usage.calls[0]?.usage.inputTokens).toBeGreaterThan(Math.ceil(JSON.stringify(document).length / 4))
      // no further event is produced after the abort
      const yielded = records[0]!.yielded
      yield* Effect.sleep("120 millis")
      expect(records[0]!.yielded).toBe(yielded)
      expect(yielded).toBeLessThanOrEqual(4)
      expect(usage.calls).toHaveLength(1)
    }))

  it.live("the consumer's fiber interrupted mid-stream (the client went away): aborted, estimate reported once, the breaker counts nothing", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(
        answering([{ event: messageStart }, { event: delta("one ") }, { event: delta("two ") }, { hang: true }])
      )
      const llm = yield* makeLLM()
      const usage = recorder()
      const seen: Array<string> = []
      const twoSeen = yield* Deferred.make<void>()
      const fiber = yield* Stream.runForEach(llm.chatStream({ document, history: [], question: "q", onUsage: usage.onUsage }), (part) =>
        Effect.gen(function* () {
          if (part._tag === "delta") seen.push(part.text)
          if (seen.length === 2) yield* Deferred.succeed(twoSeen, undefined)
        })
      ).pipe(Effect.forkChild)
      yield* Deferred.await(twoSeen)
      yield* Fiber.interrupt(fiber)
      expect(seen).toEqual(["one ", "two "])
      expect(records[0]?.signal?.aborted).toBe(true)
      expect(usage.calls.map((c) => c.usage.outputTokens)).toEqual([Math.ceil("one two ".length / 4)])
      // three such interruptions would have opened it were they failures: the next question still goes to Bedrock
      for (let i = 0; i < 3; i++) {
        yield* Stream.runCollect(Stream.take(llm.chatStream({ document, history: [], question: `q${i}` }), 1))
      }
      bedrock.on(ConverseStreamCommand).callsFake(answering(answer(["fine"])))
      const parts = yield* Stream.runCollect(llm.chatStream({ document, history: [], question: "again" }))
      expect(endOf(parts)[0]?.answer).toBe("fine")
    }))
})

describe("Bedrock chatStream failures", () => {
  const exceptionEvent = (key: string, message: string) => ({ [key]: { message } }) as unknown as ConverseStreamOutput

  it.effect.each([
    ["throttlingException", "Too many requests, please wait before trying again.", "LLMUnavailable"],
    ["modelStreamErrorException", "An error occurred while streaming the response.", "LLMUnavailable"],
    ["internalServerException", "Internal server error", "LLMUnavailable"],
    ["serviceUnavailableException", "Service unavailable", "LLMUnavailable"]
  ] as const)("%s after a delta: %s → %s, not retried (the client saw text)", ([key, message, tag]) =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(answering(events(messageStart, delta("Your hemoglobin "), exceptionEvent(key, message))))
      const llm = yield* makeLLM()
      const usage = recorder()
      const { exit, parts } = yield* runAll(llm.chatStream({ document, history: [], question: "q", onUsage: usage.onUsage }))
      const failure = failureOf(exit)
      expect(failure).toMatchObject({ _tag: tag, retryAfterSeconds: 30 })
      expect(deltasOf(parts)).toEqual(["Your hemoglobin "])
      expect(endOf(parts)).toEqual([])
      expect(streamInputs()).toHaveLength(1)
      // what the cut call consumed, estimated, once
      expect(usage.calls).toHaveLength(1)
      expect(usage.calls[0]?.usage.outputTokens).toBe(Math.ceil("Your hemoglobin ".length / 4))
    }))

  it.live("a transient exception before any delta is retried like Converse's (the SDK throws it from the stream)", () =>
    Effect.gen(function* () {
      const throttled = new ThrottlingException({ message: "Too many tokens, please wait before trying again.", $metadata: {} })
      bedrock
        .on(ConverseStreamCommand)
        .callsFakeOnce(answering([{ event: messageStart }, { throws: throttled }]))
        .callsFake(answering(answer(["Hemoglobin is 11.2 g/dL."], metadata(500, 8))))
      const llm = yield* makeLLM()
      const usage = recorder()
      const parts = yield* Stream.runCollect(llm.chatStream({ document, history: [], question: "q", onUsage: usage.onUsage }))
      expect(deltasOf(parts)).toEqual(["Hemoglobin is 11.2 g/dL."])
      expect(streamInputs()).toHaveLength(2)
      // the failed call had started (an estimate), the second reported its own; the end counts both
      expect(usage.calls.map((c) => c.usage.outputTokens)).toEqual([0, 8])
      expect(endOf(parts)[0]?.usage.outputTokens).toBe(8)
      expect(endOf(parts)[0]?.usage.inputTokens).toBe(usage.calls[0]!.usage.inputTokens + 500)
    }))

  it.live("throttled at the send, every time: retried on the schedule, then LLMUnavailable with Retry-After; nothing consumed, nothing reported", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).rejects(new ThrottlingException({ message: "Too many requests", $metadata: { httpStatusCode: 429 } }))
      const llm = yield* makeLLM()
      const usage = recorder()
      const { exit, parts } = yield* runAll(llm.chatStream({ document, history: [], question: "q", onUsage: usage.onUsage }))
      expect(failureOf(exit)).toMatchObject({ _tag: "LLMUnavailable", retryAfterSeconds: 30 })
      expect(errorInfo(failureOf(exit))).toMatchObject({ code: "LLM_UNAVAILABLE", status: 503 })
      expect(parts).toEqual([])
      expect(streamInputs()).toHaveLength(4)
      expect(usage.calls).toEqual([])
    }))

  it.effect.each([
    ["The provided model identifier is invalid.", { _tag: "LLMRequestRejected", reason: "MODEL_ID_INVALID" }],
    ["Input is too long for requested model.", { _tag: "LLMRequestRejected", reason: "CONVERSATION_TOO_LONG", retryLater: false }]
  ] as const)("a validationException in the stream (%s) is classified like Converse's, not retried", ([message, expected]) =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(answering(events(messageStart, exceptionEvent("validationException", message))))
      const llm = yield* makeLLM()
      const { exit } = yield* runAll(llm.chatStream({ document, history: [], question: "q" }))
      expect(failureOf(exit)).toMatchObject(expected)
      expect(streamInputs()).toHaveLength(1)
    }))

  it.effect("a max_tokens stop: LLMOutputTruncated (the answer was cut), its tokens reported, not asked again", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(
        answering(events(messageStart, delta("Your hemoglobin was 11.2 g/dL, which is"), stop("max_tokens"), metadata(500, 1024)))
      )
      const llm = yield* makeLLM()
      const usage = recorder()
      const { exit, parts } = yield* runAll(llm.chatStream({ document, history: [], question: "q", onUsage: usage.onUsage }))
      const failure = failureOf(exit)
      expect(failure).toMatchObject({ _tag: "LLMOutputTruncated", maxTokens: outputBudget(findModel(MODEL)!, CHAT_BUDGET) })
      expect(errorInfo(failure)).toMatchObject({ code: "LLM_OUTPUT_TRUNCATED" })
      expect(endOf(parts)).toEqual([])
      expect(streamInputs()).toHaveLength(1)
      expect(usage.calls.map((c) => c.usage.outputTokens)).toEqual([1024])
    }))

  it.effect("an empty answer is LLMInvalidOutput; a withheld one LLMRequestRejected", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(answering(events(messageStart, delta("  \n"), stop(), metadata())))
      const llm = yield* makeLLM()
      const empty = yield* runAll(llm.chatStream({ document, history: [], question: "q" }))
      expect(failureOf(empty.exit)).toMatchObject({ _tag: "LLMInvalidOutput" })
      expect(empty.parts).toEqual([])

      bedrock.reset()
      bedrock.on(ConverseStreamCommand).callsFake(answering(events(messageStart, stop("content_filtered"), metadata())))
      const withheld = yield* runAll(llm.chatStream({ document, history: [], question: "q2" }))
      expect(failureOf(withheld.exit)).toMatchObject({ _tag: "LLMRequestRejected", reason: "CONTENT_FILTERED", retryLater: false })
    }))

  it.effect("a stream that ends without a stop reason is not a whole answer: LLMUnavailable", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(answering(events(messageStart, delta("Your hemo"))))
      const llm = yield* makeLLM()
      const { exit } = yield* runAll(llm.chatStream({ document, history: [], question: "q" }))
      expect(failureOf(exit)).toMatchObject({ _tag: "LLMUnavailable" })
      expect(streamInputs()).toHaveLength(1)
    }))
})

describe("Bedrock chatStream waits are bounded", () => {
  it.live("no first event: every call aborted at its first-event timeout, retried, then LLMUnavailable", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(answering([{ hang: true }]))
      const llm = yield* makeLLM({ firstEvent: "40 millis", idle: "1 second" })
      const usage = recorder()
      const started = performance.now()
      const { exit } = yield* runAll(llm.chatStream({ document, history: [], question: "q", onUsage: usage.onUsage }))
      expect(failureOf(exit)).toMatchObject({ _tag: "LLMUnavailable" })
      expect(performance.now() - started).toBeLessThan(1000)
      expect(records).toHaveLength(4)
      expect(records.every((r) => r.signal?.aborted === true)).toBe(true)
      // sent, then abandoned: the prompt is counted, no output
      expect(usage.calls.map((c) => c.usage.outputTokens)).toEqual([0, 0, 0, 0])
    }))

  it.live("silent after a delta: the idle timeout ends it with LLMUnavailable, once (no retry once text went out), aborted", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(answering([{ event: messageStart }, { event: delta("Your hemoglobin ") }, { hang: true }]))
      const llm = yield* makeLLM({ firstEvent: "1 second", idle: "40 millis" })
      const usage = recorder()
      const { exit, parts } = yield* runAll(llm.chatStream({ document, history: [], question: "q", onUsage: usage.onUsage }))
      expect(failureOf(exit)).toMatchObject({ _tag: "LLMUnavailable" })
      expect(deltasOf(parts)).toEqual(["Your hemoglobin "])
      expect(records).toHaveLength(1)
      expect(records[0]?.signal?.aborted).toBe(true)
      expect(usage.calls).toHaveLength(1)
    }))

  it.live("silent before any text (after messageStart): the idle timeout is retried like any transient failure", () =>
    Effect.gen(function* () {
      bedrock
        .on(ConverseStreamCommand)
        .callsFakeOnce(answering([{ event: messageStart }, { hang: true }]))
        .callsFake(answering(answer(["Fine."])))
      const llm = yield* makeLLM({ firstEvent: "1 second", idle: "40 millis" })
      const parts = yield* Stream.runCollect(llm.chatStream({ document, history: [], question: "q" }))
      expect(endOf(parts)[0]?.answer).toBe("Fine.")
      expect(records).toHaveLength(2)
      expect(records[0]?.signal?.aborted).toBe(true)
    }))
})

describe("Bedrock chatStream and the breaker", () => {
  it.live("open: an identical earlier question streams its kept answer (no call); any other fails fast with LLMUnavailable", () =>
    Effect.gen(function* () {
      const pieces = ["Your hemoglobin was 11.2 g/dL, ", "below the range of 12.0 - 16.0 g/dL. ", "Talk to your clinician about it."]
      bedrock.on(ConverseStreamCommand).callsFake(answering(answer(pieces)))
      const llm = yield* makeLLM()
      const asked = { document, history: [], question: "what is my hemoglobin?", userId: "alice" } as const
      const first = endOf(yield* Stream.runCollect(llm.chatStream(asked)))[0]!

      bedrock.reset()
      bedrock.on(ConverseStreamCommand).rejects(Object.assign(new Error("ServiceUnavailableException"), { name: "ServiceUnavailableException", $metadata: { httpStatusCode: 503 } }))
      for (let i = 0; i < 3; i++) {
        expect(failureOf((yield* runAll(llm.chatStream({ ...asked, question: `other ${i}` }))).exit)).toMatchObject({ _tag: "LLMUnavailable" })
      }
      const callsWhenOpened = streamInputs().length

      const usage = recorder()
      const cached = yield* Stream.runCollect(llm.chatStream({ ...asked, onUsage: usage.onUsage }))
      expect(deltasOf(cached)).toEqual(chunksOf(first.answer))
      expect(endOf(cached)).toEqual([first])
      // a kept answer cost nothing and reports nothing
      expect(usage.calls).toEqual([])

      const refused = yield* runAll(llm.chatStream({ ...asked, question: "something new" }))
      expect(failureOf(refused.exit)).toMatchObject({ _tag: "LLMUnavailable" })
      expect((failureOf(refused.exit) as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(30)
      // another user's identical question is not served the kept answer
      expect(failureOf((yield* runAll(llm.chatStream({ ...asked, userId: "bob" }))).exit)).toMatchObject({ _tag: "LLMUnavailable" })
      expect(streamInputs()).toHaveLength(callsWhenOpened)

      // whole and streamed answers share the fallback: `chat` is served the streamed answer too
      expect(yield* llm.chat(asked)).toEqual(first)
    }))
})

describe("Bedrock chatStream's span", () => {
  it.effect("`chat {model}` with rpc.method ConverseStream, its usage and finish reason; no prompt or answer text", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseStreamCommand).callsFake(answering(answer(["Your hemoglobin ", "was 11.2 g/dL."], metadata(700, 9))))
      const spans: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }> = []
      const base = yield* Effect.tracer
      const recording = Tracer.make({
        context: base.context,
        span: (options) => {
          const span = base.span(options)
          spans.push({ name: options.name, attributes: span.attributes })
          return span
        }
      })
      const llm = yield* makeLLM()
      yield* Stream.runCollect(llm.chatStream({ document, history: [], question: "what is my hemoglobin?" })).pipe(Effect.withTracer(recording))
      const span = spans.find((s) => s.name === `chat ${MODEL}`)
      expect(Object.fromEntries(span?.attributes ?? [])).toMatchObject({
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.operation.name": "chat",
        "rpc.method": "ConverseStream",
        "gen_ai.usage.input_tokens": 700,
        "gen_ai.usage.output_tokens": 9,
        "gen_ai.response.finish_reasons": ["end_turn"]
      })
      const everything = JSON.stringify(spans.map((s) => [s.name, [...s.attributes.entries()]]))
      expect(everything).not.toContain("hemoglobin")
      expect(everything).not.toContain("Complete Blood Count")
    }))
})

// ---------------------------------------------------------------------------------------------
// Time to first token

/** Time to the first delta and to the end of a stream, in ms. */
const timeStream = (stream: Stream.Stream<ChatStreamPart, unknown>) =>
  Effect.gen(function* () {
    const started = performance.now()
    let first: number | undefined
    yield* Stream.runForEach(stream, (part) => Effect.sync(() => void (part._tag === "delta" && first === undefined && (first = performance.now() - started))))
    return { firstDelta: first ?? Number.NaN, whole: performance.now() - started }
  })

const round = (ms: number) => Math.round(ms)

describe("time to first token", () => {
  it.live("scripted Bedrock (first delta at 300 ms, then one every 40 ms): streamed vs whole", () =>
    Effect.gen(function* () {
      const pieces = Array.from({ length: 20 }, (_, i) => `word${i} `)
      /** The script's timing: none for the warm-up, then the measured one. */
      const timing = { first: 0, gap: 0 }
      const scriptedMs = () => timing.first + timing.gap * (pieces.length - 1)
      bedrock.on(ConverseStreamCommand).callsFake(() =>
        answering([
          { event: messageStart, after: timing.first },
          { event: delta(pieces[0]!) },
          ...pieces.slice(1).map((text) => ({ event: delta(text), after: timing.gap })),
          { event: stop() },
          { event: metadata() }
        ])()
      )
      bedrock.on(ConverseCommand).callsFake(
        () =>
          new Promise((resolve) =>
            setTimeout(
              () =>
                resolve({
                  output: { message: { role: "assistant", content: [{ text: pieces.join("") }] } },
                  stopReason: "end_turn",
                  usage: { inputTokens: 500, outputTokens: 40, totalTokens: 540 },
                  metrics: { latencyMs: scriptedMs() }
                }),
              scriptedMs()
            )
          )
      )
      const llm = yield* makeLLM()
      const measure = (i: number) =>
        Effect.gen(function* () {
          const streamed = yield* timeStream(llm.chatStream({ document, history: [], question: `stream ${i}` }))
          const started = performance.now()
          const whole = yield* llm.chat({ document, history: [], question: `whole ${i}` })
          expect(whole.answer).toBe(pieces.join("").trim())
          return { ...streamed, chat: performance.now() - started }
        })
      // warm up (first-use costs of the modules and the code paths), then the median of 3 runs
      yield* measure(-1)
      Object.assign(timing, { first: 300, gap: 40 })
      const runs = [yield* measure(0), yield* measure(1), yield* measure(2)]
      const median = (xs: ReadonlyArray<number>) => [...xs].sort((x, y) => x - y)[1]!
      const first = median(runs.map((r) => r.firstDelta))
      const end = median(runs.map((r) => r.whole))
      const chat = median(runs.map((r) => r.chat))
      console.log(
        `time to first token, scripted Bedrock (${pieces.length} deltas, first at 300 ms, then every 40 ms; scripted total ${scriptedMs()} ms; median of 3): ` +
          `chatStream first delta ${round(first)} ms, end ${round(end)} ms; chat whole answer ${round(chat)} ms`
      )
      expect(first).toBeGreaterThanOrEqual(290)
      expect(first).toBeLessThan(chat / 2)
      expect(end).toBeGreaterThanOrEqual(scriptedMs() - 10)
    }), 30_000)

  it.live("offline provider: its answer streams once whole, so the first delta comes when the whole answer does", () =>
    Effect.gen(function* () {
      const offline = makeOfflineLLM()
      const text = fs.readFileSync(path.join(FIXTURES_DIR, "lab-report-cbc-cmp.txt"))
      const { document: read } = yield* offline.interpret({ bytes: new Uint8Array(text), contentType: "text/plain" })
      const question = "What does my hemoglobin result mean?"
      // warm up (first-use costs), then the median of 25 runs of each
      const median = (xs: ReadonlyArray<number>) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
      yield* Stream.runDrain(offline.chatStream({ document: read, history: [], question }))
      yield* offline.chat({ document: read, history: [], question })
      const runs: Array<{ firstDelta: number; whole: number; chat: number }> = []
      for (let i = 0; i < 25; i++) {
        const streamed = yield* timeStream(offline.chatStream({ document: read, history: [], question }))
        const started = performance.now()
        yield* offline.chat({ document: read, history: [], question })
        runs.push({ ...streamed, chat: performance.now() - started })
      }
      const first = median(runs.map((r) => r.firstDelta))
      const end = median(runs.map((r) => r.whole))
      const chat = median(runs.map((r) => r.chat))
      console.log(
        `time to first token, offline provider (median of ${runs.length}): chatStream first delta ${first.toFixed(2)} ms, ` +
          `end ${end.toFixed(2)} ms; chat whole answer ${chat.toFixed(2)} ms`
      )
      expect(runs.every((r) => r.firstDelta <= r.whole)).toBe(true)
    }))
})
