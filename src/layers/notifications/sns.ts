/**
 * The live layer: Amazon SNS mobile push. A device is a platform endpoint under the platform
 * application of its platform (SNS_PLATFORM_APPLICATION_ARN_IOS: APNs; _ANDROID: FCM, SNS's
 * `GCM`); a push is a Publish to the endpoint's ARN with one JSON payload per platform.
 *
 * - `register` follows SNS's documented recipe for device tokens: CreatePlatformEndpoint (no
 *   CustomUserData and no attributes: nothing about the person reaches SNS, and the call is
 *   idempotent for the same token), taking the existing endpoint's ARN from SNS's "already exists
 *   with the same Token, but different attributes" refusal; then GetEndpointAttributes, and
 *   SetEndpointAttributes (the token, Enabled=true) when the endpoint is disabled (the app was
 *   reinstalled) or holds another token; an endpoint deleted meanwhile is created again.
 * - `send` publishes PUSH_TEXT and the message's kind and ids, nothing else; the outbox id is the
 *   collapse key (APNs `apns-collapse-id` through the AWS.SNS.MOBILE.APNS.COLLAPSE_ID attribute;
 *   FCM `collapse_key` and the notification's `tag`, so a repeat replaces the first on the device).
 * - `unregister` is DeleteEndpoint, which SNS answers with success for a missing endpoint.
 *
 * The SDK does not retry (`maxAttempts: 1`): each call has the `notifications` timeout, retries
 * and breaker (./resilience.ts). Spans and messages never hold a token, an endpoint ARN or text.
 */
import type * as SNS from "@aws-sdk/client-sns"
import { Effect, Layer, Option } from "effect"
import { AppInfoConfig } from "../../config/app.js"
import { NotificationsConfig } from "../../config/notifications.js"
import {
  type DevicePlatform,
  EndpointDisabled,
  InvalidPushToken,
  Notifications,
  NotificationsUnavailable,
  PUSH_TEXT,
  type PushMessage,
  validatePushToken
} from "../../services/notifications.js"
import { CircuitBreakers } from "../../services/resilience.js"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, lazyClient, tryAws } from "../aws/sdk.js"
import { guarded, type ProviderCallOptions } from "./resilience.js"

/** The subset of the SNS client we use: tests hand in a mocked one. */
export type SnsSend = Pick<SNS.SNSClient, "send">

export interface SnsNotificationsOptions extends ProviderCallOptions {
  /** The APNs (or APNS_SANDBOX) platform application's ARN. */
  readonly iosApplicationArn: string
  /** The FCM (`GCM`) platform application's ARN. */
  readonly androidApplicationArn: string
}

/** The message attribute SNS turns into APNs' `apns-collapse-id` header. */
export const APNS_COLLAPSE_ID_ATTRIBUTE = "AWS.SNS.MOBILE.APNS.COLLAPSE_ID"
/** APNs requires the push type (iOS 13+): an alert is a visible notification. */
export const APNS_PUSH_TYPE_ATTRIBUTE = "AWS.SNS.MOBILE.APNS.PUSH_TYPE"

/** A platform endpoint's ARN (`…:endpoint/<APNS|APNS_SANDBOX|GCM>/<application>/<id>`). */
const ENDPOINT_ARN = /^arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:endpoint\/(?:APNS|APNS_SANDBOX|GCM)\/[A-Za-z0-9_.-]+\/[A-Za-z0-9-]+$/u

/** SNS's refusal of a second endpoint for a token, naming the one that exists. */
const ALREADY_EXISTS = /Endpoint (arn:aws(?:-[a-z]+)*:sns:\S+?) already exists with the same [Tt]oken/u

const THROTTLING = new Set([
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "KMSThrottlingException"
])

const isNotFound = (cause: unknown): boolean => {
  const name = awsErrorName(cause)
  return name === "NotFoundException" || name === "NotFound" || name === "ResourceNotFoundException"
}

const messageOf = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string" ? cause.message : ""

/** Only the error's name and the operation: SNS's own message may quote what was sent. */
const classify = (operation: string, cause: unknown): NotificationsUnavailable => {
  const name = awsErrorName(cause)
  const status = awsHttpStatus(cause)
  const transient =
    THROTTLING.has(name) ||
    name === "InternalErrorException" ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    // no HTTP answer at all: a network error; missing credentials will not appear by retrying
    (status === undefined && name !== "CredentialsProviderError")
  return new NotificationsUnavailable({ message: `SNS ${operation} failed: ${name}`, transient })
}

const disabled = () => new EndpointDisabled({ message: "The push endpoint no longer takes messages" })

