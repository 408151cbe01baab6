/** Handlers of the chat group. */
import { HttpApiBuilder } from "effect/http-api"
import { Effect, Option } from "effect"
import { getConversation, sendChatMessage } from "../../programs/chat.js"
import { NotFound } from "../../services/errors.js"
import { Api } from "../api.js"
import { ChatReplyBody, ConversationBody } from "./chat.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

export const ChatLive = HttpApiBuilder.group(Api, "chat", (handlers) =>
  handlers
    .handle("send", ({ headers, payload }) =>
      Effect.gen(function* () {
        const idempotencyKey = headers["idempotency-key"]
        const reply = yield* classifiedOnly(sendChatMessage({
          userId: yield* currentUserId,
          contentId: payload.contentId,
          message: payload.message,
          ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
          requestContext: yield* auditContext
        }))
        return new ChatReplyBody(reply, { disableChecks: true })
      })
    )
    .handle("conversation", ({ params }) =>
      Effect.gen(function* () {
        const conversation = yield* classifiedOnly(
          getConversation(yield* currentUserId, params.contentId, yield* auditContext)
        )
        if (Option.isNone(conversation)) return yield* new NotFound({ message: "No such content" })
        return new ConversationBody(conversation.value, { disableChecks: true })
      })
    )
)
