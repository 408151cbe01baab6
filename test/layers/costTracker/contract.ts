/**
 * The behaviour every CostTracker owes its callers, run by the memory, PostgreSQL and DynamoDB
 * tests on their own store. Each test builds the shared tracker (background.ts) over the real
 * store wrapped in a fault injector, in a scope of its own so shutdown can be tested, with a
 * capturing EmfSink. Live clock: two of the stores do real I/O; retry delays are milliseconds.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Clock,
  type Duration,
  Effect,
  Exit,
  Fiber,
  type Layer,
  Logger,
  type LogLevel,
  Metric,
  Ref,
  References,
  Schedule,
  Scope
} from "effect"
import { randomUUID } from "node:crypto"
import {
  type CostStore,
  CostStoreError,
  type CostTrackerOptions,
  costRecordFailures,
  costRecordsDropped,
  makeCostTracker
} from "../../../src/layers/costTracker/background.js"
import { EmfSink } from "../../../src/layers/telemetry/emf.js"
import { type LLMUsageRecord, monthOf, type MonthlyUsage } from "../../../src/services/costTracker.js"
import { errorInfo, QuotaExceeded } from "../../../src/services/errors.js"

export interface ContractTarget<R> {
  /** What `store` and `newUserId` need, built fresh for each test. */
  readonly environment: () => Layer.Layer<R, unknown>
  readonly store: Effect.Effect<CostStore, unknown, R>
  /** A user the store accepts records for. */
  readonly newUserId: Effect.Effect<string, unknown, R>
}

export const SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"

export const usage = (userId: string, overrides: Partial<LLMUsageRecord> = {}): LLMUsageRecord => ({
  userId,
  provider: "aws.bedrock",
  modelId: SONNET,
  documentType: "lab_results",
  inputTokens: 1000,
  outputTokens: 200,
  totalCostCents: 0.6,
  processingTimeMs: 1234,
  occurredAt: new Date("2026-03-10T12:00:00.000Z"),
  idempotencyKey: `job:${randomUUID()}:attempt:1`,
  ...overrides
})

type FaultMode = "fail" | "failAfterWriting" | "hang"

interface Faults {
  readonly remaining: number
  readonly mode: FaultMode
}

/** The store, with its next writes made to fail, fail after writing, or hang until interrupted. */
const withFaults = (store: CostStore) =>
  Effect.gen(function* () {
    const faults = yield* Ref.make<Faults>({ remaining: 0, mode: "fail" })
    const writes = yield* Ref.make(0)
    const injected = new CostStoreError({ message: "injected", code: "INJECTED", transient: true })
    const wrapped: CostStore = {
      ...store,
      write: (record) =>
        Effect.gen(function* () {
          yield* Ref.update(writes, (n) => n + 1)
          const mode = yield* Ref.modify(faults, (f): [FaultMode | undefined, Faults] =>
            f.remaining > 0 ? [f.mode, { ...f, remaining: f.remaining - 1 }] : [undefined, f]
          )
          if (mode === undefined) return yield* store.write(record)
          if (mode === "hang") return yield* Effect.never
          if (mode === "failAfterWriting") yield* store.write(record)
          return yield* Effect.fail(injected)
        })
    }
    return {
      store: wrapped,
      writes: Ref.get(writes),
      next: (remaining: number, mode: FaultMode = "fail") => Ref.set(faults, { remaining, mode } satisfies Faults),
      heal: Ref.set(faults, { remaining: 0, mode: "fail" } satisfies Faults)
    }
  })

const FAST: Partial<CostTrackerOptions> = {
  monthlyBudgetCents: 100,
  writeTimeout: "2 seconds",
  retry: { base: "10 millis", maxDelay: "40 millis", maxAttempts: 40 },
  flushTimeout: "2 seconds"
}

/** Polls `read` until `done` holds (or fails the test after `within`). */
const eventually = <A, E, R>(read: Effect.Effect<A, E, R>, done: (a: A) => boolean, within: Duration.Input = "5 seconds") =>
  read.pipe(
    Effect.filterOrFail(done, () => "not yet" as const),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutOrElse({ duration: within, orElse: () => Effect.fail(new Error("condition not reached in time")) })
  )

const counter = (metric: typeof costRecordFailures, store: string) =>
  Effect.map(Metric.value(Metric.withAttributes(metric, { store: store })), (state) => state.count)

interface CapturedLog {
  readonly level: LogLevel.LogLevel
  readonly message: string
  readonly annotations: Record<string, unknown>
}

