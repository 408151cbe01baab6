/**
 * The uploaded document as Converse takes it (text, PDF or image content block), checked against
 * the model's limits before any call; what it says in text, for the coverage check.
 */
import type { ContentBlock } from "@aws-sdk/client-bedrock-runtime"
import { Effect, Option } from "effect"
import { type DocumentContentType, DocumentTooComplex, DocumentUnreadable } from "../../services/llm.js"
import type { ModelCard } from "../../services/models.js"
import { decodeText } from "./plainText.js"

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
