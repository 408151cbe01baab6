/** The report's own marks: legends for +/− evaluation columns, and call-back notes. */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { applyLegend, findLegend, isLegendLine, splitCallBack } from "../../../../src/layers/llm/reader/marks.js"

describe("findLegend", () => {
  it.each([
    ["Legend: + = above reference range, - = below reference range", [["+", "high"], ["-", "low"]]],
    ["+ = value above the reference interval    − = value below the reference interval", [["+", "high"], ["-", "low"]]],
    ["Key: ↑ increased  ↓ decreased  * abnormal", [["↑", "high"], ["↓", "low"], ["*", "abnormal"]]],
    ["Bewertung: + erhöht, - erniedrigt, ++ kritisch erhöht", [["+", "high"], ["-", "low"]]],
    ["++ = critical high", [["++", "critical"]]]
  ])("%j", (line, entries) => {
    expect([...(findLegend([line]) ?? new Map()).entries()]).toEqual(entries)
  })

  it("prose is no legend: a dash before a word without `=` or a legend lead", () => {
    expect(findLegend(["Fasting - below 100 is desirable", "Sodium 139 mmol/L 135-145"])).toBeUndefined()
  })

  it("a legend line is recognised as such; a row is not", () => {
    const legend = findLegend(["Legend: + = above, - = below"])
    expect(isLegendLine("Legend: + = above, - = below", legend)).toBe(true)
    expect(isLegendLine("Glucose 112 + mg/dL 70-99", legend)).toBe(false)
    expect(isLegendLine("Legend: + = above, - = below", undefined)).toBe(false)
  })
})

describe("applyLegend", () => {
  const legend = findLegend(["Legend: + = above reference range, - = below reference range"])!

  it("replaces stand-alone marks by the flag they stand for", () => {
    expect(applyLegend("Glucose  112  +  mg/dL  70-99", legend)).toBe("Glucose  112  H  mg/dL  70-99")
    expect(applyLegend("Calcium  8.1  −  mg/dL  8.6 - 10.3", legend)).toBe("Calcium  8.1  L  mg/dL  8.6 - 10.3")
  })

  it("keeps glued marks (1+) and qualitative values", () => {
    expect(applyLegend("Protein   1+   Negative", legend)).toBe("Protein   1+   Negative")
  })

  it("property: a dash between two numbers is a range and stays", () => {
    fc.assert(
      fc.property(fc.float({ min: 0, max: 999, noNaN: true }), fc.float({ min: 0, max: 999, noNaN: true }), (a, b) => {
        const line = `Test  5  mg/dL  ${a.toFixed(1)} - ${b.toFixed(1)}`
        expect(applyLegend(line, legend)).toBe(line)
      })
    )
  })
})

describe("splitCallBack", () => {
  it.each([
    ["Potassium: 5.9 mmol/L (ref 3.5-5.1) CRITICAL HIGH - called to Dr. Ode 16:35", "Potassium: 5.9 mmol/L (ref 3.5-5.1) CRITICAL HIGH"],
    ["Sodium  118  LL  mmol/L  135-145  Dr. Ode notified 02:10 by J.K., read back", "Sodium  118  LL  mmol/L  135-145"],
    ["Glucose 38 mg/dL 70-99, phoned to ward 4 at 07:55", "Glucose 38 mg/dL 70-99"],
    ["Troponin I  2.4  ng/mL  <0.04  read back", "Troponin I  2.4  ng/mL  <0.04"]
  ])("%j", (line, text) => {
    expect(splitCallBack(line)).toEqual({ text, calledBack: true })
  })

  it("no note, or a verb that does not follow a value, changes nothing", () => {
    expect(splitCallBack("Sodium 139 mmol/L 135-145")).toEqual({ text: "Sodium 139 mmol/L 135-145", calledBack: false })
    expect(splitCallBack("Results reported to the ordering clinician")).toEqual({
      text: "Results reported to the ordering clinician",
      calledBack: false
    })
  })
})
