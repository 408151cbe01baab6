/**
 * The SNS layer against aws-sdk-client-mock (no SNS-protocol server runs locally): a fake that
 * keeps endpoints as SNS does runs the shared contract; then the exact requests (the Publish
 * payload per platform and its collapse ids, CreatePlatformEndpoint with nothing about the
 * person), SNS's documented token management (the existing endpoint named in its refusal, a
 * disabled endpoint re-enabled), the error classification and retries no server can be made to
 * answer, the timeout, the breaker, and what spans carry.
 */
import {
  AuthorizationErrorException,
  CreatePlatformEndpointCommand,
  type CreatePlatformEndpointCommandInput,
  DeleteEndpointCommand,
  EndpointDisabledException,
  GetEndpointAttributesCommand,
  InternalErrorException,
  InvalidParameterException,
  NotFoundException,
  PublishCommand,
  type PublishCommandInput,
  SetEndpointAttributesCommand,
  SNSClient,
  ThrottledException
} from "@aws-sdk/client-sns"
import { describe, expect, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Effect, Layer, Option, Tracer } from "effect"
import { createHash } from "node:crypto"
import { AppInfoConfig } from "../../../src/config/app.js"
import { NotificationsConfig } from "../../../src/config/notifications.js"
import { makeCircuitBreaker } from "../../../src/layers/resilience/circuitBreaker.js"
import {
  APNS_COLLAPSE_ID_ATTRIBUTE,
  APNS_PUSH_TYPE_ATTRIBUTE,
  makeSnsNotifications,
  NotificationsSns
} from "../../../src/layers/notifications/sns.js"
import { CircuitBreakersLive } from "../../../src/layers/resilience/circuitBreaker.js"
import { EndpointDisabled, InvalidPushToken, Notifications, NotificationsUnavailable, PUSH_TEXT } from "../../../src/services/notifications.js"
import { BreakerConfigs, makeRetrySchedule } from "../../../src/services/resilience.js"
import { userIdOf } from "../../support/ids.js"
import { testConfigProvider } from "../../support/settings.js"
import { ANDROID_TOKEN, IOS_TOKEN, message, notificationsContract } from "./contract.js"

const IOS_APP = "arn:aws:sns:eu-west-1:123456789012:app/APNS/serenya-ios"
const ANDROID_APP = "arn:aws:sns:eu-west-1:123456789012:app/GCM/serenya-android"
const MISSING = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/serenya-android/00000000-0000-4000-8000-000000000000"

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } })

const newClient = () => new SNSClient({ region: "eu-west-1", credentials: { accessKeyId: "t", secretAccessKey: "t" }, maxAttempts: 1 })

const fast = makeRetrySchedule({ base: "5 millis", maxRetries: 2, maxDelay: "20 millis" })

interface Endpoint {
  token: string
  enabled: boolean
}

/**
 * SNS as the fake keeps it: one endpoint per (application, token), CreatePlatformEndpoint
 * answering it again, or refusing (naming it) when its attributes differ (it is disabled);
 * Publish to a disabled endpoint EndpointDisabled, to a deleted one NotFound; DeleteEndpoint
 * of anything succeeds.
 */
