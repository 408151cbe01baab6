/**
 * Marks a report explains itself: a legend for its evaluation column ("+ = above the reference
 * range", "↓ decreased") and call-back notes ("CRITICAL HIGH - called to Dr. Ode 16:35, read
 * back"). Without the legend a `+` or `−` beside a value means nothing we may rely on; with it,
 * the mark is the lab's own flag. A call-back note is how a lab records that it phoned a critical
 * value through: the row is critical whatever else it prints, and the note itself (a name, a
 * time) must not be read as part of the row.
 */
import { HIGH_WORDS, LOW_WORDS } from "./tokens.js"

export type LegendMeaning = "high" | "low" | "abnormal" | "critical"

/** Symbol (normalised: every dash is `-`) → what the report says it means. */
export type Legend = ReadonlyMap<string, LegendMeaning>

/** Where a value lies against the range, in words: "above", "über", "au-dessus", "por debajo". */
const ABOVE_WORDS = String.raw`above|oberhalb|über|au-dessus|por\s+encima|superiore|sopra`
const BELOW_WORDS = String.raw`below|unterhalb|unter|en\s+dessous|au-dessous|por\s+debajo|inferiore|sotto`
const HIGH_MEANING_RE = new RegExp(String.raw`^(?:${ABOVE_WORDS}|${HIGH_WORDS}|high(?:er)?)$`, "iu")
const LOW_MEANING_RE = new RegExp(String.raw`^(?:${BELOW_WORDS}|${LOW_WORDS}|low(?:er)?)$`, "iu")

/** Symbols a legend may explain: `+`, `-`, `++`, `--`, `↑`, `↓`, `*`, `!`, `#` (dashes of all kinds count as `-`). */
const SYMBOL = String.raw`(?:\+\+|--|[+\-↑↓*!#]{1,2}|\([A-Z]{1,4}\))`

/**
 * One explained symbol. Examples: "+ = above reference range", "- : below", "↑ increased",
 * "* means abnormal", "++ = critical", "+ erhöht", "↓ diminué".
 */
const ENTRY = new RegExp(
  String.raw`(?:^|[\s,;:(\[])(${SYMBOL})\s*(=|:|means|indicates|→|->)?\s*(?:value\s+|result\s+)?` +
    String.raw`(critical(?:ly)?(?:\s+(?:high|low))?|panic|valor(?:es)?\s+cr[íi]tic[oa]s?|valeurs?\s+critiques?|valori?\s+critic[oi]|kritische[rn]?\s+werte?|kritick[áa]\s+hodnota|kritisk\s+v[æa]rdi|weit\s+au(?:ß|ss)erhalb|far\s+(?:outside|above|below)|markedly\s+(?:high|low|abnormal)|${ABOVE_WORDS}|${BELOW_WORDS}|${HIGH_WORDS}|${LOW_WORDS}|high(?:er)?|low(?:er)?|abnormal|outside|out\s+of\s+range|pathologisch|anormal)`,
  "giu"
)

