/** @effect/vitest 4.1.5 + vitest 5: it.effect (TestClock by default), it.live, layer(), scoped resources, it.effect.each. */
import { assert, describe, expect, it, layer } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Fiber, Layer, Ref, Schedule } from "effect"
import { TestClock } from "effect/testing"

class Counter extends Context.Service<Counter, { readonly next: Effect.Effect<number> }>()("Counter") {
  static readonly layer = Layer.effect(Counter, Effect.gen(function*() {
    const ref = yield* Ref.make(0)
    return { next: Ref.updateAndGet(ref, (n) => n + 1) }
  }))
}

describe("TestClock", () => {
  it.effect("starts at 0 and only moves when adjusted", () =>
    Effect.gen(function*() {
      expect(yield* Clock.currentTimeMillis).toBe(0)
      const fiber = yield* Effect.forkChild(Effect.sleep("1 minute").pipe(Effect.as("done")))
      yield* TestClock.adjust("59 seconds")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("done")
      expect(yield* Clock.currentTimeMillis).toBe(60_000)
    }))

  it.effect("setTime + a retry schedule", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const attempts = yield* Ref.make(0)
      const fiber = yield* Ref.updateAndGet(attempts, (n) => n + 1).pipe(
        Effect.flatMap((n) => (n < 3 ? Effect.fail("again") : Effect.succeed(n))),
        Effect.retry(Schedule.exponential("100 millis")),
        Effect.forkChild
      )
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Fiber.join(fiber)).toBe(3)
      expect(new Date(yield* Clock.currentTimeMillis).toISOString()).toBe("2026-01-01T00:00:01.000Z")
    }))

  it.effect("scoped resources are closed after the test (no it.scoped needed)", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      yield* Effect.acquireRelease(Effect.sync(() => log.push("open")), () => Effect.sync(() => log.push("close")))
      assert.deepStrictEqual(log, ["open"])
    }))

  it.live("it.live uses the real clock", () =>
    Effect.gen(function*() {
      expect(yield* Clock.currentTimeMillis).toBeGreaterThan(1_700_000_000_000)
    }))

  it.effect.each([1, 2])("each %s", (n) => Effect.sync(() => expect(n).toBeGreaterThan(0)))
})

layer(Counter.layer)("layer() shares one instance across the block", (it) => {
  it.effect("first", () => Effect.gen(function*() { expect(yield* (yield* Counter).next).toBe(1) }))
  it.effect("second", () => Effect.gen(function*() { expect(yield* (yield* Counter).next).toBe(2) }))
})
