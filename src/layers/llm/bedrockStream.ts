/**
 * A chat answer streamed from Bedrock's ConverseStream: the text deltas go on as the model writes
 * them, and the call ends with the whole answer. The calls are the same as Converse's for the
 * same question (bedrockRequest.ts `chatRequest`) and fail the same way (bedrockErrors.ts), with
 * what a stream adds:
 *
 * - bounded waits: until the first event (`Timeouts.llmStreamFirstEvent`) and between two events
 *   (`Timeouts.llmStreamIdle`); the whole answer is bounded by the caller. A wait that runs out is
 *   transient, like a Converse call's timeout;
 * - exceptions Bedrock sends in the stream (throttling, model stream error, internal error,
 *   service unavailable, validation) are classified like the same exceptions from Converse;
 * - a `max_tokens` stop is LLMOutputTruncated at once: the client has already seen the text, so
 *   there is no asking again with a larger budget;
 * - a failed call is retried only while nothing was sent on: once a delta went out, a failure is
 *   final (the client saw text that another call would not continue);
 * - each call's tokens go to `onUsage` once, when it ends: the `metadata` event's usage, or, for a
 *   call that ended without one (interrupted because the consumer went away, timed out, cut by an
 *   exception), an estimate — input from the request's characters, output from the text received.
 *   A call Bedrock refused outright (the send itself failed) consumed nothing and reports nothing.
 *
 * An interrupted call is aborted at once (the SDK request's abortSignal), so Bedrock stops
 * producing, and billing, tokens nobody will read. Nothing of the prompt or the answer goes to a
 * span or a log.
 */
import type * as BedrockRuntime from "@aws-sdk/client-bedrock-runtime"
import type { ConverseCommandOutput, ConverseStreamCommandInput, ConverseStreamOutput } from "@aws-sdk/client-bedrock-runtime"
import { Clock, Duration, Effect } from "effect"
import { tryAws } from "../aws/sdk.js"
import {
  type ChatAnswer,
  type DocumentTooComplex,
  LLMInvalidOutput,
  LLMOutputTruncated,
  type LLMRequestRejected,
  reportUsage,
  TokenUsage,
  type UsageSink
} from "../../services/llm.js"
import { type RetryPolicyName, type RetrySchedule, Timeouts, withRetry } from "../../services/resilience.js"
import { addUsage } from "./bedrockAnswer.js"
import { BedrockCallFailed, classifyBedrockError, stopped, streamException } from "./bedrockErrors.js"

/** What the stream's waits are bounded by (tests shorten them). */
export interface StreamTimeouts {
  /** From sending the request to its first event. */
  readonly firstEvent: Duration.Input
  /** Between two events. */
  readonly idle: Duration.Input
}

export const DEFAULT_STREAM_TIMEOUTS: StreamTimeouts = {
  firstEvent: Timeouts.llmStreamFirstEvent,
  idle: Timeouts.llmStreamIdle
}

export interface ConverseStreamOptions {
  /** The client and the SDK's command classes (the module the client came from). */
  readonly bedrock: Effect.Effect<readonly [Pick<BedrockRuntime.BedrockRuntimeClient, "send">, typeof BedrockRuntime]>
  readonly modelId: string
  readonly retry: RetryPolicyName | RetrySchedule
  readonly timeouts: StreamTimeouts
}

/** Where a streamed answer goes as it comes. */
export interface StreamHooks {
  /** Told of every call's tokens as it ends (see the module's comment). */
  readonly onUsage?: UsageSink | undefined
  /** Each piece of text, in order, as it comes. */
  readonly emit: (text: string) => Effect.Effect<unknown>
  /**
   * Attributes for the operation's span (the finish reason); by default the current span's. The
   * caller's span is the one to annotate: the calls run inside the breaker's span.
   */
  readonly annotate?: (attributes: Record<string, unknown>) => Effect.Effect<void>
}

export type StreamedAnswerError = BedrockCallFailed | LLMRequestRejected | DocumentTooComplex | LLMOutputTruncated | LLMInvalidOutput

/**
 * The offline provider's rule of thumb (offline.ts `estimateTokens`: characters / 4), not imported
 * from there: that module loads the document readers.
 */
const estimateTokens = (chars: number): number => Math.ceil(chars / 4)

/** The characters of a request's text: its system prompt and its messages. */
export const requestChars = (request: ConverseStreamCommandInput): number =>
  [...(request.system ?? []), ...(request.messages ?? []).flatMap((message) => message.content ?? [])].reduce(
    (sum, block) => sum + ("text" in block && typeof block.text === "string" ? block.text.length : 0),
    0
  )

/**
 * One question answered through ConverseStream: each piece of text goes to `emit` as it comes
 * (never empty, leading whitespace left out), and the whole answer (trimmed, with every call's
 * usage) is the result. Retried on `retry` while nothing was emitted.
 */
