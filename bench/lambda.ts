/**
 * The Lambda bundles' size and cold init: each function is built (deploy/lambda/build.ts) into a
 * temporary task root where only @aws-sdk/* is provided, as on Lambda, then started in a fresh
 * `node` process: import + first /health for the api functions, import only for processor and
 * migrate. Goals: ≤ 1 MiB minified per function (the SDK excluded), ≤ 250 ms cold init.
 *
 * With `against` (bench/index.ts --against <ref>): the other commit's bundles too, built by ITS
 * deploy/lambda/build.ts in its worktree (a child process there, so its own esbuild and
 * dependencies) into a task root of their own with its @aws-sdk; cold starts alternate between
 * ours and the other commit's, function by function, so drift falls on both.
 *
 * Needs a PostgreSQL for /health's pool: DATABASE_URL, or an embedded server started here.
 * Run directly: `node --import tsx bench/lambda.ts [<worktree of another commit>]`.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { buildLambdas, type LambdaFunction } from "../deploy/lambda/build.js"
import { startEmbeddedPostgres } from "../src/layers/database/embedded.js"
import { median } from "./report.js"

export interface LambdaBenchRow {
  /** "serenya" (this tree) or the other commit's label ("serenya@<short sha>"). */
  readonly implementation: string
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


/** What a build reports that the bench uses (the other commit's build.ts may differ in the rest). */
interface Built {
  readonly function: LambdaFunction
  readonly minifiedBytes: number
  readonly gzippedBytes: number
}

/** A task root: the bundles under <dir>/<function>/ and node_modules/@aws-sdk from `root` beside them, as on Lambda. */
const taskRootFor = async (dir: string, root: string) => {
  await fs.mkdir(path.join(dir, "node_modules"), { recursive: true })
  await fs.symlink(path.join(root, "node_modules/@aws-sdk"), path.join(dir, "node_modules/@aws-sdk"))
}

/** The other commit's bundles, built by its own deploy/lambda/build.ts with its own dependencies (cwd: its worktree). */
const buildElsewhere = async (root: string, outdir: string, scratch: string): Promise<ReadonlyArray<Built>> => {
  const script = path.join(scratch, "build-against.mts")
  await fs.writeFile(
    script,
    `const { buildLambdas } = await import(process.argv[2])
const reports = await buildLambdas({ outdir: process.argv[3] })
console.log(JSON.stringify(reports.map((r) => ({ function: r.function, minifiedBytes: r.minifiedBytes, gzippedBytes: r.gzippedBytes }))))
`
  )
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", script, pathToFileURL(path.join(root, "deploy/lambda/build.ts")).href, outdir],
    { cwd: root, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }
  )
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as ReadonlyArray<Built>
}

