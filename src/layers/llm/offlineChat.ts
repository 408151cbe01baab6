/**
 * The offline provider's chat: answers from the parsed document only. A question is matched to
 * results by name, synonym or abbreviation; questions about diagnosis, treatment, medicines or
 * doses get a redirect to a clinician (with the relevant values, which are the user's own data);
 * anything else gets an honest "the document doesn't contain that". Deterministic.
 */
import type { ChatTrend, ChatTurn, DocumentType, VitalKind } from "../../services/llm.js"
import type { ParsedResult, ParsedVital } from "./reader/index.js"
import { FLAG_WORDS, isFlagged, rangeInWords, valueWithUnit } from "./summary.js"

export interface ChatDocument {
  readonly documentType: DocumentType
  readonly title: string
  readonly collectedAt?: string | undefined
  readonly results: ReadonlyArray<ParsedResult>
  readonly vitals: ReadonlyArray<ParsedVital>
  readonly summary: string
}

export const DISCUSS_WITH_CLINICIAN = "It would be worth discussing this with your clinician."
export const NOT_ADVICE =
  "I can't give a diagnosis or advice about treatment, medicines, supplements or doses; please ask your clinician or pharmacist, who can look at the whole picture."

/** Questions are cut to this length before matching; no real question is longer. */
const MAX_QUESTION_CHARS = 2_000

interface Analyte {
  readonly question: RegExp
  readonly result: RegExp
  /** Question words this analyte consumes, so a more general one does not match them again. */
  readonly consumes?: RegExp
}

// order matters: specific names first (A1c before hemoglobin, LDL/HDL before cholesterol)
const ANALYTES: ReadonlyArray<Analyte> = [
  {
    question: /\b(?:hb\s?a1c|a1c|glycated|glycosylated|ha?emoglobin\s+a1c)\b/,
    result: /a1c|glycat|glycos/i,
    consumes: /\b(?:hb\s?a1c|a1c|ha?emoglobin\s+a1c)\b/g
  },
  { question: /\b(?:ha?emoglobin|hgb|hb)\b/, result: /^(?:ha?emoglobin|hgb|hb)\b(?!.*a1c)/i },
  {
    question: /\b(?:wbc|white\s+(?:blood\s+)?(?:cells?|count)|leu[ck]ocytes?)\b/,
    result: /\b(?:wbc|white\s+(?:blood\s+)?cell|white\s+count|leu[ck]ocytes?)\b/i,
    consumes: /\b(?:white\s+blood\s+cells?|blood\s+cells?)\b/g
  },
  {
    question: /\b(?:rbc|red\s+(?:blood\s+)?(?:cells?|count)|erythrocytes?)\b/,
    result: /\b(?:rbc|red\s+(?:blood\s+)?cell|red\s+count|erythrocytes?)\b/i,
    consumes: /\b(?:red\s+blood\s+cells?|blood\s+cells?)\b/g
  },
  { question: /\b(?:platelets?|plt|thrombocytes?)\b/, result: /\b(?:platelets?|plt|thrombocytes?)\b/i },
  { question: /\b(?:ha?ematocrit|hct|pcv)\b/, result: /\b(?:ha?ematocrit|hct|pcv)\b/i },
  { question: /\bmcv\b/, result: /\bmcv\b|mean\s+(?:cell|corpuscular)\s+volume/i },
  { question: /\b(?:ldl|bad\s+cholesterol)\b/, result: /\bldl\b/i, consumes: /\bcholesterol\b/g },
  { question: /\b(?:hdl|good\s+cholesterol)\b/, result: /\bhdl\b/i, consumes: /\bcholesterol\b/g },
  { question: /\bcholesterol\b/, result: /^(?:total\s+)?cholesterol(?:,?\s+total)?$|^chol(?:esterol)?\b(?!.*(?:ldl|hdl))/i },
  { question: /\btriglycerides?\b/, result: /triglycerides?/i },
  { question: /\b(?:glucose|sugar)\b/, result: /glucose/i },
  { question: /\b(?:e?gfr|kidney\s+function|filtration)\b/, result: /gfr/i },
  { question: /\bcreatinine\b/, result: /^creatinine\b/i },
  { question: /\b(?:alt|sgpt|alanine)\b/, result: /\b(?:alt|sgpt|alanine)\b/i },
  { question: /\b(?:ast|sgot|aspartate)\b/, result: /\b(?:ast|sgot|aspartate)\b/i },
  { question: /\b(?:potassium|k)\b/, result: /^(?:potassium|k|kalium)\b/i },
  { question: /\b(?:sodium|na)\b/, result: /^(?:sodium|na|natrium)\b/i },
  { question: /\b(?:tsh|thyroid\s+stimulating)\b/, result: /\btsh\b|thyroid\s+stimulating/i }
]