const fakeSns = () => {
  const client = newClient()
  const mock = mockClient(client)
  const endpoints = new Map<string, Endpoint>()
  const arnOf = (application: string, token: string) => {
    const h = createHash("sha256").update(`${application}\n${token}`).digest("hex")
    const [, , , region, account, app] = application.split(":")
    return `arn:aws:sns:${region}:${account}:endpoint/${app!.slice("app/".length)}/${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
  mock.on(CreatePlatformEndpointCommand).callsFake((input: CreatePlatformEndpointCommandInput) => {
    const arn = arnOf(input.PlatformApplicationArn!, input.Token!)
    const existing = endpoints.get(arn)
    if (existing === undefined) endpoints.set(arn, { token: input.Token!, enabled: true })
    else if (!existing.enabled) {
      throw new InvalidParameterException({
        message: `Invalid parameter: Token Reason: Endpoint ${arn} already exists with the same Token, but different attributes.`,
        ...meta(400)
      })
    }
    return { EndpointArn: arn }
  })
  mock.on(GetEndpointAttributesCommand).callsFake((input: { EndpointArn: string }) => {
    const endpoint = endpoints.get(input.EndpointArn)
    if (endpoint === undefined) throw new NotFoundException({ message: "Endpoint does not exist", ...meta(404) })
    return { Attributes: { Enabled: String(endpoint.enabled), Token: endpoint.token } }
  })
  mock.on(SetEndpointAttributesCommand).callsFake((input: { EndpointArn: string; Attributes: Record<string, string> }) => {
    const endpoint = endpoints.get(input.EndpointArn)
    if (endpoint === undefined) throw new NotFoundException({ message: "Endpoint does not exist", ...meta(404) })
    if (input.Attributes.Token !== undefined) endpoint.token = input.Attributes.Token
    if (input.Attributes.Enabled !== undefined) endpoint.enabled = input.Attributes.Enabled === "true"
    return {}
  })
  mock.on(PublishCommand).callsFake((input: PublishCommandInput) => {
    const endpoint = endpoints.get(input.TargetArn!)
    if (endpoint === undefined) throw new NotFoundException({ message: "Endpoint does not exist", ...meta(404) })
    if (!endpoint.enabled) throw new EndpointDisabledException({ message: "Endpoint is disabled", ...meta(400) })
    return { MessageId: "m" }
  })
  mock.on(DeleteEndpointCommand).callsFake((input: { EndpointArn: string }) => {
    endpoints.delete(input.EndpointArn)
    return {}
  })
  const notifications = makeSnsNotifications(client, { iosApplicationArn: IOS_APP, androidApplicationArn: ANDROID_APP, retry: fast })
  return { client, mock, endpoints, notifications }
}

const published = (mock: ReturnType<typeof fakeSns>["mock"]) => mock.commandCalls(PublishCommand).map((call) => call.args[0].input)

notificationsContract("sns (aws-sdk-client-mock)", () =>
  Effect.acquireRelease(Effect.sync(fakeSns), ({ client, mock }) => Effect.sync(() => (mock.restore(), client.destroy()))).pipe(
    Effect.map(({ mock, endpoints, notifications }) => ({
      notifications,
      disable: (endpoint: string) =>
        Effect.sync(() => {
          const found = endpoints.get(endpoint)
          if (found !== undefined) found.enabled = false
        }),
      delivered: Effect.sync(() =>
        mock
          .commandCalls(PublishCommand)
          .filter((call) => endpoints.get(call.args[0].input.TargetArn!)?.enabled === true)
          .map((call) => ({ endpoint: call.args[0].input.TargetArn!, messageId: JSON.parse(JSON.parse(call.args[0].input.Message!).GCM).fcmV1Message.message.android.collapse_key as string }))
      ),
      tokensSeen: Effect.sync(() =>
        mock.commandCalls(CreatePlatformEndpointCommand).flatMap((call) => [call.args[0].input.Token ?? ""])
      )
    }))
  )
)

/** Runs `body` with a fresh fake, released afterwards. */
const withFake = <A, E>(body: (fake: ReturnType<typeof fakeSns>) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(Effect.sync(fakeSns), body, ({ client, mock }) => Effect.sync(() => (mock.restore(), client.destroy())))

const alice = userIdOf("alice")

describe("SNS requests", () => {
  it.live("register: CreatePlatformEndpoint on the platform's application with the token alone, nothing about the person", () =>
    withFake(({ mock, notifications }) =>
      Effect.gen(function* () {
        const ios = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
        const android = yield* notifications.register(alice, { platform: "android", token: ANDROID_TOKEN })
        expect(ios).toMatch(/^arn:aws:sns:eu-west-1:123456789012:endpoint\/APNS\/serenya-ios\//)
        expect(android).toMatch(/^arn:aws:sns:eu-west-1:123456789012:endpoint\/GCM\/serenya-android\//)
        const inputs = mock.commandCalls(CreatePlatformEndpointCommand).map((call) => call.args[0].input)
        expect(inputs).toEqual([
          { PlatformApplicationArn: IOS_APP, Token: IOS_TOKEN },
          { PlatformApplicationArn: ANDROID_APP, Token: ANDROID_TOKEN }
        ])
        expect(JSON.stringify(mock.calls().map((call) => call.args[0].input))).not.toContain(alice)
        // enabled, with this token: nothing to set
        expect(mock.commandCalls(GetEndpointAttributesCommand)).toHaveLength(2)
        expect(mock.commandCalls(SetEndpointAttributesCommand)).toHaveLength(0)
      })
    ))

  it.live("send: Publish to the endpoint, JSON per platform from the fixed text and the ids, the message id as collapse key", () =>
    withFake(({ mock, notifications }) =>
      Effect.gen(function* () {
        const ios = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
        const android = yield* notifications.register(alice, { platform: "android", token: ANDROID_TOKEN })
        yield* notifications.send(ios, "ios", message())
        const { contentId: _, ...failed } = message({ id: "outbox-2", kind: "job.failed" })
        yield* notifications.send(android, "android", failed)
        const [toIos, toAndroid] = published(mock)
        expect(toIos).toMatchObject({ TargetArn: ios, MessageStructure: "json" })
        expect(toIos!.MessageAttributes).toEqual({
          [APNS_COLLAPSE_ID_ATTRIBUTE]: { DataType: "String", StringValue: message().id },
          [APNS_PUSH_TYPE_ATTRIBUTE]: { DataType: "String", StringValue: "alert" }
        })
        const text = PUSH_TEXT["job.completed"]
        const ids = { kind: "job.completed", jobId: message().jobId, contentId: message().contentId }
        const structure = JSON.parse(toIos!.Message!) as Record<string, string>
        expect(Object.keys(structure).sort()).toEqual(["APNS", "APNS_SANDBOX", "GCM", "default"])
        expect(structure.default).toBe(text.body)
        const apns = { aps: { alert: { title: text.title, body: text.body }, sound: "default" }, ...ids }
        expect(JSON.parse(structure.APNS!)).toEqual(apns)
        expect(JSON.parse(structure.APNS_SANDBOX!)).toEqual(apns)
        expect(JSON.parse(structure.GCM!)).toEqual({
          fcmV1Message: {
            message: {
              notification: { title: text.title, body: text.body },
              data: ids,
              android: { collapse_key: message().id, notification: { tag: message().id } }
            }
          }
        })
        // Android: no APNs attributes; the failed job's push has no content id
        expect(toAndroid).toMatchObject({ TargetArn: android, MessageStructure: "json" })
        expect(toAndroid!.MessageAttributes).toBeUndefined()
        const gcm = JSON.parse((JSON.parse(toAndroid!.Message!) as Record<string, string>).GCM!)
        expect(gcm.fcmV1Message.message.data).toEqual({ kind: "job.failed", jobId: message().jobId })
        expect(gcm.fcmV1Message.message.notification).toEqual(PUSH_TEXT["job.failed"])
        expect(gcm.fcmV1Message.message.android.collapse_key).toBe("outbox-2")
        for (const input of published(mock)) {
          expect(input.Message).not.toContain(IOS_TOKEN)
          expect(input.Message).not.toContain(alice)
        }
      })
    ))

  it.live("unregister: DeleteEndpoint; NotFound is success; a string that is no SNS endpoint calls nothing", () =>
    withFake(({ mock, notifications }) =>
      Effect.gen(function* () {
        const ios = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
        yield* notifications.unregister(ios)
        expect(mock.commandCalls(DeleteEndpointCommand).map((call) => call.args[0].input)).toEqual([{ EndpointArn: ios }])
        mock.on(DeleteEndpointCommand).rejects(new NotFoundException({ message: "Endpoint does not exist", ...meta(404) }))
        yield* notifications.unregister(MISSING)
        yield* notifications.unregister("local:0123")
        expect(mock.commandCalls(DeleteEndpointCommand)).toHaveLength(2)
        expect(yield* Effect.flip(notifications.send(ios, "ios", message()))).toBeInstanceOf(EndpointDisabled)
      })
    ))
})

describe("SNS token management", () => {
  it.live("a disabled endpoint (the app reinstalled): the ARN SNS names in its refusal, re-enabled with the token", () =>
    withFake(({ mock, endpoints, notifications }) =>
      Effect.gen(function* () {
        const ios = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
        endpoints.get(ios)!.enabled = false
        expect(yield* Effect.flip(notifications.send(ios, "ios", message()))).toBeInstanceOf(EndpointDisabled)
        expect(yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })).toBe(ios)
        expect(mock.commandCalls(SetEndpointAttributesCommand).map((call) => call.args[0].input)).toEqual([
          { EndpointArn: ios, Attributes: { Token: IOS_TOKEN, Enabled: "true" } }
        ])
        yield* notifications.send(ios, "ios", message())
        expect(published(mock).filter((input) => input.TargetArn === ios)).toHaveLength(2)
      })
    ))

  it.live("disabled but answered by CreatePlatformEndpoint itself: GetEndpointAttributes shows it, SetEndpointAttributes enables it", () =>
    withFake(({ mock, notifications }) =>
      Effect.gen(function* () {
        const arn = "arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/serenya-ios/11111111-2222-4333-8444-555555555555"
        mock.on(CreatePlatformEndpointCommand).resolves({ EndpointArn: arn })
        mock.on(GetEndpointAttributesCommand).resolves({ Attributes: { Enabled: "false", Token: "old" } })
        mock.on(SetEndpointAttributesCommand).resolves({})
        expect(yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })).toBe(arn)
        expect(mock.commandCalls(SetEndpointAttributesCommand).map((call) => call.args[0].input)).toEqual([
          { EndpointArn: arn, Attributes: { Token: IOS_TOKEN, Enabled: "true" } }
        ])
      })
    ))

  it.live("an endpoint deleted between CreatePlatformEndpoint and GetEndpointAttributes is created again", () =>
    withFake(({ mock, notifications }) =>
      Effect.gen(function* () {
        const first = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/serenya-android/11111111-2222-4333-8444-555555555555"
        const second = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/serenya-android/66666666-7777-4888-8999-000000000000"
        mock.on(CreatePlatformEndpointCommand).resolvesOnce({ EndpointArn: first }).resolves({ EndpointArn: second })
        mock.on(GetEndpointAttributesCommand).rejects(new NotFoundException({ message: "Endpoint does not exist", ...meta(404) }))
        expect(yield* notifications.register(alice, { platform: "android", token: ANDROID_TOKEN })).toBe(second)
        expect(mock.commandCalls(CreatePlatformEndpointCommand)).toHaveLength(2)
      })
    ))

  it.live("SNS refusing the token itself: InvalidPushToken, not echoing it; a refused application: not transient", () =>
    withFake(({ mock, notifications }) =>
      Effect.gen(function* () {
        mock.on(CreatePlatformEndpointCommand).rejectsOnce(
          new InvalidParameterException({ message: `Invalid parameter: Token Reason: ${IOS_TOKEN} is not valid`, ...meta(400) })
        )
        const refused = yield* Effect.flip(notifications.register(alice, { platform: "ios", token: IOS_TOKEN }))
        expect(refused).toBeInstanceOf(InvalidPushToken)
        expect(refused.message).not.toContain(IOS_TOKEN)
        mock.on(CreatePlatformEndpointCommand).rejects(
          new InvalidParameterException({ message: "Invalid parameter: PlatformApplicationArn Reason: no such application", ...meta(400) })
        )
        const misconfigured = yield* Effect.flip(notifications.register(alice, { platform: "ios", token: IOS_TOKEN }))
        expect(misconfigured).toBeInstanceOf(NotificationsUnavailable)
        expect(misconfigured).toMatchObject({ transient: false, message: "SNS CreatePlatformEndpoint failed: InvalidParameterException" })
      })
    ))
})

describe("SNS failures", () => {
  const publishFailing = (error: unknown, times: number) =>
    withFake(({ mock, notifications }) =>
      Effect.gen(function* () {
        const ios = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
        let calls = 0
        mock.on(PublishCommand).callsFake(() => {
          calls++
          if (calls <= times) throw error
          return { MessageId: "m" }
        })
        const result = yield* Effect.result(notifications.send(ios, "ios", message()))
        return { result, calls }
      })
    )

  it.live("EndpointDisabledException: EndpointDisabled at once (not retried), naming no endpoint", () =>
    Effect.gen(function* () {
      const { result, calls } = yield* publishFailing(new EndpointDisabledException({ message: "Endpoint is disabled", ...meta(400) }), 9)
      expect(result._tag === "Failure" && result.failure).toBeInstanceOf(EndpointDisabled)
      expect(calls).toBe(1)
      expect(JSON.stringify(result)).not.toContain("arn:aws")
    }))

  it.live("throttling, 5xx and network errors are retried; the push goes through", () =>
    Effect.gen(function* () {
      for (const error of [
        new ThrottledException({ message: "Rate exceeded", ...meta(400) }),
        new InternalErrorException({ message: "Internal error", ...meta(500) }),
        Object.assign(new Error("socket hang up"), { name: "TimeoutError" })
      ]) {
        const { result, calls } = yield* publishFailing(error, 2)
        expect(result._tag, String(error)).toBe("Success")
        expect(calls).toBe(3)
      }
    }))

  it.live("throttling past the retries: NotificationsUnavailable, transient; a refusal (403): not transient, not retried", () =>
    Effect.gen(function* () {
      const throttled = yield* publishFailing(new ThrottledException({ message: "Rate exceeded", ...meta(400) }), 9)
      expect(throttled.calls).toBe(3)
      expect(throttled.result._tag === "Failure" && throttled.result.failure).toMatchObject({
        _tag: "NotificationsUnavailable",
        transient: true,
        message: "SNS Publish failed: ThrottledException"
      })
      const refused = yield* publishFailing(new AuthorizationErrorException({ message: "not authorized", ...meta(403) }), 9)
      expect(refused.calls).toBe(1)
      expect(refused.result._tag === "Failure" && refused.result.failure).toMatchObject({ _tag: "NotificationsUnavailable", transient: false })
    }))

  it.live("a Publish that never answers is cut by the timeout: NotificationsUnavailable, transient", () =>
    withFake(({ client, mock }) =>
      Effect.gen(function* () {
        const notifications = makeSnsNotifications(client, {
          iosApplicationArn: IOS_APP,
          androidApplicationArn: ANDROID_APP,
          retry: makeRetrySchedule({ base: "5 millis", maxRetries: 1, maxDelay: "5 millis" }),
          timeout: "100 millis"
        })
        const ios = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
        mock.on(PublishCommand).callsFake(() => new Promise(() => undefined))
        const started = Date.now()
        const error = yield* Effect.flip(notifications.send(ios, "ios", message()))
        expect(error).toMatchObject({ _tag: "NotificationsUnavailable", transient: true, message: "SNS Publish timed out" })
        expect(mock.commandCalls(PublishCommand)).toHaveLength(2)
        expect(Date.now() - started).toBeLessThan(2_000)
      })
    ))

  it.live("the notifications breaker opens after its failure threshold: SNS is not called while it is open", () =>
    withFake(({ client, mock }) =>
      Effect.gen(function* () {
        const breaker = yield* makeCircuitBreaker({ ...BreakerConfigs.notifications, name: "notifications-test" })
        const notifications = makeSnsNotifications(client, {
          iosApplicationArn: IOS_APP,
          androidApplicationArn: ANDROID_APP,
          retry: makeRetrySchedule({ base: "1 millis", maxRetries: 0, maxDelay: "1 millis" }),
          breaker
        })
        mock.on(PublishCommand).rejects(new InternalErrorException({ message: "Internal error", ...meta(500) }))
        for (let i = 0; i < BreakerConfigs.notifications.failureThreshold; i++) {
          yield* Effect.flip(notifications.send(MISSING, "android", message()))
        }
        const calls = mock.commandCalls(PublishCommand).length
        expect(calls).toBe(BreakerConfigs.notifications.failureThreshold)
        const error = yield* Effect.flip(notifications.send(MISSING, "android", message()))
        expect(error).toMatchObject({ _tag: "NotificationsUnavailable", transient: true })
        expect(mock.commandCalls(PublishCommand)).toHaveLength(calls)
        expect(yield* breaker.state).toBe("open")
      })
    ))
})

describe("SNS spans", () => {
  it.live("Notifications.<method> spans with SNS.<Op> aws-api spans inside; no token, endpoint ARN or text in any attribute", () =>
    withFake(({ notifications }) =>
      Effect.gen(function* () {
        const spans: Array<{ name: string; parent: string | undefined; attributes: ReadonlyMap<string, unknown> }> = []
        const base = yield* Effect.tracer
        const recording = Tracer.make({
          context: base.context,
          span: (options) => {
            const span = base.span(options)
            spans.push({
              name: options.name,
              parent: Option.getOrUndefined(Option.map(options.parent, (p) => (p._tag === "Span" ? p.name : undefined))),
              attributes: span.attributes
            })
            return span
          }
        })
        const endpoint = yield* Effect.gen(function* () {
          const endpoint = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
          yield* notifications.send(endpoint, "ios", message())
          yield* notifications.unregister(endpoint)
          return endpoint
        }).pipe(Effect.withTracer(recording))
        const names = spans.map((s) => s.name)
        for (const name of ["Notifications.register", "Notifications.send", "Notifications.unregister", "SNS.CreatePlatformEndpoint", "SNS.Publish", "SNS.DeleteEndpoint"]) {
          expect(names).toContain(name)
        }
        const publish = spans.find((s) => s.name === "SNS.Publish")
        expect(publish?.parent).toBe("Notifications.send")
        expect(Object.fromEntries(publish?.attributes ?? [])).toMatchObject({ "rpc.system": "aws-api", "rpc.service": "SNS", "rpc.method": "Publish" })
        const attributes = JSON.stringify(spans.map((s) => Object.fromEntries(s.attributes)))
        expect(attributes).not.toContain(IOS_TOKEN)
        expect(attributes).not.toContain(endpoint)
        expect(attributes).not.toContain(PUSH_TEXT["job.completed"].body)
      })
    ))
})

describe("NotificationsSns (the layer, from its settings)", () => {
  it.live("builds from the notifications slice and AWS_REGION without calling AWS", () =>
    Effect.gen(function* () {
      const notifications = yield* Notifications
      expect(typeof notifications.send).toBe("function")
    }).pipe(
      Effect.provide(
        NotificationsSns.pipe(
          Layer.provide(Layer.mergeAll(NotificationsConfig.layer, AppInfoConfig.layer, CircuitBreakersLive)),
          Layer.provide(
            testConfigProvider({
              NOTIFICATIONS_PROVIDER: "sns",
              SNS_PLATFORM_APPLICATION_ARN_IOS: IOS_APP,
              SNS_PLATFORM_APPLICATION_ARN_ANDROID: ANDROID_APP
            })
          )
        )
      )
    ))

  it.live("without the platform applications it fails to build, naming the variables", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(NotificationsSns)).pipe(
          Effect.provide(Layer.mergeAll(Layer.succeed(NotificationsConfig, {
            provider: "sns",
            iosApplicationArn: Option.none(),
            androidApplicationArn: Option.none(),
            webhookUrl: Option.none()
          }), AppInfoConfig.layer, CircuitBreakersLive)),
          Effect.provide(testConfigProvider())
        )
      )
      expect(error).toBeInstanceOf(NotificationsUnavailable)
      expect(error.message).toContain("SNS_PLATFORM_APPLICATION_ARN_IOS")
    }))
})
