/**
 * Results written in sentences, as a GP's e-mail or letter gives them: "Your haemoglobin was 118 g/L
 * (normal for women 120 to 150).", "ALT 22 IU/L (up to 33) and alkaline phosphatase 84 IU/L (30 to 130)
 * were normal." Read only where the sentence names a known test right before its value and unit, so
 * that a dose ("ferrous fumarate 210 mg"), a target ("lower HbA1c by 3 to 5 mmol/mol") or a score is
 * not taken for a result. Pure functions, no Effect; never throws.
 */
import { findAnalyteMention } from "./lexicon/analytes.js"
import { TARGET_NAME_RE, toParsedRange } from "./rows.js"
import { flagFromRange } from "./rowFlags.js"
import { type NumberStyle, toNumber } from "./text.js"
import { comparatorKind, readUnit } from "./tokens.js"
import type { RangeSpec } from "./ranges.js"
import type { ParsedResult } from "./types.js"

/** A value in a sentence: a number, maybe after a comparator, not inside a word or a date. Examples: "118", ">90", "6.1". */
const SENTENCE_VALUE_RE = /(?<![\p{L}\p{N}.,/:-])([<>]=?|≤|≥)?\s?(\d+(?:[.,]\d+)?)(?![\p{N}]|[.,]\d|\/\d)/gu

/**
 * Words between a test's name and its value, as the sentence ends. Examples: "was", "were", "is",
 * "came back at", "came back as", "measured", "measured at", "of", "at", "reported as", ":", "=".
 */
const LINK_RE =
  /(?:\s+(?:was|were|is|are|came\s+back\s+(?:at|as)|measured(?:\s+at)?|reported\s+as|of|at|now|still|remains?|(?:mildly|slightly|markedly|very|only)|(?:high|low|raised|elevated|normal|positive|negative|reduced|increased|decreased|abnormal|borderline|suppressed))|\s*[:=])+\s*$/i

/**
 * Words that open a clause before a name, and words that describe the value rather than name the test: "Your",
 * "the", "and", "with", "His", "a suppressed", "a mildly raised", "a normal".
 */
const OPENER_RE =
  /^(?:(?:your|the|his|her|their|and|but|while|with|also|a|an|mildly|slightly|markedly|very|high|low|raised|elevated|normal|reduced|increased|decreased|abnormal|borderline|suppressed)\s+)+/i

/** Words that only link a name to its value, with nothing else: "was low at", "is", "of", "". */
const linksOnly = (clause: string): boolean => ` ${clause.trim()}`.replace(LINK_RE, "").trim() === ""

/**
 * A range in words inside the brackets after a value, the first one there. Examples: "120 to 150",
 * "0.35 - 4.94", "up to 33", "under 42", "below 21", "less than 5", "above 1.2", "over 60",
 * "at least 60", "60 or higher", "5 or less".
 */
const RANGE_WORDS: ReadonlyArray<readonly [RegExp, (a: number, b: number | undefined) => Omit<RangeSpec, "text">]> = [
  [/(\d+(?:[.,]\d+)?)\s*(?:to|-|–)\s*(\d+(?:[.,]\d+)?)/, (a, b) => ({ low: a, high: b!, lowInclusive: true, highInclusive: true })],
  [/(?:up\s+to|under|below|less\s+than|lower\s+than|<=?|≤)\s*(\d+(?:[.,]\d+)?)/i, (a) => ({ high: a, lowInclusive: true, highInclusive: false })],
  [/(?:above|over|more\s+than|greater\s+than|at\s+least|>=?|≥)\s*(\d+(?:[.,]\d+)?)/i, (a) => ({ low: a, lowInclusive: false, highInclusive: true })],
  [/(\d+(?:[.,]\d+)?)\s+or\s+(?:higher|more|above|over)/i, (a) => ({ low: a, lowInclusive: true, highInclusive: true })],
  [/(\d+(?:[.,]\d+)?)\s+or\s+(?:lower|less|below|under)/i, (a) => ({ high: a, lowInclusive: true, highInclusive: true })]
]

