/**
 * The analyte lexicon: its table is well-formed (valid UCUM units, LOINC codes with correct check
 * digits, critical limits inside plausible ranges), unambiguous by construction, and lookups
 * survive the ways reports spell names (case, accents, qualifiers, languages) while refusing to
 * choose between two analytes.
 */
import ucum from "@lhncbc/ucum-lhc"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  ANALYTES,
  analyteCandidates,
  findAnalyte,
  findAnalyteMention,
  lexiconProblems,
  lookupAnalyte,
  lookupAnalyteForUnit,
  normaliseName
} from "../../../../src/layers/llm/reader/lexicon/analytes.js"
import { isValidLoinc, loincCheckDigit } from "../../../../src/layers/llm/reader/lexicon/loinc.js"

const validByUcumLhc = (code: string): boolean => {
  const result = ucum.UcumLhcUtils.getInstance().validateUnitString(code)
  return result.status === "valid" && result.ucumCode === code
}

const idOf = (name: string) => lookupAnalyte(name)?.id

describe("the table", () => {
  it("has at least 100 analytes with distinct ids", () => {
    expect(ANALYTES.length).toBeGreaterThanOrEqual(100)
    expect(new Set(ANALYTES.map((a) => a.id)).size).toBe(ANALYTES.length)
  })

  it("every unit and alternate unit is valid UCUM", () => {
    for (const a of ANALYTES) {
      for (const unit of [a.unit, ...(a.alternateUnits ?? [])]) expect(validByUcumLhc(unit), `${a.id}: ${unit}`).toBe(true)
    }
  })

  it("every LOINC code has LOINC's syntax and check digit", () => {
    for (const a of ANALYTES) {
      if (a.loinc === undefined) continue
      // LOINC syntax, e.g. "2823-3"
      expect(a.loinc, a.id).toMatch(/^\d{1,7}-\d$/)
      expect(isValidLoinc(a.loinc), `${a.id}: ${a.loinc}`).toBe(true)
    }
    expect(new Set(ANALYTES.flatMap((a) => (a.loinc === undefined ? [] : [a.loinc]))).size).toBe(
      ANALYTES.filter((a) => a.loinc !== undefined).length
    )
  })

  it("the usual codes named in the brief", () => {
    const codes = Object.fromEntries(ANALYTES.map((a) => [a.id, a.loinc]))
    expect(codes).toMatchObject({
      potassium: "2823-3", sodium: "2951-2", glucose: "2345-7", hemoglobin: "718-7", platelets: "777-3", wbc: "6690-2",
      creatinine: "2160-0", hba1c: "4548-4"
    })
  })

  it("plausible ranges are ordered and critical limits lie inside them, low below high", () => {
    for (const a of ANALYTES) {
      expect(a.plausible.low, a.id).toBeLessThanOrEqual(a.plausible.high)
      const { low, high } = a.critical ?? {}
      if (low !== undefined) expect(low, a.id).toBeGreaterThanOrEqual(a.plausible.low)
      if (high !== undefined) expect(high, a.id).toBeLessThanOrEqual(a.plausible.high)
      if (low !== undefined && high !== undefined) expect(low, a.id).toBeLessThan(high)
    }
  })

  it("has critical limits for the analytes the brief lists", () => {
    const withLimits = new Set(ANALYTES.filter((a) => a.critical !== undefined).map((a) => a.id))
    for (const id of [
      "potassium", "sodium", "glucose", "calcium", "calcium_ionized", "magnesium", "phosphate", "hemoglobin", "hematocrit", "platelets",
      "wbc", "inr", "aptt", "fibrinogen", "troponin_i", "lactate", "ph_blood", "pco2", "po2", "bicarbonate", "bilirubin_total", "ammonia"
    ]) expect(withLimits.has(id), id).toBe(true)
    // high-sensitivity troponins have assay- and sex-specific cut-offs, not one critical number
    expect(withLimits.has("hs_troponin_i")).toBe(false)
    expect(withLimits.has("hs_troponin_t")).toBe(false)
  })
})

