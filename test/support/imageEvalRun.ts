/**
 * Running the real offline reader over the image fixtures (test/fixtures/images, see its README and
 * manifest.json): every photo, scan and scanned PDF there is read with `makeOfflineLLM()` (PNG,
 * JPEG or PDF by its extension) and scored with ./extractionEval.ts against the truth of its
 * source text: the corpus document's `.truth.json`, or test/fixtures/images/truth/ for the two
 * sources outside the corpus (lab-report-cbc-cmp, vitals-log). Shared by `npm run eval:extraction`
 * (bench/evalExtraction.ts) and test/layers/llm/imageEval.test.ts.
 *
 * - A PDF of several pages is scored against its page sources put together: the pages' texts
 *   joined with form feeds (so `lineLocations` gives each line its page), their truth rows
 *   renumbered to the joined text's lines. A truth row keeps its line within its page, which is
 *   what the reader reports for a page (page + line on the page).
 * - Pairing: on the same page and line first (OCR lines are the reader's layout of the image by
 *   geometry, blank lines included; on the fixtures they match the text's lines), then by name and
 *   value (`pairByValue`), then by name in document order — so a line number that drifts cannot
 *   make a right value look misread; a row read with a wrong value still pairs by name.
 * - Beside the corpus numbers: **misread** (a returned row paired with a truth row, or a vitals
 *   reading paired by kind and time, whose value differs: presented as read and wrong — the number
 *   that must stay 0), **unread** (a truth row or reading not read, whose line the reader reported
 *   unread), **missed** (neither read nor reported unread), **extra** (returned rows or readings
 *   that pair with nothing: not results, or a misread name or time), **review** (returned rows and
 *   readings marked `ocr.needsReview`), and whether every row and reading from an OCR page carries
 *   an `ocr` mark.
 * - Seconds per page: the wall time of `interpret` over the manifest's pages (OCR reads one
 *   document at a time in a process, so the files are read one after the other).
 * - The text baseline: each file's source(s) read as text/plain and scored the same way, so an
 *   image's numbers can be held against the same document's as text.
 */
import { Effect, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { makeOfflineLLM } from "../../src/layers/llm/offline.js"
import type { DocumentContentType, InterpretedDocument } from "../../src/services/llm.js"
import {
  addCounts,
  type Counts,
  type DocumentScore,
  emptyCounts,
  lineLocations,
  type ReadDocument,
  sameLocation,
  scoreDocument,
  scoreFailure,
  Truth,
  type TruthResult,
  type TruthVital
} from "./extractionEval.js"
import { FIXTURES_DIR } from "./fixtures.js"

export const IMAGES_DIR = path.join(FIXTURES_DIR, "images")
/** Truth files of the image sources outside the lab corpus (`<source name>.truth.json`). */
export const IMAGE_TRUTH_DIR = path.join(IMAGES_DIR, "truth")
/** The manifest's paths are relative to the repository's root. */
const REPO_ROOT = path.resolve(FIXTURES_DIR, "../..")
const CORPUS_PREFIX = "test/fixtures/lab-corpus/"

// ---------------------------------------------------------------------------------------------
// The manifest

const PageSource = Schema.Struct({
  source: Schema.String,
  sourcePage: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0))),
  textLayer: Schema.Boolean
})

/** One file of manifest.json (the fields the evaluation uses). */
export const ManifestFile = Schema.Struct({
  path: Schema.String,
  format: Schema.Literals(["png", "jpeg", "pdf"]),
  variant: Schema.String,
  source: Schema.String,
  pageSources: Schema.NonEmptyArray(PageSource),
  kind: Schema.String,
  dpi: Schema.Number,
  rotation: Schema.Number,
  skewDegrees: Schema.Number,
  noise: Schema.Number,
  pages: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))
})
export type ManifestFile = typeof ManifestFile.Type

const Manifest = Schema.Struct({ files: Schema.Array(ManifestFile) })

export const loadManifest = async (): Promise<ReadonlyArray<ManifestFile>> =>
  Schema.decodeUnknownSync(Schema.fromJsonString(Manifest))(await fs.readFile(path.join(IMAGES_DIR, "manifest.json"), "utf8")).files

/** The file's name under test/fixtures/images (`lab-report-cbc-cmp/scan-300.png`, `scanned-two-pages.pdf`). */
export const imageName = (file: ManifestFile): string => path.posix.relative("test/fixtures/images", file.path)

export const VARIANT_CLASSES = [
  "clean scan 300",
  "clean scan 150",
  "JPEG scans",
  "rotated photos",
  "skewed photos",
  "noise+shadow photos",
  "hard",
  "scanned PDFs"
] as const
export type VariantClass = (typeof VARIANT_CLASSES)[number]

