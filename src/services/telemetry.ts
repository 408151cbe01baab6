/**
 * Telemetry the process exports (OpenTelemetry traces and metrics). Most code never touches this:
 * spans come from `traced` (below) and `Effect.withSpan`, metrics from `effect/Metric`. A Lambda
 * handler does: it flushes before returning, because the runtime freezes the process afterwards.
 */
import { Headers, HttpTraceContext } from "effect/http"
import { Context, Effect, Layer, Option, References, Tracer } from "effect"

export class Telemetry extends Context.Service<
  Telemetry,
  {
    /** True when spans are exported somewhere (an OTLP endpoint or the console). */
    readonly tracing: boolean
    /** Exports every finished span and the current metrics now; never fails. */
    readonly flush: Effect.Effect<void>
  }
>()("serenya/Telemetry") {}

/** Nothing exported: spans are not even created (see TelemetryOff in layers/telemetry/otel.ts). */
export const TelemetryNone = Layer.succeed(Telemetry, { tracing: false, flush: Effect.void })

/**
 * The current span, if any: `Effect.option(Effect.currentSpan)` without the exception (and its
 * stack trace) that `currentSpan` builds when there is none, as on every request with the tracer off.
 */
export const currentSpanOption: Effect.Effect<Option.Option<Tracer.Span>> = Effect.map(
  Effect.serviceOption(Tracer.ParentSpan),
  Option.filter((span): span is Tracer.Span => span._tag === "Span")
)

/**
 * The W3C traceparent of the current span, when there is a real one (with the tracer off, spans
 * are no-ops without ids): stored with a job, sent with a wake-up or an outgoing call.
 */
export const currentTraceparent: Effect.Effect<Option.Option<string>> = Effect.map(
  Effect.suspend(() => currentSpanOption),
  (span) =>
    Option.filter(
      Option.map(span, (s) => HttpTraceContext.toHeaders(s).traceparent!),
      (traceparent) => Option.isSome(spanOfTraceparent(traceparent))
    )
)

/** The span a stored traceparent names (for a link back to it); none when it is not one. */
export const spanOfTraceparent = (traceparent: string): Option.Option<Tracer.ExternalSpan> =>
  HttpTraceContext.w3c(Headers.fromInput({ traceparent }))

/**
 * A span named `name` around an effect, only when spans are being recorded: with the tracer off
 * (nothing exported, or a request that was not sampled) the effect runs as it is. Used as the
 * step of `fnTraced("Name")(body, ...)` (below) instead of `Effect.fn("Name")`, which builds a
 * no-op span and captures a call-site stack trace on every call even then (about 8 µs a call here,
 * against 0.3 µs).
 * `requireParent`: only inside a trace (a request or a job), like OpenTelemetry's
 * `requireParentSpan`, for low-level calls that bulk work outside any trace (rotation, the
 * benchmark) would otherwise flood the exporter with.
 */
export const traced =
  (name: string, options: { readonly attributes?: Record<string, unknown>; readonly requireParent?: boolean } = {}) =>
  // The trailing arguments are the traced function's own (Effect.fnUntraced passes them to every
  // pipeable); accepting them keeps the function's optional parameters in its inferred type.
  <A, E, R>(self: Effect.Effect<A, E, R>, ..._args: ReadonlyArray<unknown>): Effect.Effect<A, E, R> =>
    Effect.withFiber((fiber) =>
      fiber.getRef(References.TracerEnabled) &&
        (options.requireParent !== true || Option.isSome(Context.getOption(fiber.context, Tracer.ParentSpan)))
        ? Effect.withSpan(self, name, {
          captureStackTrace: false,
          ...(options.attributes !== undefined ? { attributes: options.attributes } : {})
        })
        : self
    )

type ErrorOf<Eff> = [Eff] extends [never] ? never : [Eff] extends [Effect.Effect<infer _A, infer E, infer _R>] ? E : never
type ContextOf<Eff> = [Eff] extends [never] ? never : [Eff] extends [Effect.Effect<infer _A, infer _E, infer R>] ? R : never
type AnyEffect = Effect.Effect<unknown, unknown, unknown>

/**
 * `Effect.fn`'s shape at `traced`'s cost: `fnTraced("Documents.upload")(function* (input) { … },
 * ...pipeables)` is `Effect.fnUntraced(body, ...pipeables, traced("Documents.upload"))` — the span
 * (only when spans are recorded) wraps the body and every pipeable, so a pipeable's recovery shows
 * inside it. Up to three pipeables, as the call sites need.
 */
export interface FnTraced {
  <Eff extends AnyEffect, AEff, Args extends Array<unknown>>(
    body: (...args: Args) => Generator<Eff, AEff, never>
  ): (...args: Args) => Effect.Effect<AEff, ErrorOf<Eff>, ContextOf<Eff>>
  <Eff extends AnyEffect, AEff, Args extends Array<unknown>, A extends AnyEffect>(
    body: (...args: Args) => Generator<Eff, AEff, never>,
    a: (_: Effect.Effect<AEff, ErrorOf<Eff>, ContextOf<Eff>>, ...args: Args) => A
  ): (...args: Args) => A
  <Eff extends AnyEffect, AEff, Args extends Array<unknown>, A, B extends AnyEffect>(
    body: (...args: Args) => Generator<Eff, AEff, never>,
    a: (_: Effect.Effect<AEff, ErrorOf<Eff>, ContextOf<Eff>>, ...args: Args) => A,
    b: (_: A, ...args: Args) => B
  ): (...args: Args) => B
  <Eff extends AnyEffect, AEff, Args extends Array<unknown>, A, B, C extends AnyEffect>(
    body: (...args: Args) => Generator<Eff, AEff, never>,
    a: (_: Effect.Effect<AEff, ErrorOf<Eff>, ContextOf<Eff>>, ...args: Args) => A,
    b: (_: A, ...args: Args) => B,
    c: (_: B, ...args: Args) => C
  ): (...args: Args) => C
}

/* @__NO_SIDE_EFFECTS__ */
export function fnTraced(name: string, options: Parameters<typeof traced>[1] = {}): FnTraced {
  const span = traced(name, options)
  const untraced = Effect.fnUntraced as unknown as (...steps: ReadonlyArray<unknown>) => unknown
  return ((body: unknown, ...pipeables: ReadonlyArray<unknown>) => untraced(body, ...pipeables, span)) as FnTraced
}
