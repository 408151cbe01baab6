/**
 * The local CostTracker: the `llm_usage` table (migration 0001), which already has what this
 * needs — `idempotency_key UNIQUE` for idempotent writes (ON CONFLICT DO NOTHING) and an index on
 * (user_id, month) for the monthly sum. Also emits the EMF lines (harmless locally, metrics in k8s).
 *
 * Erasure deletes the user's rows (`eraseUser`, also done inside the erasure transaction).
 * `user_id` references users ON DELETE SET NULL: a record written for a user that no longer exists
 * (an in-flight call that finished after the erasure) is kept unattributed rather than refused.
 */
import { SqlClient, type SqlError, SqlSchema } from "effect/sql"
import { Effect, Layer, Schema, type Scope } from "effect"
import { CostConfig } from "../../config/cost.js"
import {
  CostTracker,
  CostTrackerUnavailable,
  emptyMonthlyUsage,
  type LLMUsageRecord,
  monthOf,
  type MonthlyUsage,
  UsageDocumentType,
  type UsageEntry
} from "../../services/costTracker.js"
import { LLMProviderName } from "../../services/llm.js"
import { Timeouts, withRetry, withTimeout } from "../../services/resilience.js"
import { type CostStore, CostStoreError, type CostTrackerOptions, makeCostTracker } from "./background.js"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// SQLSTATE classes a retry cannot fix: data exceptions, constraint violations, syntax/access/undefined objects.
const PERMANENT_SQLSTATE_CLASSES = new Set(["22", "23", "42", "44"])

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : "SQL_ERROR"

/** The driver's error (with its SQLSTATE) is the cause of the failure's reason. */
const classify = (operation: string) => (error: SqlError.SqlError): CostStoreError => {
  const code = errorCode(error.reason.cause)
  const permanent = /^[0-9A-Z]{5}$/.test(code) && PERMANENT_SQLSTATE_CLASSES.has(code.slice(0, 2))
  return new CostStoreError({ message: `PostgreSQL ${operation} failed: ${code}`, code, transient: !permanent })
}

const Sum = Schema.FiniteFromString
const MonthlySums = Schema.Struct({ calls: Sum, inputTokens: Sum, outputTokens: Sum, totalCostCents: Sum })

const UsageRow = Schema.Struct({
  provider: LLMProviderName,
  modelId: Schema.String,
  documentType: UsageDocumentType,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  // numeric(12, 4) arrives as text
  totalCostCents: Sum,
  processingTimeMs: Schema.Number,
  occurredAt: Schema.Date
})

