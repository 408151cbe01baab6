/**
 * The uploaded document as Converse takes it (text, PDF or image content block), checked against
 * the model's limits before any call; what it says in text, for the coverage check.
 */
import type { ContentBlock } from "@aws-sdk/client-bedrock-runtime"
import { Cause, Effect, Option } from "effect"
import { type DocumentContentType, DocumentTooComplex, DocumentUnreadable } from "../../services/llm.js"
import type { ModelCard } from "../../services/models.js"
import { OCR_MAX_PAGES } from "./ocr/limits.js"
import type { OcrInput } from "./ocr/ocrTypes.js"
import type { PageScan } from "./pdfRead.js"
import { decodeText } from "./plainText.js"
import type { ParsedReport } from "./reader/types.js"

/**
 * What the document is to the model, checked against the model's limits before any call (so that
 * whatever Bedrock still refuses is ours, not the document's). Wherever there is text, the block is
 * that text, which ./bedrockDeidentify.ts scrubs before it goes; the file goes only where there is none:
 * - plain text: its text (also what the coverage check compares the answer with);
 * - a PDF with a text layer: its text (with what OCR reads of any scanned pages);
 * - a scanned PDF (no text layer): what OCR reads of its pages; where OCR reads nothing, the PDF
 *   with citations on, so that Converse reads its pages as images — only where the model has
 *   citations and the PDF is within the per-document size;
 * - an image: what OCR reads of it; where OCR reads nothing, the image as it is within Converse's
 *   bytes and pixels, else scaled down to fit (./imageFit.ts).
 * A PDF that cannot be opened, or has more pages than we read, fails here without a call.
 */
export interface PreparedDocument {
  readonly block: ContentBlock
  readonly text: Option.Option<string>
  /**
   * Present when `text` is what OCR read of an image or scanned pages: the offline reader's report of
   * that text, which says which lines hold results (the coverage check reads OCR's text leniently).
   */
  readonly ocr?: ParsedReport
}

/**
 * What OCR reads of an image or of a PDF's scanned pages, for the coverage check; none when OCR
 * reads nothing or cannot read it (the model still reads the image: OCR only checks its answer).
 */
const ocrReading = (
  inputs: ReadonlyArray<OcrInput>,
  textPages: ReadonlyArray<string> = []
): Effect.Effect<Option.Option<{ readonly text: string; readonly report: ParsedReport }>> =>
  Effect.gen(function* () {
    const { recogniseDocument } = yield* Effect.promise(() => import("./ocr/ocrText.js"))
    // read in the OCR thread too: the layout and judgement of a page's words is 50–120 ms of a core
    const { reading } = yield* recogniseDocument(inputs, { textPages, options: {} })
    return Option.fromUndefinedOr(reading)
  }).pipe(
    Effect.tap((read) => Effect.annotateCurrentSpan("serenya.ocr.coverage", Option.isSome(read))),
    // OCR only checks the model's answer: whatever stops it (a typed failure or its reader's defect) leaves the answer unchecked, as before OCR
    Effect.catchCause((cause) =>
      Effect.as(Effect.logWarning("OCR for the coverage check failed; the answer goes unchecked").pipe(Effect.annotateLogs({ "ocr.failure": String(Cause.squash(cause)).slice(0, 200) })), Option.none())
    )
  )

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
      // what OCR reads is what the model gets (scrubbed); only an image it cannot read goes as itself,
      // scaled down to Converse's limits where that keeps it readable (./imageFit.ts, loaded on first use)
      return Effect.flatMap(ocrReading([{ _tag: "Encoded", page: 1, bytes }]), (read): Effect.Effect<PreparedDocument, DocumentUnreadable | DocumentTooComplex> =>
        Option.isSome(read)
          ? Effect.succeed({ block: { text: read.value.text }, text: Option.some(read.value.text), ocr: read.value.report })
          : Effect.promise(() => import("./imageFit.js")).pipe(
            Effect.flatMap(({ fitImage }) => fitImage(bytes, contentType === "image/png" ? "png" : "jpeg", limits)),
            Effect.tap((fitted) => (fitted.scaled ? Effect.annotateCurrentSpan("serenya.image.scaled", true) : Effect.void)),
            Effect.map((fitted): PreparedDocument => ({ block: { image: { format: fitted.format, source: { bytes: fitted.bytes } } }, text: Option.none() }))
          ))
    case "application/pdf":
      // loaded on first use: the PDF reader is a worker thread of its own, and the API functions never need it
      return Effect.promise(() => import("./pdfText.js")).pipe(
        Effect.flatMap(({ extractPdfContent, PDF_MAX_PAGES }) =>
          extractPdfContent(bytes, { maxPages: Math.min(PDF_MAX_PAGES, limits.pdfMaxPages), maxScanPages: OCR_MAX_PAGES })
        ),
        Effect.map((content) => ({ ...content, text: content.text.trim() === "" ? Option.none<string>() : Option.some(content.text) })),
        Effect.catchTag("DocumentUnreadable", (error) =>
          error.reason === "NO_TEXT_LAYER" ? Effect.succeed({ text: Option.none<string>(), scans: [] as ReadonlyArray<PageScan> }) : Effect.fail(error)
        ),
        // scanned pages are read by OCR too, so that the answer about them is checked like the text's
        Effect.flatMap(({ text, scans }) =>
          scans.length === 0
            ? Effect.succeed({ text, ocr: Option.none<{ readonly text: string; readonly report: ParsedReport }>() })
            : Effect.map(
              ocrReading(
                scans.map((scan) => ({ _tag: "Raster" as const, page: scan.page, width: scan.width, height: scan.height, pixels: scan.pixels })),
                Option.match(text, { onNone: () => [], onSome: (t) => t.split("\n\f") })
              ),
              (ocr) => ({ text, ocr })
            )
        ),
        Effect.flatMap(({ text: layer, ocr }): Effect.Effect<PreparedDocument, DocumentUnreadable | DocumentTooComplex> => {
          const text = Option.isSome(ocr) ? Option.some(ocr.value.text) : layer
          const checked = Option.isSome(ocr) ? { ocr: ocr.value.report } : {}
          // a text layer, or scans OCR read: the model gets that text (de-identified), never the PDF
          if (Option.isSome(text)) return Effect.succeed({ block: { text: text.value }, text, ...checked })
          if (!model.capabilities.pdfCitations) {
            return Effect.fail(new DocumentUnreadable({ message: "The PDF has no text layer and this model cannot read scanned pages", reason: "NO_TEXT_LAYER" }))
          }
          if (bytes.length > limits.documentMaxBytes) return Effect.fail(tooLarge("scanned PDF"))
          // no text at all: the pages themselves, read as images (citations on)
          const block: ContentBlock = { document: { format: "pdf", name: "uploaded-document", source: { bytes }, citations: { enabled: true } } }
          return Effect.succeed({ block, text, ...checked })
        })
      )
  }
}