export const costTrackerContract = <R>(name: string, target: ContractTarget<R>) => {
  /** The tracker on the target's store, its fault injector, captured EMF lines and logs, and its scope. */
  const harness = (options: Partial<CostTrackerOptions> = {}) =>
    Effect.gen(function* () {
      const base = yield* target.store
      const faults = yield* withFaults(base)
      const scope = yield* Scope.make()
      yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
      const lines: Array<string> = []
      const tracker = yield* makeCostTracker(faults.store, { ...FAST, monthlyBudgetCents: 100, ...options }).pipe(
        Scope.provide(scope),
        Effect.provideService(EmfSink, { emit: (line) => Effect.sync(() => void lines.push(line)) })
      )
      const read = (userId: string, month: string): Effect.Effect<MonthlyUsage, unknown> => base.monthlyUsage(userId, month)
      return { tracker, faults, scope, lines, read, storeName: base.name }
    })

  const live = (label: string, body: Effect.Effect<void, unknown, R | Scope.Scope>, timeout?: number) =>
    it.live(
      label,
      // quiet: the tests that look at log lines capture them themselves
      () => body.pipe(Effect.scoped, Effect.provide(target.environment()), Effect.provide(Logger.layer([]))),
      timeout
    )

  /** Runs `body` with every log line it (and the fibers it starts) writes kept in `logs`. */
  const capturingLogs = <A, E, R2>(logs: Array<CapturedLog>, body: Effect.Effect<A, E, R2>) =>
    body.pipe(
      Effect.provide(
        // Logger.layer replaces every logger of the fibers below (v3: Logger.replace(defaultLogger, …))
        Logger.layer([
          Logger.make(({ fiber, logLevel, message }) => {
            const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
            logs.push({ level: logLevel, message: text, annotations: { ...fiber.getRef(References.CurrentLogAnnotations) } })
          })
        ])
      )
    )

  describe(`CostTracker contract: ${name}`, () => {
    live("record then monthlyUsage sums the month's calls; other months and other users do not count", Effect.gen(function* () {
      const { tracker } = yield* harness()
      const alice = yield* target.newUserId
      const bob = yield* target.newUserId
      yield* tracker.record(usage(alice, { inputTokens: 1000, outputTokens: 200, totalCostCents: 0.6 }))
      yield* tracker.record(usage(alice, { inputTokens: 500, outputTokens: 100, totalCostCents: 0.3, documentType: "chat", occurredAt: new Date("2026-03-31T23:59:59.999Z") }))
      yield* tracker.record(usage(alice, { inputTokens: 7, outputTokens: 3, totalCostCents: 0.0066, provider: "offline", modelId: "offline-parser", occurredAt: new Date("2026-03-01T00:00:00.000Z") }))
      yield* tracker.record(usage(alice, { inputTokens: 9999, outputTokens: 9999, totalCostCents: 99, occurredAt: new Date("2026-02-28T23:59:59.999Z") }))
      yield* tracker.record(usage(alice, { inputTokens: 8888, outputTokens: 8888, totalCostCents: 88, occurredAt: new Date("2026-04-01T00:00:00.000Z") }))
      yield* tracker.record(usage(bob, { inputTokens: 4000, outputTokens: 4000, totalCostCents: 40 }))

      expect(yield* tracker.monthlyUsage(alice, "2026-03")).toEqual({
        month: "2026-03",
        inputTokens: 1507,
        outputTokens: 303,
        totalCostCents: 0.9066,
        calls: 3
      })
      expect(yield* tracker.monthlyUsage(alice, "2026-02")).toEqual({
        month: "2026-02",
        inputTokens: 9999,
        outputTokens: 9999,
        totalCostCents: 99,
        calls: 1
      })
      expect(yield* tracker.monthlyUsage(bob, "2026-03")).toMatchObject({ calls: 1, totalCostCents: 40 })
      expect(yield* tracker.monthlyUsage(bob, "2026-04")).toEqual({ month: "2026-04", inputTokens: 0, outputTokens: 0, totalCostCents: 0, calls: 0 })
    }))

    live("usageRecords lists the user's records oldest first (no user id, no key); eraseUser deletes all of them and only them, idempotently", Effect.gen(function* () {
      const { tracker, read } = yield* harness()
      const alice = yield* target.newUserId
      const bob = yield* target.newUserId
      // more than one BatchWriteItem (25) and more than one page where the store pages
      const count = 30
      yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) => tracker.record(usage(alice, { inputTokens: i, occurredAt: new Date(Date.UTC(2026, 2, 1, 0, 0, count - i)) })),
        { discard: true }
      )
      yield* tracker.record(usage(alice, { documentType: "chat", inputTokens: 77, occurredAt: new Date("2026-02-10T10:00:00.000Z") }))
      yield* tracker.record(usage(bob))

      const listed = yield* tracker.usageRecords(alice)
      expect(listed).toHaveLength(count + 1)
      expect(listed[0]).toEqual({
        provider: "aws.bedrock",
        modelId: SONNET,
        documentType: "chat",
        inputTokens: 77,
        outputTokens: 200,
        totalCostCents: 0.6,
        processingTimeMs: 1234,
        occurredAt: new Date("2026-02-10T10:00:00.000Z")
      })
      expect(listed.map((r) => r.occurredAt.getTime())).toEqual([...listed.map((r) => r.occurredAt.getTime())].sort((a, b) => a - b))

      expect(yield* tracker.eraseUser(alice)).toBe(count + 1)
      expect(yield* tracker.usageRecords(alice)).toEqual([])
      expect(yield* read(alice, "2026-03")).toMatchObject({ calls: 0 })
      expect(yield* tracker.eraseUser(alice)).toBe(0)
      expect(yield* tracker.usageRecords(bob)).toHaveLength(1)
    }))

    live("eraseUser forgets the user's records waiting for a background retry: none is written back after the erasure", Effect.gen(function* () {
      const { tracker, faults, read } = yield* harness({ retry: { base: "30 millis", maxDelay: "30 millis", maxAttempts: 40 } })
      const user = yield* target.newUserId
      const other = yield* target.newUserId
      yield* faults.next(1)
      yield* tracker.record(usage(user))
      yield* faults.next(1)
      yield* tracker.record(usage(other))
      expect(yield* tracker.eraseUser(user)).toBe(0)
      yield* faults.heal
      // the other user's record is retried and stored; by then the erased user's would have been too
      yield* eventually(read(other, "2026-03"), (m) => m.calls === 1)
      yield* Effect.sleep("150 millis")
      expect(yield* tracker.usageRecords(user)).toEqual([])
      expect(yield* read(user, "2026-03")).toMatchObject({ calls: 0 })
    }))

    live("a user with no records has zero usage", Effect.gen(function* () {
      const { tracker } = yield* harness()
      const nobody = yield* target.newUserId
      expect(yield* tracker.monthlyUsage(nobody, "2026-03")).toEqual({
        month: "2026-03",
        inputTokens: 0,
        outputTokens: 0,
        totalCostCents: 0,
        calls: 0
      })
    }))

    live("4-decimal costs sum exactly", Effect.gen(function* () {
      const { tracker } = yield* harness()
      const user = yield* target.newUserId
      const costs = [0.0001, 0.0002, 0.1234, 1.0005, 0.3333, 0.0003, 0.0003, 0.0003]
      yield* Effect.forEach(costs, (totalCostCents) => tracker.record(usage(user, { totalCostCents })), { discard: true })
      const month = yield* tracker.monthlyUsage(user, "2026-03")
      expect(month.calls).toBe(costs.length)
      expect(month.totalCostCents).toBe(1.4584)
    }))

    live("the same record recorded twice counts once (idempotency key)", Effect.gen(function* () {
      const { tracker, lines } = yield* harness()
      const user = yield* target.newUserId
      const record = usage(user, { idempotencyKey: `chat:${randomUUID()}` })
      yield* tracker.record(record)
      yield* tracker.record(record)
      yield* tracker.record({ ...record })
      expect(yield* tracker.monthlyUsage(user, "2026-03")).toMatchObject({ calls: 1, inputTokens: 1000, totalCostCents: 0.6 })
      // metrics are per call of record, not per stored row
      expect(lines).toHaveLength(3)
    }))

    live("monthlyUsage with a month that is not YYYY-MM is a defect", Effect.gen(function* () {
      const { tracker } = yield* harness()
      const user = yield* target.newUserId
      for (const month of ["2026-3", "2026-13", "March", ""]) {
        const exit = yield* Effect.exit(tracker.monthlyUsage(user, month))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause), month).toBe(true)
      }
    }))

    live("ensureWithinBudget: under the budget passes; at and over it fails with QuotaExceeded (business, 402)", Effect.gen(function* () {
      const { tracker } = yield* harness({ monthlyBudgetCents: 2 })
      const now = new Date(yield* Clock.currentTimeMillis)
      const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15))
      const user = yield* target.newUserId
      const other = yield* target.newUserId

      yield* tracker.ensureWithinBudget(user)
      yield* tracker.record(usage(user, { totalCostCents: 1.9999, occurredAt: now }))
      yield* tracker.record(usage(user, { totalCostCents: 50, occurredAt: lastMonth }))
      yield* tracker.ensureWithinBudget(user)

      yield* tracker.record(usage(user, { totalCostCents: 0.0001, occurredAt: now }))
      const atBudget = yield* Effect.flip(tracker.ensureWithinBudget(user))
      expect(atBudget).toBeInstanceOf(QuotaExceeded)
      expect(errorInfo(atBudget)).toEqual({ code: "QUOTA_EXCEEDED", category: "business", recovery: "escalate", status: 402 })
      expect(yield* tracker.monthlyUsage(user, monthOf(now))).toMatchObject({ totalCostCents: 2, calls: 2 })

      yield* tracker.record(usage(user, { totalCostCents: 3, occurredAt: now }))
      expect(yield* Effect.flip(tracker.ensureWithinBudget(user))).toBeInstanceOf(QuotaExceeded)
      // someone else's spending is not this user's
      yield* tracker.ensureWithinBudget(other)
    }))

    live("record never fails the caller when the store is down; the failure is counted", Effect.gen(function* () {
      const { tracker, faults, read, storeName } = yield* harness({ retry: { base: "1 hour" }, flushTimeout: "50 millis" })
      const user = yield* target.newUserId
      const before = yield* counter(costRecordFailures, storeName)
      yield* faults.next(1_000)
      const exit = yield* Effect.exit(tracker.record(usage(user)))
      expect(exit).toEqual(Exit.void)
      expect(yield* counter(costRecordFailures, storeName)).toBe(before + 1)
      expect((yield* read(user, "2026-03")).calls).toBe(0)
    }))

    live("a failed write is retried in the background and stored exactly once", Effect.gen(function* () {
      const { tracker, faults, read, lines } = yield* harness()
      const user = yield* target.newUserId
      yield* faults.next(3)
      yield* tracker.record(usage(user, { inputTokens: 42 }))
      const stored = yield* eventually(read(user, "2026-03"), (u) => u.calls > 0)
      expect(stored).toMatchObject({ calls: 1, inputTokens: 42 })
      expect(yield* faults.writes).toBe(4)
      yield* Effect.sleep("150 millis")
      expect((yield* read(user, "2026-03")).calls).toBe(1)
      expect(yield* faults.writes).toBe(4)
      // the retries emit no metrics of their own
      expect(lines).toHaveLength(1)
    }))

    live("a write that landed but answered with an error is retried without being counted twice", Effect.gen(function* () {
      const { tracker, faults, read } = yield* harness()
      const user = yield* target.newUserId
      yield* faults.next(3, "failAfterWriting")
      yield* tracker.record(usage(user, { totalCostCents: 1.5 }))
      yield* eventually(faults.writes, (n) => n >= 4)
      yield* Effect.sleep("100 millis")
      expect(yield* read(user, "2026-03")).toMatchObject({ calls: 1, totalCostCents: 1.5 })
    }))

    live("a write that outlasts the write timeout is retried in the background", Effect.gen(function* () {
      const { tracker, faults, read } = yield* harness({ writeTimeout: "100 millis" })
      const user = yield* target.newUserId
      yield* faults.next(1, "hang")
      const started = yield* Clock.currentTimeMillis
      yield* tracker.record(usage(user))
      expect((yield* Clock.currentTimeMillis) - started).toBeLessThan(1_000)
      expect((yield* eventually(read(user, "2026-03"), (u) => u.calls > 0)).calls).toBe(1)
    }))

    live("a caller interrupted mid-write hands the record to the background", Effect.gen(function* () {
      const { tracker, faults, read } = yield* harness()
      const user = yield* target.newUserId
      yield* faults.next(1, "hang")
      const fiber = yield* Effect.forkChild(tracker.record(usage(user)))
      yield* eventually(faults.writes, (n) => n >= 1)
      yield* Fiber.interrupt(fiber)
      expect((yield* eventually(read(user, "2026-03"), (u) => u.calls > 0)).calls).toBe(1)
    }))

    live("after maxAttempts the record is dropped: an error log with its idempotency key, CostRecordsDropped", Effect.gen(function* () {
      const logs: Array<CapturedLog> = []
      yield* capturingLogs(
        logs,
        Effect.gen(function* () {
          const { tracker, faults, read, storeName } = yield* harness({ retry: { base: "5 millis", maxDelay: "10 millis", maxAttempts: 3 } })
          const user = yield* target.newUserId
          const droppedBefore = yield* counter(costRecordsDropped, storeName)
          const failuresBefore = yield* counter(costRecordFailures, storeName)
          yield* faults.next(1_000)
          const record = usage(user)
          yield* tracker.record(record)
          yield* eventually(counter(costRecordsDropped, storeName), (n) => n === droppedBefore + 1)
          expect(yield* faults.writes).toBe(4)
          expect(yield* counter(costRecordFailures, storeName)).toBe(failuresBefore + 4)
          yield* faults.heal
          yield* Effect.sleep("50 millis")
          expect((yield* read(user, "2026-03")).calls).toBe(0)

          const errors = logs.filter((l) => l.level === "Error")
          expect(errors).toHaveLength(1)
          expect(errors[0]?.message).toBe("LLM usage record dropped: retries spent")
          expect(errors[0]?.annotations).toEqual({
            idempotencyKey: record.idempotencyKey,
            errorCode: "INJECTED",
            costStore: storeName,
            attempt: 4
          })
          const warnings = logs.filter((l) => l.level === "Warn")
          expect(warnings.map((l) => l.annotations.attempt)).toEqual([1, 2, 3, 4])
          // ids and codes only: no user id, no tokens, no model in any line
          for (const line of logs) expect(JSON.stringify(line)).not.toContain(user)
        })
      )
    }))

    live("an invalid record is dropped with an error log, never thrown", Effect.gen(function* () {
      const { tracker, read, storeName, lines } = yield* harness()
      const user = yield* target.newUserId
      const before = yield* counter(costRecordsDropped, storeName)
      for (const invalid of [
        usage(user, { inputTokens: -1 }),
        usage(user, { totalCostCents: Number.NaN }),
        usage(user, { occurredAt: new Date(Number.NaN) }),
        usage(user, { idempotencyKey: "" })
      ]) {
        expect(yield* Effect.exit(tracker.record(invalid))).toEqual(Exit.void)
      }
      expect(yield* counter(costRecordsDropped, storeName)).toBe(before + 4)
      expect((yield* read(user, "2026-03")).calls).toBe(0)
      expect(lines).toHaveLength(0)
    }))

    live("layer shutdown flushes pending retries", Effect.gen(function* () {
      // no background retry would run for an hour: only the shutdown flush can store these
      const { tracker, faults, read, scope } = yield* harness({ retry: { base: "1 hour" } })
      const user = yield* target.newUserId
      yield* faults.next(2)
      yield* tracker.record(usage(user, { totalCostCents: 1 }))
      yield* tracker.record(usage(user, { totalCostCents: 2 }))
      expect((yield* read(user, "2026-03")).calls).toBe(0)
      yield* Scope.close(scope, Exit.void)
      expect(yield* read(user, "2026-03")).toMatchObject({ calls: 2, totalCostCents: 3 })
    }))

    live("shutdown with the store still down gives up within the flush bound and logs what it drops", Effect.gen(function* () {
      const logs: Array<CapturedLog> = []
      yield* capturingLogs(
        logs,
        Effect.gen(function* () {
          const { tracker, faults, read, scope, storeName } = yield* harness({ retry: { base: "1 hour" }, flushTimeout: "200 millis" })
          const user = yield* target.newUserId
          const before = yield* counter(costRecordsDropped, storeName)
          yield* faults.next(1_000_000)
          const record = usage(user)
          yield* tracker.record(record)
          const started = yield* Clock.currentTimeMillis
          yield* Scope.close(scope, Exit.void)
          expect((yield* Clock.currentTimeMillis) - started).toBeLessThan(2_000)
          expect(yield* counter(costRecordsDropped, storeName)).toBe(before + 1)
          yield* faults.heal
          expect((yield* read(user, "2026-03")).calls).toBe(0)
          const dropped = logs.filter((l) => l.level === "Error")
          expect(dropped.map((l) => [l.message, l.annotations.idempotencyKey])).toEqual([
            ["LLM usage record dropped: still not stored at shutdown", record.idempotencyKey]
          ])
        })
      )
    }))

    live(`records from many concurrent callers are all counted`, Effect.gen(function* () {
      const { tracker } = yield* harness()
      const user = yield* target.newUserId
      yield* Effect.forEach(
        Array.from({ length: 25 }, (_, i) => usage(user, { inputTokens: i, outputTokens: 1, totalCostCents: 0.0015 })),
        (record) => tracker.record(record),
        { concurrency: 10, discard: true }
      )
      expect(yield* tracker.monthlyUsage(user, "2026-03")).toMatchObject({
        calls: 25,
        inputTokens: 300,
        outputTokens: 25,
        totalCostCents: 0.0375
      })
    }))
  })
}
