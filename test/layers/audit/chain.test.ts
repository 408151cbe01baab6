/**
 * The canonical encoding and hash every Audit layer shares. Injective (no two distinct rows
 * encode alike, whatever separators, quotes or unicode their strings hold) and deterministic; the
 * golden vector pins the format, since changing it would break every chain already stored.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import {
  actorRefOf,
  canonicalRow,
  chainHash,
  type ChainRow,
  formatOccurredAt,
  makeChainVerifier,
  type StoredAuditRow
} from "../../../src/layers/audit/chain.js"

const GOLDEN_ROW: ChainRow = {
  seq: 1,
  id: "00000000-0000-4000-8000-000000000001",
  occurredAt: "2026-03-01T08:15:30.123000Z",
  actorRef: actorRefOf("6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01"),
  action: "document.upload",
  resourceType: "job",
  resourceId: "8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9",
  outcome: "success",
  requestId: "req-00000001",
  traceId: null,
  clientIp: "203.0.113.9",
  userAgent: 'Serenya/1.0 "iOS"'
}

/** Strings built to collide if the encoding were naive: separators, quotes, escapes, "null", unicode, lone surrogates. */
const tricky = fc.oneof(
  fc.constantFrom("", "null", '"', '","', "\\", '\\"', "[", "]", ",", ",null,", "\u0000", "\u2028", "é", "e\u0301", "\uD800", "\uDC00", "😀"),
  fc.string({ unit: fc.constantFrom('"', ",", "\\", "[", "]", "n", "u", "l", ":", "\uD800", "\uDC00", "a", "\u0000", "😀") }),
  fc.string({ unit: "binary", maxLength: 12 })
)
const nullable = fc.option(tricky, { nil: null })

const chainRow: fc.Arbitrary<ChainRow> = fc.record({
  seq: fc.integer({ min: 1, max: 2 ** 40 }),
  id: tricky,
  occurredAt: tricky,
  actorRef: nullable,
  action: tricky,
  resourceType: nullable,
  resourceId: nullable,
  outcome: tricky,
  requestId: nullable,
  traceId: nullable,
  clientIp: nullable,
  userAgent: nullable
})

const FIELDS = Object.keys(GOLDEN_ROW) as ReadonlyArray<keyof ChainRow>
const STRING_FIELDS = FIELDS.filter((field) => field !== "seq")

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

describe("canonicalRow", () => {
  it("is the golden JSON array: version, then the fields in a fixed order, null for absent", () => {
    expect(canonicalRow(GOLDEN_ROW).toString("utf8")).toBe(
      '["serenya.audit.v1",1,"00000000-0000-4000-8000-000000000001","2026-03-01T08:15:30.123000Z",' +
        '"03e6afac2bab7e65dc344930a930de1e06e00fa62715d04b41db93ee361a94fa","document.upload","job",' +
        '"8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9","success","req-00000001",null,"203.0.113.9","Serenya/1.0 \\"iOS\\""]'
    )
  })

  it("distinct rows never encode alike (generated rows with tricky strings)", () => {
    fc.assert(
      fc.property(chainRow, chainRow, (a, b) => {
        const same = FIELDS.every((field) => Object.is(a[field], b[field]))
        expect(canonicalRow(a).equals(canonicalRow(b))).toBe(same)
      }),
      { numRuns: 2000 }
    )
  })

  it("decodes back to the row it came from, so it is injective by construction", () => {
    fc.assert(
      fc.property(chainRow, (row) => {
        const decoded: unknown = JSON.parse(canonicalRow(row).toString("utf8"))
        expect(decoded).toEqual(["serenya.audit.v1", ...FIELDS.map((field) => row[field])])
      }),
      { numRuns: 2000 }
    )
  })

  it("changing one field always changes the encoding", () => {
    fc.assert(
      fc.property(chainRow, fc.constantFrom(...STRING_FIELDS), nullable, (row, field, value) => {
        fc.pre(row[field] !== value)
        expect(canonicalRow({ ...row, [field]: value }).equals(canonicalRow(row))).toBe(false)
      }),
      { numRuns: 2000 }
    )
  })

  it("moving text across a field boundary changes the encoding (no separator can be forged)", () => {
    fc.assert(
      fc.property(chainRow, tricky, fc.nat(), fc.nat(), (row, text, i, j) => {
        const [a, b] = [i % (text.length + 1), j % (text.length + 1)]
        fc.pre(a !== b)
        const split = (at: number) => canonicalRow({ ...row, resourceType: text.slice(0, at), resourceId: text.slice(at) })
        expect(split(a).equals(split(b))).toBe(false)
      })
    )
  })

  it("null, the empty string and the string \"null\" are three different values", () => {
    const encodings = [null, "", "null"].map((userAgent) => hex(canonicalRow({ ...GOLDEN_ROW, userAgent })))
    expect(new Set(encodings).size).toBe(3)
  })

  it("is deterministic: equal rows (built apart) encode and hash identically", () => {
    fc.assert(
      fc.property(chainRow, (row) => {
        const copy = structuredClone(row)
        expect(canonicalRow(copy).equals(canonicalRow(row))).toBe(true)
        expect(chainHash(null, copy).equals(chainHash(null, row))).toBe(true)
      })
    )
  })
})

