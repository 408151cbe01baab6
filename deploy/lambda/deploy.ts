/**
 * `npm run deploy -- <development|production> [cdk deploy options…]`: deploys that stage's stacks
 * with the CDK CLI installed in node_modules (`aws-cdk`, pinned in package.json; cdk.json at the
 * root names the app, which builds the functions' bundles before it synthesizes):
 * `Serenya-<stage>` and every `Serenya-<stage>-*` stack (the us-east-1 `-edge` stack of the web
 * ACL and the API's certificate, and the `-dr` stack of the backup copies in the recovery region).
 * Whatever follows the stage goes to `cdk deploy` as it is, e.g. `--require-approval never` in CI (.github/workflows/deploy.yml). The CLI's output goes straight to the terminal and its exit
 * code is the script's. Anything but a known stage exits 2 with the usage.
 *
 * The account-wide `Serenya-delivery` stack (GitHub's OIDC provider and the deploy roles,
 * deploy/lambda/infra/delivery.ts) is never deployed from here: an administrator deploys it once
 * per account (`npx cdk deploy Serenya-delivery`), and the roles it creates may not change it.
 */
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { constants } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { StageName } from "./infra/stages.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

// A record, so that a new stage in StageName fails to compile here until it is listed.
const KNOWN: Record<StageName, true> = { development: true, production: true }
export const STAGES = Object.keys(KNOWN) as ReadonlyArray<StageName>

export const USAGE = `usage: npm run deploy -- <${STAGES.join("|")}> [cdk deploy options…]`

export interface Command {
  readonly command: string
  readonly args: ReadonlyArray<string>
}

/** How to run the CDK CLI; `defaultTools()` finds it, tests pass their own. */
export interface Tools {
  /** The node binary that runs the CDK CLI (this process's own). */
  readonly node: string
  /** node_modules/aws-cdk/bin/cdk. */
  readonly cdk: string
}

export type DeployPlan =
  | { readonly _tag: "Deploy"; readonly stage: StageName; readonly commands: ReadonlyArray<Command> }
  | { readonly _tag: "Refused"; readonly message: string }

/** The CLI's stack patterns for one stage: the API stack, and every stack named after it (`-edge`). */
export const stackPatterns = (stage: StageName): ReadonlyArray<string> => [`Serenya-${stage}`, `Serenya-${stage}-*`]

const isStage = (value: string | undefined): value is StageName => value !== undefined && Object.hasOwn(KNOWN, value)

/**
 * The arguments after `npm run deploy --` as the commands to run, in order. The stage alone selects
 * stacks: `--all` or a stack name among the extra arguments (which would deploy another stage, or
 * the delivery stack) is refused.
 */
export const planDeploy = (argv: ReadonlyArray<string>, tools: Tools): DeployPlan => {
  const [stage, ...extra] = argv
  if (!isStage(stage)) {
    const why = stage === undefined ? "no stage given" : `unknown stage ${JSON.stringify(stage)}`
    return { _tag: "Refused", message: `${why}\n${USAGE}` }
  }
  // A bare stack name or pattern; `--parameters Serenya-…:Name=value` and `--context k=v` name none.
  const selector = extra.find((arg) => arg === "--all" || (arg.startsWith("Serenya") && !arg.includes("=")))
  if (selector !== undefined) {
    return { _tag: "Refused", message: `${JSON.stringify(selector)}: the stage selects the stacks, nothing else may\n${USAGE}` }
  }
  return {
    _tag: "Deploy",
    stage,
    // synth (the app cdk.json runs) builds the bundles first: no build step of its own here
    commands: [{ command: tools.node, args: [tools.cdk, "deploy", ...stackPatterns(stage), ...extra] }]
  }
}

export const defaultTools = (): Tools => ({
  node: process.execPath,
  cdk: createRequire(import.meta.url).resolve("aws-cdk/bin/cdk")
})

/** Runs one command in the repository's root with this terminal; resolves to its exit code. */
const run = (step: Command): Promise<number> =>
  new Promise((resolve) => {
    const child = spawn(step.command, [...step.args], { cwd: ROOT, stdio: "inherit" })
    child.on("error", (error) => {
      process.stderr.write(`deploy: could not start ${step.command}: ${error.message}\n`)
      resolve(1)
    })
    child.on("exit", (code, signal) => {
      if (code !== null) resolve(code)
      else resolve(128 + (signal !== null ? (constants.signals[signal] ?? 0) : 0))
    })
  })

export const main = async (argv: ReadonlyArray<string>, tools: Tools = defaultTools()): Promise<number> => {
  const plan = planDeploy(argv, tools)
  if (plan._tag === "Refused") {
    process.stderr.write(`${plan.message}\n`)
    return 2
  }
  for (const step of plan.commands) {
    process.stdout.write(`deploy ${plan.stage}: ${[step.command, ...step.args].join(" ")}\n`)
    const code = await run(step)
    if (code !== 0) return code
  }
  return 0
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2))
}
