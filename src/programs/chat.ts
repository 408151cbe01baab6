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
import { randomUUID } from "node:crypto"
import { Audit } from "../services/audit.js"
import { CostTracker, recordModelCalls } from "../services/costTracker.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { bytea, decodeRows, SqlClient } from "../services/database.js"
import { Conflict, InvalidRequest, NotFound } from "../services/errors.js"
import {
  ChatRole,
  CRITICAL_ACTION,
  criticalNotice,
  type ChatTurn,
  type InterpretedDocument,
  isOutOfRange,
  LLM,
  LLMUnavailable,
  type ModelCall,
  soundsReassuring
} from "../services/llm.js"
import { loadContent } from "./content.js"
import { ContentId, type UserId } from "../services/ids.js"
import { ensureWithinPlanLimit } from "./subscription.js"
import type { RequestContext } from "../services/audit.js"
import {
  claimIdempotencyKey,
  findIdempotencyKey,
  requestFingerprint,
  sameFingerprint,
  type StoredIdempotencyKey,
  validateIdempotencyKey
} from "./idempotency.js"
import { fnTraced } from "../services/telemetry.js"
import { Timeouts, withTimeout } from "../services/resilience.js"

export const ConversationId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("ConversationId"))
export type ConversationId = typeof ConversationId.Type
export const MessageId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type

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
  readonly message: ChatMessage & { readonly role: "assistant" }
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

const MessageRow = Schema.Struct({
  id: MessageId,
  role: ChatRole,
  contentEncrypted: Schema.Uint8Array,
  createdAt: Schema.Date
})

const ConversationRow = Schema.Struct({
  id: ConversationId,
  contentId: ContentId,
  createdAt: Schema.Date
})

const IdRow = Schema.Struct({ id: ConversationId })

const StoredReply = Schema.Struct({ conversationId: ConversationId, messageId: MessageId })
type StoredKey = StoredIdempotencyKey<typeof StoredReply.Type>

/** Identifies a question: bound to the user, the scope, the key and the content. */
const requestHash = (userId: UserId, key: string, contentId: ContentId, question: string): Buffer =>
  requestFingerprint([userId, CHAT_IDEMPOTENCY_SCOPE, key, contentId, question])

const lookupKey = (userId: UserId, key: string) => findIdempotencyKey(StoredReply, userId, CHAT_IDEMPOTENCY_SCOPE, key)

const openMessages = (userId: UserId, rows: unknown) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const decoded = yield* decodeRows(MessageRow)(rows)
    // The conversation's messages opened in one pass, as the timeline's cards are.
    const contents = yield* crypto.openStrings(
      decoded.map((row) => ({ envelope: row.contentEncrypted, options: sealedMessage(userId, row.id) }))
    )
    return decoded.map((row, i): ChatMessage => ({ role: row.role, content: contents[i]!, createdAt: row.createdAt }))
  })

/** A question after trimming, or InvalidRequest: 1 to 4,000 characters. */
/**
 * An answer that calls the document normal while a result is flagged or a line unread is not
 * passed on (a model can say it; the person would believe it): it is replaced by what is true,
 * counted, with the pointer to a clinician and to the original.
 */
export const withoutFalseReassurance = (document: InterpretedDocument, answer: string): string => {
  const flagged = document.results.filter((r) => isOutOfRange(r.flag)).length
  const unread = document.unreadLines.length
  if ((flagged === 0 && unread === 0) || !soundsReassuring(answer)) return answer
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

export const validateQuestion = (message: string): Effect.Effect<string, InvalidRequest> => {
  const trimmed = message.trim()
  const length = [...trimmed].length
  return length >= 1 && length <= MAX_MESSAGE_CHARS
    ? Effect.succeed(trimmed)
    : Effect.fail(new InvalidRequest({ message: `A message must have 1 to ${MAX_MESSAGE_CHARS} characters` }))
}

const findConversationId = (userId: UserId, contentId: ContentId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`
      SELECT id FROM conversations WHERE content_id = ${contentId}::uuid AND user_id = ${userId}::uuid`
    const [row] = yield* decodeRows(IdRow)(rows)
    return Option.fromNullishOr(row?.id)
  })

