/**
 * Structured JSON log lines through Effect's Logger, with one redaction rule applied to every
 * line: secrets, tokens and health data never reach a log, whatever a caller annotates.
 *
 * The rule has two halves:
 * - keys: an annotation whose name says it holds a secret, personal or health data is replaced
 *   by "[REDACTED]" (ids, codes and technical fields are allowed by name);
 * - values: anything that looks like a bearer token, a JWT, an email address or a URL with a
 *   password is scrubbed wherever it appears, including the message itself.
 * Causes are logged as their error code/tag and message only: never a stack trace.
 *
 * Every line says where it comes from: `service`, the name telemetry gives the process's traces
 * (OTEL_SERVICE_NAME, else `service.name` in OTEL_RESOURCE_ATTRIBUTES, else `serenya-backend`), so
 * a line and its trace join on the same name; and `version`, APP_VERSION else the package's. Both
 * are the line's own fields: an annotation of the same name cannot replace them (see RESERVED_FIELDS).
 */
import { Cause, Config, Context, Effect, Formatter, Layer, Logger, Option, Redacted, References, Tracer } from "effect"
import { appVersionConfig, SERVICE_NAME, SERVICE_VERSION } from "../../config/app.js"
import { serviceNameConfig } from "../../config/telemetry.js"
import { errorInfo } from "../../services/errors.js"
import { parseResourceAttributes } from "../telemetry/otel.js"

const REDACTED = "[REDACTED]"

/** Key names that are safe to log as they are, even if they match a sensitive word below. */
const SAFE_KEYS = new Set(
  [
    "requestId",
    "correlationId",
    "traceId",
    "spanId",
    "trace_id",
    "span_id",
    "userId",
    "jobId",
    "contentId",
    "conversationId",
    "contentType",
    "documentType",
    "route",
    "method",
    "status",
    "durationMs",
    "errorCode",
    "errorCategory",
    "errorRecovery",
    "service",
    "operation",
    "fileSizeBytes",
    "sizeBytes",
    "modelId",
    "provider",
    "inputTokens",
    "outputTokens",
    "tokenCount",
    "pid",
    "port",
    "migrations"
  ].map((k) => k.toLowerCase())
)

const SENSITIVE_KEY =
  /pass(word|wd|phrase)?|secret|token|authori[sz]ation|cookie|api[-_]?key|private|credential|session|signature|jwt|bearer|email|e-mail|phone|name|address|birth|dob|ssn|patient|diagnos|medic|health|lab|vital|result|summary|document|content|message|body|payload|text|note|question|answer|file|dataBase64|data$/i

export const isSensitiveKey = (key: string): boolean =>
  !SAFE_KEYS.has(key.toLowerCase()) && SENSITIVE_KEY.test(key)

