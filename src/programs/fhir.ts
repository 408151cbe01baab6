/**
 * Interpreted documents as FHIR R4: a Bundle of type `collection` holding the Patient, one
 * DiagnosticReport per document and one Observation per result or vital-signs reading.
 *
 * Why `collection` and not `document`: a `document` Bundle is an attested clinical document —
 * its Composition names an author and an attester who vouch for its content, and it is meant to
 * be immutable and signed. What we hold is the patient's own copy of a report, read by software;
 * nobody attests it. A `collection` says what it is: resources gathered for the patient to take
 * elsewhere, each standing on its own (the DiagnosticReport already groups a report's results).
 *
 * Choices a receiving system may want to know:
 * - Ids are stable: the DiagnosticReport's is the content id, the Patient's the account id, each
 *   Observation's a UUID derived from its content id and position (version 5), so the same
 *   content exports to the same resources and a second import can be matched to the first.
 *   Entries are addressed by `urn:uuid:` full URLs, as a Bundle of resources with no server is.
 * - Times: FHIR requires a time zone on a time of day. Reports print local times without one,
 *   so a collection or reading time without a zone is exported as its date, and the printed time
 *   is kept in a note; one with a zone (or in UTC) is exported whole. A vital-signs reading must
 *   have a time: one with none (and no date on its document) gets a period ending at the upload.
 * - The Patient holds the account id and, only when the user gave one, their name: nothing else
 *   the account knows (no email) and nothing read from the document's header.
 * - Values: numbers as `valueQuantity` (the printed unit, and the UCUM code where the reader
 *   found a valid one); `<0.5` and the like as a quantity with its comparator; the qualitative
 *   answers labs print (negative, positive, detected…) as SNOMED CT codes with the printed text;
 *   any other text as `valueString`. Flags map to HL7 v3 ObservationInterpretation (L, N, H, LL,
 *   HH, A); an unknown flag has no interpretation.
 * - A value read from a photo by OCR and marked for review carries a note saying so.
 *
 * Pure: the caller loads the content (and the original, when asked) and audits the export.
 */
import type {
  Attachment,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Coding,
  DiagnosticReport,
  Observation,
  ObservationComponent,
  ObservationReferenceRange,
  Patient,
  Quantity,
  Resource
} from "@medplum/fhirtypes"
import { createHash } from "node:crypto"
import type { InterpretedDocument, LabResult, ResultFlag, VitalKind, VitalSign } from "../services/llm.js"

/** The media type of FHIR's JSON format. */
export const FHIR_JSON = "application/fhir+json"

export const LOINC = "http://loinc.org"
export const UCUM = "http://unitsofmeasure.org"
export const SNOMED = "http://snomed.info/sct"
export const OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
export const DIAGNOSTIC_SERVICE_SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"
export const OBSERVATION_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
export const DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
export const VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"

/** The account as the export may show it: its id, and the name the user gave (if any). */
export interface FhirPatient {
  readonly id: string
  readonly name: string | null
}

/** The original upload, when the export is asked to include it. */
export interface FhirOriginal {
  readonly contentType: string
  readonly bytes: Uint8Array
  readonly fileName?: string | undefined
}

/** One stored document as the export needs it. */
export interface FhirContent {
  readonly contentId: string
  readonly document: InterpretedDocument
  readonly createdAt: Date
  readonly original?: FhirOriginal | undefined
}

// ---------------------------------------------------------------------------------------------
// Ids

/** This project's namespace for version-5 UUIDs (a random UUID, fixed once). */
const NAMESPACE = Buffer.from("6f0d3c4e9b2a4c7e8e51a3b7d2c90f14", "hex")

/**
 * A version-5 (name-based, SHA-1) UUID, RFC 9562 §5.5. Written here: node:crypto makes only
 * random UUIDs, and the one library that does both (uuid) would be a dependency for 8 lines.
 */
