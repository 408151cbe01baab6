/**
 * The keyed encodings every Audit layer shares. A row's MAC changes with any field (whatever
 * separators, quotes or unicode its strings hold) and cannot be made without the key; the
 * pseudonym is keyed; the golden vectors pin the formats, since changing one would break every
 * trail already stored (the unkeyed v1 chain's vector included: old rows are still checked by it).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createHash, createHmac } from "node:crypto"
import {
  actorRefOf,
  type ChainRow,
  checkpointMac,
  formatOccurredAt,
  isValidEpoch,
  legacyActorRefOf,
  legacyChainHash,
  personalMacOf,
  rowBreak,
  rowMac,
  sealMac
} from "../../../src/layers/audit/chain.js"
import { CHECKPOINT_VERSION } from "../../../src/services/auditCheckpoints.js"

const KEY = Buffer.alloc(32, 11)
const OTHER_KEY = Buffer.alloc(32, 12)
const USER = "6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01"

const GOLDEN_ROW: ChainRow = {
  id: "00000000-0000-4000-8000-000000000001",
  epoch: "2026-03",
  occurredAt: "2026-03-01T08:15:30.123000Z",
  actorRef: actorRefOf(KEY, USER),
  action: "document.upload",
  resourceType: "job",
  resourceId: "8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9",
  outcome: "success",
  requestId: "req-00000001",
  traceId: null,
  personalMac: personalMacOf(KEY, "00000000-0000-4000-8000-000000000001", { clientIp: "203.0.113.9", userAgent: 'Serenya/1.0 "iOS"' })
}

/** Strings built to collide if the encoding were naive: separators, quotes, escapes, "null", unicode, lone surrogates. */
const tricky = fc.oneof(
  fc.constantFrom("", "null", '"', '","', "\\", '\\"', "[", "]", ",", ",null,", "\u0000", "\u2028", "é", "e\u0301", "\uD800", "\uDC00", "😀"),
  fc.string({ unit: fc.constantFrom('"', ",", "\\", "[", "]", "n", "u", "l", ":", "\uD800", "\uDC00", "a", "\u0000", "😀") }),
  fc.string({ unit: "binary", maxLength: 12 })
)
const nullable = fc.option(tricky, { nil: null })

const chainRow: fc.Arbitrary<ChainRow> = fc.record({
  id: tricky,
  epoch: tricky,
  occurredAt: tricky,
  actorRef: nullable,
  action: tricky,
  resourceType: nullable,
  resourceId: nullable,
  outcome: tricky,
  requestId: nullable,
  traceId: nullable,
  personalMac: nullable
})

const FIELDS = Object.keys(GOLDEN_ROW) as ReadonlyArray<keyof ChainRow>
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

describe("rowMac", () => {
  it("is the golden HMAC of the row under the chain key", () => {
    expect(hex(rowMac(KEY, GOLDEN_ROW))).toBe(GOLDEN_ROW_MAC)
    expect(GOLDEN_ROW.actorRef).toBe(GOLDEN_ACTOR_REF)
  })

  it("changes with any one field (generated rows with tricky strings), and is checked by rowBreak", () => {
    fc.assert(
      fc.property(chainRow, fc.constantFrom(...FIELDS), nullable, (row, field, value) => {
        fc.pre(row[field] !== value && !(value === null && (field === "id" || field === "epoch" || field === "occurredAt" || field === "action" || field === "outcome")))
        const changed = { ...row, [field]: value }
        expect(rowMac(KEY, changed).equals(rowMac(KEY, row))).toBe(false)
        const stored = { ...row, seq: 1, rowMac: rowMac(KEY, row), personal: null }
        expect(rowBreak(KEY, stored)).toBeUndefined()
        expect(rowBreak(KEY, { ...stored, [field]: value })).toBe("hash_mismatch")
      }),
      { numRuns: 1000 }
    )
  })

  it("cannot be made without the key: a plain hash or an HMAC under another key is refused", () => {
    fc.assert(
      fc.property(chainRow, (row) => {
        const stored = { ...row, seq: 1, personal: null }
        expect(rowBreak(KEY, { ...stored, rowMac: createHash("sha256").update(JSON.stringify(row)).digest() })).toBe("hash_mismatch")
        expect(rowBreak(KEY, { ...stored, rowMac: rowMac(OTHER_KEY, row) })).toBe("hash_mismatch")
        expect(rowBreak(undefined, { ...stored, rowMac: rowMac(KEY, row) })).toBe("hash_mismatch")
      }),
      { numRuns: 300 }
    )
  })

  it("personal data present is checked against personalMac", () => {
    const stored = { ...GOLDEN_ROW, seq: 1, rowMac: rowMac(KEY, GOLDEN_ROW), personal: { clientIp: "203.0.113.9", userAgent: 'Serenya/1.0 "iOS"' } }
    expect(rowBreak(KEY, stored)).toBeUndefined()
    expect(rowBreak(KEY, { ...stored, personal: { clientIp: "198.51.100.1", userAgent: 'Serenya/1.0 "iOS"' } })).toBe("hash_mismatch")
    // erased: nothing left to check, the row still holds
    expect(rowBreak(KEY, { ...stored, personal: null })).toBeUndefined()
  })
})