const VALUE_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // Authorization header values
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 [REDACTED]"],
  // JWTs (three base64url segments starting with a JSON header)
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  // credentials in URLs (postgres://user:secret@host)
  [/([a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s]+@/gi, "$1[REDACTED]@"],
  // email addresses
  [/[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[REDACTED_EMAIL]"]
]

export const scrubText = (text: string): string =>
  VALUE_PATTERNS.reduce((acc, [pattern, replacement]) => acc.replace(pattern, replacement), text)

/** Deep copy of a value fit for a log line. */
export const redact = (value: unknown, depth = 0): unknown => {
  if (value === null || value === undefined) return value
  if (Redacted.isRedacted(value)) return REDACTED
  if (typeof value === "string") return scrubText(value)
  if (typeof value === "number" || typeof value === "boolean") return value
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`
  if (depth > 6) return "[…]"
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1))
  if (value instanceof Error) return describeError(value)
  if (typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(value)) {
      out[key] = isSensitiveKey(key) ? REDACTED : redact(v, depth + 1)
    }
    return out
  }
  return REDACTED
}

const describeError = (error: unknown, depth = 0): Record<string, unknown> => {
  const info = errorInfo(error)
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined
  const name = error instanceof Error ? error.name : typeof error
  const message = error instanceof Error ? error.message : typeof error === "string" ? error : undefined
  // One level of the underlying cause says what actually happened (e.g. EADDRINUSE under a ServeError).
  const inner = depth === 0 && typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined
  return {
    ...(info ? { code: info.code, category: info.category, recovery: info.recovery } : {}),
    type: tag ?? name,
    ...(message !== undefined && message !== "" ? { message: scrubText(message).slice(0, 500) } : {}),
    ...(inner instanceof Error ? { cause: describeError(inner, 1) } : {})
  }
}

/** A cause as a short list of errors: codes and messages, no stacks. */
export const describeCause = (cause: Cause.Cause<unknown>): ReadonlyArray<Record<string, unknown>> => {
  const failures = cause.reasons.filter(Cause.isFailReason).map((r) => describeError(r.error))
  const defects = cause.reasons.filter(Cause.isDieReason).map((r) => ({ ...describeError(r.defect), defect: true }))
  const interrupted = Cause.hasInterruptsOnly(cause) ? [{ type: "Interrupted" }] : []
  return [...failures, ...defects, ...interrupted]
}

const messageText = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts
    .map((part) => (typeof part === "string" ? part : Formatter.formatJson(redact(part), { space: 2 })))
    .join(" ")
}

/**
 * The line's own fields. An annotation may come from anywhere (a request's values included), so
 * one of these names is kept as `annotation_<name>` instead: a caller can neither hide nor fake the
 * level, the time, the service or the version of a line.
 */
const RESERVED_FIELDS = new Set(["level", "time", "service", "version", "message", "trace_id", "span_id", "errors"])

/** What every line says it comes from. */
export interface LogIdentity {
  readonly service: string
  readonly version: string
}

/** Where nothing else is set (and what a line formatted without an identity carries). */
export const DEFAULT_LOG_IDENTITY: LogIdentity = { service: SERVICE_NAME, version: SERVICE_VERSION }

/**
 * The identity from the current ConfigProvider, in telemetry's order for the name
 * (layers/telemetry/otel.ts resourceAttributes: OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES over
 * ours) and the app slice's APP_VERSION for the version. Read when the logger is built, before the
 * settings may be (a Lambda init failure is logged too); a value the settings refuse keeps its
 * default here, and the process stops on the settings' own error anyway.
 */
export const logIdentity: Effect.Effect<LogIdentity> = Effect.gen(function* () {
  const named = yield* Effect.orElseSucceed(serviceNameConfig, () => Option.none<string>())
  const attributes = yield* Effect.orElseSucceed(Config.String("OTEL_RESOURCE_ATTRIBUTES").pipe(Config.withDefault("")), () => "")
  const version = yield* Effect.orElseSucceed(appVersionConfig, () => SERVICE_VERSION)
  const service = Option.getOrElse(named, () => parseResourceAttributes(attributes)["service.name"] ?? SERVICE_NAME)
  return { service, version }
})

export interface JsonLogRecord {
  readonly level: string
  readonly time: string
  readonly service: string
  readonly version: string
  readonly message: string
  readonly [key: string]: unknown
}

export const formatLogRecord = (options: Logger.Options<unknown>, identity: LogIdentity = DEFAULT_LOG_IDENTITY): JsonLogRecord => {
  const record: Record<string, unknown> = {
    // Effect 4's levels are "Info", "Warn", …; our lines keep the upper-case labels ("INFO", "WARN")
    level: options.logLevel.toUpperCase(),
    time: options.date.toISOString(),
    service: identity.service,
    version: identity.version,
    message: scrubText(messageText(options.message))
  }
  const span = Context.getOption(options.fiber.context, Tracer.ParentSpan)
  // The OpenTelemetry log data model's names, which collectors map onto the trace.
  // With tracing off (how telemetry turns it off: References.TracerEnabled) Effect 4 still opens
  // spans, no-op ones whose ids name no trace anyone can find: the line then carries none.
  if (Option.isSome(span) && options.fiber.getRef(References.TracerEnabled)) {
    record.trace_id = span.value.traceId
    record.span_id = span.value.spanId
  }
  for (const [key, value] of Object.entries(options.fiber.getRef(References.CurrentLogAnnotations))) {
    // An annotation may not overwrite the line's own fields; it is kept under another name.
    const name = RESERVED_FIELDS.has(key) ? `annotation_${key}` : key
    record[name] = isSensitiveKey(key) ? REDACTED : redact(value)
  }
  if (options.cause.reasons.length > 0) record.errors = describeCause(options.cause)
  return record as JsonLogRecord
}

/** One JSON line per log call on stdout, each carrying `identity`. */
export const makeJsonLogger = (identity: LogIdentity) =>
  Logger.make((options) => {
    process.stdout.write(`${JSON.stringify(formatLogRecord(options, identity))}\n`)
  })

/**
 * Replaces Effect's default logger with the JSON one (and keeps nothing else writing), its identity
 * read as the layer is built (logIdentity). Logger.layer sets the whole set of loggers, so the
 * tracer logger (log lines as span events) is kept explicitly.
 */
export const JsonLoggerLive: Layer.Layer<never> = Layer.unwrap(
  Effect.map(logIdentity, (identity) => Logger.layer([makeJsonLogger(identity), Logger.tracerLogger]))
)

