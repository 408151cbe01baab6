/**
 * Who may invoke which model, derived from the model table (src/services/models.ts): the stage's
 * model through its inference profile in the stack's Region, and the foundation model in each of
 * the profile's destination Regions — only when the call comes through that profile (the condition
 * `bedrock:InferenceProfileArn`), so no one can call the model in-region around it. The same
 * statements are the functions' identity policy and, with any principal, the Bedrock endpoint's
 * policy: the VPC's PrivateLink reaches that model and nothing else.
 */
import * as iam from "aws-cdk-lib/aws-iam"
import { findModel, invokeResources, type ModelCard, modelProblem } from "../../../src/services/models.js"

/**
 * The partition of a concrete Region, as a literal: policies then name exact ARNs (and the synth
 * tests can compare them) instead of `${AWS::Partition}` tokens.
 */
export const partitionOf = (region: string): string =>
  region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws"

/** Converse needs InvokeModel; ConverseStream needs InvokeModelWithResponseStream. */
export const BEDROCK_INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]

export interface BedrockScope {
  readonly modelId: string
  readonly partition: string
  readonly account: string
  readonly region: string
}

/** The stage's model from the table; a model the table refuses for this Region stops the synth. */
export const stageModel = (scope: BedrockScope): ModelCard => {
  const problem = modelProblem(scope.modelId, scope.region)
  const model = findModel(scope.modelId)
  if (problem !== undefined || model === undefined) {
    throw new Error(`The stage's Bedrock model ${scope.modelId} ${problem ?? "is unknown"}`)
  }
  return model
}

/** The profile's ARN and its destination Regions' foundation model ARNs (in-region: the model's ARN). */
export const bedrockInvokeArns = (scope: BedrockScope) => {
  const model = stageModel(scope)
  const [first, ...rest] = invokeResources(model, scope)
  return model.geography === "in-region"
    ? { profile: undefined, foundationModels: [first!, ...rest] }
    : { profile: first!, foundationModels: rest }
}

/** The statements allowing the stage's model and nothing else (principals added by the caller where needed). */
export const bedrockInvokeStatements = (scope: BedrockScope, principals?: ReadonlyArray<iam.IPrincipal>) => {
  const { profile, foundationModels } = bedrockInvokeArns(scope)
  const withPrincipals = principals === undefined ? {} : { principals: [...principals] }
  if (profile === undefined) {
    return [new iam.PolicyStatement({ ...withPrincipals, actions: BEDROCK_INVOKE_ACTIONS, resources: foundationModels })]
  }
  return [
    new iam.PolicyStatement({ ...withPrincipals, actions: BEDROCK_INVOKE_ACTIONS, resources: [profile] }),
    new iam.PolicyStatement({
      ...withPrincipals,
      actions: BEDROCK_INVOKE_ACTIONS,
      resources: foundationModels,
      conditions: { StringEquals: { "bedrock:InferenceProfileArn": profile } }
    })
  ]
}

/**
 * Comprehend Medical's DetectPHI: before any text goes to the model, the identifiers in it are found
 * (src/layers/deidentifier/comprehendMedical.ts), in the Bedrock Region. Wherever Bedrock may be
 * invoked, this must be allowed too, or nothing reaches the model.
 */
export const DETECT_PHI_ACTIONS = ["comprehendmedical:DetectPHI"]

/**
 * DetectPHI has no resource type (the Service Authorization Reference lists none for it), so the
 * resource can only be "*"; the statement is held to the Region the calls are made in.
 */
export const detectPhiStatement = (region: string, principals?: ReadonlyArray<iam.IPrincipal>) =>
  new iam.PolicyStatement({
    ...(principals === undefined ? {} : { principals: [...principals] }),
    actions: DETECT_PHI_ACTIONS,
    resources: ["*"],
    conditions: { StringEquals: { "aws:RequestedRegion": region } }
  })
