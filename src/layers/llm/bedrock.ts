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
 */
import type * as BedrockRuntime from "@aws-sdk/client-bedrock-runtime"
import type { ContentBlock, ConverseCommandInput, ConverseCommandOutput, Message, ToolChoice } from "@aws-sdk/client-bedrock-runtime"
import { Clock, Duration, Effect, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom } from "../aws/sdk.js"
import { ErrorInfoId, transientFailureInfo } from "../../services/errors.js"
import {
  type ChatAnswer,
  type ChatTurn,
  type DocumentContentType,
  type DocumentType,
  DocumentTooComplex,
  DocumentUnreadable,
  type Interpretation,
  InterpretedDocument,
  type LLM,
  LLMInvalidOutput,
  LLMOutputTruncated,
  LLMRequestRejected,
  LLMUnavailable,
  reportUsage,
  TokenUsage,
  UnreadLine,
  type UsageSink
} from "../../services/llm.js"
import { CONVERSE_LIMITS, findModel, type ModelCard } from "../../services/models.js"
import {
  type CircuitBreaker,
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
  "ServiceQuotaExceededException",
  "ServiceUnavailableException",
  "ModelNotReadyException",
  "InternalServerException",
  "ModelTimeoutException",
  "ModelErrorException",
  "TimeoutError",
  "RequestTimeout"
])

/** Bedrock's refusals of a request that was ours to get right, by the messages AWS returns (see the tests). */
const rejection = (name: string, message: string): { readonly reason: string; readonly retryLater: boolean } | undefined => {
  switch (name) {
    case "ValidationException":
      if (/model identifier is invalid/i.test(message)) return { reason: "MODEL_ID_INVALID", retryLater: true }
      if (/on-demand throughput isn.t supported|inference profile/i.test(message)) return { reason: "INFERENCE_PROFILE_REQUIRED", retryLater: true }
      if (/end of (its )?life|legacy/i.test(message)) return { reason: "MODEL_END_OF_LIFE", retryLater: true }
      return { reason: "REQUEST_NOT_SUPPORTED", retryLater: true }
    case "ResourceNotFoundException":
      if (/end of (its )?life/i.test(message)) return { reason: "MODEL_END_OF_LIFE", retryLater: true }
      if (/legacy/i.test(message)) return { reason: "MODEL_LEGACY_INACTIVE", retryLater: true }
      return { reason: "MODEL_NOT_FOUND", retryLater: true }
    case "AccessDeniedException":
      if (/marketplace/i.test(message)) return { reason: "MODEL_SUBSCRIPTION_MISSING", retryLater: true }
      if (/don.t have access to the model/i.test(message)) return { reason: "MODEL_ACCESS_NOT_GRANTED", retryLater: true }
      return { reason: "MODEL_ACCESS_DENIED", retryLater: true }
    default:
      return undefined
  }
}

/** An input over the model's context window: the document is too long to read, whatever we do. */
const TOO_LONG = /input is too long|prompt is too long|too many (input )?tokens|context (window|length)/i

export const classifyBedrockError = (cause: unknown): BedrockCallFailed | LLMRequestRejected | DocumentTooComplex => {
  const name = awsErrorName(cause)
  const status = awsHttpStatus(cause)
  const message = cause instanceof Error ? cause.message : ""
  if (name === "ValidationException" && TOO_LONG.test(message)) {
    return new DocumentTooComplex({ message: "The document is longer than the model can read at once", limit: "text_length" })
  }
  const rejected = rejection(name, message)
  if (rejected !== undefined) {
    // AWS's message names the model and the request, never the document: it is safe for the operator's log.
    return new LLMRequestRejected({ message: `Bedrock refused the request (${name}): ${message.slice(0, 300)}`, ...rejected })
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

/**
 * Effect 4 derives JSON Schema from a schema's JSON codec, which writes an absent optional key as
 * `null` and a non-finite number as the text "NaN"/"Infinity"/"-Infinity". The tool input is
 * decoded with the schema itself, which takes neither, so the model is told what it takes (as the
 * v3 `JSONSchema.make` output did): an optional key is left out, a number is a number.
 */
const asDecoded = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(asDecoded)
  if (typeof node !== "object" || node === null) return node
  const out = Object.fromEntries(Object.entries(node as Json).map(([key, value]) => [key, asDecoded(value)])) as Json
  const isNull = (branch: unknown) => typeof branch === "object" && branch !== null && (branch as Json).type === "null"
  const isNonFiniteText = (branch: unknown) =>
    typeof branch === "object" && branch !== null && (branch as Json).type === "string" &&
    JSON.stringify((branch as Json).enum) === JSON.stringify(["Infinity", "-Infinity", "NaN"])
  const withoutBranches = (schema: unknown, drop: (branch: unknown) => boolean): unknown => {
    if (typeof schema !== "object" || schema === null || !Array.isArray((schema as Json).anyOf)) return schema
    const { anyOf, ...rest } = schema as Json & { anyOf: Array<unknown> }
    const kept = anyOf.filter((branch) => !drop(branch))
    return kept.length === 1 ? { ...rest, ...(kept[0] as Json) } : { ...rest, anyOf: kept }
  }
  if (typeof out.properties === "object" && out.properties !== null) {
    const required = new Set(Array.isArray(out.required) ? (out.required as Array<unknown>) : [])
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Json).map(([key, value]) => [key, required.has(key) ? value : withoutBranches(value, isNull)])
    )
  }
  return withoutBranches(out, isNonFiniteText)
}