export const streamAnswer = (
  options: ConverseStreamOptions,
  request: ConverseStreamCommandInput,
  hooks: StreamHooks
): Effect.Effect<ChatAnswer, StreamedAnswerError> =>
  Effect.suspend(() => {
    const { modelId } = options
    const { onUsage, emit } = hooks
    const annotate = hooks.annotate ?? ((attributes: Record<string, unknown>) => Effect.annotateCurrentSpan(attributes))
    const maxTokens = request.inferenceConfig?.maxTokens ?? 0
    const inputEstimate = estimateTokens(requestChars(request))
    const firstEvent = Duration.fromInputUnsafe(options.timeouts.firstEvent)
    const idle = Duration.fromInputUnsafe(options.timeouts.idle)
    /** Every call's tokens, as reported. */
    const calls: Array<TokenUsage> = []
    /** Text went out: from now on a failure is final. */
    let emitted = false

    /** A wait bounded like a Converse call's: running out is transient. */
    const within = (duration: Duration.Duration, what: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.timeoutOrElse(self, {
        duration,
        orElse: () =>
          Effect.fail(
            new BedrockCallFailed({
              message: `Bedrock ConverseStream timed out after ${Duration.format(duration)} waiting for ${what}`,
              transient: true
            })
          )
      })

    const call = Effect.flatMap(options.bedrock, ([client, sdk]) =>
      Effect.suspend(() => {
        const controller = new AbortController()
        let iterator: AsyncIterator<ConverseStreamOutput> | undefined
        let ended = false
        let refused = false
        let text = ""
        let usage: TokenUsage | undefined
        let stopReason: string | undefined
        let started = 0

        const next = Effect.suspend(() => {
          const stream = iterator
          return stream === undefined
            ? Effect.die(new Error("ConverseStream read before it was opened"))
            : Effect.tryPromise({ try: () => stream.next(), catch: classifyBedrockError })
        })

        const open = Effect.gen(function* () {
          const output = yield* tryAws(
            () => client.send(new sdk.ConverseStreamCommand(request), { abortSignal: controller.signal }),
            classifyBedrockError
          ).pipe(Effect.tapError(() => Effect.sync(() => (refused = true))))
          if (output.stream === undefined) {
            return yield* new BedrockCallFailed({ message: "Bedrock ConverseStream answered without a stream", transient: true })
          }
          iterator = output.stream[Symbol.asyncIterator]()
          return yield* next
        }).pipe(within(firstEvent, "its first event"))

        const handle = (event: ConverseStreamOutput): Effect.Effect<unknown, StreamedAnswerError> => {
          const delta = event.contentBlockDelta?.delta?.text
          if (delta !== undefined) {
            // the answer's leading whitespace is never sent: a delta is never empty, nor is what went out before a word
            const piece = text.trim() === "" ? delta.trimStart() : delta
            text += delta
            if (piece === "") return Effect.void
            emitted = true
            return emit(piece)
          }
          if (event.messageStop !== undefined) {
            stopReason = event.messageStop.stopReason
            return Effect.void
          }
          if (event.metadata !== undefined) {
            const reported = event.metadata.usage
            if (reported !== undefined) {
              usage = new TokenUsage({ inputTokens: reported.inputTokens ?? 0, outputTokens: reported.outputTokens ?? 0 })
            }
            return Effect.void
          }
          const exception = streamException(event)
          // messageStart, content block start and stop, a thinking model's reasoning: nothing to send on
          return exception === undefined ? Effect.void : Effect.fail(classifyBedrockError(exception))
        }

        /** When the call ends, however: the request aborted unless it ran to its end, and its tokens reported once. */
        const finish = Effect.suspend(() => {
          if (!ended) {
            controller.abort()
            const stream = iterator
            if (stream?.return !== undefined) void stream.return().catch(() => undefined)
          }
          const spent =
            usage ?? (refused ? undefined : new TokenUsage({ inputTokens: inputEstimate, outputTokens: estimateTokens(text.length) }))
          if (spent === undefined) return Effect.void
          calls.push(spent)
          return Effect.flatMap(Clock.currentTimeMillis, (now) =>
            reportUsage(onUsage, { usage: spent, provider: "aws.bedrock", modelId, elapsedMs: now - started })
          )
        })

        return Effect.gen(function* () {
          started = yield* Clock.currentTimeMillis
          let result = yield* open
          while (result.done !== true) {
            yield* handle(result.value)
            result = yield* next.pipe(within(idle, "its next event"))
          }
          ended = true
          yield* annotate({ "gen_ai.response.finish_reasons": [stopReason ?? "unknown"] })
          if (stopReason === undefined) {
            return yield* new BedrockCallFailed({ message: "Bedrock ConverseStream ended without a stop reason", transient: true })
          }
          // a withheld answer, or an input over the context window: as from Converse
          yield* stopped({ stopReason } as ConverseCommandOutput)
          if (stopReason === "max_tokens") {
            yield* annotate({ "serenya.llm.max_tokens_stop": maxTokens })
            return yield* new LLMOutputTruncated({ message: `The model's answer did not fit in ${maxTokens} output tokens`, maxTokens })
          }
          const answer = text.trim()
          if (answer === "") return yield* new LLMInvalidOutput({ message: "The model returned an empty answer" })
          return answer
        }).pipe(Effect.onExit(() => finish))
      })
    )

    return call.pipe(
      // once text went out, another call cannot continue it: the failure is final
      Effect.mapError((error) =>
        emitted && error._tag === "BedrockCallFailed" && error.transient
          ? new BedrockCallFailed({ message: error.message, transient: false })
          : error
      ),
      withRetry(options.retry),
      Effect.map(
        (answer): ChatAnswer => ({
          answer,
          usage: calls.reduce(addUsage, new TokenUsage({ inputTokens: 0, outputTokens: 0 })),
          provider: "aws.bedrock",
          modelId
        })
      )
    )
  })
