/**
 * CloudWatch Embedded Metric Format: one JSON line on stdout per record, which CloudWatch Logs
 * (Lambda, or the EKS log agent) turns into metrics — no PutMetricData call on any request path.
 * Two writers use it: the LLM cost records (src/layers/costTracker/emf.ts) and the error-handling
 * metrics below (`makeEmfMetrics`), which the Lambda functions write at the end of each invocation.
 *
 * EMF's rules that shape the lines: the dimension values and the metric values are top-level keys;
 * one line holds one value per metric name; each directive publishes each of its metrics under
 * each of its dimension sets; a set holds at most 30 dimensions.
 */
import { Clock, Context, Effect, Metric } from "effect"
import type { CloudWatchMetric } from "../../services/metrics.js"

export type EmfUnit = "Count" | "Milliseconds"

export interface EmfMetricDirective {
  readonly Namespace: string
  readonly Dimensions: ReadonlyArray<ReadonlyArray<string>>
  readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit: EmfUnit }>
}

export interface EmfSinkService {
  /** Writes one EMF line (without its newline); never fails. */
  readonly emit: (line: string) => Effect.Effect<void>
}

// EMF lines must reach stdout as they are: the JSON logger would wrap them in its own shape, and
// console.log on Lambda would put the runtime's timestamp and request id in front of them.
const stdoutSink: EmfSinkService = {
  emit: (line) =>
    Effect.sync(() => {
      process.stdout.write(`${line}\n`)
    })
}

/** Where EMF lines go: stdout unless a test provides a sink of its own. */
export const EmfSink = Context.Reference<EmfSinkService>("serenya/EmfSink", {
  defaultValue: (): EmfSinkService => stdoutSink
})

export interface EmfMetrics {
  /**
   * Writes what changed since the previous call: for a counter, the increase of each attribute
   * set (none when it did not move); for a gauge, each attribute set whose value is not 0 and
   * that is not the metric's idle state. Never fails.
   */
  readonly flush: Effect.Effect<void>
}

const keyOf = (id: string, attributes: Readonly<Record<string, string>> | undefined) =>
  attributes === undefined
    ? id
    : `${id}\u0000${Object.keys(attributes).sort().map((k) => `${k}=${attributes[k]}`).join("\u0000")}`

/**
 * The EMF line of one value: its dimensions renamed from the metric's attributes. None when an
 * attribute the metric publishes as a dimension is missing (a line without it would be refused).
 */
export const emfMetricLine = (
  metric: CloudWatchMetric,
  attributes: Readonly<Record<string, string>>,
  value: number,
  timestamp: number
): string | undefined => {
  const dimensions: Record<string, string> = {}
  for (const [attribute, dimension] of Object.entries(metric.dimensions)) {
    const found = attributes[attribute]
    if (found === undefined || found === "") return undefined
    dimensions[dimension] = found
  }
  const directive: EmfMetricDirective = {
    Namespace: metric.namespace,
    Dimensions: metric.dimensionSets,
    Metrics: [{ Name: metric.name, Unit: metric.unit }]
  }
  return JSON.stringify({ _aws: { Timestamp: timestamp, CloudWatchMetrics: [directive] }, ...dimensions, [metric.name]: value })
}

/**
 * An EMF writer for the given metrics, read from the process's metric registry (the same values
 * OpenTelemetry exports where it runs). Counters are cumulative in the registry; the writer keeps
 * what it last wrote per attribute set and writes the difference, so CloudWatch's Sum over a
 * period is the number of events in it.
 */
export const makeEmfMetrics = (metrics: ReadonlyArray<CloudWatchMetric>, sink: EmfSinkService): EmfMetrics => {
  const byName = new Map(metrics.map((metric) => [metric.name, metric]))
  const written = new Map<string, number>()
  // A registry entry's key, made once: its attributes never change.
  const keys = new WeakMap<object, string>()
  const keyOfEntry = (entry: Metric.Metric.Metadata<unknown, unknown>) => {
    let key = keys.get(entry)
    if (key === undefined) keys.set(entry, (key = keyOf(entry.id, entry.attributes)))
    return key
  }
  const isIdle = (metric: CloudWatchMetric, attributes: Readonly<Record<string, string>>) =>
    metric.idle !== undefined && Object.entries(metric.idle).every(([attribute, value]) => attributes[attribute] === value)
  const flush = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const context = yield* Effect.context<never>()
    // The registry's own entries, read one by one: only ours have their state computed (a snapshot
    // of the whole registry would also summarise every histogram, at every invocation).
    for (const entry of (yield* Metric.MetricRegistry).values()) {
      const metric = byName.get(entry.id)
      if (metric === undefined) continue
      const attributes = entry.attributes ?? {}
      let value: number
      if (metric.kind === "counter" && entry.type === "Counter") {
        const total = Number((entry.hooks.get(context) as Metric.CounterState<number>).count)
        const key = keyOfEntry(entry)
        value = total - (written.get(key) ?? 0)
        written.set(key, total)
      } else if (metric.kind === "gauge" && entry.type === "Gauge") {
        if (isIdle(metric, attributes)) continue
        value = Number((entry.hooks.get(context) as Metric.GaugeState<number>).value)
      } else {
        continue
      }
      if (value === 0 || !Number.isFinite(value)) continue
      const line = emfMetricLine(metric, attributes, value, now)
      if (line !== undefined) yield* sink.emit(line)
    }
  })
  return { flush }
}
