/**
 * Delivery: what GitHub Actions (.github/workflows/deploy.yml) needs to deploy a stage, and nothing
 * more. One stack per AWS account, `Serenya-delivery`, deployed once by an administrator
 * (`npx cdk deploy Serenya-delivery`; `npm run deploy` never touches it), holding:
 *
 * - GitHub's OpenID Connect provider (`https://token.actions.githubusercontent.com`, audience
 *   `sts.amazonaws.com`): a workflow exchanges its short-lived ID token for AWS credentials, so no
 *   access key is stored anywhere. IAM checks the issuer's certificate through its own library of
 *   trusted CAs, so no thumbprint is pinned here. An account holds one provider per URL: where
 *   GitHub's exists already, pass its ARN (`oidcProviderArn`) instead of creating a second.
 * - one role per stage, which only a workflow job of this repository running in the GitHub
 *   environment named after the stage may assume (the token's `sub` is exactly
 *   `repo:<repository>:environment:<stage>`; its `aud` exactly `sts.amazonaws.com`), for an hour at
 *   most. Its one permission is `sts:AssumeRole` on the CDK bootstrap roles that `cdk deploy` uses —
 *   deploy, file publishing and lookup, default qualifier `hnb659fds` — in the Regions the stage's
 *   stacks live in: the API's Region, the stage's recovery Region (`recoveryRegion`, the `-dr`
 *   stack's backup vault and key) and us-east-1 (CloudFront's web ACL, the `-edge` stack);
 *   test/deploy/lambda/delivery.test.ts fails if any stack `npm run deploy` deploys is elsewhere.
 *   Each of these Regions must be bootstrapped (`cdk bootstrap`). Everything else
 *   (CloudFormation, the assets bucket, the stacks' resources) happens as those roles, which
 *   `cdk bootstrap` created and which trust this account.
 *
 * The repository is `owner/name` as GitHub puts it into the token's `sub`: CDK context
 * `githubRepository` (`npx cdk deploy Serenya-delivery -c githubRepository=owner/name`) or the
 * `githubRepository` prop. Repositories that emit GitHub's immutable subject claims put the
 * numeric ids in it: `owner@<org id>/name@<repository id>`. Until it is set, the roles trust
 * PLACEHOLDER_GITHUB_REPOSITORY, which no GitHub repository can be named (an owner never contains
 * `_`), so nothing can assume them; synth warns.
 *
 * Both stages share one account today, and so one set of bootstrap roles: each stage's role can
 * reach the other stage's stacks through them. The GitHub environments (production's reviewers)
 * keep production's role to approved runs of the main branch; separating the stages in IAM too
 * takes an account (or a bootstrap qualifier) per stage.
 */
import { Annotations, type App, CfnOutput, DefaultStackSynthesizer, Duration, Stack, type StackProps, Tags } from "aws-cdk-lib"
import * as iam from "aws-cdk-lib/aws-iam"
import type { Construct } from "constructs"
import { type StageName, type StageSettings, stages as allStages } from "./stages.js"

export const DELIVERY_STACK_NAME = "Serenya-delivery"

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"

/** The CDK context key that names the GitHub repository (`owner/name`). */
export const GITHUB_REPOSITORY_CONTEXT = "githubRepository"

/**
 * Trusted until the repository is set: not a name GitHub gives any repository (owners have no
 * `_`), so no token's `sub` can match it and the roles cannot be assumed.
 */
export const PLACEHOLDER_GITHUB_REPOSITORY = "UNSET_OWNER/UNSET_REPOSITORY"

/** The `-edge` stack's Region: CloudFront's web ACL (SerenyaEdgeStack) can only be created in us-east-1. */
export const EDGE_REGION = "us-east-1"

export const BOOTSTRAP_QUALIFIER = DefaultStackSynthesizer.DEFAULT_QUALIFIER

/** The bootstrap roles `cdk deploy` assumes: deploy (CloudFormation), file publishing (assets), lookup (diff, context). */
const BOOTSTRAP_ROLE_TEMPLATES = [
  DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN
]

/** The bootstrap roles' ARNs in an account, for each Region (the synthesizer's own name templates). */
export const bootstrapRoleArns = (account: string, regions: ReadonlyArray<string>, qualifier: string = BOOTSTRAP_QUALIFIER): Array<string> =>
  regions.flatMap((region) =>
    BOOTSTRAP_ROLE_TEMPLATES.map((template) =>
      template
        .replaceAll("${AWS::Partition}", "aws")
        .replaceAll("${AWS::AccountId}", account)
        .replaceAll("${AWS::Region}", region)
        .replaceAll("${Qualifier}", qualifier)
    )
  )

/**
 * The Regions a stage's stacks are deployed to: the stage's own (the API stack), its recovery
 * Region (the `-dr` stack, stages.ts `recoveryRegion`) and us-east-1 (the `-edge` stack).
 */
