/**
 * The rules an audit event passes before any layer chains it: ids and codes must be well formed
 * (refusals name the field, never the value), network metadata is cleaned.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { cleanText, MAX_USER_AGENT_LENGTH, normalizeAuditEvent } from "../../src/services/audit.js"

const base = { action: "content.read", outcome: "success" } as const

describe("normalizeAuditEvent", () => {
  it("fills absent fields with null and lower-cases the user id and IPv6 addresses", () => {
    expect(
      normalizeAuditEvent({
        ...base,
        actorUserId: "6F1C2B1E-3C1A-4F6E-9A51-3D5B7F2C9E01",
        clientIp: "2001:DB8::1",
        requestId: "0f6c9a7e-61a2-4d0b-9f51-2a1c5e7d9b34"
      })
    ).toEqual(
      Result.succeed({
        actorUserId: "6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01",
        action: "content.read",
        resourceType: null,
        resourceId: null,
        outcome: "success",
        requestId: "0f6c9a7e-61a2-4d0b-9f51-2a1c5e7d9b34",
        traceId: null,
        clientIp: "2001:db8::1",
        userAgent: null,
        occurredAt: null
      })
    )
  })

  it("keeps IPv4, IPv6 and IPv4-mapped addresses; drops anything else", () => {
    const ip = (clientIp: string) => Result.map(normalizeAuditEvent({ ...base, clientIp }), (e) => e.clientIp)
    for (const kept of ["127.0.0.1", "255.255.255.255", "::1", "fe80::1", "::ffff:192.0.2.1", "2001:db8:85a3::8a2e:370:7334"]) {
      expect(ip(kept), kept).toEqual(Result.succeed(kept))
    }
    for (const dropped of ["256.1.1.1", "1.2.3", "localhost", "10.0.0.1, 10.0.0.2", "<script>", ""]) {
      expect(ip(dropped), dropped).toEqual(Result.succeed(null))
    }
  })

  it("refuses free text where an id belongs, naming the field and never echoing the value", () => {
    const refusals = [
      normalizeAuditEvent({ ...base, resourceId: "Glucose 5.4 mmol/L" }),
      normalizeAuditEvent({ ...base, traceId: "patient: Jane Roe" }),
      normalizeAuditEvent({ ...base, actorUserId: "jane@example.com" })
    ]
    expect(refusals.map((r) => Result.getFailure(r).pipe((o) => (o._tag === "Some" ? o.value : "accepted")))).toEqual([
      "audit event field resourceId is not an id",
      "audit event field traceId is not an id",
      "audit event field actorUserId is not a uuid"
    ])
  })

  it("refuses an action, outcome or resource type outside the vocabulary (untyped callers)", () => {
    expect(Result.isFailure(normalizeAuditEvent({ ...base, action: "lab.value" } as never))).toBe(true)
    expect(Result.isFailure(normalizeAuditEvent({ ...base, outcome: "maybe" } as never))).toBe(true)
    expect(Result.isFailure(normalizeAuditEvent({ ...base, resourceType: "diagnosis" } as never))).toBe(true)
  })
})

describe("cleanText", () => {
  it("removes control characters, replaces lone surrogates, trims, and cuts without splitting a pair", () => {
    expect(cleanText("  Mozilla\u0000/5.0\u001b[31m \u0085 ", 100)).toBe("Mozilla/5.0[31m")
    expect(cleanText("a\uDC00b\uD83D", 100)).toBe("a\uFFFDb\uFFFD")
    expect(cleanText("😀😀", 3)).toBe("😀")
    expect(cleanText("x".repeat(MAX_USER_AGENT_LENGTH + 1), MAX_USER_AGENT_LENGTH)).toHaveLength(MAX_USER_AGENT_LENGTH)
    expect(cleanText("\u0000 \t", 10)).toBeNull()
  })
})