describe("LOINC check digit", () => {
  it("known codes", () => {
    expect(loincCheckDigit("2823")).toBe(3)
    expect(loincCheckDigit("12345")).toBe(5) // the LOINC Users' Guide example
    expect(loincCheckDigit("10839")).toBe(9)
    expect(isValidLoinc("2823-3")).toBe(true)
    expect(isValidLoinc("2823-4")).toBe(false)
    expect(isValidLoinc("2823")).toBe(false)
    expect(isValidLoinc("12345678-0")).toBe(false)
    expect(isValidLoinc("LP1234-5")).toBe(false)
  })

  it("property: exactly one check digit fits, and any single changed digit is caught", () => {
    fc.assert(
      // the number part of a LOINC code, e.g. "2823"
      fc.property(fc.stringMatching(/^\d{1,7}$/), fc.nat(), fc.integer({ min: 1, max: 9 }), (digits, at, delta) => {
        const fitting = [...Array(10).keys()].filter((d) => isValidLoinc(`${digits}-${d}`))
        if (fitting.length !== 1) return false
        const i = at % digits.length
        const changed = digits.slice(0, i) + String((Number(digits[i]) + delta) % 10) + digits.slice(i + 1)
        return !isValidLoinc(`${changed}-${fitting[0]}`)
      }),
      { numRuns: 500 }
    )
  })
})

describe("unambiguous by construction", () => {
  it("no normalised synonym belongs to two analytes, and no declared-ambiguous name is also a synonym", () => {
    expect(lexiconProblems()).toEqual({ collisions: [], declaredButListed: [] })
  })

  it("every analyte's name and synonyms look up to that analyte", () => {
    for (const a of ANALYTES) {
      for (const printed of [a.name, ...a.synonyms]) expect(idOf(printed), `${a.id}: ${printed}`).toBe(a.id)
    }
  })

  it("property: case, accents and specimen qualifiers do not change the answer", () => {
    const pairs = ANALYTES.flatMap((a) => [a.name, ...a.synonyms].map((s) => [a, s] as const))
    // combining marks after NFD, e.g. the diaeresis of "Hämoglobin"
    const stripAccents = (s: string) => s.normalize("NFD").replace(/\p{M}/gu, "")
    fc.assert(
      fc.property(
        fc.constantFrom(...pairs),
        fc.constantFrom("upper", "lower", "asis"),
        fc.boolean(),
        fc.constantFrom("", ", serum", " (serum)", " - plasma", ", blood", " (calc)", " level"),
        fc.constantFrom("", "S-", "P-", "Serum "),
        ([analyte, printed], casing, accents, suffix, prefix) => {
          const cased = casing === "upper" ? printed.toUpperCase() : casing === "lower" ? printed.toLowerCase() : printed
          const text = prefix + (accents ? stripAccents(cased) : cased) + suffix
          return idOf(text) === analyte.id
        }
      ),
      { numRuns: 2000 }
    )
  })
})

