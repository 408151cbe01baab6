/**
 * The local layer (the `npm start` default): no push service. `register` answers a stable
 * `local:<hex>` endpoint derived from (platform, token) by a hash, never the token itself; `send`
 * POSTs the push as JSON to NOTIFY_WEBHOOK_URL — what a device would show and the ids, nothing
 * else:
 *
 *     { endpoint, platform, title, body, data: { kind, jobId, contentId? } }
 *
 * with `Idempotency-Key: <message id>` (the outbox id: a repeat carries the same key, see
 * src/services/notifications.ts). Each POST has the `notifications` timeout, retries and breaker
 * (./resilience.ts); 429 and 5xx are transient, 410 means the endpoint is gone (EndpointDisabled),
 * another answer is a refusal. Without NOTIFY_WEBHOOK_URL, `send` logs one line (kind and ids) and
 * succeeds.
 */
import { Effect, Layer, Option, Redacted } from "effect"
import { createHash } from "node:crypto"
import { NotificationsConfig } from "../../config/notifications.js"
import {
  type DevicePlatform,
  EndpointDisabled,
  Notifications,
  NotificationsUnavailable,
  PUSH_TEXT,
  validatePushToken
} from "../../services/notifications.js"
import { CircuitBreakers } from "../../services/resilience.js"
import { currentTraceparent } from "../../services/telemetry.js"
import { guarded, type ProviderCallOptions } from "./resilience.js"

/** The stable local endpoint of a (platform, token): a hash, never the token itself. */
export const localEndpoint = (platform: DevicePlatform, token: string): string =>
  `local:${createHash("sha256").update(`serenya-push\n${platform}\n${token}`).digest("hex").slice(0, 32)}`

export interface WebhookNotificationsOptions extends ProviderCallOptions {
  /** Where each push is POSTed; none: one log line per push. */
  readonly url: Option.Option<Redacted.Redacted<string>>
}

export const makeWebhookNotifications = (options: WebhookNotificationsOptions): (typeof Notifications)["Service"] => {
  const span = (name: string, attributes: Record<string, string> = {}) =>
    Effect.withSpan(name, { attributes: { "notifications.provider": "local", ...attributes } })

  const post = (url: string, payload: string, idempotencyKey: string) =>
    Effect.flatMap(currentTraceparent, (traceparent) =>
      Effect.tryPromise({
        try: async (signal) => {
          const response = await fetch(url, {
            method: "POST",
            signal,
            headers: {
              "content-type": "application/json",
              "idempotency-key": idempotencyKey,
              ...(Option.isSome(traceparent) ? { traceparent: traceparent.value } : {})
            },
            body: payload
          })
          // the answer's body says nothing we use: release the connection
          await response.body?.cancel().catch(() => undefined)
          return response.status
        },
        // no answer at all (refused, reset, DNS): worth another attempt
        catch: () => new NotificationsUnavailable({ message: "The push webhook could not be reached", transient: true })
      })
    ).pipe(
      Effect.flatMap((status): Effect.Effect<void, EndpointDisabled | NotificationsUnavailable> => {
        if (status >= 200 && status < 300) return Effect.void
        if (status === 410) return Effect.fail(new EndpointDisabled({ message: "The push endpoint no longer takes messages" }))
        return Effect.fail(
          new NotificationsUnavailable({ message: `The push webhook answered ${status}`, transient: status === 429 || status >= 500 })
        )
      }),
      guarded("The push webhook", options),
      span("Webhook.POST")
    )

  return {
    register: (_userId, device) =>
      Effect.map(Effect.fromResult(validatePushToken(device)), (valid) => localEndpoint(valid.platform, valid.token)).pipe(
        span("Notifications.register", { "notifications.platform": device.platform })
      ),

    send: (endpoint, platform, message) => {
      const ids = { kind: message.kind, jobId: message.jobId, ...(message.contentId !== undefined ? { contentId: message.contentId } : {}) }
      const sent = Option.match(options.url, {
        onNone: () => Effect.logInfo("push not sent: NOTIFY_WEBHOOK_URL is unset").pipe(Effect.annotateLogs({ ...ids, messageId: message.id })),
        onSome: (url) =>
          post(
            Redacted.value(url),
            JSON.stringify({ endpoint, platform, ...PUSH_TEXT[message.kind], data: ids }),
            message.id
          )
      })
      return sent.pipe(span("Notifications.send", { "notifications.platform": platform, "notifications.kind": message.kind }))
    },

    // the local provider keeps nothing per device
    unregister: () => Effect.void.pipe(span("Notifications.unregister"))
  }
}

/** Notifications to NOTIFY_WEBHOOK_URL (or the log), behind the `notifications` breaker. */
export const NotificationsWebhook: Layer.Layer<Notifications, never, NotificationsConfig | CircuitBreakers> = Layer.effect(
  Notifications,
  Effect.gen(function* () {
    const settings = yield* NotificationsConfig
    const breaker = (yield* CircuitBreakers).get("notifications")
    return makeWebhookNotifications({ url: settings.webhookUrl, breaker })
  })
)
