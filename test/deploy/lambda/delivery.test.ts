/**
 * The account's delivery stack (deploy/lambda/infra/delivery.ts): GitHub's OIDC provider and one
 * deploy role per stage that only this repository's jobs in the stage's GitHub environment may
 * assume, for an hour, and whose one permission is sts:AssumeRole on the CDK bootstrap roles of the
 * stage's Regions. cdk-nag's AwsSolutions and HIPAA packs find nothing, with no acknowledgement.
 */
import { App, Stack } from "aws-cdk-lib"
import * as lambda from "aws-cdk-lib/aws-lambda"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Annotations, Match, Template } from "aws-cdk-lib/assertions"
import { describe, expect, it } from "vitest"
import {
  addDelivery,
  bootstrapRoleArns,
  DELIVERY_STACK_NAME,
  EDGE_REGION,
  GITHUB_REPOSITORY_CONTEXT,
  githubSubject,
  PLACEHOLDER_GITHUB_REPOSITORY,
  SerenyaDeliveryStack,
  stageRegions
} from "../../../deploy/lambda/infra/delivery.js"
import { createApp } from "../../../deploy/lambda/app.js"
import { stackPatterns } from "../../../deploy/lambda/deploy.js"
import { type StageName, stages } from "../../../deploy/lambda/infra/stages.js"
import { acknowledgements, runNag } from "./support/nag.js"

const REPOSITORY = "serenya-health/serenya-backend"
const ACCOUNT = "123456789012"

type Statement = { Effect: string; Action: string | Array<string>; Resource?: unknown; Principal?: unknown; Condition?: unknown }
type Resource = { Type: string; Properties: Record<string, unknown> }

const app = new App({ context: { [GITHUB_REPOSITORY_CONTEXT]: REPOSITORY } })
const stack = addDelivery(app)
const template = Template.fromStack(stack)
const resources = (type: string) => template.findResources(type) as Record<string, Resource>
const STAGE_NAMES = Object.keys(stages) as Array<StageName>

