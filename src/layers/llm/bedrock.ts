/**
 * The live LLM: Amazon Bedrock's Converse API. Documents go as document/image/text content
 * blocks and a tool call (JSON schema from InterpretedDocument) carries the structure back, which is
 * decoded like any untrusted input: one repair round, then LLMInvalidOutput.
 *
 * The request is shaped by the model's entry in the model table (src/services/models.ts): the
 * strongest tool choice it accepts (forced, any, or auto with the prompt asking for the tool — models
 * that always think take nothing else), a temperature only where one is accepted, an output budget
 * sized for the document (thinking included) and raised once when the model stops at it — an answer
 * cut at `max_tokens` is never used — and PDF citations, which make Converse read a scanned PDF's
 * pages as images instead of an empty text layer. Documents are checked against Converse's limits
 * before any call, so a ValidationException that still comes back is ours (model id, profile,
 * parameters) and is classified technical (LLMRequestRejected), never "your document is unreadable".
 * Every call's tokens are reported (`onUsage`) as soon as it returns, so a repaired, failed or
 * timed-out operation is paid for exactly as Bedrock bills it.
 * Throttling, service-unavailable and model-not-ready are retried on the `llm` schedule within a
 * timeout; the `llm` circuit breaker opens after repeated failures, and while it is open an
 * identical earlier request of the same user (same content hash) is answered from the cache — 500
 * answers at most, each for 15 minutes, dropped at once when the user is erased — else LLMUnavailable.
 * The layer is ./bedrockOnDemand.ts: this module, the SDK and the client load on the first call.
 *
 * A chat answer streams through ConverseStream (bedrockStream.ts): the same request, the same
 * breaker and fallback (a kept answer streams as a whole answer does), retried only before any text
 * went out.
 *
 * This module makes the calls (retries, timeouts, the breaker, the repair rounds); the request is
 * bedrockRequest.ts, the answer bedrockAnswer.ts, the document bedrockDocument.ts, the failures
 * bedrockErrors.ts, the fallback's answers answerCache.ts and the streamed answer bedrockStream.ts.
 */
import { answerAsStream } from "./answerStream.js"
import type * as BedrockRuntime from "@aws-sdk/client-bedrock-runtime"
import type { ConverseCommandInput, ConverseCommandOutput, Message } from "@aws-sdk/client-bedrock-runtime"
import { Clock, Duration, Effect, Option, Queue, Stream } from "effect"
import { AwsSdk, type ClientSource, clientFrom, tryAws } from "../aws/sdk.js"
import {
  type ChatAnswer,
  type ChatError,
  type ChatInput,
  type ChatStreamPart,
  type DocumentContentType,
  type DocumentType,
  type Interpretation,
  InterpretedDocument,
  type LLM,
  LLMInvalidOutput,
  LLMOutputTruncated,
  LLMUnavailable,
  reportUsage,
  UnreadLine,
  type UsageSink
} from "../../services/llm.js"
import { findModel, type ModelCard } from "../../services/models.js"
import { type CircuitBreaker, type RetrySchedule, Timeouts, withRetry, withTimeout } from "../../services/resilience.js"
import { finishDocument } from "./reader/finish.js"
import { observeGenAi } from "../../services/metrics.js"
import { currentSpanOption } from "../../services/telemetry.js"
import { AnswerCache, DEFAULT_ANSWER_CACHE_TTL, hashOf } from "./answerCache.js"
import { addUsage, coverageRepair, decodeDocument, repairTurns, toolInput, usageOf } from "./bedrockAnswer.js"
import { prepareDocument } from "./bedrockDocument.js"
import { deidentifyChat, deidentifyDocument, type DeidentifierService, reidentifyDocument } from "./bedrockDeidentify.js"
import { type DeidentifierUnavailable, reidentify, StreamReidentifier } from "../../services/deidentifier.js"
import { BedrockCallFailed, chatFailure, classifyBedrockError, stopped, unavailable } from "./bedrockErrors.js"
import {
  BUDGET_GROWTH,
  CHAT_BUDGET,
  type ChatQuestion,
  cautiousModel,
  chatDocumentJson,
  chatRequest,
  interpretationBudget,
  interpretationRequest,
  outputBudget,
  TOOL_NAME
} from "./bedrockRequest.js"
import { DEFAULT_STREAM_TIMEOUTS, type StreamTimeouts, streamAnswer } from "./bedrockStream.js"

