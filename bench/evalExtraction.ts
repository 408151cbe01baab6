/**
 * `npm run eval:extraction [-- --verbose] [-- --json <file>] [-- --images-only | --no-images]`: how
 * well the offline reader reads the lab corpus (test/fixtures/lab-corpus), each document as text and
 * as PDF, and the image fixtures (test/fixtures/images: photos, scans and scanned PDFs, read by OCR).
 * Prints one row per document and format, then totals for every set (tuning…, heldout…) and all, and per layout class;
 * then one row per image file, totals per variant class beside the text baseline (the same documents
 * read as text), and every misread (a value presented as read that is not the truth's; see
 * test/support/imageEvalRun.ts). The corpus takes seconds, the images minutes: `--images-only` skips
 * the corpus, `--no-images` the images.
 * `--verbose` lists what was missed, what was returned that is not a result, and wrong
 * values/units/flags. `--json <file>` writes the numbers. A blind set (heldout2) shows only its
 * totals: no per-document rows, no `--verbose` lists, no per-document JSON, and it is left out of
 * the per-layout-class numbers, so its misses cannot be read off any output. `--floors` prints what floor.json would hold for today's
 * reader (per set, the lower of the text and PDF totals, rounded down to 0.01); it writes nothing.
 */
import * as fs from "node:fs/promises"
import type { Counts, DocumentScore } from "../test/support/extractionEval.js"
import { metrics } from "../test/support/extractionEval.js"
import {
  type ImageCounts,
  type ImageEvaluation,
  imageName,
  type ImageRun,
  imageTotals,
  loadManifest,
  type Misread,
  runImages,
  type Totals,
  VARIANT_CLASSES
} from "../test/support/imageEvalRun.js"
import {
  BLIND_SETS,
  type DocumentRun,
  type Evaluation,
  FORMATS,
  LAYOUT_CLASSES,
  loadCorpus,
  runCorpus,
  SETS,
  totals
} from "../test/support/extractionRun.js"

const args = process.argv.slice(2)
const verbose = args.includes("--verbose")
const imagesOnly = args.includes("--images-only")
const noImages = args.includes("--no-images")
if (imagesOnly && noImages) {
  console.error("--images-only and --no-images exclude each other")
  process.exit(2)
}
const jsonIndex = args.indexOf("--json")
const jsonFile = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined
if (jsonIndex >= 0 && jsonFile === undefined) {
  console.error("--json needs a file name")
  process.exit(2)
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7)
const HEADER = `${"recall".padStart(7)} ${"val+unit".padStart(8)} ${"flag".padStart(7)} ${"critical".padStart(8)} ${"precis.".padStart(7)} ${"unread".padStart(6)} ${"silent".padStart(6)}  ${"vitals".padStart(7)} ${"v.acc".padStart(7)} ${"v.prec".padStart(7)} ${"v.sil".padStart(5)}`

const line = (label: string, width: number, c: Counts) => {
  const m = metrics(c)
  const critical = c.criticalRows === 0 ? "-".padStart(8) : `${c.criticalMarked}/${c.criticalRows}`.padStart(8)
  const vitals =
    c.truthVitals === 0
      ? `${"-".padStart(7)} ${"-".padStart(7)} ${(c.returnedVitals === 0 ? "-" : `${c.returnedVitals}?`).padStart(7)} ${"-".padStart(5)}`
      : `${pct(m.vitalsRecall)} ${pct(m.vitalsAccuracy)} ${pct(m.vitalsPrecision)} ${String(c.silentVitals).padStart(5)}`
  const results = c.truthRows === 0 ? `${"-".padStart(7)} ${"-".padStart(8)} ${"-".padStart(7)}` : `${pct(m.recall)} ${pct(m.valueUnit).padStart(8)} ${pct(m.flag)}`
  const precision = c.returnedRows === 0 ? "-".padStart(7) : pct(m.precision)
  return `${label.padEnd(width)} ${results} ${critical} ${precision} ${String(c.unread).padStart(6)} ${String(c.silent).padStart(6)}  ${vitals}`
}

/** The runs of the sets that are not blind: what per-document and per-class output may show. */
const openRuns = (evaluation: Evaluation): Evaluation => ({ runs: evaluation.runs.filter((run) => !BLIND_SETS.has(run.document.set)) })

