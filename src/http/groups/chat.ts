/** Chat about one interpreted document. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { Instant } from "../../services/time.js"
import { ConversationId, MAX_MESSAGE_CHARS } from "../../programs/chat.js"
import { ContentId } from "../../services/ids.js"
import { ChatRole } from "../../services/llm.js"
import { errorResponse } from "../errors.js"
import { IdFromRequest, Text } from "../schemas.js"
import { Authentication } from "../security.js"
import { IdempotencyHeaders } from "./documents.js"

export class ChatMessageRequest extends Schema.Class<ChatMessageRequest>("ChatMessageRequest")({
  contentId: IdFromRequest(ContentId),
  message: Text(1, MAX_MESSAGE_CHARS).check(
    Schema.isPattern(/\S/u, { message: "must not be only whitespace" })
  ).annotate({
    description: `The question: 1 to ${MAX_MESSAGE_CHARS} characters, not only whitespace (surrounding whitespace is trimmed)`
  })
}) {}

export const ChatMessageBody = Schema.Struct({ role: ChatRole, content: Schema.String, createdAt: Instant })

export class ChatReplyBody extends Schema.Class<ChatReplyBody>("ChatReply")({
  conversationId: ConversationId,
  message: Schema.Struct({ role: Schema.Literal("assistant"), content: Schema.String, createdAt: Instant })
}) {}

export class ConversationBody extends Schema.Class<ConversationBody>("Conversation")({
  contentId: ContentId,
  messages: Schema.Array(ChatMessageBody).annotate({ description: "Oldest first" })
}) {}

export class ChatGroup extends HttpApiGroup.make("chat")
  .add(
    HttpApiEndpoint.post("send", "/chat/messages", {
      headers: IdempotencyHeaders,
      payload: ChatMessageRequest,
      success: ChatReplyBody,
      error: [
        errorResponse(402, "The plan's monthly chat messages or the LLM budget are used up"),
        errorResponse(409, "The Idempotency-Key was used with a different request"),
        errorResponse(429, "Too many requests; retry after Retry-After seconds"),
        errorResponse(502, "The model answered badly"),
        errorResponse(503, "The model or the database is unavailable; retry"),
        errorResponse(504, "The model did not answer in time; retry")
      ]
    })
      .annotate(OpenApi.Summary, "Ask a question about a document")
  )
  .add(
    HttpApiEndpoint.get("conversation", "/chat/conversations/:contentId", {
      params: Schema.Struct({ contentId: IdFromRequest(ContentId) }),
      success: ConversationBody,
      error: errorResponse(503, "The conversation cannot be read right now; retry")
    })
      .annotate(OpenApi.Summary, "The conversation about a document, oldest first")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Chat")
{}
