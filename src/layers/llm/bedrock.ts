/**
 * The live LLM: Amazon Bedrock's Converse API. Documents go as document/image/text content
 * blocks and a forced tool call (JSON schema from InterpretedDocument) makes the model return the
 * structure, which is decoded like any untrusted input: one repair round, then LLMInvalidOutput.
 * Throttling, service-unavailable and model-not-ready are retried on the `llm` schedule within a
 * timeout; the `llm` circuit breaker opens after repeated failures, and while it is open an
 * identical earlier request of the same user (same content hash) is answered from the cache — 500
 * answers at most, each for 15 minutes, dropped at once when the user is erased — else LLMUnavailable.
 * The SDK loads, and the client is created, on the first Converse call, not when the layer is
 * built (src/layers/aws/sdk.ts).
 */
import type * as BedrockRuntime from "@aws-sdk/client-bedrock-runtime"
import type { ContentBlock, ConverseCommandInput, ConverseCommandOutput, Message } from "@aws-sdk/client-bedrock-runtime"
import { Duration, Effect, JSONSchema, Layer, Option, ParseResult, Schema } from "effect"
import { createHash } from "node:crypto"
import { AppConfig } from "../../config.js"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, lazyClient } from "../aws/sdk.js"
import { ErrorInfoId, transientFailureInfo } from "../../services/errors.js"
import {
  type ChatAnswer,
  type ChatTurn,
  type DocumentContentType,
  type DocumentType,
  DocumentUnreadable,
  type Interpretation,
  InterpretedDocument,
  LLM,
  LLMInvalidOutput,
  LLMUnavailable,
  TokenUsage,
  UnreadLine
} from "../../services/llm.js"
import {
  type CircuitBreaker,
  CircuitBreakers,
  type RetrySchedule,
  Timeouts,
  withRetry,
  withTimeout
} from "../../services/resilience.js"
import type { CircuitOpen } from "../../services/errors.js"
import type { Coverage } from "./reader/coverage.js"
import { decodeText } from "./plainText.js"
import { finishDocument } from "./reader/finish.js"
import { observeGenAi } from "../../services/metrics.js"

export type BedrockSend = Pick<BedrockRuntime.BedrockRuntimeClient, "send">

const TOOL_NAME = "record_interpretation"

/** One Converse call that failed; transient ones are retried on the `llm` schedule. */
export class BedrockCallFailed extends Schema.TaggedError<BedrockCallFailed>()("BedrockCallFailed", {
  message: Schema.String,
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("LLM_CALL_FAILED", "external", this.transient, 502)
  }
}

const TRANSIENT = new Set([
  "ThrottlingException",
  "ServiceUnavailableException",
  "ModelNotReadyException",
  "InternalServerException",
  "ModelTimeoutException",
  "ModelErrorException",
  "TimeoutError",
  "RequestTimeout"
])

const classify = (cause: unknown): BedrockCallFailed | DocumentUnreadable => {
  const name = awsErrorName(cause)
  const status = awsHttpStatus(cause)
  // The model refused our input (too large, unsupported document): retrying cannot help.
  if (name === "ValidationException") {
    return new DocumentUnreadable({ message: "The model could not accept this document", reason: "MODEL_REJECTED_INPUT" })
  }
  const transient = TRANSIENT.has(name) || status === undefined || status >= 500 || status === 429
  return new BedrockCallFailed({ message: `Bedrock Converse failed: ${name}`, transient })
}

// ---------------------------------------------------------------------------------------------
// Prompts and the tool schema

const INTERPRET_SYSTEM = [
  "You read one medical document (a lab report, a vitals log or a clinical report) for the patient who uploaded it.",
  `Call the ${TOOL_NAME} tool exactly once with what the document says.`,
  "Copy every lab result with its value, unit, reference range as printed (and numeric bounds when there are numbers) and flag.",
  "Use the report's own flag when it prints one (flagSource report); otherwise compare the value with the range (flagSource range); use unknown when there is no range.",
  "Mark critical values (printed as critical, panic, HH/LL or called to a clinician) critical_low or critical_high.",
  "Give each result the page and line (counted from 1 on each page) where its value is printed.",
  "Never leave a result out: a line that looks like a result but cannot be read goes into unreadLines with its page, line and text.",
  "Dates and times in ISO 8601. Never invent values that are not in the document.",
  "The title names the kind of document (for example 'Complete Blood Count'), never the patient.",
  "The summary is plain language for a lay reader, two to five sentences, not a diagnosis;",
  "whenever anything is flagged it tells the reader to talk to their clinician about the flagged results,",
  "and it never says or implies that everything is normal when a result is flagged or a line could not be read."
].join(" ")