export const uuidV5 = (name: string): string => {
  const hash = createHash("sha1").update(NAMESPACE).update(name, "utf8").digest()
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const urn = (id: string) => `urn:uuid:${id.toLowerCase()}`

// ---------------------------------------------------------------------------------------------
// Dates

const DATE = /^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/
const DATE_TIME = /^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(\.\d{1,9})?)?\s*(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$/

/** A date or date-time as read, as FHIR dateTime: whole when it has a zone, its date (and the printed time) when not. */
export const fhirDateTime = (text: string | undefined): { readonly dateTime: string; readonly localTime?: string } | undefined => {
  if (text === undefined) return undefined
  const trimmed = text.trim()
  if (DATE.test(trimmed)) return validDate(trimmed) ? { dateTime: trimmed } : undefined
  const m = DATE_TIME.exec(trimmed)
  if (m === null) return undefined
  const [, date = "", , , hours = "", minutes = "", seconds, fraction, zone] = m
  if (!validDate(date)) return undefined
  const time = `${hours}:${minutes}:${seconds ?? "00"}${fraction ?? ""}`
  if (zone === undefined) return { dateTime: date, localTime: `${hours}:${minutes}` }
  const offset = zone === "Z" ? "Z" : zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`
  return { dateTime: `${date}T${time}${offset}` }
}

/** The calendar has the day (no 31 April, 29 February only in a leap year). */
const validDate = (date: string): boolean => {
  const [year, month, day] = date.split("-").map(Number)
  if (month === undefined || day === undefined) return true
  const d = new Date(Date.UTC(year ?? 0, month - 1, day))
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day
}

// ---------------------------------------------------------------------------------------------
// Values

/** FHIR strings are not empty and not only whitespace. */
const text = (value: string | undefined): string | undefined => (value !== undefined && value.trim() !== "" ? value.trim() : undefined)

const quantity = (value: number, unit: string | undefined, ucum: string | undefined): Quantity => {
  const printed = text(unit) ?? ucum
  return { value, ...(printed === undefined ? {} : { unit: printed }), ...(ucum === undefined ? {} : { system: UCUM, code: ucum }) }
}

const QUALITATIVE: ReadonlyArray<readonly [RegExp, Coding]> = [
  [/^(neg|negative)$/i, { system: SNOMED, code: "260385009", display: "Negative" }],
  [/^(pos|positive)$/i, { system: SNOMED, code: "10828004", display: "Positive" }],
  [/^not\s+detected$/i, { system: SNOMED, code: "260415000", display: "Not detected" }],
  [/^detected$/i, { system: SNOMED, code: "260373001", display: "Detected" }],
  [/^non-?\s*reactive$/i, { system: SNOMED, code: "131194007", display: "Non-Reactive" }],
  [/^reactive$/i, { system: SNOMED, code: "11214006", display: "Reactive" }],
  [/^trace$/i, { system: SNOMED, code: "260405006", display: "Trace" }]
]

const COMPARATOR = /^(<=|>=|≤|≥|<|>)\s*(\d+(?:\.\d+)?)$/
const COMPARATORS: Readonly<Record<string, Quantity["comparator"]>> = { "<": "<", "<=": "<=", "≤": "<=", ">": ">", ">=": ">=", "≥": ">=" }

type ObservationValue = Pick<Observation, "valueQuantity" | "valueString" | "valueCodeableConcept">

const resultValue = (result: LabResult): ObservationValue => {
  const ucum = result.ucumUnit
  if (typeof result.value === "number") return { valueQuantity: quantity(result.value, result.unit, ucum) }
  const printed = result.value.trim()
  const bounded = COMPARATOR.exec(printed)
  if (bounded !== null) {
    return { valueQuantity: { comparator: COMPARATORS[bounded[1] ?? "<"] ?? "<", ...quantity(Number(bounded[2]), result.unit, ucum) } }
  }
  const coded = QUALITATIVE.find(([pattern]) => pattern.test(printed))
  if (coded !== undefined) return { valueCodeableConcept: { coding: [coded[1]], text: printed } }
  return text(printed) === undefined ? {} : { valueString: printed }
}

const INTERPRETATION: Readonly<Record<ResultFlag, Coding | undefined>> = {
  low: { system: OBSERVATION_INTERPRETATION, code: "L", display: "Low" },
  normal: { system: OBSERVATION_INTERPRETATION, code: "N", display: "Normal" },
  high: { system: OBSERVATION_INTERPRETATION, code: "H", display: "High" },
  critical_low: { system: OBSERVATION_INTERPRETATION, code: "LL", display: "Critical low" },
  critical_high: { system: OBSERVATION_INTERPRETATION, code: "HH", display: "Critical high" },
  abnormal: { system: OBSERVATION_INTERPRETATION, code: "A", display: "Abnormal" },
  unknown: undefined
}

export const interpretationCode = (flag: ResultFlag): string | undefined => INTERPRETATION[flag]?.code

const referenceRange = (result: LabResult): ObservationReferenceRange | undefined => {
  const range = result.referenceRange
  const unit = typeof result.value === "number" || COMPARATOR.test(String(result.value).trim()) ? result.unit : undefined
  const low = range.low === undefined ? undefined : quantity(range.low, unit, result.ucumUnit)
  const high = range.high === undefined ? undefined : quantity(range.high, unit, result.ucumUnit)
  const printed = text(range.text)
  if (low === undefined && high === undefined && printed === undefined) return undefined
  return { ...(low === undefined ? {} : { low }), ...(high === undefined ? {} : { high }), ...(printed === undefined ? {} : { text: printed }) }
}

// ---------------------------------------------------------------------------------------------
// Resources

const category = (system: string, code: string, display: string): CodeableConcept => ({ coding: [{ system, code, display }] })
const LABORATORY = category(OBSERVATION_CATEGORY, "laboratory", "Laboratory")
const VITAL_SIGNS = category(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")

interface Context {
  readonly patient: string
  readonly issued: string
  readonly effective: { readonly dateTime: string; readonly localTime?: string } | undefined
}

const notes = (...lines: ReadonlyArray<string | undefined>) => {
  const kept = lines.filter((line): line is string => line !== undefined)
  return kept.length === 0 ? {} : { note: kept.map((line) => ({ text: line })) }
}

const localTimeNote = (effective: Context["effective"]) =>
  effective?.localTime === undefined ? undefined : `Taken at ${effective.localTime}, local time as printed (the document gives no time zone).`

const UNKNOWN_TIME_NOTE = "The document gives no time for this reading: taken before the document was uploaded."

const reviewNote = (mark: { readonly needsReview: boolean } | undefined) =>
  mark?.needsReview === true ? "Read from a photo or scan by OCR with low confidence or a repair: check it against the original." : undefined

const labObservation = (id: string, result: LabResult, context: Context): Observation => {
  const interpretation = INTERPRETATION[result.flag]
  const range = referenceRange(result)
  return {
    resourceType: "Observation",
    id,
    status: "final",
    category: [LABORATORY],
    code: {
      ...(result.loinc === undefined ? {} : { coding: [{ system: LOINC, code: result.loinc }] }),
      text: result.name
    },
    subject: { reference: context.patient },
    ...(context.effective === undefined ? {} : { effectiveDateTime: context.effective.dateTime }),
    issued: context.issued,
    ...resultValue(result),
    ...(interpretation === undefined ? {} : { interpretation: [{ coding: [interpretation] }] }),
    ...(range === undefined ? {} : { referenceRange: [range] }),
    ...notes(localTimeNote(context.effective), reviewNote(result.ocr))
  }
}

interface VitalCode {
  readonly codings: ReadonlyArray<Coding>
  readonly text: string
  readonly profile: string
}

const VITAL_CODES: Readonly<Record<VitalKind, VitalCode>> = {
  blood_pressure: {
    codings: [{ system: LOINC, code: "85354-9", display: "Blood pressure panel with all children optional" }],
    text: "Blood pressure",
    profile: "http://hl7.org/fhir/StructureDefinition/bp"
  },
  pulse: { codings: [{ system: LOINC, code: "8867-4", display: "Heart rate" }], text: "Pulse", profile: "http://hl7.org/fhir/StructureDefinition/heartrate" },
  spo2: {
    codings: [
      { system: LOINC, code: "2708-6", display: "Oxygen saturation in Arterial blood" },
      { system: LOINC, code: "59408-5", display: "Oxygen saturation in Arterial blood by Pulse oximetry" }
    ],
    text: "Oxygen saturation (SpO2)",
    profile: "http://hl7.org/fhir/StructureDefinition/oxygensat"
  },
  temperature: { codings: [{ system: LOINC, code: "8310-5", display: "Body temperature" }], text: "Body temperature", profile: "http://hl7.org/fhir/StructureDefinition/bodytemp" },
  weight: { codings: [{ system: LOINC, code: "29463-7", display: "Body weight" }], text: "Body weight", profile: "http://hl7.org/fhir/StructureDefinition/bodyweight" }
}

/** The profile a vital-signs Observation of this kind conforms to (besides the vital-signs profile). */
export const vitalProfile = (kind: VitalKind): string => VITAL_CODES[kind].profile

/** UCUM codes for the units the reader gives vitals (and a few spellings a model may return). */
const VITAL_UNITS: Readonly<Record<string, string>> = {
  mmhg: "mm[Hg]",
  "mm[hg]": "mm[Hg]",
  bpm: "/min",
  "/min": "/min",
  "beats/min": "/min",
  "%": "%",
  "°c": "Cel",
  c: "Cel",
  cel: "Cel",
  "°f": "[degF]",
  f: "[degF]",
  "[degf]": "[degF]",
  kg: "kg",
  g: "g",
  lb: "[lb_av]",
  lbs: "[lb_av]",
  "[lb_av]": "[lb_av]"
}

/** The UCUM code of a vital's unit as the reader writes it, if it is one the vital-signs profiles take. */
export const vitalUcum = (kind: VitalKind, unit: string): string | undefined => {
  if (kind === "blood_pressure") return "mm[Hg]"
  if (kind === "pulse") return "/min"
  if (kind === "spo2") return "%"
  return VITAL_UNITS[unit.trim().toLowerCase()]
}

const BP_SYSTOLIC: CodeableConcept = { coding: [{ system: LOINC, code: "8480-6", display: "Systolic blood pressure" }], text: "Systolic" }
const BP_DIASTOLIC: CodeableConcept = { coding: [{ system: LOINC, code: "8462-4", display: "Diastolic blood pressure" }], text: "Diastolic" }

const vitalObservation = (id: string, vital: VitalSign, context: Context): Observation => {
  const code = VITAL_CODES[vital.kind]
  const ucum = vitalUcum(vital.kind, vital.unit)
  const effective = fhirDateTime(vital.time) ?? context.effective
  const printedUnit = text(vital.unit) ?? ucum
  const value = (v: number): Quantity => ({ value: v, ...(printedUnit === undefined ? {} : { unit: printedUnit }), ...(ucum === undefined ? {} : { system: UCUM, code: ucum }) })
  const components: Array<ObservationComponent> | undefined = vital.kind === "blood_pressure"
    ? [
      { code: BP_SYSTOLIC, valueQuantity: value(vital.value) },
      vital.diastolic === undefined
        ? { code: BP_DIASTOLIC, dataAbsentReason: { coding: [{ system: DATA_ABSENT_REASON, code: "unknown", display: "Unknown" }] } }
        : { code: BP_DIASTOLIC, valueQuantity: value(vital.diastolic) }
    ]
    : undefined
  return {
    resourceType: "Observation",
    id,
    meta: { profile: [VITAL_SIGNS_PROFILE, code.profile] },
    status: "final",
    category: [VITAL_SIGNS],
    code: { coding: [...code.codings], text: code.text },
    subject: { reference: context.patient },
    // the vital-signs profile requires a time: the reading's, else the document's; with neither, all that is
    // known is that it was taken before the document was uploaded (a period that ends then)
    ...(effective === undefined ? { effectivePeriod: { end: context.issued } } : { effectiveDateTime: effective.dateTime }),
    issued: context.issued,
    ...(components === undefined ? { valueQuantity: value(vital.value) } : { component: components }),
    ...notes(localTimeNote(effective), effective === undefined ? UNKNOWN_TIME_NOTE : undefined, reviewNote(vital.ocr))
  }
}

const patientResource = (patient: FhirPatient): Patient & { id: string } => {
  const name = text(patient.name ?? undefined)
  return { resourceType: "Patient", id: patient.id.toLowerCase(), ...(name === undefined ? {} : { name: [{ text: name }] }) }
}

const entry = <R extends Resource>(resource: R & { readonly id: string }): BundleEntry<R> => ({ fullUrl: urn(resource.id), resource })

const presentedForm = (content: FhirContent): ReadonlyArray<Attachment> | undefined => {
  const original = content.original
  if (original === undefined) return undefined
  const title = text(original.fileName)
  return [{
    contentType: original.contentType,
    data: Buffer.from(original.bytes.buffer, original.bytes.byteOffset, original.bytes.byteLength).toString("base64"),
    size: original.bytes.byteLength,
    ...(title === undefined ? {} : { title })
  }]
}

/** The resources of one document: its DiagnosticReport first, then its Observations. */
const documentEntries = (content: FhirContent, patientUrl: string): Array<BundleEntry> => {
  const document = content.document
  const context: Context = { patient: patientUrl, issued: content.createdAt.toISOString(), effective: fhirDateTime(document.collectedAt) }
  const results = document.results.map((result, i) => labObservation(uuidV5(`${content.contentId}/result/${i}`), result, context))
  const vitals = document.vitals.map((vital, i) => vitalObservation(uuidV5(`${content.contentId}/vital/${i}`), vital, context))
  const observations = [...results, ...vitals]
  const form = presentedForm(content)
  const report: DiagnosticReport & { id: string } = {
    resourceType: "DiagnosticReport",
    id: content.contentId.toLowerCase(),
    status: "final",
    // a lab report is LAB; a vitals log or anything else has no better section than "other"
    category: [results.length > 0 ? category(DIAGNOSTIC_SERVICE_SECTION, "LAB", "Laboratory") : category(DIAGNOSTIC_SERVICE_SECTION, "OTH", "Other")],
    code: {
      ...(document.documentType === "lab_results" ? { coding: [{ system: LOINC, code: "11502-2", display: "Laboratory report" }] } : {}),
      text: document.title
    },
    subject: { reference: patientUrl },
    ...(context.effective === undefined ? {} : { effectiveDateTime: context.effective.dateTime }),
    issued: context.issued,
    ...(observations.length === 0 ? {} : { result: observations.map((o) => ({ reference: urn(o.id ?? "") })) }),
    conclusion: document.summary,
    ...(form === undefined ? {} : { presentedForm: [...form] })
  }
  return [entry(report), ...observations.map((o) => entry(o as Observation & { id: string }))]
}

/** A Bundle (type collection) of documents for one patient: the Patient first, then each document's report and observations. */
export const fhirBundle = (patient: FhirPatient, contents: ReadonlyArray<FhirContent>, timestamp: Date): Bundle => {
  const patientEntry = entry(patientResource(patient))
  const patientUrl = patientEntry.fullUrl ?? ""
  return {
    resourceType: "Bundle",
    id: uuidV5(`bundle/${patient.id}/${contents.map((c) => c.contentId).join(",")}/${timestamp.toISOString()}`),
    type: "collection",
    timestamp: timestamp.toISOString(),
    entry: [patientEntry, ...contents.flatMap((content) => documentEntries(content, patientUrl))]
  }
}
