/**
 * The offline provider on the fixtures: the lab report as text and as PDF must give every
 * row exactly (name, value, unit, range, flag), and the vitals log every reading.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeOfflineLLM } from "../../../src/layers/llm/offline.js"
import type { DocumentContentType, Interpretation } from "../../../src/services/llm.js"
import { FIXTURES_DIR } from "../../support/fixtures.js"

const fixtures = FIXTURES_DIR
const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(fixtures, name)))

const llm = makeOfflineLLM()
const interpret = (name: string, contentType: DocumentContentType) =>
  llm.interpret({ bytes: fixture(name), contentType })

interface Row {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly low?: number
  readonly high?: number
  readonly text: string
  readonly flag: string
}

/** Every row of lab-report-cbc-cmp, as the report prints it. */
const LAB_ROWS: ReadonlyArray<Row> = [
  { name: "White Blood Cell Count", value: 11.8, unit: "10^3/uL", low: 4, high: 11, text: "4.0 - 11.0", flag: "high" },
  { name: "Red Blood Cell Count", value: 4.21, unit: "10^6/uL", low: 3.9, high: 5.2, text: "3.90 - 5.20", flag: "normal" },
  { name: "Hemoglobin", value: 11.2, unit: "g/dL", low: 12, high: 16, text: "12.0 - 16.0", flag: "low" },
  { name: "Hematocrit", value: 34.1, unit: "%", low: 36, high: 46, text: "36.0 - 46.0", flag: "low" },
  { name: "MCV", value: 81, unit: "fL", low: 80, high: 100, text: "80 - 100", flag: "normal" },
  { name: "Platelet Count", value: 262, unit: "10^3/uL", low: 150, high: 400, text: "150 - 400", flag: "normal" },
  { name: "Glucose, fasting", value: 104, unit: "mg/dL", low: 70, high: 99, text: "70 - 99", flag: "high" },
  { name: "Sodium", value: 139, unit: "mmol/L", low: 135, high: 145, text: "135 - 145", flag: "normal" },
  { name: "Potassium", value: 4.1, unit: "mmol/L", low: 3.5, high: 5.1, text: "3.5 - 5.1", flag: "normal" },
  { name: "Creatinine", value: 0.84, unit: "mg/dL", low: 0.57, high: 1, text: "0.57 - 1.00", flag: "normal" },
  { name: "eGFR", value: 92, unit: "mL/min/1.73m2", low: 59, text: ">59", flag: "normal" },
  { name: "ALT", value: 22, unit: "U/L", low: 0, high: 32, text: "0 - 32", flag: "normal" },
  { name: "Total Cholesterol", value: 212, unit: "mg/dL", high: 200, text: "<200", flag: "high" },
  { name: "HDL Cholesterol", value: 58, unit: "mg/dL", low: 39, text: ">39", flag: "normal" },
  { name: "LDL Cholesterol (calc)", value: 131, unit: "mg/dL", low: 0, high: 99, text: "0 - 99", flag: "high" },
  { name: "Hemoglobin A1c", value: 5.9, unit: "%", low: 4, high: 5.6, text: "4.0 - 5.6", flag: "high" }
]

const asRows = (interpretation: Interpretation): ReadonlyArray<Row> =>
  interpretation.document.results.map((r) => ({
    name: r.name,
    value: r.value as number,
    unit: r.unit,
    ...(r.referenceRange.low === undefined ? {} : { low: r.referenceRange.low }),
    ...(r.referenceRange.high === undefined ? {} : { high: r.referenceRange.high }),
    text: r.referenceRange.text,
    flag: r.flag
  }))