/** The last HISTORY_MESSAGES messages of the conversation, oldest first, opened. */
const recentHistory = (userId: UserId, conversationId: ConversationId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`
      SELECT id, role, content_encrypted, created_at FROM (
        SELECT id, role, content_encrypted, created_at, seq FROM messages
        WHERE conversation_id = ${conversationId}::uuid AND user_id = ${userId}::uuid
        ORDER BY seq DESC LIMIT ${HISTORY_MESSAGES}
      ) recent ORDER BY seq`
    const messages = yield* openMessages(userId, rows)
    return messages.map((m): ChatTurn => ({ role: m.role, content: m.content }))
  })

const conversationMessages = (userId: UserId, conversationId: ConversationId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`
      SELECT id, role, content_encrypted, created_at FROM messages
      WHERE conversation_id = ${conversationId}::uuid AND user_id = ${userId}::uuid
      ORDER BY seq`
    return yield* openMessages(userId, rows)
  })

const recordDenied = (userId: UserId, contentId: ContentId, action: "chat.message" | "chat.read", requestContext: RequestContext) =>
  Effect.flatMap(Audit, (audit) =>
    audit.record({ ...requestContext, actorUserId: userId, action, resourceType: "content", resourceId: contentId, outcome: "failure" })
  )

/** The first answer to a key again, re-read from its sealed row; the same key with another question is refused. */
const replay = (userId: UserId, stored: StoredKey, hash: Uint8Array, requestContext: RequestContext) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    if (!sameFingerprint(stored.requestHash, hash)) {
      return yield* new Conflict({ message: "This Idempotency-Key was used with a different request" })
    }
    const { conversationId, messageId } = stored.response
    const rows = yield* sql`
      SELECT id, role, content_encrypted, created_at FROM messages
      WHERE id = ${messageId}::uuid AND conversation_id = ${conversationId}::uuid AND user_id = ${userId}::uuid`
    const [message] = yield* openMessages(userId, rows)
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
    return { conversationId, message: { ...message, role: "assistant" } } satisfies ChatReply
  })

