import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Metric, Option, Random, Ref, Schedule, Tracer } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import {
  CircuitOpen,
  DatabaseUnavailable,
  InvalidRequest,
  NotFound,
  OperationTimedOut,
  UpstreamFailed
} from "../../src/services/errors.js"
import { circuitBreakerState, recoverySuccess } from "../../src/services/metrics.js"
import {
  BreakerConfigs,
  type CircuitBreaker,
  type CircuitBreakerConfig,
  CircuitBreakers,
  makeRetrySchedule,
  Timeouts,
  withRetry,
  withTimeout
} from "../../src/services/resilience.js"
import { CircuitBreakersLive, makeCircuitBreaker } from "../../src/layers/resilience/circuitBreaker.js"

const upstreamDown = new UpstreamFailed({ message: "upstream down", service: "llm", transient: true })

// Metrics are process-global, so every breaker under test gets its own name.
let breakerCount = 0
const breaker = (config: CircuitBreakerConfig) =>
  makeCircuitBreaker({ ...config, name: `${config.name}-test-${++breakerCount}` })

/** Runs `n` failing calls through the breaker, ignoring their outcome. */
const fail = (b: CircuitBreaker, n: number, error: unknown = upstreamDown) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.exit(b.protect(Effect.fail(error))), { discard: true })

const succeed = (b: CircuitBreaker, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.exit(b.protect(Effect.succeed("ok"))), { discard: true })

/** An effect that counts its invocations in `calls`, then fails or succeeds. */
const counted = <A, E>(calls: Ref.Ref<number>, effect: Effect.Effect<A, E>) =>
  Effect.andThen(Ref.update(calls, (n) => n + 1), effect)

const recoveryCount = (strategy: "retry" | "fallback", success: boolean) =>
  Metric.value(
    recoverySuccess.pipe(Metric.withAttributes({ strategy: strategy }), Metric.withAttributes({ success: String(success) }))
  ).pipe(Effect.map((state) => state.count))

const gauge = (service: string, state: "closed" | "open" | "half_open") =>
  Metric.value(circuitBreakerState.pipe(Metric.withAttributes({ service: service }), Metric.withAttributes({ state: state }))).pipe(
    Effect.map((s) => s.value)
  )

