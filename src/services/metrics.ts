/**
 * The metrics the architecture's dashboards and alarms read: error handling (ErrorsByCategory,
 * CircuitBreakerState, RecoverySuccess), LLM use (LLMTokens, LLMCostCents) and the GenAI
 * semantic conventions' client metrics. Exported as OpenTelemetry metrics when telemetry is on;
 * on Lambda the error-handling ones are also written as CloudWatch Embedded Metric Format lines
 * (CLOUDWATCH_METRICS below, written by src/layers/telemetry/emfMetrics.ts), which is what the
 * stack's alarms read (deploy/lambda/infra/observability.ts).
 */
import { Cause, Clock, Effect, Exit, Metric, Option } from "effect"
import type { ErrorCategory, RecoveryStrategy } from "./errors.js"

export const errorsByCategory = Metric.counter("ErrorsByCategory", {
  description: "Errors answered or handled, by category and recovery strategy",
  incremental: true
})

export const recordError = (category: ErrorCategory, recovery: RecoveryStrategy) =>
  Metric.update(Metric.withAttributes(Metric.withAttributes(errorsByCategory, { category: category }), { recovery: recovery }), 1)

/** 1 for the breaker's current state, 0 for the others, so a dashboard can sum by state. */
export const circuitBreakerState = Metric.gauge("CircuitBreakerState", {
  description: "Circuit breaker state per service (1 = the breaker is in this state)"
})

export type BreakerStateName = "closed" | "open" | "half_open"

export const recordBreakerState = (service: string, state: BreakerStateName) =>
  Effect.forEach(
    ["closed", "open", "half_open"] as const,
    (s) =>
      Metric.update(
        Metric.withAttributes(Metric.withAttributes(circuitBreakerState, { service: service }), { state: s }),
        s === state ? 1 : 0
      ),
    { discard: true }
  )

export const recoverySuccess = Metric.counter("RecoverySuccess", {
  description: "Outcomes of recovery strategies (retry, fallback, ...)",
  incremental: true
})

export const recordRecovery = (strategy: RecoveryStrategy, success: boolean) =>
  Metric.update(Metric.withAttributes(Metric.withAttributes(recoverySuccess, { strategy: strategy }), { success: String(success) }), 1)

// ---------------------------------------------------------------------------------------------
// The error-handling metrics in CloudWatch.

/** The namespace of the error-handling metrics (the architecture's). */
export const ERRORS_NAMESPACE = "Serenya/Errors"

/**
 * How one of the metrics above is published to CloudWatch: its attributes become dimensions under
 * the architecture's names, and each value is published under every dimension set listed, so an
 * alarm can read one dimension alone (`Category=technical`) while a dashboard splits by both.
 */
export interface CloudWatchMetric<Attribute extends string = string, Dimension extends string = string> {
  readonly namespace: string
  /** The Effect metric's id, which is also the CloudWatch metric name. */
  readonly name: string
  readonly kind: "counter" | "gauge"
  readonly unit: "Count"
  /** Effect attribute → CloudWatch dimension name. */
  readonly dimensions: Readonly<Record<Attribute, Dimension>>
  readonly dimensionSets: ReadonlyArray<ReadonlyArray<Dimension>>
  /**
   * A gauge's normal state, never written: a line at every invocation saying all is well costs
   * log volume and tells no alarm anything (no data reads as not breaching).
   */
  readonly idle?: Readonly<Partial<Record<Attribute, string>>>
}

const cloudWatchMetric = <const A extends string, const D extends string>(metric: CloudWatchMetric<A, D>) => metric

export const CLOUDWATCH_METRICS = {
  /** Counted per error answered; a line carries the increase since the previous flush. */
  ErrorsByCategory: cloudWatchMetric({
    namespace: ERRORS_NAMESPACE,
    name: "ErrorsByCategory",
    kind: "counter",
    unit: "Count",
    dimensions: { category: "Category", recovery: "RecoveryStrategy" },
    dimensionSets: [["Category", "RecoveryStrategy"], ["Category"]]
  }),
  /** 1 under each breaker's current state, written at every flush while it is not closed, so an open breaker shows while it is open. */
  CircuitBreakerState: cloudWatchMetric({
    namespace: ERRORS_NAMESPACE,
    name: "CircuitBreakerState",
    kind: "gauge",
    unit: "Count",
    dimensions: { service: "Service", state: "Status" },
    dimensionSets: [["Service", "Status"], ["Status"]],
    idle: { state: "closed" }
  }),
  /** Counted per recovery attempt's outcome (retry, fallback). */
  RecoverySuccess: cloudWatchMetric({
    namespace: ERRORS_NAMESPACE,
    name: "RecoverySuccess",
    kind: "counter",
    unit: "Count",
    dimensions: { strategy: "Strategy", success: "Success" },
    dimensionSets: [["Strategy", "Success"], ["Success"]]
  })
} as const