describe("lookupAnalyte", () => {
  it.each([
    ["Potassium", "potassium"], ["K", "potassium"], ["K+", "potassium"], ["Kalium", "potassium"], ["Potasio", "potassium"],
    ["Potassium, serum", "potassium"], ["Potassium (K)", "potassium"], ["S-Kalium", "potassium"], ["POTASSIUM, SERUM", "potassium"],
    ["Potasyum", "potassium"], ["S-Draslík", "potassium"], ["Glukoz (Açlık)", "glucose"], ["AÇLIK KAN ŞEKERİ", "glucose"], ["Kalsiyum (Ca)", "calcium"],
    ["Wapń całkowity", "calcium"], ["Płytki krwi", "platelets"], ["Trombocytter;B", "platelets"], ["Hæmoglobin;B", "hemoglobin"],
    ["Hämoglobin", "hemoglobin"], ["Hamoglobin", "hemoglobin"], ["Haemoglobin", "hemoglobin"], ["B-Hb", "hemoglobin"], ["Hémoglobine", "hemoglobin"],
    ["Hemoglobina", "hemoglobin"], ["Natrium", "sodium"], ["Leukozyten", "wbc"], ["Thrombozyten", "platelets"], ["Kreatinin", "creatinine"],
    ["Harnstoff", "urea"], ["Harnsäure", "uric_acid"], ["Cholesterin", "cholesterol_total"], ["Glycémie", "glucose"], ["Créatinine", "creatinine"],
    ["Leucocytes", "wbc"], ["Plaquettes", "platelets"], ["Glucosa", "glucose"], ["Creatinina", "creatinine"], ["Leucocitos", "wbc"],
    ["Plaquetas", "platelets"], ["Colesterol", "cholesterol_total"], ["Emoglobina", "hemoglobin"], ["Piastrine", "platelets"],
    ["Gesamteiweiß", "total_protein"], ["Gesamteiweiss", "total_protein"], ["Glucose (fasting)", "glucose"], ["P-Glucose", "glucose"],
    ["Creatinine (serum)", "creatinine"], ["LDL Cholesterol (calc)", "ldl"], ["Triglycerides", "triglycerides"], ["Triglyceride", "triglycerides"],
    ["25(OH)D", "vitamin_d_25oh"], ["Vitamin D, 25-Hydroxy", "vitamin_d_25oh"], ["pO₂", "po2"], ["A/G Ratio", "albumin_globulin_ratio"],
    ["Hgb A1c", "hba1c"], ["eGFR", "egfr"], ["Protein, urine", "urine_protein"], ["U-Protein", "urine_protein"], ["Urine pH", "urine_ph"],
    ["Glucose, urine", "urine_glucose"], ["WBC/HPF", "urine_wbc"], ["Neutrophils %", "neutrophils_pct"], ["NEUT#", "neutrophils_abs"],
    ["Absolute neutrophil count", "neutrophils_abs"], ["Colour", "urine_color"]
  ])("%s → %s", (printed, id) => {
    expect(idOf(printed)).toBe(id)
  })

  it("blood-gas analysers' names: c (concentration), ct (total) or F before the symbol, conditions in brackets after it", () => {
    expect(["cK+", "cNa+", "cCa2+", "cCl-", "cGlu", "cLac", "ctHb", "cHCO3-(P,st)"].map(idOf)).toEqual([
      "potassium",
      "sodium",
      "calcium_ionized",
      "chloride",
      "glucose",
      "lactate",
      "hemoglobin",
      "bicarbonate"
    ])
    // "Ca++" and "Ca2+" are the free (ionized) calcium; an unknown symbol stays unknown
    expect([idOf("Ca++"), idOf("Ca2+"), idOf("cXyz"), idOf("Ca")]).toEqual(["calcium_ionized", "calcium_ionized", undefined, "calcium"])
  })

  it("look-alike abbreviations stay apart", () => {
    expect(idOf("Ca")).toBe("calcium")
    expect(idOf("CA 125")).toBe("ca125")
    expect(idOf("CA-125")).toBe("ca125")
    expect(idOf("CA 19-9")).toBe("ca19_9")
    expect(idOf("T3")).toBe("t3_total")
    expect(idOf("Free T3")).toBe("free_t3")
    expect(idOf("FT3")).toBe("free_t3")
    expect(idOf("MCH")).toBe("mch")
    expect(idOf("MCHC")).toBe("mchc")
    expect(idOf("Cl")).toBe("chloride")
    expect(idOf("CO2")).toBe("co2_total")
    expect(idOf("pCO2")).toBe("pco2")
    expect(idOf("Troponin I")).toBe("troponin_i")
    expect(idOf("hs-Troponin I")).toBe("hs_troponin_i")
  })

  it("ambiguous or unknown names are undefined, never a guess", () => {
    for (const name of ["Protein", "pH", "Neutrophils", "Lymphocytes", "Eos", "TP", "Saturation", "Calcium (foo)", "Widget", "", "   ", "Dr. Kalium"]) {
      expect(idOf(name), name).toBeUndefined()
    }
    // a bracketed word that is not a qualifier changes the analyte; the base name is not assumed
    expect(idOf("Potassium (urine)")).not.toBe("potassium")
    expect(analyteCandidates("Protein").map((a) => a.id).sort()).toEqual(["total_protein", "urine_protein"])
  })

  it("an ambiguous name is settled by its unit only when exactly one candidate fits", () => {
    expect(lookupAnalyteForUnit("Neutrophils", "%")?.id).toBe("neutrophils_pct")
    expect(lookupAnalyteForUnit("Neutrophils", "10*9/L")?.id).toBe("neutrophils_abs")
    expect(lookupAnalyteForUnit("Lymphs", "10*3/uL")?.id).toBe("lymphocytes_abs")
    expect(lookupAnalyteForUnit("Protein", "mg/dL")).toBeUndefined()
    expect(lookupAnalyteForUnit("Neutrophils", undefined)).toBeUndefined()
    expect(lookupAnalyteForUnit("Potassium", undefined)?.id).toBe("potassium")
  })

  it("normalises names the same way whatever the spelling", () => {
    expect(normaliseName("Hämoglobin")).toBe(normaliseName("HAMOGLOBIN"))
    expect(normaliseName("Haemoglobin")).toBe(normaliseName("hemoglobin"))
    expect(normaliseName("Platelets")).toBe(normaliseName("platelet"))
    expect(normaliseName("Base excess")).toBe("base excess")
  })
})

