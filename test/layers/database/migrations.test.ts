import { Migrator, SqlClient } from "effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { loader, MIGRATIONS, MIGRATIONS_TABLE, runMigrations } from "../../../src/layers/database/migrations.js"
import { TestDatabaseLive } from "../../support/database.js"

const EXPECTED_TABLES = [
  "audit_log",
  "audit_personal",
  "audit_seal",
  "content",
  "conversations",
  "devices",
  "document_uploads",
  "erasure_outbox",
  "idempotency_keys",
  "jobs",
  "llm_usage",
  "messages",
  "notification_outbox",
  "plan_usage",
  "refresh_tokens",
  "subscriptions",
  "users"
]

layer(TestDatabaseLive({ migrated: false, as: "owner" }))("migrations on an empty database", (it) => {
  it.effect("apply every migration, then a second run is a no-op", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const before = yield* sql<{ tableName: string }>`
        SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
      expect(before).toEqual([])

      const registered = (yield* loader).map(([id, name]) => `${id}_${name}`)
      expect(registered[0]).toBe("1_initial_schema")
      const first = yield* runMigrations
      expect(first.map(([id, name]) => `${id}_${name}`)).toEqual(registered)

      const tables = yield* sql<{ tableName: string }>`
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name <> ${MIGRATIONS_TABLE} ORDER BY table_name`
      expect(tables.map((t) => t.tableName)).toEqual(EXPECTED_TABLES)

      const second = yield* runMigrations
      expect(second).toEqual([])
      const recorded = yield* sql<{ count: string }>`SELECT count(*)::text AS count FROM ${sql(MIGRATIONS_TABLE)}`
      expect(recorded[0]?.count).toBe(String(registered.length))
    })
  )
})

layer(TestDatabaseLive())("the schema", (it) => {
  it.effect("stores every health or personal value as encrypted bytes, never as text", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const columns = yield* sql<{ tableName: string; columnName: string; dataType: string }>`
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'public' ORDER BY table_name, column_name`
      const encrypted = columns.filter((c) => c.columnName.endsWith("_encrypted"))
      expect(encrypted.map((c) => `${c.tableName}.${c.columnName}`)).toEqual([
        "content.body_encrypted",
        "content.summary_encrypted",
        "content.title_encrypted",
        "content.trends_encrypted",
        "devices.token_encrypted",
        "document_uploads.file_name_encrypted",
        "jobs.file_name_encrypted",
        "messages.content_encrypted",
        "users.email_encrypted",
        "users.name_encrypted"
      ])
      for (const column of encrypted) expect(column, `${column.tableName}.${column.columnName}`).toMatchObject({ dataType: "bytea" })

      // Words that name health or identifying data must only appear on encrypted or hashed columns.
      const sensitive = /email|name|title|summary|body|content|message|result|value|note|birth|phone/
      const allowed = new Set([
        "content.id",
        "jobs.content_id",
        "jobs.content_type",
        "document_uploads.content_type",
        // a counter of changes (the timeline cache's stamp), never content
        "users.content_version",
        "conversations.content_id",
        // the content a completed job's push names (an id)
        "notification_outbox.content_id",
        "messages.conversation_id",
        // our own fixed error texts (a reason code's sentence), never model or document output
        "jobs.error_message",
        "schema_migrations.name"
      ])
      const plaintext = columns.filter(
        (c) =>
          sensitive.test(c.columnName) &&
          !c.columnName.endsWith("_encrypted") &&
          !c.columnName.endsWith("_hash") &&
          !allowed.has(`${c.tableName}.${c.columnName}`)
      )
      expect(plaintext.map((c) => `${c.tableName}.${c.columnName}`)).toEqual([])
    })
  )

  it.effect("each test file gets a database of its own", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ name: string }>`SELECT current_database() AS name`
      expect(row?.name).toMatch(/^test_[0-9a-f]{12}$/)
      yield* sql`INSERT INTO users (email_hash, email_encrypted) VALUES (${new Uint8Array([1])}, ${new Uint8Array([2])})`
      const [count] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM users`
      expect(count?.n).toBe(1)
    })
  )
})

describe("check constraints", () => {
  layer(TestDatabaseLive())("jobs", (it) => {
    it.effect("reject an unknown status", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [user] = yield* sql<{ id: string }>`
          INSERT INTO users (email_hash, email_encrypted) VALUES (${new Uint8Array([9])}, ${new Uint8Array([9])}) RETURNING id`
        const result = yield* Effect.result(
          sql`INSERT INTO jobs (user_id, status, content_type, size_bytes, storage_key)
              VALUES (${user!.id}, 'exploded', 'application/pdf', 10, 'jobs/x_original')`
        )
        expect(result._tag).toBe("Failure")
      })
    )
  })
})

layer(TestDatabaseLive({ migrated: false, as: "owner" }))("0006_plan_usage on a database with chats", (it) => {
  it.effect("carries every question already asked into the ledger (not the answers), so no count starts over", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const upTo5 = Migrator.fromRecord(
        Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < "0006")) as typeof MIGRATIONS
      )
      yield* Migrator.make({})({ loader: upTo5, table: MIGRATIONS_TABLE })
      const [user] = yield* sql<{ id: string }>`
        INSERT INTO users (id, email_hash, email_encrypted) VALUES (gen_random_uuid(), ${Buffer.from([1])}, ${Buffer.from([1])})
        RETURNING id::text AS id`
      const [content] = yield* sql<{ id: string }>`
        INSERT INTO content (user_id, document_type, title_encrypted, summary_encrypted, body_encrypted, provider, model_id)
        VALUES (${user!.id}::uuid, 'other', ${Buffer.from([0])}, ${Buffer.from([0])}, ${Buffer.from([0])}, 'offline', 'm')
        RETURNING id::text AS id`
      const [conversation] = yield* sql<{ id: string }>`
        INSERT INTO conversations (user_id, content_id) VALUES (${user!.id}::uuid, ${content!.id}::uuid) RETURNING id::text AS id`
      for (const role of ["user", "assistant", "user", "assistant"]) {
        yield* sql`
          INSERT INTO messages (conversation_id, user_id, role, content_encrypted)
          VALUES (${conversation!.id}::uuid, ${user!.id}::uuid, ${role}, ${Buffer.from([0])})`
      }
      // the ones after it run too; 0006 is the one this is about
      expect((yield* runMigrations).map(([, name]) => name)[0]).toBe("plan_usage")
      const ledger = yield* sql<{ n: number }>`
        SELECT count(*)::int AS n FROM plan_usage WHERE user_id = ${user!.id}::uuid AND resource = 'chat_message'`
      expect(ledger[0]?.n).toBe(2)
    })
  )
})
