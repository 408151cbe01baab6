/**
 * Unit conversion for trends (trends.ts), with NLM's @lhncbc/ucum-lhc: a module of its own so that
 * ucum-lhc and its unit tables are loaded only when a trend's values are in more than one unit.
 */
import ucum, { type UcumLhcUtils } from "@lhncbc/ucum-lhc"

let ucumUtils: UcumLhcUtils | undefined
const utils = () => (ucumUtils ??= ucum.UcumLhcUtils.getInstance())

/** `value` in `from` as `to` (UCUM codes), with a molar mass where mass meets substance; undefined when they do not convert. */
export const convertValue = (value: number, from: string, to: string, molarMass?: number): number | undefined => {
  if (from === to) return value
  // ratios without a dimension convert by their factors alone (7 % is "70 mmol/mol"), but such units name
  // different scales for the same test — HbA1c in % (NGSP) and in mmol/mol (IFCC) are related by a
  // regression, not a factor — so none is converted
  if (dimensionless(from) || dimensionless(to)) return undefined
  const result = utils().convertUnitTo(from, value, to, molarMass === undefined ? {} : { molecularWeight: molarMass })
  if (result.status !== "succeeded" || result.toVal === null || !Number.isFinite(result.toVal)) return undefined
  // four significant digits: more than any report prints, fewer than a float's noise
  return Number(result.toVal.toPrecision(4))
}

const dimensionless = (code: string): boolean => utils().convertUnitTo(code, 1, "1").status === "succeeded"
