/**
 * The subscription status cache on a real database: what a cached read costs (statements and cost
 * store reads counted), that a plan change — in this process, or by the set-plan command in another —
 * and usage written by anyone are seen at once, the 15-minute bound on Clock, that users never share
 * an entry, and the bound on users. The stamp's keying is a fast-check property.
 */
import { SqlClient } from "effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as path from "node:path"
import { inject } from "vitest"
import { AuditMemory } from "../../src/layers/audit/memory.js"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { makeSubscriptionStatusCache, type MemorySubscriptionStatusCache } from "../../src/layers/subscriptionStatusCache/memory.js"
import { calendarMonth, getSubscriptionStatus, setPlan } from "../../src/programs/subscription.js"
import { CostTracker } from "../../src/services/costTracker.js"
import { UserId } from "../../src/services/ids.js"
import {
  type StatusStampParts,
  statusStamp,
  SubscriptionStatusCache
} from "../../src/services/subscriptionStatusCache.js"
import { TestDatabaseLive } from "../support/database.js"
import { newUser } from "../support/users.js"

const ROOT = path.resolve(import.meta.dirname, "../..")

const TestLayer = Layer.mergeAll(CryptoMemory, CostTrackerMemory(), AuditMemory).pipe(Layer.provideMerge(TestDatabaseLive()))

/** The SqlClient, counting the statements run through it (tagged-template calls). */
const counting = (sql: SqlClient.SqlClient, statements: Array<string>): SqlClient.SqlClient =>
  new Proxy(sql, {
    apply: (target, self, args: Array<unknown>) => {
      const strings = args[0]
      if (Array.isArray(strings) && "raw" in strings) statements.push(strings.join("$").replace(/\s+/g, " ").trim())
      return Reflect.apply(target, self, args)
    }
  })

/** `effect` with its SQL statements and cost store reads counted. */
const measured = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const statements: Array<string> = []
    let costReads = 0
    const value = yield* effect.pipe(
      Effect.updateService(SqlClient.SqlClient, (sql) => counting(sql, statements)),
      Effect.updateService(CostTracker, (costs) => ({
        ...costs,
        monthlyUsage: (userId: string, month: string) =>
          Effect.suspend(() => {
            costReads++
            return costs.monthlyUsage(userId, month)
          })
      }))
    )
    return { value, statements: statements.length, costReads, sql: statements }
  })

/** One status read through `cache`, measured. */
const read = (userId: UserId, cache: MemorySubscriptionStatusCache) =>
  measured(getSubscriptionStatus(userId)).pipe(Effect.provideService(SubscriptionStatusCache, cache))

/**
 * A test clock for the test's own time (the layer is built on the live one: the database and the
 * cost tracker's background fibers are not the test's to move), set to the wall clock's now, so
 * that rows the database dates with now() fall in the period the program works out.
 */
const onTestClock = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.andThen(TestClock.setTime(Date.now()), body).pipe(Effect.provide(TestClock.layer()))

const insertJob = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`
    INSERT INTO jobs (user_id, content_type, size_bytes, storage_key)
    VALUES (${userId}::uuid, 'text/plain', 1, ${`jobs/${randomUUID()}_original`})`)

/** A question in the ledger, as chat.ts writes it with the question (its message row does not matter to counting). */
const insertQuestion = (userId: UserId, askedAt: Date) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`
    INSERT INTO plan_usage (id, user_id, resource, occurred_at) VALUES (${randomUUID()}::uuid, ${userId}::uuid, 'chat_message', ${askedAt})`)

const recordCost = (userId: UserId, cents: number, at: Date) =>
  Effect.flatMap(CostTracker, (costs) =>
    costs.record({
      userId,
      provider: "offline",
      modelId: "offline-parser-v1",
      documentType: "lab_results",
      inputTokens: 10,
      outputTokens: 10,
      totalCostCents: cents,
      processingTimeMs: 5,
      occurredAt: at,
      idempotencyKey: `test:${randomUUID()}`
    })
  )

/** A processed document saved, as processing ends (the database bumps the user's content stamp). */
const insertContent = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`
    INSERT INTO content (user_id, document_type, title_encrypted, summary_encrypted, body_encrypted, provider, model_id)
    VALUES (${userId}::uuid, 'other', ${Buffer.from([0])}, ${Buffer.from([0])}, ${Buffer.from([0])}, 'offline', 'm')`)

/** Runs `npm run set-plan`'s program in its own process against this test's database, as an operator would. */
const setPlanCommand = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [database] = yield* sql<{ name: string }>`SELECT current_database() AS name`
    const url = new URL(inject("adminDatabaseUrl"))
    url.pathname = `/${database!.name}`
    return yield* Effect.promise(
      () =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ["--import", "tsx", "src/main/set-plan.ts", ...args], {
            cwd: ROOT,
            env: { ...process.env, DATABASE_URL: url.toString(), APP_ENV: "test", LOG_LEVEL: "error", DATA_DIR: "/nonexistent/serenya-test" },
            stdio: ["ignore", "ignore", "pipe"]
          })
          let stderr = ""
          child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
          child.once("exit", (code) => resolve({ code, stderr }))
        })
    )
  })

