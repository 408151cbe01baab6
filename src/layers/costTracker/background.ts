/**
 * The CostTracker every layer shares, on top of a store (DynamoDB, PostgreSQL, memory).
 *
 * `record` validates, emits the EMF metrics line, then writes once within a short timeout. A
 * failed write never reaches the caller: it is logged (ids and codes only), counted in
 * `CostRecordFailures` and queued for a background fiber that retries it with exponential backoff
 * and jitter, up to `maxAttempts`; after that the record is logged at error level with its
 * idempotency key, counted in `CostRecordsDropped` and dropped. Stores write idempotently by the
 * record's idempotency key, so a retry of a write that did land (and only timed out) counts once.
 * When the layer's scope closes, the retry fibers stop and every pending record gets a last
 * prompt attempt within `flushTimeout`.
 */
import {
  Cause,
  Clock,
  Duration,
  Effect,
  Exit,
  FiberSet,
  Metric,
  Option,
  Queue,
  Ref,
  Result,
  Schedule,
  Schema,
  type Scope,
  Semaphore
} from "effect"
import {
  type CostTracker,
  type CostTrackerUnavailable,
  LLMUsageRecord,
  Month,
  monthOf,
  type MonthlyUsage,
  type UsageEntry
} from "../../services/costTracker.js"
import { ErrorInfoId, QuotaExceeded, transientFailureInfo } from "../../services/errors.js"
import { EmfSink } from "../telemetry/emf.js"
import { emfLine } from "./emf.js"
import { fnTraced } from "../../services/telemetry.js"

/** A write that did not happen; `code` is the backend's own (SDK error name, SQLSTATE, TIMEOUT). */
export class CostStoreError extends Schema.TaggedError<CostStoreError>()("CostStoreError", {
  message: Schema.String,
  code: Schema.String,
  /** Throttling, outages and timeouts are worth retrying; a record the store refuses is not. */
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("COST_STORE_FAILED", "technical", this.transient, 503)
  }
}

export interface CostStore {
  /** Short name for logs and metric tags: dynamodb, postgres, memory. */
  readonly name: string
  /** Idempotent by `record.idempotencyKey`: writing a stored record again changes nothing. */
  readonly write: (record: LLMUsageRecord) => Effect.Effect<void, CostStoreError>
  readonly monthlyUsage: (userId: string, month: string) => Effect.Effect<MonthlyUsage, CostTrackerUnavailable>
  /** Every record of the user, oldest first. */
  readonly records: (userId: string) => Effect.Effect<ReadonlyArray<UsageEntry>, CostTrackerUnavailable>
  /** Deletes every record of the user; idempotent; answers how many it deleted. */
  readonly eraseUser: (userId: string) => Effect.Effect<number, CostTrackerUnavailable>
}

/** A record as the export shows it: no user id, no idempotency key. */
export const usageEntryOf = (record: LLMUsageRecord): UsageEntry => ({
  provider: record.provider,
  modelId: record.modelId,
  documentType: record.documentType,
  inputTokens: record.inputTokens,
  outputTokens: record.outputTokens,
  totalCostCents: record.totalCostCents,
  processingTimeMs: record.processingTimeMs,
  occurredAt: record.occurredAt
})

export interface BackgroundRetryOptions {
  /** Delay before the first background attempt; each next one doubles (before jitter). */
  readonly base: Duration.Input
  readonly maxDelay: Duration.Input
  /** Background attempts after the failed first write. */
  readonly maxAttempts: number
}

export interface CostTrackerOptions {
  readonly monthlyBudgetCents: number
  /** One EMF line per record through EmfSink (default true). */
  readonly emitMetrics?: boolean
  /** Bound on one write, the caller's included (default 2 s). */
  readonly writeTimeout?: Duration.Input
  readonly retry?: Partial<BackgroundRetryOptions>
  /** Bound on the last attempts for pending records at shutdown (default 5 s). */
  readonly flushTimeout?: Duration.Input
  /** Records waiting for a retry; past it new failures are dropped with an error log (default 10,000). */
  readonly queueCapacity?: number
  /** Records retried at the same time (default 8). */
  readonly retryConcurrency?: number
}

export const DEFAULT_RETRY: BackgroundRetryOptions = { base: "500 millis", maxDelay: "30 seconds", maxAttempts: 6 }

export const costRecordFailures = Metric.counter("CostRecordFailures", {
  description: "LLM usage writes that failed (each attempt), by store",
  incremental: true
})

export const costRecordsDropped = Metric.counter("CostRecordsDropped", {
  description: "LLM usage records given up on (invalid, refused, retries spent, queue full, shutdown), by store",
  incremental: true
})

/** Sums in ten-thousandths of a cent, so adding many 4-decimal costs stays exact. */
export const sumUsage = (
  month: string,
  rows: Iterable<{ readonly inputTokens: number; readonly outputTokens: number; readonly totalCostCents: number }>
): MonthlyUsage => {
  let inputTokens = 0
  let outputTokens = 0
  let costUnits = 0
  let calls = 0
  for (const row of rows) {
    inputTokens += row.inputTokens
    outputTokens += row.outputTokens
    costUnits += Math.round(row.totalCostCents * 10_000)
    calls += 1
  }
  return { month, inputTokens, outputTokens, totalCostCents: costUnits / 10_000, calls }
}

