/** Entity tags and If-None-Match (http/conditional.ts): what matches, what never does, and that no input throws. */
import { describe, expect, it } from "vitest"
import * as fc from "fast-check"
import { entityTag, ifNoneMatchMatches, MAX_IF_NONE_MATCH_TAGS, parseIfNoneMatch } from "../../src/http/conditional.js"

/** An opaque tag's characters (RFC 9110 etagc, visible ASCII without the double quote), commas included. */
const etagc = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x22).map((c) => String.fromCharCode(c)), maxLength: 30 })
const quoted = etagc.map((opaque) => `"${opaque}"`)
const member = fc.tuple(fc.boolean(), quoted).map(([weak, tag]) => ({ tag, text: weak ? `W/${tag}` : tag }))
const blanks = fc.constantFrom("", " ", "\t", "  ")
const list = (members: ReadonlyArray<string>, sep: ReadonlyArray<string>) =>
  members.map((m, i) => `${sep[i % sep.length]}${m}${sep[(i + 1) % sep.length]}`).join(",")

describe("entity tags", () => {
  it("are strong, 22 base64url characters quoted, and differ whenever the parts do (the user's id included)", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 3 }), fc.array(fc.string(), { maxLength: 3 }), (a, b) => {
        expect(entityTag(a)).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
        expect(entityTag(a) === entityTag(b)).toBe(JSON.stringify(a) === JSON.stringify(b))
      })
    )
    // a naive join would make these one
    expect(entityTag(["ab", "c"])).not.toBe(entityTag(["a", "bc"]))
  })
})

describe("If-None-Match", () => {
  it("matches a list holding the tag, weak or strong, wherever it stands among others", () => {
    fc.assert(
      fc.property(quoted, fc.boolean(), fc.array(member, { maxLength: 5 }), fc.array(member, { maxLength: 5 }), fc.array(blanks, { minLength: 1, maxLength: 3 }), (tag, weak, before, after, sep) => {
        const header = list([...before.map((m) => m.text), weak ? `W/${tag}` : tag, ...after.map((m) => m.text)], sep)
        expect(ifNoneMatchMatches(header, tag)).toBe(true)
        expect(ifNoneMatchMatches(header, `W/${tag}`)).toBe(true)
      })
    )
  })

  it("never matches a list without the tag", () => {
    fc.assert(
      fc.property(quoted, fc.array(member, { minLength: 1, maxLength: 6 }), fc.array(blanks, { minLength: 1, maxLength: 3 }), (tag, members, sep) => {
        fc.pre(members.every((m) => m.tag !== tag))
        expect(ifNoneMatchMatches(list(members.map((m) => m.text), sep), tag)).toBe(false)
      })
    )
  })

  it("`*` matches any current answer; absent, empty or malformed never does", () => {
    expect(ifNoneMatchMatches("*", '"x"')).toBe(true)
    expect(ifNoneMatchMatches(" * ", '"x"')).toBe(true)
    for (const header of [undefined, "", " ", ",", "x", '"x', 'x"', "W/x", '"x" "y"', '"x"y', '*, "x"', '"x\u0001"', '"x"\u00ff', '"a" , b']) {
      expect(ifNoneMatchMatches(header, '"x"'), JSON.stringify(header)).toBe(false)
    }
    // a comma is an opaque tag's character: `"a,b"` is one tag, not two
    expect(parseIfNoneMatch('"a,b"')).toEqual(['"a,b"'])
    expect(ifNoneMatchMatches('"a,b"', '"a"')).toBe(false)
    // an empty list element is allowed
    expect(parseIfNoneMatch('"a", , W/"b",')).toEqual(['"a"', '"b"'])
  })

  it(`looks at ${MAX_IF_NONE_MATCH_TAGS} tags at most: a longer list matches nothing`, () => {
    const tags = Array.from({ length: MAX_IF_NONE_MATCH_TAGS + 1 }, (_, i) => `"t${i}"`)
    expect(ifNoneMatchMatches(tags.slice(0, MAX_IF_NONE_MATCH_TAGS).join(", "), '"t0"')).toBe(true)
    expect(ifNoneMatchMatches(tags.join(", "), '"t0"')).toBe(false)
  })

  it("never throws, and a match always names the tag or is the wildcard", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), quoted, (header, tag) => {
        const matched = ifNoneMatchMatches(header, tag)
        if (matched) expect(header.trim() === "*" || header.includes(tag)).toBe(true)
      }),
      { numRuns: 2_000 }
    )
  })
})
