/**
 * The in-memory layer against the shared contract (its Ref is the attacker's way in), plus the
 * service's own vocabulary: the error's classification and the time taken from the Clock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { makeAuditMemory } from "../../../src/layers/audit/memory.js"
import { Audit, AuditUnavailable } from "../../../src/services/audit.js"
import { errorInfo, isTransient, retryAfterSeconds } from "../../../src/services/errors.js"
import type { StoredAuditRow } from "../../../src/layers/audit/chain.js"
import { AuditCheckpoints } from "../../../src/services/auditCheckpoints.js"
import { AuditHarness, type AuditTamper, auditContract } from "./contract.js"

const patched = (row: StoredAuditRow, patch: AuditTamper): StoredAuditRow => {
  const { clientIp, userAgent, ...fields } = patch
  const personal =
    clientIp === undefined && userAgent === undefined
      ? row.personal
      : { clientIp: clientIp === undefined ? (row.personal?.clientIp ?? null) : clientIp, userAgent: userAgent === undefined ? (row.personal?.userAgent ?? null) : userAgent }
  return { ...row, ...fields, personal }
}

const AuditMemoryWithHarness = Layer.effectContext(
  Effect.map(makeAuditMemory, ({ audit, rows, seals, checkpointStore }) =>
    Context.make(Audit, audit).pipe(
      Context.add(AuditCheckpoints, checkpointStore),
      Context.add(AuditHarness, {
        rows: Ref.get(rows),
        seals: Ref.get(seals),
        tamper: (seq, patch) => Ref.update(rows, (stored) => stored.map((row) => (row.seq === seq ? patched(row, patch) : row))),
        removeRow: (seq) => Ref.update(rows, (stored) => stored.filter((row) => row.seq !== seq)),
        removeSeal: (position) => Ref.update(seals, (stored) => stored.filter((s) => s.position !== position)),
        insertRow: (row) => Ref.update(rows, (stored) => [...stored, { ...row, seq: (stored.at(-1)?.seq ?? 0) + 1 }]),
        insertSeal: (seal) => Ref.update(seals, (stored) => [...stored, seal])
      })
    )
  )
)

auditContract("memory", () => AuditMemoryWithHarness)

describe("Audit memory layer", () => {
  it.effect("takes occurredAt from the Clock (TestClock here)", () =>
    Effect.gen(function* () {
      const { audit, rows } = yield* makeAuditMemory
      yield* TestClock.setTime(Date.parse("2026-03-01T08:15:30.123Z"))
      yield* audit.record({ action: "auth.refresh", outcome: "success", actorUserId: "6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01" })
      const [row] = yield* Ref.get(rows)
      expect(row?.occurredAt).toBe("2026-03-01T08:15:30.123000Z")
      expect(row?.seq).toBe(1)
    })
  )
})

describe("AuditUnavailable", () => {
  it("is technical, retried, 503 with Retry-After 5", () => {
    const error = new AuditUnavailable({ message: "The audit trail could not be written" })
    expect(errorInfo(error)).toEqual({ code: "AUDIT_UNAVAILABLE", category: "technical", recovery: "retry", status: 503 })
    expect(isTransient(error)).toBe(true)
    expect(retryAfterSeconds(error)).toBe(5)
  })
})
