import { Duration, RemovalPolicy } from "aws-cdk-lib"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as logs from "aws-cdk-lib/aws-logs"
import { DEFAULT_MODEL_ID } from "../../../src/services/models.js"

export type StageName = "development" | "production"

/**
 * `stream` serves the streamed routes (Server-Sent Events) from a function URL with response
 * streaming behind CloudFront (src/main/lambda/stream.ts, edge.ts); the others sit behind API
 * Gateway (auth, documents, chat), SQS and a schedule (processor), or CloudFormation (migrate).
 */
export type FunctionName = "auth" | "documents" | "chat" | "stream" | "processor" | "migrate"

export interface FunctionStageSettings {
  readonly reservedConcurrency: number
  /** 0: no provisioned concurrency (the alias still exists, so turning it on later changes nothing else). */
  readonly provisionedConcurrency: number
}

export interface StageSettings {
  readonly stage: StageName
  readonly env: { readonly account: string; readonly region: string }
  /**
   * Where the disaster-recovery copies live (recovery.ts): the daily AWS Backup copies and RDS's
   * replicated automated backups. An EU region: the stages keep health data in the EU (their
   * Bedrock profiles are EU-only too), so the backups do as well. The architecture's us-east-1
   * would put every user's (encrypted) records in the United States.
   */
  readonly recoveryRegion: string
  /** Fixed so synth needs no availability-zone lookup. */
  readonly availabilityZones: ReadonlyArray<string>
  readonly vpcCidr: string
  readonly natGateways: number
  /**
   * The AWS-managed prefix lists of the region's S3 and DynamoDB gateway endpoints
   * (`aws ec2 describe-managed-prefix-lists`): the security groups of functions without an
   * internet route can then allow exactly those destinations, with no lookup at synth.
   */
  readonly s3PrefixListId: string
  readonly dynamoDbPrefixListId: string
  readonly database: {
    readonly instanceType: ec2.InstanceType
    readonly allocatedStorageGiB: number
    readonly maxAllocatedStorageGiB: number
    readonly multiAz: boolean
    readonly deletionProtection: boolean
    readonly removalPolicy: RemovalPolicy
    readonly name: string
    readonly username: string
    /**
     * The proxy accepts IAM authentication tokens only (and always TLS). Off: @effect/sql-pg opens
     * pooled connections with one fixed password and cannot mint a fresh IAM token per connection
     * (tokens expire after 15 minutes), so the functions authenticate with the secret's password,
     * over TLS, to the proxy.
     */
    readonly proxyIamAuth: boolean
  }
  /** Buckets, table, keys, queues, log groups: what happens to data when the stack goes away. */
  readonly dataRemovalPolicy: RemovalPolicy
  readonly logRetention: logs.RetentionDays
  readonly functions: Record<FunctionName, FunctionStageSettings>
  /** X-Ray active tracing, and the functions' spans exported to it through the ADOT collector (functions.ts). */
  readonly tracing: boolean
  readonly api: {
    readonly throttleRateLimit: number
    readonly throttleBurstLimit: number
    readonly corsAllowedOrigins: ReadonlyArray<string>
  }
  /**
   * The API's own name (`<apiHost>.<zoneName>`), so the apps never hard-code a *.cloudfront.net
   * name: an ACM certificate (in us-east-1, as CloudFront requires), validated through DNS in the
   * Route 53 zone, and alias records to the distribution. The zone id is the account's own (see
   * README, Deploying); without `domain` the stage answers on its CloudFront name only.
   */
  readonly domain?: { readonly zoneName: string; readonly hostedZoneId: string; readonly apiHost: string }
  /** Requests per client IP per 5 minutes before the WAF rate rule blocks. */
  readonly wafRateLimit: number
  readonly googleClientIds: ReadonlyArray<string>
  readonly bedrockModelId: string
  /**
   * Who the alarms reach. The address is a CloudFormation parameter of the stack (`AlarmEmail`),
   * so no address is written here: required where `emailRequired` (a production deploy without it
   * is refused by CloudFormation), optional elsewhere. A Slack channel, through AWS Chatbot, gets
   * every topic's alarms when set (the workspace must be authorised in the Chatbot console once).
   */
  readonly alerts: {
    readonly emailRequired: boolean
    readonly slack?: { readonly workspaceId: string; readonly channelId: string }
  }
  /**
   * Push notifications through SNS mobile push. The two platform applications (APNs, FCM) hold
   * the push credentials, are not CloudFormation resources and are created out of band
   * (docs/runbooks/push-notifications.md); the stack takes their ARNs as parameters
   * (`SnsPlatformApplicationArnIos`, `SnsPlatformApplicationArnAndroid`; notifications.ts), like
   * `AlarmEmail`: required where `required` (production: a deployment without them is refused),
   * optional elsewhere (none given: the functions use the local provider, which only logs).
   * `sandbox`: the iOS application may be an APNS_SANDBOX one (development builds of the app).
   */
  readonly push: {
    readonly required: boolean
    readonly sandbox: boolean
  }
  /** LLM spend per hour that raises the cost alarm, in cents (the architecture: $1.00). */
  readonly llmCostPerHourCents: number
  readonly secretRotation: Duration
}

