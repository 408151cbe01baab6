/**
 * The reader's units module: printed spellings map to the UCUM code a lab means, whatever it
 * accepts is valid UCUM by ucum-lhc's own validator (a property over generated spellings), and
 * conversions go through ucum-lhc with molar mass and charge where needed.
 */
import ucum from "@lhncbc/ucum-lhc"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { convert, looksLikeUnit, readUnit, toUcum } from "../../../../src/layers/llm/reader/units.js"

/** ucum-lhc's verdict, independent of the module under test (and its cache). */
const validByUcumLhc = (code: string): boolean => {
  const result = ucum.UcumLhcUtils.getInstance().validateUnitString(code)
  return result.status === "valid" && result.ucumCode === code
}

const DOCUMENTED: ReadonlyArray<readonly [string, string]> = [
  ["10^3/uL", "10*3/uL"],
  ["x10E3/uL", "10*3/uL"],
  ["K/uL", "10*3/uL"],
  ["x10^9/L", "10*9/L"],
  ["µmol/L", "umol/L"],
  ["μmol/L", "umol/L"],
  ["umol/L", "umol/L"],
  ["mcmol/L", "umol/L"],
  ["mL/min/1.73m²", "mL/min/{1.73_m2}"],
  ["IU/L", "[IU]/L"],
  ["mEq/L", "meq/L"],
  ["mmHg", "mm[Hg]"],
  ["°C", "Cel"],
  ["°F", "[degF]"],
  ["lb", "[lb_av]"],
  ["%", "%"],
  ["ratio", "{ratio}"],
  ["/HPF", "/[HPF]"],
  ["cells/uL", "/uL"]
]

const MORE: ReadonlyArray<readonly [string, string]> = [
  ["10³/µL", "10*3/uL"],
  ["x 10^9 / L", "10*9/L"],
  ["10(9)/L", "10*9/L"],
  ["×10^12/L", "10*12/L"],
  ["10*3/uL", "10*3/uL"],
  ["G/L", "10*9/L"],
  // thousand, million and lakh in other languages: German, Polish, Portuguese, Indian reports
  ["Tsd/µl", "10*3/uL"],
  ["Tsd./µl", "10*3/uL"],
  ["tys/µl", "10*3/uL"],
  ["mln/µl", "10*6/uL"],
  ["mil/mm³", "10*3/mm3"],
  ["milhões/mm³", "10*6/mm3"],
  ["mil/cumm", "10*6/mm3"],
  ["lakhs/cumm", "10*5/mm3"],
  ["T/L", "10*12/L"],
  ["M/uL", "10*6/uL"],
  ["thou/cumm", "10*3/mm3"],
  ["g/L", "g/L"],
  ["mg/dl", "mg/dL"],
  ["MG/DL", "mg/dL"],
  ["mmol/l", "mmol/L"],
  ["mIU/mL", "m[IU]/mL"],
  ["µIU/mL", "u[IU]/mL"],
  ["UI/L", "[IU]/L"],
  ["U/L", "U/L"],
  ["ng/mL", "ng/mL"],
  ["pg/mL", "pg/mL"],
  ["fL", "fL"],
  ["pg", "pg"],
  ["kg", "kg"],
  ["lbs", "[lb_av]"],
  ["bpm", "/min"],
  ["sec", "s"],
  ["mm/hr", "mm/h"],
  ["mm Hg", "mm[Hg]"],
  ["kPa", "kPa"],
  ["EU/dL", "{Ehrlich'U}/dL"],
  ["/LPF", "/[LPF]"],
  ["mL/min/1.73 m2", "mL/min/{1.73_m2}"],
  ["ml/min/1,73m^2", "mL/min/{1.73_m2}"],
  ["mcg/dL", "ug/dL"],
  ["10³/mm³", "10*3/mm3"],
  ["mmol/mol", "mmol/mol"],
  ["/mcL", "/uL"]
]

