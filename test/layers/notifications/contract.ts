/**
 * The behaviour every Notifications layer owes its callers: memory, the local webhook and SNS
 * each run this suite, so a program tested on the memory layer behaves the same against the real
 * providers. A harness gives the suite the service and what only the provider's side can do or
 * see: stop taking messages for an endpoint, what it delivered, which tokens reached it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result, type Scope } from "effect"
import * as fc from "fast-check"
import {
  type DevicePlatform,
  EndpointDisabled,
  InvalidPushToken,
  type Notifications,
  type PushMessage,
  validatePushToken
} from "../../../src/services/notifications.js"
import { ContentId, JobId } from "../../../src/services/ids.js"
import { userIdOf } from "../../support/ids.js"

export interface NotificationsHarness {
  readonly notifications: (typeof Notifications)["Service"]
  /** The provider stops taking messages for `endpoint` (the app was removed). */
  readonly disable: (endpoint: string) => Effect.Effect<void>
  /** What the provider accepted, in order: endpoint and message id. */
  readonly delivered: Effect.Effect<ReadonlyArray<{ readonly endpoint: string; readonly messageId: string }>>
  /** Everything the provider was handed where a token could be (SNS: each Token; the webhook: each body; memory: nothing). */
  readonly tokensSeen: Effect.Effect<ReadonlyArray<string>>
}

export const IOS_TOKEN = "a1".repeat(32)
export const ANDROID_TOKEN = `fcm_${"Ab9-_:".repeat(25)}`

export const message = (overrides: Partial<PushMessage> = {}): PushMessage => ({
  id: "0b7e7a53-4c36-4c8a-9a53-1f6a0f3d2e11",
  kind: "job.completed",
  jobId: JobId.make("8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9"),
  contentId: ContentId.make("c9bf9e57-1685-4c89-bafb-ff5af830be8a"),
  ...overrides
})

/** Tokens every layer must refuse, with why. */
export const INVALID_TOKENS: ReadonlyArray<readonly [DevicePlatform, string, string]> = [
  ["ios", "", "empty"],
  ["ios", "ab".repeat(20), "too short for APNs"],
  ["ios", `${"ab".repeat(31)}zz`, "not hexadecimal"],
  ["ios", `${"ab".repeat(32)}\n`, "a trailing newline"],
  ["ios", "ab".repeat(101), "too long for APNs"],
  ["android", "short", "too short for FCM"],
  ["android", `${"a".repeat(150)} ${"b".repeat(10)}`, "a space"],
  ["android", `${"a".repeat(150)}/../x`, "a slash"],
  ["android", "a".repeat(4097), "too long for FCM"],
  ["android", IOS_TOKEN.slice(0, 40), "too short (an APNs-looking token)"]
]

const platformArbitrary = fc.constantFrom<DevicePlatform>("ios", "android")

/** Arbitrary strings, and near misses of both shapes: most are refused, some pass. */
const tokenArbitrary = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.stringMatching(/^[0-9a-fA-F]{60,70}$/),
  fc.stringMatching(/^[A-Za-z0-9_:. -]{95,160}$/)
)

