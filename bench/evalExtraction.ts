/**
 * `npm run eval:extraction [-- --verbose] [-- --json <file>]`: how well the offline reader reads
 * the lab corpus (test/fixtures/lab-corpus), each document as text and as PDF. Prints one row per
 * document and format, then totals for every set (tuning…, heldout…) and all, and per layout class.
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

const started = performance.now()
const evaluation = await runCorpus(await loadCorpus())
report(evaluation)
console.log(`\n${evaluation.runs.length} readings in ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (args.includes("--floors")) console.log(`\nfloors for today's reader:\n${JSON.stringify(floors(evaluation), null, 2)}`)
if (jsonFile !== undefined) {
  await fs.writeFile(jsonFile, `${JSON.stringify(json(evaluation), null, 2)}\n`)
  console.log(`numbers written to ${jsonFile}`)
}
