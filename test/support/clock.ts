/**
 * TestClock helpers for effects that wait on real promises (mocked AWS clients) between their
 * sleeps: adjusting the clock while such a fiber is still awaiting its promise would leave its
 * next sleep scheduled after the adjustment, and the test would hang. These let the promises
 * settle before every step.
 */
import { Effect, Fiber, TestClock } from "effect"

/** One turn of the real event loop. */
export const tick = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Runs `effect` to its end, advancing the TestClock by `step` whenever it is waiting. */
export const settle = <A, E, R>(effect: Effect.Effect<A, E, R>, step = "1 second" as const, maxSteps = 500) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxSteps && fiber.unsafePoll() === null; i++) {
      yield* tick
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.await(fiber)
  })

/** Spins the real event loop until `condition` holds (bounded), e.g. until a mock saw a call. */
export const until = (condition: () => boolean, maxTicks = 1000) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxTicks && !condition(); i++) yield* tick
    return condition()
  })
