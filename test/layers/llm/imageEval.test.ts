/**
 * The offline reader on photos and scans (test/fixtures/images), on a subset small enough for the
 * unit tests (the whole set is `npm run eval:extraction -- --images-only`, minutes): the CBC/CMP
 * report as a clean 300-dpi scan, a photo turned 90°, a noisy, shadowed and tilted photo, and a
 * scanned PDF. OCR may leave a line unread, never misread it: no value is presented as read that
 * is not the truth's; a clean scan reads within 2 points of the same document as text, the photos
 * at least 90%; every row read by OCR carries its `ocr` mark. See test/support/imageEvalRun.ts.
 */
import { describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { metrics } from "../../support/extractionEval.js"
import {
  type ImageEvaluation,
  imageName,
  type ImageRun,
  IMAGE_TRUTH_DIR,
  loadManifest,
  loadSources,
  runImages
} from "../../support/imageEvalRun.js"
import { FIXTURES_DIR } from "../../support/fixtures.js"

const SUBSET = [
  "lab-report-cbc-cmp/scan-300.png",
  "lab-report-cbc-cmp/photo-rot90.jpg",
  "lab-report-cbc-cmp/photo-noise-shadow.jpg",
  "lab-report-cbc-cmp/scanned.pdf"
]
const PHOTOS = ["lab-report-cbc-cmp/photo-rot90.jpg", "lab-report-cbc-cmp/photo-noise-shadow.jpg"]

/** What a failing assertion prints: the rows the reader got wrong or left, for whoever tunes it. */
const problems = (run: ImageRun): string =>
  [
    `${imageName(run.file)}${run.error === undefined ? "" : ` FAILED ${run.error}`}`,
    ...run.misreads.map((m) => `  misread p${m.page} line ${m.line} ${m.name}: truth ${m.truth}, returned ${m.returned}`),
    ...run.score.missed.map((t) => `  missed line ${t.line} ${t.name} = ${t.value} ${t.unit}`),
    ...run.score.unpaired.map((r) => `  not a result line ${r.line ?? "?"} ${r.name} = ${r.value} ${r.unit}`),
    ...(run.document?.unreadLines ?? []).map((u) => `  unread p${u.page} line ${u.line}: ${u.text}`)
  ].join("\n")

describe("image truth files (test/fixtures/images/truth)", () => {
  it("decode, and every row's and reading's line holds its value", async () => {
    const files = (await loadManifest()).filter((file) => file.pageSources.length === 1)
    const sources = await loadSources(files)
    for (const name of ["lab-report-cbc-cmp", "vitals-log"]) {
      expect(fs.existsSync(path.join(IMAGE_TRUTH_DIR, `${name}.truth.json`))).toBe(true)
      const source = sources.get(`test/fixtures/${name}.txt#1`)
      expect(source, name).toBeDefined()
      const lines = fs.readFileSync(path.join(FIXTURES_DIR, `${name}.txt`), "utf8").split("\n")
      for (const row of source!.truth.results) {
        expect(lines[row.line - 1], `${name} ${row.name}`).toContain(row.name)
        expect(lines[row.line - 1], `${name} ${row.name}`).toContain(String(row.value))
      }
      for (const vital of source!.truth.vitals) {
        expect(lines[vital.line - 1], `${name} ${vital.kind}`).toContain(vital.time.slice(11))
        expect(lines[vital.line - 1], `${name} ${vital.kind}`).toContain(String(vital.value))
      }
    }
    expect(sources.get("test/fixtures/lab-report-cbc-cmp.txt#1")!.truth.results).toHaveLength(16)
    expect(sources.get("test/fixtures/vitals-log.txt#1")!.truth.vitals).toHaveLength(20)
  })
})

describe("the offline reader on images (OCR)", () => {
  it("CBC/CMP scan, rotated and noisy photos, scanned PDF: no misread, recall near the text's, every OCR row marked", { timeout: 180_000 }, async () => {
    const manifest = await loadManifest()
    const files = SUBSET.map((name) => manifest.find((file) => imageName(file) === name)!)
    expect(files.every((file) => file !== undefined)).toBe(true)
    const evaluation: ImageEvaluation = await runImages(files)
    const run = (name: string) => evaluation.runs.find((r) => imageName(r.file) === name)!
    const report = evaluation.runs.map(problems).join("\n")

    for (const r of evaluation.runs) {
      expect.soft(r.error, `${imageName(r.file)} failed\n${report}`).toBeUndefined()
      // a value presented as read is the truth's: OCR leaves a line unread rather than guess
      expect.soft(r.misreads, `${imageName(r.file)} misreads\n${report}`).toEqual([])
      // every row and reading from an OCR page says how OCR read it
      expect.soft(r.image.ocrUnmarked, `${imageName(r.file)} rows without an ocr mark`).toBe(0)
      expect.soft(r.image.ocrRead, `${imageName(r.file)} rows read by OCR`).toBeGreaterThan(0)
    }

    const scan = run("lab-report-cbc-cmp/scan-300.png")
    const text = evaluation.texts.get(scan.source.key)!
    expect.soft(metrics(scan.score.counts).recall, `scan-300.png recall against the text's ${metrics(text.score.counts).recall}\n${problems(scan)}`)
      .toBeGreaterThanOrEqual(metrics(text.score.counts).recall - 0.02)
    for (const name of PHOTOS) {
      expect.soft(metrics(run(name).score.counts).recall, `${name} recall\n${problems(run(name))}`).toBeGreaterThanOrEqual(0.9)
    }
  })
})
