/**
 * Resilience combinators: named retry schedules (only transient errors are retried), named
 * operation timeouts, and a circuit breaker of our own whose state is replaced synchronously (no
 * lock: see makeCircuitBreaker) and whose time comes from Clock, so TestClock can drive every
 * transition.
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Exit,
  Layer,
  Record as EffectRecord,
  Schedule
} from "effect"
import { dual } from "effect/Function"
import { CircuitOpen, errorInfo, isTransient, OperationTimedOut } from "./errors.js"
import { type BreakerStateName, recordBreakerState, recordRecovery } from "./metrics.js"
import { currentSpanOption, traced } from "./telemetry.js"

// ---------------------------------------------------------------------------------------------
// Retries

export interface RetryScheduleOptions {
  /** Delay before the first retry; each next one doubles (before jitter). */
  readonly base: Duration.Input
  /** Retries after the first attempt, so an operation runs at most 1 + maxRetries times. */
  readonly maxRetries: number
  /** Cap on a single delay, applied after jitter. */
  readonly maxDelay: Duration.Input
}

export type RetrySchedule = Schedule.Schedule<unknown, unknown>

/** Exponential backoff from `base`, jittered (×0.8–1.2), each delay capped at `maxDelay`, `maxRetries` retries. */
export const makeRetrySchedule = (options: RetryScheduleOptions): RetrySchedule => {
  const maxDelay = Duration.fromInputUnsafe(options.maxDelay)
  const backoff = Schedule.exponential(options.base).pipe(
    Schedule.jittered,
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, maxDelay)))
  )
  // both must want another attempt (so at most maxRetries); the delay is the larger one, the backoff's
  return Schedule.max([backoff, Schedule.recurs(options.maxRetries)])
}

export const RetryPolicies = {
  database: makeRetrySchedule({ base: "100 millis", maxRetries: 3, maxDelay: "2 seconds" }),
  llm: makeRetrySchedule({ base: "1 second", maxRetries: 3, maxDelay: "20 seconds" }),
  google_oauth: makeRetrySchedule({ base: "200 millis", maxRetries: 2, maxDelay: "2 seconds" }),
  storage: makeRetrySchedule({ base: "200 millis", maxRetries: 3, maxDelay: "5 seconds" }),
  kms: makeRetrySchedule({ base: "100 millis", maxRetries: 3, maxDelay: "2 seconds" })
} as const satisfies Record<string, RetrySchedule>

export type RetryPolicyName = keyof typeof RetryPolicies

/**
 * Retries transient errors (recovery "retry") on the given policy; any other error fails at once.
 * Records RecoverySuccess{strategy=retry}: success after at least one failure, or failure when retries were spent.
 */
export const withRetry: {
  (policy: RetryPolicyName | RetrySchedule): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, policy: RetryPolicyName | RetrySchedule): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, policy: RetryPolicyName | RetrySchedule): Effect.Effect<A, E, R> => {
    const schedule = typeof policy === "string" ? RetryPolicies[policy] : policy
    return Effect.suspend(() => {
      let failedAttempts = 0
      return self.pipe(
        Effect.tapError(() => Effect.sync(() => failedAttempts++)),
        Effect.retry({ schedule, while: isTransient }),
        Effect.tap(() => (failedAttempts > 0 ? recordRecovery("retry", true) : Effect.void)),
        // a transient final error means the schedule ran out; a later non-transient one after retries also counts
        Effect.tapError((error) =>
          isTransient(error) || failedAttempts > 1 ? recordRecovery("retry", false) : Effect.void
        )
      )
    })
  }
)

// ---------------------------------------------------------------------------------------------
// Timeouts

export const Timeouts = {
  database: "5 seconds",
  /** One Converse call of an interpretation: thinking, then a tool call of up to ~16k tokens. */
  llmCall: "240 seconds",
  /** A whole interpretation: every call, retry, larger-budget call and repair round under one deadline. */
  llmInterpret: "600 seconds",
  /** One Converse call answering a chat question. */
  llmChatCall: "20 seconds",
  /** A whole chat answer, retries included: within API Gateway's 30 s together with the request's own work. */
  llmChat: "22 seconds",
  storage: "10 seconds",
  kms: "3 seconds",
  google_oauth: "5 seconds"
} as const satisfies Record<string, Duration.Input>

/** API Gateway HTTP APIs end every request after 30 s, whatever the function is still doing (not adjustable). */
export const API_GATEWAY_TIMEOUT: Duration.Input = "30 seconds"

/**
 * How long a function may need: what it waits for, each part bounded by its own timeout or deadline,
 * plus a margin for what is not (start-up, serialising, the garbage collector). Lambda's timeouts
 * are derived from these (deploy/lambda/infra/functions.ts) and checked in the synth tests: a
 * function never dies before the deadlines inside it have ended the work — tokens a call consumed
 * are recorded (its usage is reported as it returns), a job is failed or retried, never cut off.
 */
