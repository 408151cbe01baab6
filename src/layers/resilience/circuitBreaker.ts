/**
 * The circuit breaker (services/resilience.ts has its interface and the policy table): closed,
 * open for `timeout` after `failureThreshold` failures within `monitorWindow`, then half-open until
 * `successThreshold` trial calls succeed. Its state is replaced synchronously (no lock: see
 * makeCircuitBreaker) and its time comes from Clock, so TestClock drives every transition; each
 * transition is a metric, a span event and a warning.
 */
import { Cause, Clock, Duration, Effect, Exit, Layer, Record as EffectRecord } from "effect"
import { CircuitOpen, errorInfo } from "../../services/errors.js"
import { type BreakerStateName, recordBreakerState, recordRecovery } from "../../services/metrics.js"
import {
  BreakerConfigs,
  type CircuitBreaker,
  type CircuitBreakerConfig,
  CircuitBreakers,
  type ServiceBreakerName
} from "../../services/resilience.js"
import { currentSpanOption, traced } from "../../services/telemetry.js"

/** Default failure predicate: the request's own fault (validation, business) says nothing about the dependency. */
export const isDependencyFailure = (error: unknown): boolean => {
  const category = errorInfo(error)?.category
  return category !== "validation" && category !== "business"
}

type State =
  | { readonly _tag: "closed"; readonly failures: ReadonlyArray<number> }
  | { readonly _tag: "open"; readonly until: number }
  | { readonly _tag: "half_open"; readonly successes: number }

type Admission = { readonly _tag: "run" } | { readonly _tag: "reject"; readonly retryAfterSeconds: number }

type Outcome = "success" | "failure" | "neutral"

const closed: State = { _tag: "closed", failures: [] }
const run: Admission = { _tag: "run" }

