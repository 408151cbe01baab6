/**
 * Names and units as OCR misreads them: repaired to the lexicon's only when one candidate is
 * close and no other nearly as close; left alone otherwise.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { lookupAnalyte } from "../../../../src/layers/llm/reader/lexicon/analytes.js"
import { allowedDistance, ocrDistance, repairName, repairUnit } from "../../../../src/layers/llm/reader/ocrFuzzy.js"

describe("ocrDistance", () => {
  it("is zero for equal strings, symmetric, and at most the plain edit distance", () => {
    const word = fc.string({ unit: fc.constantFrom(..."abcelo1025mnr/^7u"), maxLength: 8 })
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(ocrDistance(a, a)).toBe(0)
        expect(ocrDistance(a, b)).toBe(ocrDistance(b, a))
        expect(ocrDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length))
      })
    )
  })

  it("OCR's confusions cost half an edit: c/e, l/1, rn/m, ^/7", () => {
    expect(ocrDistance("mev", "mcv")).toBe(0.5)
    expect(ocrDistance("alc", "a1c")).toBe(0.5)
    expect(ocrDistance("sodiurn", "sodium")).toBe(0.5)
    expect(ocrDistance("1073/ul", "10^3/ul")).toBe(0.5)
    expect(ocrDistance("mcx", "mcv")).toBe(1)
  })

  it("gives up (Infinity) past its limit", () => {
    expect(ocrDistance("hemoglobin", "potassium", 2)).toBe(Number.POSITIVE_INFINITY)
  })
})

describe("repairName", () => {
  it.each([
    ["Mev", "MCV"],
    ["Henogl obi n", "Hemoglobin"],
    ["Hemoglobin Alc", "Hemoglobin A1c"],
    ["Sodiurn", "Sodium"],
    ["Pot assi um", "Potassium"],
    ["Creatinlne", "Creatinine"]
  ])("%s → %s", (misread, known) => {
    const repaired = repairName(misread)
    expect(repaired).toBeDefined()
    expect(lookupAnalyte(repaired ?? "")?.id).toBe(lookupAnalyte(known)?.id)
  })

  it("leaves alone what is no test and what is equally near two tests; a known name stays itself", () => {
    for (const word of ["Comments", "Patient", "Reference Range", "Specimen", "Collected"]) expect(repairName(word)).toBeUndefined()
    for (const word of ["Sodium", "MCV"]) expect(lookupAnalyte(repairName(word) ?? "")?.id).toBe(lookupAnalyte(word)?.id)
    // one edit from MCH, MCV and MCHC alike
    expect(repairName("MCX")).toBeUndefined()
  })

  it("whatever it repairs to is within the distance allowed for the word's length", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."abcdeghilmnoprstuvz1 "), minLength: 3, maxLength: 14 }), (word) => {
        const repaired = repairName(word)
        if (repaired === undefined) return
        const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "")
        expect(lookupAnalyte(repaired)).toBeDefined()
        expect(ocrDistance(squash(word), squash(repaired))).toBeLessThanOrEqual(allowedDistance(squash(word).length) + 1)
      }),
      { numRuns: 300 }
    )
  })
})

describe("repairUnit", () => {
  it.each([
    ["1073/uL", "10^3/uL"],
    ["10°3/uL", "10^3/uL"],
    ["10\"6/uL", "10^6/uL"],
    ["mmol /L", "mmol/L"],
    ["mg/dL.", "mg/dL"]
  ])("%s → %s", (misread, unit) => {
    expect(repairUnit(misread)).toBe(unit)
  })

  it("among a test's own units a short unit may be a whole edit away: UL → U/L for ALT", () => {
    expect(repairUnit("UL")).toBeUndefined()
    expect(repairUnit("UL", ["U/L", "IU/L"])).toBe("U/L")
  })

  it("never turns a number or a flag into a unit", () => {
    for (const token of ["41", "4.1", "H", "L", "HH"]) expect(repairUnit(token)).toBeUndefined()
  })
})