describe("the keyed pseudonym", () => {
  it("is HMAC(actor key, 'user:' + lower-case id): case-blind, and not recomputable from the id without the key", () => {
    fc.assert(
      fc.property(fc.uuid(), (id) => {
        const ref = actorRefOf(KEY, id)
        expect(ref).toMatch(/^[0-9a-f]{64}$/)
        expect(actorRefOf(KEY, id.toUpperCase())).toBe(ref)
        expect(ref).toBe(createHmac("sha256", KEY).update(`user:${id.toLowerCase()}`).digest("hex"))
        expect(actorRefOf(OTHER_KEY, id)).not.toBe(ref)
        // the old reference anyone could compute
        expect(legacyActorRefOf(id)).not.toBe(ref)
        expect(createHash("sha256").update(`user:${id.toLowerCase()}`).digest("hex")).not.toBe(ref)
      }),
      { numRuns: 300 }
    )
  })
})

describe("seals, checkpoints and epochs", () => {
  it("a seal's MAC binds its link, position, row and seq", () => {
    const mac = sealMac(KEY, null, { position: 1, rowId: GOLDEN_ROW.id, rowSeq: 7 }, rowMac(KEY, GOLDEN_ROW))
    for (const changed of [
      sealMac(KEY, Buffer.alloc(32, 1), { position: 1, rowId: GOLDEN_ROW.id, rowSeq: 7 }, rowMac(KEY, GOLDEN_ROW)),
      sealMac(KEY, null, { position: 2, rowId: GOLDEN_ROW.id, rowSeq: 7 }, rowMac(KEY, GOLDEN_ROW)),
      sealMac(KEY, null, { position: 1, rowId: GOLDEN_ROW.id, rowSeq: 8 }, rowMac(KEY, GOLDEN_ROW)),
      sealMac(OTHER_KEY, null, { position: 1, rowId: GOLDEN_ROW.id, rowSeq: 7 }, rowMac(KEY, GOLDEN_ROW))
    ]) {
      expect(changed.equals(mac)).toBe(false)
    }
    const checkpoint = { version: CHECKPOINT_VERSION, position: 1, seq: 7, head: hex(mac), epoch: "2026-03", at: "2026-03-01T00:00:00.000Z" } as const
    expect(checkpointMac(KEY, checkpoint)).not.toBe(checkpointMac(KEY, { ...checkpoint, position: 2 }))
  })

  it("only real months up to next month are epochs (no key is derived for anything else)", () => {
    const now = new Date("2026-12-06T00:00:00Z")
    for (const good of ["1970-01", "2026-12", "2027-01"]) expect(isValidEpoch(good, now), good).toBe(true)
    for (const bad of ["2027-02", "1969-12", "2026-13", "2026-00", "2026-1", "x", "2026-12 ", "../../x"]) expect(isValidEpoch(bad, now), bad).toBe(false)
  })

  it("occurredAt keeps the microsecond precision PostgreSQL stores", () => {
    expect(formatOccurredAt(new Date("2024-02-29T23:59:59.999Z"))).toBe("2024-02-29T23:59:59.999000Z")
  })
})

describe("the unkeyed v1 chain (rows from before migration 0008)", () => {
  it("still hashes to its golden vector", () => {
    const row = {
      seq: 1,
      id: "00000000-0000-4000-8000-000000000001",
      occurredAt: "2026-03-01T08:15:30.123000Z",
      actorRef: legacyActorRefOf(USER),
      action: "document.upload",
      resourceType: "job",
      resourceId: "8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9",
      outcome: "success",
      requestId: "req-00000001",
      traceId: null,
      clientIp: "203.0.113.9",
      userAgent: 'Serenya/1.0 "iOS"'
    }
    expect(hex(legacyChainHash(null, row))).toBe("3c0be60d5cb23cc9817d448b1e6f98fedd11472cdc6effd721711ae285d3496a")
  })
})

const GOLDEN_ROW_MAC = "0bd8912d9e327d2e419a1e57b09456b143343683dda13bb8a84de92efac80194"
const GOLDEN_ACTOR_REF = "22d922975ded481fb12b0fd4437253dd9d03ce0fc44b27425825c1940c5b9ff4"
