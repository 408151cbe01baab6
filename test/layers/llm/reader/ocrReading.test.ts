/**
 * Reading what OCR read: misread names, units and digits are repaired only where the lexicon and
 * the printed range agree on exactly one reading; anything else is an unread line. The property
 * at the end is the promise of issue 22: whatever OCR loses (decimal points, digits read as
 * letters, names and units one confusion off), no result is presented with a value other than
 * the printed one.
 */
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parseLabReport } from "../../../../src/layers/llm/reader/index.js"
import { readOcrDocument } from "../../../../src/layers/llm/reader/ocrReading.js"
import { toUcum } from "../../../../src/layers/llm/reader/units.js"
import { ocrPageFromText } from "../../../support/ocrPages.js"

const HEADER = "Test                      Result    Flag   Units        Reference Range"
const row = (name: string, value: string, flag: string, unit: string, range: string) =>
  `${name.padEnd(26)}${value.padEnd(10)}${flag.padEnd(7)}${unit.padEnd(13)}${range}`

const read = (lines: ReadonlyArray<string>) =>
  readOcrDocument([{ _tag: "Ocr", page: 1, ocr: ocrPageFromText(["COMPREHENSIVE PANEL", HEADER, ...lines].join("\n")) }])

const only = (lines: ReadonlyArray<string>) => {
  const report = read(lines)
  return { result: report.results[0], report }
}

