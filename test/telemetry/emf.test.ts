/** The EMF writer of the error-handling metrics: what one flush writes, and what the next one does. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as fc from "fast-check"
import { emfMetricLine, makeEmfMetrics } from "../../src/layers/telemetry/emf.js"
import { CLOUDWATCH_METRICS, recordBreakerState, recordError, recordRecovery } from "../../src/services/metrics.js"

const capture = () => {
  const lines: Array<string> = []
  const writer = makeEmfMetrics(Object.values(CLOUDWATCH_METRICS), { emit: (line) => Effect.sync(() => void lines.push(line)) })
  const take = () => lines.splice(0).map((line) => JSON.parse(line) as Record<string, unknown>)
  return { writer, take }
}

/** A registry of the test's own, so counts from other tests in the process do not leak in. */
const isolated = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, Metric.MetricRegistry, new Map())

describe("EMF lines of the error-handling metrics", () => {
  it.effect("a counter writes the increase since the previous flush, and nothing when it did not move", () =>
    isolated(
      Effect.gen(function* () {
        const { writer, take } = capture()
        yield* recordError("technical", "retry")
        yield* recordError("technical", "retry")
        yield* recordError("validation", "ignore")
        yield* writer.flush
        const first = take()
        expect(first).toHaveLength(2)
        expect(first).toContainEqual(expect.objectContaining({ Category: "technical", RecoveryStrategy: "retry", ErrorsByCategory: 2 }))
        expect(first).toContainEqual(expect.objectContaining({ Category: "validation", RecoveryStrategy: "ignore", ErrorsByCategory: 1 }))

        yield* writer.flush
        expect(take()).toEqual([])

        yield* recordError("technical", "retry")
        yield* writer.flush
        expect(take()).toEqual([expect.objectContaining({ Category: "technical", ErrorsByCategory: 1 })])
      })
    )
  )

  it.effect("a line is EMF: the directive names the namespace, the dimension sets and the unit; values are top-level keys", () =>
    isolated(
      Effect.gen(function* () {
        const { writer, take } = capture()
        yield* recordRecovery("retry", false)
        yield* writer.flush
        const [line] = take()
        expect(line).toEqual({
          _aws: {
            Timestamp: expect.any(Number),
            CloudWatchMetrics: [
              { Namespace: "Serenya/Errors", Dimensions: [["Strategy", "Success"], ["Success"]], Metrics: [{ Name: "RecoverySuccess", Unit: "Count" }] }
            ]
          },
          Strategy: "retry",
          Success: "false",
          RecoverySuccess: 1
        })
      })
    )
  )

  it.effect("a breaker's gauge is written at every flush under its current state only, so an open breaker shows while it stays open; closed writes nothing", () =>
    isolated(
      Effect.gen(function* () {
        const { writer, take } = capture()
        yield* recordBreakerState("llm", "closed")
        yield* recordBreakerState("llm", "open")
        yield* writer.flush
        expect(take()).toEqual([expect.objectContaining({ Service: "llm", Status: "open", CircuitBreakerState: 1 })])
        yield* writer.flush
        expect(take()).toEqual([expect.objectContaining({ Service: "llm", Status: "open", CircuitBreakerState: 1 })])
        yield* recordBreakerState("llm", "half_open")
        yield* writer.flush
        expect(take()).toEqual([expect.objectContaining({ Service: "llm", Status: "half_open", CircuitBreakerState: 1 })])
        // closed again: the idle state writes nothing, at this flush or the next
        yield* recordBreakerState("llm", "closed")
        yield* writer.flush
        yield* writer.flush
        expect(take()).toEqual([])
      })
    )
  )

  it("no line for a value missing a dimension (CloudWatch would reject it); any other attribute set gives a complete line", () => {
    const metric = CLOUDWATCH_METRICS.ErrorsByCategory
    expect(emfMetricLine(metric, { category: "technical" }, 1, 0)).toBeUndefined()
    expect(emfMetricLine(metric, { category: "technical", recovery: "" }, 1, 0)).toBeUndefined()
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 1e6 }), (category, recovery, value) => {
        const line = JSON.parse(emfMetricLine(metric, { category, recovery, extra: "ignored" }, value, 1)!) as Record<string, unknown>
        // the values stay values: whatever a dimension holds cannot replace the directive or the metric value
        expect(line.Category).toBe(category)
        expect(line.RecoveryStrategy).toBe(recovery)
        expect(line.ErrorsByCategory).toBe(value)
        expect(line).not.toHaveProperty("extra")
        expect((line._aws as { CloudWatchMetrics: Array<{ Namespace: string }> }).CloudWatchMetrics[0]!.Namespace).toBe("Serenya/Errors")
      })
    )
  })
})
