/**
 * A chat answer streamed as the model produces it (`POST /chat/messages` with
 * `Accept: text/event-stream`). Everything around the model is the JSON answer's own
 * (chat.ts: `prepareTurn`, `storeTurn`), so what is stored, counted, charged and audited is the
 * same: one question and one sealed answer, written only once the answer is complete.
 *
 * **Guardrails before the client sees text.** The model's text is held back until a sentence
 * ends (or, for a sentence that never ends, until 600 characters have gathered); then the whole
 * answer so far is checked with the JSON path's rule (`soundsReassuring`, on a document with a
 * flagged result or an unread line) before that sentence is released. An answer that turns out to
 * call the document normal is cut there: the model call is stopped (nothing more is produced or
 * billed), the correction the JSON path would give is sent instead of the rest, and what is
 * stored is exactly what was sent. The critical-values notice, which the JSON path puts first in
 * the first answer about a document with critical values, is sent before the model's first word.
 *
 * **A client that goes away** interrupts the stream: the model call is aborted, the tokens it
 * had consumed are recorded (an estimate, see LLM.chatStream), nothing of the turn is stored and
 * the question is not counted against the plan. Once the answer is complete it is stored even if
 * the client has just left (storeTurn is uninterruptible).
 */
import { Effect, Stream } from "effect"
import { LLM, LLMUnavailable, soundsReassuring, CRITICAL_ACTION, criticalNotice, type InterpretedDocument, type ChatTurn } from "../services/llm.js"
import type { ContentId, UserId } from "../services/ids.js"
import type { RequestContext } from "../services/audit.js"
import { Timeouts } from "../services/resilience.js"
import { orDatabaseUnavailable } from "../services/database.js"
import { traced } from "../services/telemetry.js"
import {
  type ChatReply,
  falseReassuranceCorrection,
  mayNotReassure,
  prepareTurn,
  type PreparedTurn,
  storeTurn,
  turnCosts
} from "./chat.js"

/** What the client is sent: pieces of the answer, then the stored message. */
export type ChatStreamEvent =
  | { readonly _tag: "delta"; readonly text: string }
  | { readonly _tag: "done"; readonly reply: ChatReply }

/** Model text held back without a sentence end, at most, before it is checked and released anyway. */
export const MAX_HELD_CHARS = 600

