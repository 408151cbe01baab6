/**
 * The local scrubber (src/layers/deidentifier/local.ts) over the fixtures and over generated reports
 * with random names, ids, dates of birth, addresses, phone numbers and emails.
 *
 * test/fixtures/identifiers.json lists every identifier printed in the fixtures (1,177 in 184
 * documents), written by hand without looking at the scrubber. The main fixtures must come out with
 * none left; the corpus (15 sets, a dozen languages, patient diaries and chat exports) has a floor, as
 * the extraction corpus does: what is left is printed, and the count may only go down.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { readFileSync } from "node:fs"
import { detectIdentifiers } from "../../../src/layers/deidentifier/local.js"
import { parseLabReport } from "../../../src/layers/llm/reader/index.js"
import { type PhiKind, PlaceholderMap, scrubText } from "../../../src/services/deidentifier.js"

const scrub = (text: string) => scrubText(text, detectIdentifiers(text), new PlaceholderMap())

interface Annotation {
  readonly kind: PhiKind
  readonly text: string
}
const IDENTIFIERS: Record<string, ReadonlyArray<Annotation>> = JSON.parse(readFileSync("test/fixtures/identifiers.json", "utf8"))

/** What the corpus may still leak, per kind (measured when the scrubber was written; lower it when it improves). */
const CORPUS_FLOOR: Partial<Record<PhiKind, number>> = { NAME: 41, ID: 10, DOB: 1, ADDRESS: 5, PHONE: 2, MRN: 0, EMAIL: 0, URL: 0 }

describe("The local scrubber on the fixtures", () => {
  it("the CBC/CMP report: the patient, birth date, report id, physician and technologist go; the collection date and every result stay", () => {
    const text = readFileSync("test/fixtures/lab-report-cbc-cmp.txt", "utf8")
    const scrubbed = scrub(text)
    for (const identifier of ["DOE", "JANE", "1984-03-12", "NCL-2026-0418-7731", "Alvarez", "M. Chen"]) expect(scrubbed).not.toContain(identifier)
    expect(scrubbed).toMatch(/Patient: \[NAME-\d\]/u)
    expect(scrubbed).toContain("DOB: [DOB-1]")
    expect(scrubbed).toContain("Collected: 2026-04-18 07:42")
    const results = (t: string) => parseLabReport(t).results.map((r) => [r.name, r.value, r.unit, r.flag])
    expect(results(scrubbed)).toEqual(results(text))
    expect(results(text)).toHaveLength(16)
  })

  it("the main fixtures keep no identifier, and the corpus no more than its floor", () => {
    const left: Array<{ file: string } & Annotation> = []
    let total = 0
    for (const [file, annotations] of Object.entries(IDENTIFIERS)) {
      const scrubbed = scrub(readFileSync(file, "utf8"))
      for (const annotation of annotations) {
        total++
        if (scrubbed.includes(annotation.text)) left.push({ file, ...annotation })
      }
    }
    const main = left.filter((l) => !l.file.includes("lab-corpus"))
    expect(main).toEqual([])
    const byKind = new Map<PhiKind, number>()
    for (const l of left) byKind.set(l.kind, (byKind.get(l.kind) ?? 0) + 1)
    console.log(
      `scrubbed ${total - left.length} of ${total} identifiers (${((100 * (total - left.length)) / total).toFixed(1)}%); left by kind:`,
      Object.fromEntries(byKind),
      "\n" + left.map((l) => `  ${l.file.replace("test/fixtures/lab-corpus/", "")}  ${l.kind}  ${JSON.stringify(l.text)}`).join("\n")
    )
    expect(total).toBeGreaterThan(1100)
    for (const [kind, count] of byKind) expect(count, kind).toBeLessThanOrEqual(CORPUS_FLOOR[kind] ?? 0)
  })
})

// ---------------------------------------------------------------------------------------------
// Generated reports: random people in the shapes reports print them