describe("circuit breaker", () => {
  it.effect("llm: failureThreshold − 1 failures keep it closed; the failureThreshold-th opens it", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      expect(yield* b.state).toBe("closed")
      yield* fail(b, BreakerConfigs.llm.failureThreshold - 1)
      expect(yield* b.state).toBe("closed")
      yield* fail(b, 1)
      expect(yield* b.state).toBe("open")
    }))

  it.effect("google_oauth: opens after exactly 5 failures, not 4", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.google_oauth)
      yield* fail(b, 4)
      expect(yield* b.state).toBe("closed")
      yield* fail(b, 1)
      expect(yield* b.state).toBe("open")
    }))

  it.effect("failures older than monitorWindow drop out of the count", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 2)
      yield* TestClock.adjust("121 seconds")
      yield* fail(b, 1)
      expect(yield* b.state).toBe("closed")
      yield* TestClock.adjust("60 seconds")
      yield* fail(b, 1)
      expect(yield* b.state).toBe("closed")
      // the failures at 121 s and 181 s are both within 120 s of this one
      yield* TestClock.adjust("59 seconds")
      yield* fail(b, 1)
      expect(yield* b.state).toBe("open")
    }))

  it.effect("open: fails fast with CircuitOpen without running the effect, with the seconds left", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 3)
      const calls = yield* Ref.make(0)
      const call = b.protect(counted(calls, Effect.succeed("ran")))

      const first = yield* Effect.flip(call)
      expect(first).toBeInstanceOf(CircuitOpen)
      expect(first).toMatchObject({ _tag: "CircuitOpen", service: b.name, retryAfterSeconds: 45 })

      yield* TestClock.adjust("10500 millis")
      expect(yield* Effect.flip(call)).toMatchObject({ retryAfterSeconds: 35 })

      yield* TestClock.adjust(Duration.millis(34_400))
      expect(yield* Effect.flip(call)).toMatchObject({ retryAfterSeconds: 1 })
      expect(yield* Ref.get(calls)).toBe(0)
    }))

  it.effect("open → half_open once timeout has passed, and a trial call runs", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 3)
      yield* TestClock.adjust(Duration.millis(44_999))
      expect(yield* b.state).toBe("open")
      yield* TestClock.adjust("1 millis")
      expect(yield* b.state).toBe("half_open")

      const calls = yield* Ref.make(0)
      expect(yield* b.protect(counted(calls, Effect.succeed("ran")))).toBe("ran")
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.effect("the open → half_open transition happens lazily on the next call", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.google_oauth)
      yield* fail(b, 5)
      yield* TestClock.adjust("30 seconds")
      const calls = yield* Ref.make(0)
      yield* b.protect(counted(calls, Effect.void))
      expect(yield* Ref.get(calls)).toBe(1)
      expect(yield* b.state).toBe("half_open")
    }))

  it.effect("half_open: a failure re-opens it for a new timeout period", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 3)
      yield* TestClock.adjust("45 seconds")
      yield* fail(b, 1)
      expect(yield* b.state).toBe("open")
      expect(yield* Effect.flip(b.protect(Effect.void))).toMatchObject({ retryAfterSeconds: 45 })
      yield* TestClock.adjust("44 seconds")
      expect(yield* b.state).toBe("open")
      yield* TestClock.adjust("1 second")
      expect(yield* b.state).toBe("half_open")
    }))

  it.effect("half_open: llm closes after successThreshold (2) successes and forgets old failures", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 3)
      yield* TestClock.adjust("45 seconds")
      yield* succeed(b, 1)
      expect(yield* b.state).toBe("half_open")
      yield* succeed(b, 1)
      expect(yield* b.state).toBe("closed")
      // the 3 failures 45 s ago are still inside the 120 s window, but closing reset it
      yield* fail(b, 2)
      expect(yield* b.state).toBe("closed")
    }))

  it.effect("half_open: google_oauth needs 3 consecutive successes; a failure in between re-opens", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.google_oauth)
      yield* fail(b, 5)
      yield* TestClock.adjust("30 seconds")
      yield* succeed(b, 2)
      expect(yield* b.state).toBe("half_open")
      yield* fail(b, 1)
      expect(yield* b.state).toBe("open")
      yield* TestClock.adjust("30 seconds")
      yield* succeed(b, 2)
      expect(yield* b.state).toBe("half_open")
      yield* succeed(b, 1)
      expect(yield* b.state).toBe("closed")
    }))

  it.effect("validation and business errors do not count as failures, and come out unchanged", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 5, new NotFound({ message: "no such document" }))
      yield* fail(b, 5, new InvalidRequest({ message: "bad field" }))
      expect(yield* b.state).toBe("closed")
      expect(yield* Effect.flip(b.protect(Effect.fail(new NotFound({ message: "x" }))))).toBeInstanceOf(NotFound)
    }))

  it.effect("defects count as failures; interruptions do not", () =>
    Effect.gen(function* () {
      const interrupted = yield* breaker(BreakerConfigs.llm)
      yield* Effect.forEach([1, 2, 3, 4], () => Effect.exit(interrupted.protect(Effect.interrupt)), { discard: true })
      expect(yield* interrupted.state).toBe("closed")

      const dying = yield* breaker(BreakerConfigs.llm)
      yield* Effect.forEach([1, 2, 3], () => Effect.exit(dying.protect(Effect.die("bug"))), { discard: true })
      expect(yield* dying.state).toBe("open")
    }))

  it.effect("a custom isFailure predicate decides what counts", () =>
    Effect.gen(function* () {
      const b = yield* breaker({ ...BreakerConfigs.llm, isFailure: (e) => e instanceof NotFound })
      yield* fail(b, 3, upstreamDown)
      expect(yield* b.state).toBe("closed")
      yield* fail(b, 3, new NotFound({ message: "gone" }))
      expect(yield* b.state).toBe("open")
    }))

  it.effect("a transition adds a circuit_breaker.transition event to the current span", () =>
    Effect.gen(function* () {
      const events: Array<{ name: string; attributes: Record<string, unknown> | undefined }> = []
      const base = yield* Effect.tracer
      const recording = Tracer.make({
        context: base.context,
        span: (...args) => {
          const span = base.span(...args)
          const event = span.event.bind(span)
          span.event = (name, startTime, attributes) => {
            events.push({ name, attributes })
            event(name, startTime, attributes)
          }
          return span
        }
      })
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 3).pipe(Effect.withSpan("test"), Effect.withTracer(recording))
      // Effect also mirrors log lines as span events; only ours matters here
      expect(events.filter((e) => e.name === "circuit_breaker.transition")).toEqual([
        {
          name: "circuit_breaker.transition",
          attributes: { "circuit_breaker.name": b.name, "circuit_breaker.from": "closed", "circuit_breaker.to": "open" }
        }
      ])
    }))

  it.effect("CircuitBreakersLive holds one breaker per config but the database's (the pool holds that one)", () =>
    Effect.gen(function* () {
      const breakers = yield* CircuitBreakers
      expect(breakers.get("llm").config).toEqual(BreakerConfigs.llm)
      expect(breakers.get("google_oauth").name).toBe("google_oauth")
      expect(breakers.get("google_oauth")).toBe(breakers.get("google_oauth"))
      expect(yield* breakers.get("google_oauth").state).toBe("closed")
    }).pipe(Effect.provide(CircuitBreakersLive)))
})

