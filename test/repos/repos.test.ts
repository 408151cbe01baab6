/**
 * Repository statements whose behaviour is in the SQL itself, on a real database (as APP_ROLE, as
 * the server connects; OwnerSql only to age rows): the race-safe inserts and binds of users, the
 * timeline's total past the last page, idempotency keys' claim and expiry, the erasure outbox's
 * owed entries and lease, and `inTransaction` committing or rolling back repository calls together.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as Content from "../../src/repos/content.js"
import * as ErasureOutbox from "../../src/repos/erasureOutbox.js"
import * as IdempotencyKeys from "../../src/repos/idempotencyKeys.js"
import { inTransaction } from "../../src/repos/transaction.js"
import * as Users from "../../src/repos/users.js"
import { ContentId, newUuid, UserId } from "../../src/services/ids.js"
import { OwnerSql, TestDatabaseLive } from "../support/database.js"

const bytes = () => randomBytes(16)

const newUser = Effect.gen(function* () {
  const id = UserId.make(yield* newUuid)
  const inserted = yield* Users.insertUser({ id, emailHash: bytes(), emailEncrypted: bytes(), nameEncrypted: null, googleSubHash: null })
  expect(inserted).toBe(true)
  return id
})

const addContent = (userId: UserId) =>
  Effect.gen(function* () {
    const id = ContentId.make(yield* newUuid)
    yield* Content.insertContent({
      id,
      userId,
      jobId: null,
      documentType: "lab_results",
      titleEncrypted: bytes(),
      summaryEncrypted: bytes(),
      bodyEncrypted: bytes(),
      trendsEncrypted: bytes(),
      provider: "offline",
      modelId: "test"
    })
    return id
  })

layer(TestDatabaseLive())("repositories", (it) => {
  it.effect("users: a second insert on a held hash does nothing; a Google subject binds one account, once", () =>
    Effect.gen(function* () {
      const emailHash = bytes()
      const alice = UserId.make(yield* newUuid)
      const row = { id: alice, emailHash, emailEncrypted: bytes(), nameEncrypted: bytes(), googleSubHash: null }
      expect(yield* Users.insertUser(row)).toBe(true)
      expect(yield* Users.insertUser({ ...row, id: UserId.make(yield* newUuid) })).toBe(false)
      expect(Option.map(yield* Users.findByEmailHash(emailHash), (user) => user.id)).toEqual(Option.some(alice))

      const sub = bytes()
      const bob = yield* newUser
      expect(yield* Users.bindGoogleSubject(alice, sub)).toBe(true)
      // held by alice now: bob cannot take it, and alice's binding does not move
      expect(yield* Users.bindGoogleSubject(bob, sub)).toBe(false)
      expect(yield* Users.bindGoogleSubject(alice, bytes())).toBe(false)
      expect(Option.map(yield* Users.findByGoogleSubject(sub), (user) => user.id)).toEqual(Option.some(alice))

      expect(yield* inTransaction(Users.lockUser(bob))).toBe(true)
      expect(yield* inTransaction(Users.lockUser(UserId.make("00000000-0000-4000-8000-00000000dead")))).toBe(false)
    })
  )

  it.effect("content: the timeline's total comes with the page, and still comes for a page past the end", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const ids = [yield* addContent(alice), yield* addContent(alice), yield* addContent(alice)]
      const page = yield* Content.timelinePage(alice, { limit: 2, offset: 0 })
      expect(page.rows.map((row) => row.id)).toEqual([ids[2], ids[1]])
      expect(page.total).toBe(3)
      expect(yield* Content.timelinePage(alice, { limit: 2, offset: 5 })).toEqual({ rows: [], total: 3 })
      expect(yield* Content.timelinePage(yield* newUser, { limit: 2, offset: 0 })).toEqual({ rows: [], total: 0 })
      // scoped to the user in SQL: another user's id reads as absent
      const bob = yield* newUser
      expect(yield* Content.contentExists(bob, ids[0]!)).toBe(false)
      expect(Option.isSome(yield* Content.deleteContent(bob, ids[0]!))).toBe(false)
      expect(Option.isSome(yield* Content.deleteContent(alice, ids[0]!))).toBe(true)
      expect(Option.isNone(yield* Content.findContent(alice, ids[0]!))).toBe(true)
    })
  )

  it.effect("idempotency keys: claimed once while fresh, claimable again once expired; expired keys are deleted, fresh ones kept", () =>
    Effect.gen(function* () {
      const owner = yield* OwnerSql
      const alice = yield* newUser
      const Response = Schema.Struct({ n: Schema.Number })
      const hash = bytes()
      expect(yield* IdempotencyKeys.claimIdempotencyKey(alice, "scope", "k1", hash, { n: 1 })).toBe(true)
      expect(yield* IdempotencyKeys.claimIdempotencyKey(alice, "scope", "k1", bytes(), { n: 2 })).toBe(false)
      const found = yield* IdempotencyKeys.findIdempotencyKey(Response, alice, "scope", "k1")
      expect(Option.map(found, (key) => [key.response, key.fresh, Buffer.from(key.requestHash).equals(hash)])).toEqual(
        Option.some([{ n: 1 }, true, true])
      )
      expect(Option.isNone(yield* IdempotencyKeys.findIdempotencyKey(Response, alice, "other scope", "k1"))).toBe(true)

      const hours = IdempotencyKeys.IDEMPOTENCY_WINDOW_HOURS
      yield* owner`UPDATE idempotency_keys SET created_at = now() - make_interval(hours => ${hours + 1}) WHERE user_id = ${alice}::uuid`
      expect(Option.map(yield* IdempotencyKeys.findIdempotencyKey(Response, alice, "scope", "k1"), (key) => key.fresh)).toEqual(Option.some(false))
      expect(yield* IdempotencyKeys.claimIdempotencyKey(alice, "scope", "k1", bytes(), { n: 3 })).toBe(true)
      expect(Option.map(yield* IdempotencyKeys.findIdempotencyKey(Response, alice, "scope", "k1"), (key) => key.response)).toEqual(Option.some({ n: 3 }))

      yield* IdempotencyKeys.claimIdempotencyKey(alice, "scope", "k2", bytes(), { n: 4 })
      yield* owner`UPDATE idempotency_keys SET created_at = now() - make_interval(hours => ${hours + 1}) WHERE key = 'k2'`
      yield* IdempotencyKeys.deleteExpiredIdempotencyKeys(alice)
      const left = yield* owner<{ key: string }>`SELECT key FROM idempotency_keys WHERE user_id = ${alice}::uuid ORDER BY key`
      expect(left.map((row) => row.key)).toEqual(["k1"])
    })
  )

  it.effect("erasure outbox: what is owed is recorded once per target, claimed under a lease, retried later, deleted when done", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const owed = yield* ErasureOutbox.recordOwedDeletions(alice)
      // no jobs nor uploads: only the cost records
      expect(owed).toHaveLength(1)
      // owed again (a repeated erasure): the same entry, made due now
      expect(yield* ErasureOutbox.recordOwedDeletions(alice)).toEqual(owed)
      const other = yield* ErasureOutbox.recordOwedDeletions(yield* newUser)

      const claimed = yield* ErasureOutbox.claimDueEntries({ leaseSeconds: 300, batch: 10, ids: owed })
      expect(claimed).toEqual([{ id: owed[0], kind: "cost_records", target: alice, attempts: 1 }])
      // under its lease, not due: only the other entry is left to claim
      expect((yield* ErasureOutbox.claimDueEntries({ leaseSeconds: 300, batch: 10 })).map((row) => row.id)).toEqual(other)

      yield* ErasureOutbox.scheduleRetry(owed[0]!, 0, "StorageUnavailable")
      expect(yield* ErasureOutbox.claimDueEntries({ leaseSeconds: 300, batch: 10, ids: owed })).toMatchObject([{ attempts: 2 }])
      yield* ErasureOutbox.deleteEntry(owed[0]!)
      yield* ErasureOutbox.scheduleRetry(other[0]!, 0, "StorageUnavailable")
      expect((yield* ErasureOutbox.claimDueEntries({ leaseSeconds: 300, batch: 10 })).map((row) => row.id)).toEqual(other)
    })
  )

  it.effect("inTransaction: repository calls commit together, or none of them does", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const kept = yield* inTransaction(Effect.all([addContent(alice), addContent(alice)]))
      const failed = yield* Effect.result(
        inTransaction(Effect.andThen(addContent(alice), Effect.fail("refused" as const)))
      )
      expect(failed._tag).toBe("Failure")
      const { rows } = yield* Content.timelinePage(alice, { limit: 10, offset: 0 })
      expect(rows.map((row) => row.id).sort()).toEqual([...kept].sort())
    })
  )
})