const CHAT_SYSTEM = [
  "You help a patient understand one of their own medical documents, given below as JSON.",
  "Answer only from that document. If the document does not contain the answer, say that you do not know.",
  "Never give a diagnosis, never recommend or dose a treatment or medication; for those, suggest talking to a clinician.",
  "Quote values with their units and reference ranges. Be brief and plain."
].join(" ")

type Json = { [key: string]: unknown }

/** Bedrock tool schemas must be self-contained: replace every `$ref` with its definition. */
export const inlineRefs = (schema: Json): Json => {
  const defs = (schema.$defs ?? {}) as Record<string, unknown>
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve)
    if (typeof node !== "object" || node === null) return node
    const ref = (node as Json).$ref
    if (typeof ref === "string" && ref.startsWith("#/$defs/")) return resolve(defs[ref.slice("#/$defs/".length)])
    return Object.fromEntries(
      Object.entries(node as Json)
        .filter(([key]) => key !== "$schema" && key !== "$defs")
        .map(([key, value]) => [key, resolve(value)])
    )
  }
  return resolve(schema) as Json
}

export const interpretationToolSchema = inlineRefs(JSONSchema.make(InterpretedDocument) as unknown as Json)

/** A model's answer is decoded; after the coverage check it is finished like every provider's (critical first, no false reassurance). */
const decodeDocument = Schema.decodeUnknown(InterpretedDocument)

/** The turns that answer a tool call with what was wrong with it, asking for the call again. */
const repairTurns = (output: ConverseCommandOutput, problem: string): Array<Message> => {
  const toolUseId = output.output?.message?.content?.find((b) => b.toolUse)?.toolUse?.toolUseId
  return output.output?.message && toolUseId
    ? [
      output.output.message,
      { role: "user", content: [{ toolResult: { toolUseId, status: "error", content: [{ text: problem }] } }] }
    ]
    : [
      { role: "assistant", content: output.output?.message?.content ?? [{ text: "(no answer)" }] },
      { role: "user", content: [{ text: `${problem} Call the ${TOOL_NAME} tool.` }] }
    ]
}

/** What the coverage check found, said to the model: the lines it left out, quoted, and the values that are not in the document. */
const coverageRepair = (coverage: Coverage): string => {
  const parts: Array<string> = []
  if (coverage.missing.length > 0) {
    parts.push(
      "These lines of the document hold results or vitals readings that your interpretation left out; include every one of them " +
        "(or list a line in unreadLines if it cannot be read):\n" +
        coverage.missing.slice(0, 60).map((l) => `page ${l.page}, line ${l.line}: ${l.text}`).join("\n")
    )
  }
  if (coverage.invented.length > 0) {
    parts.push(
      "These results are not printed in the document; leave out anything that is not in it:\n" +
        coverage.invented.slice(0, 30).map((r) => `${r.name}: ${String(r.value)} ${r.unit}`.trim()).join("\n")
    )
  }
  return `${parts.join("\n\n")}\n\nCall the tool again with the complete interpretation.`
}

/** The document's text when it has one to check an answer against: plain text, or a PDF's text layer. */
const documentText = (bytes: Uint8Array, contentType: DocumentContentType): Effect.Effect<Option.Option<string>> => {
  if (contentType === "text/plain") {
    return Effect.option(decodeText(bytes))
  }
  if (contentType !== "application/pdf") return Effect.succeed(Option.none())
  // loaded on first use: the PDF reader is a worker thread of its own, and the API functions never need it
  return Effect.promise(() => import("./pdfText.js")).pipe(
    Effect.flatMap(({ extractPdfText }) => extractPdfText(bytes, {})),
    Effect.map((text) => (text.trim() === "" ? Option.none<string>() : Option.some(text))),
    Effect.orElseSucceed(() => Option.none<string>())
  )
}

// ---------------------------------------------------------------------------------------------

