/**
 * The whole API in this process on a real port of 127.0.0.1, over a fresh migrated database of
 * its own (test/support/database.ts): memory crypto, storage, audit and costs, the real job queue
 * and worker pool, and whichever LLM the test chooses. Like test/http/api.test.ts, but on a socket,
 * so that raw bytes and unnormalised paths reach the server as a client would send them.
 */
import { randomUUID } from "node:crypto"
import { HttpServer } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { SqlClient } from "effect/sql"
import { Effect, Layer, ManagedRuntime, References } from "effect"
import { createServer } from "node:http"
import { serveApi } from "../../src/http/app.js"
import { ApiLive } from "../../src/http/serve.js"
import { AccessTokens } from "../../src/services/auth.js"
import { workerPoolLayer } from "../../src/main/workerPool.js"
import type { UserId } from "../../src/services/ids.js"
import type { LLM } from "../../src/services/llm.js"
import { appTestServices, newSigningKey } from "../support/services.js"
import { testSettings } from "../support/settings.js"

export interface InProcessOptions {
  readonly llm: Layer.Layer<LLM>
  readonly env?: Record<string, string>
  readonly workers?: boolean
}

/** Settings that keep the limiter and the plan limits out of the way of many requests. */
export const generousEnv = {
  DEV_AUTH_ENABLED: "true",
  FREE_PLAN_DOCUMENTS_PER_MONTH: "100000",
  FREE_PLAN_CHAT_MESSAGES_PER_MONTH: "100000",
  RATE_LIMIT_IP_CAPACITY: "10000000",
  RATE_LIMIT_IP_REFILL_PER_SECOND: "1000000",
  RATE_LIMIT_USER_CAPACITY: "10000000",
  RATE_LIMIT_USER_REFILL_PER_SECOND: "1000000"
}

export const startInProcess = async (options: InProcessOptions) => {
  const key = newSigningKey()
  const settings = testSettings({ ...generousEnv, ...options.env })
  const services = appTestServices({ settings, key, llm: options.llm, cachedUsers: 1000 })
  const served = serveApi(ApiLive).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => createServer({ keepAliveTimeout: 5_000 }), { port: 0, host: "127.0.0.1" }))
  )
  const workers =
    options.workers === false
      ? Layer.empty
      : workerPoolLayer({ concurrency: 2, poll: "20 millis", lease: "10 seconds", shutdownTimeout: "2 seconds" })
  const runtime = ManagedRuntime.make(
    Layer.merge(served, workers).pipe(Layer.provideMerge(services), Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error")))
  )
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag !== "InetAddressV4" && address._tag !== "InetAddressV6") throw new Error("expected a TCP address")
  return {
    runtime,
    port: address.port,
    key,
    /** An access token for `userId`, signed with the server's key. */
    tokenFor: (userId: UserId) =>
      runtime.runPromise(Effect.flatMap(AccessTokens, (tokens) => Effect.map(tokens.issue(userId, randomUUID()), (issued) => issued.token))),
    sql: <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
      runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, f))
  }
}

export type InProcess = Awaited<ReturnType<typeof startInProcess>>

/** Rows per table of the public schema, except those listed. */
export const rowCounts = (app: InProcess, except: ReadonlyArray<string> = []) =>
  app.sql((sql) =>
    Effect.gen(function* () {
      // Every table the application's role can read (it can write no other: schema_migrations is the owner's).
      const tables = yield* sql<{ tablename: string }>`
        SELECT tablename FROM pg_tables
        WHERE schemaname = 'public' AND has_table_privilege(format('%I.%I', schemaname, tablename), 'SELECT')
        ORDER BY tablename`
      const counts: Record<string, number> = {}
      for (const { tablename } of tables) {
        if (except.includes(tablename)) continue
        const [row] = yield* sql<{ n: string }>`SELECT count(*) AS n FROM ${sql(tablename)}`
        counts[tablename] = Number(row?.n ?? 0)
      }
      return counts
    })
  )