describe("findAnalyte", () => {
  it("finds a name at the start of a result line, with its span", () => {
    const text = "Potassium: 5.9 mmol/L (ref 3.5-5.1)"
    const found = findAnalyte(text)
    expect(found?.analyte.id).toBe("potassium")
    expect(text.slice(found?.start, found?.end)).toBe("Potassium")
  })

  it("prefers the longest name at a place", () => {
    expect(findAnalyte("MCHC 33.1 g/dL")?.analyte.id).toBe("mchc")
    expect(findAnalyte("CA 125 35 U/mL")?.analyte.id).toBe("ca125")
    // a decimal is one token: calcium 12.5, not "CA 12-5"
    expect(findAnalyte("Ca 12.5 mg/dL")?.analyte.id).toBe("calcium")
    expect(findAnalyte("Free T3 3.1 pg/mL")?.analyte.id).toBe("free_t3")
    const ldl = "LDL Cholesterol (calc) 120 mg/dL"
    const found = findAnalyte(ldl)
    expect(found?.analyte.id).toBe("ldl")
    expect(ldl.slice(found?.start, found?.end)).toBe("LDL Cholesterol (calc)")
  })

  it("whole words only, and not a person's name", () => {
    expect(findAnalyte("Kaliumchlorid 10 mg")).toBeUndefined()
    expect(findAnalyte("Ordering physician: Dr. Kalium")).toBeUndefined()
    expect(findAnalyte("Befund: Prof. Natrium")).toBeUndefined()
  })

  it("one- and two-letter names only at the start of the line (after specimen prefixes)", () => {
    expect(findAnalyte("K 4.1 mmol/L")?.analyte.id).toBe("potassium")
    const nordic = findAnalyte("S-K 4.1")
    expect(nordic?.analyte.id).toBe("potassium")
    expect(nordic?.start).toBe(2)
    expect(findAnalyte("Vitamin K 5")).toBeUndefined()
    expect(findAnalyte("Patient seen in ward B, Ca level to follow")).toBeUndefined()
  })

  it("an ambiguous name gives no analyte but is reported as a mention", () => {
    expect(findAnalyte("Neutrophils 60 %")).toBeUndefined()
    expect(findAnalyteMention("Neutrophils 60 %")?.candidates.map((a) => a.id).sort()).toEqual(["neutrophils_abs", "neutrophils_pct"])
    expect(findAnalyte("Neutrophils % 60")?.analyte.id).toBe("neutrophils_pct")
  })

  it("property: a result line made from any unambiguous name finds that analyte at the start", () => {
    const pairs = ANALYTES.flatMap((a) => [a.name, ...a.synonyms].map((s) => [a, s] as const))
    fc.assert(
      fc.property(fc.constantFrom(...pairs), fc.constantFrom(" 12.5 mg/dL", ": 3.1", "\t4.0 H 3.5 - 5.1"), ([analyte, printed], rest) => {
        const found = findAnalyte(printed + rest)
        // the span starts at the name's first letter, digit or symbol, e.g. 0 for "Potassium", 0 for "% Neutrophils"
        return found?.analyte.id === analyte.id && found.start === printed.search(/[\p{L}\p{N}%#+]/u)
      }),
      { numRuns: 1500 }
    )
  })
})
