/**
 * Critical and plausibility checks of a value against the lexicon, in the analyte's own unit.
 *
 * A value is first expressed in the analyte's unit (units.ts converts with ucum-lhc, using the
 * analyte's molar mass and ionic charge); when that is not possible the answer is undefined,
 * never a guess at what the unit might have been. Limits are inclusive (a value exactly on a
 * critical limit is critical), matching the ≤ / ≥ of the published lists cited in
 * lexicon/table.ts; the comparison allows for conversion round-off (150 ×10⁹/L is 149.99999999999997
 * ×10³/µL after ucum-lhc).
 */
import type { Analyte } from "./lexicon/analytes.js"
import { convert } from "./units.js"

/** Units with no dimension, where ucum-lhc would happily turn any "%" into any other ratio. */
const DIMENSIONLESS = new Set(["1", "%", "{ratio}", "{INR}", "[pH]", "mmol/mol", "L/L", "{presence}", "{text}"])

/** An empty printed unit means the analyte's own unit only where the analyte has no dimension (INR, pH, specific gravity, ratios). */
const IMPLICIT_UNIT_OK = new Set(["1", "{ratio}", "{INR}", "[pH]"])

/**
 * HbA1c: NGSP/DCCT % from IFCC mmol/mol by the IFCC–NGSP master equation
 * (NGSP = 0.09148 × IFCC + 2.152; Hoelzel et al., Clin Chem 2004;50:166–174). UCUM's linear
 * % ↔ mmol/mol (6.5 % = 65 mmol/mol) is wrong for this analyte: 6.5 % is 48 mmol/mol.
 */
const hba1cPercentFromIfcc = (mmolPerMol: number): number => 0.09148 * mmolPerMol + 2.152

/** The value in the analyte's unit, or undefined when the printed unit cannot be converted to it. */
export const inAnalyteUnit = (analyte: Analyte, value: number, ucumUnit: string | undefined): number | undefined => {
  if (!Number.isFinite(value)) return undefined
  if (ucumUnit === undefined || ucumUnit.trim() === "") return IMPLICIT_UNIT_OK.has(analyte.unit) ? value : undefined
  if (ucumUnit === analyte.unit) return value
  if (analyte.id === "hba1c") return ucumUnit === "mmol/mol" ? hba1cPercentFromIfcc(value) : undefined
  const known = (analyte.alternateUnits ?? []).includes(ucumUnit)
  // between dimensionless units only the ones the analyte is known to be reported in
  if ((DIMENSIONLESS.has(analyte.unit) || DIMENSIONLESS.has(ucumUnit)) && !known) return undefined
  // mass ↔ substance ↔ equivalents only for units the analyte is reported in: potassium printed
  // with "mg/dL" is a misread, not 6.8 mg/dL = 1.7 mmol/L; same-dimension units (g/L → g/dL,
  // /uL → 10*3/uL) need no molar mass and always convert
  return known
    ? convert(value, ucumUnit, analyte.unit, analyte.molarMass, analyte.charge)
    : convert(value, ucumUnit, analyte.unit)
}

/** Is `value` at or beyond `limit` in the given direction, allowing for conversion round-off? */
const reaches = (value: number, limit: number, direction: "low" | "high"): boolean => {
  const tolerance = 1e-9 * Math.max(1, Math.abs(limit))
  return direction === "low" ? value <= limit + tolerance : value >= limit - tolerance
}

/** critical_low / critical_high when the value is beyond the analyte's critical limits after converting the printed unit (UCUM) to the analyte's unit; undefined otherwise or when the unit cannot be converted (never guess a unit). */
export const criticalFlag = (
  analyte: Analyte,
  value: number,
  ucumUnit: string | undefined
): "critical_low" | "critical_high" | undefined => {
  const limits = analyte.critical
  if (limits === undefined) return undefined
  const v = inAnalyteUnit(analyte, value, ucumUnit)
  if (v === undefined) return undefined
  if (limits.low !== undefined && reaches(v, limits.low, "low")) return "critical_low"
  if (limits.high !== undefined && reaches(v, limits.high, "high")) return "critical_high"
  return undefined
}

/** Is the value physiologically plausible for the analyte in that unit (converted)? undefined when it cannot tell. */
export const isPlausible = (analyte: Analyte, value: number, ucumUnit: string | undefined): boolean | undefined => {
  // words-only results (urine colour, nitrite present) have no numeric range to check
  if (analyte.unit === "{presence}" || analyte.unit === "{text}") return undefined
  const v = inAnalyteUnit(analyte, value, ucumUnit)
  if (v === undefined) return undefined
  return v >= analyte.plausible.low && v <= analyte.plausible.high
}

/**
 * Does the printed reference range say the row is not this analyte? A normal range cannot lie
 * beyond the analyte's critical limits nor outside what it can physically be: "Leucocytes  85 /mm3
 * (< 10)" in a urine section is not a blood count (as one, 85 /mm3 would be critically low). Then
 * the lexicon's limits must not be applied to the row.
 */
export const rangeContradicts = (
  analyte: Analyte,
  range: { readonly low?: number | undefined; readonly high?: number | undefined },
  ucumUnit: string | undefined
): boolean => {
  const low = range.low === undefined ? undefined : inAnalyteUnit(analyte, range.low, ucumUnit)
  const high = range.high === undefined ? undefined : inAnalyteUnit(analyte, range.high, ucumUnit)
  const limits = analyte.critical
  const outside = (v: number | undefined) => v !== undefined && (v < analyte.plausible.low || v > analyte.plausible.high)
  if (outside(low) || outside(high)) return true
  if (limits === undefined) return false
  return (high !== undefined && high > 0 && limits.low !== undefined && reaches(high, limits.low, "low")) ||
    (low !== undefined && limits.high !== undefined && reaches(low, limits.high, "high"))
}
