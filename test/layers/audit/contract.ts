/**
 * The behaviour every Audit layer owes: memory and PostgreSQL each run this suite against a fresh
 * trail per test. `AuditHarness` is the attacker's access each layer grants the suite: read the
 * rows as stored, change a stored field behind the service's back (PostgreSQL: plain SQL with the
 * triggers off), remove a row.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, type Layer } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import { actorRefOf, type StoredAuditRow } from "../../../src/layers/audit/chain.js"
import {
  Audit,
  type AuditAction,
  type AuditEvent,
  MAX_USER_AGENT_LENGTH
} from "../../../src/services/audit.js"

export type AuditTamper = Partial<
  Pick<
    StoredAuditRow,
    | "id"
    | "occurredAt"
    | "actorUserId"
    | "actorRef"
    | "action"
    | "resourceType"
    | "resourceId"
    | "outcome"
    | "requestId"
    | "traceId"
    | "clientIp"
    | "userAgent"
    | "prevHash"
    | "hash"
  >
>

export class AuditHarness extends Context.Tag("test/AuditHarness")<
  AuditHarness,
  {
    /** Every row as stored, in seq order. */
    readonly rows: Effect.Effect<ReadonlyArray<StoredAuditRow>>
    readonly tamper: (seq: number, patch: AuditTamper) => Effect.Effect<void>
    readonly remove: (seq: number) => Effect.Effect<void>
  }
>() {}

