/**
 * The Notifications capability: push messages to a person's phones. A device is registered with
 * the provider once (`register`: its platform and the push token the app got from APNs or FCM)
 * and is known afterwards by the provider's endpoint (an SNS endpoint ARN live; locally
 * `local:<hex>`, a hash of the platform and token); `send` delivers one message to one endpoint.
 *
 * A push passes through Apple's or Google's servers, so a message carries **no health data**:
 * a fixed sentence ("Your document is ready") and ids, never anything read from a document
 * (`PushMessage` admits only the fixed kinds below, and the text is chosen here, not by callers).
 *
 * Delivery is at least once: the program sends from an outbox and marks a row sent after the
 * provider accepted it, so a crash between the two sends it again. Every message carries its
 * outbox id as `id`, which providers use to collapse repeats (APNs `apns-collapse-id`, FCM
 * `collapse_key`, the local webhook's `Idempotency-Key`), so a repeat replaces the first on the
 * device instead of showing twice.
 */
import { Context, type Effect, Result, Schema } from "effect"
import { ErrorInfoId, RetryAfterId, transientFailureInfo } from "./errors.js"
import type { ContentId, JobId, UserId } from "./ids.js"

export const DevicePlatform = Schema.Literals(["ios", "android"])
export type DevicePlatform = typeof DevicePlatform.Type

/** A device as the app registered it: the platform and the push token from APNs or FCM. */
export interface DeviceToken {
  readonly platform: DevicePlatform
  readonly token: string
}

/**
 * The push token's shape per platform, checked before any provider sees it: an APNs device token
 * is hexadecimal (32 bytes today, longer allowed); an FCM registration token is a URL-safe string
 * of about 150–250 characters (`[A-Za-z0-9_:-]`, sometimes with `.`), bounded here at 4,096.
 */
export const PUSH_TOKEN_PATTERNS: Readonly<Record<DevicePlatform, RegExp>> = {
  ios: /^[0-9a-fA-F]{64,200}$/u,
  android: /^[A-Za-z0-9_:.-]{100,4096}$/u
}

/** The longest push token each pattern admits (its upper repetition bound), for body limits and documentation. */
export const PUSH_TOKEN_MAX_LENGTH: Readonly<Record<DevicePlatform, number>> = { ios: 200, android: 4096 }

/** What a push says: one of these kinds, with its ids. Nothing else can be put in a push. */
export const PushKind = Schema.Literals(["job.completed", "job.failed"])
export type PushKind = typeof PushKind.Type

export interface PushMessage {
  /** The outbox row's id: the collapse / idempotency key (see the module comment). */
  readonly id: string
  readonly kind: PushKind
  readonly jobId: JobId
  /** The content the completed job produced. */
  readonly contentId?: ContentId
}

/** The fixed words of each kind: the only text that reaches Apple or Google. */
export const PUSH_TEXT: Readonly<Record<PushKind, { readonly title: string; readonly body: string }>> = {
  "job.completed": { title: "Serenya", body: "Your document is ready." },
  "job.failed": { title: "Serenya", body: "We could not read your document. Open the app to see why." }
}

export class InvalidPushToken extends Schema.TaggedError<InvalidPushToken>()("InvalidPushToken", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "INVALID_PUSH_TOKEN", category: "validation", recovery: "ignore", status: 400 } as const
  }
}

/**
 * The provider no longer delivers to this endpoint (SNS `EndpointDisabled`: the app was removed,
 * the token expired or was revoked). Permanent: the device is removed, not retried.
 */
export class EndpointDisabled extends Schema.TaggedError<EndpointDisabled>()("EndpointDisabled", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "PUSH_ENDPOINT_DISABLED", category: "business", recovery: "ignore", status: 410 } as const
  }
}

export class NotificationsUnavailable extends Schema.TaggedError<NotificationsUnavailable>()("NotificationsUnavailable", {
  message: Schema.String,
  /** Throttling, 5xx and network trouble are worth retrying; a refusal or a misconfiguration is not. */
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("NOTIFICATIONS_UNAVAILABLE", "external", this.transient, 503)
  }
  get [RetryAfterId]() {
    return 5
  }
}

/** The token if it has its platform's shape, or InvalidPushToken (never echoing the token). */
export const validatePushToken = (device: DeviceToken): Result.Result<DeviceToken, InvalidPushToken> =>
  PUSH_TOKEN_PATTERNS[device.platform].test(device.token)
    ? Result.succeed(device)
    : Result.fail(new InvalidPushToken({ message: `This is not an ${device.platform === "ios" ? "APNs" : "FCM"} push token` }))

export class Notifications extends Context.Service<
  Notifications,
  {
    /**
     * Makes the device known to the provider and answers its endpoint (an SNS endpoint ARN live,
     * `local:<hex>` locally, never containing the token). Registering the same token again answers
     * the same endpoint (re-enabled if it was disabled); the user id is not sent to the provider.
     */
    readonly register: (
      userId: UserId,
      device: DeviceToken
    ) => Effect.Effect<string, InvalidPushToken | NotificationsUnavailable>
    /** Delivers one message to one endpoint (see PushMessage); EndpointDisabled when it no longer takes any. */
    readonly send: (
      endpoint: string,
      platform: DevicePlatform,
      message: PushMessage
    ) => Effect.Effect<void, EndpointDisabled | NotificationsUnavailable>
    /** Forgets the endpoint at the provider (a device removed, an account erased); a missing one is no error. */
    readonly unregister: (endpoint: string) => Effect.Effect<void, NotificationsUnavailable>
  }
>()("serenya/Notifications") {}