/** The variant's class, from what the manifest says was done to the page. */
export const variantClass = (file: ManifestFile): VariantClass => {
  if (file.format === "pdf") return "scanned PDFs"
  if (file.kind === "scan") return file.format === "jpeg" ? "JPEG scans" : file.dpi >= 300 ? "clean scan 300" : "clean scan 150"
  const turned = file.rotation % 360 !== 0
  if (file.noise > 0) return turned ? "hard" : "noise+shadow photos"
  return turned ? "rotated photos" : "skewed photos"
}

export const contentTypeOf = (file: ManifestFile): DocumentContentType =>
  file.format === "pdf" ? "application/pdf" : file.format === "png" ? "image/png" : "image/jpeg"

// ---------------------------------------------------------------------------------------------
// Sources and their truth

/** What a file shows, as text, with its truth (the page sources put together for a PDF). */
export interface SourceDocument {
  /** The page sources, `source#page`, joined with ` + `. */
  readonly key: string
  readonly text: string
  readonly truth: Truth
}

const decodeTruth = Schema.decodeUnknownSync(Schema.fromJsonString(Truth))

/** A source's truth: the corpus document's own, or test/fixtures/images/truth/<name>.truth.json. */
export const truthPath = (source: string): string =>
  source.startsWith(CORPUS_PREFIX)
    ? path.join(REPO_ROOT, source.replace(/\.txt$/, ".truth.json"))
    : path.join(IMAGE_TRUTH_DIR, `${path.basename(source, ".txt")}.truth.json`)

const loadSource = async (source: string): Promise<{ readonly text: string; readonly truth: Truth }> => {
  const text = await fs.readFile(path.join(REPO_ROOT, source), "utf8")
  const file = truthPath(source)
  try {
    return { text, truth: decodeTruth(await fs.readFile(file, "utf8")) }
  } catch (error) {
    throw new Error(`${path.relative(REPO_ROOT, file)}: ${String(error)}`)
  }
}

/**
 * The page sources as one document: page n of the result is page `sourcePage` of its source; its
 * lines are joined to the previous page's with a form feed, and its truth rows and readings are
 * renumbered to the joined text's lines.
 */
export const combineSources = (
  pages: ReadonlyArray<{ readonly source: string; readonly sourcePage: number; readonly text: string; readonly truth: Truth }>
): SourceDocument => {
  const texts: Array<string> = []
  const results: Array<TruthResult> = []
  const vitals: Array<TruthVital> = []
  const layouts = new Set<number>()
  let offset = 0
  for (const page of pages) {
    const locations = lineLocations(page.text)
    const lines = page.text.split("\n")
    const onPage = locations.filter((l) => l.page === page.sourcePage)
    if (onPage.length === 0) throw new Error(`${page.source} has no page ${page.sourcePage}`)
    const renumber = (line: number) => {
      const location = locations[line - 1]
      return location !== undefined && location.page === page.sourcePage ? offset + location.pageLine : undefined
    }
    for (const row of page.truth.results) {
      const line = renumber(row.line)
      if (line !== undefined) results.push({ ...row, line })
    }
    for (const vital of page.truth.vitals) {
      const line = renumber(vital.line)
      if (line !== undefined) vitals.push({ ...vital, line })
    }
    page.truth.layouts.forEach((layout) => layouts.add(layout))
    texts.push(onPage.map((l) => lines[l.line - 1]!.replace(/\f/g, "")).join("\n"))
    offset += onPage.length
  }
  const truth: Truth = {
    layouts: [...layouts] as unknown as Truth["layouts"],
    documentType: results.length > 0 ? "lab_results" : "vitals",
    results,
    vitals
  }
  return { key: pages.map((p) => `${p.source}#${p.sourcePage}`).join(" + "), text: texts.join("\n\f"), truth }
}

/** Every distinct source document of the files, by key. */
export const loadSources = async (files: ReadonlyArray<ManifestFile>): Promise<ReadonlyMap<string, SourceDocument>> => {
  const loaded = new Map<string, { readonly text: string; readonly truth: Truth }>()
  const documents = new Map<string, SourceDocument>()
  for (const file of files) {
    const pages = []
    for (const page of file.pageSources) {
      if (!loaded.has(page.source)) loaded.set(page.source, await loadSource(page.source))
      pages.push({ ...page, ...loaded.get(page.source)! })
    }
    const document = combineSources(pages)
    if (!documents.has(document.key)) documents.set(document.key, document)
  }
  return documents
}

export const sourceKey = (file: ManifestFile): string => file.pageSources.map((p) => `${p.source}#${p.sourcePage}`).join(" + ")

// ---------------------------------------------------------------------------------------------
// What the image numbers add to the corpus counts

