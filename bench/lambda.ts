/**
 * The Lambda bundles' size and cold init: each function is built (deploy/lambda/build.ts) into a
 * temporary task root where only @aws-sdk/* is provided, as on Lambda, then started in a fresh
 * `node` process: import + first /health for the api functions, import only for processor and
 * migrate. Goals: ≤ 1 MiB minified per function (the SDK excluded), ≤ 250 ms cold init.
 *
 * Needs a PostgreSQL for /health's pool: DATABASE_URL, or an embedded server started here.
 * Run directly: `node --import tsx bench/lambda.ts`.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { buildLambdas, type LambdaFunction } from "../deploy/lambda/build.js"
import { startEmbeddedPostgres } from "../src/layers/database/embedded.js"
import { median } from "./report.js"

export interface LambdaBenchRow {
  readonly function: LambdaFunction
  readonly minifiedBytes: number
  readonly gzippedBytes: number
  readonly coldInitMs: number
}

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL("..", import.meta.url))
const API_FUNCTIONS: ReadonlyArray<LambdaFunction> = ["auth", "documents", "chat"]
/** Cold starts per function; the median is reported (the first start also warms the OS file cache). */
const STARTS = 3

/** GET /health as API Gateway (HTTP API, payload 2.0) delivers it; the build test uses it too. */
export const healthEvent = {
  version: "2.0",
  routeKey: "$default",
  rawPath: "/health",
  rawQueryString: "",
  headers: { host: "bench.example" },
  requestContext: { http: { method: "GET", path: "/health", sourceIp: "203.0.113.7" }, domainName: "bench.example" },
  isBase64Encoded: false
}

const coldStartScript = (name: LambdaFunction) => `const started = performance.now()
const { handler } = await import("./${name}/index.mjs")
${API_FUNCTIONS.includes(name) ? `const response = await handler(${JSON.stringify(healthEvent)})
if (response.statusCode !== 200) throw new Error("/health answered " + response.statusCode)` : "void handler"}
console.log(JSON.stringify({ ms: performance.now() - started }))
process.exit(0)
`


export async function runLambdaBench(): Promise<Array<LambdaBenchRow>> {
  const scope = Effect.runSync(Scope.make())
  const taskRoot = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-lambda-bench-"))
  try {
    await fs.mkdir(path.join(taskRoot, "node_modules"))
    await fs.symlink(path.join(ROOT, "node_modules/@aws-sdk"), path.join(taskRoot, "node_modules/@aws-sdk"))
    const databaseUrl =
      process.env.DATABASE_URL ??
      Redacted.value(
        (
          await Effect.runPromise(
            Scope.extend(startEmbeddedPostgres({ dataDir: path.join(taskRoot, "pg"), ephemeral: true }), scope)
          )
        ).url
      )
    const reports = await buildLambdas({ outdir: taskRoot })
    const masterKey = randomBytes(32).toString("hex")
    const rows: Array<LambdaBenchRow> = []
    for (const report of reports) {
      const script = path.join(taskRoot, `start-${report.function}.mjs`)
      await fs.writeFile(script, coldStartScript(report.function))
      const times: Array<number> = []
      for (let i = 0; i < STARTS; i++) {
        const { stdout } = await run(process.execPath, [script], {
          cwd: taskRoot,
          env: {
            PATH: process.env.PATH ?? "",
            APP_ENV: "local",
            DATA_DIR: path.join(taskRoot, "data"),
            DATABASE_URL: databaseUrl,
            LOG_LEVEL: "warning",
            AWS_REGION: "eu-west-1",
            AWS_LAMBDA_FUNCTION_NAME: report.function,
            // a fresh DATA_DIR races CryptoLocal against the lookup key file (see the report); a set key avoids it
            LOCAL_MASTER_KEY: masterKey
          },
          timeout: 60_000
        })
        times.push((JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { ms: number }).ms)
      }
      rows.push({
        function: report.function,
        minifiedBytes: report.minifiedBytes,
        gzippedBytes: report.gzippedBytes,
        coldInitMs: Math.round(median(times))
      })
    }
    return rows
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await fs.rm(taskRoot, { recursive: true, force: true })
  }
}

const formatRows = (rows: ReadonlyArray<LambdaBenchRow>) => {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
  return [
    `function    minified     gzipped      cold init   (goals: ≤ 1024 KiB, ≤ 250 ms; median of ${STARTS}, ${process.version})`,
    ...rows.map((r) =>
      [
        r.function.padEnd(11),
        `${kib(r.minifiedBytes)}${r.minifiedBytes > 1024 * 1024 ? " !" : ""}`.padEnd(12),
        kib(r.gzippedBytes).padEnd(12),
        `${r.coldInitMs} ms${r.coldInitMs > 250 ? " !" : ""}`
      ].join(" ")
    )
  ].join("\n")
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${formatRows(await runLambdaBench())}\n`)
}
