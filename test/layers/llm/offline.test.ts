/**
 * The offline LLM layer: what it reads (text, PDF; images in ocr/ocrOffline.test.ts), how it fails (damaged, encrypted,
 * scanned or oversized PDFs, non-UTF-8 text), the usage it reports, its spans, and its chat.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Tracer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { LLMOffline, makeOfflineLLM } from "../../../src/layers/llm/offline.js"
import { answerQuestion } from "../../../src/layers/llm/offlineChat.js"
import { parseLabReport } from "../../../src/layers/llm/reader/index.js"
import { ALL_WITHIN_RANGE, summarize, TALK_TO_CLINICIAN } from "../../../src/layers/llm/summary.js"
import { extractPdfText } from "../../../src/layers/llm/pdfText.js"
import { layoutText } from "../../../src/layers/llm/pdfLayout.js"
import { type DocumentContentType, type InterpretedDocument, LLM } from "../../../src/services/llm.js"
import { FIXTURES_DIR } from "../../support/fixtures.js"

const fixtures = FIXTURES_DIR
const fixtureText = fs.readFileSync(path.join(fixtures, "lab-report-cbc-cmp.txt"), "utf8")
const fixturePdf = new Uint8Array(fs.readFileSync(path.join(fixtures, "lab-report-cbc-cmp.pdf")))

const utf8 = (s: string) => new TextEncoder().encode(s)
const llm = makeOfflineLLM()

// ---------------------------------------------------------------------------------------------
// A tiny PDF writer: enough structure for pdfjs (catalog, pages, Type1 fonts, content streams, xref)

const escapePdf = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`)

interface PdfOptions {
  /** Adds a standard-security /Encrypt dictionary whose user password is not empty. */
  readonly encrypted?: boolean
}

const buildPdf = (pages: ReadonlyArray<string>, options: PdfOptions = {}): Uint8Array => {
  const objects: Array<string> = []
  const pageId = (i: number) => 5 + i * 2
  objects[1] = "<< /Type /Catalog /Pages 2 0 R >>"
  objects[2] = `<< /Type /Pages /Kids [${pages.map((_, i) => `${pageId(i)} 0 R`).join(" ")}] /Count ${pages.length} >>`
  objects[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"
  objects[4] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
  pages.forEach((content, i) => {
    objects[pageId(i)] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${pageId(i) + 1} 0 R >>`
    objects[pageId(i) + 1] = `<< /Length ${Buffer.byteLength(content, "latin1")} >>\nstream\n${content}\nendstream`
  })
  const encryptId = objects.length
  if (options.encrypted === true) {
    const hex32 = (byte: string) => `<${byte.repeat(32)}>`
    objects[encryptId] = `<< /Filter /Standard /V 1 /R 2 /Length 40 /O ${hex32("3a")} /U ${hex32("5c")} /P -44 >>`
  }
  let out = "%PDF-1.4\n"
  const offsets: Array<number> = []
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(out, "latin1")
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`
  }
  const xref = Buffer.byteLength(out, "latin1")
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, "0")} 00000 n \n`
  const encrypt = options.encrypted === true ? ` /Encrypt ${encryptId} 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]` : ""
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R${encrypt} >>\nstartxref\n${xref}\n%%EOF\n`
  return new Uint8Array(Buffer.from(out, "latin1"))
}

/** Lines of monospaced text, as the fixture PDF is written. */
const courierPage = (lines: ReadonlyArray<string>) =>
  ["BT", "/F1 9 Tf", "11 TL", "40 800 Td", ...lines.map((l) => `(${escapePdf(l)}) Tj T*`), "ET"].join("\n")

/** Each cell placed on its own at an x position, in a proportional font: how most report generators write tables. */
const cellsPage = (rows: ReadonlyArray<ReadonlyArray<readonly [x: number, text: string]>>) =>
  rows
    .flatMap((cells, i) => cells.map(([x, text]) => `BT /F2 9 Tf ${x} ${800 - i * 12} Td (${escapePdf(text)}) Tj ET`))
    .join("\n")

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

const interpretExit = (bytes: Uint8Array, contentType: DocumentContentType, service = llm) =>
  Effect.exit(service.interpret({ bytes, contentType }))

const labRows = fixtureText.split("\n").filter((l) => /^\S.*\s{2,}[\d.]+\s/.test(l) && !/^(Patient|Ordering|Specimen|NORTHGATE)/.test(l))