const VITALS: ReadonlyArray<{ readonly kind: VitalKind; readonly question: RegExp; readonly label: string }> = [
  { kind: "blood_pressure", question: /\b(?:blood\s+pressure|bp|systolic|diastolic)\b/, label: "blood pressure" },
  { kind: "pulse", question: /\b(?:pulse|heart\s*rate|hr|bpm)\b/, label: "pulse" },
  { kind: "spo2", question: /\b(?:oxygen|spo2|o2|sat(?:uration)?s?)\b/, label: "oxygen saturation" },
  { kind: "temperature", question: /\b(?:temp(?:erature)?|fever)\b/, label: "temperature" },
  { kind: "weight", question: /\b(?:weight|weigh|kg|lbs?)\b/, label: "weight" }
]

const phrases = (alternatives: ReadonlyArray<string>) => new RegExp(String.raw`\b(?:${alternatives.join("|")})\b`)

/** Questions about diagnosis, treatment, medicines or doses: declined, with a redirect to a clinician. */
const ADVICE = phrases([
  String.raw`should\s+i|shall\s+i|can\s+i\s+(?:take|stop|start|eat|drink)|do\s+i\s+need\s+(?:to\s+take|medication|medicine|treatment)`,
  String.raw`how\s+much|how\s+many\s+(?:pills?|tablets?|capsules?|mg|units?)|dos(?:e|es|age|ing)|\d+\s*(?:mg|mcg|µg|iu|units?)|mg\s+of`,
  String.raw`medications?|medicines?|drugs?|prescri\w*|supplements?|pills?|tablets?|capsules?|treat(?:ment|ed|ing)?|cure|therapy`,
  String.raw`what\s+(?:disease|illness|condition|disorder)|do\s+i\s+have|have\s+i\s+got|diagnos\w*|what(?:'s|\s+is)\s+wrong\s+with\s+me`,
  String.raw`am\s+i\s+(?:sick|ill|dying|diabetic|an(?:a)?emic|pre-?diabetic|ok(?:ay)?|healthy)|is\s+(?:it|this)\s+(?:cancer|serious|dangerous|bad)`
])
const ABNORMAL = phrases([
  String.raw`abnormal|flagged|flags?|out\s+of\s+(?:the\s+)?range|outside|high\s+or\s+low|not\s+normal|any\s+problems?`,
  String.raw`anything\s+(?:wrong|off|bad|unusual|concerning)`,
  String.raw`which\s+(?:\w+\s+)*?(?:are|were|is|was)\s+(?:high|low)|what(?:'s|\s+is|\s+was|\s+were)\s+(?:high|low)`
])
const SUMMARY = phrases([
  String.raw`summar\w*|overview|explain\s+(?:the|my|this)\s+(?:report|results?|document|log)`,
  String.raw`what\s+does\s+(?:the|my|this)\s+(?:report|document|log)\s+say`
])
const WHEN = /\b(?:when\s+(?:was|were)|what\s+date|which\s+date|date\s+of)\b/
/** A question about change across documents: "how has my LDL changed?", "is my glucose going up?", "compared to last time". */
const CHANGE = /\b(?:chang\w*|trend\w*|over\s+time|going\s+(?:up|down)|go(?:ne)?\s+(?:up|down)|went\s+(?:up|down)|increas\w*|decreas\w*|improv\w*|wors\w*|better|compar\w*|previous\w*|last\s+time|earlier|before|history|since)\b/
const FOLLOW_UP = /\b(?:it|that|this|those|these|them|they)\b/

/** Words that say nothing about which result is meant. */
const STOP_WORDS = new Set(
  [
    "what whats is are was were my the a an of in on for to and or me tell about how does do did mean means meaning",
    "it this that i you your please show give find can could would will say says much many ok okay",
    "level levels value values result results reading readings number numbers test tests report document",
    "blood serum plasma count high low normal range"
  ]
    .join(" ")
    .split(" ")
)

const normalizeQuestion = (question: string) =>
  question
    .slice(0, MAX_QUESTION_CHARS)
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/\s+/g, " ")
    .trim()

const words = (s: string) => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

