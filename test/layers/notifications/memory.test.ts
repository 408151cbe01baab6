/**
 * The memory layer against the shared contract, plus what its probe promises the program tests:
 * deliveries read back (distinct and every attempt), repeats collapsed as a device collapses
 * them, scripted failures, re-enabling on register; and the service's own vocabulary (token
 * shapes, the errors' classification, the fixed text).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { makeMemoryNotifications, NotificationsMemory, NotificationsMemoryProbe } from "../../../src/layers/notifications/memory.js"
import { errorInfo, isTransient, retryAfterSeconds } from "../../../src/services/errors.js"
import {
  EndpointDisabled,
  InvalidPushToken,
  Notifications,
  NotificationsUnavailable,
  PUSH_TEXT,
  validatePushToken
} from "../../../src/services/notifications.js"
import { userIdOf } from "../../support/ids.js"
import { ANDROID_TOKEN, INVALID_TOKENS, IOS_TOKEN, message, notificationsContract } from "./contract.js"

notificationsContract("memory", () =>
  Effect.map(makeMemoryNotifications, ({ notifications, probe }) => ({
    notifications,
    disable: probe.disable,
    delivered: Effect.map(probe.attempts, (all) => all.map(({ endpoint, message }) => ({ endpoint, messageId: message.id }))),
    tokensSeen: Effect.succeed([])
  }))
)

const alice = userIdOf("alice")

describe("NotificationsMemory and its probe", () => {
  it.effect("a repeat of a message id to an endpoint is an attempt, not a second notification", () =>
    Effect.gen(function* () {
      const notifications = yield* Notifications
      const probe = yield* NotificationsMemoryProbe
      const phone = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
      const tablet = yield* notifications.register(alice, { platform: "android", token: ANDROID_TOKEN })
      yield* notifications.send(phone, "ios", message())
      yield* notifications.send(phone, "ios", message())
      yield* notifications.send(tablet, "android", message())
      yield* notifications.send(phone, "ios", message({ id: "second" }))
      expect((yield* probe.attempts).map((d) => [d.endpoint, d.platform, d.message.id])).toEqual([
        [phone, "ios", message().id],
        [phone, "ios", message().id],
        [tablet, "android", message().id],
        [phone, "ios", "second"]
      ])
      expect((yield* probe.delivered).map((d) => [d.endpoint, d.message.id])).toEqual([
        [phone, message().id],
        [tablet, message().id],
        [phone, "second"]
      ])
      expect(yield* probe.repeats).toBe(1)
      expect((yield* probe.delivered)[0]!.message).toEqual(message())
      expect(yield* probe.registered).toEqual([phone, tablet].sort())
    }).pipe(Effect.provide(NotificationsMemory)))

  it.effect("failNextSends(n): the next n sends fail transiently and deliver nothing, then sends go through", () =>
    Effect.gen(function* () {
      const notifications = yield* Notifications
      const probe = yield* NotificationsMemoryProbe
      const phone = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
      yield* probe.failNextSends(2)
      for (let i = 0; i < 2; i++) {
        const error = yield* Effect.flip(notifications.send(phone, "ios", message()))
        expect(error).toBeInstanceOf(NotificationsUnavailable)
        expect(error).toMatchObject({ transient: true })
      }
      yield* notifications.send(phone, "ios", message())
      expect(yield* probe.attempts).toHaveLength(1)
    }).pipe(Effect.provide(NotificationsMemory)))

  it.effect("a disabled endpoint is enabled again by registering its token; an unregistered one answers EndpointDisabled", () =>
    Effect.gen(function* () {
      const notifications = yield* Notifications
      const probe = yield* NotificationsMemoryProbe
      const phone = yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })
      yield* probe.disable(phone)
      expect(yield* Effect.flip(notifications.send(phone, "ios", message()))).toBeInstanceOf(EndpointDisabled)
      expect(yield* notifications.register(alice, { platform: "ios", token: IOS_TOKEN })).toBe(phone)
      yield* notifications.send(phone, "ios", message())
      yield* notifications.unregister(phone)
      expect(yield* probe.registered).toEqual([])
      expect(yield* Effect.flip(notifications.send(phone, "ios", message({ id: "after" })))).toBeInstanceOf(EndpointDisabled)
      // an endpoint never seen (a row a test inserted directly) is delivered to
      yield* notifications.send("local:fixture", "android", message())
      expect((yield* probe.delivered).map((d) => d.endpoint)).toEqual([phone, "local:fixture"])
    }).pipe(Effect.provide(NotificationsMemory)))

  it.effect("every build is a fresh provider", () =>
    Effect.gen(function* () {
      const first = yield* Effect.provide(
        Effect.gen(function* () {
          const notifications = yield* Notifications
          yield* notifications.send("local:a", "ios", message())
          return (yield* (yield* NotificationsMemoryProbe).attempts).length
        }),
        NotificationsMemory
      )
      const second = yield* Effect.provide(Effect.flatMap(NotificationsMemoryProbe, (p) => p.attempts), Layer.fresh(NotificationsMemory))
      expect([first, second.length]).toEqual([1, 0])
    }))
})

describe("push tokens and errors", () => {
  it("validatePushToken: the platforms' shapes, refusals naming the platform and never the token", () => {
    expect(Result.isSuccess(validatePushToken({ platform: "ios", token: IOS_TOKEN }))).toBe(true)
    expect(Result.isSuccess(validatePushToken({ platform: "ios", token: IOS_TOKEN.toUpperCase() }))).toBe(true)
    expect(Result.isSuccess(validatePushToken({ platform: "android", token: ANDROID_TOKEN }))).toBe(true)
    // an APNs token is not an FCM one
    expect(Result.isFailure(validatePushToken({ platform: "android", token: IOS_TOKEN }))).toBe(true)
    for (const [platform, token, why] of INVALID_TOKENS) {
      const result = validatePushToken({ platform, token })
      expect(Result.isFailure(result), why).toBe(true)
      if (Result.isFailure(result)) expect(result.failure.message).toBe(`This is not an ${platform === "ios" ? "APNs" : "FCM"} push token`)
    }
  })

  it("InvalidPushToken 400, EndpointDisabled 410 (not retried), NotificationsUnavailable 503 retried only when transient", () => {
    expect(errorInfo(new InvalidPushToken({ message: "x" }))).toMatchObject({ category: "validation", status: 400 })
    const gone = new EndpointDisabled({ message: "x" })
    expect(errorInfo(gone)).toEqual({ code: "PUSH_ENDPOINT_DISABLED", category: "business", recovery: "ignore", status: 410 })
    expect(isTransient(gone)).toBe(false)
    const transient = new NotificationsUnavailable({ message: "x", transient: true })
    const refused = new NotificationsUnavailable({ message: "x", transient: false })
    expect([isTransient(transient), isTransient(refused)]).toEqual([true, false])
    expect(errorInfo(transient)?.status).toBe(503)
    expect(retryAfterSeconds(transient)).toBe(5)
  })

  it("the fixed text says nothing about a document's content", () => {
    for (const { title, body } of Object.values(PUSH_TEXT)) {
      expect(title).toBe("Serenya")
      expect(body.length).toBeLessThan(80)
    }
  })
})
