/**
 * A whole answer as a stream of deltas: for providers that answer at once (the offline templates, a
 * cached answer served while the model is down) and so stream what they have in word-sized pieces,
 * the way a model's deltas arrive, so that the client's rendering is the same whichever answered.
 */
import { Effect, Stream } from "effect"
import type { ChatAnswer, ChatStreamPart } from "../../services/llm.js"

/** Characters per delta, at least: pieces end after whitespace, so no word is split. */
export const ANSWER_CHUNK_CHARS = 24

/** The answer's text cut into pieces of about `size` characters, ending after whitespace where there is some. */
export const chunksOf = (text: string, size: number = ANSWER_CHUNK_CHARS): ReadonlyArray<string> => {
  const pieces: Array<string> = []
  let start = 0
  while (start < text.length) {
    let end = Math.min(text.length, start + size)
    if (end < text.length) {
      const space = text.slice(end).search(/\s/u)
      end = space === -1 ? text.length : end + space + 1
    }
    // never split a surrogate pair
    if (end < text.length && /[\uD800-\uDBFF]/u.test(text[end - 1]!)) end += 1
    pieces.push(text.slice(start, end))
    start = end
  }
  return pieces
}

/** The answer as deltas then its `end`; the effect that produces it runs when the stream is pulled. */
export const answerAsStream = <E, R>(answer: Effect.Effect<ChatAnswer, E, R>): Stream.Stream<ChatStreamPart, E, R> =>
  Stream.unwrap(
    Effect.map(answer, (whole) =>
      Stream.fromIterable<ChatStreamPart>([
        ...chunksOf(whole.answer).map((text): ChatStreamPart => ({ _tag: "delta", text })),
        { _tag: "end", answer: whole }
      ])
    )
  )
