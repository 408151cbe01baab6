/**
 * Telemetry the process exports (OpenTelemetry traces and metrics). Most code never touches this:
 * spans come from `Effect.fn`/`Effect.withSpan` and metrics from `effect/Metric`. A Lambda handler
 * does: it flushes before returning, because the runtime freezes the process afterwards.
 */
import { Headers, HttpTraceContext } from "@effect/platform"
import { Context, Effect, Layer, Option, type Tracer } from "effect"

export class Telemetry extends Context.Tag("Telemetry")<
  Telemetry,
  {
    /** True when spans are exported somewhere (an OTLP endpoint or the console). */
    readonly tracing: boolean
    /** Exports every finished span and the current metrics now; never fails. */
    readonly flush: Effect.Effect<void>
  }
>() {}

/** Nothing exported: spans are not even created (see TelemetryOff in layers/telemetry/otel.ts). */
export const TelemetryNone = Layer.succeed(Telemetry, { tracing: false, flush: Effect.void })

/**
 * The W3C traceparent of the current span, when there is a real one (with the tracer off, spans
 * are no-ops without ids): stored with a job, sent with a wake-up or an outgoing call.
 */
export const currentTraceparent: Effect.Effect<Option.Option<string>> = Effect.map(
  Effect.option(Effect.currentSpan),
  (span) =>
    Option.filter(
      Option.map(span, (s) => HttpTraceContext.toHeaders(s).traceparent!),
      (traceparent) => Option.isSome(spanOfTraceparent(traceparent))
    )
)

/** The span a stored traceparent names (for a link back to it); none when it is not one. */
export const spanOfTraceparent = (traceparent: string): Option.Option<Tracer.ExternalSpan> =>
  HttpTraceContext.w3c(Headers.fromInput({ traceparent }))
