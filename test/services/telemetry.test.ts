/** The traceparent a job or a wake-up carries, and the link back to it. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { currentTraceparent, spanOfTraceparent } from "../../src/services/telemetry.js"

describe("traceparent", () => {
  it.effect("is the current span's, and names that span again when read back", () =>
    Effect.gen(function* () {
      const [traceparent, span] = yield* Effect.all([currentTraceparent, Effect.currentSpan]).pipe(Effect.withSpan("upload"))
      expect(Option.getOrThrow(traceparent)).toBe(`00-${span.traceId}-${span.spanId}-01`)
      expect(Option.getOrThrow(spanOfTraceparent(Option.getOrThrow(traceparent)))).toMatchObject({
        traceId: span.traceId,
        spanId: span.spanId
      })
    })
  )

  it.effect("is none outside a span and with the tracer off (no ids to link to)", () =>
    Effect.gen(function* () {
      expect(Option.isNone(yield* currentTraceparent)).toBe(true)
      expect(Option.isNone(yield* currentTraceparent.pipe(Effect.withSpan("x"), Effect.withTracerEnabled(false)))).toBe(true)
    })
  )

  it("a stored value that is no W3C traceparent links to nothing", () => {
    for (const value of ["", "00-noop-noop-00", "01-abc", `00-${"g".repeat(32)}-${"0".repeat(16)}-01`]) {
      expect(Option.isNone(spanOfTraceparent(value)), value).toBe(true)
    }
  })
})