// ---------------------------------------------------------------------------------------------
// LLM use: the GenAI semantic conventions' client metrics, and our tokens and cost counters.

/** `gen_ai.client.token.usage`: tokens per operation, by `gen_ai.token.type` (input, output). */
export const genAiTokenUsage = Metric.histogram("gen_ai.client.token.usage", {
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 4, count: 14 }),
  description: "Number of input and output tokens used per GenAI operation"
})

/** `gen_ai.client.operation.duration`, in seconds (the conventions' bucket boundaries). */
export const genAiOperationDuration = Metric.histogram("gen_ai.client.operation.duration", {
  boundaries: Metric.boundariesFromIterable([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]),
  description: "GenAI operation duration in seconds"
})

export interface GenAiOperation {
  readonly operation: "chat" | "generate_content"
  readonly provider: string
  readonly model: string
}

const genAiTagged = (metric: Metric.Histogram<number>, op: GenAiOperation) =>
  metric.pipe(
    Metric.withAttributes({ "gen_ai.operation.name": op.operation }),
    Metric.withAttributes({ "gen_ai.provider.name": op.provider }),
    Metric.withAttributes({ "gen_ai.request.model": op.model })
  )

/**
 * Around one GenAI operation: its duration (with `error.type` when it fails), its token usage,
 * and the usage on the current span (the operation's, so totals over retries and repair turns).
 */
export const observeGenAi =
  (op: GenAiOperation) =>
  <A extends { readonly usage: { readonly inputTokens: number; readonly outputTokens: number } }, E, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(self)
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      const duration = genAiTagged(genAiOperationDuration, op)
      if (Exit.isFailure(exit)) {
        const failure = Cause.findErrorOption(exit.cause)
        const type = Option.match(failure, {
          onNone: () => "_OTHER",
          onSome: (e) => (typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : "_OTHER")
        })
        yield* Metric.update(Metric.withAttributes(duration, { "error.type": type }), seconds)
        return yield* exit
      }
      const { inputTokens, outputTokens } = exit.value.usage
      yield* Metric.update(duration, seconds)
      const tokens = genAiTagged(genAiTokenUsage, op)
      yield* Metric.update(Metric.withAttributes(tokens, { "gen_ai.token.type": "input" }), inputTokens)
      yield* Metric.update(Metric.withAttributes(tokens, { "gen_ai.token.type": "output" }), outputTokens)
      yield* Effect.annotateCurrentSpan({
        "gen_ai.response.model": op.model,
        "gen_ai.usage.input_tokens": inputTokens,
        "gen_ai.usage.output_tokens": outputTokens
      })
      return exit.value
    })

/** Tokens billed, by provider, model and type; the architecture's LLM dashboards sum these. */
export const llmTokens = Metric.counter("LLMTokens", { description: "LLM tokens used", incremental: true })

/** Cost in cents (fractions kept), by provider and model: the hourly cost alarm reads it. */
export const llmCostCents = Metric.counter("LLMCostCents", { description: "LLM cost in cents", incremental: true })

export const recordLlmUsage = (usage: {
  readonly provider: string
  readonly modelId: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly totalCostCents: number
}) =>
  Effect.all(
    [
      Metric.update(llmTokens.pipe(Metric.withAttributes({ provider: usage.provider }), Metric.withAttributes({ model: usage.modelId }), Metric.withAttributes({ type: "input" })), usage.inputTokens),
      Metric.update(llmTokens.pipe(Metric.withAttributes({ provider: usage.provider }), Metric.withAttributes({ model: usage.modelId }), Metric.withAttributes({ type: "output" })), usage.outputTokens),
      Metric.update(llmCostCents.pipe(Metric.withAttributes({ provider: usage.provider }), Metric.withAttributes({ model: usage.modelId })), usage.totalCostCents)
    ],
    { discard: true }
  )