/** The range inside a bracket that follows a value, if it holds one. */
const rangeInWords = (inside: string, style: NumberStyle): RangeSpec | undefined => {
  let best: { readonly at: number; readonly spec: RangeSpec } | undefined
  for (const [re, make] of RANGE_WORDS) {
    const m = re.exec(inside)
    if (m === null || (best !== undefined && best.at <= m.index)) continue
    const a = toNumber(m[1] ?? "", style)
    const b = m[2] === undefined ? undefined : toNumber(m[2], style)
    if (a === undefined || (m[2] !== undefined && (b === undefined || a > b))) continue
    best = { at: m.index, spec: { ...make(a, b), text: m[0] } }
  }
  if (best === undefined) return undefined
  // the words the range is printed with, up to a semicolon: "ideally under 5.0", "normal for women 120 to 150"
  const text = inside.split(";")[0]!.replace(/^(?:the\s+lab'?s\s+range\s+is|normal|range|ref(?:erence)?)\s*:?\s*/i, "").trim()
  return { ...best.spec, text: text.length <= 60 ? text : best.spec.text }
}

/** The last words of a long clause from the first known test's name among its last three words: "… showed a suppressed TSH" → "TSH". */
const lastNamedWords = (clause: string): string | undefined => {
  const words = clause.split(/\s+/)
  for (let k = Math.max(0, words.length - 3); k < words.length; k++) {
    const tail = words.slice(k).join(" ")
    const mention = findAnalyteMention(tail)
    if (mention !== undefined && mention.start === 0 && mention.end === tail.length) return tail
  }
  return undefined
}

/** The test named right before a value: the clause's last words, without its opener and linking words. */
const nameBefore = (clause: string): string | undefined => {
  // explanations in brackets are not part of the name: "MCV (size of the red cells)", "Ferritin (iron stores)"
  const plain = clause.replace(/\s*\([^()]*\)/g, "").replace(LINK_RE, "").trim()
  // the clause starts after the last sentence break, colon, semicolon, comma or "and"
  const start = Math.max(
    plain.lastIndexOf(". "),
    plain.lastIndexOf(": "),
    plain.lastIndexOf("; "),
    plain.lastIndexOf(", "),
    // a bracket closed from the line above: "<45) with a normal bilirubin of"
    plain.lastIndexOf(") "),
    plain.search(/\s+and\s+(?!.*\s+and\s+)/i)
  )
  const clauseWords = plain.slice(start < 0 ? 0 : start).replace(/^[.:;,)]?\s*(?:and\s+)?/i, "").replace(OPENER_RE, "").trim()
  // a long clause names its test in its last words, after a verb and the words that describe the value:
  // "Her bloods from 09/06/2026 showed a suppressed TSH of" → "TSH"
  const words = clauseWords.split(/\s+/).length > 5 ? lastNamedWords(clauseWords) : clauseWords
  if (words === undefined || words === "" || words.split(/\s+/).length > 5 || TARGET_NAME_RE.test(words)) return undefined
  const mention = findAnalyteMention(words)
  // the name ends with the test it names: "Total cholesterol", "white cell count"; not "lower HbA1c by"
  if (mention === undefined || mention.end !== words.length) return undefined
  return words
}

/**
 * The results a line of prose gives, each a known test's name, a value with its unit, and the
 * range in the brackets after it when there is one (the flag is computed from it). Empty when
 * the line is not prose or names no result.
 */
export const readProseResults = (line: string, style: NumberStyle, nextLine = "", previousLine = ""): ReadonlyArray<ParsedResult> => {
  const text = line.trim()
  // a bracket left open at the end of the line closes on the next: "44 mmol/mol (we consider" / "under 42 normal; …)"
  const withNext = `${text} ${nextLine.trim()}`
  // prose: single spaces between words, at least four words
  if (/\S\s{3,}\S|\t|\|/.test(text) || (text.match(/\p{L}+/gu)?.length ?? 0) < 4) return []
  const out: Array<ParsedResult> = []
  let from = 0
  for (const m of text.matchAll(SENTENCE_VALUE_RE)) {
    const at = m.index ?? 0
    if (at < from) continue
    const number = toNumber(m[2] ?? "", style)
    if (number === undefined) continue
    const afterValue = at + m[0].length
    const gap = /^\s?/.exec(text.slice(afterValue))?.[0].length ?? 0
    // the unit, or at the end of the line the unit that starts the next: "LDL 4.0" over "mmol/L, HDL 1.1 mmol/L"
    const unitHere = readUnit(text.slice(afterValue + gap))
    const unitBelow = unitHere === undefined && text.slice(afterValue).trim() === "" ? readUnit(nextLine.trim()) : undefined
    const unit = unitHere ?? unitBelow
    if (unit === undefined) continue
    let end = afterValue + gap + unit.length
    // the name, or at the start of the line the name that ends the line above: "… ALP 88 U/L (30-130). Ferritin" over
    // "was low at 9 ug/L (20-200)", "… and sodium" over "139 mmol/L (135-145)"
    const clause = text.slice(from, at)
    const name = nameBefore(clause) ?? (from === 0 && linksOnly(clause) && previousLine.trim() !== "" ? nameBefore(`${previousLine.trim()} ${clause}`) : undefined)
    if (name === undefined) continue
    if (unitBelow !== undefined) {
      out.push(proseResult(name, m[1], m[2] ?? "", number, unit.unit, undefined))
      from = text.length
      continue
    }
    // the range in the brackets right after the unit: "(133 to 146)", "(the lab's range is 15 to 200)"
    const bracket = /^\s*\(([^()]*)\)/.exec(text.slice(end)) ?? (/^\s*(?:\([^()]*)?$/.test(text.slice(end)) ? /^\s*\(([^()]*)\)/.exec(withNext.slice(end)) : null)
    const range = bracket === null ? undefined : rangeInWords(bracket[1] ?? "", style)
    if (bracket !== null) end = Math.min(text.length, end + bracket[0].length)
    // the sentence goes on after the result, or ends: not a table row's next column ("139 mmol/L 135-145 Final")
    if (!/^\s*(?:$|[.,;:]|(?:and|which|were|was|is|are|but|so|while|with|both|all|although|though|whereas|because|since|when|despite|on|in)\b|[-–—]\s)/i.test(text.slice(end))) continue
    out.push(proseResult(name, m[1], m[2] ?? "", number, unit.unit, range))
    from = end
  }
  return out
}

/** A result read from a sentence: its value with the comparator kept (">90"), the flag from the range in brackets. */
const proseResult = (name: string, op: string | undefined, printed: string, number: number, unit: string, range: RangeSpec | undefined): ParsedResult => {
  const comparator = op === undefined ? undefined : comparatorKind(op)
  const value = op === undefined ? number : `${op}${printed.replace(",", ".")}`
  const flag = range === undefined ? "unknown" : flagFromRange({ numeric: number, ...(comparator === undefined ? {} : { comparator }) }, range)
  return { name, value, unit, referenceRange: toParsedRange(range), flag, ...(flag === "unknown" ? {} : { flagSource: "range" as const }) }
}