layer(TestLayer, { excludeTestServices: true })("the subscription status cache", (it) => {
  it.effect("a second read within 15 minutes runs one statement and no cost store read; uncached, every read runs three and one", () =>
    onTestClock(Effect.gen(function* () {
      const alice = yield* newUser()
      yield* insertJob(alice)
      yield* insertQuestion(alice, new Date())

      // No cache provided (the CLI, the worker): the status as it always was, every time.
      const uncached = yield* measured(getSubscriptionStatus(alice))
      expect([uncached.statements, uncached.costReads]).toEqual([3, 1])

      const cache = makeSubscriptionStatusCache()
      const first = yield* read(alice, cache)
      // the stamp (which holds the subscription row) and the two counts; the cost store once
      expect([first.statements, first.costReads]).toEqual([3, 1])
      yield* TestClock.adjust("10 minutes")
      const second = yield* read(alice, cache)
      expect([second.statements, second.costReads]).toEqual([1, 0])
      expect(second.sql[0]).toContain("FROM users u LEFT JOIN subscriptions s")
      expect(second.value).toEqual(first.value)
      expect(second.value).toEqual(uncached.value)
      expect(second.value.documents.used).toBe(1)
      expect(second.value.chatMessages.used).toBe(1)
    }))
  )

  it.effect("a plan change through setPlan drops the entry at once and the next read shows the new plan", () =>
    onTestClock(Effect.gen(function* () {
      const cache = makeSubscriptionStatusCache()
      const alice = yield* newUser()
      expect((yield* read(alice, cache)).value.plan).toBe("free")
      expect(cache.size()).toBe(1)

      yield* setPlan(alice, "premium").pipe(Effect.provideService(SubscriptionStatusCache, cache))
      expect(cache.size()).toBe(0)
      const upgraded = yield* read(alice, cache)
      expect(upgraded.value.plan).toBe("premium")
      expect(upgraded.value.documents.limit).toBeNull()
      expect(upgraded.costReads).toBe(1)

      // and back: free again at once, even right after a cached read
      yield* read(alice, cache)
      yield* setPlan(alice, "free").pipe(Effect.provideService(SubscriptionStatusCache, cache))
      expect((yield* read(alice, cache)).value).toMatchObject({ plan: "free", documents: { limit: 10 } })
    }))
  )

  it.effect(
    "a plan changed by the set-plan command in another process is seen at once, though this process's entry was not dropped",
    () =>
      onTestClock(Effect.gen(function* () {
        const cache = makeSubscriptionStatusCache()
        const alice = yield* newUser()
        expect((yield* read(alice, cache)).value.plan).toBe("free")
        expect((yield* read(alice, cache)).statements).toBe(1)

        const run = yield* setPlanCommand([alice, "premium", "--months", "2"])
        expect(run.code, run.stderr).toBe(0)
        // (the command started the premium period at its own now, a moment after this test's clock)
        yield* TestClock.setTime(Date.now() + 1_000)
        // The command's process has its own (empty) cache: ours still holds the free plan's entry…
        expect(cache.size()).toBe(1)
        // …which the stamp refuses: the row moved.
        const after = yield* read(alice, cache)
        expect(after.value.plan).toBe("premium")
        expect([after.statements, after.costReads]).toEqual([3, 1])
        expect((yield* read(alice, cache)).statements).toBe(1)
      })),
    60_000
  )

  it.effect("usage written by any instance is seen at once: an upload, a question, a processed document's cost", () =>
    onTestClock(Effect.gen(function* () {
      const cache = makeSubscriptionStatusCache()
      const alice = yield* newUser()
      const now = new Date(Date.now())
      expect((yield* read(alice, cache)).value.documents.used).toBe(0)

      yield* insertJob(alice)
      expect((yield* read(alice, cache)).value.documents.used).toBe(1)

      yield* TestClock.adjust("1 second")
      yield* insertQuestion(alice, new Date(now.getTime() + 1_000))
      expect((yield* read(alice, cache)).value.chatMessages.used).toBe(1)

      // processing records its cost, then saves the document
      yield* recordCost(alice, 2.5, now)
      yield* insertContent(alice)
      const costed = yield* read(alice, cache)
      expect(costed.value.llmCostCents.used).toBe(2.5)
      expect((yield* read(alice, cache)).statements).toBe(1)
    }))
  )

  it.effect("15 minutes after it was stored an entry is computed again; 14:59 after, it is still served", () =>
    onTestClock(Effect.gen(function* () {
      const cache = makeSubscriptionStatusCache()
      const alice = yield* newUser()
      yield* read(alice, cache)
      yield* TestClock.adjust("14 minutes")
      yield* TestClock.adjust("59 seconds")
      expect((yield* read(alice, cache)).costReads).toBe(0)
      yield* TestClock.adjust("1 second")
      const expired = yield* read(alice, cache)
      expect([expired.statements, expired.costReads]).toEqual([3, 1])
      // A time-to-live asked longer than 15 minutes is held to 15.
      const long = makeSubscriptionStatusCache({ ttl: "1 hour" })
      yield* read(alice, long)
      yield* TestClock.adjust("15 minutes")
      expect((yield* read(alice, long)).costReads).toBe(1)
    }))
  )

  it.effect("two users never share an entry: each reads their own numbers, from their own entry", () =>
    onTestClock(Effect.gen(function* () {
      const cache = makeSubscriptionStatusCache()
      const alice = yield* newUser()
      const bob = yield* newUser()
      yield* insertJob(alice)
      yield* insertJob(alice)
      for (let round = 0; round < 2; round++) {
        const a = yield* read(alice, cache)
        const b = yield* read(bob, cache)
        expect(a.value.documents.used).toBe(2)
        expect(b.value.documents.used).toBe(0)
        expect(a.costReads + b.costReads).toBe(round === 0 ? 2 : 0)
      }
      expect(cache.size()).toBe(2)
      // What Alice's entry was stored under is never served to Bob, even for identical parts but the id.
      const stamp = statusStamp(stampOf(alice))
      yield* cache.store(alice, stamp, { documentsUsed: 7, chatMessagesUsed: 7, llmCostCents: 7 })
      expect(Option.isNone(yield* cache.lookup(bob, stamp))).toBe(true)
      expect(Option.isNone(yield* cache.lookup(bob, statusStamp(stampOf(bob))))).toBe(true)
    }))
  )

  it.effect("the cache holds at most maxUsers users, the least recently read out first", () =>
    onTestClock(Effect.gen(function* () {
      const cache = makeSubscriptionStatusCache({ maxUsers: 2 })
      const [a, b, c] = [yield* newUser(), yield* newUser(), yield* newUser()]
      yield* read(a, cache)
      yield* read(b, cache)
      yield* read(a, cache) // a is now the most recent
      yield* read(c, cache)
      expect(cache.size()).toBe(2)
      expect((yield* read(a, cache)).costReads).toBe(0)
      expect((yield* read(c, cache)).costReads).toBe(0)
      expect((yield* read(b, cache)).costReads).toBe(1)
      expect(cache.size()).toBe(2)
    }))
  )

  it.effect("an erased user (their row gone, their token still valid) is read afresh and nothing is kept for them", () =>
    onTestClock(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const cache = makeSubscriptionStatusCache()
      const alice = yield* newUser()
      yield* read(alice, cache)
      expect(cache.size()).toBe(1)
      yield* sql`DELETE FROM users WHERE id = ${alice}::uuid`
      const gone = yield* read(alice, cache)
      expect(gone.value).toMatchObject({ plan: "free", documents: { used: 0 } })
      expect(gone.costReads).toBe(1)
      expect(cache.size()).toBe(0)
    }))
  )
})