/** The tool's input schema (draft 2020-12, no extra keys), self-contained. */
const toolSchemaOf = (schema: Schema.Constraint): Json => {
  const document = Schema.toJsonSchemaDocument(schema, { onExcessProperty: "error" })
  return inlineRefs(asDecoded({ ...document.schema, $defs: document.definitions }) as Json)
}

export const interpretationToolSchema = toolSchemaOf(InterpretedDocument)

/** A model's answer is decoded (every issue reported, for the repair round); after the coverage check it is finished like every provider's (critical first, no false reassurance). */
const decodeDocument = Schema.decodeUnknownEffect(InterpretedDocument, { errors: "all" })

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

/**
 * What the document is to the model, checked against the model's limits before any call (so that
 * whatever Bedrock still refuses is ours, not the document's):
 * - plain text: its text (also what the coverage check compares the answer with);
 * - a PDF with a text layer: its text for the coverage check; the PDF itself when it is within
 *   Converse's per-document size, else its text (all the model would read of it without citations);
 * - a scanned PDF (no text layer): the PDF with citations on, so that Converse reads its pages as
 *   images — only where the model has citations and the PDF is within the per-document size;
 * - an image: as it is within Converse's bytes and pixels, else scaled down to fit (./imageFit.ts).
 * A PDF that cannot be opened, or has more pages than we read, fails here without a call.
 */
export interface PreparedDocument {
  readonly block: ContentBlock
  readonly text: Option.Option<string>
}

