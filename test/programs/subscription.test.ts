/**
 * Plans, limits and the status a user sees, on a real database; the operator's set-plan command
 * as an operator runs it.
 */
import { SqlClient } from "effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Result, Layer, Schema } from "effect"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as path from "node:path"
import { inject } from "vitest"
import { AuditMemory } from "../../src/layers/audit/memory.js"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { UserId } from "../../src/services/ids.js"
import {
  addMonths,
  calendarMonth,
  ensureWithinPlanLimit,
  getSubscriptionStatus,
  setPlan
} from "../../src/programs/subscription.js"
import { CostTracker } from "../../src/services/costTracker.js"
import { TestDatabaseLive } from "../support/database.js"
import { settingsFrom, testConfigLayer, testSettings } from "../support/settings.js"
import { newUser } from "../support/users.js"

const ROOT = path.resolve(import.meta.dirname, "../..")

const TestLayer = Layer.mergeAll(CryptoMemory, CostTrackerMemory(), AuditMemory).pipe(Layer.provideMerge(TestDatabaseLive()))

const utc = (iso: string) => new Date(iso)

const failureTag = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.result(effect), (result) => (Result.isFailure(result) ? result.failure._tag : "success"))

/** A job row as the upload program leaves it, created at `createdAt`. */
const insertJob = (userId: UserId, createdAt: Date) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`
    INSERT INTO jobs (user_id, content_type, size_bytes, storage_key, created_at)
    VALUES (${userId}::uuid, 'text/plain', 1, ${`jobs/${randomUUID()}_original`}, ${createdAt})`)

/** A question turn (its sealed bytes do not matter to counting), asked at `createdAt`. */
const insertQuestion = (userId: UserId, createdAt: Date, role: "user" | "assistant" = "user") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [content] = yield* sql<{ id: string }>`
      INSERT INTO content (user_id, document_type, title_encrypted, summary_encrypted, body_encrypted, provider, model_id)
      VALUES (${userId}::uuid, 'other', ${Buffer.from([0])}, ${Buffer.from([0])}, ${Buffer.from([0])}, 'offline', 'm')
      RETURNING id::text AS id`
    const [conversation] = yield* sql<{ id: string }>`
      INSERT INTO conversations (user_id, content_id) VALUES (${userId}::uuid, ${content!.id}::uuid) RETURNING id::text AS id`
    const [message] = yield* sql<{ id: string }>`
      INSERT INTO messages (conversation_id, user_id, role, content_encrypted, created_at)
      VALUES (${conversation!.id}::uuid, ${userId}::uuid, ${role}, ${Buffer.from([0])}, ${createdAt})
      RETURNING id::text AS id`
    // As chat.ts does: a question is counted in the plan's ledger as it is stored.
    if (role === "user") {
      yield* sql`
        INSERT INTO plan_usage (id, user_id, resource, occurred_at)
        VALUES (${message!.id}::uuid, ${userId}::uuid, 'chat_message', ${createdAt})`
    }
  })

