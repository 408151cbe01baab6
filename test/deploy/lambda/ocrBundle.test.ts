/**
 * OCR from the processor's bundle and its OCR layer alone, as Lambda runs them: the processor is
 * built (only it: the one function with OCR, a few seconds), its directory and the staged layer
 * are copied outside the repository (no node_modules of ours is reachable from there), and a
 * fresh Node process, with NODE_PATH naming the layer's nodejs/node_modules as Lambda's names
 * /opt/nodejs/node_modules, runs the bundle's own `recognise` (its ocrText chunk) on a generated
 * PNG: the reader's thread starts from ocr-worker.mjs, which loads tesseract.js from the layer,
 * whose own thread loads the WebAssembly core and the English model from the layer too.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Jimp, loadFont } from "jimp"
import { SANS_64_BLACK } from "jimp/fonts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type BundleReport,
  buildLambdas,
  OCR_CORE_BUILDS,
  OCR_LAYER_PACKAGES,
  OCR_NOT_IN_NODE,
  OCR_WORKER_FILE
} from "../../../deploy/lambda/build.js"
import { LAYER_NODE_MODULES, layerDir } from "../../../deploy/lambda/layers.js"

const run = promisify(execFile)
const MIB = 1024 * 1024

let buildDir: string
/** Outside the repository: task/ (the processor's directory, /var/task) and layer/ (what Lambda extracts to /opt). */
let runDir: string
let report: BundleReport
let layerModules: string

beforeAll(async () => {
  buildDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-ocr-build-"))
  ;[report] = (await buildLambdas({ outdir: buildDir, functions: ["processor"] })) as [BundleReport]
  runDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-ocr-run-"))
  await fs.cp(path.join(buildDir, "processor"), path.join(runDir, "task"), { recursive: true })
  await fs.cp(path.join(buildDir, layerDir("ocr")), path.join(runDir, "layer"), { recursive: true })
  layerModules = path.join(runDir, "layer", LAYER_NODE_MODULES)
  // a line of a lab report, in a large font (jimp's bitmap fonts are small otherwise)
  const font = await loadFont(SANS_64_BLACK)
  const image = new Jimp({ width: 1000, height: 200, color: 0xffffffff })
  image.print({ font, x: 40, y: 60, text: "Potassium 4.1 mmol/L" })
  await fs.writeFile(path.join(runDir, "potassium.png"), await image.getBuffer("image/png"))
}, 120_000)

afterAll(async () => {
  await fs.rm(buildDir, { recursive: true, force: true })
  await fs.rm(runDir, { recursive: true, force: true })
})

/**
 * Imports the processor's index.mjs (its init), then its ocrText chunk, and reads potassium.png
 * with that chunk's `recognise`. It answers an Effect of the bundle's own copy of effect, so it
 * runs with that copy's runPromise: the Effect module among the chunks the ocrText chunk imports.
 */
const PROBE = `import { readdir, readFile } from "node:fs/promises"
const started = performance.now()
await import("./task/index.mjs")
const imported = performance.now()
const chunk = (await readdir("./task")).find((name) => /^ocrText-.*\\.mjs$/.test(name))
const { recognise } = await import("./task/" + chunk)
let Effect
for (const [, shared] of (await readFile("./task/" + chunk, "utf8")).matchAll(/from\\s*"\\.\\/(chunk-[A-Z0-9]+\\.mjs)"/g)) {
  Effect ??= Object.values(await import("./task/" + shared)).find(
    (value) => typeof value === "object" && value !== null && typeof value.runPromise === "function" && typeof value.gen === "function"
  )
}
const bytes = new Uint8Array(await readFile("./potassium.png"))
const reading = performance.now()
try {
  const pages = await Effect.runPromise(recognise([{ _tag: "Encoded", page: 1, bytes }]))
  console.log(JSON.stringify({ words: pages.flatMap((page) => page.words.map((word) => word.text)), importMs: imported - started, ocrMs: performance.now() - reading }))
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.message ?? error) }))
}
process.exit(0)
`

