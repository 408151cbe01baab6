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

export interface NumberStyle {
  /** The document writes decimals with a comma (`3,5`), so `1,234` is 1.234 and not 1234. */
  readonly decimalComma: boolean
}

export const toNumber = (raw: string, style: NumberStyle): number | undefined => {
  let s = raw.replace("−", "-").replace(/^\+/, "")
  if (s.includes(",") && s.includes(".")) s = s.replace(/,/g, "")
  else if (/^-?\d{1,3}(?:,\d{3})+$/.test(s) && !style.decimalComma) s = s.replace(/,/g, "")
  else s = s.replace(",", ".")
  if (s.replace(/\D/g, "").length > 15) return undefined
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

export const detectNumberStyle = (text: string): NumberStyle => {
  const comma = text.match(/(?<![\d,.])\d+,\d{1,2}(?![\d,])/g)?.length ?? 0
  const dot = text.match(/(?<![\d.])\d+\.\d+(?![\d.])/g)?.length ?? 0
  return { decimalComma: comma >= 2 && comma > dot }
}

export const collapse = (s: string) => s.trim().replace(/\s+/g, " ")
