/**
 * The CDK app: both stages (development, production), each an API stack in eu-west-1 and its
 * CloudFront web ACL in us-east-1, checked by cdk-nag (AWS Solutions and HIPAA Security) at synth.
 * `npm run synth` writes cdk.out/ offline: accounts and regions are explicit, nothing is looked up.
 */
import { App, Validations } from "aws-cdk-lib"
import { AwsSolutionsChecks, HIPAASecurityChecks } from "cdk-nag"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { CodeFor } from "./infra/functions.js"
import { addStage, type StageStacks } from "./infra/stack.js"
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
  if (options.nag !== false) {
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app, { verbose: true }),
      new HIPAASecurityChecks(app, { verbose: true })
    )
  }
  return { app, stacks }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (invokedDirectly) {
  const { app } = createApp()
  app.synth()
}