/** The document's results the question is about: by synonym first, else by every remaining word of the question. */
export const matchResults = (document: ChatDocument, question: string): ReadonlyArray<ParsedResult> => {
  let q = normalizeQuestion(question)
  const matched: Array<ParsedResult> = []
  const add = (r: ParsedResult) => {
    if (!matched.includes(r)) matched.push(r)
  }
  for (const analyte of ANALYTES) {
    if (!analyte.question.test(q)) continue
    const hits = document.results.filter((r) => analyte.result.test(r.name))
    // "cholesterol" alone means total cholesterol, else every cholesterol result
    const anyCholesterol = hits.length === 0 && analyte.question.source.includes("cholesterol")
    const chosen = anyCholesterol ? document.results.filter((r) => /cholesterol/i.test(r.name)) : hits
    chosen.forEach(add)
    q = q.replace(new RegExp(analyte.question.source, "g"), " ")
    if (analyte.consumes !== undefined) q = q.replace(analyte.consumes, " ")
  }
  for (const vital of VITALS) q = q.replace(new RegExp(vital.question.source, "g"), " ")
  const remaining = words(q).filter((w) => !STOP_WORDS.has(w) && w.length >= 1)
  if (remaining.length > 0 && remaining.some((w) => w.length >= 3)) {
    for (const result of document.results) {
      const nameWords = words(result.name)
      const has = (w: string) => nameWords.some((n) => n === w || (w.length >= 4 && (n.startsWith(w) || w.startsWith(n)) && n.length >= 4))
      if (remaining.every(has)) add(result)
    }
  }
  return matched
}

const matchVitals = (question: string): ReadonlyArray<(typeof VITALS)[number]> => {
  const q = normalizeQuestion(question)
  return VITALS.filter((v) => v.question.test(q))
}

/** "hemoglobin" for "Hemoglobin", "glucose, fasting" for "Glucose, fasting"; "LDL Cholesterol", "eGFR" as printed. */
const spokenName = (name: string): string => {
  const [first = "", ...rest] = name.split(" ")
  const sentenceCase = /^\p{Lu}\p{Ll}+,?$/u.test(first) && rest.every((w) => !/^\p{Lu}/u.test(w))
  return sentenceCase ? name.charAt(0).toLowerCase() + name.slice(1) : name
}

const withUnitText = (text: string, unit: string) => (unit === "" ? text : unit === "%" ? `${text}%` : `${text} ${unit}`)

/** "Your hemoglobin was 11.2 g/dL; the report's reference range is 12.0–16.0 g/dL, so it is flagged low." */
export const describeResult = (result: ParsedResult): string => {
  const range = rangeInWords(result.referenceRange)
  let sentence = `Your ${spokenName(result.name)} was ${valueWithUnit(result)}`
  if (range !== "") {
    const numeric = /\d/.test(range)
    sentence += `; the report's reference range is ${numeric ? withUnitText(range, result.unit) : `"${range}"`}`
  }
  switch (result.flag) {
    case "normal":
      sentence += range === "" ? ", which the report marks as normal." : ", so it is within the range."
      break
    case "unknown":
      sentence += range === "" ? ". The report gives no reference range or flag for it." : "."
      break
    default:
      sentence += `, so it is flagged ${FLAG_WORDS[result.flag]}.`
  }
  return sentence
}

const describeVitals = (document: ChatDocument, kind: VitalKind, label: string): string | undefined => {
  const readings = document.vitals.filter((v) => v.kind === kind).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
  const latest = readings[readings.length - 1]
  if (latest === undefined) return undefined
  const show = (v: ParsedVital) => withUnitText(v.kind === "blood_pressure" ? `${v.value}/${v.diastolic ?? "?"}` : String(v.value), v.unit)
  const when = latest.time.replace("T", " at ")
  if (readings.length === 1) return `Your ${label} was ${show(latest)} on ${when}.`
  const byValue = [...readings].sort((a, b) => a.value - b.value)
  const lowest = byValue[0] ?? latest
  const highest = byValue[byValue.length - 1] ?? latest
  const bare = (v: ParsedVital) => (v.kind === "blood_pressure" ? `${v.value}/${v.diastolic ?? "?"}` : String(v.value))
  const spread = lowest.unit === highest.unit ? `${bare(lowest)} to ${show(highest)}` : `${show(lowest)} to ${show(highest)}`
  return `Your latest ${label} reading was ${show(latest)} on ${when}; across ${readings.length} readings it ranged from ${spread}.`
}

const listFlagged = (document: ChatDocument): string => {
  const flagged = document.results.filter((r) => isFlagged(r.flag))
  if (flagged.length === 0) {
    return document.results.length === 0
      ? "Your document has no lab results with flags; I can only go by what it contains."
      : "None of the results in your document are flagged: each one with a reference range is within it."
  }
  return [
    `${flagged.length === 1 ? "One result is" : `${flagged.length} results are`} flagged on your report:`,
    ...flagged.map((r) => `- ${describeResult(r)}`),
    "Please talk to your clinician about the flagged results."
  ].join("\n")
}

const notInDocument = (document: ChatDocument): string => {
  const names = document.results.slice(0, 8).map((r) => r.name)
  const kinds = [...new Set(document.vitals.map((v) => VITALS.find((x) => x.kind === v.kind)?.label ?? v.kind))]
  const available = [...names, ...kinds]
  if (available.length === 0) {
    return "I don't know: your document doesn't contain that, and I could not read any results from it. I can only answer questions about this document."
  }
  const more = document.results.length > 8 ? " and more" : ""
  return `I don't know: your document doesn't contain that. I can only answer about what it contains, such as ${available.join(", ")}${more}.`
}

