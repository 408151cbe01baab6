/**
 * Telemetry the process exports (OpenTelemetry traces and metrics). Most code never touches this:
 * spans come from `Effect.fn`/`Effect.withSpan` and metrics from `effect/Metric`. A Lambda handler
 * does: it flushes before returning, because the runtime freezes the process afterwards.
 */
import { Context, Effect, Layer } from "effect"

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
