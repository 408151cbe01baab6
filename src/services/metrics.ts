/**
 * The error-handling metrics the architecture's dashboards and alarms read
 * (namespace Serenya/Errors): ErrorsByCategory, CircuitBreakerState, RecoverySuccess.
 */
import { Effect, Metric } from "effect"
import type { ErrorCategory, RecoveryStrategy } from "./errors.js"

export const errorsByCategory = Metric.counter("ErrorsByCategory", {
  description: "Errors answered or handled, by category and recovery strategy",
  incremental: true
})

export const recordError = (category: ErrorCategory, recovery: RecoveryStrategy) =>
  Metric.increment(Metric.tagged(Metric.tagged(errorsByCategory, "category", category), "recovery", recovery))

/** 1 for the breaker's current state, 0 for the others, so a dashboard can sum by state. */
export const circuitBreakerState = Metric.gauge("CircuitBreakerState", {
  description: "Circuit breaker state per service (1 = the breaker is in this state)"
})

export type BreakerStateName = "closed" | "open" | "half_open"

export const recordBreakerState = (service: string, state: BreakerStateName) =>
  Effect.forEach(
    ["closed", "open", "half_open"] as const,
    (s) =>
      Metric.set(
        Metric.tagged(Metric.tagged(circuitBreakerState, "service", service), "state", s),
        s === state ? 1 : 0
      ),
    { discard: true }
  )

export const recoverySuccess = Metric.counter("RecoverySuccess", {
  description: "Outcomes of recovery strategies (retry, fallback, ...)",
  incremental: true
})

export const recordRecovery = (strategy: RecoveryStrategy, success: boolean) =>
  Metric.increment(
    Metric.tagged(Metric.tagged(recoverySuccess, "strategy", strategy), "success", String(success))
  )
