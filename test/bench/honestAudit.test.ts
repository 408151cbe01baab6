/**
 * The floor's audit writer (bench/baselines/honest/audit.ts) against our live Audit layer on a
 * real, migrated database: for the same timeline read both write the same audit_log row (every
 * column but those that are the row's own: id, seq, times and, through them, its MAC — which the
 * floor reproduces byte for byte when given ours' id and time), the request's personal data (client
 * IP, user agent) lands in audit_personal alike, and
 * our sealer seals the floor's rows into a trail our verify calls intact. A row MAC'd under
 * another key is caught, so that verdict can fail.
 */
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as fc from "fast-check"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import pg, { type Pool } from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadLocalAuditKey, makeHonestAudit } from "../../bench/baselines/honest/audit.js"
import { AppInfoConfig } from "../../src/config/app.js"
import { auditPostgresLayer } from "../../src/layers/audit/postgres.js"
import { makeFileCheckpoints } from "../../src/layers/auditCheckpoints/file.js"
import { AuditMacLocal } from "../../src/layers/auditMac/local.js"
import { Audit } from "../../src/services/audit.js"
import { AuditCheckpoints } from "../../src/services/auditCheckpoints.js"
import { testAuditSettings } from "../support/audit.js"
import { TestDatabase, TestDatabaseLive } from "../support/database.js"
import { testConfigProvider } from "../support/settings.js"

let dataDir = ""
let pool: Pool | undefined
let runtime: ManagedRuntime.ManagedRuntime<Audit | TestDatabase, unknown> | undefined
let honest: ReturnType<typeof makeHonestAudit> | undefined

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-honest-audit-"))
  // The floor creates the key file first; our layer must read the same key from it.
  honest = makeHonestAudit(await loadLocalAuditKey(dataDir))
  const keysAndCheckpoints = Layer.mergeAll(
    AuditMacLocal.pipe(Layer.provide(AppInfoConfig.layer), Layer.provide(testConfigProvider({ DATA_DIR: dataDir }))),
    Layer.succeed(AuditCheckpoints, makeFileCheckpoints(path.join(dataDir, "audit-checkpoints")))
  )
  runtime = ManagedRuntime.make(
    auditPostgresLayer(testAuditSettings()).pipe(Layer.provide(keysAndCheckpoints), Layer.provideMerge(TestDatabaseLive()))
  )
  const database = await runtime.runPromise(TestDatabase)
  // As the application's role, like the baseline process.
  pool = new pg.Pool({ connectionString: Redacted.value(database.url), max: 2 })
})

afterAll(async () => {
  await pool?.end()
  await runtime?.dispose()
  await fs.rm(dataDir, { recursive: true, force: true })
})

const ours = (effect: (audit: (typeof Audit)["Service"]) => Effect.Effect<unknown, unknown>) => runtime!.runPromise(Effect.flatMap(Audit, effect))

/** Every column of the row with this id, occurred_at also as the microsecond text ours MACs. */
const stored = async (id: string) => {
  const result = await pool!.query<Record<string, unknown>>(
    `SELECT a.*, to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_text,
            (SELECT count(*)::int FROM audit_personal p WHERE p.row_id = a.id) AS personal_rows
     FROM audit_log a WHERE a.id = $1::uuid`,
    [id]
  )
  expect(result.rows).toHaveLength(1)
  return result.rows[0]!
}

const latestId = async () =>
  (await pool!.query<{ id: string }>("SELECT id::text AS id FROM audit_log ORDER BY seq DESC LIMIT 1")).rows[0]!.id

/** What must be alike: everything but the row's own id, seq, times and MAC. */
const shared = (row: Record<string, unknown>) => {
  const { id: _id, seq: _seq, occurred_at: _at, inserted_at: _inserted, occurred_text: _text, row_mac: _mac, ...rest } = row
  return rest
}

interface Context {
  readonly requestId?: string
  readonly clientIp?: string
  readonly userAgent?: string
}

const timelineRead = (userId: string, context: Context) =>
  ({ actorUserId: userId, action: "content.list", resourceType: "content", outcome: "success", ...context }) as const

