/**
 * TestClock helpers for effects that wait on real promises (mocked AWS clients) between their
 * sleeps. Adjusting the clock blindly while a fiber still awaits its promise either leaves its
 * next sleep unscheduled (a hang) or, under load, moves time further than the code waited (a
 * breaker's window silently expires). These advance the clock only to the next pending sleep,
 * and only when the fiber is actually sleeping.
 */
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

/** One turn of the real event loop. */
export const tick = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * When the pending sleeps end (ms). Effect 4 dropped `TestClock.sleeps`; its TestClock still keeps
 * them (the `State.sleeps` of its docs) in a `sleeps` array of `{ timestamp }`, read here. If a
 * release changes that, this fails loudly instead of letting the helpers guess.
 */
const sleepTimestamps = TestClock.testClockWith((clock) =>
  Effect.sync(() => {
    const sleeps = (clock as unknown as { readonly sleeps?: ReadonlyArray<{ readonly timestamp: number }> }).sleeps
    if (!Array.isArray(sleeps)) throw new Error("test/support/clock.ts: the TestClock no longer exposes its pending sleeps")
    return sleeps.map((sleep) => sleep.timestamp)
  })
)

const pendingSleeps = Effect.map(sleepTimestamps, (sleeps) => [...sleeps].sort((a, b) => a - b).join(","))

/** Moves the TestClock to the earliest pending sleep. */
const wakeNextSleeper = Effect.gen(function* () {
  const sleeps = yield* sleepTimestamps
  if (sleeps.length === 0) return
  const next = Math.min(...sleeps)
  const now = yield* Clock.currentTimeMillis
  yield* TestClock.adjust(Math.max(0, next - now))
})

/**
 * Runs `effect` to its end. Real promises get event-loop turns until nothing changes for a few
 * turns; only then is the clock moved, exactly to the next pending sleep (a retry delay, or a
 * timeout when a promise truly never settles).
 */
export const settle = <A, E, R>(effect: Effect.Effect<A, E, R>, maxTicks = 20_000) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    let last = ""
    let quiet = 0
    for (let i = 0; i < maxTicks && fiber.pollUnsafe() === undefined; i++) {
      yield* tick
      const now = yield* pendingSleeps
      quiet = now === last ? quiet + 1 : 0
      last = now
      if (quiet >= 3 && fiber.pollUnsafe() === undefined) {
        yield* wakeNextSleeper
        quiet = 0
      }
    }
    return yield* Fiber.await(fiber)
  })

/** Spins the real event loop until `condition` holds (bounded), e.g. until a mock saw a call. */
export const until = (condition: () => boolean, maxTicks = 1000) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxTicks && !condition(); i++) yield* tick
    return condition()
  })
