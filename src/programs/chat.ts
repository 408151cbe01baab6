/**
 * Chat about one interpreted document. Each content item has at most one conversation
 * (`conversations.content_id` is unique); every turn is sealed with its own field context
 * (`messages.content_encrypted`, bound to the message id). Nothing is written until the model has
 * answered: then the question and the answer are stored together, in one transaction, with the
 * conversation locked so that concurrent turns never interleave.
 *
 * An `Idempotency-Key` (per user, scope `chat.message`, 24 h) replays the first answer instead of
 * asking again; the key row holds the conversation and message ids only, the answer is re-read.
 */
import { Clock, Effect, Option, Schema } from "effect"
import * as Content from "../repos/content.js"
import * as Conversations from "../repos/conversations.js"
import { claimIdempotencyKey, findIdempotencyKey, type StoredIdempotencyKey } from "../repos/idempotencyKeys.js"
import { inTransaction } from "../repos/transaction.js"
import * as Usage from "../repos/usage.js"
import { Audit } from "../services/audit.js"
import { CostTracker, recordModelCalls } from "../services/costTracker.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { Conflict, InvalidRequest, NotFound } from "../services/errors.js"
import {
  type ChatRole,
  CRITICAL_ACTION,
  criticalNotice,
  type ChatTrend,
  type ChatTurn,
  type InterpretedDocument,
  isOutOfRange,
  LLM,
  LLMUnavailable,
  type ModelCall,
  soundsReassuring
} from "../services/llm.js"
import { loadContent } from "./content.js"
import { documentTrends } from "./trends.js"
import { type ContentId, ConversationId, MessageId, newUuid, type UserId } from "../services/ids.js"
import { ensureWithinPlanLimit } from "./subscription.js"
import type { RequestContext } from "../services/audit.js"
import { requestFingerprint, sameFingerprint, validateIdempotencyKey } from "./idempotency.js"
import { fnTraced } from "../services/telemetry.js"
import { Timeouts, withTimeout } from "../services/resilience.js"

export { ConversationId, MessageId } from "../services/ids.js"

/** Characters (code points) a question may have, after trimming. */
export const MAX_MESSAGE_CHARS = 4_000
/** Messages (questions and answers) of earlier turns the model sees with a new question. */
export const HISTORY_MESSAGES = 20

/** The idempotency scope of chat questions (keys are per user and scope). */
export const CHAT_IDEMPOTENCY_SCOPE = "chat.message"

export interface ChatMessage {
  readonly role: ChatRole
  readonly content: string
  readonly createdAt: Date
}

export interface ChatReply {
  readonly conversationId: ConversationId
  readonly message: ChatMessage & {
    readonly id: MessageId
    readonly role: "assistant"
    readonly citations: ReadonlyArray<Citation>
  }
}

export interface Conversation {
  readonly contentId: ContentId
  /** Oldest first. */
  readonly messages: ReadonlyArray<ChatMessage>
}

export interface StoredConversation extends Conversation {
  readonly conversationId: ConversationId
  readonly createdAt: Date
}

const sealedMessage = (userId: UserId, messageId: MessageId) =>
  fieldContext(userId, "messages", "content_encrypted", messageId)

const StoredReply = Schema.Struct({ conversationId: ConversationId, messageId: MessageId })
type StoredKey = StoredIdempotencyKey<typeof StoredReply.Type>

/** Identifies a question: bound to the user, the scope, the key and the content. */
const requestHash = (userId: UserId, key: string, contentId: ContentId, question: string): Buffer =>
  requestFingerprint([userId, CHAT_IDEMPOTENCY_SCOPE, key, contentId, question])

const lookupKey = (userId: UserId, key: string) => findIdempotencyKey(StoredReply, userId, CHAT_IDEMPOTENCY_SCOPE, key)

/** The messages opened in one pass, as the timeline's cards are. */
const openMessages = (userId: UserId, rows: ReadonlyArray<Conversations.MessageRow>) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const contents = yield* crypto.openStrings(
      rows.map((row) => ({ envelope: row.contentEncrypted, options: sealedMessage(userId, row.id) }))
    )
    return rows.map((row, i): ChatMessage => ({ role: row.role, content: contents[i]!, createdAt: row.createdAt }))
  })

/**
 * An answer that calls the document normal while a result is flagged or a line unread is not
 * passed on (a model can say it; the person would believe it): it is replaced by what is true,
 * counted, with the pointer to a clinician and to the original.
 */
export const withoutFalseReassurance = (document: InterpretedDocument, answer: string): string =>
  mayNotReassure(document) && soundsReassuring(answer) ? falseReassuranceCorrection(document) : answer