/**
 * Answers kept for the breaker's fallback: bounded in number and in age, in memory only, never
 * persisted. Each entry remembers whose it is, so that erasing an account drops its answers (they
 * hold the user's results and questions) instead of leaving them until pushed out.
 */
export class AnswerCache<A> {
  private readonly entries = new Map<string, { readonly value: A; readonly owner: string; readonly expiresAt: number }>()
  constructor(private readonly max: number, private readonly ttlMillis: number) {}
  get(key: string, now: number): A | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }
  set(key: string, value: A, owner: string, now: number) {
    if (this.max <= 0 || this.ttlMillis <= 0) return
    this.entries.delete(key)
    this.entries.set(key, { value, owner, expiresAt: now + this.ttlMillis })
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next()
      if (oldest.done) break
      this.entries.delete(oldest.value)
    }
  }
  forget(owner: string) {
    for (const [key, entry] of this.entries) if (entry.owner === owner) this.entries.delete(key)
  }
  get size() {
    return this.entries.size
  }
}

const hashOf = (...parts: ReadonlyArray<string | Uint8Array>) => {
  const hash = createHash("sha256")
  for (const part of parts) {
    hash.update(typeof part === "string" ? Buffer.from(part, "utf8") : part)
    hash.update("\u0000")
  }
  return hash.digest("hex")
}

const documentBlock = (bytes: Uint8Array, contentType: DocumentContentType): ContentBlock => {
  switch (contentType) {
    case "application/pdf":
      return { document: { format: "pdf", name: "uploaded-document", source: { bytes } } }
    case "image/jpeg":
      return { image: { format: "jpeg", source: { bytes } } }
    case "image/png":
      return { image: { format: "png", source: { bytes } } }
    case "text/plain":
      return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8") }
  }
}

const usageOf = (output: ConverseCommandOutput) =>
  new TokenUsage({ inputTokens: output.usage?.inputTokens ?? 0, outputTokens: output.usage?.outputTokens ?? 0 })

const addUsage = (a: TokenUsage, b: TokenUsage) =>
  new TokenUsage({ inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens })

/** Long enough to ride out an open breaker (30 s) many times over, short enough not to hoard answers. */
export const DEFAULT_ANSWER_CACHE_TTL: Duration.DurationInput = "15 minutes"

export interface BedrockOptions {
  readonly modelId: string
  readonly breaker: CircuitBreaker
  readonly cacheSize?: number
  /** How long a kept answer may serve as the fallback (default 15 minutes). */
  readonly cacheTtl?: Duration.DurationInput
  /** The `llm` schedule unless a test needs a faster one. */
  readonly retry?: RetrySchedule
}

