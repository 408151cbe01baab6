/**
 * The offline provider reading photos and scans with OCR, for real (tesseract.js in its worker
 * thread, no network): the fixture images of test/fixtures/images, upright, turned, skewed and in
 * bad light, and scanned PDFs; and the bounds that stop a document costing more than it may.
 * Slow by nature (seconds a page): each test reads one or two images.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import { Jimp } from "jimp"
import * as fs from "node:fs"
import * as path from "node:path"
import { recognise, recogniseDocument, releaseIdleOcrThread } from "../../../../src/layers/llm/ocr/ocrText.js"
import { OCR_THREAD_NICE } from "../../../../src/layers/llm/ocr/threadPriority.js"
import { makeOfflineLLM } from "../../../../src/layers/llm/offline.js"
import { parseLabReport } from "../../../../src/layers/llm/reader/index.js"
import { documentPages, readOcrDocument } from "../../../../src/layers/llm/reader/ocrReading.js"
import type { ParsedReport } from "../../../../src/layers/llm/reader/types.js"
import type { DocumentContentType, InterpretedDocument } from "../../../../src/services/llm.js"
import { FIXTURES_DIR } from "../../../support/fixtures.js"

const IMAGES = path.join(FIXTURES_DIR, "images")
const bytesOf = (file: string) => new Uint8Array(fs.readFileSync(path.join(IMAGES, file)))
const llm = makeOfflineLLM()
const interpret = (file: string, contentType: DocumentContentType) =>
  Effect.map(llm.interpret({ bytes: bytesOf(file), contentType }), (i) => i.document)

/** The CBC/CMP report's 16 results as the text reader reads them (all correct: see fixtures.test.ts). */
const truth = parseLabReport(fs.readFileSync(path.join(FIXTURES_DIR, "lab-report-cbc-cmp.txt"), "utf8")).results

/** Every result read must be the printed one; returns how many of the 16 were read. */
const checkAgainstTruth = (document: Pick<InterpretedDocument, "results"> | Pick<ParsedReport, "results">): number => {
  for (const result of document.results) {
    expect(result.ocr, `${result.name} has no OCR mark`).toBeDefined()
    const printed = truth.find((t) => t.value === result.value && t.referenceRange.text.replace(/\s/g, "") === result.referenceRange.text.replace(/\s/g, ""))
    expect(printed, `${result.name} = ${String(result.value)} (${result.referenceRange.text}) is not a printed result`).toBeDefined()
  }
  return document.results.length
}

const timeout = { timeout: 120_000 }

/** This process's threads' nice values, by thread id (Linux: field 19 of /proc/self/task/<tid>/stat). */
const threadNices = (): Map<number, number> => {
  const nices = new Map<number, number>()
  for (const tid of fs.readdirSync("/proc/self/task")) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      // after the command's ")", fields start at the 3rd (state): nice is the 19th
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      nices.set(Number(tid), Number(fields[16]))
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return nices
}

/** Samples the threads' nice values while `effect` runs: the most threads seen at `nice`, and every value the main thread had. */
const watchNices = <A, E>(effect: Effect.Effect<A, E>, nice: number) =>
  Effect.gen(function* () {
    let most = 0
    const mainThread = new Set<number>()
    const sample = () => {
      const nices = threadNices()
      most = Math.max(most, [...nices.values()].filter((n) => n === nice).length)
      mainThread.add(nices.get(process.pid) ?? Number.NaN)
    }
    const timer = yield* Effect.acquireRelease(Effect.sync(() => setInterval(sample, 50)), (t) => Effect.sync(() => clearInterval(t)))
    const value = yield* effect
    clearInterval(timer)
    return { value, most, mainThread }
  }).pipe(Effect.scoped)

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

describe("offline OCR: photos and scans of the CBC/CMP report", () => {
  // (the 300-dpi scan, a photo turned 90°, a shadowed one and a scanned PDF are scored in imageEval.test.ts)
  it.effect("a 150-dpi JPEG scan reads every result, each marked as OCR, with the report's date", () =>
    Effect.gen(function* () {
      const document = yield* interpret("lab-report-cbc-cmp/scan-150.jpg", "image/jpeg")
      expect(checkAgainstTruth(document)).toBeGreaterThanOrEqual(15)
      expect(document.documentType).toBe("lab_results")
      expect(document.collectedAt).toBe("2026-04-18T07:42")
    }), timeout)

  it.live("a photo turned a quarter, skewed, in uneven light and with noise is turned back, straightened and read — in threads below the API's priority", () =>
    Effect.gen(function* () {
      // photo-hard.jpg: turned 90°, skewed 2°, noise and a shadow
      const before = threadNices().get(process.pid)
      const { value: { pages, reading }, most, mainThread } = yield* watchNices(
        recogniseDocument([{ _tag: "Encoded", page: 1, bytes: bytesOf("lab-report-cbc-cmp/photo-hard.jpg") }], { textPages: [], options: {} }),
        OCR_THREAD_NICE
      )
      const [page] = pages
      expect([90, 270]).toContain(page?.turn)
      expect(Math.abs(page?.skewDegrees ?? 0)).toBeGreaterThan(1)
      // the report was read in the OCR thread, as the main thread reads the same words
      expect(reading).toBeDefined()
      expect(reading!.report).toEqual(readOcrDocument(documentPages([], pages)))
      expect(checkAgainstTruth(reading!.report)).toBeGreaterThanOrEqual(14)
      // the OCR thread and tesseract's own ran at OCR_THREAD_NICE; this (the API's) thread kept its priority
      expect(most).toBeGreaterThanOrEqual(2)
      expect([...mainThread]).toEqual([before])
    }), timeout)

  it.effect("a PDF's scanned page is read from its image while its text page stays text", () =>
    Effect.gen(function* () {
      const mixed = yield* interpret("mixed-text-and-scan.pdf", "application/pdf")
      // page 1 is the vitals log as text: its readings carry no OCR mark; page 2 is the CBC scan
      expect(mixed.vitals.length).toBeGreaterThan(10)
      expect(mixed.vitals.every((v) => v.page === 1 && v.ocr === undefined)).toBe(true)
      expect(mixed.results.every((r) => r.page === 2 && r.ocr !== undefined)).toBe(true)
      expect(checkAgainstTruth(mixed)).toBeGreaterThanOrEqual(15)
    }), timeout)
})