describe("toUcum", () => {
  it.each(DOCUMENTED)("documented spelling %s → %s", (printed, code) => {
    expect(toUcum(printed)).toBe(code)
    expect(looksLikeUnit(printed)).toBe(true)
  })

  it.each(MORE)("further spelling %s → %s", (printed, code) => {
    expect(toUcum(printed)).toBe(code)
  })

  it("every code it returns is valid by ucum-lhc itself", () => {
    for (const [, code] of [...DOCUMENTED, ...MORE]) expect(validByUcumLhc(code), code).toBe(true)
  })

  it("reads no unit into what is not one: flags, names, numbers, empty text", () => {
    for (const token of ["", " ", "L", "H", "K", "U", "Potassium", "5.9", "ref", "3.5-5.1", "HIGH", "Dr.", "mg/foo", "x10^9", "10/L"]) {
      expect(toUcum(token), token).toBeUndefined()
      expect(looksLikeUnit(token), token).toBe(false)
    }
  })

  it("keeps the printed text beside the code", () => {
    expect(readUnit(" µmol/L ")).toEqual({ printed: " µmol/L ", ucum: "umol/L" })
    expect(readUnit("widgets")).toEqual({ printed: "widgets", ucum: undefined })
  })

  it("property: any case and spacing of an accepted spelling gives valid UCUM or nothing, never an invalid code", () => {
    const spellings = [...DOCUMENTED, ...MORE].map(([p]) => p)
    const variant = fc
      .tuple(
        fc.constantFrom(...spellings),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        fc.constantFrom("", " ", "  "),
        fc.constantFrom("/", " /", "/ ", " / ")
      )
      .map(([printed, flips, pad, slash]) => {
        const cased = [...printed].map((c, i) => (flips[i] === true ? c.toUpperCase() : c.toLowerCase())).join("")
        return pad + cased.split("/").join(slash) + pad
      })
    fc.assert(
      fc.property(variant, (printed) => {
        const code = toUcum(printed)
        return code === undefined || validByUcumLhc(code)
      }),
      { numRuns: 500 }
    )
  })

  it("property: arbitrary text never throws and never yields an invalid code; what reads as a code looks like a unit", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 16 }), (text) => {
        const code = toUcum(text)
        if (code !== undefined && !validByUcumLhc(code)) return false
        // whatever reads as a UCUM code also classifies as a unit
        return code === undefined || looksLikeUnit(text)
      }),
      { numRuns: 1000 }
    )
  })
})

describe("convert", () => {
  it("glucose 100 mg/dL is 5.55 mmol/L with molar mass 180.16", () => {
    expect(convert(100, "mg/dL", "mmol/L", 180.16)).toBeCloseTo(5.55, 2)
    expect(convert(5.55, "mmol/L", "mg/dL", 180.16)).toBeCloseTo(100, 0)
  })

  it("platelets: 150 ×10³/µL equal 150 ×10⁹/L, and 150000 /µL", () => {
    expect(convert(150, "10*3/uL", "10*9/L")).toBeCloseTo(150, 9)
    expect(convert(150000, "/uL", "10*3/uL")).toBeCloseTo(150, 9)
  })

  it("temperature both ways and weight", () => {
    expect(convert(98.6, "[degF]", "Cel")).toBeCloseTo(37, 9)
    expect(convert(37, "Cel", "[degF]")).toBeCloseTo(98.6, 9)
    expect(convert(150, "[lb_av]", "kg")).toBeCloseTo(68.04, 2)
  })

  it("equivalents need the ionic charge", () => {
    expect(convert(140, "meq/L", "mmol/L", undefined, 1)).toBeCloseTo(140, 9)
    expect(convert(5, "meq/L", "mmol/L", undefined, 2)).toBeCloseTo(2.5, 9)
    expect(convert(140, "meq/L", "mmol/L")).toBeUndefined()
  })

  it("unconvertible pairs give undefined", () => {
    expect(convert(100, "mg/dL", "mmol/L")).toBeUndefined() // no molar mass
    expect(convert(1, "g/dL", "s")).toBeUndefined()
    expect(convert(1, "/[HPF]", "/uL")).toBeUndefined()
    expect(convert(1, "furlong", "m")).toBeUndefined()
    expect(convert(Number.NaN, "g/L", "g/dL")).toBeUndefined()
  })

  it("property: g/L → g/dL → g/L returns the value", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (v) => {
        const there = convert(v, "g/L", "g/dL")
        const back = there === undefined ? undefined : convert(there, "g/dL", "g/L")
        return back !== undefined && Math.abs(back - v) <= 1e-9 * Math.max(1, v)
      }),
      { numRuns: 200 }
    )
  })
})

describe("loading", () => {
  it("importing the module does not load ucum-lhc's unit tables; the first conversion does", () => {
    // a fresh process: this test file has already loaded the tables for its own checks
    const root = fileURLToPath(new URL("../../../../", import.meta.url))
    const script = [
      'const { UnitTables } = (await import("@lhncbc/ucum-lhc")).default',
      'const units = await import("./src/layers/llm/reader/units.ts")',
      "const before = UnitTables.getInstance().unitsCount()",
      'units.toUcum("mg/dL")',
      "console.log(JSON.stringify({ before, after: UnitTables.getInstance().unitsCount() }))"
    ].join(";")
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" })
    const { before, after } = JSON.parse(out.trim()) as { before: number; after: number }
    expect(before).toBe(0)
    expect(after).toBeGreaterThan(500)
  })
})
