/**
 * The offline LLM (the `npm start` default, provider `offline`): deterministic and without
 * network. PDFs are read through their text layer (in a worker thread, within limits on what a
 * document may cost: pdfText.ts), plain text as is, photos and scanned pages by OCR (tesseract.js
 * with its English model from the npm package, in a worker thread: ocr/ocrText.ts, read with
 * the OCR-aware checks of reader/ocrReading.ts); the lab/vitals parser and a templated summary
 * stand in for the model, and the result is decoded with the same schema as model output. Token
 * usage is estimated (characters / 4) so that cost tracking has numbers to record.
 */
import { answerAsStream } from "./answerStream.js"
import { Clock, Effect, Layer, Schema } from "effect"
import {
  type ChatAnswer,
  type ChatTrend,
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
import { extractPdfContent, type PdfTextOptions } from "./pdfText.js"
import type { OcrDocumentReading, OcrOptions, OcrPage } from "./ocr/ocrText.js"
import { OCR_MAX_PAGES } from "./ocr/limits.js"
import type { ParsedReport, ParseOptions } from "./reader/types.js"
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

/** What the offline provider read: the reader's report, and how much text it read (for the token estimate). */
interface Read {
  readonly report: ParsedReport
  readonly chars: number
}

const readText = (text: string, options: ParseOptions): Read => ({ report: parseLabReport(text, options), chars: text.length })

/** No word of two letters or digits on any page: nothing OCR read is text. */
const noText = (pages: ReadonlyArray<OcrPage>): boolean => !pages.some((page) => page.words.some((word) => /[\p{L}\p{N}]{2}/u.test(word.text)))

/** What OCR read, as the offline provider's answer: the OCR thread read the pages as a report too (ocr/ocrText.ts recogniseDocument). */
const readRecognised = (pages: ReadonlyArray<OcrPage>, reading: OcrDocumentReading, textPages: ReadonlyArray<string>): Read => {
  const chars = textPages.reduce((n, text) => n + text.length, 0) +
    pages.reduce((n, page) => n + page.words.reduce((m, w) => m + w.text.length + 1, 0), 0)
  return { report: reading.report, chars }
}

/** A photo (PNG, JPEG) read by OCR, off the event loop (ocr/ocrText.ts); the OCR module is loaded on the first image. */
const readImage = (bytes: Uint8Array, ocrOptions: OcrOptions, options: ParseOptions) =>
  Effect.promise(() => import("./ocr/ocrText.js")).pipe(
    Effect.flatMap(({ recogniseDocument }) => recogniseDocument([{ _tag: "Encoded", page: 1, bytes }], { textPages: [], options }, ocrOptions)),
    Effect.flatMap(({ pages, reading }) =>
      reading === undefined || noText(pages)
        ? Effect.fail(new DocumentUnreadable({ message: "No text could be read in the image.", reason: "IMAGE_NO_TEXT" }))
        : Effect.succeed(readRecognised(pages, reading, []))
    )
  )

/**
 * A PDF: its text layer, and OCR for the pages that have none (a scan) — page by page, so a
 * document mixing typed and scanned pages is read whole.
 */
const readPdf = (bytes: Uint8Array, pdfOptions: PdfTextOptions, ocrOptions: OcrOptions, options: ParseOptions) =>
  Effect.gen(function* () {
    // no more scanned pages decoded than OCR reads
    const content = yield* extractPdfContent(bytes, { maxScanPages: ocrOptions.maxPages ?? OCR_MAX_PAGES, ...pdfOptions })
    if (content.scans.length === 0) return readText(content.text, options)
    const { recogniseDocument } = yield* Effect.promise(() => import("./ocr/ocrText.js"))
    const textPages = content.text.split("\n\f")
    const read = yield* recogniseDocument(
      content.scans.map((scan) => ({ _tag: "Raster" as const, page: scan.page, width: scan.width, height: scan.height, pixels: scan.pixels })),
      { textPages, options },
      ocrOptions
    )
    // scans that read as nothing leave the text pages: read as text, as without OCR
    return read.reading === undefined ? readText(content.text, options) : readRecognised(read.pages, read.reading, textPages)
  })

const readDocument = (
  bytes: Uint8Array,
  contentType: DocumentContentType,
  pdfOptions: PdfTextOptions,
  ocrOptions: OcrOptions,
  options: ParseOptions
): Effect.Effect<Read, DocumentUnreadable | DocumentTooComplex> => {
  if (contentType === "text/plain") return Effect.map(decodeText(bytes), (text) => readText(text, options))
  if (contentType === "application/pdf") return readPdf(bytes, pdfOptions, ocrOptions, options)
  if (contentType === "image/png" || contentType === "image/jpeg") return readImage(bytes, ocrOptions, options)
  // typed as a closed set, but the bytes' type is detected at run time
  const type: string = contentType
  return Effect.fail(new DocumentUnreadable({ message: `The offline provider cannot read ${type} documents.`, reason: "UNSUPPORTED_TYPE" }))
}

const decodeDocument = Schema.decodeUnknownEffect(InterpretedDocument, { errors: "all" })

export interface OfflineOptions {
  readonly pdf?: PdfTextOptions
  readonly ocr?: OcrOptions
}

export const makeOfflineLLM = (options: OfflineOptions = {}): (typeof LLM)["Service"] => {
  const pdfOptions = options.pdf ?? {}
  const ocrOptions = options.ocr ?? {}

  // Span names follow the GenAI conventions, `{operation} {model}`, like Bedrock's.
  const interpret = Effect.fn(`generate_content ${OFFLINE_MODEL_ID}`, { kind: "client" })(function* (input: {
    readonly bytes: Uint8Array
    readonly contentType: DocumentContentType
    readonly documentTypeHint?: DocumentType
    readonly onUsage?: UsageSink
  }) {
    yield* Effect.annotateCurrentSpan(genAiAttributes("generate_content"))
    const started = yield* Clock.currentTimeMillis
    const read = yield* readDocument(
      input.bytes,
      input.contentType,
      pdfOptions,
      ocrOptions,
      input.documentTypeHint === undefined ? {} : { documentTypeHint: input.documentTypeHint }
    )
    const parsed = read.report
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
      inputTokens: estimateTokens(read.chars),
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
    readonly trends?: ReadonlyArray<ChatTrend> | undefined
    readonly onUsage?: UsageSink
  }) {
    yield* Effect.annotateCurrentSpan(genAiAttributes("chat"))
    const answer = answerQuestion(input.document, input.question, input.history, input.trends)
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
