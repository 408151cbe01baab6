/**
 * The typed tokens of a row: values (numbers with comparator and decimal mark, qualitative
 * words, counts per field), flags and units; reference ranges are ranges.ts.
 */
import { anyOf, collapse, NUM, type NumberStyle, toNumber } from "./text.js"

/** Regex sources of the words a qualitative result may be: "Not detected", "Pale yellow", "Trace", "2+", "++". */
export const QUALITATIVE = [
  "not\\s+detected", "none\\s+detected", "none\\s+seen", "not\\s+seen", "non[-\\s]?reactive", "weakly\\s+reactive",
  "reactive", "positive", "negative", "detected", "equivocal", "non[-\\s]?immune", "not\\s+immune",
  "immune", "indeterminate", "inconclusive", "trace", "present", "absent", "normal", "abnormal", "clear",
  "slightly\\s+(?:cloudy|turbid|hazy)", "cloudy", "hazy", "turbid", "nil", "pale\\s+yellow", "dark\\s+yellow", "light\\s+yellow",
  "yellow", "straw", "amber", "colou?rless", "none", "few", "moderate", "many", "rare", "occasional",
  "small", "large", "[1-4]\\+", "\\+{1,4}",
  // the same words in the other languages reports come in: German, French, Spanish, Portuguese, Italian, Dutch
  "negativ[oae]?", "n[ée]gati(?:f|ve)", "positiv[oae]?", "positi(?:f|ve)", "nicht\\s+nachweisbar", "no\\s+detectado",
  "n[ãa]o\\s+detectado", "non\\s+d[ée]tect[ée]", "spuren", "traces?", "trazas", "vest[íi]gios", "trace",
  "amarel[oa]\\s+(?:citrino|claro|escuro)", "amarill[oa]\\s+(?:claro|oscuro|p[áa]lido)", "giall[oa]\\s+(?:paglierino|chiaro|scuro)",
  "(?:ligeiramente|levemente)\\s+turv[oa]", "ligeramente\\s+turbi[oa]", "leicht\\s+tr[üu]be?", "l[ée]g[èe]rement\\s+trouble",
  "tra[çc]os", "numeros[oa]s", "abundantes",
  "klar", "limpide", "l[íi]mpid[oa]", "claro", "helder", "tr[üu]be?", "trouble", "turbi[oa]", "turv[oa]", "torbid[oa]",
  "gelb", "jaune", "amarill[oa]", "amarel[oa]", "giall[oa]", "geel", "ausente", "presente",
  // counts and presence in words: French, Spanish, Portuguese, Italian, German, Dutch, Polish, Czech, Turkish
  "absence", "absente?", "pr[ée]sence", "pr[ée]sente?", "rares?", "quelques", "nombreu(?:x|ses)", "abondante?s?", "st[ée]rile",
  "escas[oa]s", "abundantes?", "rar[oa]s", "moderad[oa]s?", "ausentes", "escassas?", "assenti?", "rari", "scarsi", "numerosi",
  "vereinzelt", "reichlich", "massenhaft", "enkele", "geen", "ujemny", "dodatni", "nieobecne", "pojedyncze", "liczne", "brak",
  "negativn[íi]", "pozitivn[íi]", "negatif", "pozitif", "saptanmad[ıi]", "negatiivinen", "positiivinen",
  "nie\\s+wykryto", "nieliczne", "s[łl]omkow[aey]", "(?:lekko\\s+)?m[ęe]tn[yae]", "przejrzyst[yae]", "[żz][óo][łl]t[yae]",
  "nenalezeno", "(?:m[íi]rn[ěe]\\s+)?zakalen[áa]", "[čc]ir[áa]", "[žz]lut[áa]", "berrak", "bulan[ıi]k", "sar[ıi]",
  // "NEG", "POS" as old printers abbreviate them; cultures
  "neg\\.?", "pos\\.?", "no\\s+growth", "sterile", "kein\\s+wachstum", "sin\\s+crecimiento", "nessuna\\s+crescita", "geen\\s+groei"
]

/** Words that make a result on their own; the others need a range or a flag beside them. Examples: "Negative", "Non-reactive"; not "Trace". */
export const STRONG_QUALITATIVE =
  /^(?:not\s+detected|none\s+detected|non[-\s]?reactive|weakly\s+reactive|reactive|positive|negative|detected|equivocal|non[-\s]?immune|not\s+immune|immune|indeterminate|inconclusive|negativ[oae]?|positiv[oae]?|n[ée]gati(?:f|ve)|positi(?:f|ve)|nicht\s+nachweisbar|no\s+detectado|n[ãa]o\s+detectado|non\s+d[ée]tect[ée]|absence|st[ée]rile|ujemny|dodatni|negativn[íi]|pozitivn[íi]|negatif|pozitif)$/iu

