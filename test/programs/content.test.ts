/** Content at rest: sealed fields, the timeline card, user scoping. */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { CryptoMemory } from "../../src/layers/crypto/local.js"
import { scriptedDocument } from "../../src/layers/llm/scripted.js"
import { deleteContent, listTimeline, loadContent, saveContent } from "../../src/programs/content.js"
import { ContentId, UserId } from "../../src/services/ids.js"
import { LabResult, ReferenceRange } from "../../src/services/llm.js"
import { TestDatabaseLive } from "../support/database.js"

const TestLayer = CryptoMemory.pipe(Layer.provideMerge(TestDatabaseLive()))

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

      const timeline = yield* listTimeline(alice, { limit: 20, offset: 0 })
      expect(timeline.total).toBe(1)
      expect(timeline.items[0]).toMatchObject({ contentId, title: "Complete Blood Count", summary: "Hemoglobin is low.", flaggedCount: 1 })
      expect((yield* listTimeline(bob, { limit: 20, offset: 0 })).total).toBe(0)

      expect(yield* deleteContent(bob, contentId)).toBe(false)
      expect(yield* deleteContent(alice, contentId)).toBe(true)
      expect(Option.isNone(yield* loadContent(alice, contentId))).toBe(true)
    })
  )

  it.effect("a sealed field copied into another row does not open", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* newUser
      const first = yield* saveContent({ userId: alice, document: scriptedDocument({ title: "First" }), provider: "offline", modelId: "m" })
      const second = yield* saveContent({ userId: alice, document: scriptedDocument({ title: "Second" }), provider: "offline", modelId: "m" })
      yield* sql`UPDATE content SET body_encrypted = (SELECT body_encrypted FROM content WHERE id = ${first}::uuid) WHERE id = ${second}::uuid`
      const result = yield* Effect.either(loadContent(alice, ContentId.make(second)))
      expect(result._tag === "Left" && result.left._tag).toBe("DecryptionFailed")
    })
  )
})
