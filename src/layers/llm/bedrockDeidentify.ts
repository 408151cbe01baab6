/**
 * What Bedrock is sent, de-identified (src/services/deidentifier.ts): the model needs the results,
 * not whose they are.
 * - A document: its text (plain text, a PDF's text layer, or what OCR read of a photo or scanned
 *   pages), scrubbed, instead of the file. Only a document with no text to send — an image or scan
 *   OCR could not read — goes as the image itself, unless the upload said `allowImageToModel=false`,
 *   which fails the job instead (DocumentUnreadable IMAGE_WITHHELD).
 * - A chat: the question, the conversation so far and the document's free text (title, summary,
 *   unread lines, text values), scrubbed with one map, so a name has the same placeholder throughout.
 * The map lives for one request and is never stored, logged or traced; what the model answers is
 * re-identified only where one of its placeholders came back.
 */
import type { ContentBlock } from "@aws-sdk/client-bedrock-runtime"
import { Effect, Option, Schema } from "effect"
import { deidentify, type Deidentifier, type DeidentifierUnavailable, PlaceholderMap, reidentify } from "../../services/deidentifier.js"
import { type ChatInput, DocumentUnreadable, InterpretedDocument } from "../../services/llm.js"
import type { PreparedDocument } from "./bedrockDocument.js"
import { detectDateOrder } from "./reader/dates.js"

/**
 * A birth date is often the one date that says whether a report writes the day or the month first
 * (30/09/1960). Where scrubbing it leaves the order unclear, the text says it in a note, with an
 * example no reader takes for the report's own date.
 */
const dateOrderNote = (original: string, scrubbed: string): string => {
  const order = detectDateOrder(original)
  if (order === detectDateOrder(scrubbed)) return scrubbed
  return `${scrubbed}\n\n(Note: dates in this document are written ${order === "dmy" ? "day first, as in 31/01/2000" : "month first, as in 01/31/2000"}.)`
}

export type DeidentifierService = (typeof Deidentifier)["Service"]

export interface DeidentifiedDocument {
  /** What the model is sent: the scrubbed text, or the image when there is no text. */
  readonly block: ContentBlock
  /** The scrubbed text (what the coverage check compares the answer with), none for an image sent as it is. */
  readonly text: Option.Option<string>
  readonly map: PlaceholderMap
}

export const deidentifyDocument = (
  prepared: PreparedDocument,
  deidentifier: DeidentifierService,
  allowImageToModel: boolean
): Effect.Effect<DeidentifiedDocument, DocumentUnreadable | DeidentifierUnavailable> => {
  // no text (./bedrockDocument.ts): the block is the image, or a scan's pages
  if (Option.isNone(prepared.text)) {
    if (!allowImageToModel) {
      return Effect.fail(
        new DocumentUnreadable({
          message: "The image could not be read as text, and this upload did not allow sending the image itself to the model",
          reason: "IMAGE_WITHHELD"
        })
      )
    }
    return Effect.as(Effect.annotateCurrentSpan("serenya.deidentify.image_sent", true), {
      block: prepared.block,
      text: Option.none(),
      map: new PlaceholderMap()
    })
  }
  const original = prepared.text.value
  return Effect.map(deidentify(deidentifier, [original]), ({ texts, map }) => {
    const text = dateOrderNote(original, texts[0]!)
    return { block: { text }, text: Option.some(text), map }
  })
}

const encodeDocument = Schema.encodeSync(InterpretedDocument)
const decodeDocument = Schema.decodeUnknownSync(InterpretedDocument)

/** The model's interpretation with this request's placeholders put back (in its free text: title, summary, unread lines, text values, names). */
export const reidentifyDocument = (document: InterpretedDocument, map: PlaceholderMap): InterpretedDocument => {
  if (map.size === 0) return document
  const encoded = encodeDocument(document)
  const back = (s: string) => reidentify(s, map)
  return decodeDocument({
    ...encoded,
    title: back(encoded.title),
    summary: back(encoded.summary),
    results: encoded.results.map((r) => ({ ...r, name: back(r.name), ...(typeof r.value === "string" ? { value: back(r.value) } : {}) })),
    unreadLines: (encoded.unreadLines ?? []).map((l) => ({ ...l, text: back(l.text).slice(0, 300) }))
  })
}

/** The chat's free text, scrubbed with one map: the document's (title, summary, unread lines, text values), the history, the question. */
export const deidentifyChat = (
  input: ChatInput,
  deidentifier: DeidentifierService
): Effect.Effect<{ readonly input: ChatInput; readonly map: PlaceholderMap }, DeidentifierUnavailable> => {
  const document = encodeDocument(input.document)
  const textValues = document.results.flatMap((r, i) => (typeof r.value === "string" ? [i] : []))
  const texts = [
    document.title,
    document.summary,
    ...(document.unreadLines ?? []).map((l) => l.text),
    ...textValues.map((i) => document.results[i]!.value as string),
    ...input.history.map((turn) => turn.content),
    input.question
  ]
  return Effect.map(deidentify(deidentifier, texts), ({ texts: scrubbed, map }) => {
    let at = 0
    const next = () => scrubbed[at++]!
    const title = next()
    const summary = next()
    const unreadLines = (document.unreadLines ?? []).map((l) => ({ ...l, text: next().slice(0, 300) }))
    const values = new Map(textValues.map((i) => [i, next()] as const))
    const results = document.results.map((r, i) => (values.has(i) ? { ...r, value: values.get(i)! } : r))
    const history = input.history.map((turn) => ({ ...turn, content: next() }))
    const question = next()
    return {
      input: { ...input, document: decodeDocument({ ...document, title, summary, unreadLines, results }), history, question },
      map
    }
  })
}