describe("periods", () => {
  it("the free period is the calendar month in UTC", () => {
    expect(calendarMonth(utc("2026-04-18T07:42:00Z"))).toEqual({ start: utc("2026-04-01T00:00:00Z"), end: utc("2026-05-01T00:00:00Z") })
    expect(calendarMonth(utc("2026-12-31T23:59:59.999Z"))).toEqual({ start: utc("2026-12-01T00:00:00Z"), end: utc("2027-01-01T00:00:00Z") })
    expect(calendarMonth(utc("2026-03-01T00:00:00Z")).start).toEqual(utc("2026-03-01T00:00:00Z"))
  })

  it("adding months keeps the time and clamps the day to the month's last", () => {
    expect(addMonths(utc("2026-04-18T07:42:01.5Z"), 1)).toEqual(utc("2026-05-18T07:42:01.5Z"))
    expect(addMonths(utc("2026-01-31T10:00:00Z"), 1)).toEqual(utc("2026-02-28T10:00:00Z"))
    expect(addMonths(utc("2028-01-31T10:00:00Z"), 1)).toEqual(utc("2028-02-29T10:00:00Z"))
    expect(addMonths(utc("2026-11-30T00:00:00Z"), 3)).toEqual(utc("2027-02-28T00:00:00Z"))
    expect(addMonths(utc("2026-05-15T00:00:00Z"), 12)).toEqual(utc("2027-05-15T00:00:00Z"))
  })

  it("free-plan limits are settings: 10 documents and 50 chat messages by default", () => {
    expect(testSettings().plans).toEqual({ freeDocumentsPerMonth: 10, freeChatMessagesPerMonth: 50 })
    expect(testSettings({ FREE_PLAN_DOCUMENTS_PER_MONTH: "3", FREE_PLAN_CHAT_MESSAGES_PER_MONTH: "0" }).plans).toEqual({
      freeDocumentsPerMonth: 3,
      freeChatMessagesPerMonth: 0
    })
    const bad = settingsFrom({ APP_ENV: "test", FREE_PLAN_CHAT_MESSAGES_PER_MONTH: "-1" })
    expect(Result.isFailure(bad) && bad.failure).toContain("FREE_PLAN_CHAT_MESSAGES_PER_MONTH")
  })
})