/** Runs the probe in a fresh Node process from runDir, with only PATH and what `env` adds. */
const probe = async (env: Record<string, string>) => {
  const file = path.join(runDir, "probe.mjs")
  await fs.writeFile(file, PROBE)
  const { stdout } = await run(process.execPath, [file], { cwd: runDir, env: { PATH: process.env.PATH ?? "", ...env }, timeout: 90_000 })
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { words?: Array<string>; importMs?: number; ocrMs?: number; error?: string }
}

const filesUnder = async (dir: string): Promise<Array<string>> =>
  (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort()

describe("OCR from the processor's bundle and the OCR layer", () => {
  it("the processor has ocr-worker.mjs beside index.mjs, and the OCR layer holds only what tesseract.js loads in Node", async () => {
    expect((await fs.readdir(path.join(runDir, "task"))).includes(OCR_WORKER_FILE)).toBe(true)
    expect(report.inputs.some((input) => input.endsWith("src/layers/llm/ocr/ocrWorker.ts"))).toBe(true)
    expect(report.inputs.some((input) => input.includes("node_modules/tesseract.js"))).toBe(false)
    const files = await filesUnder(layerModules)
    const packages = new Set(files.map((file) => file.split("/").slice(0, file.startsWith("@") ? 2 : 1).join("/")))
    expect([...packages].sort()).toEqual(Object.keys(OCR_LAYER_PACKAGES).sort())
    for (const unused of Object.keys(OCR_NOT_IN_NODE)) expect(packages.has(unused), unused).toBe(false)
    // the core: a loader and its .wasm for each build getCore.js may pick, no .wasm.js (the browsers' inlined copies)
    expect(files.filter((file) => file.startsWith("tesseract.js-core/") && /\.(js|wasm)$/.test(file)).sort()).toEqual(
      OCR_CORE_BUILDS.flatMap((core) => [`tesseract.js-core/${core}.js`, `tesseract.js-core/${core}.wasm`]).sort()
    )
    // the model: LSTM "best_int" only
    expect(files.filter((file) => file.startsWith("@tesseract.js-data/eng/"))).toEqual([
      "@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz",
      "@tesseract.js-data/eng/package.json"
    ])
    // tesseract.js: its package.json and the sources Node runs, no browser worker, no dist/
    expect(files.some((file) => /^tesseract\.js\/(dist|docs)\//.test(file) || /[\\/]browser[\\/]/.test(file))).toBe(false)
    expect(files).toContain("tesseract.js/src/worker-script/node/index.js")
    expect(report.layerBytes).toBeGreaterThan(5 * MIB)
    expect(report.layerBytes, `${report.layerBytes} bytes`).toBeLessThan(16 * MIB)
  })

  it("without the layer on NODE_PATH nothing provides tesseract.js: the copy reaches no node_modules of the repository", async () => {
    const result = await probe({})
    expect(result.error).toMatch(/Cannot find module 'tesseract\.js'/)
  }, 60_000)

  it("with the layer on NODE_PATH, the bundle's recognise reads the PNG through ocr-worker.mjs, and writes nothing beside it", async () => {
    const before = await filesUnder(runDir)
    const result = await probe({ NODE_PATH: layerModules })
    expect(result.error).toBeUndefined()
    expect(result.words).toEqual(expect.arrayContaining(["Potassium", "4.1", "mmol/L"]))
    // cacheMethod "none": no model cached in the working directory, nothing written in the task or the layer
    expect((await filesUnder(runDir)).filter((file) => file !== "probe.mjs")).toEqual(before.filter((file) => file !== "probe.mjs"))
    process.stdout.write(
      `processor cold init: import ${Number(result.importMs).toFixed(0)} ms; first OCR (thread, model, one small image) ${Number(result.ocrMs).toFixed(0)} ms\n`
    )
  }, 120_000)
})
