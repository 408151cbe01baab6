/**
 * Properties of the begin body's validation (`validateBeginUpload`), the one check of what a
 * client declares before a target is signed: sizes, content types and file names, at and around
 * their bounds; and agreement with the HTTP schema, so a body the OpenAPI document allows is never
 * refused by the program for a reason the document does not state.
 */
import { it as effectIt } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { BeginUploadJson } from "../../src/http/groups/documents.js"
import { ALLOWED_CONTENT_TYPES } from "../../src/programs/detectContentType.js"
import { validateBeginUpload } from "../../src/programs/presignedUpload.js"

const MAX = 20 * 1024 * 1024

const tagOf = (result: ReturnType<typeof validateBeginUpload>) => (Result.isFailure(result) ? result.failure._tag : "valid")

/** A name of 1 to 255 code points, astral ones included (an emoji is one character, two UTF-16 units). */
const fileName = fc.array(fc.oneof(fc.constantFrom("a", "é", "😀", " ", "-", "."), fc.string({ minLength: 1, maxLength: 1 })), {
  minLength: 1,
  maxLength: 255
}).map((chars) => chars.join(""))
  .filter((name) => [...name].length >= 1 && [...name].length <= 255)

/** An accepted type as a client may spell it: any case, with parameters, `image/jpg` for JPEG. */
const acceptedType = fc
  .tuple(fc.constantFrom(...ALLOWED_CONTENT_TYPES, "image/jpg"), fc.boolean(), fc.constantFrom("", "; charset=utf-8", " ; q=1"))
  .map(([type, upper, parameters]) => `${upper ? type.toUpperCase() : type}${parameters}`)

const canonical = (type: string) => {
  const essence = (type.split(";")[0] ?? "").trim().toLowerCase()
  return essence === "image/jpg" ? "image/jpeg" : essence
}

describe("validateBeginUpload (property)", () => {
  it("accepts every size in 1..MAX, name of 1..255 characters and accepted type, answering the canonical type", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX }), fileName, acceptedType, (sizeBytes, name, contentType) => {
        const result = validateBeginUpload({ sizeBytes, fileName: name, contentType }, MAX)
        expect(result).toEqual(Result.succeed({ contentType: canonical(contentType) }))
      }),
      { numRuns: 500 }
    )
  })

  it("refuses a size over the limit with PayloadTooLarge (413) naming the limit, whatever else is sent", () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX + 1, max: Number.MAX_SAFE_INTEGER }), fileName, acceptedType, (sizeBytes, name, contentType) => {
        const result = validateBeginUpload({ sizeBytes, fileName: name, contentType }, MAX)
        expect(tagOf(result)).toBe("PayloadTooLarge")
        expect(Result.isFailure(result) && result.failure._tag === "PayloadTooLarge" && result.failure.limitBytes).toBe(MAX)
      })
    )
  })

  it("refuses sizes that are not a whole, positive, safe number of bytes (400)", () => {
    const bad = fc.oneof(
      fc.integer({ max: 0 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2)
    )
    fc.assert(
      fc.property(bad, fileName, acceptedType, (sizeBytes, name, contentType) => {
        expect(tagOf(validateBeginUpload({ sizeBytes, fileName: name, contentType }, MAX))).toBe("InvalidRequest")
      })
    )
  })

  it("refuses an empty name and one over 255 characters (400), counting code points", () => {
    const tooLong = fc.integer({ min: 256, max: 600 }).chain((n) => fc.constantFrom("a".repeat(n), "😀".repeat(n)))
    fc.assert(
      fc.property(fc.oneof(fc.constant(""), tooLong), fc.integer({ min: 1, max: MAX }), (name, sizeBytes) => {
        expect(tagOf(validateBeginUpload({ sizeBytes, fileName: name, contentType: "application/pdf" }, MAX))).toBe("InvalidRequest")
      })
    )
    // 255 emoji are 510 UTF-16 units, and still 255 characters
    expect(tagOf(validateBeginUpload({ sizeBytes: 1, fileName: "😀".repeat(255), contentType: "text/plain" }, MAX))).toBe("valid")
  })

  it("refuses every other type with UnsupportedMediaType (415)", () => {
    const other = fc
      .string({ maxLength: 60 })
      .filter((type) => !(ALLOWED_CONTENT_TYPES as ReadonlyArray<string>).includes(canonical(type)))
    fc.assert(
      fc.property(other, fc.integer({ min: 1, max: MAX }), (contentType, sizeBytes) => {
        expect(tagOf(validateBeginUpload({ sizeBytes, fileName: "x.pdf", contentType }, MAX))).toBe("UnsupportedMediaType")
      }),
      { numRuns: 500 }
    )
    for (const type of ["application/octet-stream", "application/zip", "image/gif", "text/html", "application/pdf+zip"]) {
      expect(tagOf(validateBeginUpload({ sizeBytes: 1, fileName: "x", contentType: type }, MAX)), type).toBe("UnsupportedMediaType")
    }
  })

  // Bodies derived from the schema itself: effect's own Arbitrary (Effect 4 no longer ships fast-check).
  effectIt.prop(
    "a body the HTTP schema accepts is refused only for what the document states: its type (415) or its size (413)",
    [BeginUploadJson],
    ([body]) => {
      const encoded = Schema.encodeSync(BeginUploadJson)(body)
      const decoded = Schema.decodeUnknownSync(BeginUploadJson)(encoded)
      const tag = tagOf(validateBeginUpload(decoded, MAX))
      expect(["valid", "UnsupportedMediaType", "PayloadTooLarge"]).toContain(tag)
    },
    { arbitrary: { runs: 500 } }
  )
})
