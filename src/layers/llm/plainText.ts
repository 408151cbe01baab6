/**
 * A plain-text upload's text: UTF-8, and no binary data. Shared by the offline provider (which
 * reads it) and Bedrock (which checks its answer against it).
 */
import { Effect } from "effect"
import { DocumentUnreadable } from "../../services/llm.js"

export const decodeText = (bytes: Uint8Array): Effect.Effect<string, DocumentUnreadable> =>
  Effect.try({
    try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
    catch: () => new DocumentUnreadable({ message: "The text document is not valid UTF-8 text.", reason: "NOT_TEXT" })
  }).pipe(
    Effect.filterOrFail(
      // NUL and other C0 controls (besides tab, newlines and form feed) mean a binary file
      (text) => !/[\u0000-\u0008\u000b\u000e-\u001f]/.test(text),
      () => new DocumentUnreadable({ message: "The text document contains binary data.", reason: "NOT_TEXT" })
    )
  )
