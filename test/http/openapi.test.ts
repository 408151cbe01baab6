/** The OpenAPI document passes a real linter (Redocly's recommended rules) with no errors or warnings. */
import { OpenApi } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Api } from "../../src/http/api.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const REDOCLY = path.join(ROOT, "node_modules/@redocly/cli/bin/cli.js")

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number }
  readonly problems: ReadonlyArray<{ readonly ruleId: string; readonly message: string }>
}

describe("OpenAPI document", () => {
  it("passes `redocly lint` with no errors and no warnings", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serenya-openapi-"))
    try {
      const file = path.join(dir, "openapi.json")
      fs.writeFileSync(file, JSON.stringify(OpenApi.fromApi(Api), null, 2))
      let output: string
      try {
        output = execFileSync(process.execPath, [REDOCLY, "lint", file, "--format=json", `--config=${path.join(ROOT, "redocly.yaml")}`], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" }
        })
      } catch (error) {
        // Exit code 1 on findings; the report is still on stdout.
        output = String((error as { stdout?: string }).stdout ?? "")
      }
      const report = JSON.parse(output) as LintReport
      expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([])
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it("documents every endpoint group, the bearer scheme and the uniform error body", () => {
    const spec = OpenApi.fromApi(Api)
    const paths = Object.keys(spec.paths)
    for (const p of ["/auth/dev", "/documents/upload", "/jobs/{jobId}/status", "/content/timeline", "/chat/messages", "/subscriptions/status", "/me"]) {
      expect(paths).toContain(p)
    }
    expect(JSON.stringify(spec.components.securitySchemes)).toContain("bearer")
    expect(spec.components.schemas).toHaveProperty("ErrorBody")
  })
})