// Every stack of the real app (constructed, not synthesized) and its Region.
const { app: stagesApp } = createApp({
  outdir: mkdtempSync(join(tmpdir(), "serenya-delivery-")),
  code: () => lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })"),
  deploymentId: "test-deployment",
  nag: false
})
const stageStacks: Record<string, string> = Object.fromEntries(
  stagesApp.node.children.filter((child): child is Stack => Stack.isStack(child)).map((s) => [s.stackName, s.region])
)
/** The CDK CLI's stack patterns are globs over stack names: `*` is any run of characters. */
const matches = (pattern: string, name: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`).test(name)

/** The role of a stage, found by its description. */
const roleOf = (stage: StageName): [string, Resource] => {
  const found = Object.entries(resources("AWS::IAM::Role")).filter(([, role]) =>
    String(role.Properties.Description).startsWith(`Serenya ${stage}:`)
  )
  expect(found, stage).toHaveLength(1)
  return found[0]!
}

describe("the delivery stack", () => {
  it("is Serenya-delivery, in the stages' account", () => {
    expect(stack.stackName).toBe(DELIVERY_STACK_NAME)
    expect(stack.account).toBe(ACCOUNT)
    expect(stack.region).toBe("eu-west-1")
    expect(stack.githubRepository).toBe(REPOSITORY)
  })

  it("holds GitHub's OIDC provider for the STS audience, with no pinned thumbprint", () => {
    const providers = Object.values(resources("AWS::IAM::OIDCProvider"))
    expect(providers).toHaveLength(1)
    expect(providers[0]!.Properties).toEqual({
      Url: "https://token.actions.githubusercontent.com",
      ClientIdList: ["sts.amazonaws.com"],
      Tags: [{ Key: "project", Value: "serenya" }]
    })
  })

  it("has one role per stage, and no other role, user, group or inline policy", () => {
    expect(Object.keys(resources("AWS::IAM::Role"))).toHaveLength(STAGE_NAMES.length)
    for (const type of ["AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Policy", "AWS::Lambda::Function"]) {
      expect(resources(type), type).toEqual({})
    }
    for (const stage of STAGE_NAMES) roleOf(stage)
  })
})

describe.each(STAGE_NAMES)("the %s deploy role", (stage) => {
  const [logicalId, role] = roleOf(stage)
  const [providerId] = Object.keys(resources("AWS::IAM::OIDCProvider"))

  it("trusts only this repository's jobs in the stage's GitHub environment, through the provider", () => {
    const trust = role.Properties.AssumeRolePolicyDocument as { Statement: Array<Statement> }
    expect(trust.Statement).toEqual([
      {
        Effect: "Allow",
        Action: "sts:AssumeRoleWithWebIdentity",
        // Ref of an AWS::IAM::OIDCProvider is its ARN
        Principal: { Federated: { Ref: providerId } },
        Condition: {
          StringEquals: {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": `repo:${REPOSITORY}:environment:${stage}`
          }
        }
      }
    ])
    expect(githubSubject(REPOSITORY, stage)).toBe(`repo:${REPOSITORY}:environment:${stage}`)
  })

  it("lasts an hour at most", () => {
    expect(role.Properties.MaxSessionDuration).toBe(3600)
  })

  it("may only assume the deploy, file-publishing and lookup bootstrap roles in eu-west-1, eu-central-1 (recovery) and us-east-1 (edge)", () => {
    expect(role.Properties.Policies).toBeUndefined()
    expect(role.Properties.ManagedPolicyArns).toBeUndefined()
    const attached = Object.values(resources("AWS::IAM::ManagedPolicy")).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(`"${logicalId}"`)
    )
    expect(attached).toHaveLength(1)
    const policy = attached[0]!
    expect(policy.Properties.Roles).toEqual([{ Ref: logicalId }])
    expect(stages[stage].recoveryRegion).toBe("eu-central-1")
    const expected = ["eu-west-1", "eu-central-1", "us-east-1"].flatMap((region) =>
      ["deploy", "file-publishing", "lookup"].map((kind) => `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-${kind}-role-${ACCOUNT}-${region}`)
    )
    expect((policy.Properties.PolicyDocument as { Statement: Array<Statement> }).Statement).toEqual([
      { Effect: "Allow", Action: "sts:AssumeRole", Resource: expected }
    ])
    expect(bootstrapRoleArns(ACCOUNT, stageRegions(stages[stage]))).toEqual(expected)
  })

  it("covers the Regions of every stack npm run deploy deploys for the stage", () => {
    const names = Object.keys(stageStacks).filter((name) => stackPatterns(stage).some((pattern) => matches(pattern, name)))
    expect(names).toContain(`Serenya-${stage}`)
    expect(names).toContain(`Serenya-${stage}-edge`)
    expect(names).toContain(`Serenya-${stage}-dr`)
    expect(stageStacks[`Serenya-${stage}-dr`]).toBe(stages[stage].recoveryRegion)
    expect(stageStacks[`Serenya-${stage}-edge`]).toBe(EDGE_REGION)
    expect(stageRegions(stages[stage])).toEqual([stages[stage].env.region, stages[stage].recoveryRegion, EDGE_REGION])
    for (const name of names) expect(stageRegions(stages[stage]), name).toContain(stageStacks[name])
    // and no Region the stage deploys nothing to
    expect(new Set(names.map((name) => stageStacks[name]))).toEqual(new Set(stageRegions(stages[stage])))
  })

  it("is an output", () => {
    const outputs = Object.values(template.findOutputs("*") as Record<string, { Value: unknown }>)
    expect(outputs.map((output) => output.Value)).toContainEqual({ "Fn::GetAtt": [logicalId, "Arn"] })
  })
})

describe("the repository", () => {
  it("is the prop before the context", () => {
    const withProp = new SerenyaDeliveryStack(new App({ context: { [GITHUB_REPOSITORY_CONTEXT]: "other/repository" } }), "D", {
      githubRepository: "owner@1/name@2"
    })
    expect(withProp.githubRepository).toBe("owner@1/name@2")
  })

  it("falls back to a placeholder no workflow can present, and synth warns", () => {
    const placeholder = addDelivery(new App())
    expect(placeholder.githubRepository).toBe(PLACEHOLDER_GITHUB_REPOSITORY)
    // GitHub owners are letters, digits and single hyphens: no token's sub names this repository.
    expect(PLACEHOLDER_GITHUB_REPOSITORY.split("/")[0]).not.toMatch(/^[A-Za-z0-9](?:-?[A-Za-z0-9])*$/)
    expect(Annotations.fromStack(placeholder).findWarning("*", Match.stringLikeRegexp("No GitHub repository set"))).toHaveLength(1)
    expect(Annotations.fromStack(stack).findWarning("*", Match.anyValue())).toEqual([])
  })

  it.each(["*", "owner/*", "owner", "https://github.com/owner/name", "owner/name:ref:refs/heads/main"])("refuses %j", (repository) => {
    expect(() => new SerenyaDeliveryStack(new App(), "D", { githubRepository: repository })).toThrow(/owner\/name/)
  })

  it("uses an existing provider when given one, and creates none", () => {
    const arn = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`
    const existing = Template.fromStack(new SerenyaDeliveryStack(new App(), "D", { githubRepository: REPOSITORY, oidcProviderArn: arn }))
    expect(existing.findResources("AWS::IAM::OIDCProvider")).toEqual({})
    for (const role of Object.values(existing.findResources("AWS::IAM::Role") as Record<string, Resource>)) {
      const trust = role.Properties.AssumeRolePolicyDocument as { Statement: Array<Statement> }
      expect(trust.Statement[0]!.Principal).toEqual({ Federated: arn })
    }
  })

  it("is one stack per account", () => {
    const elsewhere = { ...stages.production, env: { account: "210987654321", region: "eu-west-1" } }
    expect(() => new SerenyaDeliveryStack(new App(), "D", { stages: [stages.development, elsewhere] })).toThrow(/one per account/)
  })
})

describe("cdk-nag", () => {
  it("AwsSolutions and HIPAA find nothing, and nothing is acknowledged", () => {
    const nagApp = new App({ context: { [GITHUB_REPOSITORY_CONTEXT]: REPOSITORY } })
    const delivery = addDelivery(nagApp)
    expect(runNag(delivery).findings).toEqual([])
    expect(acknowledgements(delivery)).toEqual([])
  })
})