describe("readOcrDocument", () => {
  it("a clean OCR of the CBC/CMP report reads exactly what the text reader reads, each marked as OCR", () => {
    const text = readFileSync("test/fixtures/lab-report-cbc-cmp.txt", "utf8")
    const fromText = parseLabReport(text)
    const fromOcr = readOcrDocument([{ _tag: "Ocr", page: 1, ocr: ocrPageFromText(text) }])
    const essentials = (r: (typeof fromText.results)[number]) => [r.name, r.value, r.unit, r.referenceRange.low, r.referenceRange.high, r.flag]
    expect(fromOcr.results.map(essentials)).toEqual(fromText.results.map(essentials))
    expect(fromOcr.results).toHaveLength(16)
    for (const result of fromOcr.results) expect(result.ocr).toEqual({ confidence: 0.9, corrected: false, needsReview: false })
    expect(fromOcr.unreadLines).toEqual([])
  })

  it("repairs what OCR is known to misread: Mev, 1073/uL, Alc, u/L", () => {
    const report = read([
      row("Mev", "81", "", "fL", "80 - 100"),
      row("White Blood Cell Count", "11.8", "H", "1073/uL", "4.0 - 11.0"),
      row("Hemoglobin Alc", "5.9", "H", "%", "4.0 - 5.6"),
      row("ALT", "22", "", "u/L", "0 - 32")
    ])
    expect(report.results.map((r) => [r.name, r.value, r.unit])).toEqual([
      ["MCV", 81, "fL"],
      ["White Blood Cell Count", 11.8, "10^3/uL"],
      ["Hemoglobin A1c", 5.9, "%"],
      // "u" is read as U (enzyme units) by the unit reader already
      ["ALT", 22, "u/L"]
    ])
    // names and units repaired: corrected, but no number changed, so nothing to review
    for (const result of report.results.slice(0, 3)) expect(result.ocr).toMatchObject({ corrected: true, needsReview: false })
    expect(report.results.map((r) => toUcum(r.unit))).toEqual(["fL", "10*3/uL", "%", "U/L"])
  })

  it("restores a lost decimal point when exactly one reading fits the lexicon and the printed range, and flags it for review", () => {
    const { result } = only([row("Potassium", "41", "", "mmol/L", "3.5 - 5.1")])
    expect(result).toMatchObject({ value: 4.1, flag: "normal", ocr: { corrected: true, needsReview: true } })
    const both = only([row("Potassium", "41", "", "mmol/L", "35 - 51")]).result
    expect(both).toMatchObject({ value: 4.1, referenceRange: { low: 3.5, high: 5.1 } })
    const range = only([row("White Blood Cell Count", "11.8", "H", "10^3/uL", "40 - 110")]).result
    expect(range).toMatchObject({ value: 11.8, referenceRange: { low: 4, high: 11 }, flag: "high" })
  })

  it("leaves unread what two readings would fit: 118 with H over 4.0 - 11.0 could be 118 or 11.8", () => {
    const { result, report } = only([row("White Blood Cell Count", "118", "H", "10^3/uL", "4.0 - 11.0")])
    expect(result).toBeUndefined()
    expect(report.unreadLines).toEqual([expect.objectContaining({ text: expect.stringContaining("White Blood Cell Count 118") })])
  })

  it("leaves unread a value its printed flag contradicts (a lost digit: 1.8 printed H over 4.0 - 11.0)", () => {
    expect(only([row("White Blood Cell Count", "1.8", "H", "10^3/uL", "4.0 - 11.0")]).result).toBeUndefined()
  })

  it("leaves unread a critical value far from its range the report does not flag as critical (a lost digit: 1.2 printed L for 11.2 g/dL)", () => {
    expect(only([row("Hemoglobin", "1.2", "L", "g/dL", "12.0 - 16.0")]).result).toBeUndefined()
    expect(only([row("Hemoglobin", "1.2", "LL", "g/dL", "12.0 - 16.0")]).result).toMatchObject({ value: 1.2, flag: "critical_low" })
    // a critical value near its range is read as printed, flag or not
    expect(only([row("Sodium", "117", "", "mmol/L", "135 - 145")]).result).toMatchObject({ value: 117 })
  })

  it("drops specks before a name, and puts back a range's lost dash", () => {
    expect(only([row("hi MCV", "81", "", "fL", "80 - 100")]).result).toMatchObject({ name: "MCV", value: 81 })
    expect(only([row("25 White Biood Cell Count", "11.8", "H", "10^3/uL", "4.0 - 11.0")]).result).toMatchObject({ value: 11.8 })
    expect(only([row("Potassium", "4.1", "", "mmol/L", "3.55.1")]).result).toMatchObject({ value: 4.1, referenceRange: { low: 3.5, high: 5.1 } })
  })

  it("refuses one reading of a line without dropping the good one beside it", () => {
    const report = read(["FBS               27.2     mmol/L     4.1 - 5.9          490     mg/dL 74 - 106           H"])
    expect(report.results.map((r) => [r.name, r.value])).toEqual([["FBS", 27.2]])
  })

  it("reads a test the lexicon does not know only where the line vouches for its decimals, and for review", () => {
    // every point lost, or one that would be: nothing tells 59 from 5.9 here
    expect(only([row("Frobnicase", "59", "H", "U/L", "40 - 56")]).result).toBeUndefined()
    expect(only([row("Frobnicase", "59", "H", "U/L", "4.0 - 5.6")]).result).toBeUndefined()
    expect(only([row("Digoxin", "1.1", "", "ng/mL", "0.8 - 2.0")]).result).toMatchObject({ value: 1.1, ocr: { needsReview: true } })
    expect(only([row("Digoxin", "1.1", "H", "ng/mL", "0.8 - 2.0")]).result).toBeUndefined()
  })

  it("reads letters in numbers as digits, for review, where the result then holds together", () => {
    expect(only([row("Sodium", "l39", "", "mmol/L", "135 - 145")]).result).toMatchObject({ value: 139, ocr: { needsReview: true } })
    expect(only([row("Potassium", "4.O", "", "mmol/L", "3.5 - 5.1")]).result).toMatchObject({ value: 4 })
    expect(only([row("Sodium", "14S", "", "mmol/L", "135 - 145")]).result).toMatchObject({ value: 145, flag: "normal", ocr: { needsReview: true } })
    // S for 5 gives 145, which the printed H contradicts: not read
    expect(only([row("Sodium", "14S", "H", "mmol/L", "135 - 145")]).result).toBeUndefined()
  })

  it("keeps each line's confidence: low is flagged for review, very low is not read", () => {
    expect(only([row("Sodium", "139@60", "", "mmol/L", "135 - 145")]).result).toMatchObject({ ocr: { confidence: 0.6, needsReview: true } })
    expect(only([row("Sodium", "139@20", "", "mmol/L", "135 - 145")]).result).toBeUndefined()
  })

  it("text pages stay text: a mixed document marks only the OCR page's results", () => {
    const report = readOcrDocument([
      { _tag: "Text", page: 1, text: ["CHEMISTRY", HEADER, row("Sodium", "139", "", "mmol/L", "135 - 145")].join("\n") },
      { _tag: "Ocr", page: 2, ocr: ocrPageFromText(["CHEMISTRY", HEADER, row("Potassium", "4.1", "", "mmol/L", "3.5 - 5.1")].join("\n"), 2) }
    ])
    expect(report.results.map((r) => [r.page, r.name, r.ocr === undefined])).toEqual([
      [1, "Sodium", true],
      [2, "Potassium", false]
    ])
  })
})

