/** Chat about one interpreted document. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { Instant } from "../../services/time.js"
import { ConversationId, MAX_MESSAGE_CHARS } from "../../programs/chat.js"
import { ContentId, MessageId } from "../../services/ids.js"
import { ChatRole } from "../../services/llm.js"
import { errorResponse } from "../errors.js"
import { IdFromRequest, SSE_KEEP_ALIVE, Text } from "../schemas.js"
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

export const CitationBody = Schema.Struct({
  result: Schema.Int.annotate({ description: "The result's index in the content's `document.results`" }),
  name: Schema.String,
  page: Schema.optionalKey(Schema.Int),
  line: Schema.optionalKey(Schema.Int)
}).annotate({ identifier: "Citation", description: "A result row of the document the answer speaks of" })

export class ChatReplyBody extends Schema.Class<ChatReplyBody>("ChatReply")({
  conversationId: ConversationId,
  message: Schema.Struct({
    id: MessageId,
    role: Schema.Literal("assistant"),
    content: Schema.String,
    createdAt: Instant,
    citations: Schema.Array(CitationBody)
  })
}) {}

/** The media type that asks for the answer as Server-Sent Events. */
export const EVENT_STREAM = "text/event-stream"

/**
 * The streamed answer's events. `data` is JSON: `delta` → `{"text": "…"}` (append it), `done` →
 * the ChatReply (the stored message; its content equals the deltas joined), `error` → the uniform
 * error body (the stream ends; nothing was stored). Comments (`:`) keep the connection alive.
 */
export const ChatEvent = Schema.Struct({
  id: Schema.optionalKey(Schema.String),
  event: Schema.Literals(["delta", "done", "error"]),
  data: Schema.String
}).annotate({ identifier: "ChatEvent" })

export const ChatEventStream = HttpApiSchema.StreamSse({ events: ChatEvent, keepAlive: SSE_KEEP_ALIVE }).annotate({
  description:
    "With `Accept: text/event-stream`: `event: delta` with `{\"text\"}` as the model answers, then `event: done` with the ChatReply as stored — or `event: error` with the uniform error body."
})

const ChatSendHeaders = Schema.Struct({
  ...IdempotencyHeaders.fields,
  accept: Schema.optional(
    Schema.String.annotate({
      description: "`text/event-stream` streams the answer as Server-Sent Events; anything else answers JSON"
    })
  )
})

export class ConversationBody extends Schema.Class<ConversationBody>("Conversation")({
  contentId: ContentId,
  messages: Schema.Array(ChatMessageBody).annotate({ description: "Oldest first" })
}) {}

export class ChatGroup extends HttpApiGroup.make("chat")
  .add(
    HttpApiEndpoint.post("send", "/chat/messages", {
      headers: ChatSendHeaders,
      payload: ChatMessageRequest,
      success: [ChatReplyBody, ChatEventStream],
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
      .annotate(
        OpenApi.Description,
        "Answers JSON (the stored ChatReply), or, with `Accept: text/event-stream`, streams the answer as Server-Sent Events " +
          "(`delta` events as the model answers, then `done` with the same ChatReply). Errors found before the answer starts " +
          "(validation, plan limit, unknown content, Idempotency-Key conflict) are HTTP errors either way; a failure while " +
          "streaming is an `error` event with the uniform error body, after which nothing is stored or counted. " +
          "An `Idempotency-Key` replays the stored answer in whichever form is asked. " +
          "Behind the AWS Lambda deployment this path is served through CloudFront with origin access control, which signs " +
          "the request: send `x-amz-content-sha256` with the lowercase hex SHA-256 of the exact request body bytes, or the " +
          "request is refused (403) before it reaches the API. Other deployments ignore the header."
      )
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