/** Whether a document has something (a flagged result, an unread line) no answer may call normal. */
export const mayNotReassure = (document: InterpretedDocument): boolean =>
  document.unreadLines.length > 0 || document.results.some((r) => isOutOfRange(r.flag))

/** What is said instead of an answer that calls the document normal when it is not (see withoutFalseReassurance). */
export const falseReassuranceCorrection = (document: InterpretedDocument): string => {
  const flagged = document.results.filter((r) => isOutOfRange(r.flag)).length
  const unread = document.unreadLines.length
  const parts = [
    flagged === 0
      ? undefined
      : `${flagged} ${flagged === 1 ? "result on this document is" : "results on this document are"} outside the reference range, so I can't say that everything is normal.`,
    unread === 0
      ? undefined
      : `${unread} ${unread === 1 ? "line" : "lines"} of it could not be read; please check ${unread === 1 ? "it" : "them"} on the original document.`,
    "Please talk to your clinician about the flagged results."
  ]
  return parts.filter((p) => p !== undefined).join(" ")
}

/**
 * The first answer in a conversation about a document with critical values starts by telling the
 * person to act now, whatever the question and whichever provider answered: a model may not, and
 * the person may not have read the summary. Once said (it is in the history), it is not repeated.
 */
export const withCriticalNotice = (
  document: InterpretedDocument,
  history: ReadonlyArray<ChatTurn>,
  modelAnswer: string
): string => {
  const answer = withoutFalseReassurance(document, modelAnswer)
  const notice = criticalNotice(document)
  if (notice === undefined) return answer
  if (history.some((turn) => turn.role === "assistant" && turn.content.includes(CRITICAL_ACTION))) return answer
  if (answer.includes(CRITICAL_ACTION)) return answer
  return `${notice}\n\n${answer}`
}

/** A question after trimming, or InvalidRequest: 1 to 4,000 characters. */
export const validateQuestion = (message: string): Effect.Effect<string, InvalidRequest> => {
  const trimmed = message.trim()
  const length = [...trimmed].length
  return length >= 1 && length <= MAX_MESSAGE_CHARS
    ? Effect.succeed(trimmed)
    : Effect.fail(new InvalidRequest({ message: `A message must have 1 to ${MAX_MESSAGE_CHARS} characters` }))
}

/** The last HISTORY_MESSAGES messages of the conversation, oldest first, opened. */
const recentHistory = (userId: UserId, conversationId: ConversationId) =>
  Effect.gen(function* () {
    const messages = yield* openMessages(userId, yield* Conversations.recentMessages(userId, conversationId, HISTORY_MESSAGES))
    return messages.map((m): ChatTurn => ({ role: m.role, content: m.content }))
  })

const conversationMessages = (userId: UserId, conversationId: ConversationId) =>
  Effect.flatMap(Conversations.messagesOf(userId, conversationId), (rows) => openMessages(userId, rows))

const recordDenied = (userId: UserId, contentId: ContentId, action: "chat.message" | "chat.read", requestContext: RequestContext) =>
  Effect.flatMap(Audit, (audit) =>
    audit.record({ ...requestContext, actorUserId: userId, action, resourceType: "content", resourceId: contentId, outcome: "failure" })
  )

/** The first answer to a key again, re-read from its sealed row; the same key with another question is refused. */
const replay = (userId: UserId, contentId: ContentId, stored: StoredKey, hash: Uint8Array, requestContext: RequestContext) =>
  Effect.gen(function* () {
    const audit = yield* Audit
    if (!sameFingerprint(stored.requestHash, hash)) {
      return yield* new Conflict({ message: "This Idempotency-Key was used with a different request" })
    }
    const { conversationId, messageId } = stored.response
    const row = yield* Conversations.findMessage(userId, conversationId, messageId)
    const [message] = yield* openMessages(userId, Option.toArray(row))
    // the conversation was deleted since (with its content)
    if (message === undefined || message.role !== "assistant") return yield* new NotFound({ message: "No such content" })
    yield* audit.record({
      ...requestContext,
      actorUserId: userId,
      action: "chat.read",
      resourceType: "message",
      resourceId: messageId,
      outcome: "success"
    })
    // the fingerprint matched, so this is the same content the first answer was about
    const content = yield* loadContent(userId, contentId)
    const citations = Option.match(content, { onNone: () => [], onSome: (c) => citationsOf(c.document, message.content) })
    return { conversationId, message: { ...message, id: messageId, role: "assistant", citations } } satisfies ChatReply
  })

/** A result row an answer speaks of: its index in the document's results, its name, and where it is printed. */
export interface Citation {
  readonly result: number
  readonly name: string
  readonly page?: number
  readonly line?: number
}

/**
 * The result rows an answer uses: those it names (whole word, any case). Worked out from the
 * answer and the document, never stored, so a replayed answer cites the same rows.
 */