describe("circuit breaker fallback", () => {
  it.effect("when open and fallbackEnabled (llm), the fallback runs and RecoverySuccess{fallback,true} grows", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 3)
      const calls = yield* Ref.make(0)
      const before = yield* recoveryCount("fallback", true)
      const result = yield* b.protectWithFallback(counted(calls, Effect.succeed("primary")), (open) =>
        Effect.succeed(`fallback for ${open.service}`)
      )
      expect(result).toBe(`fallback for ${b.name}`)
      expect(yield* Ref.get(calls)).toBe(0)
      expect((yield* recoveryCount("fallback", true)) - before).toBe(1)
    }))

  it.effect("a failing fallback counts as RecoverySuccess{fallback,false}", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      yield* fail(b, 3)
      const before = yield* recoveryCount("fallback", false)
      const error = yield* Effect.flip(b.protectWithFallback(Effect.succeed(1), () => Effect.fail("no cache")))
      expect(error).toBe("no cache")
      expect((yield* recoveryCount("fallback", false)) - before).toBe(1)
    }))

  it.effect("while closed, protectWithFallback runs the effect, not the fallback", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      expect(yield* b.protectWithFallback(Effect.succeed("primary"), () => Effect.succeed("fallback"))).toBe("primary")
    }))

  it.effect("when fallbackEnabled is false (google_oauth), CircuitOpen comes out and the fallback does not run", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.google_oauth)
      yield* fail(b, 5)
      const fallbacks = yield* Ref.make(0)
      const error = yield* Effect.flip(
        b.protectWithFallback(Effect.succeed("primary"), () => counted(fallbacks, Effect.succeed("fallback")))
      )
      expect(error).toBeInstanceOf(CircuitOpen)
      expect(yield* Ref.get(fallbacks)).toBe(0)
    }))
})

describe("circuit breaker metrics", () => {
  it.effect("the CircuitBreakerState gauge is 1 for the current state and 0 for the others", () =>
    Effect.gen(function* () {
      const b = yield* breaker(BreakerConfigs.llm)
      expect([yield* gauge(b.name, "closed"), yield* gauge(b.name, "open")]).toEqual([1, 0])
      yield* fail(b, 3)
      expect(yield* gauge(b.name, "open")).toBe(1)
      expect(yield* gauge(b.name, "closed")).toBe(0)
      yield* TestClock.adjust("45 seconds")
      yield* b.state
      expect(yield* gauge(b.name, "half_open")).toBe(1)
      expect(yield* gauge(b.name, "open")).toBe(0)
      yield* succeed(b, 2)
      expect([yield* gauge(b.name, "closed"), yield* gauge(b.name, "half_open")]).toEqual([1, 0])
    }))
})