const describe = (score: DocumentScore): Array<string> => [
  ...score.missed.map((t) => `    missed     line ${String(t.line).padStart(3)}  ${t.name} = ${t.value} ${t.unit}`),
  ...score.mismatches.map(
    (m) =>
      `    wrong ${m.problems.join("+").padEnd(15)} line ${String(m.truth.line).padStart(3)}  ${m.truth.name}: ` +
      `want ${m.truth.value} ${JSON.stringify(m.truth.unit)} ${m.truth.flag}, got ${m.returned.value} ${JSON.stringify(m.returned.unit)} ${m.returned.flag}`
  ),
  ...score.unpaired.map((r) => `    not a result${r.line === undefined ? "" : ` (line ${r.line})`}  ${r.name} = ${r.value} ${r.unit} ${r.flag}`),
  ...score.missedVitals.map((v) => `    missed vital line ${String(v.line).padStart(3)}  ${v.kind} ${v.time} ${v.value}${v.diastolic === undefined ? "" : `/${v.diastolic}`}`),
  ...score.unpairedVitals.map((v) => `    not a vital line ${String(v.line ?? "?").padStart(3)}  ${v.kind} ${v.time} ${v.value}${v.diastolic === undefined ? "" : `/${v.diastolic}`} ${v.unit}`)
]

const report = (evaluation: Evaluation) => {
  const width = Math.max(...evaluation.runs.map((run) => run.document.set.length + run.document.name.length + 6), 24)
  const out: Array<string> = []
  for (const set of SETS) {
    out.push("", `== ${set} ${"".padEnd(width - set.length - 4)} ${HEADER}`)
    if (BLIND_SETS.has(set)) {
      const documents = new Set(evaluation.runs.filter((run) => run.document.set === set).map((run) => run.document.name)).size
      out.push(`(blind set: ${documents} documents; only its totals are printed, below)`)
      continue
    }
    const runs = evaluation.runs.filter((run) => run.document.set === set)
    const names = [...new Set(runs.map((run) => run.document.name))]
    for (const name of names) {
      for (const format of FORMATS) {
        const run = runs.find((r) => r.document.name === name && r.format === format) as DocumentRun
        out.push(`${line(`${name} ${format}`, width, run.score.counts)}${run.error === undefined ? "" : `  FAILED ${run.error}`}`)
        if (verbose) out.push(...describe(run.score))
      }
    }
  }
  out.push("", `== totals ${"".padEnd(width - 9)} ${HEADER}`)
  for (const set of [...SETS, undefined]) {
    for (const format of [...FORMATS, undefined]) {
      out.push(line(`${set ?? "all"} ${format ?? "txt+pdf"}`, width, totals(evaluation, { ...(set ? { set } : {}), ...(format ? { format } : {}) })))
    }
  }
  const label = `per layout class (${SETS.filter((set) => !BLIND_SETS.has(set)).join(" + ")})`
  out.push("", `== ${label} ${"".padEnd(Math.max(0, width - label.length - 4))} ${HEADER}`)
  for (const layout of LAYOUT_CLASSES) {
    for (const format of FORMATS) out.push(line(`class ${String(layout).padStart(2)} ${format}`, width, totals(openRuns(evaluation), { layout, format })))
  }
  const failures = evaluation.runs.filter((run) => run.error !== undefined)
  if (failures.length > 0) out.push("", `${failures.length} document reading(s) failed and count as all rows missed.`)
  console.log(out.join("\n"))
}

const json = (evaluation: Evaluation) => {
  const entry = (c: Counts) => ({ ...metrics(c), counts: c })
  return {
    documents: openRuns(evaluation).runs.map((run) => ({
      set: run.document.set,
      name: run.document.name,
      format: run.format,
      layouts: run.document.truth.layouts,
      ...(run.error === undefined ? {} : { error: run.error }),
      millis: Math.round(run.millis),
      ...entry(run.score.counts)
    })),
    totals: Object.fromEntries(
      [...SETS, "all" as const].map((set) => [
        set,
        Object.fromEntries(
          [...FORMATS, "both" as const].map((format) => [
            format,
            entry(totals(evaluation, { ...(set === "all" ? {} : { set }), ...(format === "both" ? {} : { format }) }))
          ])
        )
      ])
    ),
    layouts: Object.fromEntries(
      LAYOUT_CLASSES.map((layout) => [layout, Object.fromEntries(FORMATS.map((format) => [format, entry(totals(openRuns(evaluation), { layout, format }))]))])
    )
  }
}

const FLOOR_KEYS = ["recall", "valueUnit", "flag", "critical", "precision"] as const
const VITALS_FLOOR_KEYS = ["vitalsRecall", "vitalsAccuracy"] as const