const unpositioned = <A extends { readonly page?: number | undefined; readonly line?: number | undefined }>({ page: _page, line: _line, ...rest }: A) => rest

describe("offline interpret: what it reads", () => {
  it.effect("plain text: a lab report with provider offline and model offline-parser-v1", () =>
    Effect.gen(function* () {
      const { document, provider, modelId } = yield* llm.interpret({ bytes: utf8(fixtureText), contentType: "text/plain" })
      expect(provider).toBe("offline")
      expect(modelId).toBe("offline-parser-v1")
      expect(document.documentType).toBe("lab_results")
      expect(document.results).toHaveLength(16)
    }))

  it.effect("the layer provides the same service", () =>
    Effect.gen(function* () {
      const service = yield* LLM
      const { document } = yield* service.interpret({ bytes: utf8(fixtureText), contentType: "text/plain" })
      expect(document.results).toHaveLength(16)
    }).pipe(Effect.provide(LLMOffline)))

  it.effect("a PDF over two pages with page headers and footers gives the rows of both pages", () =>
    Effect.gen(function* () {
      const lines = fixtureText.split("\n")
      const split = lines.indexOf("COMPREHENSIVE METABOLIC PANEL")
      const pdf = buildPdf([
        courierPage([...lines.slice(0, split), "", "Page 1 of 2"]),
        courierPage(["NORTHGATE CLINICAL LABORATORIES       Patient: DOE, JANE A.", "", ...lines.slice(split), "", "Page 2 of 2"])
      ])
      const { document } = yield* llm.interpret({ bytes: pdf, contentType: "application/pdf" })
      const text = yield* llm.interpret({ bytes: utf8(fixtureText), contentType: "text/plain" })
      // the same rows, each at its own place (a PDF's line numbers count from the top of each page)
      expect(document.results.map(unpositioned)).toEqual(text.document.results.map(unpositioned))
      expect(document.title).toBe(text.document.title)
    }))

  it.effect("a table whose cells are placed one by one in a proportional font keeps its columns", () =>
    Effect.gen(function* () {
      const columns = [40, 200, 252, 290, 360] as const
      const rows = labRows.map((line) => {
        const cells = line.split(/\s{2,}/)
        const [name = "", value = "", ...rest] = cells
        const flag = /^(?:H|L)$/.test(rest[0] ?? "") ? (rest.shift() ?? "") : ""
        const [unit = "", range = ""] = rest.length === 1 ? (rest[0] ?? "").split(" ") : rest
        return [name, value, flag, unit, range].map((text, i) => [columns[i] ?? 0, text] as const).filter(([, t]) => t !== "")
      })
      const header = ["Test", "Result", "Flag", "Units", "Reference Range"].map((t, i) => [columns[i] ?? 0, t] as const)
      const pdf = buildPdf([cellsPage([[[40, "COMPLETE BLOOD COUNT (CBC)"]], header, ...rows])])
      const { document } = yield* llm.interpret({ bytes: pdf, contentType: "application/pdf" })
      const text = yield* llm.interpret({ bytes: utf8(fixtureText), contentType: "text/plain" })
      // the same rows, each at its own place (a PDF's line numbers count from the top of each page)
      expect(document.results.map(unpositioned)).toEqual(text.document.results.map(unpositioned))
    }))

  it.effect("the fixture PDF's text is laid out exactly like the .txt", () =>
    Effect.map(extractPdfText(fixturePdf), (text) => expect(text).toBe(fixtureText.replace(/\n$/, ""))))

  // A native method has no `prototype` of its own; core-js's stand-ins (plain functions) do.
  const isNative = (f: unknown) => typeof f === "function" && !Object.hasOwn(f, "prototype")

  it.effect("reading a PDF leaves this thread's built-ins alone: pdfjs (and core-js in it) runs in a thread of its own", () =>
    Effect.gen(function* () {
      const push = Array.prototype.push
      const parse = JSON.parse
      const toString = Function.prototype.toString
      const union = (Set.prototype as { union?: unknown }).union
      yield* extractPdfText(fixturePdf)
      expect(Array.prototype.push).toBe(push)
      expect(JSON.parse).toBe(parse)
      expect(Function.prototype.toString).toBe(toString)
      for (const f of [Array.prototype.push, JSON.parse, Function.prototype.toString]) expect(isNative(f)).toBe(true)
      // not even what core-js only adds (Node 20 has no Set.prototype.union; pdfjs's thread does)
      expect((Set.prototype as { union?: unknown }).union).toBe(union)
    }))

  it("layoutText: lines by baseline, sorted by x, wide gaps kept as runs of spaces, superscripts marked", () => {
    const item = (text: string, x: number, y: number, height = 10) => ({ text, x, y, width: text.length * 5, height })
    expect(
      layoutText([
        item("11.2", 150, 700),
        item("Hemoglobin", 0, 700),
        item("g/dL", 200, 700.4),
        item("Sodium", 0, 688),
        item("139", 150, 688),
        item("Potassium", 0, 676),
        item("4.1", 150, 676.2),
        item("10", 0, 640),
        item("3", 10, 643, 6),
        item("/uL", 15, 640)
      ])
    ).toBe(
      ["Hemoglobin                    11.2      g/dL", "Sodium                        139", "Potassium                     4.1", "", "10^3/uL"].join("\n")
    )
    expect(layoutText([])).toBe("")
  })
})

