/**
 * The in-memory CostTracker against the shared contract, its test controls (stored entries,
 * injected write failures), and the service's vocabulary: months, errors, usageRecord.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { CostTrackerMemory, makeMemoryCostStore, MemoryCostStore } from "../../../src/layers/costTracker/memory.js"
import {
  CostTracker,
  CostTrackerUnavailable,
  emptyMonthlyUsage,
  monthOf,
  usageRecord
} from "../../../src/services/costTracker.js"
import { errorInfo, isTransient, QuotaExceeded, retryAfterSeconds } from "../../../src/services/errors.js"
import { costTrackerContract, SONNET, usage } from "./contract.js"

costTrackerContract("memory", {
  environment: () => Layer.empty,
  store: Effect.map(makeMemoryCostStore, ({ store }) => store),
  newUserId: Effect.sync(() => randomUUID())
})

/** Polls until `done` holds. */
const eventually = <A>(read: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 250; i++) {
      const value = yield* read
      if (done(value)) return value
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.die(new Error("condition not reached in time"))
  })

describe("CostTrackerMemory", () => {
  it.live("entries shows what was stored, once per idempotency key", () =>
    Effect.gen(function* () {
      const tracker = yield* CostTracker
      const store = yield* MemoryCostStore
      const user = randomUUID()
      const first = usage(user)
      yield* tracker.record(first)
      yield* tracker.record(first)
      yield* tracker.record(usage(user, { documentType: "vitals" }))
      const entries = yield* store.entries
      expect(entries.map((e) => e.documentType)).toEqual(["lab_results", "vitals"])
      expect(entries[0]).toEqual(first)
      expect(yield* store.writeAttempts).toBe(3)
    }).pipe(Effect.provide(CostTrackerMemory())))

  it.live("failNextWrites(n): the record is stored by the background retry, exactly once", () =>
    Effect.gen(function* () {
      const tracker = yield* CostTracker
      const store = yield* MemoryCostStore
      yield* store.failNextWrites(2)
      const record = usage(randomUUID())
      yield* tracker.record(record)
      expect(yield* store.entries).toEqual([])
      expect(yield* eventually(store.entries, (e) => e.length > 0)).toEqual([record])
      expect(yield* store.writeAttempts).toBe(3)
    }).pipe(Effect.provide(CostTrackerMemory())))

  it.live("failNextWrites(n, { afterWriting }): the write lands, the retries do not add to it", () =>
    Effect.gen(function* () {
      const tracker = yield* CostTracker
      const store = yield* MemoryCostStore
      yield* store.failNextWrites(2, { afterWriting: true })
      const record = usage(randomUUID())
      yield* tracker.record(record)
      expect(yield* store.entries).toEqual([record])
      yield* eventually(store.writeAttempts, (n) => n >= 3)
      expect(yield* tracker.monthlyUsage(record.userId, "2026-03")).toMatchObject({ calls: 1 })
    }).pipe(Effect.provide(CostTrackerMemory())))

  it.live("the default budget is LLM_MONTHLY_BUDGET_CENTS's default, 500 cents", () =>
    Effect.gen(function* () {
      const tracker = yield* CostTracker
      const user = randomUUID()
      const now = new Date()
      yield* tracker.record(usage(user, { totalCostCents: 499.9999, occurredAt: now }))
      yield* tracker.ensureWithinBudget(user)
      yield* tracker.record(usage(user, { totalCostCents: 0.0001, occurredAt: now }))
      expect(yield* Effect.flip(tracker.ensureWithinBudget(user))).toBeInstanceOf(QuotaExceeded)
    }).pipe(Effect.provide(CostTrackerMemory())))

  it.live("CostTrackerMemory({ monthlyBudgetCents }) sets another budget", () =>
    Effect.gen(function* () {
      const tracker = yield* CostTracker
      const user = randomUUID()
      yield* tracker.record(usage(user, { totalCostCents: 1, occurredAt: new Date() }))
      expect(yield* Effect.flip(tracker.ensureWithinBudget(user))).toBeInstanceOf(QuotaExceeded)
    }).pipe(Effect.provide(CostTrackerMemory({ monthlyBudgetCents: 1 }))))

  it.effect("the budget is checked against the current month by Clock (UTC)", () =>
    Effect.gen(function* () {
      const tracker = yield* CostTracker
      const user = randomUUID()
      yield* TestClock.setTime(Date.parse("2026-03-31T23:59:59.000Z"))
      yield* tracker.record(usage(user, { totalCostCents: 10, occurredAt: new Date("2026-03-15T00:00:00Z") }))
      expect(yield* Effect.flip(tracker.ensureWithinBudget(user))).toBeInstanceOf(QuotaExceeded)
      yield* TestClock.setTime(Date.parse("2026-04-01T00:00:00.000Z"))
      yield* tracker.ensureWithinBudget(user)
    }).pipe(Effect.provide(CostTrackerMemory({ monthlyBudgetCents: 10 }))))
})

describe("CostTracker vocabulary", () => {
  it("monthOf is the UTC calendar month, YYYY-MM", () => {
    expect(monthOf(new Date("2026-03-10T12:00:00Z"))).toBe("2026-03")
    expect(monthOf(new Date("2026-03-31T23:59:59.999Z"))).toBe("2026-03")
    expect(monthOf(new Date("2026-04-01T00:30:00+02:00"))).toBe("2026-03")
    expect(monthOf(new Date("2026-12-31T23:00:00-05:00"))).toBe("2027-01")
    expect(monthOf(new Date("0999-01-01T00:00:00Z"))).toBe("0999-01")
  })

  it("emptyMonthlyUsage is all zeros", () => {
    expect(emptyMonthlyUsage("2026-03")).toEqual({ month: "2026-03", inputTokens: 0, outputTokens: 0, totalCostCents: 0, calls: 0 })
  })

  it("CostTrackerUnavailable: technical, retry, 503, Retry-After 5", () => {
    const error = new CostTrackerUnavailable({ message: "x" })
    expect(errorInfo(error)).toEqual({ code: "COST_TRACKER_UNAVAILABLE", category: "technical", recovery: "retry", status: 503 })
    expect(isTransient(error)).toBe(true)
    expect(retryAfterSeconds(error)).toBe(5)
  })

  it.effect("usageRecord prices the call from the model's price table and dates it by Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2026-03-10T12:00:00.000Z"))
      const record = yield* usageRecord({
        userId: "u-1",
        provider: "aws.bedrock",
        modelId: `eu.${SONNET}`,
        documentType: "chat",
        usage: { inputTokens: 1000, outputTokens: 1000 },
        processingTimeMs: 812.6,
        idempotencyKey: "chat:m-1"
      })
      expect(record).toEqual({
        userId: "u-1",
        provider: "aws.bedrock",
        modelId: `eu.${SONNET}`,
        documentType: "chat",
        inputTokens: 1000,
        outputTokens: 1000,
        totalCostCents: 1.8,
        processingTimeMs: 813,
        occurredAt: new Date("2026-03-10T12:00:00.000Z"),
        idempotencyKey: "chat:m-1"
      })
    }))
})