/** Checks a record as it is (its Type side), as v3 `validateEither` did. */
const validateRecord = Schema.decodeUnknownResult(Schema.toType(LLMUsageRecord))
const isMonth = Schema.is(Month)

export const makeCostTracker = (
  store: CostStore,
  options: CostTrackerOptions
): Effect.Effect<(typeof CostTracker)["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const sink = yield* EmfSink
    const emitMetrics = options.emitMetrics ?? true
    const writeTimeout = Duration.fromInputUnsafe(options.writeTimeout ?? "2 seconds")
    const retry = { ...DEFAULT_RETRY, ...options.retry }
    const maxDelay = Duration.fromInputUnsafe(retry.maxDelay)
    const flushTimeout = Duration.fromInputUnsafe(options.flushTimeout ?? "5 seconds")
    const concurrency = Math.max(1, options.retryConcurrency ?? 8)
    const failures = Metric.withAttributes(costRecordFailures, { store: store.name })
    const dropped = Metric.withAttributes(costRecordsDropped, { store: store.name })

    // exponential with jitter, capped at maxDelay; `max` recurs while both do (v3 `intersect`)
    const retrySchedule = Schedule.max([
      Schedule.exponential(retry.base).pipe(
        Schedule.jittered,
        Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, maxDelay)))
      ),
      Schedule.recurs(Math.max(0, retry.maxAttempts - 1))
    ])

    /** Records not stored yet, by idempotency key: queued, waiting for a retry, or being retried. */
    const pending = yield* Ref.make(new Map<string, LLMUsageRecord>())
    const queue = yield* Queue.dropping<LLMUsageRecord>(Math.max(1, options.queueCapacity ?? 10_000))
    const closing = yield* Ref.make(false)
    const permits = yield* Semaphore.make(concurrency)
    const fibers = yield* FiberSet.make<void, never>()

    const logged = (record: LLMUsageRecord, errorCode: string, attempt?: number) =>
      Effect.annotateLogs({
        idempotencyKey: record.idempotencyKey,
        errorCode,
        costStore: store.name,
        ...(attempt !== undefined ? { attempt } : {})
      })

    const writeOnce = (record: LLMUsageRecord): Effect.Effect<void, CostStoreError> =>
      store.write(record).pipe(
        Effect.timeoutOrElse({
          duration: writeTimeout,
          orElse: () => Effect.fail(new CostStoreError({ message: `${store.name} write timed out`, code: "TIMEOUT", transient: true }))
        }),
        // a defect in a store is a bug: retrying cannot fix it, and it must not reach the caller
        Effect.catchDefect(() =>
          Effect.fail(new CostStoreError({ message: `${store.name} write died`, code: "DEFECT", transient: false }))
        )
      )

    const forget = (record: LLMUsageRecord) =>
      Ref.update(pending, (map) => {
        const next = new Map(map)
        next.delete(record.idempotencyKey)
        return next
      })

    const drop = (record: LLMUsageRecord, why: string, errorCode: string, attempt?: number) =>
      Effect.logError(`LLM usage record dropped: ${why}`).pipe(
        logged(record, errorCode, attempt),
        Effect.andThen(Metric.update(dropped, 1))
      )

    const enqueue = (record: LLMUsageRecord): Effect.Effect<void> =>
      Effect.gen(function* () {
        const added = yield* Ref.modify(pending, (map) =>
          map.has(record.idempotencyKey)
            ? [false, map]
            : [true, new Map(map).set(record.idempotencyKey, record)]
        )
        if (!added) return
        if (!(yield* Queue.offer(queue, record))) {
          yield* forget(record)
          yield* drop(record, "the retry queue is full", "RETRY_QUEUE_FULL", 1)
        }
      })

    const retryInBackground = (record: LLMUsageRecord): Effect.Effect<void> =>
      Effect.suspend(() => {
        let attempt = 1
        const attemptOnce = Effect.suspend(() => {
          attempt += 1
          return Effect.flatMap(Ref.get(pending), (map) =>
            // forgotten meanwhile: its user was erased, and a retry must not write it back
            map.has(record.idempotencyKey) ? writeOnce(record) : Effect.void
          ).pipe(
            Effect.tapError((error) =>
              Effect.logWarning("LLM usage record retry failed").pipe(
                logged(record, error.code, attempt),
                Effect.andThen(Metric.update(failures, 1))
              )
            )
          )
        })
        return attemptOnce.pipe(
          Effect.retry({ schedule: retrySchedule, while: (error) => error.transient }),
          Effect.delay(Duration.fromInputUnsafe(retry.base)),
          Effect.withSpan("CostTracker.retry", { attributes: { "cost.store": store.name } }),
          Effect.exit,
          // interruption (shutdown) leaves the record pending for the flush
          Effect.flatMap((exit) =>
            Exit.match(exit, {
              onSuccess: () =>
                forget(record).pipe(
                  Effect.andThen(
                    Effect.logInfo("LLM usage record stored after retry").pipe(
                      Effect.annotateLogs({ idempotencyKey: record.idempotencyKey, costStore: store.name, attempt })
                    )
                  )
                ),
              onFailure: (cause) => {
                if (Cause.hasInterruptsOnly(cause)) return Effect.void
                const error = Cause.findErrorOption(cause)
                const code = Option.match(error, { onNone: () => "DEFECT", onSome: (e) => e.code })
                const why = Option.exists(error, (e) => e.transient) ? "retries spent" : "the store refused it"
                return forget(record).pipe(Effect.andThen(drop(record, why, code, attempt)))
              }
            })
          )
        )
      })

    const worker = Queue.take(queue).pipe(
      Effect.tap(() => permits.take(1)),
      Effect.flatMap((record) => FiberSet.run(fibers, retryInBackground(record).pipe(Effect.ensuring(permits.release(1))))),
      Effect.forever
    )
    yield* FiberSet.run(fibers, worker)

    // Registered after the FiberSet, so it runs first: stop retries, then flush what is pending.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* Ref.set(closing, true)
        yield* FiberSet.clear(fibers)
        yield* Queue.shutdown(queue)
        const records = [...(yield* Ref.get(pending)).values()]
        if (records.length === 0) return
        yield* Effect.forEach(
          records,
          (record) =>
            writeOnce(record).pipe(
              Effect.tapError(() => Metric.update(failures, 1)),
              Effect.retry({ schedule: retrySchedule, while: (error) => error.transient }),
              Effect.andThen(forget(record)),
              Effect.ignore
            ),
          { concurrency, discard: true }
        ).pipe(
          // finalizers run uninterruptibly: without this the timeout could not stop a stuck write
          Effect.interruptible,
          Effect.timeout(flushTimeout),
          Effect.ignore
        )
        for (const record of (yield* Ref.get(pending)).values()) {
          yield* drop(record, "still not stored at shutdown", "SHUTDOWN")
        }
        yield* Ref.set(pending, new Map())
      })
    )

    const record = fnTraced("CostTracker.record")(
      function* (input: LLMUsageRecord) {
        const validated = validateRecord(input)
        if (Result.isFailure(validated)) {
          yield* Effect.logError("LLM usage record dropped: it is not a valid record").pipe(
            Effect.annotateLogs({ errorCode: "INVALID_RECORD", costStore: store.name })
          )
          yield* Metric.update(dropped, 1)
          return
        }
        const usage = validated.success
        yield* Effect.annotateCurrentSpan({ "cost.store": store.name, "cost.idempotency_key": usage.idempotencyKey })
        if (emitMetrics) yield* sink.emit(emfLine(usage))
        // a caller interrupted mid-write hands the record over instead of losing it
        const exit = yield* Effect.exit(writeOnce(usage).pipe(Effect.onInterrupt(() => enqueue(usage))))
        if (Exit.isSuccess(exit)) return
        const error = Cause.findErrorOption(exit.cause)
        if (error._tag === "None") return
        yield* Metric.update(failures, 1)
        if (!error.value.transient) return yield* drop(usage, "the store refused it", error.value.code, 1)
        if (yield* Ref.get(closing)) return yield* drop(usage, "the tracker is shutting down", error.value.code, 1)
        yield* Effect.logWarning("LLM usage record not stored; retrying in the background").pipe(
          logged(usage, error.value.code, 1)
        )
        yield* enqueue(usage)
      },
      Effect.catchCause((cause) =>
        Effect.logError("recording LLM usage failed unexpectedly", cause).pipe(
          Effect.annotateLogs({ errorCode: "UNEXPECTED", costStore: store.name })
        )
      )
    )

    const monthlyUsage = fnTraced("CostTracker.monthlyUsage")(function* (userId: string, month: string) {
      if (!isMonth(month)) return yield* Effect.die(new Error("CostTracker.monthlyUsage: month must be YYYY-MM"))
      return yield* store.monthlyUsage(userId, month)
    })

    const ensureWithinBudget = fnTraced("CostTracker.ensureWithinBudget")(function* (userId: string) {
      const now = yield* Clock.currentTimeMillis
      const usage = yield* monthlyUsage(userId, monthOf(new Date(now)))
      if (usage.totalCostCents >= options.monthlyBudgetCents) {
        return yield* new QuotaExceeded({
          message: "The monthly AI usage limit has been reached; it resets at the start of next month (UTC)"
        })
      }
    })

    const usageRecords = fnTraced("CostTracker.usageRecords")(function* (userId: string) {
      return yield* store.records(userId)
    })

    const eraseUser = fnTraced("CostTracker.eraseUser")(function* (userId: string) {
      // First the records waiting here for a retry, so that none lands after the store is cleared.
      yield* Ref.update(pending, (map) => {
        const next = new Map(map)
        for (const [key, record] of map) if (record.userId === userId) next.delete(key)
        return next
      })
      return yield* store.eraseUser(userId)
    })

    return { record, monthlyUsage, ensureWithinBudget, usageRecords, eraseUser } satisfies (typeof CostTracker)["Service"]
  })