export const makeCircuitBreaker = (config: CircuitBreakerConfig): Effect.Effect<CircuitBreaker> =>
  Effect.gen(function* () {
    const { name } = config
    const timeoutMillis = Duration.toMillis(Duration.fromInputUnsafe(config.timeout))
    const windowMillis = Duration.toMillis(Duration.fromInputUnsafe(config.monitorWindow))
    const isFailure = config.isFailure ?? isDependencyFailure
    // The state is read and replaced synchronously (JavaScript runs one fiber at a time, so a
    // read-and-replace cannot interleave): no lock around it. Each database statement goes
    // through a breaker twice (admit, record); a SynchronizedRef's semaphore cost ~80 µs of CPU
    // per statement at 16 concurrent ones. While closed, a success touches nothing at all.
    let state: State = closed
    yield* recordBreakerState(name, "closed")

    /** What a transition emits (metric, span event, log); the state has already moved. */
    const announce = (from: BreakerStateName, to: State) =>
      Effect.gen(function* () {
        yield* recordBreakerState(name, to._tag)
        const attributes = { "circuit_breaker.name": name, "circuit_breaker.from": from, "circuit_breaker.to": to._tag }
        const span = yield* currentSpanOption
        if (span._tag === "Some") {
          const now = yield* Clock.currentTimeNanos
          span.value.event("circuit_breaker.transition", now, attributes)
        }
        yield* Effect.logWarning("circuit breaker transition").pipe(Effect.annotateLogs(attributes))
      })

    const moveTo = (from: BreakerStateName, to: State): Effect.Effect<void> => {
      state = to
      return announce(from, to)
    }

    // An open breaker whose timeout has passed becomes half-open lazily, when next looked at.
    const refresh = (now: number): Effect.Effect<void> =>
      state._tag === "open" && now >= state.until ? moveTo("open", { _tag: "half_open", successes: 0 }) : Effect.void

    const currentState: Effect.Effect<BreakerStateName> = Effect.clockWith((clock) =>
      Effect.map(refresh(clock.currentTimeMillisUnsafe()), () => state._tag)
    )

    const admit: Effect.Effect<Admission> = Effect.suspend(() =>
      state._tag !== "open"
        ? Effect.succeed(run)
        : Effect.clockWith((clock) => {
          const now = clock.currentTimeMillisUnsafe()
          return Effect.map(refresh(now), (): Admission =>
            state._tag === "open"
              ? { _tag: "reject", retryAfterSeconds: Math.max(1, Math.ceil((state.until - now) / 1000)) }
              : run
          )
        })
    )

    const record = (outcome: Outcome): Effect.Effect<void> =>
      Effect.suspend(() => {
        // a call admitted before the breaker opened says nothing about the open period
        if (outcome === "neutral" || state._tag === "open" || (state._tag === "closed" && outcome === "success")) return Effect.void
        return Effect.clockWith((clock) => {
          const now = clock.currentTimeMillisUnsafe()
          const s = state
          if (s._tag === "closed") {
            const failures = [...s.failures.filter((t) => t > now - windowMillis), now]
            if (failures.length >= config.failureThreshold) return moveTo("closed", { _tag: "open", until: now + timeoutMillis })
            state = { _tag: "closed", failures }
            return Effect.void
          }
          if (s._tag === "half_open") {
            if (outcome === "failure") return moveTo("half_open", { _tag: "open", until: now + timeoutMillis })
            const successes = s.successes + 1
            if (successes >= config.successThreshold) return moveTo("half_open", closed)
            state = { _tag: "half_open", successes }
          }
          return Effect.void
        })
      })

    const classify = <A, E>(exit: Exit.Exit<A, E>): Outcome => {
      if (Exit.isSuccess(exit)) return "success"
      const cause = exit.cause
      if (Cause.hasDies(cause)) return "failure"
      for (const reason of cause.reasons) if (Cause.isFailReason(reason) && isFailure(reason.error)) return "failure"
      // interruptions (and errors isFailure rejects) say nothing about the dependency's health
      return "neutral"
    }

    const rejection = (retryAfterSeconds: number) =>
      new CircuitOpen({
        message: `${name} is temporarily unavailable; retry in ${retryAfterSeconds}s`,
        service: name,
        retryAfterSeconds
      })

    const guarded = <A, E, R, A2, E2, R2>(
      self: Effect.Effect<A, E, R>,
      onOpen: (error: CircuitOpen) => Effect.Effect<A2, E2, R2>,
      countSuccess = true
    ): Effect.Effect<A | A2, E | E2, R | R2> =>
      Effect.flatMap(admit, (admission): Effect.Effect<A | A2, E | E2, R | R2> =>
        admission._tag === "reject"
          ? onOpen(rejection(admission.retryAfterSeconds))
          : Effect.onExit(self, (exit) => {
            const outcome = classify(exit)
            return record(outcome === "success" && !countSuccess ? "neutral" : outcome)
          })
      )

    // `traced`: no span at all with tracing off, and none captures a stack trace (it cost ~5 µs on every database call).
    const spanOptions = { attributes: { "circuit_breaker.name": name } }
    const protectSpan = traced("CircuitBreaker.protect", spanOptions)

    const protect = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
      guarded(self, Effect.fail).pipe(protectSpan)

    const protectFailuresOnly = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
      guarded(self, Effect.fail, false).pipe(protectSpan)

    const protectWithFallback = <A, E, R, A2, E2, R2>(
      self: Effect.Effect<A, E, R>,
      fallback: (error: CircuitOpen) => Effect.Effect<A2, E2, R2>
    ): Effect.Effect<A | A2, E | E2 | CircuitOpen, R | R2> =>
      config.fallbackEnabled
        ? guarded(self, (error) =>
            fallback(error).pipe(
              Effect.onExit((exit) =>
                Exit.hasInterrupts(exit) ? Effect.void : recordRecovery("fallback", Exit.isSuccess(exit))
              )
            )
          ).pipe(traced("CircuitBreaker.protectWithFallback", spanOptions))
        : protect(self)

    return { name, config, state: currentState, protect, protectFailuresOnly, protectWithFallback } satisfies CircuitBreaker
  })

/** One breaker per entry of BreakerConfigs but the database's (the pool holds that one: layers/database/client.ts). */
export const CircuitBreakersLive: Layer.Layer<CircuitBreakers> = Layer.effect(
  CircuitBreakers,
  Effect.map(
    Effect.all(EffectRecord.map(EffectRecord.remove(BreakerConfigs, "database"), makeCircuitBreaker)),
    (breakers) => ({ get: (name: ServiceBreakerName) => breakers[name] })
  )
)
