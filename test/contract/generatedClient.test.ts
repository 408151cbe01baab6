/**
 * The live OpenAPI document is usable by tools we did not write: the mobile teams generate their
 * clients from /openapi.json, and this proves it with a mainstream TypeScript generator.
 *
 * The real server process is started (own DATA_DIR and embedded PostgreSQL); openapi-typescript 7
 * generates `paths` from its GET /openapi.json (with its documented recipe for file uploads:
 * `format: binary` is a Blob); the walk in ./generatedClientWalk.template.ts, written with openapi-fetch
 * against those types as a client author would (sign-in, multipart upload, job polled to completed,
 * timeline, content, a typed 401 without a token), is type-checked with the TypeScript compiler
 * (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, NodeNext) with zero diagnostics — its
 * `@ts-expect-error` lines prove the types are real, not `any` — and then runs against the server and
 * sees what the README's first walk promises.
 *
 * Generated files live in a per-run folder under test/contract/.generated/ (git-ignored, excluded
 * from tsc and ESLint), inside the repository so that the walk resolves `openapi-fetch` from its
 * node_modules; the folder is removed afterwards.
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import openapiTS, { astToString } from "openapi-typescript"
import ts from "typescript"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fixturePath } from "../support/fixtures.js"
import { startReady } from "../support/process.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const GENERATED = path.join(import.meta.dirname, ".generated")
const TEMPLATE = path.join(import.meta.dirname, "generatedClientWalk.template.ts")

/** What a TypeScript team would compile its client with (the repository's own strictness). */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2022.d.ts"],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ["node"],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  skipLibCheck: true,
  noEmit: true
}

/** openapi-typescript's documented transform for file uploads: a `format: binary` string is a Blob. */
const binaryAsBlob = (schema: { readonly format?: string }): ts.TypeNode | undefined =>
  schema.format === "binary" ? ts.factory.createTypeReferenceNode("Blob") : undefined

/** `node --import tsx <walk> <baseUrl> <pdf>`: its exit code and output. */
const runWalk = (walk: string, baseUrl: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", walk, baseUrl, fixturePath("lab-report-cbc-cmp.pdf")],
      { cwd: ROOT, timeout: 40_000 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr })
    )
  })

describe("a TypeScript client generated from the live /openapi.json (openapi-typescript + openapi-fetch)", () => {
  let server: Awaited<ReturnType<typeof startReady>> | undefined
  let baseUrl = ""
  let runDir = ""

  beforeAll(async () => {
    server = await startReady("server", {
      env: { LOG_LEVEL: "warning", WORKER_POLL_MS: "50", LOCAL_MASTER_KEY: randomBytes(32).toString("hex") }
    })
    baseUrl = `http://127.0.0.1:${server.port}`
    const document = await fetch(`${baseUrl}/openapi.json`)
    expect(document.status).toBe(200)

    await fs.mkdir(GENERATED, { recursive: true })
    runDir = await fs.mkdtemp(path.join(GENERATED, "run-"))
    const types = astToString(await openapiTS(await document.text(), { transform: binaryAsBlob, silent: true }))
    await fs.writeFile(path.join(runDir, "api.ts"), types)
    await fs.copyFile(TEMPLATE, path.join(runDir, "walk.ts"))
  }, 60_000)

  afterAll(async () => {
    if (server !== undefined) {
      server.child.kill("SIGTERM")
      expect(await server.exited).toEqual({ code: 0, signal: null })
    }
    if (runDir !== "") await fs.rm(runDir, { recursive: true, force: true })
    await fs.rmdir(GENERATED).catch(() => undefined) // only when no other run is using it
  }, 30_000)

  it("type-checks the generated types and the walk with zero diagnostics", () => {
    const program = ts.createProgram([path.join(runDir, "api.ts"), path.join(runDir, "walk.ts")], COMPILER_OPTIONS)
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
      if (diagnostic.file === undefined || diagnostic.start === undefined) return `TS${diagnostic.code}: ${message}`
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
      const source = diagnostic.file.text.split("\n")[line]?.trim() ?? ""
      return `${path.basename(diagnostic.file.fileName)}:${line + 1} TS${diagnostic.code}: ${message}\n    at: ${source}`
    })
    expect(diagnostics).toEqual([])
  }, 30_000)

  it("walks the README's first walk against the server: sign-in, upload, job, timeline, content, a 401", async () => {
    const walk = await runWalk(path.join(runDir, "walk.ts"), baseUrl)
    expect(walk.code, `${walk.stdout}${walk.stderr}`).toBe(0)
    const lines = walk.stdout.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({
      ok: true,
      jobStatus: "completed",
      timeline: { total: 1, limit: 10, items: 1, flaggedCount: 7 },
      content: { documentType: "lab_results", hemoglobin: "11.2 low" },
      withoutToken: { status: 401, code: "UNAUTHENTICATED" }
    })
  }, 40_000)
})
