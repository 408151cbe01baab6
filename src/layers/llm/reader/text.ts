/**
 * Shared pieces: bounds on what one line or document may cost, numbers as printed (decimal
 * point or comma, thousands separators) and a helper to write long regular expressions.
 */


/** A regular expression from alternatives written one group per line. */
export const anyOf = (parts: ReadonlyArray<string>, wrap: (alternation: string) => string, flags: string) =>
  new RegExp(wrap(parts.join("|")), flags)

/** Longer lines are prose or garbage, never a table row; bounds the work per line. */
export const MAX_ROW_CHARS = 300

/** Lines beyond this are not read (a text upload is bounded, but the parser should be too). */
export const MAX_LINES = 20_000

/** A number as printed: `12`, `12.5`, `.5`, `1,234` (thousands), `3,5` (decimal comma), `−2`. */
export const NUM = String.raw`[-−+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)`

/** How a document prints decimals, detected once per document. */
export interface NumberStyle {
  /** The document writes decimals with a comma (`3,5`), so `1,234` is 1.234 and not 1234. */
  readonly decimalComma: boolean
}

/** The value of a number as printed (see `NUM`), read in the document's style; undefined past 15 digits. */
export const toNumber = (raw: string, style: NumberStyle): number | undefined => {
  // a leading plus: "+2" → "2"
  let s = raw.replace("−", "-").replace(/^\+/, "")
  // both marks: the comma groups thousands ("1,234.5"), /,/g drops every comma
  if (s.includes(",") && s.includes(".")) s = s.replace(/,/g, "")
  // thousands groups only: "1,234", "-12,345,678"; not "3,5" or "1234,5" (a decimal comma)
  else if (/^-?\d{1,3}(?:,\d{3})+$/.test(s) && !style.decimalComma) s = s.replace(/,/g, "")
  else s = s.replace(",", ".")
  // /\D/g keeps the digits only: "-1,234.5" → "12345"
  if (s.replace(/\D/g, "").length > 15) return undefined
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

/** Whether the document writes decimals with a comma: at least two such numbers and more than dotted ones. */
export const detectNumberStyle = (text: string): NumberStyle => {
  // decimal commas: "3,5", "12,75"; not "1,234" (three digits: thousands) nor "1,2,3"
  const comma = text.match(/(?<![\d,.])\d+,\d{1,2}(?![\d,])/g)?.length ?? 0
  // decimal points: "3.5", "0.125"; not "1.2.3" (a version or a date)
  const dot = text.match(/(?<![\d.])\d+\.\d+(?![\d.])/g)?.length ?? 0
  return { decimalComma: comma >= 2 && comma > dot }
}

/** The string trimmed, every run of whitespace (/\s+/g: spaces, tabs, newlines) one space: " a \t b " → "a b". */
export const collapse = (s: string) => s.trim().replace(/\s+/g, " ")