export interface TimeBudget {
  readonly parts: Readonly<Record<string, Duration.Input>>
  readonly margin: Duration.Input
}

export const budgetTotal = (budget: TimeBudget): Duration.Duration =>
  Object.values(budget.parts).reduce<Duration.Duration>((sum, part) => Duration.sum(sum, Duration.fromInputUnsafe(part)), Duration.fromInputUnsafe(budget.margin))

export const TimeBudgets = {
  /** A queued job: open the original, interpret it, store the result with its audit row, remove the original, flush telemetry. */
  processor: {
    parts: {
      open: "20 seconds",
      interpret: Timeouts.llmInterpret,
      store: "30 seconds",
      removeOriginal: Timeouts.storage,
      flushTelemetry: "10 seconds"
    },
    margin: "20 seconds"
  },
  /** A chat question: read the content and history, answer, seal and store both turns. */
  chat: { parts: { read: "2 seconds", answer: Timeouts.llmChat, store: "2 seconds" }, margin: "2 seconds" },
  /** Any other request behind API Gateway: whatever it does must end before the gateway gives up. */
  request: { parts: { request: "25 seconds" }, margin: "3 seconds" }
} as const satisfies Record<string, TimeBudget>

/** Fails with OperationTimedOut (transient) when `self` outlasts `duration`; the slow effect is interrupted. */
export const withTimeout: {
  (operation: string, duration: Duration.Input): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | OperationTimedOut, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    operation: string,
    duration: Duration.Input
  ): Effect.Effect<A, E | OperationTimedOut, R>
} = dual(
  3,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    operation: string,
    duration: Duration.Input
  ): Effect.Effect<A, E | OperationTimedOut, R> =>
    Effect.timeoutOrElse(self, {
      duration,
      orElse: () => Effect.fail(new OperationTimedOut({
          message: `${operation} timed out after ${Duration.format(Duration.fromInputUnsafe(duration))}`,
          operation
        }))
    })
)

// ---------------------------------------------------------------------------------------------
// Circuit breaker

export interface CircuitBreakerConfig {
  readonly name: string
  /** Failures within `monitorWindow` that open the breaker. */
  readonly failureThreshold: number
  /** Consecutive successes in half-open that close it again. */
  readonly successThreshold: number
  /** How long the breaker stays open before letting trial calls through. */
  readonly timeout: Duration.Input
  /** Sliding window over which failures are counted while closed. */
  readonly monitorWindow: Duration.Input
  readonly fallbackEnabled: boolean
  /** Which typed errors count as a failure of the dependency; defaults to anything not validation/business. */
  readonly isFailure?: (error: unknown) => boolean
}

export const BreakerConfigs = {
  google_oauth: {
    name: "google_oauth",
    failureThreshold: 5,
    successThreshold: 3,
    timeout: "30 seconds",
    monitorWindow: "60 seconds",
    fallbackEnabled: false
  },
  llm: {
    name: "llm",
    failureThreshold: 3,
    successThreshold: 2,
    timeout: "45 seconds",
    monitorWindow: "120 seconds",
    fallbackEnabled: true
  },
  database: {
    name: "database",
    failureThreshold: 10,
    successThreshold: 5,
    timeout: "15 seconds",
    monitorWindow: "30 seconds",
    fallbackEnabled: false
  }
} as const satisfies Record<string, CircuitBreakerConfig>

export type BreakerName = keyof typeof BreakerConfigs

export interface CircuitBreaker {
  readonly name: string
  readonly config: CircuitBreakerConfig
  /** The state as of now (an open breaker whose timeout has passed reads, and becomes, half_open). */
  readonly state: Effect.Effect<BreakerStateName>
  readonly protect: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  /**
   * As protect, but a success counts for nothing: for a step that can fail because the dependency
   * is down but whose success proves nothing about it (taking an idle pooled connection).
   */
  readonly protectFailuresOnly: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  /** Runs `fallback` instead of failing with CircuitOpen when the breaker is open and `fallbackEnabled`. */
  readonly protectWithFallback: <A, E, R, A2, E2, R2>(
    self: Effect.Effect<A, E, R>,
    fallback: (error: CircuitOpen) => Effect.Effect<A2, E2, R2>
  ) => Effect.Effect<A | A2, E | E2 | CircuitOpen, R | R2>
}

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

/** Breakers held by CircuitBreakers; the database's lives with the pool (layers/database/bounded.ts). */
export type ServiceBreakerName = Exclude<BreakerName, "database">

/** The app's breakers, one per entry of BreakerConfigs but the database's. */
export class CircuitBreakers extends Context.Service<
  CircuitBreakers,
  { readonly get: (name: ServiceBreakerName) => CircuitBreaker }
>()("CircuitBreakers") {
  static readonly layer = Layer.effect(
    CircuitBreakers,
    Effect.map(
      Effect.all(EffectRecord.map(EffectRecord.remove(BreakerConfigs, "database"), makeCircuitBreaker)),
      (breakers) => ({ get: (name: ServiceBreakerName) => breakers[name] })
    )
  )
}