export interface ImageCounts {
  readonly files: number
  readonly pages: number
  readonly millis: number
  /** Paired rows and readings whose value differs from the truth's: presented as read, and wrong. */
  readonly misread: number
  /** Truth rows and readings not read whose line the reader reported unread. */
  readonly unreadRows: number
  /** Truth rows and readings neither read nor reported unread. */
  readonly missedRows: number
  /** Returned rows and readings that pair with no truth row or reading. */
  readonly extra: number
  /** Returned rows and readings marked `ocr.needsReview`. */
  readonly review: number
  /** Returned rows and readings from pages read by OCR. */
  readonly ocrRead: number
  /** Of those, the ones without an `ocr` mark (must be 0). */
  readonly ocrUnmarked: number
}

export const emptyImageCounts: ImageCounts = {
  files: 0,
  pages: 0,
  millis: 0,
  misread: 0,
  unreadRows: 0,
  missedRows: 0,
  extra: 0,
  review: 0,
  ocrRead: 0,
  ocrUnmarked: 0
}

export const addImageCounts = (a: ImageCounts, b: ImageCounts): ImageCounts => {
  const sum = { ...a } as Record<keyof ImageCounts, number>
  for (const key of Object.keys(b) as Array<keyof ImageCounts>) sum[key] = a[key] + b[key]
  return sum
}

/** One misread, for the lists: what the truth says and what was returned as read. */
export interface Misread {
  readonly what: "result" | "vital"
  readonly page: number
  /** The line on its page. */
  readonly line: number
  readonly name: string
  readonly truth: string
  readonly returned: string
  /** The returned row's OCR mark, when it has one. */
  readonly ocr?: { readonly confidence: number; readonly corrected: boolean; readonly needsReview: boolean } | undefined
}

const vitalValue = (v: { readonly value: number; readonly diastolic?: number | undefined; readonly unit: string }) =>
  `${v.value}${v.diastolic === undefined ? "" : `/${v.diastolic}`} ${v.unit}`

// ---------------------------------------------------------------------------------------------
// Running the reader

export interface ImageRun {
  readonly file: ManifestFile
  readonly variantClass: VariantClass
  readonly source: SourceDocument
  readonly score: DocumentScore
  readonly image: ImageCounts
  readonly misreads: ReadonlyArray<Misread>
  /** The error's tag when the reader failed on the file (every row then counts as missed). */
  readonly error?: string
  /** What the reader returned (absent when it failed). */
  readonly document?: InterpretedDocument
}

/** A source read as text: the same numbers (no page is read by OCR). */
export type TextRun = Omit<ImageRun, "file" | "variantClass">

const llm = makeOfflineLLM()

const errorTag = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error
    ? `${String(error._tag)}${"reason" in error ? `/${String(error.reason)}` : ""}${"limit" in error ? `/${String(error.limit)}` : ""}`
    : String(error)

const interpret = async (bytes: Uint8Array, contentType: DocumentContentType) => {
  const started = performance.now()
  const outcome = await Effect.runPromise(Effect.result(llm.interpret({ bytes, contentType })))
  return { outcome, millis: performance.now() - started }
}

/** The image numbers of one reading, from its score and what the reader returned. */
export const imageCounts = (
  source: SourceDocument,
  score: DocumentScore,
  document: InterpretedDocument | undefined,
  reading: { readonly pages: number; readonly millis: number; readonly ocrPages: ReadonlySet<number> }
): {
  readonly counts: ImageCounts
  readonly misreads: ReadonlyArray<Misread>
} => {
  const locations = lineLocations(source.text)
  const where = (line: number) => {
    const location = locations[line - 1]
    return { page: location?.page ?? 1, line: location?.pageLine ?? line }
  }
  const misreads: Array<Misread> = [
    ...score.mismatches
      .filter((m) => m.problems.includes("value"))
      .map((m): Misread => ({
        what: "result",
        ...where(m.truth.line),
        name: m.truth.name,
        truth: `${m.truth.value} ${m.truth.unit}`.trim(),
        returned: `${m.returned.value} ${m.returned.unit}`.trim(),
        ocr: (m.returned as { readonly ocr?: Misread["ocr"] }).ocr
      })),
    ...score.vitalMismatches
      .filter((m) => m.problems.includes("value"))
      .map((m): Misread => ({
        what: "vital",
        ...where(m.truth.line),
        name: `${m.truth.kind} ${m.truth.time}`,
        truth: vitalValue(m.truth),
        returned: vitalValue(m.returned),
        ocr: (m.returned as { readonly ocr?: Misread["ocr"] }).ocr
      }))
  ]
  const unread = document?.unreadLines ?? []
  const reportedUnread = (line: number) => unread.some((u) => sameLocation(line, locations, u.line, u.page))
  const missedLines = [...score.missed.map((t) => t.line), ...score.missedVitals.map((v) => v.line)]
  const unreadRows = missedLines.filter(reportedUnread).length
  const returned = [...(document?.results ?? []), ...(document?.vitals ?? [])]
  const fromOcr = returned.filter((r) => reading.ocrPages.has(r.page ?? 1))
  return {
    counts: {
      files: 1,
      pages: reading.pages,
      millis: reading.millis,
      misread: misreads.length,
      unreadRows,
      missedRows: missedLines.length - unreadRows,
      extra: score.unpaired.length + score.unpairedVitals.length,
      review: returned.filter((r) => r.ocr?.needsReview === true).length,
      ocrRead: fromOcr.length,
      ocrUnmarked: fromOcr.filter((r) => r.ocr === undefined).length
    },
    misreads
  }
}