export type BedrockSend = Pick<BedrockRuntime.BedrockRuntimeClient, "send">

export interface BedrockOptions {
  readonly modelId: string
  /** The model's entry; by default the table's for `modelId` (an id the table does not know gets cautious defaults). */
  readonly model?: ModelCard
  readonly breaker: CircuitBreaker
  /** Finds the identifiers scrubbed from everything the model is sent (src/services/deidentifier.ts). */
  readonly deidentifier: DeidentifierService
  readonly cacheSize?: number
  /** How long a kept answer may serve as the fallback (default 15 minutes). */
  readonly cacheTtl?: Duration.Input
  /** The `llm` schedule unless a test needs a faster one. */
  readonly retry?: RetrySchedule
  /** A streamed answer's waits (default `Timeouts.llmStreamFirstEvent` and `Timeouts.llmStreamIdle`). */
  readonly streamTimeouts?: Partial<StreamTimeouts>
}

export const makeBedrockLLM = (client: ClientSource<BedrockSend>, options: BedrockOptions): (typeof LLM)["Service"] => {
  const { modelId, breaker } = options
  const model = options.model ?? findModel(modelId) ?? cautiousModel(modelId)
  /** The client and the SDK's command classes (the module the client came from). */
  const bedrock = Effect.zip(clientFrom(client), AwsSdk.bedrockRuntime)
  const ttlMillis = Duration.toMillis(Duration.fromInputUnsafe(options.cacheTtl ?? DEFAULT_ANSWER_CACHE_TTL))
  const interpretations = new AnswerCache<Interpretation>(options.cacheSize ?? 500, ttlMillis)
  const answers = new AnswerCache<ChatAnswer>(options.cacheSize ?? 500, ttlMillis)

  const genAiSpan = (operation: "chat" | "generate_content", method: "Converse" | "ConverseStream" = "Converse") =>
    Effect.withSpan(`${operation} ${modelId}`, {
      kind: "client",
      attributes: {
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": modelId,
        "rpc.system": "aws-api",
        "rpc.service": "BedrockRuntime",
        "rpc.method": method
      }
    }, { captureStackTrace: false })

  /**
   * One Converse round trip with timeout and retries. Its tokens go to `onUsage` as soon as it
   * returns; a stop the answer cannot be used after fails here (`max_tokens` is left to the caller).
   */
  const converse = (input: ConverseCommandInput, timeout: Duration.Input, onUsage: UsageSink | undefined) =>
    Effect.flatMap(bedrock, ([client, sdk]) =>
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const output = yield* tryAws((signal) => client.send(new sdk.ConverseCommand(input), { abortSignal: signal }), classifyBedrockError)
        const finished = yield* Clock.currentTimeMillis
        yield* reportUsage(onUsage, { usage: usageOf(output), provider: "aws.bedrock", modelId, elapsedMs: finished - started })
        return output
      }).pipe(
        withTimeout("bedrock.converse", timeout),
        Effect.catchTag("OperationTimedOut", () =>
          Effect.fail(new BedrockCallFailed({ message: "Bedrock Converse timed out", transient: true }))
        ),
        withRetry(options.retry ?? "llm")
      )
    ).pipe(
      // Usage totals go on the operation's span (observeGenAi); the finish reason of the last round here.
      Effect.tap((output) => Effect.annotateCurrentSpan("gen_ai.response.finish_reasons", [output.stopReason ?? "unknown"])),
      Effect.flatMap((output) => stopped(output))
    )

  /**
   * A call whose answer must be whole: after a `max_tokens` stop it is made again once with a larger
   * budget (within the model's maximum); stopping there again fails with LLMOutputTruncated. Both
   * calls are paid for, and reported as such.
   */
  const converseWhole = (
    request: (maxTokens: number) => ConverseCommandInput,
    budget: number,
    timeout: Duration.Input,
    onUsage: UsageSink | undefined,
    rounds: Array<ConverseCommandOutput>
  ) =>
    Effect.gen(function* () {
      const first = yield* converse(request(budget), timeout, onUsage)
      rounds.push(first)
      if (first.stopReason !== "max_tokens") return { output: first, maxTokens: budget }
      yield* Effect.annotateCurrentSpan("serenya.llm.max_tokens_stop", budget)
      const truncated = (maxTokens: number) =>
        new LLMOutputTruncated({ message: `The model's answer did not fit in ${maxTokens} output tokens`, maxTokens })
      const larger = Math.min(model.capabilities.maxOutputTokens, budget * BUDGET_GROWTH)
      if (larger <= budget) return yield* truncated(budget)
      const second = yield* converse(request(larger), timeout, onUsage)
      rounds.push(second)
      if (second.stopReason === "max_tokens") return yield* truncated(larger)
      return { output: second, maxTokens: larger }
    })

  const interpretOnce = (input: {
    readonly bytes: Uint8Array
    readonly contentType: DocumentContentType
    readonly documentTypeHint?: DocumentType
    readonly allowImageToModel?: boolean
    readonly onUsage?: UsageSink
  }) =>
    Effect.gen(function* () {
      const prepared = yield* prepareDocument(input.bytes, input.contentType, model)
      // the model gets the document's text with its identifiers replaced, not the file (./bedrockDeidentify.ts)
      const sent = yield* deidentifyDocument(prepared, options.deidentifier, input.allowImageToModel ?? true)
      const ask: Message = {
        role: "user",
        content: [
          sent.block,
          {
            text: input.documentTypeHint
              ? `The uploader says this is a ${input.documentTypeHint.replace("_", " ")} document. Call the ${TOOL_NAME} tool.`
              : `Interpret this document. Call the ${TOOL_NAME} tool.`
          }
        ]
      }
      const lines = Option.match(sent.text, { onNone: () => 60, onSome: (text) => text.split("\n").filter((l) => l.trim() !== "").length })
      let budget = outputBudget(model, interpretationBudget(lines))
      const rounds: Array<ConverseCommandOutput> = []
      const call = (messages: Array<Message>) =>
        Effect.map(
          converseWhole((maxTokens) => interpretationRequest(model, messages, maxTokens), budget, Timeouts.llmCall, input.onUsage, rounds),
          ({ output, maxTokens }) => {
            // a budget that had to grow stays grown for the repair rounds
            budget = maxTokens
            return output
          }
        )
      const decoded = (output: ConverseCommandOutput) =>
        Effect.result(
          Option.match(toolInput(output), {
            onNone: () => Effect.fail("the model did not call the tool"),
            onSome: (raw) => Effect.mapError(decodeDocument(raw), (e) => e.message)
          })
        )

      let messages: Array<Message> = [ask]
      let output = yield* call(messages)
      let answer = yield* decoded(output)
      if (answer._tag === "Failure") {
        // One repair round: show the model what was wrong with its tool call.
        messages = [...messages, ...repairTurns(output, `The input did not match the schema: ${answer.failure.slice(0, 2000)}. Call the tool again with corrected input.`)]
        output = yield* call(messages)
        answer = yield* decoded(output)
        if (answer._tag === "Failure") {
          return yield* new LLMInvalidOutput({
            message: Option.isNone(toolInput(output))
              ? "The model did not return an interpretation"
              : "The model's interpretation was invalid twice"
          })
        }
      }
      let document = answer.success

      // The coverage check, where the document has text to check against: lines the answer left
      // out are quoted back once; what is still missing is kept as unread; invented rows are refused.
      if (Option.isSome(sent.text)) {
        const text = sent.text.value
        const { checkCoverage } = yield* Effect.promise(() => import("./reader/coverage.js"))
        const coverageOptions = prepared.ocr === undefined ? {} : { ocr: true, reference: prepared.ocr }
        let coverage = checkCoverage(text, document, coverageOptions)
        if (coverage.missing.length > 0 || coverage.invented.length > 0) {
          yield* Effect.annotateCurrentSpan({
            "serenya.coverage.missing_first": coverage.missing.length,
            "serenya.coverage.invented_first": coverage.invented.length
          })
          messages = [...messages, ...repairTurns(output, coverageRepair(coverage))]
          const repairedOutput = yield* call(messages)
          const repaired = yield* decoded(repairedOutput)
          // a repair that does not decode leaves the first answer, checked, in place
          if (repaired._tag === "Success") {
            document = repaired.success
            coverage = checkCoverage(text, document, coverageOptions)
          }
        }
        yield* Effect.annotateCurrentSpan({
          "serenya.coverage.missing": coverage.missing.length,
          "serenya.coverage.invented": coverage.invented.length
        })
        document = new InterpretedDocument({
          ...document,
          results: coverage.kept,
          unreadLines: [...document.unreadLines, ...coverage.missing.map((line) => new UnreadLine(line))].sort(
            (a, b) => a.page - b.page || a.line - b.line
          )
        })
      }
      // the lexicon (LOINC, UCUM, critical limits) is loaded on first use: the API functions never need it
      const { enrichDocument } = yield* Effect.promise(() => import("./reader/enrich.js"))
      const usage = rounds.map(usageOf).reduce(addUsage)
      return { document: finishDocument(enrichDocument(reidentifyDocument(document, sent.map))), usage, provider: "aws.bedrock", modelId } as Interpretation
    })

  /** A call through the breaker; its answer is kept for the fallback, which serves it while the breaker is open. */
  const throughBreaker = <A, E>(
    cache: AnswerCache<A>,
    key: string,
    owner: string,
    call: Effect.Effect<A, E>
  ) =>
    breaker.protectWithFallback(
      Effect.tap(call, (result) => Effect.clockWith((clock) => Effect.sync(() => cache.set(key, result, owner, clock.currentTimeMillisUnsafe())))),
      (open) =>
        Effect.clockWith((clock) => {
          const cached = cache.get(key, clock.currentTimeMillisUnsafe())
          return cached ? Effect.succeed(cached) : Effect.fail(unavailable(open))
        })
    )

  const interpret: (typeof LLM)["Service"]["interpret"] = (input) => {
    const owner = input.userId ?? ""
    // the owner is part of the key: one user's answer never serves another
    const key = hashOf("interpret", modelId, owner, input.contentType, input.documentTypeHint ?? "", input.bytes)
    return throughBreaker(interpretations, key, owner, interpretOnce(input)).pipe(
        Effect.catchTags({
          CircuitOpen: (open) => Effect.fail(unavailable(open)),
          BedrockCallFailed: (failed) => Effect.fail(unavailable(failed)),
          DeidentifierUnavailable: deidentifierUnavailable
        }),
        observeGenAi({ operation: "generate_content", provider: "aws.bedrock", model: modelId }),
        genAiSpan("generate_content")
      )
  }

  const chatOnce = (input: ChatQuestion & { readonly onUsage?: UsageSink }, documentJson: string) =>
    Effect.gen(function* () {
      const rounds: Array<ConverseCommandOutput> = []
      const { output } = yield* converseWhole(
        (maxTokens) => chatRequest(model, input, maxTokens, documentJson),
        outputBudget(model, CHAT_BUDGET),
        Timeouts.llmChatCall,
        input.onUsage,
        rounds
      )
      const answer = (output.output?.message?.content ?? [])
        .map((block) => block.text ?? "")
        .join("")
        .trim()
      if (answer === "") return yield* Effect.fail(new LLMInvalidOutput({ message: "The model returned an empty answer" }))
      return { answer, usage: rounds.map(usageOf).reduce(addUsage), provider: "aws.bedrock", modelId } as ChatAnswer
    })

  /** A chat answer's key in the fallback cache: streamed and whole answers to the same question share it. */
  const chatKey = (input: ChatInput, documentJson: string) =>
    hashOf("chat", modelId, input.userId ?? "", documentJson, JSON.stringify(input.history), input.question)

  /**
   * The chat's question, history and document scrubbed (./bedrockDeidentify.ts). The fallback cache
   * keeps the model's answer as it came (with placeholders) under the request as asked, and every
   * answer is re-identified with its own request's map, which is the same for the same request.
   */
  const scrubbedChat = (input: ChatInput) =>
    Effect.catchTag(deidentifyChat(input, options.deidentifier), "DeidentifierUnavailable", deidentifierUnavailable)

  const chat: (typeof LLM)["Service"]["chat"] = (input) =>
    Effect.flatMap(scrubbedChat(input), ({ input: scrubbed, map }) =>
      throughBreaker(answers, chatKey(input, chatDocumentJson(input.document)), input.userId ?? "", chatOnce(scrubbed, chatDocumentJson(scrubbed.document))).pipe(
        Effect.mapError(chatFailure),
        Effect.map((answer): ChatAnswer => ({ ...answer, answer: reidentify(answer.answer, map) }))
      )
    ).pipe(
      observeGenAi({ operation: "chat", provider: "aws.bedrock", model: modelId }),
      genAiSpan("chat")
    )

  const streamOptions = {
    bedrock,
    modelId,
    retry: options.retry ?? "llm",
    timeouts: { ...DEFAULT_STREAM_TIMEOUTS, ...options.streamTimeouts }
  } as const

  /**
   * The answer through ConverseStream, its deltas sent on as they come. The call runs in a fiber of
   * the stream's own: a consumer that stops interrupts it, which aborts the request (bedrockStream.ts).
   */
  const chatStream: (typeof LLM)["Service"]["chatStream"] = (input) =>
    Stream.callback<ChatStreamPart, ChatError>((queue) =>
      Effect.gen(function* () {
        const { input: scrubbed, map } = yield* scrubbedChat(input)
        const request = chatRequest(model, scrubbed, outputBudget(model, CHAT_BUDGET), chatDocumentJson(scrubbed.document))
        // a placeholder cut between two deltas is held back until it is whole
        const restore = new StreamReidentifier(map)
        let live = false
        const answer = yield* Effect.flatMap(currentSpanOption, (span) => {
          const streamed = Effect.suspend(() => {
            live = true
            return streamAnswer(streamOptions, request, {
              onUsage: input.onUsage,
              emit: (text) => {
                const restored = restore.push(text)
                return restored === "" ? Effect.void : Queue.offer(queue, { _tag: "delta", text: restored })
              },
              // the chat span's, not the breaker's inside it
              annotate: (attributes) => Effect.sync(() => Option.map(span, (s) => Object.entries(attributes).forEach(([k, v]) => s.attribute(k, v))))
            })
          })
          return throughBreaker(answers, chatKey(input, chatDocumentJson(input.document)), input.userId ?? "", streamed)
        }).pipe(
          Effect.map((answer): ChatAnswer => ({ ...answer, answer: reidentify(answer.answer, map) })),
          Effect.mapError(chatFailure),
          observeGenAi({ operation: "chat", provider: "aws.bedrock", model: modelId }),
          genAiSpan("chat", "ConverseStream")
        )
        // served from the fallback (the breaker is open): the kept answer streams as a whole answer does
        const rest = restore.end()
        if (live && rest !== "") yield* Queue.offer(queue, { _tag: "delta", text: rest })
        yield* live
          ? Queue.offer(queue, { _tag: "end", answer })
          : Stream.runForEach(answerAsStream(Effect.succeed(answer)), (part) => Queue.offer(queue, part))
        yield* Queue.end(queue)
      })
    )

  /** The identifiers could not be found: nothing goes to the model unscrubbed, and the caller is told the model is unavailable. */
  function deidentifierUnavailable(error: DeidentifierUnavailable) {
    return Effect.fail(new LLMUnavailable({ message: error.message, retryAfterSeconds: error.retryAfterSeconds }))
  }

  const forgetUser = (userId: string) =>
    Effect.sync(() => {
      interpretations.forget(userId)
      answers.forget(userId)
    })

  return { interpret, chat, chatStream, forgetUser }
}
