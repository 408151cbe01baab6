/**
 * Results written in sentences, as a GP's e-mail or letter gives them: "Your haemoglobin was 118 g/L
 * (normal for women 120 to 150).", "ALT 22 IU/L (up to 33) and alkaline phosphatase 84 IU/L (30 to 130)
 * were normal." Read only where the sentence names a known test right before its value and unit, so
 * that a dose ("ferrous fumarate 210 mg"), a target ("lower HbA1c by 3 to 5 mmol/mol") or a score is
 * not taken for a result. Pure functions, no Effect; never throws.
 */
import { findAnalyteMention } from "./lexicon/analytes.js"
import { flagFromRange, toParsedRange } from "./rows.js"
import { type NumberStyle, toNumber } from "./text.js"
import { comparatorKind, type RangeSpec, readUnit } from "./tokens.js"
import type { ParsedResult } from "./types.js"

/** A value in a sentence: a number, maybe after a comparator, not inside a word or a date. Examples: "118", ">90", "6.1". */
const SENTENCE_VALUE_RE = /(?<![\p{L}\p{N}.,/:-])([<>]=?|≤|≥)?\s?(\d+(?:[.,]\d+)?)(?![\p{N}]|[.,]\d|\/\d)/gu

/**
 * Words between a test's name and its value, as the sentence ends. Examples: "was", "were", "is",
 * "came back at", "came back as", "measured", "measured at", "of", "at", "reported as", ":", "=".
 */
const LINK_RE = /(?:\s+(?:was|were|is|are|came\s+back\s+(?:at|as)|measured(?:\s+at)?|reported\s+as|of|at|now|still|remains?)|\s*[:=])+\s*$/i

/** Words that open a clause before a name: "Your", "the", "and", "while", "His". */
const OPENER_RE = /^(?:(?:your|the|his|her|their|and|but|while|also|a|an)\s+)+/i

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
    plain.search(/\s+and\s+(?!.*\s+and\s+)/i)
  )
  const words = plain.slice(start < 0 ? 0 : start).replace(/^[.:;,]?\s*(?:and\s+)?/i, "").replace(OPENER_RE, "").trim()
  if (words === "" || words.split(/\s+/).length > 5) return undefined
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
export const readProseResults = (line: string, style: NumberStyle, nextLine = ""): ReadonlyArray<ParsedResult> => {
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
    const unit = readUnit(text.slice(afterValue + gap))
    if (unit === undefined) continue
    let end = afterValue + gap + unit.length
    const name = nameBefore(text.slice(from, at))
    if (name === undefined) continue
    // the range in the brackets right after the unit: "(133 to 146)", "(the lab's range is 15 to 200)"
    const bracket = /^\s*\(([^()]*)\)/.exec(text.slice(end)) ?? (/^\s*(?:\([^()]*)?$/.test(text.slice(end)) ? /^\s*\(([^()]*)\)/.exec(withNext.slice(end)) : null)
    const range = bracket === null ? undefined : rangeInWords(bracket[1] ?? "", style)
    if (bracket !== null) end = Math.min(text.length, end + bracket[0].length)
    // the sentence goes on after the result, or ends: not a table row's next column ("139 mmol/L 135-145 Final")
    if (!/^\s*(?:$|[.,;:]|(?:and|which|were|was|is|are|but|so|while|with|both|all)\b|[-–—]\s)/i.test(text.slice(end))) continue
    const op = m[1]
    const comparator = op === undefined ? undefined : comparatorKind(op)
    const printed = (m[2] ?? "").replace(",", ".")
    const value = op === undefined ? number : `${op}${printed}`
    const flag = range === undefined ? "unknown" : flagFromRange({ numeric: number, ...(comparator === undefined ? {} : { comparator }) }, range)
    out.push({
      name,
      value,
      unit: unit.unit,
      referenceRange: toParsedRange(range),
      flag,
      ...(flag === "unknown" ? {} : { flagSource: "range" as const })
    })
    from = end
  }
  return out
}