const account = "123456789012"
/** The serenya.health hosted zone in Route 53 (`aws route53 list-hosted-zones-by-name --dns-name serenya.health`). */
const HOSTED_ZONE_ID = "Z0000000SERENYAHEALTH"
const region = "eu-west-1"

const shared = {
  env: { account, region },
  recoveryRegion: "eu-central-1",
  availabilityZones: ["eu-west-1a", "eu-west-1b"],
  vpcCidr: "10.0.0.0/16",
  s3PrefixListId: "pl-6da54004",
  dynamoDbPrefixListId: "pl-6fa54006",
  googleClientIds: [],
  bedrockModelId: DEFAULT_MODEL_ID,
  llmCostPerHourCents: 100,
  secretRotation: Duration.days(30),
  tracing: true
} as const

export const development: StageSettings = {
  ...shared,
  stage: "development",
  natGateways: 1,
  database: {
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 50,
    multiAz: false,
    deletionProtection: false,
    removalPolicy: RemovalPolicy.SNAPSHOT,
    name: "serenya",
    username: "serenya",
    // password auth over TLS: see StageSettings.database.proxyIamAuth
    proxyIamAuth: false
  },
  dataRemovalPolicy: RemovalPolicy.DESTROY,
  logRetention: logs.RetentionDays.ONE_MONTH,
  alerts: { emailRequired: false },
  push: { required: false, sandbox: true },
  domain: { zoneName: "serenya.health", hostedZoneId: HOSTED_ZONE_ID, apiHost: "api-dev" },
  functions: {
    auth: { reservedConcurrency: 5, provisionedConcurrency: 0 },
    documents: { reservedConcurrency: 5, provisionedConcurrency: 0 },
    chat: { reservedConcurrency: 5, provisionedConcurrency: 0 },
    // an open stream holds its execution environment for as long as it lasts (up to the job events' maximum)
    stream: { reservedConcurrency: 10, provisionedConcurrency: 0 },
    // two SQS mappings (the job queue and its dead letters) of at most 2 concurrent invocations each
    processor: { reservedConcurrency: 4, provisionedConcurrency: 0 },
    migrate: { reservedConcurrency: 1, provisionedConcurrency: 0 }
  },
  api: {
    throttleRateLimit: 20,
    throttleBurstLimit: 40,
    corsAllowedOrigins: ["http://localhost:3000"]
  },
  wafRateLimit: 500
}

export const production: StageSettings = {
  ...shared,
  stage: "production",
  natGateways: 2,
  database: {
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE),
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 500,
    multiAz: true,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    name: "serenya",
    username: "serenya",
    // password auth over TLS: see StageSettings.database.proxyIamAuth
    proxyIamAuth: false
  },
  dataRemovalPolicy: RemovalPolicy.RETAIN,
  logRetention: logs.RetentionDays.SIX_YEARS,
  alerts: { emailRequired: true },
  push: { required: true, sandbox: false },
  domain: { zoneName: "serenya.health", hostedZoneId: HOSTED_ZONE_ID, apiHost: "api" },
  // Provisioned concurrency 2 per API function, not the architecture's 10: a cold start measured
  // 0.36 s to import and 0.62 s to the first /health (test/deploy/lambda/build.test.ts, bench/lambda.ts),
  // and a provisioned environment loads its AWS SDKs at init (src/main/lambda/live.ts), so two warm
  // environments per function cover a quiet night's traffic and the rest scales on demand; ten would
  // keep five times the memory paid for around the clock (30 environments and 35 GB instead of 6 and 7 GB).
  // Raise it here (or schedule it with Application Auto Scaling) once traffic shows cold starts in p99.
  functions: {
    auth: { reservedConcurrency: 50, provisionedConcurrency: 2 },
    documents: { reservedConcurrency: 50, provisionedConcurrency: 2 },
    chat: { reservedConcurrency: 50, provisionedConcurrency: 2 },
    // Every open stream (a job's events while it is processed, a chat answer) is one execution
    // environment for its whole length: the cap on simultaneous streams. The chat's answers come
    // through here, so it keeps the chat function's two warm environments.
    stream: { reservedConcurrency: 100, provisionedConcurrency: 2 },
    processor: { reservedConcurrency: 10, provisionedConcurrency: 0 },
    migrate: { reservedConcurrency: 1, provisionedConcurrency: 0 }
  },
  api: {
    throttleRateLimit: 100,
    throttleBurstLimit: 200,
    corsAllowedOrigins: []
  },
  wafRateLimit: 1000
}

export const stages: Record<StageName, StageSettings> = { development, production }