describe("offline OCR: bounds and refusals", () => {
  const blank = Effect.promise(async () => new Uint8Array(await new Jimp({ width: 1200, height: 1600, color: 0xffffffff }).getBuffer("image/png")))

  it.effect("an image with no print → IMAGE_NO_TEXT; bytes that are no image → IMAGE_UNREADABLE", () =>
    Effect.gen(function* () {
      const none = yield* Effect.exit(llm.interpret({ bytes: yield* blank, contentType: "image/png" }))
      expect(failureOf(none)).toMatchObject({ _tag: "DocumentUnreadable", reason: "IMAGE_NO_TEXT" })
      const broken = yield* Effect.exit(llm.interpret({ bytes: bytesOf("lab-report-cbc-cmp/scan-150.jpg").slice(0, 2000), contentType: "image/jpeg" }))
      expect(failureOf(broken)).toMatchObject({ _tag: "DocumentUnreadable", reason: "IMAGE_UNREADABLE" })
    }), timeout)

  // live: the deadline is real time (it.effect's clock is a test clock)
  it.live("over the pixel bound (from the header, before decoding), the page bound or the deadline → DocumentTooComplex", () =>
    Effect.gen(function* () {
      const photo = { _tag: "Encoded" as const, page: 1, bytes: bytesOf("lab-report-cbc-cmp/scan-150.png") }
      const pixels = yield* Effect.exit(recognise([photo], { maxPixels: 1_000_000 }))
      expect(failureOf(pixels)).toMatchObject({ _tag: "DocumentTooComplex", limit: "scan_pixels" })
      const pages = yield* Effect.exit(recognise([photo, { ...photo, page: 2 }], { maxPages: 1 }))
      expect(failureOf(pages)).toMatchObject({ _tag: "DocumentTooComplex", limit: "scan_pages" })
      const time = yield* Effect.exit(recognise([photo], { timeout: "1 millis" }))
      expect(failureOf(time)).toMatchObject({ _tag: "DocumentTooComplex", limit: "time" })
      // the offline provider applies its own bounds the same way
      const offline = makeOfflineLLM({ ocr: { maxPixels: 1_000_000 } })
      const refused = yield* Effect.exit(offline.interpret({ bytes: photo.bytes, contentType: "image/png" }))
      expect(failureOf(refused)).toMatchObject({ _tag: "DocumentTooComplex", limit: "scan_pixels" })
    }), timeout)

  it.live("the OCR thread is kept for the next document, and ended when a document ends without an answer", () =>
    Effect.gen(function* () {
      yield* Effect.promise(releaseIdleOcrThread)
      const ocrThreads = () => [...threadNices()].filter(([, nice]) => nice === OCR_THREAD_NICE).map(([tid]) => tid).sort()
      expect(ocrThreads()).toEqual([])
      const page = { _tag: "Encoded" as const, page: 1, bytes: yield* blank }
      yield* recognise([page])
      const first = ocrThreads()
      // the OCR thread and tesseract's, idle now
      expect(first.length).toBeGreaterThanOrEqual(2)
      yield* recognise([{ ...page, bytes: yield* blank }])
      expect(ocrThreads()).toEqual(first)
      // a deadline ends it (and tesseract's with it); the next document starts afresh
      const late = yield* Effect.exit(recognise([{ ...page, bytes: yield* blank }], { timeout: "1 millis" }))
      expect(failureOf(late)).toMatchObject({ _tag: "DocumentTooComplex", limit: "time" })
      expect(ocrThreads()).toEqual([])
      yield* recognise([{ ...page, bytes: yield* blank }])
      const next = ocrThreads()
      expect(next.length).toBeGreaterThanOrEqual(2)
      expect(next.some((tid) => first.includes(tid))).toBe(false)
      yield* Effect.promise(releaseIdleOcrThread)
      expect(ocrThreads()).toEqual([])
    }), timeout)
})