const ACTIONS: ReadonlyArray<AuditAction> = [
  "auth.login",
  "document.upload",
  "job.read",
  "content.read",
  "chat.message",
  "account.export"
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

const USERS = [
  "6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01",
  "0b7d4c2a-8e3f-4a1b-b6c5-1e2f3a4b5c6d",
  "c3a9e8f7-d6b5-4c4a-93b2-a1f0e9d8c7b6"
]

const recordAll = (events: ReadonlyArray<AuditEvent>, concurrency: number | "unbounded" = 1) =>
  Effect.flatMap(Audit, (audit) => Effect.forEach(events, (event) => audit.record(event), { concurrency, discard: true }))

const verdict = Effect.flatMap(Audit, (audit) => audit.verify)

const other = (value: string | null, replacement: string) => (value === replacement ? `${replacement}-x` : replacement)

/** One change per stored field of `row`, each with the break it must cause. */
const tampers = (row: StoredAuditRow): ReadonlyArray<readonly [string, AuditTamper, string]> => [
  ["action", { action: row.action === "content.export" ? "content.read" : "content.export" }, "hash_mismatch"],
  ["outcome", { outcome: row.outcome === "success" ? "denied" : "success" }, "hash_mismatch"],
  ["occurredAt (+1 µs)", { occurredAt: row.occurredAt.replace(/\d{3}Z$/, "001Z") }, "hash_mismatch"],
  ["id", { id: randomUUID() }, "hash_mismatch"],
  ["resourceType", { resourceType: other(row.resourceType, "account") }, "hash_mismatch"],
  ["resourceId", { resourceId: other(row.resourceId, "someone-elses-job") }, "hash_mismatch"],
  ["requestId", { requestId: other(row.requestId, "req-forged") }, "hash_mismatch"],
  ["traceId", { traceId: null }, "hash_mismatch"],
  ["clientIp", { clientIp: other(row.clientIp, "198.51.100.7") }, "hash_mismatch"],
  ["userAgent", { userAgent: other(row.userAgent, "curl/8.5.0") }, "hash_mismatch"],
  ["actorRef", { actorRef: actorRefOf(randomUUID()) }, "hash_mismatch"],
  ["actorUserId", { actorUserId: randomUUID() }, "actor_mismatch"],
  ["hash", { hash: randomBytes(32) }, "hash_mismatch"],
  ["prevHash", { prevHash: randomBytes(32) }, "broken_link"]
]

/** The stored values of the fields a patch touches, to put them back. */
const original = (row: StoredAuditRow, patch: AuditTamper): AuditTamper =>
  Object.fromEntries(Object.keys(patch).map((key) => [key, row[key as keyof AuditTamper]]))

export const auditContract = <E>(name: string, makeLayer: () => Layer.Layer<Audit | AuditHarness, E>) => {
  const live = (label: string, body: () => Effect.Effect<void, unknown, Audit | AuditHarness>, timeout?: number) =>
    it.live(label, () => Effect.suspend(body).pipe(Effect.provide(makeLayer())), timeout)

  describe(`Audit contract: ${name}`, () => {
    live("an empty trail verifies with zero rows", () =>
      Effect.gen(function* () {
        expect(yield* verdict).toEqual({ ok: true, rows: 0 })
      }))

    live(
      "1,000 events recorded concurrently form one chain that verifies, without a fork",
      () =>
        Effect.gen(function* () {
          const harness = yield* AuditHarness
          const events = Array.from({ length: 1000 }, (_, i) =>
            i % 10 === 3 ? sampleEvent(i, { actorUserId: undefined, outcome: "failure" }) : sampleEvent(i)
          )
          const started = performance.now()
          yield* recordAll(events, 50)
          const written = performance.now()
          const result = yield* verdict
          const verified = performance.now()
          console.info(
            `[audit ${name}] 1000 concurrent records: ${(written - started).toFixed(0)} ms; verify: ${(verified - written).toFixed(0)} ms`
          )
          expect(result).toEqual({ ok: true, rows: 1000 })

          const rows = yield* harness.rows
          expect(rows).toHaveLength(1000)
          expect(rows[0]?.prevHash).toBeNull()
          for (let i = 1; i < rows.length; i++) {
            expect(rows[i]!.seq).toBeGreaterThan(rows[i - 1]!.seq)
            expect(Buffer.from(rows[i]!.prevHash!).equals(rows[i - 1]!.hash)).toBe(true)
          }
          // A fork would show as two rows naming the same predecessor.
          const predecessors = new Set(rows.map((row) => (row.prevHash === null ? "genesis" : Buffer.from(row.prevHash).toString("hex"))))
          expect(predecessors.size).toBe(1000)
          expect(new Set(rows.map((row) => Buffer.from(row.hash).toString("hex"))).size).toBe(1000)
          // Every event made it, each exactly once.
          expect(new Set(rows.map((row) => row.resourceId)).size).toBe(1000)
        }),
      60_000
    )

    live(
      "changing any stored field of the first, a middle or the last row is named at that row",
      () =>
        Effect.gen(function* () {
          const harness = yield* AuditHarness
          yield* recordAll(Array.from({ length: 30 }, (_, i) => sampleEvent(i)))
          const rows = yield* harness.rows
          for (const index of [0, 14, 29]) {
            const row = rows[index]!
            for (const [field, patch, reason] of tampers(row)) {
              yield* harness.tamper(row.seq, patch)
              const broken = yield* verdict
              expect(broken, `${field} of seq ${row.seq}`).toEqual({ ok: false, rows: index + 1, firstBrokenSeq: row.seq, reason })
              yield* harness.tamper(row.seq, original(row, patch))
              expect(yield* verdict, `${field} of seq ${row.seq} restored`).toEqual({ ok: true, rows: 30 })
            }
          }
        }),
      60_000
    )

    live("removing a row from the middle is named at the row after it", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 10 }, (_, i) => sampleEvent(i)))
        const rows = yield* harness.rows
        yield* harness.remove(rows[4]!.seq)
        expect(yield* verdict).toEqual({ ok: false, rows: 5, firstBrokenSeq: rows[5]!.seq, reason: "broken_link" })
      }))

    live("removing the first row is named at the new first row", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 3 }, (_, i) => sampleEvent(i)))
        const rows = yield* harness.rows
        yield* harness.remove(rows[0]!.seq)
        expect(yield* verdict).toEqual({ ok: false, rows: 1, firstBrokenSeq: rows[1]!.seq, reason: "broken_link" })
      }))

    live("known limit: cutting rows off the end leaves a shorter chain that still verifies", () =>
      Effect.gen(function* () {
        const harness = yield* AuditHarness
        yield* recordAll(Array.from({ length: 5 }, (_, i) => sampleEvent(i)))
        const rows = yield* harness.rows
        yield* harness.remove(rows[4]!.seq)
        // Only an anchor kept outside the database (the last hash) would show this.
        expect(yield* verdict).toEqual({ ok: true, rows: 4 })
      }))

    live("an event without an actor (a failed login) is chained with no actor reference", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const harness = yield* AuditHarness
        yield* audit.record({ action: "auth.login", outcome: "failure", clientIp: "198.51.100.23", userAgent: "okhttp/4.12" })
        const [row] = yield* harness.rows
        expect(row).toMatchObject({ actorUserId: null, actorRef: null, action: "auth.login", outcome: "failure", resourceType: null })
        expect(yield* verdict).toEqual({ ok: true, rows: 1 })
      }))

    live("pseudonymise erases the user id from that user's rows only; the chain still verifies", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const harness = yield* AuditHarness
        const [erased, kept] = [USERS[0]!, USERS[1]!]
        yield* recordAll([
          ...Array.from({ length: 5 }, (_, i) => sampleEvent(i, { actorUserId: erased })),
          ...Array.from({ length: 3 }, (_, i) => sampleEvent(i, { actorUserId: kept })),
          sampleEvent(9, { actorUserId: undefined })
        ])
        const before = yield* harness.rows

        expect(yield* audit.pseudonymise(erased.toUpperCase(), "erased-7f3a9c")).toBe(5)
        const after = yield* harness.rows
        expect(after.filter((row) => row.actorUserId === erased)).toEqual([])
        const pseudonymised = after.filter((row) => row.actorPseudonym === "erased-7f3a9c")
        expect(pseudonymised.map((row) => row.seq)).toEqual(before.slice(0, 5).map((row) => row.seq))
        for (const row of pseudonymised) {
          expect(row.actorUserId).toBeNull()
          expect(row.actorRef).toBe(actorRefOf(erased))
        }
        expect(after.filter((row) => row.actorUserId === kept)).toHaveLength(3)
        expect(after.slice(5)).toEqual(before.slice(5))
        // Nothing that is hashed changed.
        expect(after.map((row) => Buffer.from(row.hash).toString("hex"))).toEqual(
          before.map((row) => Buffer.from(row.hash).toString("hex"))
        )
        expect(yield* verdict).toEqual({ ok: true, rows: 9 })
        expect(yield* audit.pseudonymise(erased, "erased-7f3a9c")).toBe(0)
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
        const rows = yield* harness.rows
        expect(rows.map((row) => row.userAgent?.length)).toEqual([MAX_USER_AGENT_LENGTH, 9, MAX_USER_AGENT_LENGTH - 1, 16, undefined])
        expect(rows[0]!.userAgent).toBe(huge.slice(0, MAX_USER_AGENT_LENGTH))
        expect(rows[1]!.userAgent).toBe("bad agent")
        expect(rows[3]!.userAgent).toBe("lone \uFFFD surrogate")
        expect(rows[4]!.userAgent).toBeNull()
        expect(rows.map((row) => row.clientIp)).toEqual(["203.0.113.1", null, "2001:db8::1", "::ffff:192.0.2.1", "203.0.113.5"])
        // What was hashed is what was stored.
        expect(yield* verdict).toEqual({ ok: true, rows: 5 })
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
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause), JSON.stringify(event)).toBe(true)
          expect(JSON.stringify(exit)).not.toContain("Hemoglobin")
        }
        const pseudonymiseExit = yield* Effect.exit(audit.pseudonymise("not-a-uuid", "erased-1"))
        expect(Exit.isFailure(pseudonymiseExit)).toBe(true)
        expect(Exit.isFailure(yield* Effect.exit(audit.pseudonymise(USERS[0]!, "a pseudonym with spaces")))).toBe(true)
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
