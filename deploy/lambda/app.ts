/**
 * The CDK app: both stages (development, production) — each an API stack in eu-west-1, its
 * CloudFront web ACL stack in us-east-1 and its disaster-recovery stack in its recovery region
 * (eu-central-1: the backups' copies stay in the EU) — and the
 * account's delivery stack (GitHub's OIDC provider and the deploy roles), checked by cdk-nag
 * (AWS Solutions and HIPAA Security) at synth.
 *
 * `npm run synth` and `npx cdk synth|diff|deploy` (cdk.json runs this file) build the Lambda
 * bundles first (deploy/lambda/build.ts), then synthesize cdk.out/ offline: accounts and regions
 * are explicit, nothing is looked up. A stack is never synthesized without its functions' code.
 */
import { App, Validations } from "aws-cdk-lib"
import { AwsSolutionsChecks, HIPAASecurityChecks } from "cdk-nag"
import { fileURLToPath, pathToFileURL } from "node:url"
import { type BundleReport, buildLambdas, DEFAULT_OUTDIR, formatReports } from "./build.js"
import { addDelivery } from "./infra/delivery.js"
import type { CodeFor } from "./infra/functions.js"
import { addStage, bundlesIn, type StageStacks } from "./infra/stack.js"
import { type StageName, stages } from "./infra/stages.js"

export interface CreateAppOptions {
  readonly outdir?: string
  readonly code?: CodeFor
  readonly deploymentId?: string
  /** Off only for tests that read templates and run the checks on their own. */
  readonly nag?: boolean
}

export const createApp = (options: CreateAppOptions = {}): { app: App; stacks: Record<StageName, StageStacks> } => {
  // The cdk CLI sets CDK_OUTDIR; run directly (npm run synth), the assembly goes to the repository's cdk.out/.
  const outdir = options.outdir ?? process.env.CDK_OUTDIR ?? fileURLToPath(new URL("../../cdk.out", import.meta.url))
  const app = new App({ outdir })
  const stageOptions = {
    ...(options.code !== undefined ? { code: options.code } : {}),
    ...(options.deploymentId !== undefined ? { deploymentId: options.deploymentId } : {})
  }
  const stacks = {
    development: addStage(app, stages.development, stageOptions),
    production: addStage(app, stages.production, stageOptions)
  }
  addDelivery(app)
  if (options.nag !== false) {
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app, { verbose: true }),
      new HIPAASecurityChecks(app, { verbose: true })
    )
  }
  return { app, stacks }
}

export interface SynthesizeOptions extends Omit<CreateAppOptions, "code"> {
  /** Where the bundles are built (deploy/lambda/dist by default). */
  readonly bundlesDir?: string
}

/** Builds every function's bundle, then synthesizes the app with them as the functions' code. */
export const synthesize = async (options: SynthesizeOptions = {}) => {
  const bundlesDir = options.bundlesDir ?? DEFAULT_OUTDIR
  const bundles: ReadonlyArray<BundleReport> = await buildLambdas({ outdir: bundlesDir })
  const { bundlesDir: _, ...appOptions } = options
  const { app, stacks } = createApp({ ...appOptions, code: bundlesIn(bundlesDir) })
  return { assembly: app.synth(), stacks, bundles }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (invokedDirectly) {
  const { bundles } = await synthesize()
  // stderr: the cdk CLI reads nothing from the app's output, and a pipe of `npm run synth` stays clean
  process.stderr.write(`Lambda bundles:\n${formatReports(bundles)}\n`)
}