export const makePostgresCostStore: Effect.Effect<CostStore, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const write = (record: LLMUsageRecord): Effect.Effect<void, CostStoreError> =>
    !UUID.test(record.userId)
      ? Effect.fail(new CostStoreError({ message: "The user id is not a UUID", code: "INVALID_USER_ID", transient: false }))
      : sql`
          INSERT INTO llm_usage (
            idempotency_key, user_id, provider, model_id, document_type, input_tokens, output_tokens,
            total_cost_cents, processing_time_ms, month, occurred_at
          ) VALUES (
            ${record.idempotencyKey},
            (SELECT id FROM users WHERE id = ${record.userId}::uuid),
            ${record.provider},
            ${record.modelId},
            ${record.documentType},
            ${record.inputTokens},
            ${record.outputTokens},
            ${record.totalCostCents.toFixed(4)},
            ${record.processingTimeMs},
            ${monthOf(record.occurredAt)},
            ${record.occurredAt}
          )
          ON CONFLICT (idempotency_key) DO NOTHING`.pipe(
          Effect.mapError(classify("INSERT llm_usage")),
          Effect.asVoid,
          Effect.withSpan("CostStore.write", { attributes: { "cost.store": "postgres" } })
        )

  const sums = SqlSchema.findOne({
    Request: Schema.Struct({ userId: Schema.String, month: Schema.String }),
    Result: MonthlySums,
    execute: ({ userId, month }) => sql`
      SELECT count(*)::text AS calls,
             coalesce(sum(input_tokens), 0)::text AS input_tokens,
             coalesce(sum(output_tokens), 0)::text AS output_tokens,
             coalesce(sum(total_cost_cents), 0)::text AS total_cost_cents
      FROM llm_usage
      WHERE user_id = ${userId}::uuid AND month = ${month}`
  })

  const monthlyUsage = (userId: string, month: string): Effect.Effect<MonthlyUsage, CostTrackerUnavailable> =>
    // no row can belong to an id that is not a UUID
    !UUID.test(userId)
      ? Effect.succeed(emptyMonthlyUsage(month))
      : sums({ userId, month }).pipe(
          Effect.catchTags({
            SqlError: (error) => Effect.fail(classify("SELECT llm_usage")(error)),
            SchemaError: () =>
              Effect.fail(new CostStoreError({ message: "llm_usage sums did not decode", code: "INVALID_ROW", transient: false })),
            NoSuchElementError: () =>
              Effect.fail(new CostStoreError({ message: "llm_usage sums returned no row", code: "NO_ROW", transient: false }))
          }),
          withTimeout("postgres.llm_usage.monthly", Timeouts.database),
          Effect.catchTag("OperationTimedOut", () =>
            Effect.fail(new CostStoreError({ message: "PostgreSQL SELECT llm_usage timed out", code: "TIMEOUT", transient: true }))
          ),
          withRetry("database"),
          Effect.map((row): MonthlyUsage => ({ month, ...row })),
          Effect.mapError((error) => new CostTrackerUnavailable({ message: `LLM usage could not be read (${error.code})` })),
          Effect.withSpan("CostStore.monthlyUsage", { attributes: { "cost.store": "postgres" } })
        )

  const bounded = <A>(operation: string) => (effect: Effect.Effect<A, CostStoreError>) =>
    effect.pipe(
      withTimeout(`postgres.llm_usage.${operation}`, Timeouts.database),
      Effect.catchTag("OperationTimedOut", () =>
        Effect.fail(new CostStoreError({ message: `PostgreSQL ${operation} llm_usage timed out`, code: "TIMEOUT", transient: true }))
      ),
      withRetry("database"),
      Effect.mapError((error) => new CostTrackerUnavailable({ message: `LLM usage could not be read or erased (${error.code})` }))
    )

  const records = (userId: string): Effect.Effect<ReadonlyArray<UsageEntry>, CostTrackerUnavailable> =>
    !UUID.test(userId)
      ? Effect.succeed([])
      : sql`
          SELECT provider, model_id, document_type, input_tokens, output_tokens,
                 total_cost_cents::text AS total_cost_cents, processing_time_ms, occurred_at
          FROM llm_usage WHERE user_id = ${userId}::uuid ORDER BY occurred_at, id`.pipe(
          Effect.mapError(classify("SELECT llm_usage")),
          Effect.flatMap((rows) =>
            Effect.mapError(
              Schema.decodeUnknownEffect(Schema.Array(UsageRow))(rows),
              () => new CostStoreError({ message: "llm_usage rows did not decode", code: "INVALID_ROW", transient: false })
            )
          ),
          bounded("SELECT"),
          Effect.withSpan("CostStore.records", { attributes: { "cost.store": "postgres" } })
        )

  const eraseUser = (userId: string): Effect.Effect<number, CostTrackerUnavailable> =>
    !UUID.test(userId)
      ? Effect.succeed(0)
      : sql<{ n: number }>`
          WITH d AS (DELETE FROM llm_usage WHERE user_id = ${userId}::uuid RETURNING 1) SELECT count(*)::int AS n FROM d`.pipe(
          Effect.mapError(classify("DELETE llm_usage")),
          Effect.map(([row]) => row?.n ?? 0),
          bounded("DELETE"),
          Effect.withSpan("CostStore.eraseUser", { attributes: { "cost.store": "postgres" } })
        )

  return { name: "postgres", write, monthlyUsage, records, eraseUser } satisfies CostStore
})

export const makePostgresCostTracker = (
  options: CostTrackerOptions
): Effect.Effect<(typeof CostTracker)["Service"], never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.flatMap(makePostgresCostStore, (store) => makeCostTracker(store, options))

/** CostTracker on the `llm_usage` table with the budget from the settings. */
export const CostTrackerPostgres: Layer.Layer<CostTracker, never, SqlClient.SqlClient | CostConfig> = Layer.effect(
  CostTracker,
  Effect.flatMap(CostConfig, (cost) => makePostgresCostTracker({ monthlyBudgetCents: cost.monthlyBudgetCents }))
)