export const prepareDocument = (
  bytes: Uint8Array,
  contentType: DocumentContentType,
  model: ModelCard
): Effect.Effect<PreparedDocument, DocumentUnreadable | DocumentTooComplex> => {
  const { limits } = model
  const tooLarge = (what: string) =>
    new DocumentTooComplex({ message: `The ${what} is larger than the model can take in one request`, limit: "decoded_bytes" })
  switch (contentType) {
    case "text/plain":
      return Effect.map(decodeText(bytes), (text) => ({ block: { text }, text: Option.some(text) }))
    case "image/jpeg":
    case "image/png":
      // scaled down to Converse's limits where that keeps the image readable (./imageFit.ts); loaded on first use
      return Effect.promise(() => import("./imageFit.js")).pipe(
        Effect.flatMap(({ fitImage }) => fitImage(bytes, contentType === "image/png" ? "png" : "jpeg", limits)),
        Effect.tap((fitted) => (fitted.scaled ? Effect.annotateCurrentSpan("serenya.image.scaled", true) : Effect.void)),
        Effect.map((fitted) => ({ block: { image: { format: fitted.format, source: { bytes: fitted.bytes } } }, text: Option.none() }))
      )
    case "application/pdf":
      // loaded on first use: the PDF reader is a worker thread of its own, and the API functions never need it
      return Effect.promise(() => import("./pdfText.js")).pipe(
        Effect.flatMap(({ extractPdfText, PDF_MAX_PAGES }) =>
          extractPdfText(bytes, { maxPages: Math.min(PDF_MAX_PAGES, limits.pdfMaxPages) })
        ),
        Effect.map((text): Option.Option<string> => (text.trim() === "" ? Option.none() : Option.some(text))),
        Effect.catchTag("DocumentUnreadable", (error) =>
          error.reason === "NO_TEXT_LAYER" ? Effect.succeed(Option.none<string>()) : Effect.fail(error)
        ),
        Effect.flatMap((text): Effect.Effect<PreparedDocument, DocumentUnreadable | DocumentTooComplex> => {
          const pdf = (citations: boolean): ContentBlock => ({
            document: { format: "pdf", name: "uploaded-document", source: { bytes }, ...(citations ? { citations: { enabled: true } } : {}) }
          })
          if (Option.isSome(text)) {
            return Effect.succeed({ block: bytes.length <= limits.documentMaxBytes ? pdf(false) : { text: text.value }, text })
          }
          if (!model.capabilities.pdfCitations) {
            return Effect.fail(new DocumentUnreadable({ message: "The PDF has no text layer and this model cannot read scanned pages", reason: "NO_TEXT_LAYER" }))
          }
          if (bytes.length > limits.documentMaxBytes) return Effect.fail(tooLarge("scanned PDF"))
          return Effect.succeed({ block: pdf(true), text })
        })
      )
  }
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

const usageOf = (output: ConverseCommandOutput) =>
  new TokenUsage({ inputTokens: output.usage?.inputTokens ?? 0, outputTokens: output.usage?.outputTokens ?? 0 })

const addUsage = (a: TokenUsage, b: TokenUsage) =>
  new TokenUsage({ inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens })

/** Long enough to ride out an open breaker (30 s) many times over, short enough not to hoard answers. */
export const DEFAULT_ANSWER_CACHE_TTL: Duration.Input = "15 minutes"

export interface BedrockOptions {
  readonly modelId: string
  /** The model's entry; by default the table's for `modelId` (an id the table does not know gets cautious defaults). */
  readonly model?: ModelCard
  readonly breaker: CircuitBreaker
  readonly cacheSize?: number
  /** How long a kept answer may serve as the fallback (default 15 minutes). */
  readonly cacheTtl?: Duration.Input
  /** The `llm` schedule unless a test needs a faster one. */
  readonly retry?: RetrySchedule
}

/**
 * An id the table does not know (tried outside production only): nothing but what every Claude on
 * Converse takes — auto tool choice, no sampling parameters, no citations, a modest output.
 */
export const cautiousModel = (modelId: string): ModelCard => ({
  id: modelId,
  name: modelId,
  foundationModelId: modelId,
  geography: "in-region",
  status: "active",
  sourceRegions: [],
  destinationRegions: [],
  capabilities: {
    forcedToolChoice: false,
    anyToolChoice: false,
    temperature: false,
    thinking: "none",
    pdfCitations: false,
    maxOutputTokens: 8192,
    contextTokens: 200_000
  },
  limits: CONVERSE_LIMITS,
  price: { inputUsd: 0, outputUsd: 0 },
  sources: []
})

/** Output tokens an interpretation is first given: room for the tool call's JSON for a report of `lines` lines. */
export const interpretationBudget = (lines: number): number => Math.min(16_384, Math.max(4096, 2048 + 96 * lines))
/** What a model that thinks may spend thinking before it answers, on top of the answer's budget. */
export const THINKING_ALLOWANCE = 8192
/** A chat answer's budget: a few short paragraphs (the prompt asks for brevity). */
export const CHAT_BUDGET = 1024
/**
 * After a `max_tokens` stop the call is made again, once, with this many times the budget (a larger
 * output still has to be written within one call's timeout, Timeouts.llmCall).
 */
export const BUDGET_GROWTH = 2

/** The tool choice a model takes: forced where it can be, else any tool, else auto (the prompt asks for the tool). */
export const toolChoiceFor = (model: ModelCard): ToolChoice =>
  model.capabilities.thinking === "always"
    ? { auto: {} }
    : model.capabilities.forcedToolChoice
      ? { tool: { name: TOOL_NAME } }
      : model.capabilities.anyToolChoice
        ? { any: {} }
        : { auto: {} }

/** The output budget for `answer` tokens, plus thinking where the model always thinks, within the model's maximum. */
export const outputBudget = (model: ModelCard, answer: number): number =>
  Math.min(model.capabilities.maxOutputTokens, answer + (model.capabilities.thinking === "always" ? THINKING_ALLOWANCE : 0))

/** `maxTokens`, and a temperature only where the model takes one. */
const inferenceConfig = (model: ModelCard, maxTokens: number, temperature: number) =>
  model.capabilities.temperature ? { maxTokens, temperature } : { maxTokens }

/** The interpretation request for `model`: the tool, the tool choice it takes, its budget. */
export const interpretationRequest = (model: ModelCard, messages: Array<Message>, maxTokens: number): ConverseCommandInput => ({
  modelId: model.id,
  system: [{ text: INTERPRET_SYSTEM }],
  messages,
  inferenceConfig: inferenceConfig(model, maxTokens, 0),
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
    toolChoice: toolChoiceFor(model)
  }
})

