/**
 * Key rotation end to end on a real database: every encrypted column and every stored document
 * moves to the new master key, stays readable, and a second run has nothing to do.
 */
import { SqlClient } from "effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { keyIdOf } from "../../src/layers/crypto/local.js"
import { makeCryptoMemory, TEST_MASTER_KEY } from "../../src/layers/crypto/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { ENCRYPTED_FIELDS, rotateKeys } from "../../src/programs/rotateKeys.js"
import { listStoredOriginals } from "../../src/repos/jobs.js"
import { Crypto, documentContext, fieldContext } from "../../src/services/crypto.js"
import { documentKey, Storage } from "../../src/services/storage.js"
import { TestDatabaseLive } from "../support/database.js"
import { UserId } from "../../src/services/ids.js"

const NEXT_KEY = Buffer.alloc(32, 42)
const keyring = {
  current: keyIdOf(TEST_MASTER_KEY),
  keys: new Map<string, Uint8Array>([
    [keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY],
    [keyIdOf(NEXT_KEY), NEXT_KEY]
  ])
}

const CryptoLive = Layer.effect(Crypto, makeCryptoMemory({ keyring: () => keyring }))

const TestLayer = Layer.mergeAll(CryptoLive, StorageMemory).pipe(Layer.provideMerge(TestDatabaseLive()))

const buf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** A user with a conversation, a processed document and one waiting in storage, all sealed under the first key. */
const seed = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const storage = yield* Storage
  const seal = (text: string, ctx: ReturnType<typeof fieldContext>) => Effect.map(crypto.sealString(text, ctx), buf)
  const [user] = yield* sql<{ id: string }>`
    INSERT INTO users (email_hash, email_encrypted) VALUES (decode(md5(random()::text), 'hex'), ${Buffer.from([0])}) RETURNING id::text AS id`
  const userId = UserId.make(user!.id)
  yield* sql`UPDATE users SET email_encrypted = ${yield* seal("jane@example.com", fieldContext(userId, "users", "email_encrypted", userId))},
    name_encrypted = ${yield* seal("Jane Roe", fieldContext(userId, "users", "name_encrypted", userId))} WHERE id = ${userId}::uuid`
  const [job] = yield* sql<{ id: string; storageKey: string }>`
    INSERT INTO jobs (user_id, status, content_type, size_bytes, storage_key)
    VALUES (${userId}::uuid, 'queued', 'application/pdf', 10, 'pending') RETURNING id::text AS id, storage_key`
  const key = documentKey(job!.id)
  yield* sql`UPDATE jobs SET storage_key = ${key},
    file_name_encrypted = ${yield* seal("cbc.pdf", fieldContext(userId, "jobs", "file_name_encrypted", job!.id))} WHERE id = ${job!.id}::uuid`
  yield* storage.put(key, yield* crypto.seal(Buffer.from("%PDF-1.4 Hemoglobin 11.2"), documentContext(userId, key)), {
    userId,
    uploadedAt: new Date(),
    contentType: "application/pdf"
  })
  const [content] = yield* sql<{ id: string }>`
    INSERT INTO content (user_id, document_type, title_encrypted, summary_encrypted, body_encrypted, provider, model_id)
    VALUES (${userId}::uuid, 'lab_results', ${Buffer.from([0])}, ${Buffer.from([0])}, ${Buffer.from([0])}, 'offline', 'offline-1')
    RETURNING id::text AS id`
  const contentId = content!.id
  yield* sql`UPDATE content SET
    title_encrypted = ${yield* seal("CBC", fieldContext(userId, "content", "title_encrypted", contentId))},
    summary_encrypted = ${yield* seal("Low hemoglobin", fieldContext(userId, "content", "summary_encrypted", contentId))},
    body_encrypted = ${yield* seal("{}", fieldContext(userId, "content", "body_encrypted", contentId))}
    WHERE id = ${contentId}::uuid`
  const [conversation] = yield* sql<{ id: string }>`
    INSERT INTO conversations (user_id, content_id) VALUES (${userId}::uuid, ${contentId}::uuid) RETURNING id::text AS id`
  for (const text of ["what is my hemoglobin?", "11.2 g/dL, below the range"]) {
    const [message] = yield* sql<{ id: string }>`
      INSERT INTO messages (conversation_id, user_id, role, content_encrypted)
      VALUES (${conversation!.id}::uuid, ${userId}::uuid, 'user', ${Buffer.from([0])}) RETURNING id::text AS id`
    yield* sql`UPDATE messages SET content_encrypted = ${yield* seal(text, fieldContext(userId, "messages", "content_encrypted", message!.id))}
      WHERE id = ${message!.id}::uuid`
  }
  // a phone registered for pushes: its token sealed for its row
  const [device] = yield* sql<{ id: string }>`
    INSERT INTO devices (id, user_id, platform, token_encrypted, token_hash, endpoint)
    VALUES (gen_random_uuid(), ${userId}::uuid, 'ios', ${Buffer.from([0])}, decode(md5(random()::text), 'hex'), 'local:rotation')
    RETURNING id::text AS id`
  yield* sql`UPDATE devices SET token_encrypted = ${yield* seal("ab".repeat(32), fieldContext(userId, "devices", "token_encrypted", device!.id))}
    WHERE id = ${device!.id}::uuid`
  return { userId, key }
})