export const citationsOf = (document: InterpretedDocument, answer: string): ReadonlyArray<Citation> => {
  const text = answer.toLowerCase()
  const cited: Array<Citation> = []
  document.results.forEach((result, index) => {
    const name = result.name.toLowerCase()
    if ([...name].length < 2) return
    const at = text.indexOf(name)
    if (at === -1) return
    // a whole word: not "Glucose" inside "Glucosemia", not "ALT" inside "salt"
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")
    if (!new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "u").test(text)) return
    cited.push({
      result: index,
      name: result.name,
      ...(result.page !== undefined ? { page: result.page } : {}),
      ...(result.line !== undefined ? { line: result.line } : {})
    })
  })
  return cited
}

/** A question checked and ready to ask: what the model needs, and what storing the turn needs. */
export interface PreparedTurn {
  readonly userId: UserId
  readonly contentId: ContentId
  readonly question: string
  readonly key: string | undefined
  readonly hash: Uint8Array | undefined
  readonly requestContext: RequestContext
  readonly document: InterpretedDocument
  readonly history: ReadonlyArray<ChatTurn>
  /** The document's tests across the user's documents (programs/trends.ts), for questions about change. */
  readonly trends: ReadonlyArray<ChatTrend>
  readonly askedAt: Date
  readonly questionId: MessageId
  readonly answerId: MessageId
}

/**
 * Everything before the model is asked, shared by the JSON and the streamed answer: the question's
 * shape, a replay for a known Idempotency-Key, the plan's limit and the LLM budget, the content
 * (someone else's reads as missing), the history, and the ids the turns will be sealed under.
 * Nothing is written.
 */
export const prepareTurn = (input: {
  readonly userId: UserId
  readonly contentId: ContentId
  readonly message: string
  readonly idempotencyKey?: string
  readonly requestContext?: RequestContext
}) =>
  Effect.gen(function* () {
    const costs = yield* CostTracker
    const { userId, contentId } = input
    const requestContext = input.requestContext ?? {}

    const question = yield* validateQuestion(input.message)
    const key = yield* validateIdempotencyKey(input.idempotencyKey)
    const hash = key === undefined ? undefined : requestHash(userId, key, contentId, question)
    if (key !== undefined && hash !== undefined) {
      const earlier = yield* lookupKey(userId, key)
      if (Option.isSome(earlier) && earlier.value.fresh) {
        return { _tag: "replay", reply: yield* replay(userId, contentId, earlier.value, hash, requestContext) } as const
      }
    }

    yield* ensureWithinPlanLimit(userId, "chatMessages")
    yield* costs.ensureWithinBudget(userId)

    const content = yield* loadContent(userId, contentId)
    if (Option.isNone(content)) {
      yield* recordDenied(userId, contentId, "chat.message", requestContext)
      return yield* new NotFound({ message: "No such content" })
    }
    const existing = yield* Conversations.findConversationId(userId, contentId)
    const history = Option.isSome(existing) ? yield* recentHistory(userId, existing.value) : []
    const trends = yield* documentTrends(userId, contentId, content.value.document.results)

    const askedAt = new Date(yield* Clock.currentTimeMillis)
    // Ids first: each sealed turn is bound to its own row.
    const questionId = MessageId.make(yield* newUuid)
    const answerId = MessageId.make(yield* newUuid)
    const turn: PreparedTurn = {
      userId,
      contentId,
      question,
      key,
      hash,
      requestContext,
      document: content.value.document,
      history,
      trends,
      askedAt,
      questionId,
      answerId
    }
    return { _tag: "ask", turn } as const
  })

/** Where the model calls of one turn are recorded, once the answer has ended whichever way. */
export const turnCosts = (turn: PreparedTurn) => {
  const calls: Array<ModelCall> = []
  return {
    onUsage: (call: ModelCall) => Effect.sync(() => void calls.push(call)),
    record: recordModelCalls(calls, { userId: turn.userId, documentType: "chat", keyPrefix: `chat:${turn.answerId}` })
  }
}

/**
 * Stores the question and the answer together, counts the question against the plan and audits:
 * all of it or nothing. Uninterruptible: once an answer is complete and checked it is kept, also
 * when the client has gone meanwhile (it is in the conversation when the app comes back).
 */