// A sentence ends at . ! ? … (with closing quotes or brackets) followed by whitespace, or at a line break.
const SENTENCE_END = /[.!?\u2026]["'\u2019\u201d)\]]*\s+|\n+/gu

/** Where the held text may be released up to: after its last sentence end, or at a word when too long. */
export const releasableLength = (held: string): number => {
  let end = 0
  for (const match of held.matchAll(SENTENCE_END)) end = match.index + match[0].length
  if (end === 0 && held.length > MAX_HELD_CHARS) {
    const space = held.lastIndexOf(" ")
    end = space > 0 ? space + 1 : held.length
  }
  return end
}

type GuardOutput = { readonly _tag: "text"; readonly text: string } | { readonly _tag: "complete"; readonly answer: string }

/**
 * The guard over one answer's text (see the module comment). `push` takes a model delta, `end`
 * the end of the model's answer; each gives what may be sent now, and `complete` (with the whole
 * text sent, which is what is stored) once the answer is over — at the end, or when cut.
 */
export class AnswerGuard {
  private sent = ""
  private modelText = ""
  private held = ""
  private over = false

  constructor(
    private readonly document: InterpretedDocument,
    /** Sent before the model's text (the critical-values notice), if any. */
    preface: string
  ) {
    this.sent = preface
  }

  /** What is sent first, before the model has said anything. */
  get preface(): string {
    return this.sent
  }

  push(text: string): ReadonlyArray<GuardOutput> {
    if (this.over) return []
    this.held += text
    const end = releasableLength(this.held)
    if (end === 0) return []
    const ready = this.held.slice(0, end)
    this.held = this.held.slice(end)
    return this.release(ready, false)
  }

  end(): ReadonlyArray<GuardOutput> {
    if (this.over) return []
    const rest = this.held.trimEnd()
    this.held = ""
    return this.release(rest, true)
  }

  private release(ready: string, last: boolean): ReadonlyArray<GuardOutput> {
    // the answer starts at its first word
    const text = this.modelText === "" ? ready.trimStart() : ready
    const candidate = this.modelText + text
    if (mayNotReassure(this.document) && soundsReassuring(candidate)) {
      this.over = true
      const separator = this.sent === "" || /\s$/u.test(this.sent) ? "" : " "
      const correction = separator + falseReassuranceCorrection(this.document)
      this.sent += correction
      return [{ _tag: "text", text: correction }, { _tag: "complete", answer: this.sent }]
    }
    this.modelText = candidate
    this.sent += text
    const out: Array<GuardOutput> = text === "" ? [] : [{ _tag: "text", text }]
    if (last) {
      this.over = true
      out.push({ _tag: "complete", answer: this.sent })
    }
    return out
  }
}

/** The critical-values notice a turn starts with: as the JSON path, once per conversation. */
const prefaceOf = (document: InterpretedDocument, history: ReadonlyArray<ChatTurn>): string => {
  const notice = criticalNotice(document)
  if (notice === undefined) return ""
  if (history.some((turn) => turn.role === "assistant" && turn.content.includes(CRITICAL_ACTION))) return ""
  return `${notice}\n\n`
}

// the database's failures as its typed error (503), as the JSON path's handler does
const storeAnswer = (turn: PreparedTurn, answer: string) =>
  orDatabaseUnavailable("The answer could not be stored; please ask again", "chat.store")(storeTurn(turn, answer))

const timedOut = new LLMUnavailable({ message: "The answer took too long; please ask again", retryAfterSeconds: 5 })

/** The answer's events for a prepared turn: the model's guarded deltas, then the stored message. */
const answerStream = (turn: PreparedTurn) =>
  Stream.unwrap(
    Effect.gen(function* () {
      const llm = yield* LLM
      const costs = turnCosts(turn)
      const guard = new AnswerGuard(turn.document, prefaceOf(turn.document, turn.history))
      const preface: ReadonlyArray<GuardOutput> = guard.preface === "" ? [] : [{ _tag: "text", text: guard.preface }]
      const model = llm
        .chatStream({
          document: turn.document,
          history: turn.history,
          question: turn.question,
          trends: turn.trends,
          userId: turn.userId,
          onUsage: costs.onUsage
        })
        .pipe(
          Stream.flatMap((part) => Stream.fromIterable(part._tag === "delta" ? guard.push(part.text) : guard.end())),
          // cut (or over): the model's stream is stopped here, which aborts its call
          Stream.takeUntil((out) => out._tag === "complete"),
          Stream.interruptWhen(Effect.andThen(Effect.sleep(Timeouts.llmChatStream), Effect.fail(timedOut))),
          // every call is recorded once the model's stream has ended, whichever way
          Stream.onExit(() => costs.record)
        )
      return Stream.concat(Stream.fromIterable(preface), model).pipe(
        Stream.mapEffect(
          (out): Effect.Effect<ChatStreamEvent, Effect.Error<ReturnType<typeof storeAnswer>>, Effect.Services<ReturnType<typeof storeAnswer>>> =>
            out._tag === "text"
              ? Effect.succeed({ _tag: "delta", text: out.text })
              : Effect.map(storeAnswer(turn, out.answer), (reply) => ({ _tag: "done", reply }))
        )
      )
    })
  )

/**
 * Checks and prepares the question (its failures are the JSON path's: 400, 402, 404, 409 …,
 * answered as an HTTP error before any event), then answers as a stream: a replayed
 * Idempotency-Key sends the stored answer as one delta and its `done`.
 */
export const streamChatMessage = (input: {
  readonly userId: UserId
  readonly contentId: ContentId
  readonly message: string
  readonly idempotencyKey?: string
  readonly requestContext?: RequestContext
}) =>
  Effect.map(prepareTurn(input), (prepared) =>
    prepared._tag === "replay"
      ? Stream.make<ReadonlyArray<ChatStreamEvent>>(
          { _tag: "delta", text: prepared.reply.message.content },
          { _tag: "done", reply: prepared.reply }
        )
      : answerStream(prepared.turn)
  ).pipe(traced("Chat.stream"))
