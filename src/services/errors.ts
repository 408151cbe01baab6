/**
 * The error model. Every typed error in the system carries an ErrorInfo: a stable UPPER_SNAKE
 * code, a category, a recovery strategy and the HTTP status it answers with. `http/errors.ts`
 * is the one place that turns these into responses; the resilience combinators read `recovery`
 * to decide what is worth retrying.
 */
import { Schema } from "effect"

export const ErrorCategory = Schema.Literals(["validation", "business", "technical", "external"])
export type ErrorCategory = typeof ErrorCategory.Type

export const RecoveryStrategy = Schema.Literals(["retry", "fallback", "escalate", "ignore"])
export type RecoveryStrategy = typeof RecoveryStrategy.Type

export interface ErrorInfo {
  readonly code: string
  readonly category: ErrorCategory
  readonly recovery: RecoveryStrategy
  readonly status: number
}

export const ErrorInfoId: unique symbol = Symbol.for("serenya/ErrorInfo")

/** Anything that can describe itself in the error model. */
export interface Classified {
  readonly [ErrorInfoId]: ErrorInfo
  readonly message: string
}

export const isClassified = (u: unknown): u is Classified =>
  typeof u === "object" && u !== null && ErrorInfoId in u

export const errorInfo = (u: unknown): ErrorInfo | undefined => (isClassified(u) ? u[ErrorInfoId] : undefined)

/** Transient errors are the ones whose recovery strategy is to try again. */
export const isTransient = (u: unknown): boolean => errorInfo(u)?.recovery === "retry"

/** Seconds a client should wait before retrying, for errors that know it (429, 503). */
export const RetryAfterId: unique symbol = Symbol.for("serenya/RetryAfter")
export interface HasRetryAfter {
  readonly [RetryAfterId]: number
}
export const retryAfterSeconds = (u: unknown): number | undefined =>
  typeof u === "object" && u !== null && RetryAfterId in u ? (u as HasRetryAfter)[RetryAfterId] : undefined

/**
 * An error's info, its status kept as a literal type (`ErrorInfo & { status: 404 }`): the test of the
 * API's error declarations (test/http/errorCoverage.test.ts) reads each program's possible statuses
 * from its error union, as `StatusOf` below.
 */
const info = <const S extends number>(code: string, category: ErrorCategory, recovery: RecoveryStrategy, status: S): ErrorInfo & { readonly status: S } => ({
  code,
  category,
  recovery,
  status
})

/** A failure that may pass (throttling, an outage): retried while transient, escalated otherwise. */
export const transientFailureInfo = <const S extends number>(code: string, category: ErrorCategory, transient: boolean, status: S) =>
  info(code, category, transient ? "retry" : "escalate", status)

/** The HTTP statuses an error union can answer with (`number` for an error whose status is not a literal). */
export type StatusOf<E> = E extends { readonly [ErrorInfoId]: { readonly status: infer S extends number } } ? S : never

// ---------------------------------------------------------------------------------------------
// validation: the request itself is wrong; retrying the same request cannot help.

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("INVALID_REQUEST", "validation", "ignore", 400)
  }
}

export class MalformedBody extends Schema.TaggedError<MalformedBody>()("MalformedBody", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("MALFORMED_BODY", "validation", "ignore", 400)
  }
}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String,
  limitBytes: Schema.Number
}) {
  get [ErrorInfoId]() {
    return info("PAYLOAD_TOO_LARGE", "validation", "ignore", 413)
  }
}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("UNSUPPORTED_MEDIA_TYPE", "validation", "ignore", 415)
  }
}

/** The path exists, but not for this method: the answer names the methods it has (`Allow`). */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: Schema.String,
  allow: Schema.Array(Schema.String)
}) {
  get [ErrorInfoId]() {
    return info("METHOD_NOT_ALLOWED", "validation", "ignore", 405)
  }
}

// ---------------------------------------------------------------------------------------------
// business: the request is well formed but the rules say no.

export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()("Unauthenticated", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("UNAUTHENTICATED", "business", "escalate", 401)
  }
}

/**
 * A verified Google identity whose email belongs to an account already bound to another Google
 * account (a recycled Workspace address, a re-registered domain): never the same person by
 * default, so never signed in to that account.
 */
export class AccountBoundElsewhere extends Schema.TaggedError<AccountBoundElsewhere>()("AccountBoundElsewhere", {
  message: Schema.String,
  /** The account the email belongs to: for the audit trail only, never in the answer. */
  userId: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("ACCOUNT_BOUND_TO_OTHER_GOOGLE_ACCOUNT", "business", "escalate", 401)
  }
}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("FORBIDDEN", "business", "escalate", 403)
  }
}

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("NOT_FOUND", "business", "ignore", 404)
  }
}

export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("CONFLICT", "business", "ignore", 409)
  }
}

export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("QUOTA_EXCEEDED", "business", "escalate", 402)
  }
}

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  get [ErrorInfoId]() {
    return info("RATE_LIMITED", "business", "retry", 429)
  }
  get [RetryAfterId]() {
    return this.retryAfterSeconds
  }
}

// ---------------------------------------------------------------------------------------------
// technical: our own infrastructure is failing.

export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("DATABASE_UNAVAILABLE", "technical", "retry", 503)
  }
  get [RetryAfterId]() {
    return 5
  }
}

export class OperationTimedOut extends Schema.TaggedError<OperationTimedOut>()("OperationTimedOut", {
  message: Schema.String,
  operation: Schema.String
}) {
  get [ErrorInfoId]() {
    return info("TIMEOUT", "technical", "retry", 504)
  }
}

/** A circuit breaker is open: we fail fast instead of hammering a dependency that is down. */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  message: Schema.String,
  service: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  get [ErrorInfoId]() {
    return info("SERVICE_UNAVAILABLE", "technical", "fallback", 503)
  }
  get [RetryAfterId]() {
    return this.retryAfterSeconds
  }
}

// ---------------------------------------------------------------------------------------------
// external: a dependency outside our control answered badly.

export class UpstreamFailed extends Schema.TaggedError<UpstreamFailed>()("UpstreamFailed", {
  message: Schema.String,
  service: Schema.String,
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("UPSTREAM_FAILED", "external", this.transient, 502)
  }
}