/** Reads one file with the offline provider and scores it against its source's truth. */
/** Reads bytes with the offline provider and scores what it returned against the source's truth. */
const readAndScore = async (
  source: SourceDocument,
  bytes: Uint8Array,
  contentType: DocumentContentType,
  reading: { readonly pages: number; readonly ocrPages: ReadonlySet<number> }
): Promise<Omit<ImageRun, "file" | "variantClass">> => {
  const { outcome, millis } = await interpret(bytes, contentType)
  if (outcome._tag === "Failure") {
    const score = scoreFailure(source.truth)
    const { counts, misreads } = imageCounts(source, score, undefined, { ...reading, millis })
    return { source, score, image: counts, misreads, error: errorTag(outcome.failure) }
  }
  const document = outcome.success.document
  // the fields the corpus scoring reads (line, page, unreadLines) are the document's own
  const score = scoreDocument(source.truth, document as unknown as ReadDocument, source.text, { pairByValue: true })
  const { counts, misreads } = imageCounts(source, score, document, { ...reading, millis })
  return { source, score, image: counts, misreads, document }
}

/** Reads one file with the offline provider and scores it against its source's truth. */
export const runImage = async (file: ManifestFile, source: SourceDocument): Promise<ImageRun> => {
  const bytes = new Uint8Array(await fs.readFile(path.join(REPO_ROOT, file.path)))
  const ocrPages = new Set(file.pageSources.flatMap((p, i) => (p.textLayer ? [] : [i + 1])))
  const run = await readAndScore(source, bytes, contentTypeOf(file), { pages: file.pages, ocrPages })
  return { file, variantClass: variantClass(file), ...run }
}

/** A source read as text (the baseline the images are held against), scored the same way. */
export const runText = async (source: SourceDocument): Promise<TextRun> =>
  readAndScore(source, new TextEncoder().encode(source.text), "text/plain", { pages: source.text.split("\f").length, ocrPages: new Set() })

export interface ImageEvaluation {
  readonly runs: ReadonlyArray<ImageRun>
  /** The text baseline, by source key. */
  readonly texts: ReadonlyMap<string, TextRun>
}

/**
 * Reads the files one after the other (OCR is CPU-heavy: one document at a time) and their sources
 * as text. `onRun` is told of each file as it is scored (a progress line: the whole set takes minutes).
 */
export const runImages = async (
  files: ReadonlyArray<ManifestFile>,
  options: { readonly onRun?: (run: ImageRun, index: number, total: number) => void } = {}
): Promise<ImageEvaluation> => {
  const sources = await loadSources(files)
  const texts = new Map<string, TextRun>()
  for (const [key, source] of sources) texts.set(key, await runText(source))
  const runs: Array<ImageRun> = []
  for (const [index, file] of files.entries()) {
    const run = await runImage(file, sources.get(sourceKey(file))!)
    runs.push(run)
    options.onRun?.(run, index, files.length)
  }
  return { runs, texts }
}

export interface Totals {
  readonly counts: Counts
  readonly image: ImageCounts
}

export interface ImageTotals extends Totals {
  /** The same documents read as text, one reading per file (so the ratios are comparable). */
  readonly text: Totals
}

const sum = (runs: ReadonlyArray<TextRun>): Totals => ({
  counts: runs.reduce((acc, run) => addCounts(acc, run.score.counts), emptyCounts),
  image: runs.reduce((acc, run) => addImageCounts(acc, run.image), emptyImageCounts)
})

/** Totals of some runs (all when no filter), with the text baseline of the same documents. */
export const imageTotals = (evaluation: ImageEvaluation, filter: (run: ImageRun) => boolean = () => true): ImageTotals => {
  const runs = evaluation.runs.filter(filter)
  return { ...sum(runs), text: sum(runs.flatMap((run) => evaluation.texts.get(run.source.key) ?? [])) }
}