describe("offline interpret: how it refuses", () => {
  it.effect.each([["image/png"], ["image/jpeg"]] as const)("%s that cannot be decoded → IMAGE_UNREADABLE", ([contentType]) =>
    Effect.gen(function* () {
      const error = failureOf(yield* interpretExit(Uint8Array.of(0x89, 0x50, 0x4e, 0x47), contentType))
      expect(error).toMatchObject({ _tag: "DocumentUnreadable", reason: "IMAGE_UNREADABLE" })
    }))

  it.effect("any other type detected at run time (an image type OCR does not take, an archive) → UNSUPPORTED_TYPE", () =>
    Effect.gen(function* () {
      const webp = failureOf(yield* interpretExit(Uint8Array.of(1), "image/webp" as DocumentContentType))
      expect(webp).toMatchObject({ reason: "UNSUPPORTED_TYPE" })
      const zip = failureOf(yield* interpretExit(Uint8Array.of(1), "application/zip" as DocumentContentType))
      expect(zip).toMatchObject({ reason: "UNSUPPORTED_TYPE" })
    }))

  it.effect("garbage bytes labelled as PDF → PDF_UNREADABLE", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* interpretExit(utf8("this is not a pdf at all"), "application/pdf"))
      expect(error).toMatchObject({ _tag: "DocumentUnreadable", reason: "PDF_UNREADABLE" })
    }))

  it.effect("a truncated PDF → PDF_UNREADABLE", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* interpretExit(fixturePdf.slice(0, 400), "application/pdf"))
      expect(error).toMatchObject({ _tag: "DocumentUnreadable", reason: "PDF_UNREADABLE" })
    }))

  it.effect("an encrypted PDF (no password given) → PDF_UNREADABLE", () =>
    Effect.gen(function* () {
      const pdf = buildPdf([courierPage(["Hemoglobin   11.2   g/dL   12.0 - 16.0"])], { encrypted: true })
      const error = failureOf(yield* interpretExit(pdf, "application/pdf"))
      expect(error).toMatchObject({ _tag: "DocumentUnreadable", reason: "PDF_UNREADABLE" })
    }))

  it.effect("a PDF without a text layer (a scan: only drawing) → NO_TEXT_LAYER, pointing at Bedrock", () =>
    Effect.gen(function* () {
      const pdf = buildPdf(["0.2 0.2 0.2 rg 40 600 300 200 re f", "q 1 0 0 1 0 0 cm 0 0 1 RG 40 40 m 500 700 l S Q"])
      const error = failureOf(yield* interpretExit(pdf, "application/pdf"))
      expect(error).toMatchObject({ _tag: "DocumentUnreadable", reason: "NO_TEXT_LAYER" })
      expect(error?.message).toContain("Bedrock")
    }))

  it.effect("more pages than the limit → DocumentTooComplex pages (default limit 50)", () =>
    Effect.gen(function* () {
      const page = courierPage(["Sodium   139   mmol/L   135 - 145"])
      const tooMany = failureOf(yield* interpretExit(buildPdf(Array.from({ length: 51 }, () => page)), "application/pdf"))
      expect(tooMany?._tag).toBe("DocumentTooComplex")
      expect(tooMany).toMatchObject({ limit: "pages", message: "The PDF has 51 pages; at most 50 can be read." })
      const small = makeOfflineLLM({ pdf: { maxPages: 2 } })
      const three = failureOf(yield* interpretExit(buildPdf([page, page, page]), "application/pdf", small))
      expect(three).toMatchObject({ limit: "pages" })
      const { document } = yield* small.interpret({ bytes: buildPdf([page, page]), contentType: "application/pdf" })
      expect(document.results).toHaveLength(2)
    }))

  it.live("extraction is time-boxed → DocumentTooComplex time", () =>
    Effect.gen(function* () {
      const pages = Array.from({ length: 40 }, () => courierPage(labRows))
      const exit = yield* Effect.exit(extractPdfText(buildPdf(pages), { timeout: "1 millis" }))
      expect(failureOf(exit)).toMatchObject({ _tag: "DocumentTooComplex", limit: "time" })
    }))

  it.effect("text that is not UTF-8, or is binary, → NOT_TEXT", () =>
    Effect.gen(function* () {
      const invalid = failureOf(yield* interpretExit(Uint8Array.of(0x48, 0x62, 0x20, 0xff, 0xfe, 0x31), "text/plain"))
      expect(invalid).toMatchObject({ _tag: "DocumentUnreadable", reason: "NOT_TEXT" })
      const binary = failureOf(yield* interpretExit(Uint8Array.of(0x48, 0x00, 0x01, 0x02), "text/plain"))
      expect(binary).toMatchObject({ _tag: "DocumentUnreadable", reason: "NOT_TEXT" })
    }))

  it.effect("nothing readable is still a valid document: type other, with a summary saying so", () =>
    Effect.gen(function* () {
      const { document } = yield* llm.interpret({ bytes: utf8("hello\n\n12345"), contentType: "text/plain" })
      expect(document).toMatchObject({ documentType: "other", title: "Document", results: [], vitals: [] })
      expect(document.summary).toContain("could not find lab results or vital signs")
      const empty = yield* llm.interpret({ bytes: new Uint8Array(0), contentType: "text/plain" })
      expect(empty.document.documentType).toBe("other")
    }))

  it.effect("the document type hint breaks ties only", () =>
    Effect.gen(function* () {
      const hinted = yield* llm.interpret({ bytes: utf8("Nothing here."), contentType: "text/plain", documentTypeHint: "report" })
      expect(hinted.document.documentType).toBe("report")
      const labs = yield* llm.interpret({ bytes: utf8(fixtureText), contentType: "text/plain", documentTypeHint: "vitals" })
      expect(labs.document.documentType).toBe("lab_results")
    }))
})

