import { Duration, RemovalPolicy } from "aws-cdk-lib"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as logs from "aws-cdk-lib/aws-logs"
import { DEFAULT_MODEL_ID } from "../../../src/services/models.js"

export type StageName = "development" | "production"

export type FunctionName = "auth" | "documents" | "chat" | "processor" | "migrate"

export interface FunctionStageSettings {
  readonly reservedConcurrency: number
  /** 0: no provisioned concurrency (the alias still exists, so turning it on later changes nothing else). */
  readonly provisionedConcurrency: number
}

export interface StageSettings {
  readonly stage: StageName
  readonly env: { readonly account: string; readonly region: string }
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
  /**
   * X-Ray active tracing. Off: turning it on makes aws-cdk-lib add the X-Ray permissions (which
   * take no resource) as an inline policy to each role, which cdk-nag then asks to acknowledge.
   */
  readonly tracing: boolean
  readonly api: {
    readonly throttleRateLimit: number
    readonly throttleBurstLimit: number
    readonly corsAllowedOrigins: ReadonlyArray<string>
  }
  /** Requests per client IP per 5 minutes before the WAF rate rule blocks. */
  readonly wafRateLimit: number
  readonly googleClientIds: ReadonlyArray<string>
  readonly bedrockModelId: string
  readonly alarmEmail?: string
  /** LLM spend per hour that raises the cost alarm, in cents (the architecture: $1.00). */
  readonly llmCostPerHourCents: number
  readonly secretRotation: Duration
}

const account = "123456789012"
const region = "eu-west-1"

const shared = {
  env: { account, region },
  availabilityZones: ["eu-west-1a", "eu-west-1b"],
  vpcCidr: "10.0.0.0/16",
  s3PrefixListId: "pl-6da54004",
  dynamoDbPrefixListId: "pl-6fa54006",
  googleClientIds: [],
  bedrockModelId: DEFAULT_MODEL_ID,
  llmCostPerHourCents: 100,
  secretRotation: Duration.days(30),
  tracing: false
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
  functions: {
    auth: { reservedConcurrency: 5, provisionedConcurrency: 0 },
    documents: { reservedConcurrency: 5, provisionedConcurrency: 0 },
    chat: { reservedConcurrency: 5, provisionedConcurrency: 0 },
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
  functions: {
    auth: { reservedConcurrency: 50, provisionedConcurrency: 2 },
    documents: { reservedConcurrency: 50, provisionedConcurrency: 2 },
    chat: { reservedConcurrency: 50, provisionedConcurrency: 2 },
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
