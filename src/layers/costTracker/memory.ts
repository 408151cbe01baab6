/**
 * The test CostTracker: records in a Ref, keyed by idempotency key, behind the same background
 * retry as the live layers. `MemoryCostStore` lets a test read what was stored and make the next
 * writes fail — before writing (the store is down) or after (the write landed, the answer was lost).
 * No EMF lines: tests that check them use a live layer with a capturing EmfSink.
 */
import { Context, Effect, Layer, Ref } from "effect"
import { CostTracker, type LLMUsageRecord, monthOf } from "../../services/costTracker.js"
import { type CostStore, CostStoreError, type CostTrackerOptions, makeCostTracker, sumUsage, usageEntryOf } from "./background.js"

export interface FailureInjection {
  /** Write first, then fail: the retry must not count the record twice. */
  readonly afterWriting?: boolean
}

export class MemoryCostStore extends Context.Service<
  MemoryCostStore,
  {
    /** Stored records, in the order they were first stored. */
    readonly entries: Effect.Effect<ReadonlyArray<LLMUsageRecord>>
    /** Write calls so far, failed ones included. */
    readonly writeAttempts: Effect.Effect<number>
    /** The next `count` writes fail with a transient CostStoreError. */
    readonly failNextWrites: (count: number, options?: FailureInjection) => Effect.Effect<void>
  }
>()("serenya/MemoryCostStore") {}

interface Faults {
  readonly remaining: number
  readonly afterWriting: boolean
}

export const makeMemoryCostStore: Effect.Effect<{ readonly store: CostStore; readonly control: (typeof MemoryCostStore)["Service"] }> =
  Effect.gen(function* () {
    const records = yield* Ref.make(new Map<string, LLMUsageRecord>())
    const faults = yield* Ref.make<Faults>({ remaining: 0, afterWriting: false })
    const attempts = yield* Ref.make(0)

    const put = (record: LLMUsageRecord) =>
      Ref.update(records, (map) => (map.has(record.idempotencyKey) ? map : new Map(map).set(record.idempotencyKey, record)))

    const injected = new CostStoreError({ message: "memory store failure (injected)", code: "INJECTED", transient: true })

    const store: CostStore = {
      name: "memory",
      write: (record) =>
        Effect.gen(function* () {
          yield* Ref.update(attempts, (n) => n + 1)
          const fault = yield* Ref.modify(faults, (f): [Faults | undefined, Faults] =>
            f.remaining > 0 ? [f, { ...f, remaining: f.remaining - 1 }] : [undefined, f]
          )
          if (fault === undefined) return yield* put(record)
          if (fault.afterWriting) yield* put(record)
          return yield* Effect.fail(injected)
        }),
      monthlyUsage: (userId, month) =>
        Effect.map(Ref.get(records), (map) =>
          sumUsage(
            month,
            [...map.values()].filter((r) => r.userId === userId && monthOf(r.occurredAt) === month)
          )
        ),
      records: (userId) =>
        Effect.map(Ref.get(records), (map) =>
          [...map.values()]
            .filter((r) => r.userId === userId)
            .sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime())
            .map(usageEntryOf)
        ),
      eraseUser: (userId) =>
        Ref.modify(records, (map) => {
          const kept = new Map([...map].filter(([, r]) => r.userId !== userId))
          return [map.size - kept.size, kept]
        })
    }

    const control: (typeof MemoryCostStore)["Service"] = {
      entries: Effect.map(Ref.get(records), (map) => [...map.values()]),
      writeAttempts: Ref.get(attempts),
      failNextWrites: (count, options) =>
        Ref.set(faults, { remaining: Math.max(0, count), afterWriting: options?.afterWriting ?? false })
    }
    return { store, control }
  })

export type MemoryCostTrackerOptions = Partial<CostTrackerOptions>

/**
 * The test layer: a fresh, empty store per build. The default budget matches
 * LLM_MONTHLY_BUDGET_CENTS's; retries are quick, for tests.
 */
export const CostTrackerMemory = (
  options: MemoryCostTrackerOptions = {}
): Layer.Layer<CostTracker | MemoryCostStore> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const { store, control } = yield* makeMemoryCostStore
      const tracker = yield* makeCostTracker(store, {
        monthlyBudgetCents: 500,
        emitMetrics: false,
        retry: { base: "10 millis", maxDelay: "100 millis", maxAttempts: 5 },
        flushTimeout: "1 second",
        ...options
      })
      return Context.make(CostTracker, tracker).pipe(Context.add(MemoryCostStore, control))
    })
  )
