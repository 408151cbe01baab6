/**
 * Whole reports generated from a row model: random column order and spacing, flag and range
 * styles, decimal mark, page breaks with repeated banners and headers, wrapped names and noise
 * lines. The reader must recover at least 99% of the generated rows, and never return a row that
 * was not generated.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { parseLabReport } from "../../../../src/layers/llm/reader/index.js"

interface Row {
  readonly name: string
  readonly unit: string
  readonly low: number
  readonly high: number
  readonly decimals: number
  readonly value: number
  readonly flagStyle: "letter" | "word" | "glued" | "none"
  readonly rangeStyle: "dash" | "spaced" | "to" | "upper"
  /** Wrap the name after this many words (0: no wrap). */
  readonly wrapAt: number
}

// names with units and ranges of the usual kind; some long enough to wrap
const TESTS: ReadonlyArray<readonly [string, string, number, number, number]> = [
  ["Sodium", "mmol/L", 135, 145, 0],
  ["Potassium", "mmol/L", 3.5, 5.1, 1],
  ["Chloride", "mmol/L", 98, 107, 0],
  ["Glucose, fasting", "mg/dL", 70, 99, 0],
  ["Creatinine", "mg/dL", 0.6, 1.3, 2],
  ["Alanine Aminotransferase (ALT)", "U/L", 7, 56, 0],
  ["Aspartate Aminotransferase (AST)", "U/L", 10, 40, 0],
  ["Hemoglobin", "g/dL", 12, 16, 1],
  ["White Blood Cell Count", "x10^9/L", 4, 11, 1],
  ["Platelet Count", "x10^9/L", 150, 400, 0],
  ["Thyroid Stimulating Hormone, Third Generation", "mIU/L", 0.4, 4.0, 2],
  ["Ferritin", "ng/mL", 15, 150, 0],
  ["N-Terminal Pro B-Type Natriuretic Peptide", "pg/mL", 0, 125, 0],
  ["Vitamin B12", "pg/mL", 200, 900, 0],
  ["Magnesium", "mg/dL", 1.7, 2.2, 1],
  ["Triglycerides", "mg/dL", 0, 150, 0]
]

const rowArb: fc.Arbitrary<Row> = fc
  .record({
    test: fc.constantFrom(...TESTS),
    position: fc.double({ min: -0.4, max: 1.4, noNaN: true }),
    flagStyle: fc.constantFrom("letter", "word", "glued", "none") as fc.Arbitrary<Row["flagStyle"]>,
    rangeStyle: fc.constantFrom("dash", "spaced", "to", "upper") as fc.Arbitrary<Row["rangeStyle"]>,
    wrap: fc.boolean()
  })
  .map(({ test: [name, unit, low, high, decimals], position, flagStyle, rangeStyle, wrap }) => {
    const raw = low + (high - low) * position
    const value = Math.max(Math.round(raw * 10 ** decimals) / 10 ** decimals, 10 ** -decimals)
    const words = name.split(" ")
    return {
      name,
      unit,
      low,
      high,
      decimals,
      value,
      flagStyle,
      // a one-sided range only for tests that start at 0
      rangeStyle: low === 0 ? "upper" : rangeStyle === "upper" ? "dash" : rangeStyle,
      wrapAt: wrap && words.length >= 3 ? Math.ceil(words.length / 2) : 0
    }
  })

type Column = "value" | "flag" | "unit" | "range"

interface Style {
  readonly comma: boolean
  readonly columns: ReadonlyArray<Column>
  readonly gap: number
  readonly rowsPerPage: number
  readonly noise: ReadonlyArray<string>
}

const styleArb: fc.Arbitrary<Style> = fc.record({
  comma: fc.boolean(),
  // the value first; flag, unit and range after it in any order
  columns: fc.shuffledSubarray(["flag", "unit", "range"] as Array<Column>, { minLength: 3, maxLength: 3 }).map((rest) => ["value" as Column, ...rest]),
  gap: fc.integer({ min: 2, max: 6 }),
  rowsPerPage: fc.integer({ min: 4, max: 12 }),
  noise: fc.array(
    fc.constantFrom(
      "Specimen slightly hemolyzed; interpret potassium with caution.",
      "Result verified by repeat analysis.",
      "Performed at: Northgate Reference Laboratory, 14 Mill Lane",
      "Reviewed by: Dr. A. Okafor",
      "Fasting: Yes"
    ),
    { maxLength: 3 }
  )
})

