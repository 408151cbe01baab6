/**
 * Does a line look like it holds a result, though no reader took it? Such a line is reported as
 * unread, never dropped. Also the one result read from words alone: a culture's organism or
 * finding under a microbiology label, which has no number to look like a result by.
 */
import { findAnalyteMention } from "./lexicon/analytes.js"
import { isMetadataLine } from "./metadata.js"
import { normalizeRow } from "./rows.js"
import { QUAL_RE, readFlag, readUnit } from "./tokens.js"
import type { ParsedResult } from "./types.js"

/**
 * Does the line look like it holds a result, though it was not read as one? A number with a unit
 * after it ("139 mmol/L", "7.2x10^9/L") or a flag beside a number ("139 H", "*131*"), or a known
 * test name with a number. Such a line must not disappear: it is reported as unread.
 */
export const looksLikeResult = (line: string, inTable = false): boolean => {
  if (isMetadataLine(line)) return false
  // under a table header, a short line that starts with a word and has a number or a second
  // column ("Crystals   Calcium oxalate, few") is a row of it
  // words split on spaces; columns on two spaces, a tab or a pipe
  const words = line.replace(/\|/g, " ").trim().split(/\s+/)
  const columns = line.trim().split(/\s{2,}|\t|\|/).filter((c) => c.trim() !== "").length
  // starts with a letter ("Crystals", or "| Kappa/Lambda Ratio |" inside a table's rule), does not end a sentence
  // ("… noted."), has a digit
  if (inTable && /^[\s|]*\p{L}/u.test(line) && words.length <= 12 && !/[.!?]\s*$/.test(line) && (/\d/.test(line) || columns >= 2)) {
    return true
  }
  // no digit: a result in words ("Nitrite   Positive", "Culture ....: positive*", "Germe identifié : Escherichia coli")
  // when a test's name or a microbiology label stands before a qualitative word or an organism, as a row is laid out
  // (a column gap, a leader or a colon between them); else nothing to read
  if (!/\d/.test(line)) return wordResult(line, columns)
  const mention = findAnalyteMention(line)
  // a digit after a known analyte: "Sodium was 139"
  if (mention !== undefined && /\d/.test(line.slice(mention.end))) return true
  const s = normalizeRow(line)
  // a name, then a number and a range after it: "Ferritina   8   13 - 150", "Urato .... 7,6 (3,4-7,0)"
  if (/^\s*\p{L}[^\d]{2,60}?\s[<>≤≥]?\d+(?:[.,]\d+)?\s*[*!]?\s+[([]?\s*[<>≤≥]?\s*\d+(?:[.,]\d+)?\s*(?:[-–]|to|a|bis)\s*\d/u.test(s)) return true
  // after every number ("139 ", "7.2"), a unit or a flag
  for (const m of s.matchAll(/\d(?:[.,]\d+)?\s*/g)) {
    const after = s.slice((m.index ?? 0) + m[0].length)
    if (readUnit(after) !== undefined) return true
    const flag = readFlag(after, false)
    if (flag !== undefined && flag.flag._tag !== "direction") return true
    // a capital H or L alone: "139 H"; not "139 Hz" nor "4 Lab"
    if (flag !== undefined && /^[HL]\b/.test(after)) return true
  }
  // a digit outside the first test name found ("T4" alone has none): "T4 1.2", "Sodium 139"
  return false
}

/** Microbiology labels whose value is an organism or a finding in words. Examples: "Organism", "Culture", "Germe identifié", "Erreger", "Gram stain". */
const MICRO_LABEL_RE = /\b(?:organism|isolate|culture|growth|gram(?:\s+stain)?|germe?s?|erreger|keim|bakteri[ae]n?|microorganismo|organismo|cultivo|coltura|kweek|examen\s+direct)\b/i

/**
 * A microbiology label and its finding in words, with no number: "ORGANISM   Escherichia coli   SB",
 * "Examen direct (Gram) ....: bacilles Gram négatif". The finding is kept as printed, its flag unknown
 * (no range says what is expected).
 */
export const MICRO_ROW_RE =
  /^([\p{L}][\p{L} ()/.'-]{1,40}?)(?:\s*\.{3,}\s*:?\s*|\s*:\s+|\s{2,})(\p{L}[\p{L} ()'.,-]{1,60}?)(?:\s{2,}[A-Z]{1,4})?\s*$/u

export const readMicroRow = (line: string): ParsedResult | undefined => {
  const m = MICRO_ROW_RE.exec(line)
  if (m === null || /\d/.test(line) || isMetadataLine(line)) return undefined
  const name = (m[1] ?? "").trim()
  const value = (m[2] ?? "").trim()
  // only under a culture's own labels (a growth, an organism, a Gram stain), never a heading or a sentence
  if (!MICRO_LABEL_RE.test(name) || /[.!?]$/.test(value) || value.split(/\s+/).length > 6) return undefined
  return { name, value, unit: "", referenceRange: { text: "" }, flag: "unknown" }
}

/** Does a line without a digit hold a result in words? See looksLikeResult. */
const wordResult = (line: string, columns: number): boolean => {
  const text = line.trim()
  if (text.length > 120 || /[.!?]\s*$/.test(text)) return false
  // name and value apart: a column gap, a leader, a colon
  const split = /\S(?:\s{2,}|\s*\.{3,}\s*|\s*:\s+|\t|\s*\|\s*)\S/.exec(text)
  if (split === null && columns < 2) return false
  const value = text.slice((split?.index ?? 0) + 1).replace(/^[\s.:|]+/, "")
  const name = text.slice(0, (split?.index ?? 0) + 1)
  const named = findAnalyteMention(name) !== undefined || MICRO_LABEL_RE.test(name)
  const wordy = QUAL_RE.test(value) || /^\p{Lu}\p{Ll}+\s+\p{Ll}{3,}\b/u.test(value) || readFlag(value.split(/\s{2,}/).pop() ?? "", false) !== undefined
  return named && wordy
}
