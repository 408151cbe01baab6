/**
 * The behaviour every Audit layer owes: memory and PostgreSQL each run this suite against a fresh
 * trail per test. `AuditHarness` is the attacker's access each layer grants the suite — everything
 * but the key: read and change rows and seals as stored (PostgreSQL: plain SQL with the triggers
 * off), remove them, insert forged ones, and drop a forged checkpoint where checkpoints are kept.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, type Layer } from "effect"
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto"
import {
  ACTOR_KEY_LABEL,
  actorRefOf,
  legacyActorRefOf,
  type StoredAuditRow,
  type StoredSeal
} from "../../../src/layers/audit/chain.js"
import { testAuditMac } from "../../../src/layers/auditMac/memory.js"
import { Audit, type AuditAction, type AuditEvent, MAX_USER_AGENT_LENGTH } from "../../../src/services/audit.js"
import { type AuditCheckpoint, AuditCheckpoints } from "../../../src/services/auditCheckpoints.js"

export type AuditTamper = Partial<
  Pick<
    StoredAuditRow,
    | "epoch"
    | "occurredAt"
    | "actorRef"
    | "action"
    | "resourceType"
    | "resourceId"
    | "outcome"
    | "requestId"
    | "traceId"
    | "personalMac"
    | "rowMac"
  > & { readonly clientIp: string | null; readonly userAgent: string | null }
>

export class AuditHarness extends Context.Service<
  AuditHarness,
  {
    /** Every keyed row as stored, in seq order. */
    readonly rows: Effect.Effect<ReadonlyArray<StoredAuditRow>>
    /** Every seal, in position order. */
    readonly seals: Effect.Effect<ReadonlyArray<StoredSeal>>
    readonly tamper: (seq: number, patch: AuditTamper) => Effect.Effect<void>
    readonly removeRow: (seq: number) => Effect.Effect<void>
    readonly removeSeal: (position: number) => Effect.Effect<void>
    /** A row written straight into the store (its seq is the store's next). */
    readonly insertRow: (row: Omit<StoredAuditRow, "seq">) => Effect.Effect<void>
    readonly insertSeal: (seal: StoredSeal) => Effect.Effect<void>
  }
>()("test/AuditHarness") {}

const ACTIONS: ReadonlyArray<AuditAction> = ["auth.login", "document.upload", "job.read", "content.read", "chat.message", "account.export"]

export const USERS = [
  "6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01",
  "0b7d4c2a-8e3f-4a1b-b6c5-1e2f3a4b5c6d",
  "c3a9e8f7-d6b5-4c4a-93b2-a1f0e9d8c7b6"
]

/** A complete event (every field present), varied by `i`. */
export const sampleEvent = (i: number, overrides: Partial<AuditEvent> = {}): AuditEvent => ({
  actorUserId: USERS[i % USERS.length]!,
  action: ACTIONS[i % ACTIONS.length]!,
  resourceType: "job",
  resourceId: `8f14e45f-ceea-467f-a0e6-${String(i).padStart(12, "0")}`,
  outcome: i % 7 === 0 ? "denied" : "success",
  requestId: `req-${String(i).padStart(8, "0")}`,
  traceId: randomBytes(16).toString("hex"),
  clientIp: `203.0.113.${i % 250}`,
  userAgent: `Serenya/1.${i} (iPhone; iOS 17.4)`,
  ...overrides
})

const testActorKey = Effect.runSync(testAuditMac.derive(ACTOR_KEY_LABEL))

const recordAll = (events: ReadonlyArray<AuditEvent>, concurrency: number | "unbounded" = 1) =>
  Effect.flatMap(Audit, (audit) => Effect.forEach(events, (event) => audit.record(event), { concurrency, discard: true }))

const verdict = Effect.flatMap(Audit, (audit) => audit.verify)
const seal = Effect.flatMap(Audit, (audit) => audit.seal)

const other = (value: string | null, replacement: string) => (value === replacement ? `${replacement}-x` : replacement)