/** The FCM v1 message SNS forwards (its `GCM` key): display text, the ids as data, the outbox id as collapse key and tag. */
export const fcmPayload = (message: PushMessage) => {
  const text = PUSH_TEXT[message.kind]
  return {
    fcmV1Message: {
      message: {
        notification: { title: text.title, body: text.body },
        data: pushData(message),
        android: { collapse_key: message.id, notification: { tag: message.id } }
      }
    }
  }
}

/** The APNs payload: the alert text, and the ids beside `aps`. */
export const apnsPayload = (message: PushMessage) => {
  const text = PUSH_TEXT[message.kind]
  return { aps: { alert: { title: text.title, body: text.body }, sound: "default" }, ...pushData(message) }
}

/** Kind and ids, as strings (FCM's data values are strings): all a push says besides its fixed text. */
const pushData = (message: PushMessage): Record<string, string> => ({
  kind: message.kind,
  jobId: message.jobId,
  ...(message.contentId !== undefined ? { contentId: message.contentId } : {})
})

/** Publish's `Message` with MessageStructure "json": one string per platform, and the `default` SNS requires. */
export const publishMessage = (message: PushMessage): string => {
  const apns = JSON.stringify(apnsPayload(message))
  return JSON.stringify({
    default: PUSH_TEXT[message.kind].body,
    APNS: apns,
    APNS_SANDBOX: apns,
    GCM: JSON.stringify(fcmPayload(message))
  })
}