/** A qualitative word at the start, ending where a word would. Examples: "Negative", "not detected", "Pale yellow", "2+"; not "Negatives", "Clear-cut". */
export const QUAL_RE = new RegExp(String.raw`^(?:${QUALITATIVE.join("|")})(?![\p{L}\p{N}+-])`, "iu")

/** Expected words, one or a few: "Negative", "Pale yellow - yellow", "None / rare", "Clear to slightly hazy". */
export const QUAL_LIST_RE = new RegExp(
  String.raw`^(?:${QUALITATIVE.join("|")})(?:\s*(?:-|–|/|,|to|or)\s*(?:${QUALITATIVE.join("|")}))*(?![\p{L}\p{N}+-])`,
  "iu"
)

/**
 * A result's status, printed in a column of its own or after the row; no flag and no part of the result. Examples:
 * "Final", "Prelim", "Corrected", "Amended", "Verified", "Pending", "Cancelled", "In process".
 */
export const RESULT_STATUS = String.raw`final|prelim(?:inary)?|corrected|amended|verified|pending|cancel+ed|in\s+process`

/** Qualitative words (as `qualKey`) that mean "absent". */
export const NEGATIVE_CLASS = new Set(["negative", "nonreactive", "notdetected", "nonedetected", "none", "noneseen", "notseen", "absent", "nil"])

/** Qualitative words (as `qualKey`) that mean "found". */
export const POSITIVE_CLASS = new Set(["positive", "reactive", "detected", "present"])

/** A qualitative word compared without case, spaces or dashes (/[^a-z0-9+]/g): "Non-reactive" → "nonreactive", "2+" → "2+". */
export const qualKey = (s: string) => s.toLowerCase().replace(/[^a-z0-9+]/g, "")

/**
 * Flag words other than the English "high"/"low" (matched without case). Examples: "Elevated", "erhöht", "élevée",
 * "Alto", "hoog", "förhöjt", "podwyższony", "zvýšený", "yüksek"; "decreased", "erniedrigt", "Bajo", "verlaagd", "düşük";
 * "kritisch", "crítico"; "pathologisch", "afwijkend".
 */
const CRITICAL_WORDS = String.raw`kritisch|kritiek|kritisk|krytyczn[yae]|kritick[ýáé]|kritik|cr[ií]tic[oa]|critique`
/** Words for "high" and "low" in the languages reports come in, shared with the legends (marks.ts). Examples: "elevated", "erhöht", "élevée", "verlaagd". */
export const HIGH_WORDS = String.raw`elevated|raised|increased|erh[öo]ht|hoch|[ée]lev[ée]e?|augment[ée]e?|alt[oa]|aumentad[oa]|elevad[oa]|hoog|verhoogd|f[öo]rh[öo]jd|f[öo]rh[öo]jt|h[öo]g|forh[øo]jet|h[øo]j|podwy[żz]szon[ya]|wysok[ia]|zv[ýy][šs]en[ýyáa]|y[üu]ksek`
export const LOW_WORDS = String.raw`decreased|reduced|erniedrigt|niedrig|vermindert|bas(?:se)?|diminu[ée]e?|baj[oa]|disminuid[oa]|baix[oa]|diminu[íi]d[oa]|bass[oa]|ridott[oa]|laag|verlaagd|s[äa]nkt|l[åa]g|nedsat|lav|obni[żz]on[ya]|nisk[ia]|sn[íi][žz]en[ýyáa]|d[üu][şs][üu]k`
const ABNORMAL_WORDS = String.raw`pathologisch|anormal[e]?|abnormaal|afwijkend|patol[óo]gic[oa]|avvikande|unormal`
const wordsRe = (words: string) => new RegExp(String.raw`^(?:${words})$`, "iu")
const CRITICAL_WORD_RE = wordsRe(CRITICAL_WORDS)
const HIGH_WORD_RE = wordsRe(HIGH_WORDS)
const LOW_WORD_RE = wordsRe(LOW_WORDS)

/** The flag a report prints beside a value. */
export type ReportFlag =
  | { readonly _tag: "direction"; readonly flag: "low" | "high" | "normal" }
  | { readonly _tag: "critical"; readonly direction?: "low" | "high" }
  | { readonly _tag: "abnormal" }

