/**
 * `npm run deploy -- <stage> [cdk deploy options…]` (deploy/lambda/deploy.ts): which commands a
 * command line becomes, the refusals (exit 2 with the usage) and the exit code. Nothing here runs
 * the real CDK CLI, and no AWS call is made: planDeploy is pure, the command line is refused before
 * it runs anything, and `main` runs stand-ins of the CLI.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { defaultTools, main, planDeploy, stackPatterns, STAGES, type Tools, USAGE } from "../../../deploy/lambda/deploy.js"
import { DELIVERY_STACK_NAME } from "../../../deploy/lambda/infra/delivery.js"

const root = path.resolve(import.meta.dirname, "../../..")
const tools: Tools = { node: "/bin/node", cdk: "/repo/node_modules/aws-cdk/bin/cdk" }

const commandsOf = (argv: ReadonlyArray<string>) => {
  const plan = planDeploy(argv, tools)
  if (plan._tag !== "Deploy") throw new Error(`refused: ${plan.message}`)
  return plan.commands.map((c) => [c.command, ...c.args])
}
const refusal = (argv: ReadonlyArray<string>) => {
  const plan = planDeploy(argv, tools)
  return plan._tag === "Refused" ? plan.message : undefined
}

/** The CDK CLI's stack patterns are globs over stack names: `*` is any run of characters. */
const matches = (pattern: string, name: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`).test(name)

describe("planDeploy", () => {
  it("knows exactly the two stages", () => {
    expect([...STAGES]).toEqual(["development", "production"])
    expect(USAGE).toBe("usage: npm run deploy -- <development|production> [cdk deploy options…]")
  })

  it.each(STAGES)("%s: deploys the stage's stacks with the CDK CLI from node_modules (its synth builds the bundles)", (stage) => {
    expect(commandsOf([stage])).toEqual([["/bin/node", "/repo/node_modules/aws-cdk/bin/cdk", "deploy", `Serenya-${stage}`, `Serenya-${stage}-*`]])
  })

  it("passes everything after the stage to cdk deploy, in order", () => {
    expect(commandsOf(["production", "--require-approval", "never", "--parameters", "Serenya-production:Flag=1", "-c", "k=v"])[0]).toEqual([
      "/bin/node",
      "/repo/node_modules/aws-cdk/bin/cdk",
      "deploy",
      "Serenya-production",
      "Serenya-production-*",
      "--require-approval",
      "never",
      "--parameters",
      "Serenya-production:Flag=1",
      "-c",
      "k=v"
    ])
  })

  it.each([[[]], [["staging"]], [["Production"]], [["--require-approval", "never"]], [["", "development"]]])("refuses %j with the usage", (argv) => {
    const message = refusal(argv)
    expect(message).toBeDefined()
    expect(message!.split("\n").at(-1)).toBe(USAGE)
  })

  it("refuses stack selections beside the stage: --all, another stage's stack, the delivery stack", () => {
    for (const extra of [["--all"], ["Serenya-production"], ["Serenya-*"], [DELIVERY_STACK_NAME]]) {
      expect(refusal(["development", ...extra]), extra.join(" ")).toMatch(/the stage selects the stacks/)
    }
  })

  it.each(STAGES)("%s: the patterns select the stage's API and edge stacks, and neither the other stage's nor the delivery stack", (stage) => {
    const other = STAGES.find((s) => s !== stage)!
    const selected = (name: string) => stackPatterns(stage).some((pattern) => matches(pattern, name))
    expect(selected(`Serenya-${stage}`)).toBe(true)
    expect(selected(`Serenya-${stage}-edge`)).toBe(true)
    expect(selected(`Serenya-${other}`)).toBe(false)
    expect(selected(`Serenya-${other}-edge`)).toBe(false)
    expect(selected(DELIVERY_STACK_NAME)).toBe(false)
  })
})

describe("defaultTools", () => {
  it("runs the CDK CLI installed in node_modules with this node", () => {
    const found = defaultTools()
    expect(found.node).toBe(process.execPath)
    expect(found.cdk).toBe(path.join(root, "node_modules/aws-cdk/bin/cdk"))
    expect(existsSync(found.cdk)).toBe(true)
  })
})

describe("the command line", () => {
  const run = promisify(execFile)
  const deploy = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, ["--import", "tsx", "deploy/lambda/deploy.ts", ...args], { cwd: root, env: { ...process.env, ...env } }).then(
      ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr })
    )

  it("exits 2 with the usage for an unknown stage, and for none", async () => {
    for (const args of [["staging"], []]) {
      const { code, stderr } = await deploy(args)
      expect(code, args.join(" ")).toBe(2)
      expect(stderr).toContain(USAGE)
    }
  })

  it("its exit code is the CDK CLI's: a failed synth or deployment fails the script", async () => {
    // A CLI that fails as a refused deployment would, and one that succeeds.
    const dir = mkdtempSync(path.join(tmpdir(), "serenya-deploy-"))
    const failing = path.join(dir, "failing-cdk.js")
    const passing = path.join(dir, "passing-cdk.js")
    writeFileSync(failing, "process.exit(7)\n")
    writeFileSync(passing, "process.exit(0)\n")
    try {
      expect(await main(["development", "--require-approval", "never"], { node: process.execPath, cdk: failing })).toBe(7)
      expect(await main(["development"], { node: process.execPath, cdk: passing })).toBe(0)
      expect(await main(["staging"], { node: process.execPath, cdk: passing })).toBe(2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("is package.json's deploy script, and cdk.json runs the CDK app into cdk.out", () => {
    const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts
    expect(scripts.deploy).toBe("node --import tsx deploy/lambda/deploy.ts")
    expect(JSON.parse(readFileSync(path.join(root, "cdk.json"), "utf8"))).toEqual({
      app: "node --import tsx deploy/lambda/app.ts",
      output: "cdk.out"
    })
  })
})
