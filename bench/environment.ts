/**
 * What every API benchmark shares: one embedded PostgreSQL in a temp dir (started like
 * test/support/globalSetup.ts does), one set of secrets (master key, lookup key, JWT key) given
 * to every process that serves, and a dataset sealed exactly as production seals it: accounts
 * through `findOrCreateUser`, documents with the local Crypto layer and the field contexts and
 * encodings of `saveContent`, inserted 20 rows per statement so that 1,000 users seed in seconds.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Result, Exit, Layer, ManagedRuntime, Redacted, Schema, Scope } from "effect"
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { configLayer, loadSettings, type Settings, settingsProvider } from "../src/config.js"
import { makeAccessTokens, signingKeyFrom } from "../src/layers/auth/jwt.js"
import { makeUserLookupKey } from "../src/layers/auth/lookupKey.js"
import { CryptoLocal } from "../src/layers/crypto/local.js"
import { startEmbeddedPostgres } from "../src/layers/database/embedded.js"
import { runMigrations } from "../src/layers/database/migrations.js"
import { pgClientLayer } from "../src/layers/database/postgres.js"
import { LLMOffline } from "../src/layers/llm/offline.js"
import { cardOf, encodeCard } from "../src/programs/content.js"
import { encodeTrendEntries, trendEntriesOf } from "../src/programs/trendIndex.js"
import { findOrCreateUser } from "../src/programs/users.js"
import { Crypto, fieldContext } from "../src/services/crypto.js"
import { bytea, SqlClient } from "../src/services/database.js"
import { ContentId, JobId, type UserId } from "../src/services/ids.js"
import { InterpretedDocument, LLM } from "../src/services/llm.js"
import { UserLookupKey } from "../src/services/users.js"
import { fixturePath } from "../test/support/fixtures.js"

export const ROOT = path.resolve(import.meta.dirname, "..")
export const FIXTURE_PDF = fixturePath("lab-report-cbc-cmp.pdf")

export interface BenchEnvironment {
  readonly tmp: string
  readonly databaseUrl: string
  /** Environment every serving process gets: the same database, keys and generous limits. */
  readonly env: Record<string, string>
  readonly settings: Settings
  readonly issueToken: (userId: UserId) => string
  readonly close: () => Promise<void>
}

export const startEnvironment = async (): Promise<BenchEnvironment> => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-bench-"))
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(
    Scope.provide(startEmbeddedPostgres({ dataDir: path.join(tmp, "pg"), ephemeral: true, maxConnections: 300 }), scope)
  )
  const admin = PgClient.layer({ url: pg.url, maxConnections: 1 })
  await Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, (sql) => sql`CREATE DATABASE serenya_bench`).pipe(Effect.provide(admin), Effect.scoped)
  )
  const databaseUrl = Redacted.value(pg.urlFor("serenya_bench"))
  await Effect.runPromise(
    runMigrations.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl) })), Effect.scoped)
  )
  const jwtPem = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
  const env: Record<string, string> = {
    APP_ENV: "local",
    DATA_DIR: path.join(tmp, "data"),
    DATABASE_URL: databaseUrl,
    MIGRATE_ON_START: "false",
    IN_PROCESS_WORKERS: "false",
    LOCAL_MASTER_KEY: randomBytes(32).toString("hex"),
    USER_LOOKUP_KEY: randomBytes(32).toString("hex"),
    JWT_PRIVATE_KEY: jwtPem,
    ACCESS_TOKEN_TTL_SECONDS: "86400",
    DEV_AUTH_ENABLED: "true",
    LOG_LEVEL: "warning",
    RATE_LIMIT_IP_CAPACITY: "100000000",
    RATE_LIMIT_IP_REFILL_PER_SECOND: "10000000",
    RATE_LIMIT_USER_CAPACITY: "100000000",
    RATE_LIMIT_USER_REFILL_PER_SECOND: "10000000",
    FREE_PLAN_DOCUMENTS_PER_MONTH: "100000000",
    FREE_PLAN_CHAT_MESSAGES_PER_MONTH: "100000000",
    LLM_MONTHLY_BUDGET_CENTS: "100000000"
  }
  const read = Effect.runSync(loadSettings(settingsProvider(env)))
  if (Result.isFailure(read)) throw new Error(read.failure)
  const key = signingKeyFrom(jwtPem)
  const tokens = makeAccessTokens(key, { issuer: read.success.auth.jwtIssuer, ttlSeconds: 86_400 })
  return {
    tmp,
    databaseUrl,
    env,
    settings: read.success,
    issueToken: (userId) => Effect.runSync(tokens.issue(userId, randomUUID())).token,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await fs.rm(tmp, { recursive: true, force: true })
    }
  }
}