/**
 * A printed flag at the start, perhaps bracketed. Examples: "H", "(L)", "[HH]", "Critical High", "abn low", "*", "↑",
 * "N"; not the "L" of "L/L" nor the "H" of "HDL".
 */
export const FLAG_RE = anyOf(
  [
    String.raw`critical(?:ly)?\s+(?:high|low)|crit\.?\s+(?:high|low)|(?:high|low)\s+critical|panic\s+(?:high|low)|critical|crit|panic`,
    // "VALORE CRITICO", "valor crítico", "valeur critique", "kritischer Wert", "kritická hodnota"
    String.raw`valor(?:e)?\s+cr[íi]tic[oa]|valeur\s+critique|kritischer\s+wert|kritick[áa]\s+hodnota|kritisk\s+v[æa]rdi`,
    // "ABNORMAL LOW", "abn high", "OUT OF RANGE (low)", "above range": a direction after all
    String.raw`(?:abnormal(?:ly)?|abn\.?|out\s+of\s+range|outside\s+(?:the\s+)?range)\s+\(?(?:high|low)\)?`,
    // "above range", "Below low reference limit" (as UK GP records print it), "above the upper limit"
    String.raw`(?:above|below)\s+(?:the\s+)?(?:(?:high|low|upper|lower)\s+)?(?:(?:reference|normal)\s+)?(?:range|limits?)|out\s+of\s+range|outside\s+(?:the\s+)?range`,
    // words for critical, high, low and abnormal in the languages reports come in
    String.raw`${CRITICAL_WORDS}|${HIGH_WORDS}|${LOW_WORDS}|${ABNORMAL_WORDS}`,
    // "HI"/"LO" and ">>"/"<<" (far above/below) as some labs print them
    String.raw`HH|LL|H\*|L\*|H!|L!|\*H|\*L|HI|LO|H|L|high|low|A|abn|abnormal|\*{1,3}|!{1,3}|↑↑|↓↓|↑|↓|▲|▼|>>|<<|N|normal`
  ],
  // a flag ends where a word would: "L" is not the flag of "L/L" (litres per litre)
  (flags) => String.raw`^(?:\(|\[)?\s*(${flags})(?:\s*[)\]])?(?![\p{L}\p{N}/])`,
  "iu"
)

/** The flag at the start of `s` and its length; "N" and "Normal" only when `allowNormalWord`. */
export const readFlag = (s: string, allowNormalWord: boolean): { readonly flag: ReportFlag; readonly length: number } | undefined => {
  const m = FLAG_RE.exec(s)
  if (m === null) return undefined
  const raw = m[1] ?? ""
  // single letters are flags only in capitals: "h" or "a" in running text is a word fragment
  // a single "h", "l", "a" or "n" in any case
  if (/^[hlan]$/i.test(raw) && raw !== raw.toUpperCase()) return undefined
  // "N", "normal", "Normal"
  if (/^(?:n|normal)$/i.test(raw) && !allowNormalWord) return undefined
  const lower = raw.toLowerCase()
  // critical: "crit", "panic high"; abnormal with a direction: "abn. high", "abnormally low";
  // high: "h", "*h", "h*", "high", "↑", "▲"; low: "l", "*l", "l*", "low", "↓", "▼"
  const flag: ReportFlag =
    /cr[ií]t|kriti|panic/.test(lower) || CRITICAL_WORD_RE.test(lower)
      ? lower.includes("high")
        ? { _tag: "critical", direction: "high" }
        : lower.includes("low")
          ? { _tag: "critical", direction: "low" }
          : { _tag: "critical" }
      : lower === "hh" || lower === "↑↑" || lower === "h!"
        ? { _tag: "critical", direction: "high" }
        : lower === "ll" || lower === "↓↓" || lower === "l!"
          ? { _tag: "critical", direction: "low" }
          : /^(?:abnormal(?:ly)?|abn\.?|out\s+of\s+range|outside\s+(?:the\s+)?range)\s+\(?high\)?$|^above\b/.test(lower) || HIGH_WORD_RE.test(lower)
            ? { _tag: "direction", flag: "high" }
            : /^(?:abnormal(?:ly)?|abn\.?|out\s+of\s+range|outside\s+(?:the\s+)?range)\s+\(?low\)?$|^below\b/.test(lower) || LOW_WORD_RE.test(lower)
              ? { _tag: "direction", flag: "low" }
          : /^(?:\*?h\*?|hi|high|↑|▲|>>)$/.test(lower)
            ? { _tag: "direction", flag: "high" }
            : /^(?:\*?l\*?|lo|low|↓|▼|<<)$/.test(lower)
              ? { _tag: "direction", flag: "low" }
              : lower === "n" || lower === "normal"
                ? { _tag: "direction", flag: "normal" }
                : { _tag: "abnormal" }
  return { flag, length: m[0].length }
}

