/** Content at rest: sealed fields, the timeline card, user scoping. */
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { scriptedDocument } from "../../src/layers/llm/scripted.js"
import { makeTimelineCache } from "../../src/layers/timelineCache/memory.js"
import {
  deleteContent,
  listTimeline,
  loadContent,
  readContent,
  readTimeline,
  removeContent,
  saveContent
} from "../../src/programs/content.js"
import { ContentId, UserId } from "../../src/services/ids.js"
import { InterpretedDocument, LabResult, ReferenceRange, UnreadLine } from "../../src/services/llm.js"
import { Crypto, fieldContext } from "../../src/services/crypto.js"
import { bytea, withoutTransforms } from "../../src/services/database.js"
import { TimelineCache } from "../../src/services/timelineCache.js"
import { auditRows, AuditWithRows } from "../support/audit.js"
import { TestDatabaseLive } from "../support/database.js"

const TestLayer = Layer.merge(CryptoMemory, StorageMemory).pipe(Layer.provideMerge(TestDatabaseLive()))

const newUser = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ id: string }>`
    INSERT INTO users (email_hash, email_encrypted) VALUES (decode(md5(random()::text), 'hex'), ${Buffer.from([0])})
    RETURNING id::text AS id`
  return UserId.make(row!.id)
})

const hemoglobin = LabResult.make({
  name: "Hemoglobin",
  value: 11.2,
  unit: "g/dL",
  referenceRange: ReferenceRange.make({ low: 12, high: 16, text: "12.0 - 16.0" }),
  flag: "low"
})

layer(TestLayer)("content", (it) => {
  it.effect("saves sealed, loads back whole, lists a card with the flag count, scoped to its user", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser
      const bob = yield* newUser
      const document = scriptedDocument({ title: "Complete Blood Count", results: [hemoglobin], summary: "Hemoglobin is low." })
      const contentId = yield* saveContent({ userId: alice, document, provider: "offline", modelId: "offline-parser-v1" })

      const raw = yield* sql<{ t: Uint8Array; s: Uint8Array; b: Uint8Array }>`
        SELECT title_encrypted AS t, summary_encrypted AS s, body_encrypted AS b FROM content WHERE id = ${contentId}::uuid`
      for (const value of Object.values(raw[0]!)) {
        const text = Buffer.from(value).toString("latin1")
        expect(text).not.toContain("Hemoglobin")
        expect(text).not.toContain("Complete Blood Count")
      }

      const loaded = yield* loadContent(alice, contentId)
      expect(Option.getOrThrow(loaded).document.results[0]).toMatchObject({ name: "Hemoglobin", value: 11.2, flag: "low" })
      expect(Option.isNone(yield* loadContent(bob, contentId))).toBe(true)
      // The same id in upper case: the decryption context comes from the stored id, not the caller's spelling.
      const shouted = yield* loadContent(alice, ContentId.make(contentId.toUpperCase()))
      expect(Option.getOrThrow(shouted).contentId).toBe(contentId)

      const timeline = yield* listTimeline(alice, { limit: 20, offset: 0 })
      expect(timeline.total).toBe(1)
      expect(timeline.items[0]).toMatchObject({ contentId, title: "Complete Blood Count", summary: "Hemoglobin is low.", flaggedCount: 1 })
      expect((yield* listTimeline(bob, { limit: 20, offset: 0 })).total).toBe(0)

      expect(yield* deleteContent(bob, contentId)).toBe(false)
      expect(yield* deleteContent(alice, contentId)).toBe(true)
      expect(Option.isNone(yield* loadContent(alice, contentId))).toBe(true)
    })
  )

  it.effect("the card counts critical values and unread lines; a card stored before they existed reads them as 0", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const crypto = yield* Crypto
      const alice = yield* newUser
      const potassium = LabResult.make({
        name: "Potassium",
        value: 6.8,
        unit: "mmol/L",
        referenceRange: ReferenceRange.make({ low: 3.5, high: 5.1, text: "3.5-5.1" }),
        flag: "critical_high",
        flagSource: "critical_limit"
      })
      const document = new InterpretedDocument({
        ...scriptedDocument({ title: "Chemistry", results: [hemoglobin, potassium], summary: "s" }),
        unreadLines: [UnreadLine.make({ page: 1, line: 7, text: "Sodium 1 3 9 mmol/L" })]
      })
      const contentId = yield* saveContent({ userId: alice, document, provider: "offline", modelId: "m" })
      const [item] = (yield* listTimeline(alice, { limit: 20, offset: 0 })).items
      expect(item).toMatchObject({ contentId, flaggedCount: 2, criticalCount: 1, unreadCount: 1 })
      const loaded = Option.getOrThrow(yield* loadContent(alice, contentId)).document
      expect(loaded.unreadLines).toEqual([{ page: 1, line: 7, text: "Sodium 1 3 9 mmol/L" }])
      expect(loaded.results[1]).toMatchObject({ flag: "critical_high", flagSource: "critical_limit" })

      // a card and a body as sealed before the counts and unreadLines existed
      const old = yield* saveContent({ userId: alice, document: scriptedDocument({ title: "Old" }), provider: "offline", modelId: "m" })
      const card = yield* crypto.sealString(
        JSON.stringify({ summary: "s", flaggedCount: 3 }),
        fieldContext(alice, "content", "summary_encrypted", old)
      )
      const { unreadLines: _, ...oldBody } = Schema.encodeSync(InterpretedDocument)(scriptedDocument({ title: "Old" }))
      const body = yield* crypto.sealString(JSON.stringify(oldBody), fieldContext(alice, "content", "body_encrypted", old))
      yield* sql`UPDATE content SET summary_encrypted = ${bytea(card)}, body_encrypted = ${bytea(body)} WHERE id = ${old}::uuid`
      const items = (yield* listTimeline(alice, { limit: 20, offset: 0 })).items
      expect(items.find((i) => i.contentId === old)).toMatchObject({ flaggedCount: 3, criticalCount: 0, unreadCount: 0 })
      expect(Option.getOrThrow(yield* loadContent(alice, old)).document.unreadLines).toEqual([])
    })
  )

  it.effect("a sealed field copied into another row does not open", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser
      const first = yield* saveContent({ userId: alice, document: scriptedDocument({ title: "First" }), provider: "offline", modelId: "m" })
      const second = yield* saveContent({ userId: alice, document: scriptedDocument({ title: "Second" }), provider: "offline", modelId: "m" })
      yield* sql`UPDATE content SET body_encrypted = (SELECT body_encrypted FROM content WHERE id = ${first}::uuid) WHERE id = ${second}::uuid`
      const result = yield* Effect.result(loadContent(alice, ContentId.make(second)))
      expect(result._tag === "Failure" && result.failure._tag).toBe("DecryptionFailed")
    })
  )
})