const floors = (evaluation: Evaluation) =>
  Object.fromEntries(
    SETS.map((set) => {
      const byFormat = FORMATS.map((format) => metrics(totals(evaluation, { set, format })))
      // 1e-9: a ratio such as 0.58 computed as 0.5799999… still rounds down to 0.58
      const hasVitals = totals(evaluation, { set, format: "txt" }).truthVitals > 0
      const keys = hasVitals ? [...FLOOR_KEYS, ...VITALS_FLOOR_KEYS] : FLOOR_KEYS
      return [set, Object.fromEntries(keys.map((key) => [key, Math.floor(Math.min(...byFormat.map((m) => m[key])) * 100 + 1e-9) / 100]))]
    })
  )

// ---------------------------------------------------------------------------------------------
// Images (test/fixtures/images): one row per file, totals per variant class beside the text baseline

const IMAGE_HEADER = `${"recall".padStart(7)} ${"val+unit".padStart(8)} ${"flag".padStart(7)} ${"critical".padStart(8)} ${"precis.".padStart(7)}  ${"vitals".padStart(7)} ${"v.acc".padStart(7)}  ${"unread".padStart(6)} ${"missed".padStart(6)} ${"misread".padStart(7)} ${"extra".padStart(5)} ${"review".padStart(6)} ${"s/page".padStart(6)}`

const imageLine = (label: string, width: number, { counts: c, image }: Totals) => {
  const m = metrics(c)
  const results = c.truthRows === 0 ? `${"-".padStart(7)} ${"-".padStart(8)} ${"-".padStart(7)}` : `${pct(m.recall)} ${pct(m.valueUnit).padStart(8)} ${pct(m.flag)}`
  const critical = c.criticalRows === 0 ? "-".padStart(8) : `${c.criticalMarked}/${c.criticalRows}`.padStart(8)
  const precision = c.returnedRows === 0 ? "-".padStart(7) : pct(m.precision)
  const vitals = c.truthVitals === 0 ? `${"-".padStart(7)} ${"-".padStart(7)}` : `${pct(m.vitalsRecall)} ${pct(m.vitalsAccuracy)}`
  const perPage = image.pages === 0 ? "-" : (image.millis / 1000 / image.pages).toFixed(1)
  return `${label.padEnd(width)} ${results} ${critical} ${precision}  ${vitals}  ${String(image.unreadRows).padStart(6)} ${String(image.missedRows).padStart(6)} ` +
    `${String(image.misread).padStart(7)} ${String(image.extra).padStart(5)} ${String(image.review).padStart(6)} ${perPage.padStart(6)}`
}

const describeMisread = (m: Misread) =>
  `p${m.page} line ${String(m.line).padStart(3)}  ${m.name}: truth ${m.truth}, returned ${m.returned}` +
  (m.ocr === undefined ? "  (no ocr mark)" : `  (ocr ${m.ocr.confidence.toFixed(2)}${m.ocr.corrected ? ", corrected" : ""}${m.ocr.needsReview ? ", needs review" : ""})`)

const describeImage = (run: ImageRun): Array<string> => {
  const unread = run.document?.unreadLines ?? []
  return [
    ...run.misreads.map((m) => `    MISREAD ${m.what === "vital" ? "vital " : ""}${describeMisread(m)}`),
    ...describe(run.score).filter((entry) => !entry.startsWith("    wrong value")),
    ...unread.map((u) => `    unread line p${u.page} ${String(u.line).padStart(3)}  ${u.text}`)
  ]
}