/** A stamp's parts for a user with nothing: what two fresh users would share but for their id. */
const stampOf = (userId: UserId): StatusStampParts => ({
  userId,
  subscription: null,
  plan: "free",
  period: calendarMonth(new Date(0)),
  costMonth: "1970-01",
  contentVersion: "0",
  lastJobAt: null,
  lastQuestionAt: null
})

describe("the stamp", () => {
  const instant = fc.constantFrom(0, 1, 1_700_000_000_000, 1_700_000_000_001).map((ms) => new Date(ms))
  const parts: fc.Arbitrary<StatusStampParts> = fc.record({
    userId: fc.constantFrom("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002").map(UserId.make),
    subscription: fc.option(
      fc.record({
        plan: fc.constantFrom("free", "premium"),
        periodStart: instant,
        periodEnd: instant,
        version: fc.constantFrom("1700000000.123456", "1700000000.123457", "1")
      }),
      { nil: null }
    ),
    plan: fc.constantFrom("free", "premium"),
    period: fc.record({ start: instant, end: instant }),
    costMonth: fc.constantFrom("2026-04", "2026-05"),
    contentVersion: fc.constantFrom("0", "1", "10"),
    // text that could fool a naive join: separators, quotes, the other fields' values
    lastJobAt: fc.option(fc.constantFrom("1", "1,", "\"", "0\",\"1", "1700000000.1"), { nil: null }),
    lastQuestionAt: fc.option(fc.constantFrom("1", ",1", "\"", "1700000000.1"), { nil: null })
  })
  const plain = (p: StatusStampParts) =>
    JSON.stringify(p, (_key, value: unknown) => (value instanceof Date ? `date:${value.getTime()}` : value))

  it("is the same exactly when every part is: another user, plan, period, month, row version or usage mark is another stamp", () => {
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        expect(statusStamp(a) === statusStamp(b)).toBe(plain(a) === plain(b))
      }),
      { numRuns: 2_000 }
    )
  })

  it("names the user: two users with nothing else to tell them apart have different stamps", () => {
    const a = UserId.make(randomUUID())
    const b = UserId.make(randomUUID())
    expect(statusStamp(stampOf(a))).not.toBe(statusStamp(stampOf(b)))
  })
})
