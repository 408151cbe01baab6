/**
 * The offline LLM (the `npm start` default, provider `offline`): deterministic and without
 * network. PDFs are read through their text layer (in a worker thread, within limits on what a
 * document may cost: pdfText.ts), plain text as is; the lab/vitals parser and a
 * templated summary stand in for the model, and the result is decoded with the same schema as
 * model output. Images need a vision model: they fail with IMAGE_NEEDS_BEDROCK. Token usage is
 * estimated (characters / 4) so that cost tracking has numbers to record.
 */
import { answerAsStream } from "./answerStream.js"
import { Clock, Effect, Layer, Schema } from "effect"
import {
  type ChatAnswer,
  type ChatTurn,
  type DocumentContentType,
  type DocumentTooComplex,
  type DocumentType,
  DocumentUnreadable,
  type Interpretation,
  InterpretedDocument,
  LLM,
  LLMInvalidOutput,
  reportUsage,
  TokenUsage,
  type UsageSink
} from "../../services/llm.js"
import { parseLabReport } from "./reader/index.js"
import { answerQuestion } from "./offlineChat.js"
import { extractPdfText, type PdfTextOptions } from "./pdfText.js"
import { enrichDocument } from "./reader/enrich.js"
import { decodeText } from "./plainText.js"
import { finishDocument } from "./reader/finish.js"
import { summarize } from "./summary.js"
import { observeGenAi } from "../../services/metrics.js"

export const OFFLINE_PROVIDER = "offline" as const
export const OFFLINE_MODEL_ID = "offline-parser-v1"

/** The usual rule of thumb for English text with modern tokenizers. */
export const estimateTokens = (chars: number): number => Math.ceil(chars / 4)

const genAiAttributes = (operation: "generate_content" | "chat") => ({
  "gen_ai.provider.name": OFFLINE_PROVIDER,
  "gen_ai.operation.name": operation,
  "gen_ai.request.model": OFFLINE_MODEL_ID,
  "gen_ai.response.finish_reasons": ["stop"]
})

const readDocumentText = (
  bytes: Uint8Array,
  contentType: DocumentContentType,
  pdfOptions: PdfTextOptions
): Effect.Effect<string, DocumentUnreadable | DocumentTooComplex> => {
  if (contentType === "text/plain") return decodeText(bytes)
  if (contentType === "application/pdf") return extractPdfText(bytes, pdfOptions)
  // typed as a closed set, but the bytes' type is detected at run time: any image/* needs a model that can see
  const type: string = contentType
  return Effect.fail(
    type.startsWith("image/")
      ? new DocumentUnreadable({
          message: "Reading images needs the Bedrock provider (LLM_PROVIDER=bedrock).",
          reason: "IMAGE_NEEDS_BEDROCK"
        })
      : new DocumentUnreadable({ message: `The offline provider cannot read ${type} documents.`, reason: "UNSUPPORTED_TYPE" })
  )
}

const decodeDocument = Schema.decodeUnknownEffect(InterpretedDocument, { errors: "all" })

export interface OfflineOptions {
  readonly pdf?: PdfTextOptions
}

export const makeOfflineLLM = (options: OfflineOptions = {}): (typeof LLM)["Service"] => {
  const pdfOptions = options.pdf ?? {}

  // Span names follow the GenAI conventions, `{operation} {model}`, like Bedrock's.
  const interpret = Effect.fn(`generate_content ${OFFLINE_MODEL_ID}`, { kind: "client" })(function* (input: {
    readonly bytes: Uint8Array
    readonly contentType: DocumentContentType
    readonly documentTypeHint?: DocumentType
    readonly onUsage?: UsageSink
  }) {
    yield* Effect.annotateCurrentSpan(genAiAttributes("generate_content"))
    const started = yield* Clock.currentTimeMillis
    const text = yield* readDocumentText(input.bytes, input.contentType, pdfOptions)
    const parsed = parseLabReport(
      text,
      input.documentTypeHint === undefined ? {} : { documentTypeHint: input.documentTypeHint }
    )
    const candidate = { ...parsed, summary: summarize(parsed) }
    // validated exactly like a model's answer, so the offline provider cannot hand on what Bedrock could not
    const document = yield* decodeDocument(candidate).pipe(
      Effect.map((document) => finishDocument(enrichDocument(document))),
      Effect.mapError(
        (error) =>
          new LLMInvalidOutput({
            message: `The offline parser produced an invalid document: ${error.message}`
          })
      )
    )
    const usage = new TokenUsage({
      inputTokens: estimateTokens(text.length),
      outputTokens: estimateTokens(JSON.stringify(document).length)
    })
    const elapsedMs = (yield* Clock.currentTimeMillis) - started
    yield* reportUsage(input.onUsage, { usage, provider: OFFLINE_PROVIDER, modelId: OFFLINE_MODEL_ID, elapsedMs })
    return { document, usage, provider: OFFLINE_PROVIDER, modelId: OFFLINE_MODEL_ID } satisfies Interpretation
  }, observeGenAi({ operation: "generate_content", provider: OFFLINE_PROVIDER, model: OFFLINE_MODEL_ID }))

  const chat = Effect.fn(`chat ${OFFLINE_MODEL_ID}`, { kind: "client" })(function* (input: {
    readonly document: InterpretedDocument
    readonly history: ReadonlyArray<ChatTurn>
    readonly question: string
    readonly onUsage?: UsageSink
  }) {
    yield* Effect.annotateCurrentSpan(genAiAttributes("chat"))
    const answer = answerQuestion(input.document, input.question, input.history)
    const prompt =
      JSON.stringify(input.document).length +
      input.history.reduce((n, turn) => n + turn.content.length, 0) +
      input.question.length
    const usage = new TokenUsage({ inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(answer.length) })
    yield* reportUsage(input.onUsage, { usage, provider: OFFLINE_PROVIDER, modelId: OFFLINE_MODEL_ID, elapsedMs: 0 })
    return { answer, usage, provider: OFFLINE_PROVIDER, modelId: OFFLINE_MODEL_ID } satisfies ChatAnswer
  }, observeGenAi({ operation: "chat", provider: OFFLINE_PROVIDER, model: OFFLINE_MODEL_ID }))

  // nothing is kept between calls; the templated answer streams in word-sized pieces
  return { interpret, chat, chatStream: (input) => answerAsStream(chat(input)), forgetUser: () => Effect.void }
}

export const LLMOffline: Layer.Layer<LLM> = Layer.sync(LLM, () => makeOfflineLLM())
