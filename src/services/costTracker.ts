/**
 * The CostTracker capability: every LLM call's tokens and cost are recorded per user, summed per
 * calendar month (UTC), and checked against a per-user monthly budget before new LLM work starts.
 *
 * `record` never fails its caller: a store that is down must not fail the user's request, so the
 * layers retry in the background. Each record carries an idempotency key (`job:<jobId>:attempt:<n>`,
 * `chat:<messageId>`) that makes a retried write count once.
 */
import { Clock, Context, Effect, Schema } from "effect"
import { ErrorInfoId, type QuotaExceeded, RetryAfterId } from "./errors.js"
import { LLMProviderName, type ModelCall } from "./llm.js"
import { costCents, type TokenCounts } from "./pricing.js"
import { recordLlmUsage } from "./metrics.js"

/** What the LLM work was for; the metrics' DocumentType dimension. */
export const UsageDocumentType = Schema.Literals(["lab_results", "vitals", "chat", "report"])
export type UsageDocumentType = typeof UsageDocumentType.Type

/** A calendar month, "YYYY-MM". */
export const Month = Schema.String.pipe(Schema.check(Schema.isPattern(/^\d{4}-(0[1-9]|1[0-2])$/u)))

const ValidDate = Schema.Date.check(Schema.makeFilter((d) => !Number.isNaN(d.getTime()) || "invalid date"))

export const LLMUsageRecord = Schema.Struct({
  userId: Schema.Trimmed.check(Schema.isNonEmpty()),
  provider: LLMProviderName,
  modelId: Schema.Trimmed.check(Schema.isNonEmpty()),
  documentType: UsageDocumentType,
  inputTokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  outputTokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** Cents, 4 decimals (see pricing.costCents). */
  totalCostCents: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  processingTimeMs: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  occurredAt: ValidDate,
  /** Same key, same record: a retried write of it is counted once. */
  idempotencyKey: Schema.Trimmed.check(Schema.isNonEmpty()).pipe(Schema.check(Schema.isMaxLength(512)))
})
export type LLMUsageRecord = typeof LLMUsageRecord.Type

/** One stored record as the user's export shows it: what was done, with which model, for how much. */
export type UsageEntry = Omit<LLMUsageRecord, "userId" | "idempotencyKey">

export interface MonthlyUsage {
  readonly month: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly totalCostCents: number
  readonly calls: number
}

export const emptyMonthlyUsage = (month: string): MonthlyUsage => ({
  month,
  inputTokens: 0,
  outputTokens: 0,
  totalCostCents: 0,
  calls: 0
})

/** "YYYY-MM" of a date, in UTC. */
export const monthOf = (date: Date): string =>
  `${String(date.getUTCFullYear()).padStart(4, "0")}-${String(date.getUTCMonth() + 1).padStart(2, "0")}`

/** The cost store cannot be read right now; the budget cannot be checked. */
export class CostTrackerUnavailable extends Schema.TaggedError<CostTrackerUnavailable>()("CostTrackerUnavailable", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "COST_TRACKER_UNAVAILABLE", category: "technical", recovery: "retry", status: 503 } as const
  }
  get [RetryAfterId]() {
    return 5
  }
}

export class CostTracker extends Context.Service<
  CostTracker,
  {
    /** Stores the record (or queues it for a background retry); never fails. */
    readonly record: (record: LLMUsageRecord) => Effect.Effect<void>
    /** The user's usage in `month` ("YYYY-MM"); an invalid month is a defect. */
    readonly monthlyUsage: (userId: string, month: string) => Effect.Effect<MonthlyUsage, CostTrackerUnavailable>
    /** Fails with QuotaExceeded when this month's cost has reached the user's budget. */
    readonly ensureWithinBudget: (userId: string) => Effect.Effect<void, QuotaExceeded | CostTrackerUnavailable>
    /** Every stored record of the user, oldest first (the account export). */
    readonly usageRecords: (userId: string) => Effect.Effect<ReadonlyArray<UsageEntry>, CostTrackerUnavailable>
    /**
     * Erasure: deletes every stored record of the user and forgets the ones still waiting for a
     * background retry here, so none is written back afterwards; answers how many were deleted.
     * Idempotent; a failure leaves the rest for a later call (the erasure outbox retries it).
     */
    readonly eraseUser: (userId: string) => Effect.Effect<number, CostTrackerUnavailable>
  }
>()("serenya/CostTracker") {}

/** A record for one LLM call, priced from the model's price table, dated by Clock. */
export const usageRecord = (input: {
  readonly userId: string
  readonly provider: LLMProviderName
  readonly modelId: string
  readonly documentType: UsageDocumentType
  readonly usage: TokenCounts
  readonly processingTimeMs: number
  readonly idempotencyKey: string
}): Effect.Effect<LLMUsageRecord> =>
  Effect.map(Clock.currentTimeMillis, (now): LLMUsageRecord => ({
    userId: input.userId,
    provider: input.provider,
    modelId: input.modelId,
    documentType: input.documentType,
    inputTokens: input.usage.inputTokens,
    outputTokens: input.usage.outputTokens,
    totalCostCents: costCents(input.modelId, input.usage),
    processingTimeMs: Math.max(0, Math.round(input.processingTimeMs)),
    occurredAt: new Date(now),
    idempotencyKey: input.idempotencyKey
  })).pipe(
    // Built once per LLM call: where the LLMTokens and LLMCostCents metrics count it.
    Effect.tap(recordLlmUsage)
  )

/**
 * Records each model call of one operation, in order: `<keyPrefix>:call:<n>` keeps every call once,
 * however often the recording is retried.
 */
export const recordModelCalls = (
  calls: ReadonlyArray<ModelCall>,
  record: { readonly userId: string; readonly documentType: UsageDocumentType; readonly keyPrefix: string }
): Effect.Effect<void, never, CostTracker> =>
  Effect.flatMap(CostTracker, (costs) =>
    Effect.forEach(
      calls,
      (call, index) =>
        Effect.flatMap(
          usageRecord({
            userId: record.userId,
            provider: call.provider,
            modelId: call.modelId,
            documentType: record.documentType,
            usage: call.usage,
            processingTimeMs: call.elapsedMs,
            idempotencyKey: `${record.keyPrefix}:call:${index + 1}`
          }),
          costs.record
        ),
      { discard: true }
    )
  )