export const storeTurn = (turn: PreparedTurn, answer: string) =>
  Effect.uninterruptible(
    Effect.gen(function* () {
      const crypto = yield* Crypto
      const audit = yield* Audit
      const { userId, contentId, key, hash, requestContext } = turn
      const answeredAt = new Date(yield* Clock.currentTimeMillis)
      const sealedQuestion = yield* crypto.sealString(turn.question, sealedMessage(userId, turn.questionId))
      const sealedAnswer = yield* crypto.sealString(answer, sealedMessage(userId, turn.answerId))

      const stored = yield* inTransaction(
        Effect.gen(function* () {
          const locked = yield* Conversations.lockConversation(userId, contentId)
          // the content was deleted while the model was answering
          if (Option.isNone(locked)) return yield* new NotFound({ message: "No such content" })
          const conversationId = locked.value
          if (key !== undefined && hash !== undefined) {
            const claimed = yield* claimIdempotencyKey(userId, CHAT_IDEMPOTENCY_SCOPE, key, hash, {
              conversationId,
              messageId: turn.answerId
            })
            // a concurrent request with the same key won: answer as it did
            if (!claimed) {
              const winner = yield* lookupKey(userId, key)
              if (Option.isSome(winner)) return { _tag: "replay", stored: winner.value, hash } as const
            }
          }
          yield* Conversations.insertMessagePair(userId, conversationId, {
            question: { id: turn.questionId, contentEncrypted: sealedQuestion, createdAt: turn.askedAt },
            answer: { id: turn.answerId, contentEncrypted: sealedAnswer, createdAt: answeredAt }
          })
          // What the plan counts, in a ledger that deleting the document does not touch.
          yield* Usage.recordChatMessage(turn.questionId, userId, turn.askedAt)
          yield* Conversations.touchConversation(conversationId)
          return { _tag: "created", conversationId } as const
        })
      )
      if (stored._tag === "replay") return yield* replay(userId, contentId, stored.stored, stored.hash, requestContext)
      const { conversationId } = stored

      yield* audit.record({
        ...requestContext,
        actorUserId: userId,
        action: "chat.message",
        resourceType: "conversation",
        resourceId: conversationId,
        outcome: "success"
      })
      return {
        conversationId,
        message: {
          id: turn.answerId,
          role: "assistant",
          content: answer,
          createdAt: answeredAt,
          citations: citationsOf(turn.document, answer)
        }
      } satisfies ChatReply
    })
  )

export const sendChatMessage = fnTraced("Chat.send")(function* (input: {
  readonly userId: UserId
  readonly contentId: ContentId
  readonly message: string
  readonly idempotencyKey?: string
  readonly requestContext?: RequestContext
}) {
  const llm = yield* LLM
  const prepared = yield* prepareTurn(input)
  if (prepared._tag === "replay") return prepared.reply
  const { turn } = prepared
  // Every model call is paid for whether or not an answer comes of it, or the turns get stored:
  // each is recorded once the answer has ended, whichever way (within the chat's deadline).
  const costs = turnCosts(turn)
  const answer = yield* llm
    .chat({ document: turn.document, history: turn.history, question: turn.question, trends: turn.trends, userId: turn.userId, onUsage: costs.onUsage })
    .pipe(
      withTimeout("LLM.chat", Timeouts.llmChat),
      Effect.catchTag("OperationTimedOut", () =>
        Effect.fail(new LLMUnavailable({ message: "The answer took too long; please ask again", retryAfterSeconds: 5 }))
      ),
      Effect.onExit(() => costs.record),
      Effect.map((answer) => withCriticalNotice(turn.document, turn.history, answer.answer))
    )
  return yield* storeTurn(turn, answer)
})

/**
 * The conversation about one content item, oldest first (empty when nobody has asked yet), or
 * none when the content does not exist or is someone else's.
 */
export const getConversation = fnTraced("Chat.read")(function* (
  userId: UserId,
  contentId: ContentId,
  requestContext: RequestContext = {}
) {
  const audit = yield* Audit
  if (!(yield* Content.contentExists(userId, contentId))) {
    yield* recordDenied(userId, contentId, "chat.read", requestContext)
    return Option.none<Conversation>()
  }
  const conversationId = yield* Conversations.findConversationId(userId, contentId)
  const messages = Option.isNone(conversationId) ? [] : yield* conversationMessages(userId, conversationId.value)
  yield* audit.record({
    ...requestContext,
    actorUserId: userId,
    action: "chat.read",
    ...(Option.isSome(conversationId)
      ? { resourceType: "conversation", resourceId: conversationId.value }
      : { resourceType: "content", resourceId: contentId }),
    outcome: "success"
  })
  return Option.some<Conversation>({ contentId, messages })
})

/** Every conversation of the user with all its messages, opened (the account export). Not audited here. */
export const listConversations = fnTraced("Chat.listAll")(function* (userId: UserId) {
  const conversations = yield* Conversations.listConversations(userId)
  return yield* Effect.forEach(conversations, (conversation) =>
    Effect.map(
      conversationMessages(userId, conversation.id),
      (messages): StoredConversation => ({
        conversationId: conversation.id,
        contentId: conversation.contentId,
        createdAt: conversation.createdAt,
        messages
      })
    )
  )
})