const Cache = Layer.sync(TimelineCache, () => makeTimelineCache({ ttl: "5 minutes", maxUsers: 100 }))
const ReadLayer = Layer.mergeAll(CryptoMemory, StorageMemory, AuditWithRows, Cache).pipe(Layer.provideMerge(TestDatabaseLive()))
const window = { limit: 20, offset: 0 }
const versionOf = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ v: string }>`SELECT content_version::text AS v FROM users WHERE id = ${userId}::uuid`, (rows) => rows[0]?.v)
  )

layer(ReadLayer)("content reads", (it) => {
  it.effect("the database bumps a user's content stamp on every insert, update and delete of their content, and only theirs", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser
      const bob = yield* newUser
      const start = Number(yield* versionOf(alice))
      const id = yield* saveContent({ userId: alice, document: scriptedDocument({ title: "A" }), provider: "offline", modelId: "m" })
      expect(Number(yield* versionOf(alice))).toBe(start + 1)
      yield* sql`UPDATE content SET model_id = 'm2' WHERE id = ${id}::uuid`
      expect(Number(yield* versionOf(alice))).toBe(start + 2)
      yield* deleteContent(alice, id)
      expect(Number(yield* versionOf(alice))).toBe(start + 3)
      expect(yield* versionOf(bob)).toBe("0")
    })
  )

  it.effect("the timeline is served from the cache while the stamp holds, and read again once the content changes", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const cache = yield* TimelineCache
      const alice = yield* newUser
      yield* saveContent({ userId: alice, document: scriptedDocument({ title: "First" }), provider: "offline", modelId: "m" })
      const first = yield* readTimeline(alice, window)
      expect(first.items.map((i) => i.title)).toEqual(["First"])

      // A page planted under the current stamp is what the next read returns: it came from the cache.
      const planted = { items: [{ ...first.items[0]!, title: "From the cache" }], total: 1 }
      yield* cache.store(alice, window, (yield* versionOf(alice))!, planted)
      expect((yield* readTimeline(alice, window)).items[0]!.title).toBe("From the cache")

      // Any change of the content moves the stamp: the next read is fresh, even for a change made behind our back.
      yield* saveContent({ userId: alice, document: scriptedDocument({ title: "Second" }), provider: "offline", modelId: "m" })
      expect((yield* readTimeline(alice, window)).items.map((i) => i.title)).toEqual(["Second", "First"])
      yield* sql`DELETE FROM content WHERE user_id = ${alice}::uuid`
      expect(yield* readTimeline(alice, window)).toEqual({ items: [], total: 0 })
    })
  )

  it.effect("pages carry the user's total, also past the end, newest first", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      for (const title of ["one", "two", "three"]) {
        yield* saveContent({ userId: alice, document: scriptedDocument({ title }), provider: "offline", modelId: "m" })
      }
      const first = yield* listTimeline(alice, { limit: 2, offset: 0 })
      expect(first.total).toBe(3)
      expect(first.items.map((i) => i.title)).toEqual(["three", "two"])
      expect(yield* listTimeline(alice, { limit: 2, offset: 2 })).toMatchObject({ total: 3, items: [{ title: "one" }] })
      expect(yield* listTimeline(alice, { limit: 2, offset: 5 })).toEqual({ items: [], total: 3 })
    })
  )

  it.effect("with the cache off every read is fresh (and no stamp is looked up)", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const read = readTimeline(alice, window).pipe(Effect.provideService(TimelineCache, makeTimelineCache({ ttl: 0, maxUsers: 0 })))
      expect((yield* read).total).toBe(0)
      yield* saveContent({ userId: alice, document: scriptedDocument({ title: "Fresh" }), provider: "offline", modelId: "m" })
      expect((yield* read).items.map((i) => i.title)).toEqual(["Fresh"])
      expect(makeTimelineCache({ ttl: 0, maxUsers: 10 }).enabled).toBe(false)
      expect(makeTimelineCache({ ttl: "1 minute", maxUsers: 10 }).enabled).toBe(true)
    })
  )

  it.effect("an account that is gone reads an empty timeline, whatever was cached", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser
      yield* saveContent({ userId: alice, document: scriptedDocument({ title: "Mine" }), provider: "offline", modelId: "m" })
      expect((yield* readTimeline(alice, window)).total).toBe(1)
      yield* sql`DELETE FROM content WHERE user_id = ${alice}::uuid`
      yield* sql`DELETE FROM users WHERE id = ${alice}::uuid`
      expect(yield* readTimeline(alice, window)).toEqual({ items: [], total: 0 })
    })
  )

  it.effect("every read and delete is audited, cached or not, with the outcome and the content id", () =>
    Effect.gen(function* () {
      const alice = yield* newUser
      const bob = yield* newUser
      const id = ContentId.make(
        yield* saveContent({ userId: alice, document: scriptedDocument({ title: "T" }), provider: "offline", modelId: "m" })
      )
      const before = (yield* auditRows).length
      const request = { requestId: "req-1", clientIp: "203.0.113.9" }
      yield* readTimeline(alice, window, request)
      yield* readTimeline(alice, window, request)
      expect(Option.isSome(yield* readContent(alice, id, request))).toBe(true)
      expect(Option.isNone(yield* readContent(bob, id, request))).toBe(true)
      expect(yield* removeContent(bob, id, request)).toBe(false)
      expect(yield* removeContent(alice, id, request)).toBe(true)
      const events = (yield* auditRows).slice(before).map((r) => [r.action, r.actorUserId, r.resourceId, r.outcome, r.requestId, r.clientIp])
      expect(events).toEqual([
        ["content.list", alice, null, "success", "req-1", "203.0.113.9"],
        ["content.list", alice, null, "success", "req-1", "203.0.113.9"],
        ["content.read", alice, id, "success", "req-1", "203.0.113.9"],
        ["content.read", bob, id, "failure", "req-1", "203.0.113.9"],
        ["content.delete", bob, id, "failure", "req-1", "203.0.113.9"],
        ["content.delete", alice, id, "success", "req-1", "203.0.113.9"]
      ])
    })
  )
  it.effect("the client without transforms is built once per client and keeps PostgreSQL's column names", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const plain = withoutTransforms(sql)
      expect(withoutTransforms(sql)).toBe(plain)
      const [row] = yield* plain<Record<string, unknown>>`SELECT 1 AS document_type`
      expect(Object.keys(row!)).toEqual(["document_type"])
    })
  )
})
