/** What the lexicon adds to every provider's results: LOINC, UCUM, critical limits, implausible values unread. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeOfflineLLM } from "../../../../src/layers/llm/offline.js"
import { enrichDocument } from "../../../../src/layers/llm/reader/enrich.js"
import { CRITICAL_ACTION, InterpretedDocument, LabResult, ReferenceRange } from "../../../../src/services/llm.js"

const result = (name: string, value: number | string, unit: string, flag: LabResult["flag"] = "normal", line = 1) =>
  new LabResult({ name, value, unit, referenceRange: new ReferenceRange({ text: "" }), flag, page: 1, line })

const documentOf = (...results: ReadonlyArray<LabResult>) =>
  new InterpretedDocument({ documentType: "lab_results", title: "Chemistry", results, vitals: [], summary: "s" })

describe("enrichDocument", () => {
  it("adds the LOINC code and the UCUM unit of a known test", () => {
    const [potassium, platelets] = enrichDocument(documentOf(result("Potassium", 4.1, "mmol/L"), result("Platelets", 250, "K/uL"))).results
    expect(potassium).toMatchObject({ loinc: "2823-3", ucumUnit: "mmol/L", flag: "normal" })
    expect(platelets).toMatchObject({ loinc: "777-3", ucumUnit: "10*3/uL" })
  })

  it("marks a value beyond the published critical limit critical, in the analyte's unit after conversion", () => {
    const enriched = enrichDocument(
      documentOf(
        result("Potassium", 6.8, "mmol/L", "high"),
        result("Glucose", 38, "mg/dL", "low"),
        result("Hemoglobin", 58, "g/L", "low"),
        result("Platelets", 14, "x10^9/L", "low"),
        result("Sodium", 139, "mmol/L")
      )
    )
    expect(enriched.results.map((r) => [r.name, r.flag, r.flagSource])).toEqual([
      ["Potassium", "critical_high", "critical_limit"],
      ["Glucose", "critical_low", "critical_limit"],
      ["Hemoglobin", "critical_low", "critical_limit"],
      ["Platelets", "critical_low", "critical_limit"],
      ["Sodium", "normal", undefined]
    ])
  })

  it("a printed range that contradicts the lexicon (urine leucocytes, not a blood count) stops its limits", () => {
    const urine = new LabResult({
      name: "Leucocytes", value: 85, unit: "/mm3", flag: "high", page: 1, line: 40,
      referenceRange: new ReferenceRange({ high: 10, text: "< 10" })
    })
    const blood = new LabResult({
      name: "Leucocytes", value: 800, unit: "/mm3", flag: "low", page: 1, line: 16,
      referenceRange: new ReferenceRange({ low: 4000, high: 10000, text: "4000 - 10000" })
    })
    const [u, b] = enrichDocument(documentOf(urine, blood)).results
    // as a blood count 85 /mm3 would be critically low; its range (< 10 /mm3) says it is not one
    expect([u?.flag, u?.flagSource, u?.loinc]).toEqual(["high", undefined, undefined])
    expect([b?.flag, b?.flagSource]).toEqual(["critical_low", "critical_limit"])
  })

  it("a urine test named after a blood one keeps its value: no blood limits, no plausibility check", () => {
    const enriched = enrichDocument(
      documentOf(result("Sodium, urine (random)", 18, "mmol/L", "unknown"), result("U-Kalium", 9, "mmol/L", "unknown"), result("Sodium", 18, "mmol/L", "low"))
    )
    // the blood sodium of 18 mmol/L cannot be: its line is unread; the urine ones stay as read
    expect(enriched.results.map((r) => [r.name, r.flag, r.loinc])).toEqual([
      ["Sodium, urine (random)", "unknown", undefined],
      ["U-Kalium", "unknown", undefined]
    ])
    expect(enriched.unreadLines).toHaveLength(1)
  })

  it("never guesses a unit: an unknown unit or test leaves the result as read", () => {
    const enriched = enrichDocument(documentOf(result("Potassium", 6.8, "furlongs"), result("Zonulin", 999, "ng/mL")))
    expect(enriched.results.map((r) => [r.flag, r.loinc])).toEqual([
      ["normal", "2823-3"],
      ["normal", undefined]
    ])
  })

  it("a value the analyte cannot have (a lost decimal point) is not shown: its line is unread", () => {
    const enriched = enrichDocument(documentOf(result("Sodium", 139, "mmol/L", "normal", 1), result("Potassium", 41, "mmol/L", "high", 2)))
    expect(enriched.results.map((r) => r.name)).toEqual(["Sodium"])
    expect(enriched.unreadLines).toEqual([{ page: 1, line: 2, text: "Potassium 41 mmol/L" }])
  })
})

describe("offline provider: critical limits without a marker on the report", () => {
  it.effect("a potassium of 6.8 with only a range is critical, first, and the summary says to act now", () =>
    Effect.gen(function* () {
      const text = "Sodium      139   mmol/L   135-145\nPotassium   6.8   mmol/L   3.5-5.1\n"
      const { document } = yield* makeOfflineLLM().interpret({ bytes: new TextEncoder().encode(text), contentType: "text/plain" })
      expect(document.results[0]).toMatchObject({ name: "Potassium", flag: "critical_high", flagSource: "critical_limit", line: 2 })
      expect(document.summary.startsWith("Important: this document has a critical value (Potassium 6.8 mmol/L).")).toBe(true)
      expect(document.summary).toContain(CRITICAL_ACTION)
    })
  )
})