/** A line that introduces a legend: "Legend:", "Key:", "Evaluation:", "Bewertung:", "Légende". */
const LEGEND_LEAD = /^\s*[#*>]*\s*(?:legend|key|evaluation|eval\.?|flags?|bewertung|beurteilung|l[ée]gende|leyenda|legenda|symbols?|verklaring)\b/i

/** Two symbols sharing one meaning: "++ / -- weit außerhalb" → "++ weit außerhalb; -- weit außerhalb". */
const SHARED = new RegExp(String.raw`(${SYMBOL})\s*\/\s*(${SYMBOL})\s*(=|:)?\s*([^;,]+)`, "gu")

/** Every dash as "-": /[−–—]/g matches the minus sign, en dash and em dash. */
const normalizeSymbol = (symbol: string): string => symbol.replace(/[−–—]/g, "-")

/**
 * What a legend word means for its symbol. "Far outside" ("weit außerhalb", "markedly high") is critical only when the
 * lab says it phones such values through ("++ / -- weit außerhalb (telefonisch mitgeteilt)"); else it is the symbol's
 * direction: "++" high, "--" low.
 */
const meaningOf = (word: string, symbol: string, after: string): LegendMeaning => {
  const w = word.toLowerCase()
  // "critical", "critically low", "panic"
  if (/cr[ií]t|kriti|panic/.test(w)) return "critical"
  if (/weit|far|markedly/.test(w)) {
    if (/telefon|phoned|called|notified|mitgeteilt|communicated|t[ée]l[ée]phon|llamad|comunicad|avisad/i.test(after)) return "critical"
    return /^(?:\+|↑)/.test(symbol) ? "high" : /^(?:-|↓)/.test(symbol) ? "low" : /high|above/.test(w) ? "high" : /low|below/.test(w) ? "low" : "abnormal"
  }
  // "above", "higher", "erhöht", "élevé", "por encima"; "below", "lower", "vermindert", "diminué", "por debajo"
  if (HIGH_MEANING_RE.test(w)) return "high"
  if (LOW_MEANING_RE.test(w)) return "low"
  return "abnormal"
}

/** The legend the document prints, or undefined when it prints none. */
export const findLegend = (lines: ReadonlyArray<string>): Legend | undefined => {
  const legend = new Map<string, LegendMeaning>()
  for (const raw of lines) {
    if (raw.length > 300) continue
    const line = normalizeSymbol(raw).replace(SHARED, "$1 $3 $4; $2 $3 $4")
    const lead = LEGEND_LEAD.test(line)
    for (const m of line.matchAll(ENTRY)) {
      // without a "Legend:" lead, only "symbol = meaning" counts: "- below" alone could be prose; a bracketed code
      // ("(VC) VALOR CRÍTICO") is no prose
      if (!lead && m[2] === undefined && !(m[1] ?? "").startsWith("(")) continue
      const symbol = m[1] ?? ""
      // what the legend says after the word, up to the next entry: "(telefonisch mitgeteilt)"
      const after = line.slice((m.index ?? 0) + m[0].length).split(";")[0] ?? ""
      if (!legend.has(symbol)) legend.set(symbol, meaningOf(m[3] ?? "", symbol, after))
    }
  }
  return legend.size === 0 ? undefined : legend
}

/** Is this line (part of) the legend itself? */
export const isLegendLine = (line: string, legend: Legend | undefined): boolean => {
  if (legend === undefined) return false
  const normalized = normalizeSymbol(line)
  const entries = [...normalized.matchAll(ENTRY)].filter((m) => LEGEND_LEAD.test(normalized) || m[2] !== undefined)
  if (entries.length === 0) return false
  // a legend line has no number that is not part of the legend words; /\b\d+\s*x\b/g drops a factor: "2 x", "10x"
  return !/\d/.test(normalized.replace(/\b\d+\s*x\b/g, ""))
}

const FLAG_FOR: Record<LegendMeaning, string> = { high: "H", low: "L", abnormal: "A", critical: "CRIT" }

/** A plain number token: "5.1", "140", "<0.5", "1,250". */
const NUMBER_TOKEN = /^[<>≤≥]?\d[\d.,]*$/

/**
 * The line with each stand-alone legend symbol replaced by the flag it stands for, so that the row
 * grammar reads it like a printed H or L: "Glucose  112  +  mg/dL  70-99" → "… 112  H  mg/dL …".
 * A dash between two numbers is a range ("3.5 - 5.1"), not a mark, and stays.
 */
export const applyLegend = (line: string, legend: Legend): string => {
  // split keeping the whitespace: "112  +" → ["112", "  ", "+"], so tokens[i ± 2] are the neighbours
  const tokens = line.split(/(\s+)/)
  return tokens
    .map((token, i) => {
      const symbol = normalizeSymbol(token)
      const meaning = legend.get(symbol)
      if (meaning === undefined) return token
      const left = tokens[i - 2]
      const right = tokens[i + 2]
      if (symbol === "-" && left !== undefined && right !== undefined && NUMBER_TOKEN.test(left) && NUMBER_TOKEN.test(right)) {
        return token
      }
      return FLAG_FOR[meaning]
    })
    .join("")
}

/**
 * Words of a call-back note. Examples: "called to Dr. Ode", "phoned to ward 4", "notified RN Lee",
 * "read back", "communicated to", "critical result reported to".
 */
const CALL_BACK = /\b(?:called|phoned|telephoned|notified|communicated|read\s*-?\s*back|verbally\s+reported|reported\s+to)\b/i

/** Where a note starts before its verb: " - called …", "; Dr. Ode notified …", ", notified …", " (panic value called …". */
const NOTE_START = /\s[-–—]\s|[;,]\s|\s\bDr\.?\s|\s\(/g

/**
 * The row without its call-back note, and whether it had one. The note is cut from the last
 * separator (dash, semicolon, comma, "Dr.") within 40 characters before its verb, else at the verb.
 * Only after a value: "Called to order" at the start of a line is prose, not a note.
 */
export const splitCallBack = (line: string): { readonly text: string; readonly calledBack: boolean } => {
  const verb = CALL_BACK.exec(line)
  if (verb === null) return { text: line, calledBack: false }
  const before = line.slice(0, verb.index)
  // a value before the verb needs a digit (/\d/: "7") and a letter (/\p{L}/u: "K", "é")
  if (!/\d/.test(before) || !/\p{L}/u.test(before)) return { text: line, calledBack: false }
  // the last separator before the verb: a dash inside "[200 - 400]" earlier on the line is the range's
  let cut = verb.index
  for (const m of before.matchAll(NOTE_START)) {
    const at = m.index ?? 0
    // /\d/: a value (any digit) precedes this separator
    if (verb.index - at <= 40 && /\d/.test(line.slice(0, at))) cut = at
  }
  // the separator left at the end: " - ", "; ", " (", ","
  return { text: line.slice(0, cut).replace(/[\s\-–—;,(]+$/, ""), calledBack: true }
}
