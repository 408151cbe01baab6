/**
 * Whether a request is traced, decided before any span exists: an unsampled request then runs
 * with the tracer off and pays for no span at all (creating spans only for the SDK's sampler to
 * drop them cost most of what tracing costs). The standard sampler settings: `always_on`,
 * `always_off`, `traceidratio` (OTEL_TRACES_SAMPLER_ARG of the requests), and their `parentbased_`
 * forms, which follow an incoming W3C traceparent's sampled flag when there is one.
 */
import type { Headers } from "effect/http"
import { HttpTraceContext } from "effect/http"
import { Option } from "effect"
import type { TraceSampler } from "../config/telemetry.js"

export const makeRequestSampler = (
  sampler: TraceSampler,
  ratio: number,
  random: () => number = Math.random
): ((headers: Headers.Headers) => boolean) => {
  const root = (): boolean => {
    switch (sampler) {
      case "always_on":
      case "parentbased_always_on":
        return true
      case "always_off":
      case "parentbased_always_off":
        return false
      case "traceidratio":
      case "parentbased_traceidratio":
        return random() < ratio
    }
  }
  if (!sampler.startsWith("parentbased_")) return () => root()
  return (headers) => Option.match(HttpTraceContext.fromHeaders(headers), { onNone: root, onSome: (parent) => parent.sampled })
}
