/**
 * Names printed over more than one line: the start of a name above its row ("Low Density
 * Lipoprotein" over "(LDL), calculated  131 mg/dL"), or the rest of a name under its value's
 * line ("[relativ aktivitet; INR];P"). What can be a name, what goes on from one, and the lines
 * remembered in case the next line completes them.
 */
import { readHeading, SECTION_ONLY } from "./headings.js"
import { findAnalyteMention, lookupAnalyte } from "./lexicon/analytes.js"
import { isMetadataLine } from "./metadata.js"
import { RANGE_LINE_RE, unleadered, VALUE_LINE_RE } from "./portalLines.js"

/** A line that produced nothing yet, kept in case the next lines complete it (a wrapped name, a name above its value). */
export interface Unparsed {
  readonly text: string
  /** Its index among the document's lines. */
  readonly index: number
  /** It starts further right than a name column would: a continuation of the line above. */
  readonly indented: boolean
  /** What was pending as a section heading before this line was read. */
  readonly headingBefore: string | undefined
}

/** The last word of a section's heading: "Blood gas values", "Calculated values", "Renal panel", "Liver profile", "Electrolytes". */
const SECTION_TAIL_RE = /\b(?:values|results|parameters|panel|profile|tests|status|studies|gas(?:es)?|electrolytes|metabolites|oximetry|chemistry|ha?ematology|biochemistry|serology|urinalysis|examination)$/i

