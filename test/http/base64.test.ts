/**
 * The base64 check of JSON uploads (src/http/schemas.ts `isPaddedBase64`): it says what the
 * documented pattern says, and it holds for the largest direct upload — the regex itself runs out
 * of stack there, which answered a valid ~4.5 MiB upload with 400.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { BASE64_PATTERN, isPaddedBase64 } from "../../src/http/schemas.js"
import { LAMBDA_DIRECT_UPLOAD_BYTES } from "../../src/services/uploadLimits.js"

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n"

describe("isPaddedBase64", () => {
  it("agrees with the documented pattern on any short text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 24 })), (text) => {
        expect(isPaddedBase64(text)).toBe(BASE64_PATTERN.test(text))
      }),
      { numRuns: 2_000 }
    )
  })

  it("accepts what Buffer encodes, any bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(isPaddedBase64(Buffer.from(bytes).toString("base64"))).toBe(true)
    }))
  })

  it("holds for the largest direct upload, where the regex overflows the stack", () => {
    const text = Buffer.alloc(LAMBDA_DIRECT_UPLOAD_BYTES, 0x41).toString("base64")
    expect(() => BASE64_PATTERN.test(text)).toThrow(RangeError)
    expect(isPaddedBase64(text)).toBe(true)
    expect(isPaddedBase64(`${text.slice(0, -4)}A*==`)).toBe(false)
  })
})