export const makeBedrockLLM = (client: ClientSource<BedrockSend>, options: BedrockOptions): (typeof LLM)["Service"] => {
  const { modelId, breaker } = options
  const model = options.model ?? findModel(modelId) ?? cautiousModel(modelId)
  /** The client and the SDK's command classes (the module the client came from). */
  const bedrock = Effect.zip(clientFrom(client), AwsSdk.bedrockRuntime)
  const ttlMillis = Duration.toMillis(Duration.fromInputUnsafe(options.cacheTtl ?? DEFAULT_ANSWER_CACHE_TTL))
  const interpretations = new AnswerCache<Interpretation>(options.cacheSize ?? 500, ttlMillis)
  const answers = new AnswerCache<ChatAnswer>(options.cacheSize ?? 500, ttlMillis)

  const genAiSpan = (operation: "chat" | "generate_content") =>
    Effect.withSpan(`${operation} ${modelId}`, {
      kind: "client",
      attributes: {
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": modelId,
        "rpc.system": "aws-api",
        "rpc.service": "BedrockRuntime",
        "rpc.method": "Converse"
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
        const output = yield* Effect.tryPromise({
          try: (signal) => client.send(new sdk.ConverseCommand(input), { abortSignal: signal }),
          catch: classifyBedrockError
        })
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

  /** Stops after which there is no answer to use: a filter withheld it, or the input did not fit. */
  const stopped = (output: ConverseCommandOutput): Effect.Effect<ConverseCommandOutput, LLMRequestRejected | DocumentTooComplex> => {
    switch (output.stopReason) {
      case "guardrail_intervened":
      case "content_filtered":
        return Effect.fail(
          new LLMRequestRejected({
            message: `Bedrock withheld the answer (${output.stopReason})`,
            reason: output.stopReason === "content_filtered" ? "CONTENT_FILTERED" : "GUARDRAIL_INTERVENED",
            retryLater: false
          })
        )
      case "model_context_window_exceeded":
        return Effect.fail(new DocumentTooComplex({ message: "The document is longer than the model can read at once", limit: "text_length" }))
      default:
        return Effect.succeed(output)
    }
  }

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

  const unavailable = (error: CircuitOpen | BedrockCallFailed) =>
    new LLMUnavailable({
      message: "The language model is temporarily unavailable",
      retryAfterSeconds: error._tag === "CircuitOpen" ? error.retryAfterSeconds : 30
    })

  const toolInput = (output: ConverseCommandOutput): Option.Option<unknown> =>
    Option.fromNullishOr(
      output.output?.message?.content?.find((block) => block.toolUse?.name === TOOL_NAME)?.toolUse?.input
    )

  const interpretOnce = (input: {
    readonly bytes: Uint8Array
    readonly contentType: DocumentContentType
    readonly documentTypeHint?: DocumentType
    readonly onUsage?: UsageSink
  }) =>
    Effect.gen(function* () {
      const prepared = yield* prepareDocument(input.bytes, input.contentType, model)
      const ask: Message = {
        role: "user",
        content: [
          prepared.block,
          {
            text: input.documentTypeHint
              ? `The uploader says this is a ${input.documentTypeHint.replace("_", " ")} document. Call the ${TOOL_NAME} tool.`
              : `Interpret this document. Call the ${TOOL_NAME} tool.`
          }
        ]
      }
      const lines = Option.match(prepared.text, { onNone: () => 60, onSome: (text) => text.split("\n").filter((l) => l.trim() !== "").length })
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
      if (Option.isSome(prepared.text)) {
        const text = prepared.text.value
        const { checkCoverage } = yield* Effect.promise(() => import("./reader/coverage.js"))
        let coverage = checkCoverage(text, document)
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
            coverage = checkCoverage(text, document)
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
    readonly onUsage?: UsageSink
  }) =>
    Effect.gen(function* () {
      const documentJson = JSON.stringify(Schema.encodeSync(InterpretedDocument)(input.document))
      const messages: Array<Message> = [
        ...input.history.map((turn): Message => ({ role: turn.role, content: [{ text: turn.content }] })),
        { role: "user", content: [{ text: input.question }] }
      ]
      const rounds: Array<ConverseCommandOutput> = []
      const { output } = yield* converseWhole(
        (maxTokens) => ({
          modelId: model.id,
          system: [{ text: CHAT_SYSTEM }, { text: `The document:\n${documentJson}` }],
          messages,
          inferenceConfig: inferenceConfig(model, maxTokens, 0.2)
        }),
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

  const chat: (typeof LLM)["Service"]["chat"] = (input) => {
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
          // In a chat the only input is ours (the document's JSON, history, question): too long is ours to fix.
          DocumentTooComplex: (tooLong) =>
            Effect.fail(new LLMRequestRejected({ message: tooLong.message, reason: "CONVERSATION_TOO_LONG", retryLater: false }))
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
