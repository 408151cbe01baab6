/** A JSON logger like layers/logger/json.ts on 4.1.5: level literal, annotations and the current span from options.fiber. */
import { Context, Effect, Formatter, Logger, Option, Redacted, References, Tracer } from "effect"

const lines: Array<unknown> = []
const JsonLogger = Logger.make((options) => {
  const span = Context.getOption(options.fiber.context, Tracer.ParentSpan)
  lines.push({
    level: options.logLevel,                       // "Info" | "Warn" | … (was options.logLevel.label)
    time: options.date.toISOString(),
    message: options.message,
    ...options.fiber.getRef(References.CurrentLogAnnotations), // was options.annotations (HashMap)
    ...(Option.isSome(span) ? { trace_id: span.value.traceId, span_id: span.value.spanId } : {})
  })
})
await Effect.runPromise(
  Effect.logWarning("db slow").pipe(
    Effect.annotateLogs({ requestId: "rid-1" }),
    Effect.withSpan("GET /x"),
    Effect.provide(Logger.layer([JsonLogger]))
  )
)
console.log(JSON.stringify(lines))
console.log("Formatter.formatJson(Redacted):", Formatter.formatJson({ url: Redacted.make("postgres://u:p4ssw0rd@h/db") }))