export const makeBedrockLLM = (client: ClientSource<BedrockSend>, options: BedrockOptions): LLM["Type"] => {
  const { modelId, breaker } = options
  /** The client and the SDK's command classes (the module the client came from). */
  const bedrock = Effect.zip(clientFrom(client), AwsSdk.bedrockRuntime)
  const ttlMillis = Duration.toMillis(Duration.decode(options.cacheTtl ?? DEFAULT_ANSWER_CACHE_TTL))
  const interpretations = new AnswerCache<Interpretation>(options.cacheSize ?? 500, ttlMillis)
  const answers = new AnswerCache<ChatAnswer>(options.cacheSize ?? 500, ttlMillis)

  const genAiSpan = (operation: "chat" | "generate_content") =>
    Effect.withSpan(`${operation} ${modelId}`, {
      captureStackTrace: false,
      kind: "client",
      attributes: {
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": modelId,
        "rpc.system": "aws-api",
        "rpc.service": "BedrockRuntime",
        "rpc.method": "Converse"
      }
    })

  /** One Converse round trip with timeout and retries; annotates the span with usage. */
  const converse = (input: ConverseCommandInput, timeout: Duration.DurationInput) =>
    Effect.flatMap(bedrock, ([client, sdk]) =>
      Effect.tryPromise({ try: (signal) => client.send(new sdk.ConverseCommand(input), { abortSignal: signal }), catch: classify }).pipe(
        withTimeout("bedrock.converse", timeout),
        Effect.catchTag("OperationTimedOut", () =>
          Effect.fail(new BedrockCallFailed({ message: "Bedrock Converse timed out", transient: true }))
        ),
        withRetry(options.retry ?? "llm")
      )
    ).pipe(
      // Usage totals go on the operation's span (observeGenAi); the finish reason of the last round here.
      Effect.tap((output) => Effect.annotateCurrentSpan("gen_ai.response.finish_reasons", [output.stopReason ?? "unknown"]))
    )

  const unavailable = (error: CircuitOpen | BedrockCallFailed) =>
    new LLMUnavailable({
      message: "The language model is temporarily unavailable",
      retryAfterSeconds: error._tag === "CircuitOpen" ? error.retryAfterSeconds : 30
    })

  const toolInput = (output: ConverseCommandOutput): Option.Option<unknown> =>
    Option.fromNullable(
      output.output?.message?.content?.find((block) => block.toolUse?.name === TOOL_NAME)?.toolUse?.input
    )

  const interpretOnce = (input: {
    readonly bytes: Uint8Array
    readonly contentType: DocumentContentType
    readonly documentTypeHint?: DocumentType
  }) =>
    Effect.gen(function* () {
      const ask: Message = {
        role: "user",
        content: [
          documentBlock(input.bytes, input.contentType),
          {
            text: input.documentTypeHint
              ? `The uploader says this is a ${input.documentTypeHint.replace("_", " ")} document.`
              : "Interpret this document."
          }
        ]
      }
      const request = (messages: Array<Message>): ConverseCommandInput => ({
        modelId,
        system: [{ text: INTERPRET_SYSTEM }],
        messages,
        inferenceConfig: { maxTokens: 4096, temperature: 0 },
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: TOOL_NAME,
                description: "Record the structured interpretation of the document",
                inputSchema: { json: interpretationToolSchema as never }
              }
            }
          ],
          toolChoice: { tool: { name: TOOL_NAME } }
        }
      })
      const rounds: Array<ConverseCommandOutput> = []
      const call = (messages: Array<Message>) =>
        Effect.tap(converse(request(messages), Timeouts.llmInterpret), (output) => Effect.sync(() => rounds.push(output)))
      const decoded = (output: ConverseCommandOutput) =>
        Effect.either(
          Option.match(toolInput(output), {
            onNone: () => Effect.fail("the model did not call the tool"),
            onSome: (raw) => Effect.mapError(decodeDocument(raw), (e) => ParseResult.TreeFormatter.formatErrorSync(e))
          })
        )

      let messages: Array<Message> = [ask]
      let output = yield* call(messages)
      let answer = yield* decoded(output)
      if (answer._tag === "Left") {
        // One repair round: show the model what was wrong with its tool call.
        messages = [...messages, ...repairTurns(output, `The input did not match the schema: ${answer.left.slice(0, 2000)}. Call the tool again with corrected input.`)]
        output = yield* call(messages)
        answer = yield* decoded(output)
        if (answer._tag === "Left") {
          return yield* new LLMInvalidOutput({
            message: Option.isNone(toolInput(output))
              ? "The model did not return an interpretation"
              : "The model's interpretation was invalid twice"
          })
        }
      }
      let document = answer.right

      // The coverage check, where the document has text to check against: lines the answer left
      // out are quoted back once; what is still missing is kept as unread; invented rows are refused.
      const text = yield* documentText(input.bytes, input.contentType)
      if (Option.isSome(text)) {
        const { checkCoverage } = yield* Effect.promise(() => import("./reader/coverage.js"))
        let coverage = checkCoverage(text.value, document)
        if (coverage.missing.length > 0 || coverage.invented.length > 0) {
          yield* Effect.annotateCurrentSpan({
            "serenya.coverage.missing_first": coverage.missing.length,
            "serenya.coverage.invented_first": coverage.invented.length
          })
          messages = [...messages, ...repairTurns(output, coverageRepair(coverage))]
          const repairedOutput = yield* call(messages)
          const repaired = yield* decoded(repairedOutput)
          // a repair that does not decode leaves the first answer, checked, in place
          if (repaired._tag === "Right") {
            document = repaired.right
            coverage = checkCoverage(text.value, document)
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
      return { document: finishDocument(enrichDocument(document)), usage, provider: "aws.bedrock", modelId } as Interpretation
    })

  /** A call through the breaker; its answer is kept for the fallback, which serves it while the breaker is open. */
  const throughBreaker = <A, E>(
    cache: AnswerCache<A>,
    key: string,
    owner: string,
    call: Effect.Effect<A, E>
  ) =>
    breaker.protectWithFallback(
      Effect.tap(call, (result) => Effect.clockWith((clock) => Effect.sync(() => cache.set(key, result, owner, clock.unsafeCurrentTimeMillis())))),
      (open) =>
        Effect.clockWith((clock) => {
          const cached = cache.get(key, clock.unsafeCurrentTimeMillis())
          return cached ? Effect.succeed(cached) : Effect.fail(unavailable(open))
        })
    )

  const interpret: LLM["Type"]["interpret"] = (input) => {
    const owner = input.userId ?? ""
    // the owner is part of the key: one user's answer never serves another
    const key = hashOf("interpret", modelId, owner, input.contentType, input.documentTypeHint ?? "", input.bytes)
    return throughBreaker(interpretations, key, owner, interpretOnce(input)).pipe(
        Effect.catchTags({
          CircuitOpen: (open) => Effect.fail(unavailable(open)),
          BedrockCallFailed: (failed) => Effect.fail(unavailable(failed))
        }),
        observeGenAi({ operation: "generate_content", provider: "aws.bedrock", model: modelId }),
        genAiSpan("generate_content")
      )
  }

  const chatOnce = (input: {
    readonly document: InterpretedDocument
    readonly history: ReadonlyArray<ChatTurn>
    readonly question: string
  }) =>
    Effect.gen(function* () {
      const documentJson = JSON.stringify(Schema.encodeSync(InterpretedDocument)(input.document))
      const messages: Array<Message> = [
        ...input.history.map((turn): Message => ({ role: turn.role, content: [{ text: turn.content }] })),
        { role: "user", content: [{ text: input.question }] }
      ]
      const output = yield* converse(
        {
          modelId,
          system: [{ text: CHAT_SYSTEM }, { text: `The document:\n${documentJson}` }],
          messages,
          inferenceConfig: { maxTokens: 1024, temperature: 0.2 }
        },
        Timeouts.llmChat
      )
      const answer = (output.output?.message?.content ?? [])
        .map((block) => block.text ?? "")
        .join("")
        .trim()
      if (answer === "") return yield* Effect.fail(new LLMInvalidOutput({ message: "The model returned an empty answer" }))
      return { answer, usage: usageOf(output), provider: "aws.bedrock", modelId } as ChatAnswer
    })

  const chat: LLM["Type"]["chat"] = (input) => {
    const owner = input.userId ?? ""
    const key = hashOf(
      "chat",
      modelId,
      owner,
      JSON.stringify(Schema.encodeSync(InterpretedDocument)(input.document)),
      JSON.stringify(input.history),
      input.question
    )
    return throughBreaker(answers, key, owner, chatOnce(input)).pipe(
        Effect.catchTags({
          CircuitOpen: (open) => Effect.fail(unavailable(open)),
          BedrockCallFailed: (failed) => Effect.fail(unavailable(failed)),
          // In a chat the only input is ours (history, question): a refusal means the model is unusable now.
          DocumentUnreadable: () =>
            Effect.fail(new LLMUnavailable({ message: "The language model refused the request", retryAfterSeconds: 30 }))
        }),
        observeGenAi({ operation: "chat", provider: "aws.bedrock", model: modelId }),
        genAiSpan("chat")
      )
  }

  const forgetUser = (userId: string) =>
    Effect.sync(() => {
      interpretations.forget(userId)
      answers.forget(userId)
    })

  return { interpret, chat, forgetUser }
}

/** Bedrock with the model and region from the settings and the app's `llm` breaker. */
export const LLMBedrock: Layer.Layer<LLM, never, AppConfig | CircuitBreakers> = Layer.scoped(
  LLM,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const breakers = yield* CircuitBreakers
    const client = yield* lazyClient(
      Effect.map(AwsSdk.bedrockRuntime, (sdk) => new sdk.BedrockRuntimeClient({ region: config.llm.bedrockRegion, maxAttempts: 1 }))
    )
    return makeBedrockLLM(client, { modelId: config.llm.bedrockModelId, breaker: breakers.get("llm") })
  })
)
