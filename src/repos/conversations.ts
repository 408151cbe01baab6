/**
 * `conversations` and `messages`: at most one conversation per content item (`content_id`
 * unique; it goes with its content by cascade), scoped to the user in every statement. A message's
 * text is sealed by the caller for its own row (`content_encrypted`, bound to the message id, so
 * ids are chosen before the insert); `seq` orders a conversation's messages. A turn is written as
 * its question and answer together, with the conversation locked (`lockConversation`) so that
 * concurrent turns never interleave.
 */
import { Effect, Option, Schema } from "effect"
import { bytea, decodeRows, SqlClient } from "../services/database.js"
import { ContentId, ConversationId, MessageId, type UserId } from "../services/ids.js"
import { ChatRole } from "../services/llm.js"

const MessageRow = Schema.Struct({
  id: MessageId,
  role: ChatRole,
  contentEncrypted: Schema.Uint8Array,
  createdAt: Schema.Date
})
export type MessageRow = typeof MessageRow.Type
const decodeMessages = decodeRows(MessageRow)

const ConversationRow = Schema.Struct({
  id: ConversationId,
  contentId: ContentId,
  createdAt: Schema.Date
})
const decodeConversations = decodeRows(ConversationRow)

const decodeIds = decodeRows(Schema.Struct({ id: ConversationId }))

const firstId = (rows: unknown) => Effect.map(decodeIds(rows), ([row]) => Option.fromNullishOr(row?.id))

/** The conversation about the user's content item, if anyone has asked yet. */
export const findConversationId = (userId: UserId, contentId: ContentId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id FROM conversations WHERE content_id = ${contentId}::uuid AND user_id = ${userId}::uuid`,
      firstId
    )
  )

/** The last `limit` messages of the conversation, oldest first, sealed. */
export const recentMessages = (userId: UserId, conversationId: ConversationId, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, role, content_encrypted, created_at FROM (
          SELECT id, role, content_encrypted, created_at, seq FROM messages
          WHERE conversation_id = ${conversationId}::uuid AND user_id = ${userId}::uuid
          ORDER BY seq DESC LIMIT ${limit}
        ) recent ORDER BY seq`,
      decodeMessages
    )
  )

/** Every message of the conversation, oldest first, sealed. */
export const messagesOf = (userId: UserId, conversationId: ConversationId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, role, content_encrypted, created_at FROM messages
        WHERE conversation_id = ${conversationId}::uuid AND user_id = ${userId}::uuid
        ORDER BY seq`,
      decodeMessages
    )
  )

/** One message of the user's conversation, sealed; none when it is gone (with its content). */
export const findMessage = (userId: UserId, conversationId: ConversationId, messageId: MessageId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, role, content_encrypted, created_at FROM messages
        WHERE id = ${messageId}::uuid AND conversation_id = ${conversationId}::uuid AND user_id = ${userId}::uuid`,
      (rows) => Effect.map(decodeMessages(rows), ([row]) => Option.fromNullishOr(row))
    )
  )

/**
 * Inside a transaction: the conversation about the user's content item, created if there is none
 * (race-safe: ON CONFLICT DO NOTHING, scoped to the user's own content in SQL), then locked FOR
 * UPDATE until the transaction ends; none when the content is gone or someone else's.
 */
export const lockConversation = (userId: UserId, contentId: ContentId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO conversations (user_id, content_id)
      SELECT user_id, id FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid
      ON CONFLICT (content_id) DO NOTHING`
    return yield* firstId(
      yield* sql`
        SELECT id FROM conversations WHERE content_id = ${contentId}::uuid AND user_id = ${userId}::uuid FOR UPDATE`
    )
  })

export interface SealedTurn {
  readonly id: MessageId
  readonly contentEncrypted: Uint8Array
  readonly createdAt: Date
}

/** Stores a turn: the question and its answer, in one statement. */
export const insertMessagePair = (
  userId: UserId,
  conversationId: ConversationId,
  turn: { readonly question: SealedTurn; readonly answer: SealedTurn }
) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const { question, answer } = turn
    return sql`
      INSERT INTO messages (id, conversation_id, user_id, role, content_encrypted, created_at) VALUES
        (${question.id}::uuid, ${conversationId}::uuid, ${userId}::uuid, 'user', ${bytea(question.contentEncrypted)}, ${question.createdAt}),
        (${answer.id}::uuid, ${conversationId}::uuid, ${userId}::uuid, 'assistant', ${bytea(answer.contentEncrypted)}, ${answer.createdAt})`
  })

/** Marks the conversation updated (a turn was added). */
export const touchConversation = (conversationId: ConversationId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE conversations SET updated_at = now() WHERE id = ${conversationId}::uuid`)

/** Every conversation of the user, oldest first (without messages). */
export const listConversations = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT id, content_id, created_at FROM conversations WHERE user_id = ${userId}::uuid ORDER BY created_at, id`,
      decodeConversations
    )
  )