const num = (n: number, decimals: number, comma: boolean) => {
  const s = n.toFixed(decimals)
  return comma ? s.replace(".", ",") : s
}

const flagOf = (row: Row): "low" | "normal" | "high" => (row.value < row.low ? "low" : row.value > row.high ? "high" : "normal")

const cell = (row: Row, column: Column, style: Style): string => {
  const flag = flagOf(row)
  const d = Math.max(row.decimals, 1)
  switch (column) {
    case "value": {
      const value = num(row.value, row.decimals, style.comma)
      return row.flagStyle === "glued" && flag !== "normal" ? `${value}${flag === "high" ? "H" : "L"}` : value
    }
    case "flag":
      if (flag === "normal" || row.flagStyle === "none" || row.flagStyle === "glued") return ""
      return row.flagStyle === "letter" ? (flag === "high" ? "H" : "L") : flag === "high" ? "High" : "Low"
    case "unit":
      return row.unit
    case "range":
      switch (row.rangeStyle) {
        case "dash":
          return `${num(row.low, d, style.comma)}-${num(row.high, d, style.comma)}`
        case "spaced":
          return `${num(row.low, d, style.comma)} - ${num(row.high, d, style.comma)}`
        case "to":
          return `(${num(row.low, d, style.comma)} to ${num(row.high, d, style.comma)})`
        case "upper":
          return `<${num(row.high, d, style.comma)}`
      }
  }
}

const LABELS: Record<Column, string> = { value: "Result", flag: "Flag", unit: "Units", range: "Reference Range" }
const WIDTHS: Record<Column, number> = { value: 9, flag: 5, unit: 9, range: 16 }
const NAME_WIDTH = 46

/** The report as text: banner and header on every page, rows (some wrapped), noise between them. */
const render = (rows: ReadonlyArray<Row>, style: Style): string => {
  const pad = (s: string, width: number) => s.padEnd(width + style.gap)
  const header = pad("Test", NAME_WIDTH) + style.columns.map((c) => pad(LABELS[c], WIDTHS[c])).join("").trimEnd()
  const banner = ["Westbrook Clinical Laboratory", "Patient: DOE, JANE    DOB: 1984-03-12    MRN: 00458821"]
  const lines: Array<string> = []
  rows.forEach((row, i) => {
    if (i % style.rowsPerPage === 0) {
      if (i > 0) lines.push(`Page ${i / style.rowsPerPage} of ${Math.ceil(rows.length / style.rowsPerPage)}`, "\f")
      lines.push(...banner, "", header)
    }
    const rest = style.columns.map((c) => pad(cell(row, c, style), WIDTHS[c])).join("").trimEnd()
    if (row.wrapAt > 0) {
      const words = row.name.split(" ")
      lines.push(words.slice(0, row.wrapAt).join(" "))
      lines.push(pad(`  ${words.slice(row.wrapAt).join(" ")}`, NAME_WIDTH) + rest)
    } else {
      lines.push(pad(row.name, NAME_WIDTH) + rest)
    }
    const noise = style.noise[i % 7]
    if (noise !== undefined && i % 3 === 2) lines.push(`  ${noise}`)
  })
  return lines.join("\n")
}

describe("generated reports", () => {
  it("property: ≥ 99% of generated rows come back with their name, value, unit and flag; nothing is invented", () => {
    let generated = 0
    let recovered = 0
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 30 }), styleArb, (rows, style) => {
        const text = render(rows, style)
        const { results } = parseLabReport(text)
        const wanted = rows.map((r) => JSON.stringify([r.name, r.value, r.unit, flagOf(r)]))
        const got = results.map((r) => JSON.stringify([r.name, r.value, r.unit, r.flag]))
        // nothing invented: every row read is one that was generated (as often as it was)
        const pool = [...wanted]
        for (const g of got) {
          const at = pool.indexOf(g)
          expect(at, `${g} was not generated:\n${text}`).toBeGreaterThanOrEqual(0)
          pool.splice(at, 1)
        }
        generated += wanted.length
        recovered += got.length
      }),
      { numRuns: 200 }
    )
    expect(recovered / generated).toBeGreaterThanOrEqual(0.99)
  })
})
