/**
 * The parts of NLM's @lhncbc/ucum-lhc (a CommonJS package without types) that the reader's units
 * module uses. Only what units.ts calls is declared, so a wrong call is a type error here rather
 * than an `any` slipping through.
 */
declare module "@lhncbc/ucum-lhc" {
  export interface ValidateResult {
    /** "invalid" also when ucum-lhc only has a suggestion (e.g. "Gauss" → "G"): not a valid code as given. */
    readonly status: "valid" | "invalid" | "error"
    readonly ucumCode: string | null
    readonly msg: ReadonlyArray<string>
  }
  export interface ConvertOptions {
    readonly suggest?: boolean
    /** g/mol; needed between mass and substance (mg/dL ↔ mmol/L). */
    readonly molecularWeight?: number
    /** absolute ionic charge; needed between equivalents and substance or mass (meq/L ↔ mmol/L). */
    readonly charge?: number
  }
  export interface ConvertResult {
    readonly status: "succeeded" | "failed" | "error"
    readonly toVal: number | null
    readonly msg: ReadonlyArray<string>
  }
  export interface UcumLhcUtils {
    validateUnitString(code: string, suggest?: boolean, valConv?: "validate" | "convert"): ValidateResult
    convertUnitTo(fromCode: string, fromVal: number, toCode: string, options?: ConvertOptions): ConvertResult
  }
  export interface UcumPackage {
    readonly UcumLhcUtils: { getInstance(): UcumLhcUtils }
  }
  const ucum: UcumPackage
  export default ucum
  export const UcumLhcUtils: UcumPackage["UcumLhcUtils"]
}
