/** Handlers of the chat group. */
import { HttpApiBuilder } from "effect/http-api"
import { Effect, Option, Stream } from "effect"
import { type ChatReply, getConversation, sendChatMessage } from "../../programs/chat.js"
import { type ChatStreamEvent, streamChatMessage } from "../../programs/chatStream.js"
import { NotFound } from "../../services/errors.js"
import { Api } from "../api.js"
import { streamFailureBody } from "../errors.js"
import { ChatReplyBody, ConversationBody, EVENT_STREAM } from "./chat.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

/**
 * Whether the client asked for the stream: `text/event-stream` named in Accept with a non-zero
 * quality (`text/event-stream;q=0` refuses it). Anything else, or no Accept, answers JSON.
 */
export const wantsEventStream = (accept: string | undefined): boolean =>
  accept !== undefined &&
  accept.split(",").some((range) => {
    const [type, ...params] = range.split(";").map((part) => part.trim().toLowerCase())
    if (type !== EVENT_STREAM) return false
    const q = params.find((param) => param.startsWith("q="))
    return q === undefined || Number(q.slice(2)) > 0
  })

const replyJson = (reply: ChatReply) => JSON.stringify(new ChatReplyBody(reply, { disableChecks: true }))

type SseEvent = { readonly event: "delta" | "done" | "error"; readonly data: string; readonly id?: string }

const toSse = (event: ChatStreamEvent): SseEvent =>
  event._tag === "delta"
    ? { event: "delta", data: JSON.stringify({ text: event.text }) }
    : { event: "done", id: event.reply.message.id, data: replyJson(event.reply) }

export const ChatLive = HttpApiBuilder.group(Api, "chat", (handlers) =>
  handlers
    .handle("send", ({ headers, payload }) =>
      Effect.gen(function* () {
        const idempotencyKey = headers["idempotency-key"]
        const input = {
          userId: yield* currentUserId,
          contentId: payload.contentId,
          message: payload.message,
          ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
          requestContext: yield* auditContext
        }
        if (!wantsEventStream(headers.accept)) {
          const reply = yield* classifiedOnly(sendChatMessage(input))
          return new ChatReplyBody(reply, { disableChecks: true })
        }
        // Failures before the answer starts are HTTP errors; after it, the stream's last event.
        const events = yield* classifiedOnly(streamChatMessage(input))
        // the stream runs after the handler has returned: it takes the request's services along
        const context = yield* Effect.context<Stream.Services<typeof events>>()
        return events.pipe(
          Stream.provideContext(context),
          Stream.map(toSse),
          Stream.catchCause((cause) =>
            Stream.fromEffect(Effect.map(streamFailureBody(cause), (body): SseEvent => ({ event: "error", data: JSON.stringify(body) })))
          )
        )
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
