/** Content types come from the bytes: magic numbers, UTF-8 text, and a declared type only checked. */
import { describe, expect, it } from "@effect/vitest"
import { Result, Option } from "effect"
import fc from "fast-check"
import { detectContentType, normalizeDeclaredType, resolveContentType } from "../../src/programs/detectContentType.js"

const MAGIC = {
  "application/pdf": [0x25, 0x50, 0x44, 0x46, 0x2d],
  "image/jpeg": [0xff, 0xd8, 0xff],
  "image/png": [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
} as const

const withMagic = (magic: ReadonlyArray<number>, rest: Uint8Array) => Uint8Array.from([...magic, ...rest])

const magicType = fc.constantFrom(...(Object.keys(MAGIC) as Array<keyof typeof MAGIC>))

const text = (s: string) => new TextEncoder().encode(s)

describe("detectContentType", () => {
  it("detects each allowed type from its bytes", () => {
    expect(detectContentType(withMagic(MAGIC["application/pdf"], text("1.4\n")))).toEqual(Option.some("application/pdf"))
    expect(detectContentType(withMagic(MAGIC["image/jpeg"], new Uint8Array([0xe0, 0, 0x10])))).toEqual(Option.some("image/jpeg"))
    expect(detectContentType(withMagic(MAGIC["image/png"], new Uint8Array([0, 0, 0, 13])))).toEqual(Option.some("image/png"))
    expect(detectContentType(text("Hemoglobin\t11.2 g/dL\r\nSodium 139 — ok ✓\n"))).toEqual(Option.some("text/plain"))
    // one byte short of the PDF magic: only text
    expect(detectContentType(text("%PDF"))).toEqual(Option.some("text/plain"))
  })

  it("refuses what is none of them: empty, binary, invalid UTF-8, control characters, other formats", () => {
    for (const bytes of [
      new Uint8Array([]),
      new Uint8Array([0x50, 0x4b, 0x03, 0x04]), // zip
      new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00]), // GIF89a
      text("text with a NUL\u0000inside"),
      text("bell\u0007"),
      text("form feed\u000c"),
      text("C1 control \u0085"),
      new Uint8Array([0x68, 0x69, 0xc3]), // truncated UTF-8
      new Uint8Array([0xff, 0xd8]) // a JPEG magic cut short
    ]) {
      expect(detectContentType(bytes), Buffer.from(bytes).toString("hex")).toEqual(Option.none())
    }
  })

  it("never throws on random bytes, and answers an allowed type or none", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const detected = detectContentType(bytes)
        expect(Option.isNone(detected) || ["application/pdf", "image/jpeg", "image/png", "text/plain"].includes(detected.value)).toBe(true)
        const resolved = resolveContentType(bytes, "application/pdf")
        expect(Result.isFailure(resolved) || Result.isSuccess(resolved)).toBe(true)
      }),
      { numRuns: 2000 }
    )
  })

  it("detects any buffer starting with a known magic as that type", () => {
    fc.assert(
      fc.property(magicType, fc.uint8Array({ maxLength: 256 }), (type, rest) => {
        expect(detectContentType(withMagic(MAGIC[type], rest))).toEqual(Option.some(type))
      }),
      { numRuns: 1000 }
    )
  })

  it("detects printable UTF-8 text (tabs and line breaks allowed) as text/plain", () => {
    const printable = fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 }).filter(
      (s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s) && !s.startsWith("%PDF-")
    )
    fc.assert(
      fc.property(printable, fc.constantFrom("", "\n", "\r\n", "\t"), (s, sep) => {
        expect(detectContentType(text(`${s}${sep}${s}`))).toEqual(Option.some("text/plain"))
      }),
      { numRuns: 500 }
    )
  })
})

describe("resolveContentType", () => {
  it("fails with UnsupportedMediaType (415) when the declared type disagrees with the detected one", () => {
    const declared = fc.constantFrom("application/pdf", "image/jpeg", "image/png", "text/plain", "image/gif", "application/zip")
    fc.assert(
      fc.property(magicType, fc.uint8Array({ maxLength: 64 }), declared, (type, rest, claim) => {
        const result = resolveContentType(withMagic(MAGIC[type], rest), claim)
        if (claim === type) {
          expect(result).toEqual(Result.succeed(type))
        } else {
          expect(Result.isFailure(result)).toBe(true)
          if (Result.isFailure(result)) {
            expect(result.failure._tag).toBe("UnsupportedMediaType")
            expect(result.failure.message).not.toContain(claim)
          }
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("fails with UnsupportedMediaType for unknown bytes whatever is declared", () => {
    const result = resolveContentType(new Uint8Array([0x00, 0x01, 0x02, 0x03]))
    expect(Result.isFailure(result) && result.failure._tag).toBe("UnsupportedMediaType")
  })

  it("accepts a declared type with parameters or in another case, and treats octet-stream as undeclared", () => {
    expect(resolveContentType(text("hello"), "Text/Plain; charset=utf-8")).toEqual(Result.succeed("text/plain"))
    expect(resolveContentType(withMagic(MAGIC["image/jpeg"], new Uint8Array([1])), "image/jpg")).toEqual(Result.succeed("image/jpeg"))
    expect(resolveContentType(withMagic(MAGIC["application/pdf"], new Uint8Array([1])), "application/octet-stream")).toEqual(
      Result.succeed("application/pdf")
    )
    expect(normalizeDeclaredType("  ")).toEqual(Option.none())
  })
})
