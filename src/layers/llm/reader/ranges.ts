/**
 * Reference ranges as rows print them: two bounds, one side ("<5.7", "up to 40"), ranges per sex,
 * expected words ("Negative"), labelled ("Ref:", "Normal:") and bracketed, maybe with their unit.
 */
import { collapse, NUM, type NumberStyle, toNumber } from "./text.js"
import { ABOVE_WORDS, BELOW_WORDS, comparatorKind, QUAL_LIST_RE, QUAL_RE, readUnit } from "./tokens.js"

/** A reference range: bounds (each inclusive or not), as printed, or the expected words. */
export interface RangeSpec {
  readonly low?: number
  readonly high?: number
  readonly lowInclusive: boolean
  readonly highInclusive: boolean
  readonly text: string
  /** A qualitative range ("Negative"): the expected text. */
  readonly expected?: string
}

/** A label before a range. Examples: "Ref: ", "Reference range ", "Normal values: ", "RR ", "Desirable: ", "Range = ". */
export const RANGE_LABEL =
  /^(?:(?:ref(?:erence)?\.?(?:\s*(?:range|interval|int\.?|values?))?|normal(?:\s+(?:range|values?))?|range|rr|(?:n|vr|rv|vn)(?=\s*[:=]|\s+[<>≤≥]?\d)|norm(?:wert|al)?|ref\.?-?bereich|valori?\s+normali|valores?\s+normales|desirable|optimal|target|goal|desiderabile|ottimale|deseable|[óo]ptimo|desej[áa]vel|[óo]timo|w[üu]nschenswert|optimal|souhaitable|optimale?|gew[üu]nscht|expected(?:\s+(?:range|values?))?|biological\s+ref(?:erence)?\.?\s+(?:interval|range))\s*[:=]?\s*|(?:ref|reference|normal|range)\s*[:=]\s*)/i

/** Inside brackets any short label may name the range: "(Non-diabetic: <5.7)", "(Adult: 0.6-1.3)". */
export const BRACKET_LABEL = /^\p{L}[\p{L} .'-]{0,24}:\s*/u

/** Outside brackets, a label of up to four words with single spaces between them: "Jejum: ", "Não gestantes: "; not "fL  Reference: ". */
export const OPEN_LABEL = /^\p{L}[\p{L}.'-]*(?: [\p{L}.'-]+){0,3}:\s*/u

/** Two bounds with a dash, "to" or "..". Examples: "3.5-5.1", "3,5 – 5,1", "-2 to 2", "10..20"; not "3.5-5.1.2", nor "3.5--5.1". */
// the high bound may carry a plus sign when the low one is negative: "-2.0-+2.0"
export const BETWEEN_RE = new RegExp(String.raw`^(${NUM})\s*(?:-|–|—|to|\.{2,3}|…|;)\s*(\+?${NUM.replace("[-−+]?", "")})(?![\d.,]*\d)`, "i")

/** "3.5 to 5.3", and the words other languages print: "0,70 à 1,05", "3,5 bis 5,1", "12 a 16", "135 al 145", "entre 3,5 e 5,1", "od 3,5 do 5,1". */
export const BETWEEN_TO_RE = new RegExp(String.raw`^(?:(?:de|von|van|da|entre|od)\s+)?(${NUM})\s+(?:to|à|a|bis|al|tot|fino\s+a|e|y|und|en|et|do|till|til|ile)\s+(${NUM})(?![\d.,]*\d)`, "i")

/** A range the lab says it has no numbers for: "Not Estab.", "Not established", "N/A", "See note". */
export const NO_RANGE_RE = /^(?:not\s+estab(?:lished|\.)?|not\s+applicable|n\/a|see\s+(?:note|comment)|no\s+range)(?![\p{L}])/iu


/** A one-sided range. Examples: "<5.7", "<= 200", "≥ 60", "< or = 100", "less than 150", "up to 40", "at least 1.0". */
export const COMPARATOR_RE = new RegExp(
  String.raw`^(<=|>=|=<|=>|<\s=|>\s=|≤|≥|⩽|⩾|<\s*or\s*=|>\s*or\s*=|<|>|less\s+than\s+or\s+equal\s+to|greater\s+than\s+or\s+equal\s+to|less\s+than|greater\s+than|under|below|up\s+to|over|above|at\s+least|do|bis|hasta|at[ée]|fino\s+a|tot|upp\s+till|op\s+til|jusqu'?\s*[àa]|inf[ée]rieur\s+[àa]|sup[ée]rieur\s+[àa]|${BELOW_WORDS}|${ABOVE_WORDS}|od|ab)\s*(${NUM})(?![\d.,]*\d)`,
  "i"
)

/** Two or more labelled ranges. Examples: "M: 13.5-17.5; F: 12.0-15.5", "Men 0.7-1.3 Women 0.6-1.1". */
export const SEX_RANGES_RE = new RegExp(
  String.raw`^(?:(?:m|f|male|female|men|women|adult|adults?|child(?:ren)?)\s*[:=]?\s*${NUM}\s*(?:-|–|—|to)\s*${NUM}\s*[;,]?\s*){2,}`,
  "i"
)


