/**
 * Devices for push notifications on a real database: registering (the token checked before any
 * provider sees it, sealed for its row, found by its keyed hash; the same token again is the same
 * device), the bound of MAX_DEVICES_PER_USER (the least recently registered is replaced, also
 * under concurrent registrations), a token moving to the account now using the phone, removal
 * (user-scoped, audited, the endpoint unregistered unless a device holds it again), and what is
 * answered: never the token, never the endpoint.
 */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as fc from "fast-check"
import { randomBytes, randomUUID } from "node:crypto"
import { testUserLookupKey, UserLookupKeyMemory } from "../../src/layers/auth/memory.js"
import { CostTrackerMemory } from "../../src/layers/costTracker/memory.js"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { JobQueuePostgres } from "../../src/layers/jobQueue/postgres.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { NotificationsMemory, NotificationsMemoryProbe } from "../../src/layers/notifications/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { UploadTargetsMemory } from "../../src/layers/uploadTargets/memory.js"
import { listDevices, MAX_DEVICES_PER_USER, readDevices, registerDevice, removeDevice } from "../../src/programs/devices.js"
import { drainErasureOutbox } from "../../src/programs/erasureOutbox.js"
import { Crypto, fieldContext } from "../../src/services/crypto.js"
import { DeviceId, type UserId } from "../../src/services/ids.js"
import { type DevicePlatform, PUSH_TOKEN_PATTERNS } from "../../src/services/notifications.js"
import { AuditPostgres } from "../../src/layers/audit/postgres.js"
import { AuditCheckpointsMemory } from "../../src/layers/auditCheckpoints/memory.js"
import { AuditMacMemory } from "../../src/layers/auditMac/memory.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { TestDatabaseLive } from "../support/database.js"
import { testConfigLayer } from "../support/settings.js"
import { newUser } from "../support/users.js"

const TestLayer = Layer.mergeAll(
  CryptoMemory,
  StorageMemory,
  UploadTargetsMemory,
  NotificationsMemory,
  UserLookupKeyMemory,
  AuditWithRows,
  CostTrackerMemory(),
  JobQueuePostgres,
  LLMOffline,
  testConfigLayer()
).pipe(Layer.provideMerge(TestDatabaseLive()))

const apnsToken = () => randomBytes(32).toString("hex")
const fcmToken = () => `${randomBytes(12).toString("base64url")}:APA91b${randomBytes(105).toString("base64url")}`

interface DeviceRow {
  readonly id: string
  readonly userId: string
  readonly platform: string
  readonly tokenEncrypted: Uint8Array
  readonly tokenHash: Uint8Array
  readonly endpoint: string
}

