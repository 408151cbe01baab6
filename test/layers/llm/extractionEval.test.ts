/**
 * The scoring behind `npm run eval:extraction` (test/support/extractionEval.ts): how rows pair,
 * which units and values count as equal, and what each ratio counts.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  addCounts,
  emptyCounts,
  lineLocations,
  metrics,
  normalizeName,
  type ReadResult,
  scoreDocument,
  scoreFailure,
  timesMatch,
  type Truth,
  type TruthResult,
  unitsEquivalent,
  valuesEqual
} from "../../support/extractionEval.js"

const row = (name: string, value: number | string, unit: string, line: number, extra: Partial<TruthResult> = {}): TruthResult => ({
  line,
  name,
  value,
  unit,
  range: null,
  flag: "normal",
  critical: false,
  ...extra
})

const read = (name: string, value: number | string, unit: string, extra: Partial<ReadResult> = {}): ReadResult => ({
  name,
  value,
  unit,
  referenceRange: { text: "" },
  flag: "normal",
  ...extra
})

const truthOf = (results: ReadonlyArray<TruthResult>, vitals: Truth["vitals"] = []): Truth => ({
  layouts: [1],
  documentType: results.length > 0 ? "lab_results" : "vitals",
  results,
  vitals
})

describe("pairing", () => {
  it("pairs by name ignoring case, spacing, trailing punctuation and dotted leaders", () => {
    expect(normalizeName("  POTASSIUM:  ")).toBe("potassium")
    expect(normalizeName("Glycémie à jeun ......")).toBe("glycémie à jeun")
    expect(normalizeName("Vitamin  B12\t(µg)")).toBe("vitamin b12 (ug)")
    const score = scoreDocument(truthOf([row("Potassium", 5.9, "mmol/L", 3), row("Glycémie à jeun", 1.32, "g/L", 4)]), {
      results: [read("POTASSIUM:", 5.9, "mmol/L"), read("Glycémie à jeun .....", 1.32, "g/L")],
      vitals: []
    })
    expect(score.counts.paired).toBe(2)
    expect(score.missed).toEqual([])
  })

  it("pairs through an alias, and not through a different name", () => {
    const truth = truthOf([row("Potassium", 4.1, "mmol/L", 2, { aliases: ["K"] }), row("Sodium", 140, "mmol/L", 3)])
    const score = scoreDocument(truth, { results: [read("K", 4.1, "mmol/L"), read("Sodium, urine", 40, "mmol/L")], vitals: [] })
    expect(score.counts.paired).toBe(1)
    expect(score.missed.map((t) => t.name)).toEqual(["Sodium"])
    expect(score.unpaired.map((r) => r.name)).toEqual(["Sodium, urine"])
  })

  it("pairs a repeated name in document order", () => {
    const truth = truthOf([row("Glucose", 98, "mg/dL", 5), row("Glucose", "Negative", "", 20)])
    const score = scoreDocument(truth, { results: [read("Glucose", 98, "mg/dL"), read("Glucose", "Negative", "")], vitals: [] })
    expect(score.counts.valueUnit).toBe(2)
    expect(score.mismatches).toEqual([])
  })

  it("prefers the returned row on the truth's line over document order", () => {
    const truth = truthOf([row("Glucose", 98, "mg/dL", 5), row("Glucose", "Negative", "", 20)])
    const swapped = { results: [read("Glucose", "Negative", "", { line: 20 }), read("Glucose", 98, "mg/dL", { line: 5 })], vitals: [] }
    expect(scoreDocument(truth, swapped).counts.valueUnit).toBe(2)
    // without lines the same rows pair in order, and both values are wrong
    const unlined = { results: [read("Glucose", "Negative", ""), read("Glucose", 98, "mg/dL")], vitals: [] }
    expect(scoreDocument(truth, unlined).counts.valueUnit).toBe(0)
  })

  it("matches a page's own line number when the reader gives a page", () => {
    const text = "header\nGlucose 98\n\fpage two\nGlucose 102"
    expect(lineLocations(text).map((l) => [l.page, l.pageLine])).toEqual([[1, 1], [1, 2], [2, 1], [2, 2]])
    const truth = truthOf([row("Glucose", 98, "mg/dL", 2), row("Glucose", 102, "mg/dL", 4)])
    const document = { results: [read("Glucose", 102, "mg/dL", { page: 2, line: 2 }), read("Glucose", 98, "mg/dL", { page: 1, line: 2 })], vitals: [] }
    expect(scoreDocument(truth, document, text).counts.valueUnit).toBe(2)
    expect(scoreDocument(truth, document).counts.valueUnit).toBe(0)
  })
})

describe("units", () => {
  it.each([
    ["x10^9/L", "10*9/L"],
    ["x10^9/L", "x10E9/L"],
    ["x10^9/L", "x10(9)/L"],
    ["10^9/L", "×10⁹/L"],
    ["K/uL", "10^3/uL"],
    ["K/uL", "x10E3/uL"],
    ["10*3/uL", "10^3/µL"],
    ["M/uL", "10^6/uL"],
    ["µmol/L", "umol/L"],
    ["mcg/dL", "ug/dL"],
    ["mL/min/1.73m²", "ml/min/1.73 m2"],
    ["mL/min/1,73m²", "mL/min/1.73m2"],
    ["mmol/L", "MMOL/L"],
    ["°C", "C"],
    ["bpm", "/min"],
    ["", ""]
  ])("%s ≈ %s", (a, b) => {
    expect(unitsEquivalent(a, b)).toBe(true)
  })

  it.each([
    ["mg/dL", "mmol/L"],
    ["x10^9/L", "x10^12/L"],
    ["K/uL", "M/uL"],
    ["", "%"],
    ["/100 WBC", "10^0/WBC"],
    ["mg/L", "mg/dL"]
  ])("%s ≠ %s", (a, b) => {
    expect(unitsEquivalent(a, b)).toBe(false)
  })
})

describe("values", () => {
  it("compares numbers within 1e-9, and a plain numeric string as its number", () => {
    expect(valuesEqual(5.9, 5.9 + 1e-12)).toBe(true)
    expect(valuesEqual(5.9, 5.91)).toBe(false)
    expect(valuesEqual(1250, "1250")).toBe(true)
    expect(valuesEqual(1250, "1,250")).toBe(false)
  })

  it("keeps comparators", () => {
    expect(valuesEqual("<0.5", 0.5)).toBe(false)
    expect(valuesEqual("<0.5", "0.5")).toBe(false)
    expect(valuesEqual("<0.5", ">0.5")).toBe(false)
    expect(valuesEqual("<0.5", "< 0.5")).toBe(true)
    expect(valuesEqual("<0.5", "< 0,50")).toBe(true)
    expect(valuesEqual(">20.0", ">20")).toBe(true)
    expect(valuesEqual("<=5", "≤5")).toBe(true)
  })

  it("compares text ignoring case and spaces", () => {
    expect(valuesEqual("Negative", " negative ")).toBe(true)
    expect(valuesEqual("10-20", "10 - 20")).toBe(true)
    expect(valuesEqual("1+", "2+")).toBe(false)
    expect(valuesEqual("Negative", "Positive")).toBe(false)
  })
})

describe("scores", () => {
  it("counts value+unit and flag against all truth rows, and precision against returned rows", () => {
    const truth = truthOf([
      row("Sodium", 128, "mmol/L", 1, { flag: "low" }),
      row("Potassium", 4.0, "mmol/L", 2),
      row("Chloride", 101, "mmol/L", 3),
      row("CRP", "<0.5", "mg/L", 4)
    ])
    const score = scoreDocument(truth, {
      results: [
        read("Sodium", 128, "mmol/L", { flag: "normal" }),
        read("Potassium", 4.0, ""),
        read("CRP", 0.5, "mg/L"),
        read("Collected", 2026, "")
      ],
      vitals: [],
      unreadLines: [{ line: 9, text: "Chloride 101 mmol/L" }]
    })
    expect(score.counts.paired).toBe(3)
    expect(score.counts.valueUnit).toBe(1) // sodium; potassium lost its unit, CRP its comparator
    expect(score.counts.flag).toBe(2) // potassium and CRP
    expect(score.mismatches.map((m) => [m.truth.name, m.problems])).toEqual([
      ["Sodium", ["flag"]],
      ["Potassium", ["unit"]],
      ["CRP", ["value"]]
    ])
    expect(score.missed.map((t) => t.name)).toEqual(["Chloride"])
    expect(score.unpaired.map((r) => r.name)).toEqual(["Collected"])
    const m = metrics(score.counts)
    expect(m.recall).toBe(0.75)
    expect(m.valueUnit).toBe(0.25)
    expect(m.flag).toBe(0.5)
    expect(m.precision).toBe(0.75)
    expect(m.unread).toBe(1)
    // the unread line (9) is not the missed chloride's (3): chloride was dropped in silence
    expect(m.silent).toBe(1)
    const reported = scoreDocument(truth, { results: [], vitals: [], unreadLines: [{ line: 3, text: "Chloride 101 mmol/L" }] })
    expect(metrics(reported.counts).silent).toBe(3)

  })

  it("counts a critical row as marked only when its pair has a critical flag", () => {
    const truth = truthOf([
      row("Potassium", 6.9, "mmol/L", 1, { flag: "critical_high", critical: true }),
      row("Glucose", 36, "mg/dL", 2, { flag: "critical_low", critical: true }),
      row("Platelets", 14, "x10^9/L", 3, { flag: "critical_low", critical: true }),
      row("Sodium", 140, "mmol/L", 4)
    ])
    const score = scoreDocument(truth, {
      results: [
        read("Potassium", 6.9, "mmol/L", { flag: "critical_high" }),
        read("Glucose", 36, "mg/dL", { flag: "low" }),
        read("Sodium", 140, "mmol/L", { flag: "critical_high" })
      ],
      vitals: []
    })
    expect(score.counts.criticalRows).toBe(3)
    expect(score.counts.criticalMarked).toBe(1)
    expect(metrics(score.counts).critical).toBeCloseTo(1 / 3, 12)
    expect(score.counts.flag).toBe(1)
  })

  it("pairs vitals by kind and time, a date alone matching any time that day", () => {
    expect(timesMatch("2026-03-02T07:05", "2026-03-02T07:05:00Z")).toBe(true)
    expect(timesMatch("2026-03-02T07:05", "2026-03-02T07:10")).toBe(false)
    expect(timesMatch("2026-03-02", "2026-03-02T21:40")).toBe(true)
    expect(timesMatch("2026-03-02", "2026-03-03")).toBe(false)
    const truth = truthOf(
      [],
      [
        { line: 5, kind: "blood_pressure", time: "2026-03-02T07:05", value: 128, diastolic: 84, unit: "mmHg" },
        { line: 5, kind: "pulse", time: "2026-03-02T07:05", value: 72, unit: "bpm" },
        { line: 6, kind: "blood_pressure", time: "2026-03-02T07:10", value: 131, diastolic: 86, unit: "mmHg" }
      ]
    )
    const score = scoreDocument(truth, {
      results: [],
      vitals: [
        { kind: "pulse", time: "2026-03-02T07:05", value: 72, unit: "beats/min" },
        { kind: "blood_pressure", time: "2026-03-02T07:05", value: 128, diastolic: 48, unit: "mmHg" },
        { kind: "weight", time: "2026-03-02", value: 74.6, unit: "kg" }
      ]
    })
    expect(score.counts.pairedVitals).toBe(2)
    expect(score.counts.accurateVitals).toBe(1) // the pressure's diastolic is wrong
    expect(score.missedVitals.map((v) => v.line)).toEqual([6])
    expect(score.unpairedVitals.map((v) => v.kind)).toEqual(["weight"])
    const m = metrics(score.counts)
    expect(m.vitalsRecall).toBeCloseTo(2 / 3, 12)
    expect(m.vitalsPrecision).toBeCloseTo(2 / 3, 12)
    // the missed 07:10 pressure (line 6): nothing was read from its line nor said unread — dropped in silence
    expect(m.silentVitals).toBe(1)
    const misdated = scoreDocument(truth, { results: [], vitals: [{ kind: "blood_pressure", time: "2026-03-03T07:10", value: 131, diastolic: 86, unit: "mmHg", line: 6 }] })
    // line 5's two readings are silent; line 6's was read (with a wrong date): missed, but not in silence
    expect(misdated.counts.silentVitals).toBe(2)
    const unread = scoreDocument(truth, { results: [], vitals: [], unreadLines: [{ line: 5, text: "07:05 128/84 72" }, { line: 6, text: "07:10 131/86" }] })
    expect(unread.counts.silentVitals).toBe(0)
  })

  it("scores a failed reading as everything missed, and adds counts", () => {
    const truth = truthOf([row("Sodium", 140, "mmol/L", 1), row("Potassium", 4.1, "mmol/L", 2)])
    const failed = scoreFailure(truth)
    expect(failed.counts.failures).toBe(1)
    expect(failed.missed.length).toBe(2)
    const good = scoreDocument(truth, { results: [read("Sodium", 140, "mmol/L"), read("Potassium", 4.1, "mmol/L")], vitals: [] })
    const total = addCounts(addCounts(emptyCounts, failed.counts), good.counts)
    expect(total.documents).toBe(2)
    expect(metrics(total).recall).toBe(0.5)
    expect(metrics(total).precision).toBe(1)
  })
})