describe("offline summary", () => {
  const summaryOf = (text: string) => summarize(parseLabReport(text))
  const noDiagnosis = (summary: string) => expect(summary).not.toMatch(/\byou have\b|diagnos|disease/i)

  it("all within range: a neutral reassurance and no nudge", () => {
    const summary = summaryOf("Sodium  139  mmol/L  135-145\nPotassium  4.1  mmol/L  3.5-5.1")
    expect(summary).toBe(`This report lists 2 lab results. ${ALL_WITHIN_RANGE}`)
  })

  it("flagged results in words, critical ones too, then the nudge to a clinician", () => {
    const summary = summaryOf(
      ["Potassium  6.9  HH  mmol/L  3.5-5.1", "Total Cholesterol  212  mg/dL  <200", "HDL  38  mg/dL  >= 40", "Sodium  139  mmol/L  135-145", "Hep C Ab  Reactive  Non-reactive"].join("\n")
    )
    expect(summary).toContain("4 results are flagged and 1 is within the reference range.")
    expect(summary).toContain("Potassium is 6.9 mmol/L, marked critically high on the report (reference range 3.5–5.1).")
    expect(summary).toContain("Total Cholesterol is 212 mg/dL, above the reference range (below 200).")
    expect(summary).toContain("HDL is 38 mg/dL, below the reference range (40 or more).")
    expect(summary).toContain('Hep C Ab is Reactive, marked abnormal (expected Non-reactive).')
    expect(summary.endsWith(TALK_TO_CLINICIAN)).toBe(true)
    noDiagnosis(summary)
  })

  it("results without a range are counted, not judged", () => {
    const summary = summaryOf("Sodium  139  mmol/L  135-145\neGFR  >90  mL/min/1.73m2")
    expect(summary).toContain("1 result is within the reference ranges given on the report.")
    expect(summary).toContain("1 result has no reference range or flag to compare with.")
    expect(summary).not.toContain(TALK_TO_CLINICIAN)
  })

  it("vitals: the span of each measurement and the latest one", () => {
    const summary = summaryOf(fs.readFileSync(path.join(fixtures, "vitals-log.txt"), "utf8"))
    expect(summary).toContain("This log has 20 measurements taken between 2026-05-01 07:10 and 2026-05-04 07:08.")
    expect(summary).toContain("Pulse ranged from 70 to 78 bpm; the latest was 70 bpm.")
    expect(summary).toContain("Oxygen saturation (SpO2) ranged from 97 to 99%; the latest was 99%.")
    noDiagnosis(summary)
  })
})