/** One change per stored field of `row`: each must show as hash_mismatch at that row. */
const tampers = (row: StoredAuditRow): ReadonlyArray<readonly [string, AuditTamper]> => [
  ["action", { action: row.action === "content.export" ? "content.read" : "content.export" }],
  ["outcome", { outcome: row.outcome === "success" ? "denied" : "success" }],
  ["occurredAt (+1 µs)", { occurredAt: row.occurredAt.replace(/\d{3}Z$/, "001Z") }],
  ["epoch", { epoch: row.epoch === "2026-01" ? "2026-02" : "2026-01" }],
  ["resourceType", { resourceType: other(row.resourceType, "document") }],
  ["resourceId", { resourceId: other(row.resourceId, "someone-elses-job") }],
  ["requestId", { requestId: other(row.requestId, "req-forged") }],
  ["traceId", { traceId: null }],
  ["actorRef (another user's pseudonym)", { actorRef: actorRefOf(testActorKey, randomUUID()) }],
  ["personalMac", { personalMac: createHash("sha256").update("x").digest("hex") }],
  ["clientIp", { clientIp: other(row.personal?.clientIp ?? null, "198.51.100.7") }],
  ["userAgent", { userAgent: other(row.personal?.userAgent ?? null, "curl/8.5.0") }],
  ["rowMac", { rowMac: randomBytes(32) }]
]

/** The stored values of the fields a patch touches, to put them back. */
const original = (row: StoredAuditRow, patch: AuditTamper): AuditTamper =>
  Object.fromEntries(
    Object.keys(patch).map((key) => [
      key,
      key === "clientIp" ? (row.personal?.clientIp ?? null) : key === "userAgent" ? (row.personal?.userAgent ?? null) : row[key as keyof StoredAuditRow]
    ])
  )

/** The review's recomputation: the row's "hash" as the old unkeyed chain would have it, sha256 of its fields. */
const plainHashOf = (row: Omit<StoredAuditRow, "rowMac" | "seq">) =>
  createHash("sha256")
    .update(JSON.stringify([row.id, row.epoch, row.occurredAt, row.actorRef, row.action, row.resourceType, row.resourceId, row.outcome, row.requestId, row.traceId, row.personalMac]))
    .digest()

