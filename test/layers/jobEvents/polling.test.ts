/**
 * JobEvents by polling: each watcher's delays grow by the factor up to the maximum while nothing
 * changes, start over after a change it reports, are each watcher's own, and watches are counted
 * while their scope is open. On the test clock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeJobEventsPolling, POLLING } from "../../../src/layers/jobEvents/polling.js"
import { JobId } from "../../../src/services/ids.js"
import type { JobWatch } from "../../../src/services/jobEvents.js"

const jobId = JobId.make("bc948957-c5e6-4ec8-999b-69480c540942")

/** How long `watch.next` takes on the test clock, in ms (stepping 10 ms at a time). */
const delayOf = (watch: JobWatch) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(watch.next)
    let waited = 0
    while (fiber.pollUnsafe() === undefined) {
      yield* TestClock.adjust("10 millis")
      waited += 10
      if (waited > 60_000) return yield* Effect.die(new Error("next never completed"))
    }
    yield* Fiber.join(fiber)
    return waited
  })

describe("JobEventsPolling", () => {
  it.effect("backs off while nothing changes and starts over after a change", () =>
    Effect.gen(function* () {
      const events = makeJobEventsPolling({ initial: "100 millis", max: "400 millis", factor: 2 })
      const watch = yield* events.watch(jobId)
      const delays: Array<number> = []
      for (let i = 0; i < 5; i++) delays.push(yield* delayOf(watch))
      expect(delays).toEqual([100, 200, 400, 400, 400])
      yield* watch.changed
      expect(yield* delayOf(watch)).toBe(100)
      // another watcher has a backoff of its own
      const other = yield* events.watch(jobId)
      expect(yield* delayOf(other)).toBe(100)
      expect(yield* delayOf(watch)).toBe(200)
    })
  )

  it.effect("counts the watches open, and only those", () =>
    Effect.gen(function* () {
      const events = makeJobEventsPolling()
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* events.watch(jobId)
          yield* events.watch(jobId)
          expect(yield* events.watchers).toBe(2)
        })
      )
      expect(yield* events.watchers).toBe(0)
    })
  )

  it.effect("the deployed cadence: 250 ms after a change, at most 2 s", () =>
    Effect.gen(function* () {
      const watch = yield* makeJobEventsPolling(POLLING).watch(jobId)
      const delays: Array<number> = []
      for (let i = 0; i < 8; i++) delays.push(yield* delayOf(watch))
      expect(delays[0]).toBe(250)
      expect(Math.max(...delays)).toBe(2000)
    })
  )
})