const rowsOf = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<DeviceRow>`
      SELECT id::text AS id, user_id::text AS user_id, platform, token_encrypted, token_hash, endpoint
      FROM devices WHERE user_id = ${userId}::uuid ORDER BY created_at, id`
  )

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("devices", (it) => {
  it.effect("registering seals the token for its row, keys its hash, registers it with the provider, audits it; answers no token", () =>
    Effect.gen(function* () {
      const crypto = yield* Crypto
      const probe = yield* NotificationsMemoryProbe
      const userId = yield* newUser()
      const token = apnsToken()

      const device = yield* registerDevice({ userId, platform: "ios", token, request: { requestId: "req-device-1" } })
      expect(Object.keys(device).sort()).toEqual(["createdAt", "id", "platform"])
      expect(device.platform).toBe("ios")
      expect(device.createdAt).toBeInstanceOf(Date)

      const [row] = yield* rowsOf(userId)
      expect(row).toMatchObject({ id: device.id, userId, platform: "ios" })
      // sealed, not stored: the bytes do not hold it, and they open only for this row
      expect(Buffer.from(row!.tokenEncrypted).toString("latin1")).not.toContain(token)
      expect(yield* crypto.openString(row!.tokenEncrypted, fieldContext(userId, "devices", "token_encrypted", device.id))).toBe(token)
      const other = yield* Effect.result(crypto.openString(row!.tokenEncrypted, fieldContext(userId, "devices", "token_encrypted", randomUUID())))
      expect(Result.isFailure(other)).toBe(true)
      // the keyed hash of (platform, token): a plain hash would not match
      expect(Buffer.from(row!.tokenHash).equals(Buffer.from(testUserLookupKey.hmac(`push-token:ios:${token}`)))).toBe(true)
      expect(yield* probe.registered).toContain(row!.endpoint)
      expect(row!.endpoint).not.toContain(token)

      const events = (yield* auditRows).filter((r) => r.action === "device.register" && r.actorUserId === userId)
      expect(events.map((r) => [r.resourceType, r.resourceId, r.requestId, r.outcome])).toEqual([["device", device.id, "req-device-1", "success"]])
      expect(JSON.stringify(yield* auditRows)).not.toContain(token)
    })
  )

  it.effect("the same token again is the same device (one row, one endpoint); another token or platform is another device", () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const userId = yield* newUser()
      const token = fcmToken()
      const first = yield* registerDevice({ userId, platform: "android", token })
      const again = yield* registerDevice({ userId, platform: "android", token })
      expect(again).toEqual(first)
      expect(yield* rowsOf(userId)).toHaveLength(1)

      const second = yield* registerDevice({ userId, platform: "ios", token: apnsToken() })
      expect(second.id).not.toBe(first.id)
      const rows = yield* rowsOf(userId)
      expect(rows.map((r) => r.id)).toEqual([first.id, second.id])
      for (const row of rows) expect(yield* probe.registered).toContain(row.endpoint)
      // re-registering owes nothing: the endpoint it held is the one it holds
      expect(yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 FROM erasure_outbox`)).toEqual([])
    })
  )

  it.effect("a token that is not its platform's shape is a 400 before any provider sees it, and is never repeated", () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const userId = yield* newUser()
      const registered = yield* probe.registered
      for (const [platform, token] of [
        ["ios", fcmToken()],
        ["android", apnsToken()],
        ["ios", "zz" + apnsToken().slice(2)],
        ["ios", ""],
        ["android", `${fcmToken()}<script>`]
      ] as const) {
        const result = yield* Effect.result(registerDevice({ userId, platform, token }))
        expect(Result.isFailure(result) && result.failure._tag, `${platform} ${token.slice(0, 12)}`).toBe("InvalidPushToken")
        if (token.length > 0) expect(JSON.stringify(Result.isFailure(result) ? result.failure : null)).not.toContain(token)
      }
      expect(yield* probe.registered).toEqual(registered)
      expect(yield* rowsOf(userId)).toEqual([])
    })
  )

  it.effect(`at most ${MAX_DEVICES_PER_USER} devices: one more replaces the least recently registered, whose endpoint is unregistered`, () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const userId = yield* newUser()
      const tokens = Array.from({ length: MAX_DEVICES_PER_USER }, apnsToken)
      const devices: Array<{ readonly id: DeviceId }> = []
      for (const token of tokens) devices.push(yield* registerDevice({ userId, platform: "ios", token }))
      const endpoints = (yield* rowsOf(userId)).map((r) => r.endpoint)

      // the first phone is opened again: registered again, it is no longer the least recent
      yield* registerDevice({ userId, platform: "ios", token: tokens[0]! })
      const newest = yield* registerDevice({ userId, platform: "ios", token: apnsToken() })
      const kept = (yield* rowsOf(userId)).map((r) => r.id)
      expect(kept).toHaveLength(MAX_DEVICES_PER_USER)
      expect(kept).toContain(devices[0]!.id)
      expect(kept).toContain(newest.id)
      expect(kept).not.toContain(devices[1]!.id)
      expect(yield* probe.registered).not.toContain(endpoints[1])
      expect(yield* probe.registered).toContain(endpoints[0])
    })
  )

  it.effect("the bound holds under concurrent registrations", () =>
    Effect.gen(function* () {
      const userId = yield* newUser()
      const results = yield* Effect.forEach(
        Array.from({ length: MAX_DEVICES_PER_USER + 6 }, apnsToken),
        (token) => registerDevice({ userId, platform: "ios", token }),
        { concurrency: 8 }
      )
      expect(results).toHaveLength(MAX_DEVICES_PER_USER + 6)
      expect(yield* rowsOf(userId)).toHaveLength(MAX_DEVICES_PER_USER)
    })
  )

  it.effect("a token registered under another account moves to it (the phone changed hands); its endpoint stays registered", () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const alice = yield* newUser()
      const bob = yield* newUser()
      const token = apnsToken()
      const hers = yield* registerDevice({ userId: alice, platform: "ios", token })
      const [row] = yield* rowsOf(alice)
      const his = yield* registerDevice({ userId: bob, platform: "ios", token })
      expect(his.id).not.toBe(hers.id)
      expect(yield* rowsOf(alice)).toEqual([])
      expect((yield* rowsOf(bob)).map((r) => r.id)).toEqual([his.id])
      // bob's device holds the endpoint: nothing of it is unregistered
      yield* drainErasureOutbox()
      expect(yield* probe.registered).toContain(row!.endpoint)
    })
  )

  it.effect("removing: another user's device is a 404 and stays; one's own goes, audited, and its endpoint is unregistered", () =>
    Effect.gen(function* () {
      const probe = yield* NotificationsMemoryProbe
      const alice = yield* newUser()
      const mallory = yield* newUser()
      const device = yield* registerDevice({ userId: alice, platform: "ios", token: apnsToken() })
      const [row] = yield* rowsOf(alice)

      const refused = yield* Effect.result(removeDevice(mallory, device.id))
      expect(Result.isFailure(refused) && refused.failure._tag).toBe("NotFound")
      const missing = yield* Effect.result(removeDevice(alice, DeviceId.make(randomUUID())))
      expect(Result.isFailure(missing) && missing.failure._tag).toBe("NotFound")
      expect(yield* rowsOf(alice)).toHaveLength(1)
      expect(yield* probe.registered).toContain(row!.endpoint)

      yield* removeDevice(alice, device.id, { requestId: "req-remove-1" })
      expect(yield* rowsOf(alice)).toEqual([])
      expect(yield* probe.registered).not.toContain(row!.endpoint)
      expect(yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 FROM erasure_outbox`)).toEqual([])
      const events = (yield* auditRows).filter((r) => r.action === "device.remove")
      expect(events.map((r) => [r.actorUserId, r.resourceId, r.requestId])).toEqual([[alice, device.id, "req-remove-1"]])
    })
  )

  it.effect("an owed endpoint that a device holds again (registered since) is not unregistered", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const probe = yield* NotificationsMemoryProbe
      const userId = yield* newUser()
      yield* registerDevice({ userId, platform: "ios", token: apnsToken() })
      const [row] = yield* rowsOf(userId)
      yield* sql`INSERT INTO erasure_outbox (kind, target) VALUES ('push_endpoint', ${row!.endpoint})`
      const drained = yield* drainErasureOutbox()
      expect(drained).toMatchObject({ done: 1, endpointsUnregistered: 0 })
      expect(yield* probe.registered).toContain(row!.endpoint)
      expect(yield* sql`SELECT 1 FROM erasure_outbox`).toEqual([])
    })
  )

  it.effect("listing: oldest first, id, platform and when — never the token or the endpoint; GET is audited", () =>
    Effect.gen(function* () {
      const userId = yield* newUser()
      const tokens = [apnsToken(), fcmToken()]
      const first = yield* registerDevice({ userId, platform: "ios", token: tokens[0]! })
      const second = yield* registerDevice({ userId, platform: "android", token: tokens[1]! })
      const listed = yield* listDevices(userId)
      expect(listed).toEqual([first, second])
      const read = yield* readDevices(userId, { requestId: "req-list-1" })
      expect(read).toEqual(listed)
      const text = JSON.stringify(read)
      for (const token of tokens) expect(text).not.toContain(token)
      expect(text).not.toContain("local:")
      expect((yield* auditRows).filter((r) => r.action === "device.list").map((r) => [r.actorUserId, r.requestId])).toEqual([[userId, "req-list-1"]])
      expect(yield* listDevices(yield* newUser())).toEqual([])
    })
  )

  it.effect("property: any token a client sends is a device or an InvalidPushToken — never a defect, never repeated in the error", () =>
    Effect.gen(function* () {
      const userId = yield* newUser()
      const platform = fc.constantFrom<DevicePlatform>("ios", "android")
      const token = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.stringMatching(/^[0-9a-f]{60,70}$/),
        fc.stringMatching(/^[A-Za-z0-9_:.-]{95,110}$/),
        fc.constantFrom("\u0000".repeat(64), "💥".repeat(64), "' OR 1=1 --".repeat(12))
      )
      const samples = fc.sample(fc.tuple(platform, token), { numRuns: 150, seed: 21 })
      for (const [p, t] of samples) {
        const exit = yield* Effect.exit(registerDevice({ userId, platform: p, token: t }))
        if (exit._tag === "Success") {
          expect(PUSH_TOKEN_PATTERNS[p].test(t)).toBe(true)
          continue
        }
        const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
        expect(failure, "a failure, not a defect").toBeDefined()
        const error = failure!._tag === "Fail" ? (failure!.error as { _tag: string; message: string }) : undefined
        expect(error?._tag).toBe("InvalidPushToken")
        expect(PUSH_TOKEN_PATTERNS[p].test(t)).toBe(false)
        if (t.length >= 4) expect(error?.message).not.toContain(t)
      }
      expect((yield* rowsOf(userId)).length).toBeLessThanOrEqual(MAX_DEVICES_PER_USER)
    })
  )
})