/** A heading between rules: "---- Blood gas (37.0 C) ----", "== Electrolytes ==", "*** Metabolites ***". */
export const DECORATED_RE = /^\s*[-=*#~_]{2,}\s*\S.*\S\s*[-=*#~_]{2,}\s*$/

/** Text that can be (the start of) a test name: short, no digits at its end, not a sentence or a label. */
export const nameLike = (text: string, continued = false): boolean =>
  text.length <= 60 &&
  !DECORATED_RE.test(text) &&
  // names do not end in a number or a full stop, nor start with a house number ("1 Main St"): "Result:", "Glucose 95", "Fasting."
  !/[:.!?]\s*$|\d\s*$|^\d+\s/.test(text) &&
  // at most six words
  text.split(/\s+/).length <= 6 &&
  !isMetadataLine(text) &&
  // a heading has the look of a name; an indented line under it says it was one after all
  (continued ? !(text === text.toUpperCase() || SECTION_ONLY.test(text)) : readHeading(text) === undefined)

/**
 * Does the line above end a name that this line continues? It ends with a connector ("Vitamin D,",
 * "Alanine", "of", "and", "(" or "/") or this line starts with a lower-case word or a bracket
 * ("(LDL), calculated"). Short and without a colon, so a heading or a label is not taken.
 */
export const continuesName = (above: string, line: string): boolean => {
  // a decorated heading ("---- Blood gas (37.0 C) ----", "== Electrolytes ==") starts no name
  if (DECORATED_RE.test(above) || DECORATED_RE.test(line)) return false
  // not after a label or sentence end ("Note:", "Fasting.") nor a number ("Sodium 139"); at most six words
  if (above.length > 60 || /[:.!?]\s*$/.test(above) || /\d\s*$/.test(above)) return false
  if (above.split(/\s+/).length > 6 || isMetadataLine(above)) return false
  // a connector at the end: "Vitamin D,", "Alkaline (", "AST/", "Protein +", "Level of", "Ratio to", "Índice de saturación de",
  // "Velocità di", "Clairance de la"; not one letter ("Vitamin E", "Hepatitis A")
  if (/[,(/&+-]$|\b(?:and|of|for|with|by|to|in|per|de|del|de la|des|du|di|della|dei|da|do|dos|das|der|von|van|och|og|und|et|od|ve)$/i.test(above)) return true
  // "(LDL), calculated …" or "calculated …" (three lower-case letters or more), but not "eGFR …" or "pH …", which start
  // names of their own
  return /^\(/.test(line) || (/^\p{Ll}{3,}\b/u.test(line) && findAnalyteMention(line.split(/\s/)[0] ?? "") === undefined)
}

/**
 * The remembered lines right above this one that begin its name, oldest first: each continued by
 * the next (see continuesName), or the next one indented under it. Empty when the row stands alone.
 */
export const nameChain = (recent: ReadonlyArray<Unparsed>, index: number, row: string): ReadonlyArray<Unparsed> => {
  const chain: Array<Unparsed> = []
  // "Your value 97 U/L" under a name is a portal block, read as one below
  if (VALUE_LINE_RE.test(unleadered(row)) || RANGE_LINE_RE.test(unleadered(row))) return chain
  // indented: two or more spaces, then a letter ("  Protein   3.8")
  let next = { text: row.trim(), index, indented: /^\s{2,}\p{L}/u.test(row) }
  for (let k = recent.length - 1; k >= 0; k--) {
    const above = recent[k]
    if (above === undefined || above.index !== next.index - 1) break
    // a value, not a name that starts with digits ("25-OH Vitamin D"): "131  mg/dL", "<0.5 ", "25-50 /HPF"
    const startsWithValue = /^[<>]?\d+(?:[.,]\d+)?(?:\s|$)|^\d{1,3}\s?-\s?\d{1,3}\s/.test(next.text)
    const indentedUnder = next.indented && !above.indented && nameLike(above.text, true)
    // a specimen or qualifier word that ends a wrapped name: "…Ratio, Random" over "Urine   41  H  mg/g creat"; not "Urinary"
    const qualifierTail = !startsWithValue && /^(?:urine|serum|plasma|blood|random|total|free|direct|calculated|fasting)\b/i.test(next.text)
    // a section's heading over its first row ends no name: "Blood gas values" over "  pH   7.21L", "Calculated values"
    if (SECTION_TAIL_RE.test(above.text)) break
    if (!startsWithValue && !continuesName(above.text, next.text) && !indentedUnder && !(qualifierTail && nameLike(above.text))) break
    if (startsWithValue && !nameLike(above.text, true)) break
    chain.unshift(above)
    next = above
  }
  return chain
}

/**
 * The rest of a result's name printed under it, after the value's line: indented to the name's column, one
 * cell with no digit, at most five words, not a sentence nor a label. Examples: "[relativ aktivitet; INR];P",
 * "N-terminalt fragment [NT-proBNP];P" under "Natriuretisk peptid B prohormon   1870   < 300 ng/L".
 */
export const nameTail = (above: string, name: string, line: string, below = ""): string | undefined => {
  // a pipe table's row that only goes on with the name: "| sedimentazione (VES) | | | | |" under "| Velocità di eritro- | 48 | …"
  // (a table: the row above has cells of its own; a box around a ticket is not one)
  const aboveCells = above.split("|").filter((c) => c.trim() !== "").length
  if (aboveCells >= 2 && line.includes("|")) {
    const cells = line.replace(/^\s*\|/, "").split("|").map((c) => c.trim())
    const filled = cells.filter((c) => c !== "")
    // (digits only inside brackets: "stimata (eGFR, CKD-EPI 2021)")
    const first = cells[0] ?? ""
    if (!(filled.length === 1 && first !== "" && !/\d/.test(first.replace(/\([^)]*\)/g, "")) && first.length <= 60)) return undefined
    // a section's heading in capitals ("| BIOQUÍMICA |  |  |") under a name that is not is no part of it
    if (/\p{Lu}{3}/u.test(first) && first === first.toUpperCase() && name !== name.toUpperCase()) return undefined
    // the start of the next row's name, which goes on indented or in lower case under it: "| Índice de saturación de |"
    // over "|   transferrina | 3,8 | % |"
    const next = below.replace(/^\s*\|/, "").split("|")
    if (next.length >= 2 && /\d/.test(next.slice(1).join("|")) && /^(?:\s{2,}\S|\s*\p{Ll})/u.test(next[0] ?? "")) return undefined
    return first
  }
  const text = line.trim()
  // a name over its own value ("Specific gravity (refractometer)" over "   1.031   1.003 - 1.035") starts the next row
  if (/^\s*[<>≤≥]?\s*\d/.test(below) || DECORATED_RE.test(line)) return undefined
  const column = above.indexOf(name.split(" ")[0] ?? name)
  const indent = line.length - line.trimStart().length
  // one cell only: "Clarity      Turbid    Clear" is a row of its own
  if (column < 0 || text === "" || /\d|\S\s{2,}\S|\t/.test(text) || text.length > 60 || text.split(/\s+/).length > 5) return undefined
  // under the name: at its column, or further in when it opens with a bracket or a lower-case word (a name at the
  // line's start: only after a name that ends with a comma, "Immature Granulocytes," over "  Absolute"; a line at
  // the start under such a name is the next heading or row)
  const underName = column > 0 && (Math.abs(indent - column) <= 1 || (indent > column && /^[([\p{Ll}]/u.test(text)))
  // (at the line's start, further in: after a comma, or the name's abbreviation in brackets: "   (PCV)", "   Concentration (MCHC)")
  const indentedTail = indent > column && (/,$/.test(name) || /\([\p{L}\d-]{2,10}\)$/u.test(text))
  if (!underName && !indentedTail) return undefined
  // the start of the next row's name, which goes on further in and in lower case under it: "  Polynucléaires" over
  // "    neutrophiles   0,08   G/L"
  const belowIndentAt = below.length - below.trimStart().length
  if (/\d/.test(below) && belowIndentAt > indent && /^\p{Ll}/u.test(below.trimStart())) return undefined
  // a known test's name is whole; a line under it that the next row follows at its column is a heading ("Oximetry values")
  if (lookupAnalyte(name) !== undefined && !/[,(/-]$/.test(name) && /^\s*\S.*?\s\d/.test(below) && !/^\s*[<>≤≥]?\s*\d/.test(below)) {
    const belowIndent = below.length - below.trimStart().length
    if (Math.abs(belowIndent - indent) <= 1 && !/^[([]/.test(text)) return undefined
  }
  // (an abbreviation in brackets alone, "(PCV)", is in capitals like a heading, but is none)
  const abbreviation = /^\([\p{L}\d-]{2,10}\)$/u.test(text)
  if (/[.:!?]$|\.\s|:\s/.test(text) || isMetadataLine(text) || (!abbreviation && readHeading(text) !== undefined)) return undefined
  return text
}