/** Tests as a lab prints them: the range's decimals are the value's. */
const TESTS = [
  { name: "Potassium", unit: "mmol/L", low: 3.5, high: 5.1, decimals: 1, min: 25, max: 70 },
  { name: "Sodium", unit: "mmol/L", low: 135, high: 145, decimals: 0, min: 120, max: 160 },
  { name: "Creatinine", unit: "mg/dL", low: 0.57, high: 1.0, decimals: 2, min: 30, max: 300 },
  { name: "White Blood Cell Count", unit: "10^3/uL", low: 4, high: 11, decimals: 1, min: 15, max: 300 },
  { name: "Hemoglobin", unit: "g/dL", low: 12, high: 16, decimals: 1, min: 60, max: 190 },
  { name: "Hemoglobin A1c", unit: "%", low: 4, high: 5.6, decimals: 1, min: 40, max: 140 },
  { name: "Glucose", unit: "mg/dL", low: 70, high: 99, decimals: 0, min: 45, max: 400 },
  { name: "ALT", unit: "U/L", low: 0, high: 32, decimals: 0, min: 5, max: 300 },
  { name: "Platelet Count", unit: "10^3/uL", low: 150, high: 400, decimals: 0, min: 20, max: 900 }
] as const

const CONFUSE: Readonly<Record<string, string>> = { "0": "O", "1": "l", "5": "S" }

const printedRow = fc
  .record({
    test: fc.constantFrom(...TESTS),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    flagged: fc.boolean(),
    loseValuePoint: fc.boolean(),
    loseLowPoint: fc.boolean(),
    loseHighPoint: fc.boolean(),
    letterForDigit: fc.boolean(),
    confuseName: fc.boolean(),
    confuseUnit: fc.boolean(),
    seed: fc.nat()
  })
  .map((r) => {
    const t = r.test
    const steps = Math.round(t.min + r.at * (t.max - t.min))
    const value = steps / 10 ** t.decimals
    const printed = value.toFixed(t.decimals)
    const flag = !r.flagged ? "" : value < t.low ? "L" : value > t.high ? "H" : ""
    const low = t.low.toFixed(t.decimals)
    const high = t.high.toFixed(t.decimals)
    const lose = (s: string, yes: boolean) => (yes ? s.replace(".", "") : s)
    let shown = lose(printed, r.loseValuePoint)
    if (r.letterForDigit) {
      const digits = [...shown].map((c, i) => [c, i] as const).filter(([c]) => CONFUSE[c] !== undefined)
      const pick = digits[r.seed % Math.max(1, digits.length)]
      if (pick !== undefined) shown = shown.slice(0, pick[1]) + (CONFUSE[pick[0]] ?? pick[0]) + shown.slice(pick[1] + 1)
    }
    const name = r.confuseName ? t.name.replace("m", "rn").replace(/e/, "c") : t.name
    const unit = r.confuseUnit ? t.unit.replace("^", "7").replace("/L", "/l") : t.unit
    return { test: t, value, low: t.low, high: t.high, line: row(name, shown, flag, unit, `${lose(low, r.loseLowPoint)} - ${lose(high, r.loseHighPoint)}`) }
  })

describe("no misread value is presented as read", () => {
  it("whatever OCR lost or confused, every result read has the printed value and range", () => {
    fc.assert(
      fc.property(fc.array(printedRow, { minLength: 1, maxLength: 6 }), (rows) => {
        const report = read(rows.map((r) => r.line))
        for (const result of report.results) {
          // the header and title are lines 1 and 2
          const truth = rows[(result.line ?? 0) - 3]
          expect(truth, `a result on a line with no row: ${JSON.stringify(result)}`).toBeDefined()
          if (truth === undefined) continue
          expect(result.value).toBeCloseTo(truth.value, 9)
          expect(result.referenceRange.low ?? truth.low).toBeCloseTo(truth.low, 9)
          expect(result.referenceRange.high).toBeCloseTo(truth.high, 9)
        }
        // and nothing is dropped in silence: every row is a result or an unread line
        const accounted = new Set([...report.results.map((r) => r.line), ...report.unreadLines.map((u) => u.line)])
        rows.forEach((_, i) => expect(accounted.has(i + 3)).toBe(true))
      }),
      { numRuns: 400 }
    )
  })
})
