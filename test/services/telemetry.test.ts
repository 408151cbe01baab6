/** The traceparent a job or a wake-up carries, and the link back to it. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Tracer } from "effect"
import { currentTraceparent, fnTraced, spanOfTraceparent, traced } from "../../src/services/telemetry.js"

/** Runs `effect` under a tracer that records the name and attributes of every span it opens. */
const recordingSpans = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const opened: Array<Tracer.Span> = []
    const base = yield* Effect.tracer
    const recording = Tracer.make({
      context: base.context,
      span: (name, ...rest) => {
        const span = base.span(name, ...rest)
        opened.push(span)
        return span
      }
    })
    const value = yield* effect.pipe(Effect.withTracer(recording))
    return { value, spans: opened.map((span) => ({ name: span.name, attributes: Object.fromEntries(span.attributes) })) }
  })

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

describe("traced", () => {
  it.effect("opens its span when spans are recorded, none with the tracer off; the effect runs either way", () =>
    Effect.gen(function* () {
      const on = yield* recordingSpans(Effect.succeed(1).pipe(traced("Things.do")))
      expect(on.value).toBe(1)
      expect(on.spans.map((s) => s.name)).toEqual(["Things.do"])
      const off = yield* recordingSpans(Effect.succeed(2).pipe(traced("Things.do"), Effect.withTracerEnabled(false)))
      expect(off.value).toBe(2)
      expect(off.spans).toEqual([])
    })
  )

  it.effect("requireParent: a span with its attributes only inside a trace", () =>
    Effect.gen(function* () {
      const lowLevel = Effect.succeed("x").pipe(traced("Crypto.open", { requireParent: true, attributes: { "crypto.bytes": 3 } }))
      const outside = yield* recordingSpans(lowLevel)
      expect(outside.spans).toEqual([])
      const inside = yield* recordingSpans(lowLevel.pipe(Effect.withSpan("request")))
      expect(inside.spans.map((s) => s.name)).toEqual(["request", "Crypto.open"])
      expect(inside.spans[1]!.attributes).toEqual({ "crypto.bytes": 3 })
    })
  )
})

describe("fnTraced", () => {
  it.effect("has Effect.fn's shape: arguments reach the body and every pipeable, and the span wraps them all", () =>
    Effect.gen(function* () {
      const seenInSpan: Array<string | undefined> = []
      const spanName = Effect.map(Effect.option(Effect.currentSpan), (span) => (Option.isSome(span) ? span.value.name : undefined))
      const add = fnTraced("Things.add")(
        function* (a: number, b: number) {
          seenInSpan.push(yield* spanName)
          if (a < 0) return yield* Effect.fail("negative" as const)
          return a + b
        },
        (effect, a) => Effect.catch(effect, () => Effect.succeed(-a)),
        (effect) => Effect.tap(effect, () => Effect.map(spanName, (name) => seenInSpan.push(name)))
      )
      const on = yield* recordingSpans(Effect.all([add(1, 2), add(-5, 0)]))
      expect(on.value).toEqual([3, 5])
      expect(on.spans.map((s) => s.name)).toEqual(["Things.add", "Things.add"])
      // the body and the last pipeable both ran inside the span
      expect(seenInSpan).toEqual(["Things.add", "Things.add", "Things.add", "Things.add"])
    })
  )

  it.effect("opens no span with the tracer off, and passes its options to traced", () =>
    Effect.gen(function* () {
      const one = fnTraced("Things.one")(function* () {
        return 1
      })
      const off = yield* recordingSpans(one().pipe(Effect.withTracerEnabled(false)))
      expect(off).toEqual({ value: 1, spans: [] })
      const low = fnTraced("Crypto.openMany", { requireParent: true })(function* () {
        return 2
      })
      expect((yield* recordingSpans(low())).spans).toEqual([])
      expect((yield* recordingSpans(low().pipe(Effect.withSpan("request")))).spans.map((s) => s.name)).toEqual(["request", "Crypto.openMany"])
    })
  )
})