const syllables = ["ka", "lo", "mer", "vin", "dra", "so", "tel", "qui", "bor", "an", "zel", "rhu", "pe", "ny", "gau"]
const word = fc.array(fc.constantFrom(...syllables), { minLength: 2, maxLength: 4 }).map((parts) => parts.join(""))
const capitalised = word.map((w) => w[0]!.toUpperCase() + w.slice(1))
const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(""))
const date = fc.tuple(fc.integer({ min: 1930, max: 2010 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))

const person = fc.record({
  given: capitalised,
  family: capitalised,
  doctor: capitalised,
  doctorInitial: fc.constantFrom("A", "R", "M", "T"),
  dob: date,
  mrn: fc.tuple(fc.constantFrom("MRN", "HC", "PX", "KL"), digits(7)).map(([p, d]) => `${p}-${d}`),
  accession: fc.tuple(fc.constantFrom("A", "ACC", "S"), digits(2), digits(6)).map(([p, a, b]) => `${p}${a}-${b}`),
  street: fc.tuple(fc.integer({ min: 1, max: 9999 }), capitalised, fc.constantFrom("Street", "Road", "Avenue", "Lane", "Drive")).map(([n, w, s]) => `${n} ${w} ${s}`),
  city: capitalised,
  zip: digits(5),
  phone: fc.tuple(digits(3), digits(3), digits(4)).map(([a, b, c]) => `(${a}) ${b}-${c}`),
  email: fc.tuple(word, word).map(([a, b]) => `${a}.${b}@mail.example`)
})

const RESULTS = `
Test                         Result    Flag   Units        Reference Range
Hemoglobin                   11.2      L      g/dL         12.0 - 16.0
Potassium                    4.1              mmol/L       3.5 - 5.1
Glucose, fasting             104       H      mg/dL        70 - 99
`

type Person = typeof person extends fc.Arbitrary<infer P> ? P : never
const iso = ([y, m, d]: readonly [number, number, number]) => `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`
const us = ([y, m, d]: readonly [number, number, number]) => `${String(m).padStart(2, "0")}/${String(d).padStart(2, "0")}/${y}`

/** Header layouts seen in the corpus: labelled columns, a banner, dotted leaders, a letter. */
const layouts: ReadonlyArray<(p: Person) => string> = [
  (p) =>
    `CITY GENERAL LABORATORY\n${p.street}, ${p.city}, WA ${p.zip}   Phone: ${p.phone}\nPatient: ${p.family.toUpperCase()}, ${p.given.toUpperCase()}      DOB: ${us(p.dob)}      MRN: ${p.mrn}\nOrdering physician: Dr. ${p.doctorInitial}. ${p.doctor}      Accession: ${p.accession}\nCollected: 11/03/2026 08:22\n`,
  (p) =>
    `Patient ........ ${p.family}, ${p.given}            Date of birth ..... ${iso(p.dob)}\nPatient ID ..... ${p.mrn}        Specimen # ${p.accession}\nRequested by ... Dr. ${p.doctor}\nCollected 2026-03-11 08:22\n`,
  (p) =>
    `Name: ${p.given} ${p.family}        DOB ${iso(p.dob)}        Chart # ${p.mrn}\nAddress: ${p.street}, ${p.city}\nEmail: ${p.email}   Tel: ${p.phone}\nCollected: 2026-03-11\n`,
  (p) =>
    `${p.family.toUpperCase()}, ${p.given.toUpperCase()}      DOB ${us(p.dob)}      MRN ${p.mrn}\nProvider: ${p.doctor}, ${p.doctorInitial} MD      Lab ref: ${p.accession}\nCollected 03/11/2026 07:40\n`
]

describe("The local scrubber on generated reports", () => {
  it("no generated identifier is left, and every result reads as before (property)", () => {
    fc.assert(
      fc.property(person, fc.nat(layouts.length - 1), (p, layout) => {
        const text = `${layouts[layout]!(p)}${RESULTS}\nResults called to ${p.given} ${p.family} by ${p.doctorInitial}. ${p.doctor}.\n`
        const scrubbed = scrub(text)
        const identifiers = [p.given, p.family, p.given.toUpperCase(), p.family.toUpperCase(), p.doctor, p.mrn, p.accession, p.street, p.phone, p.email, iso(p.dob), us(p.dob)]
        for (const identifier of identifiers) expect(scrubbed, `${identifier} in\n${scrubbed}`).not.toContain(identifier)
        const results = (t: string) => parseLabReport(t).results.map((r) => [r.name, r.value, r.unit, r.flag, r.referenceRange.text])
        expect(results(scrubbed)).toEqual(results(text))
        expect(results(text)).toHaveLength(3)
        expect(parseLabReport(scrubbed).collectedAt).toBe(parseLabReport(text).collectedAt)
      }),
      { numRuns: 300 }
    )
  })
})