export const auditContract = <E>(name: string, makeLayer: () => Layer.Layer<Audit | AuditHarness | AuditCheckpoints, E>) => {
  const live = (label: string, body: () => Effect.Effect<void, unknown, Audit | AuditHarness | AuditCheckpoints>, timeout?: number) =>
    it.live(label, () => Effect.suspend(body).pipe(Effect.provide(makeLayer())), timeout)

  describe(`Audit contract: ${name}`, () => {
    live("an empty trail verifies with zero rows", () =>
      Effect.gen(function* () {
        expect(yield* verdict).toEqual({ ok: true, rows: 0 })
        expect(yield* seal).toBe(0)
        expect(yield* verdict).toEqual({ ok: true, rows: 0 })
      }))

    live(
      "1,000 events recorded concurrently verify unsealed, then seal into one chain without a fork",
      () =>
        Effect.gen(function* () {
          const harness = yield* AuditHarness
          const events = Array.from({ length: 1000 }, (_, i) =>
            i % 10 === 3 ? sampleEvent(i, { actorUserId: undefined, outcome: "failure" }) : sampleEvent(i)
          )
          const started = performance.now()
          yield* recordAll(events, 50)
          const written = performance.now()
          expect(yield* verdict).toEqual({ ok: true, rows: 1000 })
          expect(yield* seal).toBe(1000)
          const sealed = performance.now()
          expect(yield* verdict).toEqual({ ok: true, rows: 1000 })
          console.info(
            `[audit ${name}] 1000 concurrent records: ${(written - started).toFixed(0)} ms; seal: ${(performance.now() - sealed).toFixed(0)} ms`
          )
          expect(yield* seal).toBe(0)

          const rows = yield* harness.rows
          const seals = yield* harness.seals
          expect(rows).toHaveLength(1000)
          expect(seals.map((s) => s.position)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
          expect(seals[0]!.prevMac).toBeNull()
          for (let i = 1; i < seals.length; i++) expect(Buffer.from(seals[i]!.prevMac!).equals(seals[i - 1]!.mac)).toBe(true)
          // Every row sealed exactly once, and every event made it exactly once.
          expect(new Set(seals.map((s) => s.rowId))).toEqual(new Set(rows.map((r) => r.id)))
          expect(new Set(rows.map((row) => row.resourceId)).size).toBe(1000)
        }),
      60_000
    )

    live(
      "changing any stored field of a sealed row (first, middle, last) or of an unsealed one is named at that row",
      () =>
        Effect.gen(function* () {
          const harness = yield* AuditHarness
          yield* recordAll(Array.from({ length: 30 }, (_, i) => sampleEvent(i)))
          yield* seal
          yield* recordAll([sampleEvent(30)])
          const rows = yield* harness.rows
          for (const index of [0, 14, 29, 30]) {
            const row = rows[index]!
            for (const [field, patch] of tampers(row)) {
              yield* harness.tamper(row.seq, patch)
              expect(yield* verdict, `${field} of seq ${row.seq}`).toEqual({ ok: false, rows: index + 1, firstBrokenSeq: row.seq, reason: "hash_mismatch" })
              yield* harness.tamper(row.seq, original(row, patch))
              expect(yield* verdict, `${field} of seq ${row.seq} restored`).toEqual({ ok: true, rows: 31 })
            }
          }
        }),
      120_000
    )

    live("the review's edit — change a row and recompute its plain sha256 hash — is named at that row", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 6 }, (_, i) => sampleEvent(i)))
        yield* seal
        const row = (yield* harness.rows)[3]!
        const edited = { ...row, outcome: "success", resourceId: "8f14e45f-ceea-467f-a0e6-999999999999" }
        yield* harness.tamper(row.seq, { outcome: edited.outcome, resourceId: edited.resourceId, rowMac: plainHashOf(edited) })
        expect(yield* verdict).toEqual({ ok: false, rows: 4, firstBrokenSeq: row.seq, reason: "hash_mismatch" })
      }))

    live("a forged row (no valid MAC) is named, whether the sealer has sealed it or not", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 4 }, (_, i) => sampleEvent(i)))
        yield* seal
        const template = (yield* harness.rows)[1]!
        const forged = { ...template, id: randomUUID(), resourceId: "8f14e45f-ceea-467f-a0e6-000000000777" }
        // What someone with only the database can compute: a plain hash, or an HMAC under a key of their own.
        yield* harness.insertRow({ ...forged, rowMac: createHmac("sha256", randomBytes(32)).update(forged.id).digest() })
        const forgedSeq = (yield* harness.rows).at(-1)!.seq
        expect(yield* verdict).toEqual({ ok: false, rows: 5, firstBrokenSeq: forgedSeq, reason: "hash_mismatch" })
        // The sealer seals whatever is committed; the seal does not make a forged row valid.
        expect(yield* seal).toBe(1)
        expect(yield* verdict).toEqual({ ok: false, rows: 5, firstBrokenSeq: forgedSeq, reason: "hash_mismatch" })

      }))

    live("a forged seal after an intact chain is named as a broken link at its row", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 3 }, (_, i) => sampleEvent(i)))
        yield* seal
        yield* recordAll([sampleEvent(3)])
        const head = (yield* harness.seals).at(-1)!
        const extra = (yield* harness.rows).at(-1)!
        yield* harness.insertSeal({ position: head.position + 1, rowId: extra.id, rowSeq: extra.seq, epoch: head.epoch, prevMac: head.mac, mac: randomBytes(32) })
        expect(yield* verdict).toEqual({ ok: false, rows: 4, firstBrokenSeq: extra.seq, reason: "broken_link" })
      }))

    live("a sealed row removed from the middle is named (missing_row); a seal removed is named at the next", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 10 }, (_, i) => sampleEvent(i)))
        yield* seal
        const rows = yield* harness.rows
        yield* harness.removeRow(rows[4]!.seq)
        expect(yield* verdict).toEqual({ ok: false, rows: 5, firstBrokenSeq: rows[4]!.seq, reason: "missing_row" })
      }))

    live("a seal removed from the middle breaks the link at the seal after it", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 10 }, (_, i) => sampleEvent(i)))
        yield* seal
        const seals = yield* harness.seals
        yield* harness.removeSeal(seals[4]!.position)
        // its row is unsealed now, but the chain breaks first
        expect(yield* verdict).toEqual({ ok: false, rows: 5, firstBrokenSeq: seals[5]!.rowSeq, reason: "broken_link" })
      }))

    live("deleting the tail — rows and their seals — back past the last checkpoint is named: truncated", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 8 }, (_, i) => sampleEvent(i)))
        yield* seal
        const checkpoint = yield* Effect.flatMap(AuditCheckpoints, (c) => c.latest)
        const seals = yield* harness.seals
        expect(checkpoint).toMatchObject({ _tag: "Some", value: { position: 8, seq: seals[7]!.rowSeq } })
        for (const s of seals.slice(5).reverse()) {
          yield* harness.removeSeal(s.position)
          yield* harness.removeRow(s.rowSeq)
        }
        expect(yield* verdict).toEqual({ ok: false, rows: 5, firstBrokenSeq: seals[7]!.rowSeq, reason: "truncated" })
      }))

    live("deleting only the last seals (the rows left unsealed) is named: truncated", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 4 }, (_, i) => sampleEvent(i)))
        yield* seal
        const seals = yield* harness.seals
        yield* harness.removeSeal(seals[3]!.position)
        expect(yield* verdict).toEqual({ ok: false, rows: 3, firstBrokenSeq: seals[3]!.rowSeq, reason: "truncated" })
      }))

    live("a forged checkpoint is named: bad_checkpoint", () =>
      Effect.gen(function* () {
        const checkpoints = yield* AuditCheckpoints
        yield* recordAll(Array.from({ length: 3 }, (_, i) => sampleEvent(i)))
        yield* seal
        const latest = yield* checkpoints.latest
        if (latest._tag === "None") return expect.unreachable("no checkpoint after sealing")
        const forged: AuditCheckpoint = { ...latest.value, position: latest.value.position + 50, mac: createHash("sha256").update("x").digest("hex") }
        yield* checkpoints.write(forged)
        expect(yield* verdict).toEqual({ ok: false, rows: 3, firstBrokenSeq: forged.seq, reason: "bad_checkpoint" })
      }))

    live("known limit: a row deleted before it was sealed leaves no trace", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 3 }, (_, i) => sampleEvent(i)))
        yield* seal
        yield* recordAll([sampleEvent(3)])
        yield* harness.removeRow((yield* harness.rows).at(-1)!.seq)
        // Only sealing sooner narrows this window (AUDIT_SEAL_INTERVAL_MS).
        expect(yield* verdict).toEqual({ ok: true, rows: 3 })
      }))

    live("the actor and user/account resources are stored as a keyed pseudonym, never the id", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const harness = yield* AuditHarness
        const user = USERS[0]!
        yield* audit.record({ actorUserId: user.toUpperCase(), action: "account.read", resourceType: "account", resourceId: user, outcome: "success" })
        yield* audit.record({ action: "auth.login", outcome: "denied", resourceType: "user", resourceId: user.toUpperCase() })
        yield* audit.record({ action: "auth.login", outcome: "failure", clientIp: "198.51.100.23", userAgent: "okhttp/4.12" })
        const rows = yield* harness.rows
        const pseudonym = actorRefOf(testActorKey, user)
        expect(rows.map((r) => [r.actorRef, r.resourceId])).toEqual([
          [pseudonym, pseudonym],
          [null, pseudonym],
          [null, null]
        ])
        // Not recomputable from the id without the key: neither the old unkeyed reference nor an HMAC under another key.
        expect(pseudonym).not.toBe(legacyActorRefOf(user))
        expect(pseudonym).not.toBe(createHash("sha256").update(user).digest("hex"))
        expect(pseudonym).not.toBe(createHmac("sha256", randomBytes(32)).update(`user:${user}`).digest("hex"))
        const text = JSON.stringify(rows).toLowerCase()
        expect(text).not.toContain(user)
        expect(yield* verdict).toEqual({ ok: true, rows: 3 })
      }))

    live("erase deletes the IPs and user agents of the user's events only, counts them, and the trail still verifies", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const harness = yield* AuditHarness
        const [erased, kept] = [USERS[0]!, USERS[1]!]
        yield* recordAll([
          ...Array.from({ length: 4 }, (_, i) => sampleEvent(i, { actorUserId: erased })),
          sampleEvent(4, { actorUserId: undefined, resourceType: "account", resourceId: erased }),
          ...Array.from({ length: 3 }, (_, i) => sampleEvent(i, { actorUserId: kept })),
          sampleEvent(9, { actorUserId: undefined })
        ])
        yield* seal
        const before = yield* harness.rows
        expect(yield* audit.erase(erased.toUpperCase())).toBe(5)
        const after = yield* harness.rows
        expect(after.slice(0, 5).map((r) => r.personal)).toEqual([null, null, null, null, null])
        expect(after.slice(5)).toEqual(before.slice(5))
        expect(after.map((r) => ({ ...r, personal: null }))).toEqual(before.map((r) => ({ ...r, personal: null })))
        expect(yield* verdict).toEqual({ ok: true, rows: 9 })
        expect(yield* audit.erase(erased)).toBe(5)
        expect(yield* harness.rows).toEqual(after)
      }))

    live("the user agent is cleaned and cut to MAX_USER_AGENT_LENGTH; a client IP that is not one is dropped", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const harness = yield* AuditHarness
        const huge = `Mozilla/5.0 ${"x".repeat(10_000)}`
        yield* audit.record(sampleEvent(1, { userAgent: huge }))
        yield* audit.record(sampleEvent(2, { userAgent: "\u0000bad\u0007 agent\r\n", clientIp: "not-an-ip; DROP TABLE" }))
        yield* audit.record(sampleEvent(3, { userAgent: `${"a".repeat(MAX_USER_AGENT_LENGTH - 1)}😀`, clientIp: "2001:DB8::1" }))
        yield* audit.record(sampleEvent(4, { userAgent: "lone \uD800 surrogate", clientIp: "::ffff:192.0.2.1" }))
        yield* audit.record(sampleEvent(5, { userAgent: "\u0000\u0001 " }))
        yield* audit.record(sampleEvent(6, { userAgent: undefined, clientIp: undefined }))
        const rows = yield* harness.rows
        const agents = rows.map((row) => row.personal?.userAgent)
        expect(agents.map((a) => a?.length)).toEqual([MAX_USER_AGENT_LENGTH, 9, MAX_USER_AGENT_LENGTH - 1, 16, undefined, undefined])
        expect(agents[0]).toBe(huge.slice(0, MAX_USER_AGENT_LENGTH))
        expect(agents[1]).toBe("bad agent")
        expect(agents[3]).toBe("lone \uFFFD surrogate")
        expect(rows[4]!.personal).toEqual({ clientIp: "203.0.113.5", userAgent: null })
        expect(rows[5]!.personal).toBeNull()
        expect(rows[5]!.personalMac).toBeNull()
        expect(rows.map((row) => row.personal?.clientIp ?? null)).toEqual(["203.0.113.1", null, "2001:db8::1", "::ffff:192.0.2.1", "203.0.113.5", null])
        // What was MAC'd is what was stored.
        expect(yield* verdict).toEqual({ ok: true, rows: 6 })
      }))

    live("an id or code field carrying text is refused as a defect before anything is stored", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const refused: ReadonlyArray<AuditEvent> = [
          sampleEvent(1, { resourceId: "Hemoglobin 11.2 g/dL" }),
          sampleEvent(1, { resourceId: "x".repeat(129) }),
          sampleEvent(1, { requestId: "" }),
          sampleEvent(1, { traceId: "trace id with spaces" }),
          sampleEvent(1, { actorUserId: "jane@example.com" }),
          sampleEvent(1, { occurredAt: new Date(Number.NaN) })
        ]
        for (const event of refused) {
          const exit = yield* Effect.exit(audit.record(event))
          expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause), JSON.stringify(event)).toBe(true)
          expect(JSON.stringify(exit)).not.toContain("Hemoglobin")
        }
        const eraseExit = yield* Effect.exit(audit.erase("not-a-uuid"))
        expect(Exit.isFailure(eraseExit) && Cause.hasDies(eraseExit.cause)).toBe(true)
        expect(yield* verdict).toEqual({ ok: true, rows: 0 })
      }))

    live("occurredAt is stored to the millisecond as given, or taken from the Clock", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const harness = yield* AuditHarness
        yield* audit.record(sampleEvent(1, { occurredAt: new Date("2024-02-29T23:59:59.999Z") }))
        const before = Date.now()
        yield* audit.record(sampleEvent(2))
        const after = Date.now()
        const rows = yield* harness.rows
        expect(rows[0]!.occurredAt).toBe("2024-02-29T23:59:59.999000Z")
        const stamped = Date.parse(`${rows[1]!.occurredAt.slice(0, 23)}Z`)
        expect(stamped).toBeGreaterThanOrEqual(before)
        expect(stamped).toBeLessThanOrEqual(after)
        expect(yield* verdict).toEqual({ ok: true, rows: 2 })
      }))
  })
}
