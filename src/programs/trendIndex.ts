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
export const decodeTrendEntries = Schema.decodeUnknownEffect(TrendEntries)

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
