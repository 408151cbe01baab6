/**
 * Critical and plausibility flags: values are converted to the analyte's unit before comparing
 * (never a guessed unit), limits are inclusive, and conversion round-off does not move a value
 * that sits exactly on a limit (a property over every limit and every unit it may be printed in).
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { criticalFlag, inAnalyteUnit, isPlausible } from "../../../../src/layers/llm/reader/critical.js"
import { ANALYTES, type Analyte, analyteById } from "../../../../src/layers/llm/reader/lexicon/analytes.js"
import { convert } from "../../../../src/layers/llm/reader/units.js"

const get = (id: string): Analyte => {
  const a = analyteById(id)
  if (a === undefined) throw new Error(`no analyte ${id}`)
  return a
}

describe("criticalFlag", () => {
  it("the brief's examples", () => {
    expect(criticalFlag(get("potassium"), 6.8, "mmol/L")).toBe("critical_high")
    expect(criticalFlag(get("glucose"), 38, "mg/dL")).toBe("critical_low")
    expect(criticalFlag(get("glucose"), 2.1, "mmol/L")).toBe("critical_low") // converted to mg/dL: 37.8
    expect(criticalFlag(get("hemoglobin"), 58, "g/L")).toBe("critical_low") // 5.8 g/dL
    expect(criticalFlag(get("platelets"), 14, "10*9/L")).toBe("critical_low")
  })

  it("values inside the limits are not flagged", () => {
    expect(criticalFlag(get("potassium"), 4.1, "mmol/L")).toBeUndefined()
    expect(criticalFlag(get("glucose"), 5.5, "mmol/L")).toBeUndefined()
    expect(criticalFlag(get("hemoglobin"), 140, "g/L")).toBeUndefined()
    expect(criticalFlag(get("platelets"), 250000, "/uL")).toBeUndefined()
  })

  it("limits are inclusive: a value exactly on a limit is critical, just inside is not", () => {
    expect(criticalFlag(get("potassium"), 6.2, "mmol/L")).toBe("critical_high")
    expect(criticalFlag(get("potassium"), 6.19, "mmol/L")).toBeUndefined()
    expect(criticalFlag(get("potassium"), 2.8, "mmol/L")).toBe("critical_low")
    expect(criticalFlag(get("potassium"), 2.81, "mmol/L")).toBeUndefined()
    expect(criticalFlag(get("sodium"), 120, "meq/L")).toBe("critical_low")
    // 910 ×10⁹/L is 909.9999999999999 ×10³/µL after conversion: still on the limit
    expect(criticalFlag(get("platelets"), 910, "10*9/L")).toBe("critical_high")
    expect(criticalFlag(get("hemoglobin"), 66, "g/L")).toBe("critical_low")
  })

  it("never guesses a unit: unknown, missing or misread units give undefined", () => {
    expect(criticalFlag(get("potassium"), 6.8, undefined)).toBeUndefined()
    expect(criticalFlag(get("potassium"), 6.8, "")).toBeUndefined()
    expect(criticalFlag(get("potassium"), 6.8, "furlong")).toBeUndefined()
    expect(criticalFlag(get("potassium"), 6.8, "g/dL")).toBeUndefined()
    // potassium is not reported in mg/dL: a value printed so is a misread, not 1.7 mmol/L
    expect(criticalFlag(get("potassium"), 6.8, "mg/dL")).toBeUndefined()
    expect(criticalFlag(get("glucose"), 38, undefined)).toBeUndefined()
    expect(criticalFlag(get("inr"), 6, "%")).toBeUndefined()
  })

  it("an empty unit is the analyte's own only for dimensionless analytes", () => {
    expect(criticalFlag(get("inr"), 5.2, undefined)).toBe("critical_high")
    expect(criticalFlag(get("inr"), 5.2, "{INR}")).toBe("critical_high")
    expect(criticalFlag(get("ph_blood"), 7.1, "")).toBe("critical_low")
    expect(criticalFlag(get("ph_blood"), 7.4, undefined)).toBeUndefined()
  })

  it("converts between mass and substance with the analyte's molar mass", () => {
    expect(criticalFlag(get("glucose"), 30, "mmol/L")).toBe("critical_high") // 540 mg/dL
    expect(criticalFlag(get("calcium"), 1.5, "mmol/L")).toBe("critical_low") // 6.0 mg/dL
    expect(criticalFlag(get("calcium_ionized"), 3.0, "mg/dL")).toBe("critical_low") // 0.75 mmol/L
    expect(criticalFlag(get("bilirubin_total"), 300, "umol/L")).toBe("critical_high") // 17.5 mg/dL
    expect(criticalFlag(get("ammonia"), 400, "ug/dL")).toBe("critical_high") // 235 µmol/L
    expect(criticalFlag(get("troponin_i"), 350, "ng/L")).toBe("critical_high") // 0.35 ng/mL
  })

  it("high-sensitivity troponin has no critical limit", () => {
    expect(criticalFlag(get("hs_troponin_i"), 50000, "ng/L")).toBeUndefined()
    expect(criticalFlag(get("hs_troponin_t"), 50000, "ng/L")).toBeUndefined()
  })

  it("the hematocrit limit holds as a percentage and as a fraction", () => {
    expect(criticalFlag(get("hematocrit"), 15, "%")).toBe("critical_low")
    expect(criticalFlag(get("hematocrit"), 0.15, "L/L")).toBe("critical_low")
    expect(criticalFlag(get("hematocrit"), 0.65, "1")).toBe("critical_high")
  })

  it("property: every limit, printed in any of the analyte's units, is flagged on the limit and not halfway between", () => {
    const cases = ANALYTES.flatMap((a) =>
      [a.unit, ...(a.alternateUnits ?? [])].flatMap((unit) =>
        (["low", "high"] as const).flatMap((side) => {
          const limit = a.critical?.[side]
          return limit === undefined ? [] : [{ a, unit, side, limit }]
        })
      )
    )
    expect(cases.length).toBeGreaterThan(40)
    fc.assert(
      fc.property(fc.constantFrom(...cases), ({ a, unit, side, limit }) => {
        const printed = unit === a.unit ? limit : convert(limit, a.unit, unit, a.molarMass, a.charge)
        if (printed === undefined) return true // an alternate without a conversion (e.g. mmol/L for a count): nothing to check
        return criticalFlag(a, printed, unit) === `critical_${side}`
      }),
      { numRuns: 300 }
    )
    for (const a of ANALYTES) {
      const { low, high } = a.critical ?? {}
      if (low !== undefined && high !== undefined) expect(criticalFlag(a, (low + high) / 2, a.unit), a.id).toBeUndefined()
    }
  })

  it("property: beyond a limit stays critical, whatever the distance", () => {
    const withHigh = ANALYTES.filter((a) => a.critical?.high !== undefined)
    fc.assert(
      fc.property(fc.constantFrom(...withHigh), fc.double({ min: 0, max: 1e4, noNaN: true }), (a, extra) =>
        criticalFlag(a, (a.critical?.high ?? 0) + extra, a.unit) === "critical_high"
      ),
      { numRuns: 300 }
    )
  })
})

describe("isPlausible", () => {
  it("tells misreads from sick patients", () => {
    expect(isPlausible(get("potassium"), 6.8, "mmol/L")).toBe(true)
    expect(isPlausible(get("potassium"), 45, "mmol/L")).toBe(false) // a decimal point lost
    expect(isPlausible(get("hemoglobin"), 140, "g/L")).toBe(true)
    expect(isPlausible(get("hemoglobin"), 140, "g/dL")).toBe(false) // g/L value with a g/dL unit
    expect(isPlausible(get("hemoglobin"), 8.7, "mmol/L")).toBe(true) // Dutch reports: 8.7 mmol/L ≈ 14 g/dL
    expect(isPlausible(get("hematocrit"), 0.42, "L/L")).toBe(true)
    expect(isPlausible(get("hematocrit"), 0.42, "%")).toBe(false)
  })

  it("HbA1c in IFCC mmol/mol uses the master equation, not UCUM's linear percent", () => {
    expect(inAnalyteUnit(get("hba1c"), 48, "mmol/mol")).toBeCloseTo(6.54, 2)
    expect(isPlausible(get("hba1c"), 48, "mmol/mol")).toBe(true)
    expect(isPlausible(get("hba1c"), 48, "%")).toBe(false)
  })

  it("undefined when it cannot tell", () => {
    expect(isPlausible(get("potassium"), 4, undefined)).toBeUndefined()
    expect(isPlausible(get("potassium"), 4, "furlong")).toBeUndefined()
    expect(isPlausible(get("urine_nitrite"), 1, "{presence}")).toBeUndefined()
    expect(isPlausible(get("potassium"), Number.NaN, "mmol/L")).toBeUndefined()
  })
})