/** The services the programs need, on the bench database, sealed with the servers' keys. */
export const programsRuntime = (environment: BenchEnvironment) =>
  ManagedRuntime.make(
    Layer.mergeAll(CryptoLocal, Layer.succeed(UserLookupKey, makeUserLookupKey(Buffer.from(environment.env.USER_LOOKUP_KEY!, "hex"))), LLMOffline).pipe(
      Layer.provideMerge(pgClientLayer(Redacted.make(environment.databaseUrl), environment.settings.database)),
      Layer.provideMerge(configLayer(environment.settings))
    )
  )

export interface SeededUser {
  readonly userId: UserId
  readonly token: string
  readonly contentIds: ReadonlyArray<ContentId>
  readonly jobId: JobId
}

/**
 * `users` accounts with `perUser` interpreted documents each (the fixture PDF read by the offline
 * LLM once, its title varied), and one completed job per user for the status route.
 */
export const seed = async (environment: BenchEnvironment, users: number, perUser: number) => {
  const runtime = programsRuntime(environment)
  const started = Date.now()
  try {
    const pdf = await fs.readFile(FIXTURE_PDF)
    const interpretation = await runtime.runPromise(
      Effect.flatMap(LLM, (llm) => llm.interpret({ bytes: pdf, contentType: "application/pdf" }))
    )
    const documents = Array.from({ length: perUser }, (_, n) =>
      InterpretedDocument.make({ ...interpretation.document, title: `${interpretation.document.title} #${n + 1}` })
    )
    // The two encodings of programs/content.ts (its schemas are private there).
    const encodeBody = Schema.encodeSync(Schema.fromJsonString(InterpretedDocument))
    const seeded = await runtime.runPromise(
      Effect.forEach(
        Array.from({ length: users }, (_, i) => i),
        (i) =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const crypto = yield* Crypto
            const { user } = yield* findOrCreateUser({ email: `bench-${i}@example.com`, name: `Bench User ${i}` })
            // One multi-row INSERT per user, sealed exactly as saveContent seals (a drift would fail every read).
            const rows = yield* Effect.forEach(documents, (document) =>
              Effect.gen(function* () {
                const contentId = ContentId.make(randomUUID())
                const seal = (column: string, text: string) =>
                  Effect.map(crypto.sealString(text, fieldContext(user.id, "content", column, contentId)), bytea)
                return {
                  id: contentId,
                  userId: user.id,
                  documentType: document.documentType,
                  titleEncrypted: yield* seal("title_encrypted", document.title),
                  summaryEncrypted: yield* seal("summary_encrypted", encodeCard(cardOf(document))),
                  bodyEncrypted: yield* seal("body_encrypted", encodeBody(document)),
                  trendsEncrypted: yield* seal("trends_encrypted", encodeTrendEntries(trendEntriesOf(document))),
                  provider: interpretation.provider,
                  modelId: interpretation.modelId
                }
              })
            )
            const [first, ...rest] = rows
            if (first !== undefined) yield* sql`INSERT INTO content ${sql.insert([first, ...rest])}`
            const contentIds = rows.map((row) => row.id)
            const [job] = yield* sql<{ id: string }>`
              INSERT INTO jobs (user_id, status, stage, content_type, size_bytes, storage_key, attempts, content_id, completed_at)
              VALUES (${user.id}::uuid, 'completed', 'done', 'application/pdf', ${pdf.length}, ${`jobs/bench-${i}_original`}, 1,
                      ${contentIds[0] ?? null}::uuid, now())
              RETURNING id::text AS id`
            return {
              userId: user.id,
              token: environment.issueToken(user.id),
              contentIds,
              jobId: JobId.make(job!.id)
            } satisfies SeededUser
          }),
        { concurrency: 8 }
      )
    )
    return { users: seeded, seconds: (Date.now() - started) / 1000 }
  } finally {
    await runtime.dispose()
  }
}