/** As production stores it: the audit trail in PostgreSQL. */
const CostLayer = Layer.mergeAll(
  CryptoMemory,
  StorageMemory,
  UploadTargetsMemory,
  NotificationsMemory,
  UserLookupKeyMemory,
  AuditPostgres.pipe(Layer.provide(Layer.merge(AuditMacMemory, AuditCheckpointsMemory))),
  CostTrackerMemory(),
  testConfigLayer()
).pipe(Layer.provideMerge(TestDatabaseLive()))

layer(CostLayer, { timeout: "60 seconds", excludeTestServices: true })("what a registration stores", (it) => {
  it.effect("a new device is one devices row and one audit row, nothing else; the same token again adds only the audit row", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const userId = yield* newUser()
      const tables = yield* sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`
      const counts = Effect.gen(function* () {
        const result: Record<string, number> = {}
        for (const { name } of tables) {
          const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(name)}`
          result[name] = row!.n
        }
        return result
      })
      const grown = (before: Record<string, number>, after: Record<string, number>) =>
        Object.fromEntries(Object.entries(after).filter(([name, n]) => n !== before[name]).map(([name, n]) => [name, n - before[name]!]))

      const token = apnsToken()
      const before = yield* counts
      const device = yield* registerDevice({ userId, platform: "ios", token })
      const afterNew = yield* counts
      expect(grown(before, afterNew)).toEqual({ devices: 1, audit_log: 1 })
      yield* registerDevice({ userId, platform: "ios", token })
      expect(grown(afterNew, yield* counts)).toEqual({ audit_log: 1 })

      const [deviceRow] = yield* sql<{ bytes: number; token: number }>`
        SELECT pg_column_size(d.*)::int AS bytes, pg_column_size(d.token_encrypted)::int AS token FROM devices d WHERE id = ${device.id}::uuid`
      const [auditRow] = yield* sql<{ bytes: number }>`
        SELECT pg_column_size(a.*)::int AS bytes FROM audit_log a WHERE action = 'device.register' ORDER BY seq DESC LIMIT 1`
      console.log(
        `a registration stores: devices row ${deviceRow!.bytes} B (sealed token ${deviceRow!.token} B) + audit_log row ${auditRow!.bytes} B`
      )
      expect(deviceRow!.bytes).toBeGreaterThan(deviceRow!.token)
      expect(auditRow!.bytes).toBeGreaterThan(0)
    })
  )
})