const imageReport = (evaluation: ImageEvaluation) => {
  const width = Math.max(...evaluation.runs.map((run) => imageName(run.file).length), 40)
  const out: Array<string> = ["", `== images (OCR) ${"".padEnd(Math.max(0, width - 16))} ${IMAGE_HEADER}`]
  for (const run of evaluation.runs) {
    out.push(`${imageLine(imageName(run.file), width, { counts: run.score.counts, image: run.image })}${run.error === undefined ? "" : `  FAILED ${run.error}`}`)
    if (verbose) out.push(...describeImage(run))
  }
  out.push("", `== images per variant class, and the same documents as text ${"".padEnd(Math.max(0, width - 59))} ${IMAGE_HEADER}`)
  for (const variant of VARIANT_CLASSES) {
    const totals = imageTotals(evaluation, (run) => run.variantClass === variant)
    if (totals.image.files === 0) continue
    out.push(imageLine(`${variant} (${totals.image.files} files)`, width, totals), imageLine(`  as text`, width, totals.text))
  }
  const all = imageTotals(evaluation)
  out.push(imageLine(`all images (${all.image.files} files)`, width, all), imageLine(`  as text`, width, all.text))
  out.push("", `== text baseline: each source read as text/plain ${"".padEnd(Math.max(0, width - 48))} ${IMAGE_HEADER}`)
  for (const [key, text] of evaluation.texts) {
    const label = key.replace(/test\/fixtures\/(lab-corpus\/)?/g, "").replace(/#1\b/g, "").replace(/\.txt/g, "")
    out.push(`${imageLine(label, width, { counts: text.score.counts, image: text.image })}${text.error === undefined ? "" : `  FAILED ${text.error}`}`)
  }
  const misreads = evaluation.runs.flatMap((run) => run.misreads.map((m) => `  ${imageName(run.file)}  ${m.what === "vital" ? "vital " : ""}${describeMisread(m)}`))
  out.push("", misreads.length === 0 ? "misreads: none" : `misreads (${misreads.length}): values presented as read that are not the truth's`, ...misreads)
  const unmarked = all.image.ocrUnmarked
  out.push(`${all.image.ocrRead} rows and readings read by OCR, ${all.image.review} marked for review, ${unmarked} without an ocr mark${unmarked === 0 ? "" : " (each must have one)"}`)
  const failures = evaluation.runs.filter((run) => run.error !== undefined)
  if (failures.length > 0) out.push(`${failures.length} image reading(s) failed and count as all rows missed.`)
  console.log(out.join("\n"))
}

const imageJson = (evaluation: ImageEvaluation) => {
  const entry = ({ counts, image }: Totals) => ({
    ...metrics(counts),
    misread: image.misread,
    unreadRows: image.unreadRows,
    missedRows: image.missedRows,
    extra: image.extra,
    review: image.review,
    secondsPerPage: image.pages === 0 ? null : image.millis / 1000 / image.pages,
    counts,
    image: { ...image, millis: Math.round(image.millis) } satisfies ImageCounts
  })
  return {
    files: evaluation.runs.map((run) => ({
      file: imageName(run.file),
      variant: run.file.variant,
      variantClass: run.variantClass,
      source: run.source.key,
      ...(run.error === undefined ? {} : { error: run.error }),
      ...entry({ counts: run.score.counts, image: run.image }),
      misreads: run.misreads
    })),
    variantClasses: Object.fromEntries(
      VARIANT_CLASSES.flatMap((variant) => {
        const totals = imageTotals(evaluation, (run) => run.variantClass === variant)
        return totals.image.files === 0 ? [] : [[variant, { images: entry(totals), text: entry(totals.text) }]]
      })
    ),
    all: (() => {
      const totals = imageTotals(evaluation)
      return { images: entry(totals), text: entry(totals.text) }
    })(),
    text: Object.fromEntries([...evaluation.texts].map(([key, text]) => [key, { ...(text.error === undefined ? {} : { error: text.error }), ...entry({ counts: text.score.counts, image: text.image }) }]))
  }
}

const started = performance.now()
let evaluation: Evaluation | undefined
if (!imagesOnly) {
  evaluation = await runCorpus(await loadCorpus())
  report(evaluation)
  console.log(`\n${evaluation.runs.length} readings in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  if (args.includes("--floors")) console.log(`\nfloors for today's reader:\n${JSON.stringify(floors(evaluation), null, 2)}`)
}
let images: ImageEvaluation | undefined
if (!noImages) {
  const imagesStarted = performance.now()
  const files = await loadManifest()
  images = await runImages(files, {
    onRun: (run, index, total) =>
      process.stderr.write(`image ${index + 1}/${total} ${imageName(run.file)}: ${(run.image.millis / 1000).toFixed(1)} s${run.error === undefined ? "" : ` FAILED ${run.error}`}\n`)
  })
  imageReport(images)
  console.log(`\n${images.runs.length} image files (${images.runs.reduce((n, run) => n + run.file.pages, 0)} pages) in ${((performance.now() - imagesStarted) / 1000).toFixed(1)} s`)
}
if (jsonFile !== undefined) {
  const numbers = { ...(evaluation === undefined ? {} : json(evaluation)), ...(images === undefined ? {} : { images: imageJson(images) }) }
  await fs.writeFile(jsonFile, `${JSON.stringify(numbers, null, 2)}\n`)
  console.log(`numbers written to ${jsonFile}`)
}
