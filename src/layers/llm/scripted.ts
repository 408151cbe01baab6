/**
 * The test LLM: each operation answers from its own queue of scripted outcomes, in order, and
 * counts its calls. `throttle` fails `times` calls in a row the way a throttled live provider
 * surfaces to callers once its own retries are spent: LLMUnavailable with a Retry-After. Note that
 * LLMUnavailable's recovery is "fallback", so `withRetry` does not retry it; a caller that wants
 * another attempt (processJob re-queueing a job, a test of a retry policy) retries on the tag.
 * A call with nothing left in its queue is a defect, so a test that calls more often than it
 * scripted fails loudly.
 */
import { Context, type Duration, Effect, Layer, Ref, Stream } from "effect"
import { chunksOf } from "./answerStream.js"
import {
  type ChatAnswer,
  type ChatInput,
  type ChatStreamPart,
  DocumentUnreadable,
  type Interpretation,
  InterpretedDocument,
  LabResult,
  LLM,
  LLMInvalidOutput,
  LLMUnavailable,
  ReferenceRange,
  reportUsage,
  TokenUsage
} from "../../services/llm.js"

export type ScriptedFailure =
  | { readonly _tag: "throttle"; readonly times: number; readonly retryAfterSeconds?: number }
  | { readonly _tag: "invalid"; readonly message?: string }

export type InterpretStep =
  | { readonly _tag: "answer"; readonly document: InterpretedDocument; readonly usage?: TokenUsage }
  | { readonly _tag: "unreadable"; readonly reason: string; readonly message?: string }
  | ScriptedFailure

/**
 * How a scripted answer streams (`chatStream`): in `chunks` (by default the answer cut in
 * word-sized pieces), each after `delay` (none by default; on the TestClock in tests, real time
 * otherwise), failing with `failAfter` (LLMUnavailable) once that many chunks were sent.
 * `chat` ignores it and answers at once.
 */
export interface ScriptedStreaming {
  readonly chunks?: ReadonlyArray<string>
  readonly delay?: Duration.Input
  readonly failAfter?: number
}

export type ChatStep =
  | { readonly _tag: "answer"; readonly answer: string; readonly usage?: TokenUsage; readonly streaming?: ScriptedStreaming }
  | ScriptedFailure

export interface LLMScript {
  readonly interpret?: ReadonlyArray<InterpretStep>
  readonly chat?: ReadonlyArray<ChatStep>
}

export interface ScriptCounts {
  readonly interpret: number
  readonly chat: number
}

/** What the streamed answers did: chunks sent, and streams stopped by their consumer before the end. */
export interface StreamCounts {
  readonly chunks: number
  readonly interrupted: number
}

export interface ScriptProbe {
  /** Chunks sent by `chatStream` so far, and streams interrupted before their end. */
  readonly streamed: Effect.Effect<StreamCounts>
  /** Calls made so far, failed ones included. */
  readonly calls: Effect.Effect<ScriptCounts>
  /** Scripted outcomes not consumed yet (a throttle of n counts n). */
  readonly remaining: Effect.Effect<ScriptCounts>
}

/** Lets a test that built its app from `LLMScripted` ask how often the LLM was called. */
export class LLMScriptProbe extends Context.Service<LLMScriptProbe, ScriptProbe>()("serenya/LLMScriptProbe") {}

export const SCRIPTED_MODEL_ID = "scripted"

type Throttle = Extract<ScriptedFailure, { readonly _tag: "throttle" }>

const isThrottle = (step: { readonly _tag: string }): step is Throttle => step._tag === "throttle"

/** Takes the next outcome; a throttle of n stays at the head, as n - 1, until it is spent. */
const pop = <S extends { readonly _tag: string }>(steps: ReadonlyArray<S>): readonly [S | undefined, ReadonlyArray<S>] => {
  const queue = steps.filter((step) => !isThrottle(step) || step.times > 0)
  const [head, ...rest] = queue
  if (head !== undefined && isThrottle(head) && head.times > 1) return [head, [{ ...head, times: head.times - 1 }, ...rest]]
  return [head, rest]
}