/** Units that are a bare word, with no slash or percent sign: "mmHg", "bpm", "fL", "IU". */
export const UNIT_WORDS = new Set(
  [
    "% fl pg g mg ug µg mcg ng kg lb lbs mmhg bpm sec secs seconds s min mins hr hrs ratio index seg segundos sek sekunden secondes secondi sn",
    "iu u mu miu meq mmol umol µmol nmol pmol cells copies titer titre ehrlich mm cm °c °f kpa hpf lpf wpw"
  ]
    .join(" ")
    .split(" ")
)

/** A percentage of a total. Examples: "% of total", "% of total Hgb", "% of total haemoglobin". */
export const PERCENT_OF_RE = /^%\s+of\s+total(?:\s+(?:hgb|hb|ha?emoglobin))?(?![\p{L}\p{N}])/iu

/** A count per volume as a power of ten. Examples: "x10^9/L", "10*3/uL", "× 10E12/L", "10³/µL", "x10(9)/L". */
export const EXP_UNIT_RE =
  /^(?:[x×X]\s?)?10\s?(?:\^|\*|E|e|exp)?\s?(?:-?\d{1,2}|\(-?\d{1,2}\)|⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2})\s?(?:\/\s?[a-zA-Zµμ]+(?:\/[a-zA-Zµμ0-9.]+)?|(?<=[⁰¹²³⁴⁵⁶⁷⁸⁹])\s(?:m?IU|U)\/[a-zA-Zµμ]+)(?![\p{L}\p{N}])/u

/** A unit token, ending at a space, bracket, comma or semicolon. Examples: "mg/dL", "%", "/HPF", "/mm3", "°C", "mL/min/1.73m²". */
// a comma inside a unit only before digits: "mL/min/1,73m²"
export const UNIT_TOKEN_RE = /^(?:\/[a-zA-Zµμ]+\d?|[\p{L}%°](?:[\p{L}0-9%°/.·\-²³^*]|,(?=\d))*)(?=$|[\s),;\]]|!+(?:$|\s))/u

/** D-dimer units carry what they are equivalent to: "ug/mL FEU", "ng/mL DDU". */
export const DDIMER_UNIT_RE = /^(?:µg|μg|ug|mcg|mg|ng)\/(?:mL|L)\s?(?:FEU|DDU)\b/i

/** Per gram of creatinine: "mg/g creat", "µg/g Cr", "mg/g creatinine". */
export const PER_CREATININE_RE = /^(?:mg|µg|μg|ug|mcg)\/g\s?(?:creat(?:inine)?|cr)\b/i

/** Counts per hundred white cells: "/100 WBC", "/100 leukocytes". */
export const PER_100_RE = /^\/\s?100\s?(?:wbcs?|leu[ck]ocytes|cells)(?![\p{L}])/iu

/** The sedimentation rate's unit, hour spelled out: "mm/1st hr", "mm/1st hour", "mm in 1 hr". */
export const ESR_UNIT_RE = /^mm\s?(?:\/\s?1st|in\s+1(?:st)?)\s+h(?:ou)?r\b/i

/** The unit at the start of `s` and its length, or undefined when the token is a word and not a unit. */
export const readUnit = (s: string): { readonly unit: string; readonly length: number } | undefined => {
  const dDimer = DDIMER_UNIT_RE.exec(s)
  if (dDimer !== null) return { unit: collapse(dDimer[0]), length: dDimer[0].length }
  const perCreatinine = PER_CREATININE_RE.exec(s)
  if (perCreatinine !== null) return { unit: collapse(perCreatinine[0]), length: perCreatinine[0].length }
  const per100 = PER_100_RE.exec(s)
  if (per100 !== null) return { unit: collapse(per100[0]), length: per100[0].length }
  const esr = ESR_UNIT_RE.exec(s)
  if (esr !== null) return { unit: collapse(esr[0]), length: esr[0].length }
  const percentOf = PERCENT_OF_RE.exec(s)
  if (percentOf !== null) return { unit: collapse(percentOf[0]), length: percentOf[0].length }
  const exp = EXP_UNIT_RE.exec(s)
  // spaces dropped: "x10 ^9 / L" → "x10^9/L"
  if (exp !== null) return { unit: exp[0].replace(/\s+/g, ""), length: exp[0].length }
  const m = UNIT_TOKEN_RE.exec(s)
  if (m === null) return undefined
  // a full stop or comma after the unit: "mg/dL." → "mg/dL"
  const unit = m[0].replace(/[.,]+$/, "")
  const lower = unit.toLowerCase()
  // a unit has a slash or a percent sign or is one of the known bare units; anything else is a word
  // /[a-zµμ%]/i: at least a letter or "%" ("1/2" is not a unit); "N/A" and "H/L" are not units
  const valid =
    ((unit.includes("/") || unit.includes("%")) && /[a-zµμ%]/i.test(unit) && !/^(?:n\/a|h\/l)$/i.test(unit)) ||
    UNIT_WORDS.has(lower)
  return valid ? { unit, length: unit.length } : undefined
}