layer(TestLayer)("rotateKeys", (it) => {
  it.effect("covers every encrypted column of the schema", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const columns = yield* sql<{ name: string }>`
        SELECT table_name || '.' || column_name AS name FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name LIKE '%\\_encrypted' ORDER BY 1`
      const registered = ENCRYPTED_FIELDS.flatMap(({ table, columns }) => columns.map((c) => `${table}.${c}`)).sort()
      expect(registered).toEqual(columns.map((c) => c.name))
    })
  )

  it.effect("moves every field and stored document to the new key; all stay readable; a second run does nothing", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const crypto = yield* Crypto
      const storage = yield* Storage
      keyring.current = keyIdOf(TEST_MASTER_KEY)
      const { userId, key } = yield* seed

      keyring.current = keyIdOf(NEXT_KEY)
      const report = yield* rotateKeys({ batchSize: 1 })
      expect(report.currentKeys.fields).toBe(keyIdOf(NEXT_KEY))
      expect(report.fields["users.email_encrypted"]).toEqual({ scanned: 1, rewrapped: 1, unreadable: 0 })
      expect(report.fields["messages.content_encrypted"]).toEqual({ scanned: 2, rewrapped: 2, unreadable: 0 })
      expect(report.fields["devices.token_encrypted"]).toEqual({ scanned: 1, rewrapped: 1, unreadable: 0 })
      expect(report.documents).toEqual({ scanned: 1, rewrapped: 1, unreadable: 0 })

      // Nothing left under the old key, anywhere.
      for (const { table, columns } of ENCRYPTED_FIELDS) {
        for (const column of columns) {
          const values = yield* sql<{ value: Uint8Array }>`SELECT ${sql(column)} AS value FROM ${sql(table)} WHERE ${sql(column)} IS NOT NULL`
          for (const { value } of values) expect((yield* crypto.inspect(value)).keyId).toBe(keyIdOf(NEXT_KEY))
        }
      }
      const stored = yield* storage.get(key)
      expect((yield* crypto.inspect(stored.bytes)).keyId).toBe(keyIdOf(NEXT_KEY))

      // Retire the old key: everything still opens.
      keyring.keys.delete(keyIdOf(TEST_MASTER_KEY))
      const [user] = yield* sql<{ name: Uint8Array }>`SELECT name_encrypted AS name FROM users WHERE id = ${userId}::uuid`
      expect(yield* crypto.openString(user!.name, fieldContext(userId, "users", "name_encrypted", userId))).toBe("Jane Roe")
      expect(Buffer.from(yield* crypto.open(stored.bytes, documentContext(userId, key))).toString()).toContain("Hemoglobin")

      const again = yield* rotateKeys()
      expect(Object.values(again.fields).every((c) => c.rewrapped === 0)).toBe(true)
      expect(again.documents.rewrapped).toBe(0)
    })
  )

  it.effect("a completed job's original, kept with its content, is re-wrapped too; one recorded as removed is not looked for", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const crypto = yield* Crypto
      const storage = yield* Storage
      keyring.keys.set(keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY)
      keyring.current = keyIdOf(TEST_MASTER_KEY)
      const { key } = yield* seed
      yield* sql`UPDATE jobs SET status = 'completed' WHERE storage_key = ${key}`
      keyring.current = keyIdOf(NEXT_KEY)
      const report = yield* rotateKeys()
      expect(report.documents).toMatchObject({ rewrapped: 1, unreadable: 0 })
      expect((yield* crypto.inspect((yield* storage.get(key)).bytes)).keyId).toBe(keyIdOf(NEXT_KEY))
      yield* sql`UPDATE jobs SET original_removed_at = now() WHERE storage_key = ${key}`
      expect((yield* listStoredOriginals).map((job) => job.storageKey)).not.toContain(key)
    })
  )

  it.effect("an envelope pasted into another user's row is reported as unreadable and left alone", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const crypto = yield* Crypto
      keyring.keys.set(keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY)
      keyring.current = keyIdOf(TEST_MASTER_KEY)
      const first = yield* seed
      const second = yield* seed
      // The first user's name, sealed for the first user's row, copied into the second user's row.
      const copied = buf(yield* crypto.sealString("Jane Roe", fieldContext(first.userId, "users", "name_encrypted", first.userId)))
      yield* sql`UPDATE users SET name_encrypted = ${copied} WHERE id = ${second.userId}::uuid`

      keyring.current = keyIdOf(NEXT_KEY)
      const report = yield* rotateKeys()
      expect(report.fields["users.name_encrypted"]?.unreadable).toBe(1)
      const [after] = yield* sql<{ v: Uint8Array }>`SELECT name_encrypted AS v FROM users WHERE id = ${second.userId}::uuid`
      expect(Buffer.from(after!.v).equals(copied)).toBe(true)
    })
  )
})

describe("ENCRYPTED_FIELDS", () => {
  it("names each table once", () => {
    const tables = ENCRYPTED_FIELDS.map((f) => f.table)
    expect(new Set(tables).size).toBe(tables.length)
  })
})
