/**
 * The trends index of one document: its results as trends read them, sealed in the document's
 * row (`content.trends_encrypted`, migration 0013) when the document is stored. Pure: what goes in
 * the index, and how an entry's test is named, are decided here; storing and reading are
 * content.ts's and trends.ts's.
 */
import { Schema } from "effect"
import { type InterpretedDocument, ResultFlag } from "../services/llm.js"

/** One result of one document, as the index keeps it. */
export const TrendEntry = Schema.Struct({
  /** LOINC, where the reader or the model found one. */
  code: Schema.optionalKey(Schema.String),
  /** The test's name as the report prints it. */
  name: Schema.String,
  value: Schema.Union([Schema.Finite, Schema.String]),
  /** The unit as printed, and its UCUM code where it has a valid one. */
  unit: Schema.String,
  ucum: Schema.optionalKey(Schema.String),
  flag: ResultFlag,
  /** The report's collection date as printed (ISO 8601); absent when it gives none (trends then date it by when it was stored). */
  collectedAt: Schema.optionalKey(Schema.String)
})
export type TrendEntry = typeof TrendEntry.Type

/** The index as sealed: JSON. */
export const TrendEntries = Schema.fromJsonString(Schema.Array(TrendEntry))
export const encodeTrendEntries = Schema.encodeSync(TrendEntries)

const FLAGS: ReadonlySet<string> = new Set(ResultFlag.literals)
const optionalString = (value: unknown) => value === undefined || typeof value === "string"

/**
 * The index as opened: JSON checked entry by entry, by hand. Measured: the schema's decoder took
 * ~30 ms for a user's 200 documents (3,200 entries), JSON.parse and these checks ~3 ms, and
 * trends read every document's index on every request. What is checked is what TrendEntry says;
 * the text itself is authenticated (it was sealed), so the checks only catch a format drift.
 * Undefined when anything does not fit.
 */
export const parseTrendEntries = (text: string): ReadonlyArray<TrendEntry> | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed)) return undefined
  for (const entry of parsed as ReadonlyArray<Record<string, unknown>>) {
    if (typeof entry !== "object" || entry === null) return undefined
    const value = entry.value
    if (!(typeof value === "string" || (typeof value === "number" && Number.isFinite(value)))) return undefined
    if (typeof entry.name !== "string" || typeof entry.unit !== "string" || typeof entry.flag !== "string" || !FLAGS.has(entry.flag)) return undefined
    if (!optionalString(entry.code) || !optionalString(entry.ucum) || !optionalString(entry.collectedAt)) return undefined
  }
  return parsed as ReadonlyArray<TrendEntry>
}

/** A document's results as index entries. */
export const trendEntriesOf = (document: InterpretedDocument): Array<TrendEntry> => {
  const collected = document.collectedAt?.trim()
  const dated = collected !== undefined && !Number.isNaN(Date.parse(collected.slice(0, 10))) ? { collectedAt: collected } : {}
  return document.results.map((result) => ({
    ...(result.loinc === undefined ? {} : { code: result.loinc }),
    name: result.name,
    value: result.value,
    unit: result.unit,
    ...(result.ucumUnit === undefined ? {} : { ucum: result.ucumUnit }),
    flag: result.flag,
    ...dated
  }))
}

/** A test's name as trends match it: case, accents' forms, punctuation and spacing do not matter ("HbA1c" = "HBA1C", "LDL-C" = "ldl c"). */
export const nameKey = (name: string): string =>
  name.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()