const outcomes = (steps: ReadonlyArray<{ readonly _tag: string }>) =>
  steps.reduce((n, step) => n + (isThrottle(step) ? Math.max(0, step.times) : 1), 0)

const estimate = (chars: number) => Math.ceil(chars / 4)

const throttled = (retryAfterSeconds: number) =>
  new LLMUnavailable({ message: "The language model is throttling requests (scripted)", retryAfterSeconds })

const invalid = (message: string | undefined) =>
  new LLMInvalidOutput({ message: message ?? "The model's output did not decode (scripted)" })

const interpretOutcome = (
  step: InterpretStep,
  bytes: Uint8Array
): Effect.Effect<Interpretation, LLMInvalidOutput | LLMUnavailable | DocumentUnreadable> => {
  switch (step._tag) {
    case "answer":
      return Effect.succeed({
        document: step.document,
        usage:
          step.usage ??
          new TokenUsage({ inputTokens: estimate(bytes.length), outputTokens: estimate(JSON.stringify(step.document).length) }),
        provider: "test",
        modelId: SCRIPTED_MODEL_ID
      })
    case "throttle":
      return Effect.fail(throttled(step.retryAfterSeconds ?? 1))
    case "invalid":
      return Effect.fail(invalid(step.message))
    case "unreadable":
      return Effect.fail(
        new DocumentUnreadable({ message: step.message ?? `Unreadable (scripted): ${step.reason}`, reason: step.reason })
      )
  }
}

const chatOutcome = (step: ChatStep, question: string): Effect.Effect<ChatAnswer, LLMInvalidOutput | LLMUnavailable> => {
  switch (step._tag) {
    case "answer":
      return Effect.succeed({
        answer: step.answer,
        usage: step.usage ?? new TokenUsage({ inputTokens: estimate(question.length), outputTokens: estimate(step.answer.length) }),
        provider: "test",
        modelId: SCRIPTED_MODEL_ID
      })
    case "throttle":
      return Effect.fail(throttled(step.retryAfterSeconds ?? 1))
    case "invalid":
      return Effect.fail(invalid(step.message))
  }
}