const lastUserQuestion = (history: ReadonlyArray<ChatTurn>): string | undefined => {
  for (let i = history.length - 1; i >= 0; i--) {
    const turn = history[i]
    if (turn?.role === "user") return turn.content
  }
  return undefined
}

/** The answer to one question about one document. */
/** "2026-01-10: 130 mg/dL (high)" */
const trendPoint = (point: ChatTrend["points"][number]): string => {
  const value = withUnitText(typeof point.value === "number" ? String(point.value) : point.value, point.unit)
  const flag = point.flag === "normal" || point.flag === "unknown" ? "" : ` (${FLAG_WORDS[point.flag]})`
  return `${point.at.replace("T", " at ")}: ${value}${flag}${point.current ? " — this report" : ""}`
}

/** A result's values across the user's documents, oldest first, and how the first and the last compare. */
export const describeTrend = (trend: ChatTrend): string => {
  const lines = [`Your ${spokenName(trend.name)} across your documents:`, ...trend.points.map((p) => `- ${trendPoint(p)}`)]
  const first = trend.points[0]
  const last = trend.points.at(-1)
  if (first !== undefined && last !== undefined && typeof first.value === "number" && typeof last.value === "number" && first.unit === last.unit) {
    const delta = Number((last.value - first.value).toPrecision(4))
    lines.push(
      delta === 0
        ? `It is the same as in your first document (${withUnitText(String(last.value), last.unit)}).`
        : `From the first to the latest it went ${delta > 0 ? "up" : "down"} by ${withUnitText(String(Math.abs(delta)), last.unit)}.`
    )
  }
  return lines.join("\n")
}

const trendOfResult = (trends: ReadonlyArray<ChatTrend>, result: ParsedResult): ChatTrend | undefined =>
  trends.find((t) => (result.loinc !== undefined && t.code === result.loinc) || t.name === result.name)

export const answerQuestion = (
  document: ChatDocument,
  question: string,
  history: ReadonlyArray<ChatTurn> = [],
  trends: ReadonlyArray<ChatTrend> = []
): string => {
  const q = normalizeQuestion(question)
  let results = matchResults(document, q)
  let vitals = matchVitals(q)
  if (results.length === 0 && vitals.length === 0 && FOLLOW_UP.test(q)) {
    const previous = lastUserQuestion(history)
    if (previous !== undefined) {
      results = matchResults(document, previous)
      vitals = matchVitals(previous)
    }
  }
  // "how has my LDL changed?": the values across the user's documents, where there are earlier ones
  if (CHANGE.test(q) && results.length > 0 && !ADVICE.test(q)) {
    const lines = results.map((r) => {
      const trend = trendOfResult(trends, r)
      return trend === undefined
        ? `${describeResult(r)} This is the only one of your documents with your ${spokenName(r.name)}, so there is nothing to compare it with yet.`
        : describeTrend(trend)
    })
    const flagged = results.some((r) => isFlagged(r.flag)) || results.some((r) => trendOfResult(trends, r)?.points.some((p) => isFlagged(p.flag)) === true)
    return [...lines, ...(flagged ? [DISCUSS_WITH_CLINICIAN] : [])].join("\n")
  }
  const valueLines = [
    ...results.map(describeResult),
    ...vitals.flatMap((v) => describeVitals(document, v.kind, v.label) ?? [])
  ]
  const anyFlagged = results.some((r) => isFlagged(r.flag))

  if (ADVICE.test(q)) {
    if (valueLines.length > 0) return [NOT_ADVICE, "What your document shows:", ...valueLines].join("\n")
    const flagged = document.results.filter((r) => isFlagged(r.flag))
    return flagged.length === 0
      ? NOT_ADVICE
      : [
          NOT_ADVICE,
          "Your report flags these results, which you could bring to that conversation:",
          ...flagged.map(describeResult)
        ].join("\n")
  }
  if (valueLines.length > 0) {
    return [...valueLines, ...(anyFlagged ? [DISCUSS_WITH_CLINICIAN] : [])].join("\n")
  }
  if (ABNORMAL.test(q)) return listFlagged(document)
  if (SUMMARY.test(q)) return document.summary
  if (WHEN.test(q)) {
    const times = document.vitals.map((v) => v.time).sort()
    const when = document.collectedAt ?? times[0]
    return when === undefined
      ? "I don't know: your document doesn't say when the samples or readings were taken."
      : `According to your document, ${
          document.collectedAt === undefined ? "the first reading was taken" : "the sample was collected"
        } on ${when.replace("T", " at ")}.`
  }
  return notInDocument(document)
}