describe("circuit breaker property", () => {
  type Outcome = "success" | "failure" | "ignored"
  const threshold = BreakerConfigs.llm.failureThreshold

  it.effect("with no time passing: open iff counted failures reached the threshold; never runs while open", () =>
    Effect.gen(function* () {
      const context = yield* Effect.context<never>()
      const outcomes = fc.array(fc.constantFrom<Outcome>("success", "failure", "ignored"), { maxLength: 12 })
      const check = (outcomes: ReadonlyArray<Outcome>) =>
        Effect.gen(function* () {
          const b = yield* breaker(BreakerConfigs.llm)
          const calls = yield* Ref.make(0)
          let failures = 0
          let expectedCalls = 0
          for (const outcome of outcomes) {
            const opened = failures >= threshold
            const effect =
              outcome === "success"
                ? Effect.void
                : Effect.fail(outcome === "failure" ? upstreamDown : new NotFound({ message: "nope" }))
            const exit = yield* Effect.exit(b.protect(counted(calls, effect)))
            if (opened) {
              const rejected = Exit.isFailure(exit) && Option.getOrUndefined(Cause.findErrorOption(exit.cause))
              expect(rejected).toBeInstanceOf(CircuitOpen)
            } else {
              expectedCalls++
              if (outcome === "failure") failures++
            }
            expect(yield* b.state).toBe(failures >= threshold ? "open" : "closed")
          }
          expect(yield* Ref.get(calls)).toBe(expectedCalls)
        })
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(outcomes, (sequence) => Effect.runPromiseWith(context)(check(sequence))),
          { numRuns: 100 }
        )
      )
    }))
})