export const stageRegions = (settings: StageSettings): Array<string> => [
  ...new Set([settings.env.region, settings.recoveryRegion, EDGE_REGION])
]

/** The `sub` of a token GitHub gives a job of `repository` that runs in the environment named after the stage. */
export const githubSubject = (repository: string, stage: StageName): string => `repo:${repository}:environment:${stage}`

const REPOSITORY = /^[^\s/:*?]+\/[^\s/:*?]+$/

export interface SerenyaDeliveryStackProps extends StackProps {
  /** `owner/name` (or the immutable `owner@<id>/name@<id>`); default: context `githubRepository`, else the placeholder. */
  readonly githubRepository?: string
  /** The stages that get a role; default: every stage. They must share one account. */
  readonly stages?: ReadonlyArray<StageSettings>
  /** GitHub's provider where the account has one already; default: this stack creates it. */
  readonly oidcProviderArn?: string
}

export class SerenyaDeliveryStack extends Stack {
  readonly githubRepository: string
  readonly oidcProviderArn: string
  readonly roles: Partial<Record<StageName, iam.Role>>

  constructor(scope: Construct, id: string, props: SerenyaDeliveryStackProps = {}) {
    const stages = props.stages ?? Object.values(allStages)
    const first = stages[0]
    if (first === undefined) throw new Error("SerenyaDeliveryStack: no stage to deliver")
    const account = first.env.account
    const others = stages.filter((settings) => settings.env.account !== account)
    if (others.length > 0) {
      throw new Error(`SerenyaDeliveryStack is one per account: ${others.map((s) => s.stage).join(", ")} not in ${account}`)
    }
    super(scope, id, { ...props, env: { account, region: first.env.region } })
    Tags.of(this).add("project", "serenya")

    const context: unknown = this.node.tryGetContext(GITHUB_REPOSITORY_CONTEXT)
    const repository = props.githubRepository ?? (typeof context === "string" && context !== "" ? context : PLACEHOLDER_GITHUB_REPOSITORY)
    if (!REPOSITORY.test(repository)) {
      throw new Error(`SerenyaDeliveryStack: githubRepository must be owner/name, without wildcards: ${JSON.stringify(repository)}`)
    }
    if (repository === PLACEHOLDER_GITHUB_REPOSITORY) {
      Annotations.of(this).addWarningV2(
        "serenya:delivery:githubRepository",
        `No GitHub repository set (context ${GITHUB_REPOSITORY_CONTEXT}=owner/name): the deploy roles trust ${PLACEHOLDER_GITHUB_REPOSITORY}, which no workflow can be.`
      )
    }
    this.githubRepository = repository

    this.oidcProviderArn =
      props.oidcProviderArn ??
      new iam.OidcProviderNative(this, "GitHubOidcProvider", {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIds: [GITHUB_OIDC_AUDIENCE]
      }).oidcProviderArn

    const roles: Partial<Record<StageName, iam.Role>> = {}
    for (const settings of stages) {
      const { stage } = settings
      const name = `${stage.charAt(0).toUpperCase()}${stage.slice(1)}`
      const role = new iam.Role(this, `${name}DeployRole`, {
        description: `Serenya ${stage}: GitHub Actions deploys (${repository}, environment ${stage}) through the CDK bootstrap roles`,
        assumedBy: new iam.WebIdentityPrincipal(this.oidcProviderArn, {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
            [`${GITHUB_OIDC_HOST}:sub`]: githubSubject(repository, stage)
          }
        }),
        maxSessionDuration: Duration.hours(1)
      })
      const policy = new iam.ManagedPolicy(this, `${name}DeployPolicy`, {
        description: `Serenya ${stage}: assume the CDK bootstrap roles (deploy, file publishing, lookup) of ${account}, nothing else`,
        statements: [
          new iam.PolicyStatement({
            actions: ["sts:AssumeRole"],
            resources: bootstrapRoleArns(account, stageRegions(settings))
          })
        ]
      })
      policy.attachToRole(role)
      new CfnOutput(this, `${name}DeployRoleArn`, {
        value: role.roleArn,
        description: `GitHub variable AWS_DEPLOY_ROLE_ARN of the environment ${stage}`
      })
      roles[stage] = role
    }
    this.roles = roles
  }
}

export interface DeliveryOptions {
  readonly githubRepository?: string
  readonly stages?: ReadonlyArray<StageSettings>
  readonly oidcProviderArn?: string
}

/** Adds the account's delivery stack (`Serenya-delivery`) to the app. */
export const addDelivery = (app: App, options: DeliveryOptions = {}): SerenyaDeliveryStack =>
  new SerenyaDeliveryStack(app, DELIVERY_STACK_NAME, {
    ...(options.githubRepository !== undefined ? { githubRepository: options.githubRepository } : {}),
    ...(options.stages !== undefined ? { stages: options.stages } : {}),
    ...(options.oidcProviderArn !== undefined ? { oidcProviderArn: options.oidcProviderArn } : {})
  })