describe("chainHash", () => {
  it("is sha256(prev_hash ‖ canonical row), 32 zero bytes before the first row", () => {
    const first = chainHash(null, GOLDEN_ROW)
    expect(hex(first)).toBe(
      hex(createHash("sha256").update(new Uint8Array(32)).update(canonicalRow(GOLDEN_ROW)).digest())
    )
    expect(hex(first)).toBe("3c0be60d5cb23cc9817d448b1e6f98fedd11472cdc6effd721711ae285d3496a")
    const second = { ...GOLDEN_ROW, seq: 2 }
    expect(hex(chainHash(first, second))).toBe("1b7752bb0c8275e232a9c91fdaf5e904caeb06cbd452187401a0b9cdba263a4a")
    expect(hex(chainHash(first, second))).toBe(hex(createHash("sha256").update(first).update(canonicalRow(second)).digest()))
  })
})

describe("actorRefOf and formatOccurredAt", () => {
  it("the actor reference is a domain-separated sha256 of the lower-cased user id", () => {
    const ref = actorRefOf("6F1C2B1E-3C1A-4F6E-9A51-3D5B7F2C9E01")
    expect(ref).toBe(actorRefOf("6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01"))
    expect(ref).toBe(
      createHash("sha256").update("serenya.audit.actor.v1:6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01").digest("hex")
    )
    expect(ref).not.toContain("6f1c2b1e")
  })

  it("occurredAt is ISO 8601 UTC with microseconds, as PostgreSQL gives it back", () => {
    expect(formatOccurredAt(new Date("2024-02-29T23:59:59.999Z"))).toBe("2024-02-29T23:59:59.999000Z")
    expect(formatOccurredAt(new Date(0))).toBe("1970-01-01T00:00:00.000000Z")
  })
})

describe("makeChainVerifier", () => {
  const chain = (length: number): ReadonlyArray<StoredAuditRow> => {
    const rows: Array<StoredAuditRow> = []
    for (let seq = 1; seq <= length; seq++) {
      const prevHash = rows.at(-1)?.hash ?? null
      const row = { ...GOLDEN_ROW, seq }
      rows.push({ ...row, actorUserId: "6f1c2b1e-3c1a-4f6e-9a51-3d5b7f2c9e01", actorPseudonym: null, prevHash, hash: chainHash(prevHash, row) })
    }
    return rows
  }
  const run = (rows: ReadonlyArray<StoredAuditRow>) => {
    const verifier = makeChainVerifier()
    for (const row of rows) {
      const broken = verifier.check(row)
      if (broken) return broken
    }
    return verifier.done()
  }

  it("accepts an intact chain and an empty one", () => {
    expect(run(chain(5))).toEqual({ ok: true, rows: 5 })
    expect(run([])).toEqual({ ok: true, rows: 0 })
  })

  it("names the first broken row: a changed row, a removed row, a reordered pair, a swapped actor", () => {
    const rows = chain(5)
    expect(run(rows.map((r) => (r.seq === 3 ? { ...r, outcome: "failure" } : r)))).toEqual({
      ok: false,
      rows: 3,
      firstBrokenSeq: 3,
      reason: "hash_mismatch"
    })
    expect(run(rows.filter((r) => r.seq !== 2))).toEqual({ ok: false, rows: 2, firstBrokenSeq: 3, reason: "broken_link" })
    expect(run([rows[0]!, rows[2]!, rows[1]!, rows[3]!])).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: "broken_link" })
    expect(
      run(rows.map((r) => (r.seq === 4 ? { ...r, actorUserId: "0b7d4c2a-8e3f-4a1b-b6c5-1e2f3a4b5c6d" } : r)))
    ).toEqual({ ok: false, rows: 4, firstBrokenSeq: 4, reason: "actor_mismatch" })
    // Erasing the user id (pseudonymisation) is not a break.
    expect(run(rows.map((r) => ({ ...r, actorUserId: null, actorPseudonym: "erased-1" })))).toEqual({ ok: true, rows: 5 })
  })
})