export async function runLambdaBench(
  options: { readonly against?: { readonly label: string; readonly root: string } } = {}
): Promise<Array<LambdaBenchRow>> {
  const scope = Effect.runSync(Scope.make())
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-lambda-bench-"))
  try {
    const databaseUrl =
      process.env.DATABASE_URL ??
      Redacted.value(
        (
          await Effect.runPromise(
            Scope.provide(startEmbeddedPostgres({ dataDir: path.join(scratch, "pg"), ephemeral: true }), scope)
          )
        ).url
      )
    const builds: Array<{ readonly implementation: string; readonly taskRoot: string; readonly built: ReadonlyArray<Built> }> = []
    const ours = path.join(scratch, "ours")
    await taskRootFor(ours, ROOT)
    builds.push({ implementation: "serenya", taskRoot: ours, built: await buildLambdas({ outdir: ours }) })
    if (options.against !== undefined) {
      const other = path.join(scratch, "against")
      await taskRootFor(other, options.against.root)
      // the other commit may predate or reshape deploy/lambda/build.ts: its rows are then missing, ours still count
      try {
        builds.push({ implementation: options.against.label, taskRoot: other, built: await buildElsewhere(options.against.root, other, scratch) })
      } catch (error) {
        console.warn(`lambda: ${options.against.label}'s bundles did not build; its rows are left out:\n${String(error).slice(0, 2000)}`)
      }
    }
    const masterKey = randomBytes(32).toString("hex")
    const coldStart = async (taskRoot: string, name: LambdaFunction): Promise<number> => {
      const script = path.join(taskRoot, `start-${name}.mjs`)
      await fs.writeFile(script, coldStartScript(name))
      const { stdout } = await run(process.execPath, [script], {
        cwd: taskRoot,
        env: {
          PATH: process.env.PATH ?? "",
          APP_ENV: "local",
          DATA_DIR: path.join(scratch, "data"),
          DATABASE_URL: databaseUrl,
          LOG_LEVEL: "warning",
          AWS_REGION: "eu-west-1",
          AWS_LAMBDA_FUNCTION_NAME: name,
          // a fresh DATA_DIR races CryptoLocal against the lookup key file (see the report); a set key avoids it
          LOCAL_MASTER_KEY: masterKey
        },
        timeout: 60_000
      })
      return (JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { ms: number }).ms
    }
    const rows: Array<LambdaBenchRow> = []
    for (const report of builds[0]!.built) {
      const name = report.function
      // each build that has this function, its cold starts alternating with the others'
      const having = builds.flatMap((b) => {
        const built = b.built.find((r) => r.function === name)
        return built === undefined ? [] : [{ ...b, report: built, times: [] as Array<number> }]
      })
      // the order rotates between starts, so that no build always takes the first (coldest) start
      for (let i = 0; i < STARTS; i++) {
        for (const b of having.map((_, k) => having[(k + i) % having.length]!)) {
          if (b.implementation === "serenya") {
            b.times.push(await coldStart(b.taskRoot, name))
            continue
          }
          // the other commit may want other settings to start: NaN (reported as such) instead of losing the whole run
          b.times.push(
            await coldStart(b.taskRoot, name).catch((error: unknown) => {
              console.warn(`lambda: ${b.implementation} ${name} did not start: ${String(error).slice(0, 1000)}`)
              return Number.NaN
            })
          )
        }
      }
      for (const b of having) {
        rows.push({
          implementation: b.implementation,
          function: name,
          minifiedBytes: b.report.minifiedBytes,
          gzippedBytes: b.report.gzippedBytes,
          coldInitMs: Math.round(median(b.times))
        })
      }
    }
    return rows
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await fs.rm(scratch, { recursive: true, force: true })
  }
}

/** Ours next to the other commit, per function: sizes and cold init with "ours / ref" ratios (below 1: ours is smaller / faster). */
export const lambdaComparison = (rows: ReadonlyArray<LambdaBenchRow>) => {
  const ref = rows.find((r) => r.implementation !== "serenya")?.implementation
  if (ref === undefined) return []
  const functions = [...new Set(rows.map((r) => r.function))]
  const kib = (bytes: number | undefined) => (bytes === undefined ? Number.NaN : Number((bytes / 1024).toFixed(1)))
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? Number.NaN : Number((a / b).toFixed(2)))
  return functions.map((name) => {
    const ours = rows.find((r) => r.implementation === "serenya" && r.function === name)
    const other = rows.find((r) => r.implementation === ref && r.function === name)
    return {
      function: name,
      ref,
      "ours KiB": kib(ours?.minifiedBytes),
      "ref KiB": kib(other?.minifiedBytes),
      "ours / ref size": ratio(ours?.minifiedBytes, other?.minifiedBytes),
      "ours gzip KiB": kib(ours?.gzippedBytes),
      "ref gzip KiB": kib(other?.gzippedBytes),
      "ours cold ms": ours?.coldInitMs ?? Number.NaN,
      "ref cold ms": other?.coldInitMs ?? Number.NaN,
      "ours / ref cold init": ratio(ours?.coldInitMs, other?.coldInitMs)
    }
  })
}

const formatRows = (rows: ReadonlyArray<LambdaBenchRow>) => {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
  return [
    `function    minified     gzipped      cold init   (goals: ≤ 1024 KiB, ≤ 250 ms; median of ${STARTS}, ${process.version})`,
    ...rows.map((r) =>
      [
        `${r.function}${r.implementation === "serenya" ? "" : ` (${r.implementation})`}`.padEnd(11),
        `${kib(r.minifiedBytes)}${r.minifiedBytes > 1024 * 1024 ? " !" : ""}`.padEnd(12),
        kib(r.gzippedBytes).padEnd(12),
        `${r.coldInitMs} ms${r.coldInitMs > 250 ? " !" : ""}`
      ].join(" ")
    )
  ].join("\n")
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2]
  const rows = await runLambdaBench(root === undefined ? {} : { against: { label: `serenya@${path.basename(root).slice(0, 8)}`, root: path.resolve(root) } })
  process.stdout.write(`${formatRows(rows)}\n`)
  if (root !== undefined) console.table(lambdaComparison(rows))
}