const checkLabReport = (interpretation: Interpretation) => {
  const { document } = interpretation
  expect(document.documentType).toBe("lab_results")
  expect(asRows(interpretation)).toEqual(LAB_ROWS)
  expect(document.vitals).toEqual([])
  expect(document.collectedAt).toBe("2026-04-18T07:42")
  expect(document.title).toBe("Complete Blood Count (CBC), Comprehensive Metabolic Panel")
  expect(document.summary).toContain("Hemoglobin is 11.2 g/dL, below the reference range 12.0–16.0.")
  expect(document.summary).toContain("Please talk to your clinician about the flagged results.")
  // nothing that identifies the patient, the people or the report leaves the parser
  for (const field of [document.title, document.summary, ...document.results.map((r) => r.name)]) {
    expect(field).not.toMatch(/DOE|JANE|Alvarez|Chen|NCL-2026|1984-03-12/i)
  }
  expect(interpretation.provider).toBe("offline")
  expect(interpretation.modelId).toBe("offline-parser-v1")
}

describe("offline provider on test/fixtures", () => {
  it.effect("lab-report-cbc-cmp.txt: all 16 rows with value, unit, range and flag", () =>
    Effect.map(interpret("lab-report-cbc-cmp.txt", "text/plain"), checkLabReport))

  it.effect("lab-report-cbc-cmp.pdf: the same 16 rows as the text version", () =>
    Effect.map(interpret("lab-report-cbc-cmp.pdf", "application/pdf"), checkLabReport))

  it.effect("the PDF and the text give the same document", () =>
    Effect.gen(function* () {
      const text = yield* interpret("lab-report-cbc-cmp.txt", "text/plain")
      const pdf = yield* interpret("lab-report-cbc-cmp.pdf", "application/pdf")
      expect(pdf.document).toEqual(text.document)
    }))

  it.effect("flags: report flags are kept, missing ones are computed from the range (bounds like <200 and >59 included)", () =>
    Effect.map(interpret("lab-report-cbc-cmp.txt", "text/plain"), ({ document }) => {
      const flag = (name: string) => document.results.find((r) => r.name === name)?.flag
      expect(flag("eGFR")).toBe("normal") // 92 against >59, no flag printed
      expect(flag("Total Cholesterol")).toBe("high") // 212 against <200, printed H
      expect(flag("HDL Cholesterol")).toBe("normal") // 58 against >39
      expect(flag("MCV")).toBe("normal") // 81 within 80 - 100, no flag printed
    }))

  it.effect("vitals-log.txt: 4 rows × blood pressure, pulse, weight, SpO2 and temperature", () =>
    Effect.map(interpret("vitals-log.txt", "text/plain"), ({ document }) => {
      expect(document.documentType).toBe("vitals")
      expect(document.results).toEqual([])
      const rows = [
        { time: "2026-05-01T07:10", bp: [128, 84], pulse: 72, weight: 68.4, spo2: 98, temp: 36.6 },
        { time: "2026-05-02T07:05", bp: [134, 88], pulse: 75, weight: 68.2, spo2: 97, temp: 36.7 },
        { time: "2026-05-03T07:12", bp: [141, 91], pulse: 78, weight: 68.3, spo2: 98, temp: 36.5 },
        { time: "2026-05-04T07:08", bp: [126, 82], pulse: 70, weight: 68.1, spo2: 99, temp: 36.6 }
      ]
      const expected = rows.flatMap((r) => [
        { kind: "blood_pressure", time: r.time, value: r.bp[0], diastolic: r.bp[1], unit: "mmHg" },
        { kind: "pulse", time: r.time, value: r.pulse, unit: "bpm" },
        { kind: "weight", time: r.time, value: r.weight, unit: "kg" },
        { kind: "spo2", time: r.time, value: r.spo2, unit: "%" },
        { kind: "temperature", time: r.time, value: r.temp, unit: "°C" }
      ])
      expect(document.vitals.map(({ page: _page, line: _line, ...v }) => v)).toEqual(expected)
      expect(document.vitals.every((v) => v.page === 1 && v.line !== undefined && v.line > 1)).toBe(true)
      expect(document.title).toBe("Vital signs, 2026-05-01 to 2026-05-04")
      expect(document.summary).toContain("Blood pressure ranged from 126/82 to 141/91 mmHg")
    }))
})