const personalOf = async (id: string) =>
  (await pool!.query("SELECT client_ip, user_agent FROM audit_personal WHERE row_id = $1::uuid", [id])).rows

/**
 * What a request can carry: any of request id, client address and user agent, or none. The floor
 * does not clean what it is given (ours strips control characters and trims): the user agents here
 * are printable ASCII without outer spaces, as autocannon's is.
 */
const contextArbitrary: fc.Arbitrary<Context> = fc.record(
  {
    requestId: fc.uuid(),
    clientIp: fc.oneof(fc.ipV4(), fc.constantFrom("::1", "fe80::1")),
    userAgent: fc.stringMatching(/^[!-~]([ -~]{0,60}[!-~])?$/)
  },
  { requiredKeys: [] }
)

let written = 0

describe("honest audit writer", () => {
  it("writes the row our Audit layer writes for the same timeline read", async () => {
    // Upper-case ids too: both store the pseudonym of the lower-case id.
    await fc.assert(
      fc.asyncProperty(fc.uuid(), fc.boolean(), contextArbitrary, async (id, upper, context) => {
        const user = upper ? id.toUpperCase() : id
        await ours((audit) => audit.record(timelineRead(user, context)))
        const oursRow = await stored(await latestId())
        const floor = await honest!.recordTimelineRead(pool!, user, context)
        const floorRow = await stored(floor.id)
        written += 2

        // personal_mac differs with the row id; whether there is one must not.
        const { personal_mac: floorPersonal, ...floorRest } = shared(floorRow)
        const { personal_mac: oursPersonal, ...oursRest } = shared(oursRow)
        expect(floorRest).toEqual(oursRest)
        expect(floorPersonal === null).toBe(oursPersonal === null)
        const hasPersonal = context.clientIp !== undefined || context.userAgent !== undefined
        expect(floorRow.personal_rows).toBe(hasPersonal ? 1 : 0)
        expect(await personalOf(floor.id)).toEqual(await personalOf(oursRow.id as string))
        expect(floorRow.actor_ref).toMatch(/^[0-9a-f]{64}$/)
        expect(floorRow.occurred_text).toBe(floor.occurredAt)
        expect(Buffer.from(floorRow.row_mac as Buffer)).toEqual(floor.rowMac)
        // Given ours' id and moment, the floor computes ours' MAC to the byte.
        const again = honest!.rowOf(user, oursRow.id as string, new Date(oursRow.occurred_at as Date), context)
        expect(again.occurredAt).toBe(oursRow.occurred_text)
        expect(again.personalMac).toBe(oursPersonal)
        expect(again.rowMac).toEqual(Buffer.from(oursRow.row_mac as Buffer))
      }),
      { numRuns: 20 }
    )
  })

  it("our sealer seals the floor's rows and our verify finds the trail intact", async () => {
    for (let i = 0; i < 5; i++) {
      await honest!.recordTimelineRead(pool!, fc.sample(fc.uuid(), 1)[0]!, { requestId: fc.sample(fc.uuid(), 1)[0]!, clientIp: "127.0.0.1", userAgent: "autocannon" })
    }
    written += 5
    expect(await ours((audit) => audit.seal)).toBe(written)
    expect(await ours((audit) => audit.verify)).toEqual({ ok: true, rows: written })
  })

  it("a row MAC'd under another key is named by verify (the verdict above can fail)", async () => {
    const forger = makeHonestAudit(randomBytes(32))
    const row = await forger.recordTimelineRead(pool!, "00000000-0000-4000-8000-000000000001")
    const { seq } = await stored(row.id)
    await ours((audit) => audit.seal)
    expect(await ours((audit) => audit.verify)).toEqual({ ok: false, rows: written + 1, firstBrokenSeq: Number(seq), reason: "hash_mismatch" })
  })

  it("refuses an actor that is not a uuid, as ours does", () => {
    expect(() => honest!.rowOf("not-a-uuid", "00000000-0000-4000-8000-000000000002", new Date())).toThrow()
  })
})
