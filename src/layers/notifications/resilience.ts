/**
 * What every networked Notifications layer (SNS, the local webhook) wraps each provider call in,
 * per src/services/resilience.ts: the `notifications` timeout (a timeout is NotificationsUnavailable,
 * transient), retries of what is transient on the `notifications` schedule, then the
 * `notifications` breaker when one is given (an open breaker is NotificationsUnavailable too, so
 * callers see one error per capability).
 */
import { type Duration, Effect } from "effect"
import type { EndpointDisabled, InvalidPushToken } from "../../services/notifications.js"
import { NotificationsUnavailable } from "../../services/notifications.js"
import {
  type CircuitBreaker,
  type RetryPolicyName,
  type RetrySchedule,
  Timeouts,
  withRetry,
  withTimeout
} from "../../services/resilience.js"

export interface ProviderCallOptions {
  /** The `notifications` breaker (CircuitBreakers); none: calls are not guarded by one (tests). */
  readonly breaker?: CircuitBreaker
  /** Retry schedule of transient failures; the `notifications` policy by default. */
  readonly retry?: RetryPolicyName | RetrySchedule
  /** One attempt's bound; Timeouts.notifications by default. */
  readonly timeout?: Duration.Input
}

type ProviderError = NotificationsUnavailable | EndpointDisabled | InvalidPushToken

/** `call` timed out per attempt, retried while transient, behind the breaker; `what` names the call in messages (no data). */
export const guarded =
  (what: string, options: ProviderCallOptions) =>
  <A, E extends ProviderError>(call: Effect.Effect<A, E>): Effect.Effect<A, E | NotificationsUnavailable> => {
    const attempt = call.pipe(
      withTimeout(what, options.timeout ?? Timeouts.notifications),
      Effect.catchTag("OperationTimedOut", () =>
        Effect.fail(new NotificationsUnavailable({ message: `${what} timed out`, transient: true }))
      ),
      withRetry(options.retry ?? "notifications")
    )
    const breaker = options.breaker
    return breaker === undefined
      ? attempt
      : breaker.protect(attempt).pipe(
        Effect.catchTag("CircuitOpen", () =>
          Effect.fail(new NotificationsUnavailable({ message: "The push provider is unavailable (circuit open)", transient: true }))
        )
      )
  }
