/**
 * What the lexicon adds to every provider's results, before the document is finished:
 * - the LOINC code of a test it knows, and the printed unit in UCUM;
 * - a critical flag (source `critical_limit`) when the value is beyond the analyte's published
 *   critical limit in its own unit (lexicon/table.ts cites the lists), whatever the report
 *   printed: a potassium of 6.8 with only a range beside it is critical;
 * - a value the analyte cannot physically have (a potassium of 41 mmol/L: a lost decimal point)
 *   is not shown as a result: its line is reported unread instead, since a wrong number under a
 *   right name is worse than no number.
 * A name or unit the lexicon does not know changes nothing: the result stays as read; nor does a
 * name whose printed range contradicts the lexicon (critical.ts, rangeContradicts).
 */
import { InterpretedDocument, isCriticalFlag, LabResult, UnreadLine } from "../../../services/llm.js"
import { criticalFlag, isPlausible, rangeContradicts } from "./critical.js"
import { type Analyte, findAnalyteMention, lookupAnalyteForUnit } from "./lexicon/analytes.js"
import { toUcum } from "./units.js"

/** The analyte a printed name means: the whole name, else a known name it starts with ("Glucose, fasting"). */
const analyteOf = (name: string, ucum: string | undefined): Analyte | undefined => {
  const whole = lookupAnalyteForUnit(name, ucum)
  if (whole !== undefined) return whole
  // an abbreviation in brackets names the test: "Koagulationsfaktor II+VII+X [relativ aktivitet; INR]", "C-reaktivt protein [CRP]"
  for (const group of name.matchAll(/[[(]([^\])]{1,40})[\])]/g)) {
    const named = (group[1] ?? "").split(/[;,/]/).map((part) => lookupAnalyteForUnit(part.trim(), ucum)).filter((a) => a !== undefined)
    if (named.length === 1) return named[0]
  }
  const mention = findAnalyteMention(name)
  if (mention === undefined || mention.start > 2) return undefined
  if (mention.candidates.length === 1) return mention.candidates[0]
  return lookupAnalyteForUnit(name.slice(mention.start, mention.end), ucum)
}

/** A name that says the specimen is urine: "Sodium, urine", "Urine creatinine", "U-Natrium", "Harnsäure im Urin" (not "Harnsäure"). */
const URINE_NAME_RE = /(?<![\p{L}])(?:urine|urinary|urin|orina|urina|mocz|moč)(?![\p{L}])|^(?:u|su|du)-/iu

const numericValue = (value: number | string): number | undefined => (typeof value === "number" ? value : undefined)

interface Enriched {
  readonly result?: LabResult
  readonly unread?: UnreadLine
}

const enrichResult = (result: LabResult): Enriched => {
  const ucum = result.ucumUnit ?? (result.unit.trim() === "" ? undefined : toUcum(result.unit))
  const found = analyteOf(result.name, ucum)
  // a urine test named after a blood one ("Sodium, urine (random)", "U-Natrium"): the blood test's limits are not its own
  const named = found !== undefined && found.specimen !== "urine" && URINE_NAME_RE.test(result.name) ? undefined : found
  // the report's own range may say the name means something else here (urine leucocytes, not a blood count)
  const analyte = named !== undefined && rangeContradicts(named, result.referenceRange, ucum) ? undefined : named
  const value = numericValue(result.value)
  if (analyte !== undefined && value !== undefined && isPlausible(analyte, value, ucum) === false) {
    const text = `${result.name} ${String(result.value)} ${result.unit}`.trim().slice(0, 300)
    return { unread: new UnreadLine({ page: result.page ?? 1, line: result.line ?? 1, text }) }
  }
  const critical =
    analyte !== undefined && value !== undefined && !isCriticalFlag(result.flag) ? criticalFlag(analyte, value, ucum) : undefined
  return {
    result: new LabResult({
      ...result,
      ...(ucum === undefined ? {} : { ucumUnit: ucum }),
      ...(result.loinc === undefined && analyte?.loinc !== undefined ? { loinc: analyte.loinc } : {}),
      ...(critical === undefined ? {} : { flag: critical, flagSource: "critical_limit" as const })
    })
  }
}

export const enrichDocument = (document: InterpretedDocument): InterpretedDocument => {
  const enriched = document.results.map(enrichResult)
  const results = enriched.flatMap((e) => (e.result === undefined ? [] : [e.result]))
  const unread = enriched.flatMap((e) => (e.unread === undefined ? [] : [e.unread]))
  return new InterpretedDocument({
    ...document,
    results,
    unreadLines: [...document.unreadLines, ...unread].sort((a, b) => a.page - b.page || a.line - b.line)
  })
}
