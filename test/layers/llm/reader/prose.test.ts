/** Results written in sentences (reader/prose.ts): what a known test's name, value, unit and bracketed range give, and what is never read. */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { readProseResults } from "../../../../src/layers/llm/reader/prose.js"

const style = { decimalComma: false }

const TESTS = [
  ["Sodium", "mmol/L"],
  ["haemoglobin", "g/L"],
  ["Ferritin", "ug/L"],
  ["TSH", "mU/L"],
  ["Total cholesterol", "mmol/L"],
  ["white cell count", "x10^9/L"]
] as const

const number = fc.integer({ min: 1, max: 9999 }).map((n) => n / 10)

describe("readProseResults", () => {
  it("property: 'Your <test> was <value> <unit> (<low> to <high>).' reads back, flagged against its range", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TESTS),
        number,
        number,
        number,
        fc.constantFrom("Your ", "The ", ""),
        fc.constantFrom(" was ", " came back at ", " "),
        ([name, unit], value, a, b, opener, link) => {
          const [low, high] = a <= b ? [a, b] : [b, a]
          const read = readProseResults(`  ${opener}${name}${link}${value} ${unit} (${low} to ${high}).`, style)
          expect(read).toHaveLength(1)
          const [r] = read
          expect([r?.name, r?.value, r?.unit, r?.referenceRange.low, r?.referenceRange.high]).toEqual([name, value, unit, low, high])
          expect(r?.flag).toBe(value < low ? "low" : value > high ? "high" : "normal")
        }
      ),
      { numRuns: 300 }
    )
  })

  it("property: doses, targets, scores and unknown words before a number are never read", () => {
    fc.assert(
      fc.property(
        number,
        fc.constantFrom(
          (v: number) => `Dr Anand has sent a prescription for ferrous fumarate ${v} mg, one tablet twice a day.`,
          (v: number) => `Aiming to lose 5% of body weight can lower HbA1c by 3 to ${v} mmol/mol.`,
          (v: number) => `Your 10-year heart risk score works out at ${v}%, which is below the level for a statin.`,
          (v: number) => `Please drink ${v} mL of water before the next test and bring the form.`
        ),
        (v, sentence) => {
          expect(readProseResults(sentence(v), style)).toEqual([])
        }
      ),
      { numRuns: 200 }
    )
  })

  it("words that describe the value are no part of the name; a long clause names its test last; results broken over lines", () => {
    const at = (line: string, next = "", previous = "") =>
      readProseResults(line, style, next, previous).map((r) => [r.name, r.value, r.unit, r.referenceRange.text, r.flag])
    expect(at("Bloods taken last Tuesday at the surgery showed a suppressed TSH of 0.03 mU/L (0.3-4.2), which fits.")).toEqual([
      ["TSH", 0.03, "mU/L", "0.3-4.2", "low"]
    ])
    expect(at("Liver tests showed a mildly raised ALT at 58 U/L (<40) with a normal bilirubin of 9 umol/L (<21).")).toEqual([
      ["ALT", 58, "U/L", "<40", "high"],
      ["bilirubin", 9, "umol/L", "<21", "normal"]
    ])
    // the name ends the line above; the unit starts the line below
    expect(at("was low at 11 ug/L (20-200) although the blood count was normal.", "", "and potassium were fine. Ferritin")).toEqual([
      ["Ferritin", 11, "ug/L", "20-200", "low"]
    ])
    expect(at("Lipids without fasting: total cholesterol 5.8 mmol/L and LDL 3.9", "mmol/L, HDL 1.2 mmol/L.")).toEqual([
      ["total cholesterol", 5.8, "mmol/L", "", "unknown"],
      ["LDL", 3.9, "mmol/L", "", "unknown"]
    ])
    // a target is not a result
    expect(at("We agreed a personal target HbA1c of 53 mmol/mol (under 58) for the next year.")).toEqual([])
  })

  it("a table row, a call to a number or a line of three words is no prose", () => {
    expect(readProseResults("Sodium   139   mmol/L   135-145", style)).toEqual([])
    expect(readProseResults("Sodium 139 mmol/L 135-145 Final 03/14 05:31", style)).toEqual([])
    expect(readProseResults("Sodium 139 mmol/L", style)).toEqual([])
  })
})