describe("offline usage and tracing", () => {
  it.effect("usage is estimated at characters / 4, rounded up, for input and output", () =>
    Effect.gen(function* () {
      const { document, usage } = yield* llm.interpret({ bytes: utf8(fixtureText), contentType: "text/plain" })
      expect(usage.inputTokens).toBe(Math.ceil(fixtureText.length / 4))
      expect(usage.outputTokens).toBe(Math.ceil(JSON.stringify(document).length / 4))
      const question = "what is my hemoglobin?"
      const chat = yield* llm.chat({ document, history: [{ role: "user", content: "hi" }], question })
      expect(chat.usage.inputTokens).toBe(Math.ceil((JSON.stringify(document).length + 2 + question.length) / 4))
      expect(chat.usage.outputTokens).toBe(Math.ceil(chat.answer.length / 4))
    }))

  it.effect("calls are spans named `{operation} {model}` with gen_ai attributes", () =>
    Effect.gen(function* () {
      const spans: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }> = []
      const base = yield* Effect.tracer
      const recording = Tracer.make({
        context: base.context,
        span: (options) => {
          const span = base.span(options)
          spans.push({ name: options.name, attributes: span.attributes })
          return span
        }
      })
      const { document } = yield* llm.interpret({ bytes: utf8(fixtureText), contentType: "text/plain" }).pipe(Effect.withTracer(recording))
      yield* llm.chat({ document, history: [], question: "what is my LDL?" }).pipe(Effect.withTracer(recording))
      const attributes = (name: string) => Object.fromEntries(spans.find((s) => s.name === name)?.attributes ?? [])
      expect(attributes("generate_content offline-parser-v1")).toMatchObject({
        "gen_ai.provider.name": "offline",
        "gen_ai.operation.name": "generate_content",
        "gen_ai.request.model": "offline-parser-v1",
        "gen_ai.usage.input_tokens": Math.ceil(fixtureText.length / 4)
      })
      expect(attributes("chat offline-parser-v1")).toMatchObject({ "gen_ai.provider.name": "offline", "gen_ai.operation.name": "chat" })
      expect(attributes("chat offline-parser-v1")["gen_ai.usage.output_tokens"]).toBeGreaterThan(0)
    }))
})

