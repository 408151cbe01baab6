/**
 * Resilience policy, the one place SREs tune it: named retry schedules (only transient errors are
 * retried), named operation timeouts and time budgets, and the circuit breakers' thresholds, with
 * the CircuitBreaker interface. The breaker's implementation is a layer of its own
 * (src/layers/resilience/circuitBreaker.ts).
 */
import { Context, Duration, Effect, Schedule } from "effect"
import { dual } from "effect/Function"
import { type CircuitOpen, isTransient, OperationTimedOut } from "./errors.js"
import { type BreakerStateName, recordRecovery } from "./metrics.js"

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
  kms: makeRetrySchedule({ base: "100 millis", maxRetries: 3, maxDelay: "2 seconds" }),
  /** Comprehend Medical DetectPHI (de-identification before the model): throttling passes within a second or two. */
  deidentifier: makeRetrySchedule({ base: "200 millis", maxRetries: 3, maxDelay: "2 seconds" }),
  /** A push (SNS, or the local webhook): the outbox sends it again later anyway, so few and short. */
  notifications: makeRetrySchedule({ base: "200 millis", maxRetries: 2, maxDelay: "2 seconds" })
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
  /**
   * A streamed chat answer (ConverseStream), until its first event: the request sent and the prompt
   * (the document's JSON) read, typically within 1–3 s. Half a Converse call's time (`llmChatCall`),
   * so a stalled call is retried while the caller's budget (`llmChat`, `llmChatStream`) has room.
   */
  llmStreamFirstEvent: "10 seconds",
  /**
   * A streamed chat answer, between two events: text arrives every few tens of milliseconds, a
   * thinking model's reasoning in bursts a few seconds apart, so this long without any event is a
   * stalled stream. The whole answer stays bounded by the caller.
   */
  llmStreamIdle: "10 seconds",
  /**
   * A whole streamed chat answer (served where nothing cuts a response at 30 s: a Lambda function
   * URL, the Node server); the provider's own first-event and idle timeouts end a stalled stream
   * long before.
   */
  llmChatStream: "120 seconds",
  storage: "10 seconds",
  kms: "3 seconds",
  /**
   * One Comprehend Medical DetectPHI call on one chunk (under 20,000 UTF-8 bytes), a synchronous
   * API: a call this slow has stalled and is retried. Not measured against the service yet.
   */
  deidentifyCall: "8 seconds",
  google_oauth: "5 seconds",
  /** One SNS call (CreatePlatformEndpoint, Publish, …) or one POST to the local webhook. */
  notifications: "5 seconds",
  /** Sending a finished job's pushes right after its commit; what is not sent by then is left to the outbox's sweep. */
  notificationsFastPath: "5 seconds"
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
      // the job's own pushes after its commit, then the batch's due ones (each bounded by the fast path)
      notify: "10 seconds",
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
  /** SNS mobile push (or the local webhook): a push waits in the outbox while it is open. */
  notifications: {
    name: "notifications",
    failureThreshold: 5,
    successThreshold: 2,
    timeout: "60 seconds",
    monitorWindow: "60 seconds",
    fallbackEnabled: false
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

/** Breakers held by CircuitBreakers; the database's lives with the pool (layers/database/bounded.ts). */
export type ServiceBreakerName = Exclude<BreakerName, "database">

/**
 * The app's breakers, one per entry of BreakerConfigs but the database's. The implementation (a
 * breaker's states and transitions) is a layer: src/layers/resilience/circuitBreaker.ts.
 */
export class CircuitBreakers extends Context.Service<
  CircuitBreakers,
  { readonly get: (name: ServiceBreakerName) => CircuitBreaker }
>()("serenya/CircuitBreakers") {}