export const sendChatMessage = fnTraced("Chat.send")(function* (input: {
  readonly userId: UserId
  readonly contentId: ContentId
  readonly message: string
  readonly idempotencyKey?: string
  readonly requestContext?: RequestContext
}) {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const llm = yield* LLM
  const costs = yield* CostTracker
  const audit = yield* Audit
  const { userId, contentId } = input
  const requestContext = input.requestContext ?? {}

  const question = yield* validateQuestion(input.message)
  const key = yield* validateIdempotencyKey(input.idempotencyKey)
  const hash = key === undefined ? undefined : requestHash(userId, key, contentId, question)
  if (key !== undefined && hash !== undefined) {
    const earlier = yield* lookupKey(userId, key)
    if (Option.isSome(earlier) && earlier.value.fresh) return yield* replay(userId, earlier.value, hash, requestContext)
  }

  yield* ensureWithinPlanLimit(userId, "chatMessages")
  yield* costs.ensureWithinBudget(userId)

  const content = yield* loadContent(userId, contentId)
  if (Option.isNone(content)) {
    yield* recordDenied(userId, contentId, "chat.message", requestContext)
    return yield* new NotFound({ message: "No such content" })
  }
  const existing = yield* findConversationId(userId, contentId)
  const history = Option.isSome(existing) ? yield* recentHistory(userId, existing.value) : []

  const askedAt = new Date(yield* Clock.currentTimeMillis)
  // Ids first: each sealed turn is bound to its own row.
  const questionId = MessageId.make(randomUUID())
  const answerId = MessageId.make(randomUUID())
  // Every model call is paid for whether or not an answer comes of it, or the turns get stored:
  // each is recorded once the answer has ended, whichever way (within the chat's deadline).
  const calls: Array<ModelCall> = []
  const recordCalls = recordModelCalls(calls, { userId, documentType: "chat", keyPrefix: `chat:${answerId}` })
  const answer = yield* llm
    .chat({ document: content.value.document, history, question, userId, onUsage: (call) => Effect.sync(() => void calls.push(call)) })
    .pipe(
      withTimeout("LLM.chat", Timeouts.llmChat),
      Effect.catchTag("OperationTimedOut", () =>
        Effect.fail(new LLMUnavailable({ message: "The answer took too long; please ask again", retryAfterSeconds: 5 }))
      ),
      Effect.onExit(() => recordCalls),
      Effect.map((answer) => ({ ...answer, answer: withCriticalNotice(content.value.document, history, answer.answer) }))
    )
  const answeredAt = new Date(yield* Clock.currentTimeMillis)
  const sealedQuestion = bytea(yield* crypto.sealString(question, sealedMessage(userId, questionId)))
  const sealedAnswer = bytea(yield* crypto.sealString(answer.answer, sealedMessage(userId, answerId)))

  const stored = yield* sql.withTransaction(
    Effect.gen(function* () {
      // Race-safe find-or-create, scoped to the user's own content in SQL.
      yield* sql`
        INSERT INTO conversations (user_id, content_id)
        SELECT user_id, id FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid
        ON CONFLICT (content_id) DO NOTHING`
      const rows = yield* sql`
        SELECT id FROM conversations WHERE content_id = ${contentId}::uuid AND user_id = ${userId}::uuid FOR UPDATE`
      const [row] = yield* decodeRows(IdRow)(rows)
      // the content was deleted while the model was answering
      if (row === undefined) return yield* new NotFound({ message: "No such content" })
      if (key !== undefined && hash !== undefined) {
        const claimed = yield* claimIdempotencyKey(userId, CHAT_IDEMPOTENCY_SCOPE, key, hash, {
          conversationId: row.id,
          messageId: answerId
        })
        // a concurrent request with the same key won: answer as it did
        if (!claimed) {
          const winner = yield* lookupKey(userId, key)
          if (Option.isSome(winner)) return { _tag: "replay", stored: winner.value, hash } as const
        }
      }
      yield* sql`
        INSERT INTO messages (id, conversation_id, user_id, role, content_encrypted, created_at) VALUES
          (${questionId}::uuid, ${row.id}::uuid, ${userId}::uuid, 'user', ${sealedQuestion}, ${askedAt}),
          (${answerId}::uuid, ${row.id}::uuid, ${userId}::uuid, 'assistant', ${sealedAnswer}, ${answeredAt})`
      // What the plan counts, in a ledger that deleting the document does not touch.
      yield* sql`
        INSERT INTO plan_usage (id, user_id, resource, occurred_at)
        VALUES (${questionId}::uuid, ${userId}::uuid, 'chat_message', ${askedAt})`
      yield* sql`UPDATE conversations SET updated_at = now() WHERE id = ${row.id}::uuid`
      return { _tag: "created", conversationId: row.id } as const
    })
  )
  if (stored._tag === "replay") return yield* replay(userId, stored.stored, stored.hash, requestContext)
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
    message: { role: "assistant", content: answer.answer, createdAt: answeredAt }
  } satisfies ChatReply
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
  const sql = yield* SqlClient.SqlClient
  const audit = yield* Audit
  const owned = yield* sql`SELECT 1 AS n FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid`
  if (owned.length === 0) {
    yield* recordDenied(userId, contentId, "chat.read", requestContext)
    return Option.none<Conversation>()
  }
  const conversationId = yield* findConversationId(userId, contentId)
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
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`
    SELECT id, content_id, created_at FROM conversations WHERE user_id = ${userId}::uuid ORDER BY created_at, id`
  const conversations = yield* decodeRows(ConversationRow)(rows)
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