describe("offline chat", () => {
  const documentOf = (text: string) =>
    llm.interpret({ bytes: utf8(text), contentType: "text/plain" }).pipe(Effect.map((i) => i.document))
  const ask = (question: string, document?: InterpretedDocument) =>
    Effect.gen(function* () {
      const doc = document ?? (yield* documentOf(fixtureText))
      return (yield* llm.chat({ document: doc, history: [], question })).answer
    })

  it.effect("what is my hemoglobin? → value, unit, range and flag, and a nudge to a clinician", () =>
    Effect.map(ask("what is my hemoglobin?"), (answer) => {
      expect(answer).toContain("Your hemoglobin was 11.2 g/dL; the report's reference range is 12.0–16.0 g/dL, so it is flagged low.")
      expect(answer).toMatch(/clinician/)
      expect(answer).not.toMatch(/A1c/)
    }))

  it.effect("abbreviations and synonyms: Hgb, haemoglobin, LDL, A1c, sugar, white cells, K, eGFR", () =>
    Effect.gen(function* () {
      expect(yield* ask("Hgb?")).toContain("11.2 g/dL")
      expect(yield* ask("And my haemoglobin level")).toContain("11.2 g/dL")
      const ldl = yield* ask("what is my LDL?")
      expect(ldl).toContain("LDL Cholesterol (calc) was 131 mg/dL")
      expect(ldl).toContain("0–99 mg/dL")
      expect(ldl).toContain("flagged high")
      expect(ldl).not.toContain("HDL")
      expect(yield* ask("what's my HbA1c")).toContain("5.9%")
      expect(yield* ask("how is my blood sugar")).toContain("104 mg/dL")
      expect(yield* ask("white blood cells?")).toContain("11.8 10^3/uL")
      expect(yield* ask("what is my K")).toContain("4.1 mmol/L")
      const egfr = yield* ask("kidney function?")
      expect(egfr).toContain("92 mL/min/1.73m2")
      expect(egfr).toContain("above 59")
      expect(egfr).toContain("within the range")
      expect(yield* ask("cholesterol")).toContain("Your Total Cholesterol was 212 mg/dL")
    }))

  it.effect("what's abnormal? → the flagged results", () =>
    Effect.map(ask("What's abnormal?"), (answer) => {
      for (const name of ["White Blood Cell Count", "hemoglobin", "hematocrit", "glucose", "Total Cholesterol", "LDL", "Hemoglobin A1c"]) {
        expect(answer).toContain(name)
      }
      expect(answer).not.toContain("Sodium")
      expect(answer).toContain("clinician")
    }))

  it.effect("dosing, medication and diagnosis questions are declined with a redirect to a clinician", () =>
    Effect.gen(function* () {
      const iron = yield* ask("should I take iron pills, how much?")
      expect(iron).toMatch(/can't give a diagnosis or advice about treatment, medicines, supplements or doses/)
      expect(iron).toMatch(/clinician or pharmacist/)
      expect(iron).not.toMatch(/\d+\s*mg\b(?! ?\/)/)
      const disease = yield* ask("what disease do I have with this hemoglobin?")
      expect(disease).toMatch(/can't give a diagnosis/)
      expect(disease).toContain("11.2 g/dL") // still the user's own value
      expect(yield* ask("Do I have diabetes? My A1c")).toMatch(/can't give a diagnosis[\s\S]*5\.9%/)
      expect(yield* ask("how many mg of potassium should I take")).toMatch(/clinician/)
    }))

  it.effect("something the document does not contain → says so", () =>
    Effect.gen(function* () {
      const answer = yield* ask("what is my vitamin D?")
      expect(answer).toMatch(/I don't know: your document doesn't contain that/)
      expect(answer).not.toMatch(/\d+(\.\d+)? ng\/mL/)
      expect(yield* ask("what is my blood pressure?")).toMatch(/doesn't contain/)
      expect(yield* ask("ferritin")).toMatch(/doesn't contain/)
    }))

  it.effect("vitals: latest reading and the spread", () =>
    Effect.gen(function* () {
      const vitals = yield* documentOf(fs.readFileSync(path.join(fixtures, "vitals-log.txt"), "utf8"))
      const bp = yield* ask("what is my blood pressure?", vitals)
      expect(bp).toContain("126/82 mmHg on 2026-05-04 at 07:08")
      expect(bp).toContain("from 126/82 to 141/91 mmHg")
      expect(yield* ask("heart rate?", vitals)).toContain("70 bpm")
      expect(yield* ask("oxygen", vitals)).toContain("99%")
      expect(yield* ask("temperature", vitals)).toContain("36.6 °C")
      expect(yield* ask("weight", vitals)).toContain("68.1 kg")
      expect(yield* ask("what is my hemoglobin", vitals)).toMatch(/doesn't contain/)
    }))

  it.effect("follow-up questions use the previous question's subject", () =>
    Effect.gen(function* () {
      const document = yield* documentOf(fixtureText)
      const { answer } = yield* llm.chat({
        document,
        history: [
          { role: "user", content: "what is my LDL?" },
          { role: "assistant", content: "Your LDL Cholesterol (calc) was 131 mg/dL…" }
        ],
        question: "is that bad?"
      })
      expect(answer).toContain("131 mg/dL")
    }))

  it.effect("deterministic: the same input gives the same output", () =>
    Effect.gen(function* () {
      const a = yield* llm.interpret({ bytes: fixturePdf, contentType: "application/pdf" })
      const b = yield* llm.interpret({ bytes: fixturePdf, contentType: "application/pdf" })
      expect(b).toEqual(a)
      for (const q of ["what is my hemoglobin?", "what's abnormal?", "should I take iron?", "vitamin D?"]) {
        const first = yield* llm.chat({ document: a.document, history: [], question: q })
        const second = yield* llm.chat({ document: a.document, history: [], question: q })
        expect(second).toEqual(first)
        expect(answerQuestion(a.document, q)).toBe(first.answer)
      }
    }))
})