export const makeSnsNotifications = (
  client: ClientSource<SnsSend>,
  options: SnsNotificationsOptions
): (typeof Notifications)["Service"] => {
  /** The client and the SDK's command classes (the module the client came from). */
  const sns = Effect.zip(clientFrom(client), AwsSdk.sns)
  const applicationOf = (platform: DevicePlatform) => (platform === "ios" ? options.iosApplicationArn : options.androidApplicationArn)

  /** One SNS request, guarded (./resilience.ts), as an aws-api span; `recognise` maps the answers that mean something. */
  const call = <A, E extends EndpointDisabled | InvalidPushToken | NotificationsUnavailable = never>(
    operation: string,
    send: (client: SnsSend, sdk: typeof SNS, signal: AbortSignal) => Promise<A>,
    recognise: (cause: unknown) => E | undefined = () => undefined
  ): Effect.Effect<A, E | NotificationsUnavailable> =>
    Effect.flatMap(sns, ([c, sdk]) =>
      tryAws(async (signal) => send(c, sdk, signal), (cause): E | NotificationsUnavailable => recognise(cause) ?? classify(operation, cause))
    ).pipe(
      guarded(`SNS ${operation}`, options),
      Effect.withSpan(`SNS.${operation}`, { attributes: { "rpc.system": "aws-api", "rpc.service": "SNS", "rpc.method": operation } })
    )

  /** The endpoint for the token: created, or the existing one SNS names when its attributes differ. */
  const createEndpoint = (applicationArn: string, token: string, platform: DevicePlatform) =>
    call(
      "CreatePlatformEndpoint",
      async (c, sdk, abortSignal) => {
        try {
          const out = await c.send(new sdk.CreatePlatformEndpointCommand({ PlatformApplicationArn: applicationArn, Token: token }), {
            abortSignal
          })
          return out.EndpointArn
        } catch (cause) {
          const existing = awsErrorName(cause) === "InvalidParameterException" ? ALREADY_EXISTS.exec(messageOf(cause))?.[1] : undefined
          if (existing !== undefined) return existing
          throw cause
        }
      },
      (cause) =>
        awsErrorName(cause) === "InvalidParameterException" && /^Invalid parameter: Token\b/u.test(messageOf(cause))
          ? new InvalidPushToken({ message: `This is not an ${platform === "ios" ? "APNs" : "FCM"} push token` })
          : undefined
    ).pipe(
      Effect.flatMap((arn) =>
        arn !== undefined && ENDPOINT_ARN.test(arn)
          ? Effect.succeed(arn)
          : Effect.fail(new NotificationsUnavailable({ message: "SNS CreatePlatformEndpoint answered no endpoint", transient: false }))
      )
    )

  class Gone {
    readonly _tag = "Gone"
  }

  const register: (typeof Notifications)["Service"]["register"] = (_userId, device) =>
    Effect.gen(function* () {
      // the user id is not sent: SNS keeps nothing about the person
      const valid = yield* Effect.fromResult(validatePushToken(device))
      const applicationArn = applicationOf(valid.platform)
      const arn = yield* createEndpoint(applicationArn, valid.token, valid.platform)
      const attributes = yield* call("GetEndpointAttributes", async (c, sdk, abortSignal) => {
        try {
          return (await c.send(new sdk.GetEndpointAttributesCommand({ EndpointArn: arn }), { abortSignal })).Attributes ?? {}
        } catch (cause) {
          if (isNotFound(cause)) return new Gone()
          throw cause
        }
      })
      // deleted between the two calls (SNS deletes endpoints too): a new one, enabled, with this token
      if (attributes instanceof Gone) return yield* createEndpoint(applicationArn, valid.token, valid.platform)
      if (attributes.Enabled !== "true" || attributes.Token !== valid.token) {
        yield* call("SetEndpointAttributes", (c, sdk, abortSignal) =>
          c.send(new sdk.SetEndpointAttributesCommand({ EndpointArn: arn, Attributes: { Token: valid.token, Enabled: "true" } }), {
            abortSignal
          }))
      }
      return arn
    }).pipe(Effect.withSpan("Notifications.register", { attributes: { "notifications.provider": "sns", "notifications.platform": device.platform } }))

  const send: (typeof Notifications)["Service"]["send"] = (endpoint, platform, message) =>
    (ENDPOINT_ARN.test(endpoint)
      ? call(
        "Publish",
        (c, sdk, abortSignal) =>
          c.send(
            new sdk.PublishCommand({
              TargetArn: endpoint,
              MessageStructure: "json",
              Message: publishMessage(message),
              ...(platform === "ios"
                ? {
                  MessageAttributes: {
                    [APNS_COLLAPSE_ID_ATTRIBUTE]: { DataType: "String", StringValue: message.id },
                    [APNS_PUSH_TYPE_ATTRIBUTE]: { DataType: "String", StringValue: "alert" }
                  }
                }
                : {})
            }),
            { abortSignal }
          ),
        (cause) => {
          const name = awsErrorName(cause)
          // disabled by APNs/FCM feedback, or deleted: this endpoint will never deliver again
          return name === "EndpointDisabledException" || name === "EndpointDisabled" || isNotFound(cause) ? disabled() : undefined
        }
      )
      // not an SNS endpoint (a local one from before a switch of provider): nothing to deliver to here
      : Effect.fail(disabled())).pipe(
      Effect.asVoid,
      Effect.withSpan("Notifications.send", {
        attributes: { "notifications.provider": "sns", "notifications.platform": platform, "notifications.kind": message.kind }
      })
    )

  const unregister: (typeof Notifications)["Service"]["unregister"] = (endpoint) =>
    (ENDPOINT_ARN.test(endpoint)
      ? call("DeleteEndpoint", async (c, sdk, abortSignal) => {
        try {
          await c.send(new sdk.DeleteEndpointCommand({ EndpointArn: endpoint }), { abortSignal })
        } catch (cause) {
          // SNS answers success for a missing endpoint; should it ever say NotFound, that is the same
          if (!isNotFound(cause)) throw cause
        }
      })
      : Effect.void).pipe(Effect.withSpan("Notifications.unregister", { attributes: { "notifications.provider": "sns" } }))

  return { register, send, unregister }
}

/** An SNS client in AWS_REGION, made on first use (the SDK loads then, not at start-up). */
const snsClient = (region: string) =>
  lazyClient(
    Effect.map(
      AwsSdk.sns,
      // we retry ourselves, on our schedule and only what is worth it
      (sdk) => new sdk.SNSClient({ region, maxAttempts: 1 })
    )
  )

/** Notifications through SNS with the platform applications from the settings, behind the `notifications` breaker. */
export const NotificationsSns: Layer.Layer<Notifications, NotificationsUnavailable, NotificationsConfig | AppInfoConfig | CircuitBreakers> =
  Layer.effect(
    Notifications,
    Effect.gen(function* () {
      const settings = yield* NotificationsConfig
      const ios = Option.getOrUndefined(settings.iosApplicationArn)
      const android = Option.getOrUndefined(settings.androidApplicationArn)
      if (ios === undefined || android === undefined) {
        return yield* Effect.fail(
          new NotificationsUnavailable({
            message: "SNS_PLATFORM_APPLICATION_ARN_IOS and SNS_PLATFORM_APPLICATION_ARN_ANDROID must be configured",
            transient: false
          })
        )
      }
      const client = yield* snsClient((yield* AppInfoConfig).awsRegion)
      const breaker = (yield* CircuitBreakers).get("notifications")
      return makeSnsNotifications(client, { iosApplicationArn: ios, androidApplicationArn: android, breaker })
    })
  )