describe("withRetry", () => {
  it.effect("a non-transient error (NotFound) is attempted exactly once", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const fiber = yield* counted(calls, Effect.fail(new NotFound({ message: "x" }))).pipe(
        withRetry("database"),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBeInstanceOf(NotFound)
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.effect("a transient error that keeps failing is attempted 1 + maxRetries times, then comes out", () =>
    Effect.gen(function* () {
      const before = yield* recoveryCount("retry", false)
      const calls = yield* Ref.make(0)
      const fiber = yield* counted(calls, Effect.fail(new DatabaseUnavailable({ message: "down" }))).pipe(
        withRetry("database"),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBeInstanceOf(DatabaseUnavailable)
      expect(yield* Ref.get(calls)).toBe(4)
      expect((yield* recoveryCount("retry", false)) - before).toBe(1)

      const oauthCalls = yield* Ref.make(0)
      const oauth = yield* counted(oauthCalls, Effect.fail(upstreamDown)).pipe(withRetry("google_oauth"), Effect.forkChild)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.await(oauth)
      expect(yield* Ref.get(oauthCalls)).toBe(3)
    }))

  it.effect("a transient error that succeeds on the 3rd attempt returns the success", () =>
    Effect.gen(function* () {
      const before = yield* recoveryCount("retry", true)
      const calls = yield* Ref.make(0)
      const attempt = Ref.updateAndGet(calls, (n) => n + 1).pipe(
        Effect.flatMap((n) => (n < 3 ? Effect.fail(new DatabaseUnavailable({ message: "down" })) : Effect.succeed(n)))
      )
      const fiber = yield* Effect.forkChild(withRetry(attempt, "database"))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe(3)
      expect((yield* recoveryCount("retry", true)) - before).toBe(1)
    }))

  it.effect("a first-time success records no recovery", () =>
    Effect.gen(function* () {
      const before = yield* recoveryCount("retry", true)
      expect(yield* withRetry(Effect.succeed(1), "kms")).toBe(1)
      expect((yield* recoveryCount("retry", true)) - before).toBe(0)
    }))

  it.effect("delays grow: database waits ≥ 80, then ≥ 160, then ≥ 320 ms (base 100 ms, jitter ×0.8–1.2)", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const fiber = yield* counted(calls, Effect.fail(new DatabaseUnavailable({ message: "down" }))).pipe(
        withRetry("database"),
        Effect.forkChild
      )
      const attemptsAt = (millis: number) =>
        Effect.andThen(TestClock.setTime(millis), Ref.get(calls))
      expect(yield* attemptsAt(0)).toBe(1)
      expect(yield* attemptsAt(79)).toBe(1)
      expect(yield* attemptsAt(120)).toBe(2)
      // the 2nd attempt ran in [80, 120] ms and the next delay is in [160, 240] ms
      expect(yield* attemptsAt(239)).toBe(2)
      expect(yield* attemptsAt(360)).toBe(3)
      expect(yield* attemptsAt(559)).toBe(3)
      expect(yield* attemptsAt(840)).toBe(4)
      yield* Fiber.await(fiber)
      expect(yield* Ref.get(calls)).toBe(4)
    }))

  it.effect("policy delays are jittered within ×0.8–1.2 of exponential backoff and capped at maxDelay", () =>
    Effect.gen(function* () {
      const schedule = makeRetrySchedule({ base: "100 millis", maxRetries: 6, maxDelay: "2 seconds" })
      // Step the schedule as a retry would, up to a 7th step (which ends it): the 6 retry delays
      const delaysOf = Effect.gen(function* () {
        const step = yield* Schedule.toStep(schedule)
        const delays: Array<number> = []
        let now = 0
        for (let i = 0; i < 7; i++) {
          const exit = yield* Effect.exit(step(now, undefined))
          if (Exit.isFailure(exit)) break
          const [, delay] = exit.value
          delays.push(Duration.toMillis(delay))
          now += Duration.toMillis(delay)
        }
        return delays
      })
      const runs = yield* Effect.forEach(Array.from({ length: 20 }), () => delaysOf).pipe(Random.withSeed("resilience"))
      for (const delays of runs) {
        expect(delays).toHaveLength(6)
        delays.forEach((delay, i) => {
          const nominal = 100 * 2 ** i
          expect(delay).toBeGreaterThanOrEqual(Math.min(nominal * 0.8, 2000))
          expect(delay).toBeLessThanOrEqual(Math.min(nominal * 1.2, 2000))
        })
      }
      // without jitter every run would wait exactly 100 ms first
      expect(new Set(runs.map((delays) => delays[0])).size).toBeGreaterThan(1)
    }))

  it.effect("maxDelay caps each delay (base 1 s, cap 1.5 s: 6 attempts within 7.2 s instead of ~31 s)", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const schedule = makeRetrySchedule({ base: "1 second", maxRetries: 5, maxDelay: "1500 millis" })
      const fiber = yield* counted(calls, Effect.fail(upstreamDown)).pipe(withRetry(schedule), Effect.forkChild)
      yield* TestClock.adjust("7200 millis")
      expect(yield* Ref.get(calls)).toBe(6)
      expect(Exit.isFailure(yield* Fiber.await(fiber))).toBe(true)
    }))
})

describe("withTimeout", () => {
  it.effect("fails with OperationTimedOut once the duration has passed", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.never.pipe(withTimeout("storage.put", Timeouts.storage), Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("9999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(OperationTimedOut)
      expect(error).toMatchObject({ operation: "storage.put", message: "storage.put timed out after 10s" })
    }))

  it.effect("passes through a result that arrives in time, and its own errors", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.sleep("1 second").pipe(
        Effect.as("done"),
        withTimeout("kms.decrypt", Timeouts.kms),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("done")
      const error = yield* Effect.flip(withTimeout(Effect.fail(new InvalidRequest({ message: "x" })), "db", "1 second"))
      expect(error).toBeInstanceOf(InvalidRequest)
    }))
})