export const notificationsContract = <E>(name: string, makeHarness: () => Effect.Effect<NotificationsHarness, E, Scope.Scope>) => {
  const live = (label: string, body: (h: NotificationsHarness) => Effect.Effect<void, unknown>, timeout?: number) =>
    it.live(label, () => Effect.scoped(Effect.flatMap(makeHarness(), body)), timeout)

  describe(`Notifications contract: ${name}`, () => {
    live("register answers the same endpoint for the same token, another for another; never the token itself", ({ notifications }) =>
      Effect.gen(function* () {
        const user = userIdOf("alice")
        const ios = yield* notifications.register(user, { platform: "ios", token: IOS_TOKEN })
        expect(yield* notifications.register(user, { platform: "ios", token: IOS_TOKEN })).toBe(ios)
        // the same token re-registered by another account on the same phone: still the device's endpoint
        expect(yield* notifications.register(userIdOf("bob"), { platform: "ios", token: IOS_TOKEN })).toBe(ios)
        const other = yield* notifications.register(user, { platform: "ios", token: "b2".repeat(32) })
        const android = yield* notifications.register(user, { platform: "android", token: ANDROID_TOKEN })
        expect(new Set([ios, other, android]).size).toBe(3)
        for (const endpoint of [ios, other, android]) {
          expect(endpoint.length).toBeGreaterThan(6)
          expect(endpoint).not.toContain(IOS_TOKEN)
          expect(endpoint).not.toContain(ANDROID_TOKEN)
          expect(endpoint).not.toContain(IOS_TOKEN.slice(0, 16))
        }
      }))

    live("register refuses malformed tokens with InvalidPushToken, never echoing the token", ({ notifications, tokensSeen }) =>
      Effect.gen(function* () {
        for (const [platform, token, why] of INVALID_TOKENS) {
          const error = yield* Effect.flip(notifications.register(userIdOf("alice"), { platform, token }))
          expect(error, why).toBeInstanceOf(InvalidPushToken)
          if (token.length > 0) expect(error.message, why).not.toContain(token)
        }
        const seen = yield* tokensSeen
        expect(INVALID_TOKENS.filter(([, token]) => seen.some((s) => s === token || (token.length >= 6 && s.includes(token))))).toEqual([])
      }))

    live(
      "property: no token outside its platform's shape reaches the provider, and the refusal never contains it",
      ({ notifications, tokensSeen }) =>
        Effect.gen(function* () {
          const refused: Array<string> = []
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(platformArbitrary, tokenArbitrary, async (platform, token) => {
                const valid = Result.isSuccess(validatePushToken({ platform, token }))
                const result = await Effect.runPromise(Effect.result(notifications.register(userIdOf("p"), { platform, token })))
                if (valid) {
                  expect(Result.isSuccess(result)).toBe(true)
                } else {
                  refused.push(token)
                  expect(Result.isFailure(result) && result.failure instanceof InvalidPushToken).toBe(true)
                  if (Result.isFailure(result) && token.length >= 6) {
                    expect(result.failure.message).not.toContain(token)
                    expect(JSON.stringify(result.failure)).not.toContain(JSON.stringify(token).slice(1, -1))
                  }
                }
              }),
              { numRuns: 200 }
            )
          )
          expect(refused.length).toBeGreaterThan(50)
          const seen = yield* tokensSeen
          expect(refused.filter((token) => seen.some((s) => s === token || (token.length >= 6 && s.includes(token))))).toEqual([])
        }),
      60_000
    )

    live("send delivers the message to the endpoint", ({ notifications, delivered }) =>
      Effect.gen(function* () {
        const endpoint = yield* notifications.register(userIdOf("alice"), { platform: "android", token: ANDROID_TOKEN })
        yield* notifications.send(endpoint, "android", message())
        const { contentId: _, ...failed } = message({ id: "5d0c2a44-2b0f-4a7e-9d8b-7b1d3c9e0f21", kind: "job.failed" })
        yield* notifications.send(endpoint, "android", failed)
        expect(yield* delivered).toEqual([
          { endpoint, messageId: message().id },
          { endpoint, messageId: failed.id }
        ])
      }))

    live("an endpoint the provider disabled answers EndpointDisabled, and nothing is delivered", ({ notifications, disable, delivered }) =>
      Effect.gen(function* () {
        const endpoint = yield* notifications.register(userIdOf("alice"), { platform: "ios", token: IOS_TOKEN })
        yield* disable(endpoint)
        const error = yield* Effect.flip(notifications.send(endpoint, "ios", message()))
        expect(error).toBeInstanceOf(EndpointDisabled)
        expect(error.message).not.toContain(endpoint)
        expect(yield* delivered).toEqual([])
      }))

    live("unregister of an endpoint never registered, or twice, succeeds", ({ notifications }) =>
      Effect.gen(function* () {
        const endpoint = yield* notifications.register(userIdOf("alice"), { platform: "ios", token: IOS_TOKEN })
        yield* notifications.unregister(endpoint)
        yield* notifications.unregister(endpoint)
        const result = yield* Effect.result(notifications.unregister("local:0123456789abcdef0123456789abcdef"))
        expect(Result.isSuccess(result)).toBe(true)
      }))
  })
}
