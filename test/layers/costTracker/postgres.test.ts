/**
 * The PostgreSQL CostTracker on a real database (a fresh clone of the migrated template per test):
 * the shared contract on `llm_usage`, the rows as stored, what happens to ids the table cannot
 * hold, error classification, and the layer built from settings with its EMF lines.
 */
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import { EmfSink } from "../../../src/layers/telemetry/emf.js"
import { CostTrackerPostgres, makePostgresCostStore } from "../../../src/layers/costTracker/postgres.js"
import { CostTracker, CostTrackerUnavailable } from "../../../src/services/costTracker.js"
import { OwnerSql, TestDatabaseLive } from "../../support/database.js"
import { costTrackerContract, usage } from "./contract.js"

const newUserId = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`
    INSERT INTO users (email_hash, email_encrypted) VALUES (${randomBytes(32)}, ${randomBytes(48)}) RETURNING id`
  return Schema.decodeUnknownSync(Schema.Tuple([Schema.Struct({ id: Schema.String.check(Schema.isUUID()) })]))(rows)[0].id
})

costTrackerContract("postgres", {
  environment: () => TestDatabaseLive(),
  store: makePostgresCostStore,
  newUserId
})

const StoredRow = Schema.Struct({
  idempotencyKey: Schema.String,
  userId: Schema.NullOr(Schema.String),
  provider: Schema.String,
  modelId: Schema.String,
  documentType: Schema.String,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  totalCostCents: Schema.String,
  processingTimeMs: Schema.Number,
  month: Schema.String,
  occurredAt: Schema.Date
})

const storedRows = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT idempotency_key, user_id, provider, model_id, document_type, input_tokens, output_tokens,
                                 total_cost_cents, processing_time_ms, month, occurred_at
                          FROM llm_usage ORDER BY occurred_at`
  return Schema.decodeUnknownSync(Schema.Array(StoredRow))(rows)
})

describe("PostgreSQL cost store", () => {
  it.live("writes one llm_usage row per idempotency key, cost to 4 decimals", () =>
    Effect.gen(function* () {
      const store = yield* makePostgresCostStore
      const user = yield* newUserId
      const record = usage(user, { totalCostCents: 1.23456, documentType: "report", idempotencyKey: "job:j-1:attempt:2" })
      yield* store.write(record)
      yield* store.write(record)
      expect(yield* storedRows).toEqual([
        {
          idempotencyKey: "job:j-1:attempt:2",
          userId: user,
          provider: "aws.bedrock",
          modelId: record.modelId,
          documentType: "report",
          inputTokens: 1000,
          outputTokens: 200,
          totalCostCents: "1.2346",
          processingTimeMs: 1234,
          month: "2026-03",
          occurredAt: record.occurredAt
        }
      ])
    }).pipe(Effect.provide(TestDatabaseLive())))

  it.live("a record for a user that no longer exists is kept, unattributed (as ON DELETE SET NULL keeps older ones)", () =>
    Effect.gen(function* () {
      const store = yield* makePostgresCostStore
      const gone = randomUUID()
      yield* store.write(usage(gone))
      const rows = yield* storedRows
      expect(rows.map((r) => r.userId)).toEqual([null])
      expect((yield* store.monthlyUsage(gone, "2026-03")).calls).toBe(0)
    }).pipe(Effect.provide(TestDatabaseLive())))

  it.live("a user id that is not a UUID: the write is refused (not retried), the usage is zero", () =>
    Effect.gen(function* () {
      const store = yield* makePostgresCostStore
      const error = yield* Effect.flip(store.write(usage("user-1")))
      expect(error).toMatchObject({ _tag: "CostStoreError", code: "INVALID_USER_ID", transient: false })
      expect(yield* store.monthlyUsage("user-1", "2026-03")).toMatchObject({ calls: 0, totalCostCents: 0 })
    }).pipe(Effect.provide(TestDatabaseLive())))

  it.live("a row the table refuses is a permanent error carrying its SQLSTATE (class 23)", () =>
    Effect.gen(function* () {
      const store = yield* makePostgresCostStore
      const user = yield* newUserId
      // the schema would refuse this record; the store reports the constraint's SQLSTATE
      const refused = yield* Effect.flip(store.write({ ...usage(user), inputTokens: -1 }))
      expect(refused).toMatchObject({ code: "23514", transient: false })
    }).pipe(Effect.provide(TestDatabaseLive())))

  it.live("monthlyUsage fails with CostTrackerUnavailable when the table cannot be read", () =>
    Effect.gen(function* () {
      const owner = yield* OwnerSql
      const store = yield* makePostgresCostStore
      // DDL: only the schema's owner can (the store's pool is the application's role)
      yield* owner`ALTER TABLE llm_usage RENAME TO llm_usage_elsewhere`
      const error = yield* Effect.flip(store.monthlyUsage(randomUUID(), "2026-03"))
      expect(error).toBeInstanceOf(CostTrackerUnavailable)
      expect(error.message).toBe("LLM usage could not be read (42P01)")
    }).pipe(Effect.provide(TestDatabaseLive())))

  it.live("CostTrackerPostgres from settings: records, sums, checks the budget and emits EMF lines", () => {
    const lines: Array<string> = []
    return Effect.gen(function* () {
      const tracker = yield* CostTracker
      const user = yield* newUserId
      yield* tracker.record(usage(user, { totalCostCents: 2.5 }))
      expect(yield* tracker.monthlyUsage(user, "2026-03")).toMatchObject({ calls: 1, totalCostCents: 2.5 })
      yield* tracker.ensureWithinBudget(user)
      expect(lines).toHaveLength(1)
      expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ _aws: { CloudWatchMetrics: [{ Namespace: "Serenya/LLM" }, {}, {}] }, TotalCost: 2.5 })
    }).pipe(
      Effect.provide(
        CostTrackerPostgres.pipe(
          Layer.provideMerge(TestDatabaseLive()),
          Layer.provide(Layer.succeed(EmfSink, { emit: (line) => Effect.sync(() => void lines.push(line)) }))
        )
      )
    )
  })
})
