/**
 * Placeholders: what replaces an identifier, and what puts it back (src/services/deidentifier.ts),
 * whatever found the identifiers. Property tests: scrubbing then re-identifying gives the text back,
 * the same request scrubs to the same placeholders, a stream cut anywhere re-identifies as a whole
 * answer does, and nothing but this request's placeholders is ever replaced.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import {
  deidentify,
  type PhiKind,
  type PhiSpan,
  PlaceholderMap,
  reidentify,
  scrubText,
  StreamReidentifier
} from "../../src/services/deidentifier.js"

const KINDS: ReadonlyArray<PhiKind> = ["NAME", "DOB", "MRN", "ID", "ADDRESS", "PHONE", "EMAIL", "URL", "AGE"]

/** A text and spans inside it (no brackets in the text, so no placeholder is printed in it already). */
const textWithSpans = fc
  .string({ unit: fc.constantFrom("a", "B", "c", "1", " ", "-", ".", "\n", "é", "Ж"), minLength: 1, maxLength: 120 })
  .chain((text) =>
    fc.tuple(
      fc.constant(text),
      fc.array(
        fc.tuple(fc.nat(text.length), fc.nat(text.length), fc.constantFrom(...KINDS)).map(([a, b, kind]): PhiSpan => ({ kind, start: Math.min(a, b), end: Math.max(a, b) })),
        { maxLength: 6 }
      )
    )
  )

describe("Placeholders", () => {
  it("the same identifier gets the same placeholder, numbered per kind in order of appearance", () => {
    const map = new PlaceholderMap()
    const text = "Patient: DOE, JANE   MRN 4410021\nCalled to Dr. R. Alvarez.  Patient DOE, JANE"
    const spans: Array<PhiSpan> = [
      { kind: "NAME", start: 9, end: 18 },
      { kind: "MRN", start: 25, end: 32 },
      { kind: "NAME", start: 47, end: 57 }
    ]
    const scrubbed = scrubText(text, spans, map)
    expect(scrubbed).toBe("Patient: [NAME-1]   MRN [MRN-1]\nCalled to Dr. [NAME-2].  Patient [NAME-1]")
    expect(reidentify("Ask [NAME-2] about [MRN-1]; [NAME-9] and [FOO-1] stay.", map)).toBe("Ask R. Alvarez about 4410021; [NAME-9] and [FOO-1] stay.")
    // a map never shows what it maps, even printed by mistake
    expect(JSON.stringify({ map })).not.toContain("DOE")
    expect(String(map.toJSON())).toBe("PlaceholderMap(3)")
  })

  it("a repeat the detector missed is scrubbed as a whole word only", () => {
    const map = new PlaceholderMap()
    const text = "Name: Lee   Ref. Leeds   ALEE\nLee called."
    expect(scrubText(text, [{ kind: "NAME", start: 6, end: 9 }], map)).toBe("Name: [NAME-1]   Ref. Leeds   ALEE\n[NAME-1] called.")
  })

  it("scrubbing then re-identifying gives the text back (property)", () => {
    fc.assert(
      fc.property(textWithSpans, ([text, spans]) => {
        const map = new PlaceholderMap()
        const scrubbed = scrubText(text, spans, map)
        expect(reidentify(scrubbed, map)).toBe(text)
      }),
      { numRuns: 500 }
    )
  })

  it("every marked identifier of 3 characters or more is gone from the scrubbed text (property)", () => {
    fc.assert(
      fc.property(textWithSpans, ([text, spans]) => {
        const scrubbed = scrubText(text, spans, new PlaceholderMap())
        for (const span of spans) {
          const original = text.slice(span.start, span.end).trim()
          // a marked identifier that is a whole word elsewhere is replaced there too
          if (original.length >= 3 && /^[\p{L}\p{N}]/u.test(original) && /[\p{L}\p{N}]$/u.test(original)) {
            const wholeWord = new RegExp(`(?<![\\p{L}\\p{N}])${original.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\p{L}\\p{N}])`, "u")
            expect(wholeWord.test(scrubbed)).toBe(false)
          }
        }
      }),
      { numRuns: 500 }
    )
  })

  it("the same request scrubs to the same placeholders (property)", () => {
    fc.assert(
      fc.property(textWithSpans, ([text, spans]) => {
        expect(scrubText(text, spans, new PlaceholderMap())).toBe(scrubText(text, spans, new PlaceholderMap()))
      }),
      { numRuns: 300 }
    )
  })

  it("a streamed answer cut anywhere re-identifies as the whole answer does, never sending half a placeholder (property)", () => {
    const map = new PlaceholderMap()
    map.placeholderFor("NAME", "Jane Doe")
    map.placeholderFor("ADDRESS", "12 Elm Street")
    const answer = fc
      .array(fc.oneof(fc.constantFrom("[NAME-1]", "[ADDRESS-1]", "[NAME-7]", "[", "]", "[NA", "-1]"), fc.string({ maxLength: 8 })), { maxLength: 12 })
      .map((parts) => parts.join(""))
    fc.assert(
      fc.property(answer, fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
        const stream = new StreamReidentifier(map)
        const sent: Array<string> = []
        let at = 0
        for (const point of [...points, text.length]) {
          sent.push(stream.push(text.slice(at, point)))
          at = point
        }
        sent.push(stream.end())
        expect(sent.join("")).toBe(reidentify(text, map))
        for (const part of sent) expect(part).not.toMatch(/\[(?:NAME|ADDRESS)-\d*$/u)
      }),
      { numRuns: 500 }
    )
  })

  it.effect("deidentify numbers placeholders across the texts of one request", () =>
    Effect.gen(function* () {
      const names = ["Jane Doe", "Jane Doe", "R. Alvarez"]
      const { texts, map } = yield* deidentify(
        {
          provider: "test",
          detect: (inputs) => Effect.succeed(inputs.map((text) => names.filter((n) => text.includes(n)).map((n) => ({ kind: "NAME" as const, start: text.indexOf(n), end: text.indexOf(n) + n.length }))))
        },
        ["Report of Jane Doe", "Does Jane Doe need iron?", "Ask R. Alvarez"]
      )
      expect(texts).toEqual(["Report of [NAME-1]", "Does [NAME-1] need iron?", "Ask [NAME-2]"])
      expect(map.originalOf("[NAME-2]")).toBe("R. Alvarez")
    })
  )
})