export const makeScriptedLLM = (script: LLMScript): Effect.Effect<{ readonly llm: (typeof LLM)["Service"]; readonly probe: ScriptProbe }> =>
  Effect.gen(function* () {
    const interpretQueue = yield* Ref.make<ReadonlyArray<InterpretStep>>(script.interpret ?? [])
    const chatQueue = yield* Ref.make<ReadonlyArray<ChatStep>>(script.chat ?? [])
    const counts = yield* Ref.make<ScriptCounts>({ interpret: 0, chat: 0 })
    const streamed = yield* Ref.make<StreamCounts>({ chunks: 0, interrupted: 0 })

    const next = <S extends { readonly _tag: string }>(queue: Ref.Ref<ReadonlyArray<S>>, operation: keyof ScriptCounts) =>
      Ref.update(counts, (c) => ({ ...c, [operation]: c[operation] + 1 })).pipe(
        Effect.andThen(Ref.modify(queue, pop)),
        Effect.flatMap((step) =>
          step === undefined ? Effect.die(new Error(`Scripted LLM: no outcome left for ${operation}`)) : Effect.succeed(step)
        )
      )

    // One scripted answer as a model streams it; a stream stopped before its end reports what it
    // had produced as an estimate, as the live provider does.
    const streamAnswer = (step: ChatStep, input: ChatInput): Stream.Stream<ChatStreamPart, LLMInvalidOutput | LLMUnavailable> => {
      if (step._tag !== "answer") return Stream.fromEffect(chatOutcome(step, input.question)).pipe(Stream.drain)
      const streaming = step.streaming ?? {}
      const chunks = streaming.chunks ?? chunksOf(step.answer)
      const whole = chatOutcome({ ...step, answer: chunks.join("").trim() }, input.question)
      return Stream.unwrap(
        Effect.gen(function* () {
          let sent = ""
          let ended = false
          const deltas = Stream.fromIterable(chunks.map((text, index) => ({ text, index }))).pipe(
            Stream.mapEffect(({ index, text }) =>
              Effect.gen(function* () {
                if (streaming.delay !== undefined) yield* Effect.sleep(streaming.delay)
                if (streaming.failAfter !== undefined && index >= streaming.failAfter) {
                  ended = true
                  return yield* throttled(1)
                }
                sent += text
                yield* Ref.update(streamed, (c) => ({ ...c, chunks: c.chunks + 1 }))
                return { _tag: "delta", text } satisfies ChatStreamPart as ChatStreamPart
              })
            )
          )
          const end = Stream.fromEffect(
            whole.pipe(
              Effect.tap((answer) =>
                reportUsage(input.onUsage, { usage: answer.usage, provider: answer.provider, modelId: answer.modelId, elapsedMs: 0 })
              ),
              Effect.map((answer): ChatStreamPart => {
                ended = true
                return { _tag: "end", answer }
              })
            )
          )
          return Stream.concat(deltas, end).pipe(
            Stream.onExit(() =>
              ended
                ? Effect.void
                : Effect.andThen(
                    Ref.update(streamed, (c) => ({ ...c, interrupted: c.interrupted + 1 })),
                    reportUsage(input.onUsage, {
                      usage: new TokenUsage({ inputTokens: estimate(input.question.length), outputTokens: estimate(sent.length) }),
                      provider: "test",
                      modelId: SCRIPTED_MODEL_ID,
                      elapsedMs: 0
                    })
                  )
            )
          )
        })
      )
    }

    const llm: (typeof LLM)["Service"] = {
      // an answer is one call, reported like a model's (failures here consumed nothing)
      interpret: (input) =>
        Effect.flatMap(next(interpretQueue, "interpret"), (step) => interpretOutcome(step, input.bytes)).pipe(
          Effect.tap((result) => reportUsage(input.onUsage, { usage: result.usage, provider: result.provider, modelId: result.modelId, elapsedMs: 0 }))
        ),
      chat: (input) =>
        Effect.flatMap(next(chatQueue, "chat"), (step) => chatOutcome(step, input.question)).pipe(
          Effect.tap((result) => reportUsage(input.onUsage, { usage: result.usage, provider: result.provider, modelId: result.modelId, elapsedMs: 0 }))
        ),
      chatStream: (input) => Stream.unwrap(Effect.map(next(chatQueue, "chat"), (step) => streamAnswer(step, input))),
      forgetUser: () => Effect.void
    }

    const probe: ScriptProbe = {
      streamed: Ref.get(streamed),
      calls: Ref.get(counts),
      remaining: Effect.zipWith(Ref.get(interpretQueue), Ref.get(chatQueue), (i, c) => ({
        interpret: outcomes(i),
        chat: outcomes(c)
      }))
    }
    return { llm, probe }
  })

/** The scripted LLM as a layer, with its probe. */
export const LLMScripted = (script: LLMScript): Layer.Layer<LLM | LLMScriptProbe> =>
  Layer.effectContext(
    Effect.map(makeScriptedLLM(script), ({ llm, probe }) => Context.make(LLM, llm).pipe(Context.add(LLMScriptProbe, probe)))
  )

/** A small valid document for scripts: one low hemoglobin. */
export const scriptedDocument = (overrides: Partial<ConstructorParameters<typeof InterpretedDocument>[0]> = {}): InterpretedDocument =>
  InterpretedDocument.make({
    documentType: "lab_results",
    title: "Complete Blood Count",
    results: [
      new LabResult({
        name: "Hemoglobin",
        value: 11.2,
        unit: "g/dL",
        referenceRange: new ReferenceRange({ low: 12, high: 16, text: "12.0 - 16.0" }),
        flag: "low"
      })
    ],
    vitals: [],
    summary: "Hemoglobin is 11.2 g/dL, below the reference range 12.0–16.0. Please talk to your clinician about the flagged results.",
    ...overrides
  })
