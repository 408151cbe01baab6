/** X-Ray trace headers ↔ W3C traceparent: both come from outside, so anything malformed reads as nothing. */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parseXRayHeader, sampledXRayContext, traceparentOf, xrayHeaderOf } from "../../src/services/xray.js"

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length }).filter((s) => !/^0+$/.test(s))

describe("X-Ray trace headers", () => {
  it("reads Lambda's header: Root, Parent and Sampled, in any order, with other fields", () => {
    expect(parseXRayHeader("Root=1-65f0c0de-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0")).toEqual({
      traceId: "65f0c0de0123456789abcdef01234567",
      parentId: "53995c3f42cd8ad8",
      sampled: true
    })
    expect(parseXRayHeader("Sampled=0;Parent=53995C3F42CD8AD8;Root=1-65F0C0DE-0123456789ABCDEF01234567")).toEqual({
      traceId: "65f0c0de0123456789abcdef01234567",
      parentId: "53995c3f42cd8ad8",
      sampled: false
    })
  })

  it("continues only a sampled context: Lambda's header with tracing off is unsampled", () => {
    const header = (sampled: 0 | 1) => `Root=1-65f0c0de-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=${sampled}`
    expect(sampledXRayContext(header(1))).toEqual(parseXRayHeader(header(1)))
    expect(sampledXRayContext(header(0))).toBeUndefined()
    expect(sampledXRayContext(undefined)).toBeUndefined()
    expect(sampledXRayContext("Root=1-65f0c0de-0123456789abcdef01234567;Sampled=1")).toBeUndefined()
  })

  it("reads nothing from a header without a parent, with a malformed root, or with all-zero ids", () => {
    for (const header of [
      "Root=1-65f0c0de-0123456789abcdef01234567",
      "Root=2-65f0c0de-0123456789abcdef01234567;Parent=53995c3f42cd8ad8",
      "Root=1-65f0c0d-0123456789abcdef01234567;Parent=53995c3f42cd8ad8",
      "Root=1-65f0c0de-0123456789abcdef0123456g;Parent=53995c3f42cd8ad8",
      "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
      "Root=1-65f0c0de-0123456789abcdef01234567;Parent=0000000000000000",
      "",
      ";;;=",
      `Root=1-65f0c0de-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;${"x".repeat(600)}`
    ]) {
      expect(parseXRayHeader(header), header).toBeUndefined()
    }
  })

  it("a context goes to traceparent and back to the same X-Ray trace and parent", () => {
    fc.assert(
      fc.property(hex(8), hex(24), hex(16), fc.boolean(), (time, rest, parentId, sampled) => {
        const header = `Root=1-${time}-${rest};Parent=${parentId};Sampled=${sampled ? 1 : 0}`
        const context = parseXRayHeader(header)!
        expect(context).toEqual({ traceId: `${time}${rest}`, parentId, sampled })
        const traceparent = traceparentOf(context)
        expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
        expect(xrayHeaderOf(traceparent)).toBe(header)
      })
    )
  })

  it("never throws on arbitrary input, and whatever it reads is well-formed", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 700 }), (header) => {
        const context = parseXRayHeader(header)
        if (context !== undefined) {
          expect(context.traceId).toMatch(/^[0-9a-f]{32}$/)
          expect(context.parentId).toMatch(/^[0-9a-f]{16}$/)
        }
        const xray = xrayHeaderOf(header)
        if (xray !== undefined) expect(parseXRayHeader(xray)).toBeDefined()
      }),
      { numRuns: 500 }
    )
    expect(xrayHeaderOf("00-00000000000000000000000000000000-53995c3f42cd8ad8-01")).toBeUndefined()
    expect(xrayHeaderOf("01-65f0c0de0123456789abcdef01234567-53995c3f42cd8ad8-01")).toBeUndefined()
  })
})