/** The range at the start of `s` (no label, no brackets); words only when `textAllowed`. */
export const rangeExpression = (
  s: string,
  style: NumberStyle,
  textAllowed: boolean
): { readonly spec: RangeSpec; readonly length: number } | undefined => {
  const none = NO_RANGE_RE.exec(s)
  if (none !== null) return { spec: { lowInclusive: true, highInclusive: true, text: collapse(none[0]) }, length: none[0].length }
  const sex = SEX_RANGES_RE.exec(s)
  // ranges per sex or age: kept as text, since the report does not say which one applies
  if (sex !== null) {
    // without the last separator: "M: 13-17; F: 12-15;" → "…; F: 12-15"
    return { spec: { lowInclusive: true, highInclusive: true, text: collapse(sex[0]).replace(/[;,]$/, "") }, length: sex[0].length }
  }
  const between = BETWEEN_TO_RE.exec(s) ?? BETWEEN_RE.exec(s)
  if (between !== null) {
    const low = toNumber(between[1] ?? "", style)
    const high = toNumber(between[2] ?? "", style)
    if (low === undefined || high === undefined || low > high) return undefined
    return { spec: { low, high, lowInclusive: true, highInclusive: true, text: collapse(between[0]) }, length: between[0].length }
  }
  const cmp = COMPARATOR_RE.exec(s)
  if (cmp !== null) {
    const bound = toNumber(cmp[2] ?? "", style)
    if (bound === undefined) return undefined
    const kind = comparatorKind(cmp[1] ?? "")
    const text = collapse(cmp[0])
    const spec: RangeSpec =
      kind === "lt" || kind === "le"
        ? { high: bound, lowInclusive: true, highInclusive: kind === "le", text }
        : { low: bound, lowInclusive: kind === "ge", highInclusive: true, text }
    return { spec, length: cmp[0].length }
  }
  if (textAllowed) {
    // "Negative", "Clear", and several words: "Pale yellow - yellow", "None / rare"
    const q = QUAL_LIST_RE.exec(s)
    if (q !== null) {
      const first = QUAL_RE.exec(q[0])?.[0] ?? q[0]
      return { spec: { lowInclusive: true, highInclusive: true, text: collapse(q[0]), expected: first }, length: q[0].length }
    }
  } else {
    // a number expected to be absent: "GLUCOSE, URINE  >1000  NEGATIVE  mg/dL"; "Nil", "not detected"; not "Negatively"
    const absent = /^(?:negative|none|not\s+detected|absent|nil|nie\s+wykryto|nieobecne|ujemny|negativ[oae]?|n[ée]gati(?:f|ve)|nicht\s+nachweisbar|no\s+detectad[oa]|n[ãa]o\s+detectad[oa]|non\s+d[ée]tect[ée]e?|nenalezeno|negatif|saptanmad[ıi])(?![\p{L}])/iu.exec(s)
    if (absent !== null) {
      return { spec: { lowInclusive: true, highInclusive: true, text: collapse(absent[0]), expected: absent[0] }, length: absent[0].length }
    }
  }
  return undefined
}

/** A range read from a row, with the unit printed inside it, and its length. */
export interface RangeRead {
  readonly spec: RangeSpec
  readonly unit?: string
  readonly length: number
}

/** A reference range, possibly labelled ("ref:", "Normal:") and bracketed, possibly with its unit inside. */
export const readRange = (s: string, style: NumberStyle, qualitativeValue: boolean): RangeRead | undefined => {
  let i = 0
  // an opening bracket: "(", "[ ", "{"
  const open = /^[([{]\s*/.exec(s)
  const close = open === null ? undefined : ({ "(": ")", "[": "]", "{": "}" } as const)[s[0] as "(" | "[" | "{"]
  if (open !== null) i += open[0].length
  // any short label before a range, in brackets or not: "(Non-diabetic: <5.7)", "Jejum: inferior a 150", "Não gestantes: inferior a 5,0"
  const label = RANGE_LABEL.exec(s.slice(i)) ?? (open === null ? OPEN_LABEL : BRACKET_LABEL).exec(s.slice(i))
  if (label !== null) i += label[0].length
  let expr = rangeExpression(s.slice(i), style, qualitativeValue || label !== null || open !== null)
  // "Normal" is a label ("Normal: 3.5-5.1") or the expected word itself ("Urobilinogen  Normal  Normal")
  if (expr === undefined && label !== null && qualitativeValue) {
    i -= label[0].length
    expr = rangeExpression(s.slice(i), style, true)
  }
  if (expr === undefined) return undefined
  i += expr.length
  let unit: string | undefined
  // the spaces before a unit
  const afterExpr = /^\s*/.exec(s.slice(i))?.[0].length ?? 0
  const maybeUnit = readUnit(s.slice(i + afterExpr))
  if (maybeUnit !== undefined && (close !== undefined || expr.spec.expected === undefined)) {
    unit = maybeUnit.unit
    i += afterExpr + maybeUnit.length
  }
  if (close !== undefined) {
    // the closing bracket, after optional spaces: " )", "]", "}"
    const closing = /^\s*([)\]}])/.exec(s.slice(i))
    if (closing === null || closing[1] !== close) return undefined
    i += closing[0].length
  }
  return unit === undefined ? { spec: expr.spec, length: i } : { spec: expr.spec, unit, length: i }
}
