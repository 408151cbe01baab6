/**
 * Smoke test of the bench harness (bench/): a small seeded dataset, our server and both baselines
 * (node:http, Fastify) answer GET /content/timeline with the same items (same SQL, same
 * decryption), one short autocannon run works, the chart renders, and the audit rows all of them
 * wrote (the baselines' by hand, bench/baselines/honest/audit.ts) seal and verify as one intact
 * trail under our Audit layer. ≈ 20 s.
 */
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { measure, serve, type Served } from "../../bench/api.js"
import { type BenchEnvironment, seed, type SeededUser, startEnvironment } from "../../bench/environment.js"
import { svgChart } from "../../bench/report.js"
import { configLayer } from "../../src/config.js"
import { auditPostgresLayer } from "../../src/layers/audit/postgres.js"
import { AuditCheckpointsFile } from "../../src/layers/auditCheckpoints/file.js"
import { AuditMacLocal } from "../../src/layers/auditMac/local.js"
import { pgClientLayer } from "../../src/layers/database/postgres.js"
import { Audit } from "../../src/services/audit.js"
import { SqlClient } from "../../src/services/database.js"
import { testAuditSettings } from "../support/audit.js"

let environment: BenchEnvironment | undefined
let users: ReadonlyArray<SeededUser> = []
const served: Array<Served> = []

beforeAll(async () => {
  environment = await startEnvironment()
  users = (await seed(environment, 3, 4)).users
}, 60_000)

afterAll(async () => {
  for (const s of served) await s.stop()
  await environment?.close()
}, 60_000)

const timelineOf = async (port: number, user: SeededUser) => {
  const response = await fetch(`http://127.0.0.1:${port}/content/timeline`, { headers: { authorization: `Bearer ${user.token}` } })
  expect(response.status).toBe(200)
  return (await response.json()) as { items: Array<Record<string, unknown>>; total: number }
}

describe("bench harness", () => {
  it("ours and both baselines serve the same timeline; autocannon measures; the chart renders; the trail verifies", async () => {
    const ours = await serve("serenya", environment!.env)
    served.push(ours)
    const plain = await serve("node:http", environment!.env)
    served.push(plain)
    const user = users[1]!
    const fastify = await serve("fastify", environment!.env)
    served.push(fastify)
    const [a, b, c] = [await timelineOf(ours.port, user), await timelineOf(plain.port, user), await timelineOf(fastify.port, user)]
    expect(a.total).toBe(4)
    expect(a.items).toHaveLength(4)
    expect(b.items).toEqual(a.items)
    expect(c.items).toEqual(a.items)
    expect([b.total, c.total]).toEqual([4, 4])

    const m = await measure(plain, "GET /content/timeline", users, 2, 1)
    expect(m.requests).toBeGreaterThan(0)
    expect(m.non2xx + m.errors + m.timeouts).toBe(0)
    expect(m.peakRssMb).toBeGreaterThan(0)
    expect(svgChart([m], "smoke")).toMatch(/^<svg[\s\S]*<\/svg>$/)

    // The servers' audit key (DATA_DIR/keys) and database, our sealer and verify run from here.
    const audit = ManagedRuntime.make(
      Layer.merge(
        auditPostgresLayer(testAuditSettings()).pipe(Layer.provide(Layer.merge(AuditMacLocal, AuditCheckpointsFile))),
        Layer.effect(SqlClient.SqlClient, SqlClient.SqlClient)
      ).pipe(
        Layer.provideMerge(pgClientLayer(Redacted.make(environment!.databaseUrl), environment!.settings.database)),
        Layer.provide(configLayer(environment!.settings))
      )
    )
    try {
      const counted = await audit.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ rows: number }>`SELECT count(*)::int AS rows FROM audit_log WHERE action = 'content.list'`)
      )
      const rows = counted[0]!.rows
      // The first three reads (ours, node:http, Fastify, one each, the same user) record the request alike.
      const shapes = await audit.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<Record<string, unknown>>`
          SELECT a.actor_ref, a.request_id IS NOT NULL AS request_id, a.trace_id IS NOT NULL AS trace_id,
                 a.personal_mac IS NOT NULL AS personal_mac, p.client_ip, p.user_agent
          FROM audit_log a LEFT JOIN audit_personal p ON p.row_id = a.id
          WHERE a.action = 'content.list' ORDER BY a.seq LIMIT 3`)
      )
      expect(shapes).toHaveLength(3)
      expect(shapes[0]).toMatchObject({ requestId: true, traceId: false, personalMac: true, clientIp: "127.0.0.1", userAgent: "node" })
      expect(shapes[1]).toEqual(shapes[0])
      expect(shapes[2]).toEqual(shapes[0])
      // Ours' read, the baseline's read, and every request autocannon made of the baseline.
      expect(rows).toBeGreaterThanOrEqual(2 + m.requests)
      await audit.runPromise(Effect.flatMap(Audit, (a) => a.seal))
      const verdict = await audit.runPromise(Effect.flatMap(Audit, (a) => a.verify))
      expect(verdict).toEqual({ ok: true, rows: expect.any(Number) })
      expect(verdict.rows).toBeGreaterThanOrEqual(rows)
    } finally {
      await audit.dispose()
    }
  }, 60_000)
})
