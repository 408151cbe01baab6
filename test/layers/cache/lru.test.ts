/** LruMap, the bound of the in-memory caches: checked against a plain model over random operations. */
import { describe, expect, it } from "vitest"
import * as fc from "fast-check"
import { isCurrent, LruMap } from "../../../src/layers/cache/lru.js"

type Op =
  | { readonly kind: "get" | "peek" | "delete"; readonly key: number }
  | { readonly kind: "set"; readonly key: number; readonly value: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("get" as const, "peek" as const, "delete" as const), key: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant("set" as const), key: fc.integer({ min: 0, max: 6 }), value: fc.integer() })
)

describe("LruMap", () => {
  it("holds what a least-recently-used list of `capacity` holds, after any sequence of operations", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const lru = new LruMap<number, number>(capacity)
        // the model: entries, least recently used first
        let model: Array<[number, number]> = []
        for (const o of ops) {
          const found = model.find(([k]) => k === o.key)
          switch (o.kind) {
            case "get":
              expect(lru.get(o.key)).toBe(found?.[1])
              if (found !== undefined) model = [...model.filter(([k]) => k !== o.key), found]
              break
            case "peek":
              expect(lru.peek(o.key)).toBe(found?.[1])
              break
            case "delete":
              expect(lru.delete(o.key)).toBe(found !== undefined)
              model = model.filter(([k]) => k !== o.key)
              break
            case "set":
              lru.set(o.key, o.value)
              model = capacity <= 0 ? [] : [...model.filter(([k]) => k !== o.key), [o.key, o.value] as [number, number]].slice(-capacity)
              break
          }
          expect(lru.size).toBe(model.length)
          expect(lru.size).toBeLessThanOrEqual(Math.max(capacity, 0))
        }
        for (const [k, v] of model) expect(lru.peek(k)).toBe(v)
      }),
      { numRuns: 500 }
    )
  })

  it("deleteWhere drops exactly what it selects", () => {
    const lru = new LruMap<string, number>(10)
    for (const [k, v] of [["a", 1], ["b", 2], ["c", 3]] as const) lru.set(k, v)
    lru.deleteWhere((v) => v % 2 === 1)
    expect([lru.peek("a"), lru.peek("b"), lru.peek("c"), lru.size]).toEqual([undefined, 2, undefined, 1])
  })

  it("an entry is current under its own stamp only, and only before it expires", () => {
    const entry = { stamp: "s1", expiresAt: 1_000, value: 1 }
    expect(isCurrent(entry, "s1", 999)).toBe(true)
    expect(isCurrent(entry, "s1", 1_000)).toBe(false)
    expect(isCurrent(entry, "s2", 0)).toBe(false)
  })
})