/**
 * "Below" and "above" as ranges print them in other languages: "inferior a 190" (Portuguese, Spanish), "menor que",
 * "menos de", "inferiore a", "unter", "kleiner als"; "superior a 40", "mayor que", "más de", "mais de", "über", "größer als".
 */
export const BELOW_WORDS = String.raw`inferior(?:e)?\s+a|menor\s+(?:que|a|de)|menos\s+de|unter|kleiner\s+als`
export const ABOVE_WORDS = String.raw`superior(?:e)?\s+a|mayor\s+(?:que|a|de)|m[áa]s\s+de|mais\s+de|[üu]ber|gr[öo](?:ß|ss)er\s+als`
const BELOW_RE = new RegExp(String.raw`^(?:${BELOW_WORDS})$`, "i")
const ABOVE_RE = new RegExp(String.raw`^(?:${ABOVE_WORDS})$`, "i")

/**
 * Which comparison a printed operator means: "<" lt, "≤" le, ">" gt, "at least" ge. (Here rather than in
 * ranges.ts: a value's own comparator, "<0.5", is read with it too.)
 */
export const comparatorKind = (op: string): "lt" | "le" | "gt" | "ge" => {
  // spaces collapsed (/\s+/g), then: le "<=", "=<", "< or =", "up to"; ge ">=", "at least"; lt "<", "under"; else gt
  const o = op.toLowerCase().replace(/\s+/g, " ")
  // "do" (Czech, Polish), "bis", "hasta", "até", "fino a", "tot", "upp till", "op til", "jusqu'à": up to; "od", "ab": from
  if (/^(?:<=|=<|< =|≤|⩽|< ?or ?=|less than or equal to|up to|do|bis|hasta|at[ée]|fino a|tot|upp till|op til|jusqu'? ?[àa])$/.test(o)) return "le"
  if (/^(?:>=|=>|> =|≥|⩾|> ?or ?=|greater than or equal to|at least|od|ab)$/.test(o)) return "ge"
  if (/^(?:<|less than|under|below|inf[ée]rieur [àa])$/.test(o) || BELOW_RE.test(o)) return "lt"
  if (ABOVE_RE.test(o)) return "gt"
  return "gt"
}

/** A value read from a row: a number (maybe with a comparator) or words, with an attached flag or unit. */
export interface RowValue {
  readonly value: number | string
  /** For the flag: the number, or the bound of `<0.5` / `>90`. */
  readonly numeric?: number
  readonly comparator?: "lt" | "le" | "gt" | "ge"
  readonly qualitative: boolean
  readonly flag?: ReportFlag
  readonly unit?: string
  readonly length: number
}

/** A number, perhaps after a comparator. Examples: "5.1", "<0.5", ">= 90", "1,250", "−2". */
export const VALUE_NUM_RE = new RegExp(String.raw`^(?:(<=|>=|≤|≥|<|>)\s?)?(${NUM})`)

/** A count per microscope field, printed as a span: "25-50" before a "/HPF" or "/LPF" unit later in the row. */
export const FIELD_COUNT_RE = /^(\d{1,3}\s?[-–]\s?\d{1,3})(?=\s)/

/** A per-field unit anywhere in the row. Examples: "/HPF", "/ lpf", "per HPF"; not "HPF" alone. */
export const PER_FIELD_RE = /\/\s*(?:hpf|lpf|campo|champ|gf|gesichtsfeld|wpw|z\.?p\.?)\b|\bper\s+(?:hpf|lpf)\b|\bwpw\b|\bw\s+polu\s+widzenia\b/i

/** The value at the start of `s`: a count span per field, a number, or a qualitative word. */
export const readValue = (s: string, style: NumberStyle): RowValue | undefined => {
  const span = PER_FIELD_RE.test(s) ? FIELD_COUNT_RE.exec(s) : null
  // spaces dropped: "25 - 50" → "25-50"
  if (span !== null) return { value: (span[1] ?? "").replace(/\s/g, "").replace("–", "-"), qualitative: true, length: span[0].length }
  const numeric = readNumericValue(s, style)
  if (numeric !== undefined) return numeric
  const q = QUAL_RE.exec(s)
  if (q === null) return undefined
  const value = collapse(q[0])
  const word = value.charAt(0).toUpperCase() + value.slice(1)
  // a mark glued to the word: "Turvo!", "3+!", "Positive*"
  const mark = /^(!{1,2}|\*)(?=$|\s)/.exec(s.slice(q[0].length))
  if (mark !== null) return { value: word, qualitative: true, flag: { _tag: "abnormal" }, length: q[0].length + mark[0].length }
  return { value: word, qualitative: true, length: q[0].length }
}

/**
 * Thousands grouped with a space or an apostrophe: "1 250", "12 500", "1'250", "125'000" (European and Swiss prints).
 * The groups after the first are three digits each, and no number follows; a space groups once after one or two
 * digits ("139 145" is a value and another column, "99 000 111 222" an identifier).
 */
export const GROUPED_RE = /^(?:(<=|>=|≤|≥|<|>)\s?)?(\d{1,2} \d{3}|\d{1,3}(?:['’]\d{3})+)(?![\d.,'’]|\s+\d)/

/** A number at the start of `s`, with a flag ("5.1H") or unit ("5.1mg/dL") attached; not a range nor part of a name. */
export const readNumericValue = (s: string, style: NumberStyle): RowValue | undefined => {
  const grouped = GROUPED_RE.exec(s)
  if (grouped !== null) {
    const numeric = Number((grouped[2] ?? "").replace(/[ '’]/g, ""))
    const op = grouped[1]
    const next = s.slice(grouped[0].length)
    if (next === "" || /^\s/.test(next)) {
      return op === undefined
        ? { value: numeric, numeric, qualitative: false, length: grouped[0].length }
        : { value: `${op}${numeric}`, numeric, qualitative: false, comparator: comparatorKind(op), length: grouped[0].length }
    }
  }
  const m = VALUE_NUM_RE.exec(s)
  if (m !== null) {
    const numeric = toNumber(m[2] ?? "", style)
    if (numeric === undefined) return undefined
    let length = m[0].length
    const next = s.slice(length)
    // "12.0-16.0" is a range, not a value; "1/2" or "25-OH" are part of a name: /^\s?[-–—]\s?\d/ "-16", " – 16";
    // /^[/:\d-]/ "/2", ":30", "-OH"
    if (/^\s?[-–—]\s?\d/.test(next) || /^[/:\d-]/.test(next)) return undefined
    const op = m[1]
    // a bound keeps its printed decimals ("< 2.0" → "<2.0", "<0,50" → "<0.50"), with a "." decimal mark
    // (the last separator is a decimal mark when it is the document's, or not followed by a group of three digits)
    const last = /([.,])(\d+)$/.exec(m[2] ?? "")
    const isDecimal = last !== null && (last[1] === (style.decimalComma ? "," : ".") || last[2]!.length !== 3 || !Number.isInteger(numeric))
    const decimals = isDecimal ? last[2]!.length : 0
    const value = op === undefined ? numeric : `${op}${numeric.toFixed(decimals)}`
    const comparator = op === undefined ? undefined : comparatorKind(op)
    const base = { value, numeric, qualitative: false, ...(comparator === undefined ? {} : { comparator }) }
    // a space after the number: "5.1 mg/dL"
    if (next === "" || /^\s/.test(next)) return { ...base, length }
    // a flag right after the number, then a space or the end: "5.1H", "12L ", "7.2*"; not "5.1Hz"
    const attachedFlag = /^(HH|LL|H|L|\*|!{1,2})(?=$|\s)/.exec(next)
    if (attachedFlag !== null) {
      const flag = readFlag(attachedFlag[1] ?? "", false)
      length += attachedFlag[0].length
      return flag === undefined ? undefined : { ...base, flag: flag.flag, length }
    }
    const attachedUnit = readUnit(next)
    if (attachedUnit !== undefined) return { ...base, unit: attachedUnit.unit, length: length + attachedUnit.length }
    return undefined
  }
  return undefined
}