layer(TestLayer, { excludeTestServices: true })("subscription", (it) => {
  it.effect("a new user is on the free plan for the calendar month, with nothing used", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const status = yield* getSubscriptionStatus(alice)
      expect(status).toEqual({
        plan: "free",
        period: calendarMonth(new Date()),
        documents: { used: 0, limit: 10 },
        chatMessages: { used: 0, limit: 50 },
        llmCostCents: { used: 0, budget: 500 }
      })
    })
  )

  it.effect("counts this period's documents, questions (not answers) and LLM cost, and nothing of earlier months or other users", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      const alice = yield* newUser()
      const bob = yield* newUser()
      const now = new Date()
      const lastMonth = new Date(calendarMonth(now).start.getTime() - 1)
      yield* insertJob(alice, now)
      yield* insertJob(alice, now)
      yield* insertJob(alice, lastMonth)
      yield* insertJob(bob, now)
      yield* insertQuestion(alice, now)
      yield* insertQuestion(alice, now, "assistant")
      yield* insertQuestion(alice, lastMonth)
      yield* insertQuestion(bob, now)
      yield* costs.record({
        userId: alice,
        provider: "offline",
        modelId: "offline-parser-v1",
        documentType: "chat",
        inputTokens: 10,
        outputTokens: 10,
        totalCostCents: 1.2345,
        processingTimeMs: 5,
        occurredAt: now,
        idempotencyKey: `test:${alice}`
      })
      const status = yield* getSubscriptionStatus(alice)
      expect(status.documents).toEqual({ used: 2, limit: 10 })
      expect(status.chatMessages).toEqual({ used: 1, limit: 50 })
      expect(status.llmCostCents).toEqual({ used: 1.2345, budget: 500 })
    })
  )

  it.effect("premium runs for the stored period without limits (null in JSON); outside it the user is free again", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const start = new Date(Date.now() - 86_400_000)
      const end = addMonths(start, 3)
      const assigned = yield* setPlan(alice, "premium", { start, end })
      expect(assigned).toEqual({ userId: alice, plan: "premium", period: { start, end } })

      const status = yield* getSubscriptionStatus(alice)
      expect(status.plan).toBe("premium")
      expect(status.period).toEqual({ start, end })
      expect(status.documents.limit).toBeNull()
      expect(status.chatMessages.limit).toBeNull()
      expect(JSON.parse(JSON.stringify(status)).chatMessages).toEqual({ used: 0, limit: null })

      // an expired premium period
      yield* setPlan(alice, "premium", { start: utc("2020-01-01T00:00:00Z"), end: utc("2020-02-01T00:00:00Z") })
      expect((yield* getSubscriptionStatus(alice)).plan).toBe("free")

      // the default premium period is one month from now
      const monthly = yield* setPlan(alice, "premium")
      expect(monthly.period.end).toEqual(addMonths(monthly.period.start, 1))
      expect((yield* getSubscriptionStatus(alice)).plan).toBe("premium")

      yield* setPlan(alice, "free")
      const free = yield* getSubscriptionStatus(alice)
      expect(free.plan).toBe("free")
      expect(free.period).toEqual(calendarMonth(new Date()))
    })
  )

  it.effect("setPlan refuses an unknown user and a period that does not end after it starts", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser()
      expect(yield* failureTag(setPlan(UserId.make(randomUUID()), "premium"))).toBe("NotFound")
      const at = new Date()
      expect(yield* failureTag(setPlan(alice, "premium", { start: at, end: at }))).toBe("InvalidRequest")
      const rows = yield* sql`SELECT 1 FROM subscriptions WHERE user_id = ${alice}::uuid`
      expect(rows.length).toBe(0)
    })
  )

  it.effect("the free plan's document limit answers QuotaExceeded once reached; premium has none", () =>
    Effect.gen(function* () {
      const alice = yield* newUser()
      const check = ensureWithinPlanLimit(alice, "documents").pipe(
        Effect.provide(testConfigLayer({ FREE_PLAN_DOCUMENTS_PER_MONTH: "2" }))
      )
      yield* check
      yield* insertJob(alice, new Date())
      yield* check
      yield* insertJob(alice, new Date())
      expect(yield* failureTag(check)).toBe("QuotaExceeded")
      yield* setPlan(alice, "premium")
      expect(yield* failureTag(check)).toBe("success")
    })
  )

  it.effect(
    "set-plan: one JSON line; a usage line and exit 64 for wrong arguments; exit 1 for an unknown user",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const alice = yield* newUser()
        const [database] = yield* sql<{ name: string }>`SELECT current_database() AS name`
        const url = new URL(inject("adminDatabaseUrl"))
        url.pathname = `/${database!.name}`
        const run = (args: ReadonlyArray<string>) =>
          Effect.promise(
            () =>
              new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
                const child = spawn(process.execPath, ["--import", "tsx", "src/main/set-plan.ts", ...args], {
                  cwd: ROOT,
                  env: { ...process.env, DATABASE_URL: url.toString(), APP_ENV: "test", LOG_LEVEL: "error", DATA_DIR: "/nonexistent/serenya-test" },
                  stdio: ["ignore", "pipe", "pipe"]
                })
                let stdout = ""
                let stderr = ""
                child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
                child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
                child.once("exit", (code) => resolve({ code, stdout, stderr }))
              })
          )

        const [ok, usage, unknown] = yield* Effect.all(
          [run([alice, "premium", "--months", "3"]), run([alice, "gold"]), run([randomUUID(), "premium"])],
          { concurrency: "unbounded" }
        )
        expect(ok.code, ok.stderr).toBe(0)
        const Line = Schema.fromJsonString(Schema.Struct({
            subscription: Schema.Struct({
              userId: Schema.String,
              plan: Schema.String,
              period: Schema.Struct({ start: Schema.DateFromString, end: Schema.DateFromString }) // ISO text on the line
            })
          }))
        const lines = ok.stdout.trim().split("\n")
        expect(lines).toHaveLength(1)
        const { subscription } = Schema.decodeUnknownSync(Line)(lines[0])
        expect(subscription.userId).toBe(alice)
        expect(subscription.plan).toBe("premium")
        expect(subscription.period.end).toEqual(addMonths(subscription.period.start, 3))
        expect((yield* getSubscriptionStatus(alice)).plan).toBe("premium")

        expect(usage.code).toBe(64)
        expect(usage.stderr).toContain("usage: set-plan <userId> <free|premium> [--months N]")
        expect(unknown.code).toBe(1)
        expect(unknown.stdout).not.toContain('{"subscription"')
      }),
    60_000
  )
})
