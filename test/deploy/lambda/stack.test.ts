import { App, Stack } from "aws-cdk-lib"
import { Match, Template } from "aws-cdk-lib/assertions"
import * as lambda from "aws-cdk-lib/aws-lambda"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createApp } from "../../../deploy/lambda/app.js"
import { HttpApi } from "effect/http-api"
import { ROUTES } from "../../../deploy/lambda/infra/edge.js"
import { Api as Application } from "../../../src/http/api.js"
import { SIZES } from "../../../deploy/lambda/infra/functions.js"
import { FUNCTION_LAYERS, LAYER_NODE_MODULES, layerDir } from "../../../deploy/lambda/layers.js"
import { OCR_BASE_TIMEOUT, OCR_MAX_PAGES, OCR_PER_PAGE_TIMEOUT } from "../../../src/layers/llm/ocr/ocrText.js"
import { PDF_EXTRACTION_TIMEOUT } from "../../../src/layers/llm/pdfText.js"
import { addStage, bundlesIn } from "../../../deploy/lambda/infra/stack.js"
import { type FunctionName, stages } from "../../../deploy/lambda/infra/stages.js"
import { acknowledgements, runNag } from "./support/nag.js"
import { APP_ROLE } from "../../../src/layers/database/roles.js"
import { BEDROCK_INVOKE_ACTIONS, stageModel } from "../../../deploy/lambda/infra/bedrock.js"
import { ROTATION_KEY_ACTIONS } from "../../../deploy/lambda/infra/operators.js"
import { LAMBDA_DIRECT_UPLOAD_BYTES, LAMBDA_PAYLOAD_BYTES } from "../../../src/services/uploadLimits.js"
import { DEFAULT_MODEL_ID, findModel } from "../../../src/services/models.js"
import { API_GATEWAY_TIMEOUT, type TimeBudget, TimeBudgets, Timeouts } from "../../../src/services/resilience.js"
import { Duration as EffectDuration } from "effect"

// The functions' code, inline, and the layers' (the processor's OCR layer) from a directory laid out as build.ts stages one.
const layerFiles = mkdtempSync(join(tmpdir(), "serenya-layer-"))
mkdirSync(join(layerFiles, LAYER_NODE_MODULES, "placeholder"), { recursive: true })
writeFileSync(join(layerFiles, LAYER_NODE_MODULES, "placeholder/index.js"), "")
const code = Object.assign(() => lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })"), {
  layer: () => lambda.Code.fromAsset(layerFiles)
})

// One app for the templates: both stages synthesized once, every assertion reads the same templates.
// The nag packs run on it directly (runNag), so a finding fails one test, not the whole file.
const outdir = mkdtempSync(join(tmpdir(), "serenya-cdk-"))
const { app, stacks } = createApp({ outdir, code, deploymentId: "test-deployment", nag: false })
const assembly = app.synth()

const dev = Template.fromStack(stacks.development.main)
const prod = Template.fromStack(stacks.production.main)
const devEdge = Template.fromStack(stacks.development.edge)
const prodEdge = Template.fromStack(stacks.production.edge)
const both = [
  ["development", dev],
  ["production", prod]
] as const

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly DeletionPolicy?: string }
type Statement = { Effect: string; Action: string | Array<string>; Resource?: unknown; Principal?: unknown; Condition?: unknown }

// What the stages' model may reach, from the model table; the literals pin the table's EU routing.
const MODEL = findModel(DEFAULT_MODEL_ID)!
const PROFILE_ARN = `arn:aws:bedrock:eu-west-1:123456789012:inference-profile/${MODEL.id}`
const FOUNDATION_ARNS = MODEL.destinationRegions.map((region) => `arn:aws:bedrock:${region}::foundation-model/${MODEL.foundationModelId}`)
expect(MODEL.id).toBe("eu.anthropic.claude-sonnet-5-5")
expect(FOUNDATION_ARNS).toEqual(
  ["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"].map(
    (region) => `arn:aws:bedrock:${region}::foundation-model/anthropic.claude-sonnet-5-5`
  )
)

const resources = (template: Template, type: string): Record<string, Resource> => template.findResources(type) as Record<string, Resource>
const only = (template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] => {
  const found = Object.entries(template.findResources(type, { Properties: props }) as Record<string, Resource>)
  expect(found, `${type} matching ${JSON.stringify(props)}`).toHaveLength(1)
  return found[0]!
}
const asArray = <A>(value: A | Array<A> | undefined): Array<A> => (value === undefined ? [] : Array.isArray(value) ? value : [value])
const json = (value: unknown) => JSON.stringify(value)

/** The function whose description names it: "Serenya <stage>: <name>". */
const fn = (template: Template, stage: string, name: FunctionName) =>
  only(template, "AWS::Lambda::Function", { Description: `Serenya ${stage}: ${name}` })

/** The logical ids of the subnets of one subnet group (Vpc/<Group>Subnet<n>). */
const subnetsOf = (template: Template, group: string) =>
  Object.keys(resources(template, "AWS::EC2::Subnet")).filter((id) => id.includes(`Vpc${group}Subnet`))

/** The customer-managed policy attached to a function's role (Functions/<name>/Permissions). */
const permissionsOf = (template: Template, name: FunctionName): Array<Statement> => {
  const [, policy] = only(template, "AWS::IAM::ManagedPolicy", { Description: Match.stringLikeRegexp(`${name} function: its own resources`) })
  return (policy.Properties?.PolicyDocument as { Statement: Array<Statement> }).Statement
}
const actionsOf = (statements: ReadonlyArray<Statement>) => statements.flatMap((s) => asArray(s.Action))

describe("synthesis", () => {
  it("synthesizes both stages (API stack, us-east-1 web ACL stack, recovery stack) and the delivery stack, with no credentials", () => {
    const templates = readdirSync(outdir).filter((file) => file.endsWith(".template.json")).sort()
    expect(templates).toEqual([
      "Serenya-delivery.template.json",
      "Serenya-development-dr.template.json",
      "Serenya-development-edge.template.json",
      "Serenya-development.template.json",
      "Serenya-production-dr.template.json",
      "Serenya-production-edge.template.json",
      "Serenya-production.template.json"
    ])
    expect(assembly.getStackByName("Serenya-production").environment).toMatchObject({ account: "123456789012", region: "eu-west-1" })
    expect(assembly.getStackByName("Serenya-production-edge").environment.region).toBe("us-east-1")
    expect(assembly.getStackByName("Serenya-production-dr").environment.region).toBe(stages.production.recoveryRegion)
    // Nothing was looked up (no missing context): synth is offline.
    expect(assembly.manifest.missing ?? []).toEqual([])
  })

  it("refuses a function without its bundle: no stack is synthesized whose code could not serve", () => {
    const empty = mkdtempSync(join(tmpdir(), "serenya-no-bundles-"))
    expect(() => bundlesIn(empty)("auth")).toThrow(/No Lambda bundle for the auth function/)
    expect(() => createApp({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")), code: bundlesIn(empty), nag: false })).toThrow(/No Lambda bundle/)
    // every bundle, but no OCR layer staged beside them
    for (const name of ["auth", "documents", "chat", "stream", "processor", "migrate"]) {
      mkdirSync(join(empty, name))
      writeFileSync(join(empty, name, "index.mjs"), "export const handler = async () => ({})")
    }
    expect(() => bundlesIn(empty).layer?.("ocr")).toThrow(/No ocr layer/)
    expect(() => createApp({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")), code: bundlesIn(empty), nag: false })).toThrow(/No ocr layer/)
    mkdirSync(join(empty, layerDir("ocr"), LAYER_NODE_MODULES), { recursive: true })
    expect(() => createApp({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")), code: bundlesIn(empty), nag: false })).not.toThrow()
  })
})

describe("cdk-nag (AwsSolutions, HIPAA Security)", () => {
  const { findings, used } = runNag(app)
  // Only the nag packs' acknowledgements are ours; aws-cdk-lib records some of its own for its template checks.
  const acks = acknowledgements(app).filter((ack) => /^(AwsSolutions|HIPAA\.Security)-/.test(ack.id))

  it("leaves no unacknowledged finding, error or warning", () => {
    expect(findings).toEqual([])
  })

  it("gives every acknowledgement a specific reason, and uses every one of them", () => {
    expect(acks.length).toBeGreaterThan(0)
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThanOrEqual(60)
      expect(ack.id).toMatch(/^(AwsSolutions|HIPAA\.Security)-\w+(\[.+\])?$/)
      expect(ack.reason).not.toMatch(/^(ok|n\/a|todo|suppressed?)\.?$/i)
    }
    const unused = acks.filter((ack) => !used.has(`${ack.path}|${ack.id}`)).map((ack) => `${ack.path} ${ack.id}`)
    expect(unused).toEqual([])
  })

  it("never acknowledges a rule for a whole stack, and acknowledges IAM wildcards one finding at a time", () => {
    const stackPaths = new Set(Object.values(stacks).flatMap((s) => [s.main.node.path, s.edge.node.path]))
    expect(acks.filter((ack) => stackPaths.has(ack.path))).toEqual([])
    expect(acks.filter((ack) => ack.id === "AwsSolutions-IAM5")).toEqual([])
  })

  it("synthesizes the app as `npm run synth` does, with the packs as validation plugins, and no plugin fails", () => {
    const checkedOutdir = mkdtempSync(join(tmpdir(), "serenya-cdk-nag-"))
    const checked = createApp({ outdir: checkedOutdir, code, deploymentId: "test-deployment" })
    // A finding makes synth throw (CDK policy validation); the report lists every plugin's conclusion.
    expect(() => checked.app.synth()).not.toThrow()
    const report = JSON.parse(readFileSync(join(checkedOutdir, "validation-report.json"), "utf8")) as {
      pluginReports: Array<{ pluginName: string; conclusion: string }>
    }
    expect(report.pluginReports.map((plugin) => [plugin.pluginName, plugin.conclusion])).toEqual(
      expect.arrayContaining([["CloudFormation Validate", "success"]])
    )
    for (const plugin of report.pluginReports) expect(plugin.conclusion, plugin.pluginName).toBe("success")
  })
})

describe("network", () => {
  it.each(both)("%s: a VPC over two AZs with public, auth-egress, compute and data subnets", (_stage, template) => {
    template.resourceCountIs("AWS::EC2::VPC", 1)
    template.resourceCountIs("AWS::EC2::Subnet", 8)
    const azs = Object.values(resources(template, "AWS::EC2::Subnet")).map((s) => s.Properties?.AvailabilityZone)
    expect(new Set(azs)).toEqual(new Set(["eu-west-1a", "eu-west-1b"]))
    for (const group of ["Public", "AuthEgress", "Compute", "Data"]) expect(subnetsOf(template, group)).toHaveLength(2)
  })

  it("has one NAT gateway in development and one per AZ in production", () => {
    dev.resourceCountIs("AWS::EC2::NatGateway", 1)
    prod.resourceCountIs("AWS::EC2::NatGateway", 2)
  })

  it.each(both)("%s: only the auth-egress subnets route to a NAT gateway; compute and data subnets have no internet route", (_stage, template) => {
    const routes = Object.values(resources(template, "AWS::EC2::Route"))
    const natRoutes = routes.filter((route) => route.Properties?.NatGatewayId !== undefined)
    expect(natRoutes.length).toBe(2)
    for (const route of natRoutes) expect(json(route.Properties?.RouteTableId)).toMatch(/AuthEgress/)
    const isolatedRoutes = routes.filter((route) => /Compute|Data/.test(json(route.Properties?.RouteTableId)))
    expect(isolatedRoutes).toEqual([])
  })

  it.each(both)("%s: VPC flow logs of all traffic go to an encrypted CloudWatch log group", (_stage, template) => {
    template.hasResourceProperties("AWS::EC2::FlowLog", {
      ResourceType: "VPC",
      TrafficType: "ALL",
      LogDestinationType: "cloud-watch-logs"
    })
  })

  it.each(both)("%s: network ACL on the isolated subnets allows HTTPS inside the VPC", (_stage, template) => {
    template.resourceCountIs("AWS::EC2::NetworkAcl", 1)
    template.hasResourceProperties("AWS::EC2::NetworkAclEntry", {
      CidrBlock: "10.0.0.0/16",
      Egress: false,
      PortRange: { From: 443, To: 443 },
      Protocol: 6,
      RuleAction: "allow"
    })
    const associations = Object.values(resources(template, "AWS::EC2::SubnetNetworkAclAssociation"))
    expect(associations).toHaveLength(4)
    for (const association of associations) expect(json(association.Properties?.SubnetId)).toMatch(/Compute|Data/)
  })

  it.each(both)("%s: VPC endpoints for Bedrock, Comprehend Medical, KMS, Secrets Manager, SQS, SNS, CloudWatch Logs, S3 and DynamoDB", (_stage, template) => {
    for (const service of ["bedrock-runtime", "comprehendmedical", "kms", "secretsmanager", "sqs", "sns", "logs"]) {
      template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
        ServiceName: `com.amazonaws.eu-west-1.${service}`,
        VpcEndpointType: "Interface",
        PrivateDnsEnabled: true
      })
    }
    for (const service of ["s3", "dynamodb"]) {
      template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
        ServiceName: Match.objectLike({ "Fn::Join": ["", Match.arrayWith([`.${service}`])] }),
        VpcEndpointType: "Gateway"
      })
    }
  })

  it.each(both)("%s: the Bedrock endpoint policy allows exactly the model table's profile and its destination-Region models", (_stage, template) => {
    const [, endpoint] = only(template, "AWS::EC2::VPCEndpoint", { ServiceName: "com.amazonaws.eu-west-1.bedrock-runtime" })
    const statements = (endpoint.Properties?.PolicyDocument as { Statement: Array<Statement> }).Statement
    expect(statements).toEqual([
      { Effect: "Allow", Principal: { AWS: "*" }, Action: BEDROCK_INVOKE_ACTIONS, Resource: PROFILE_ARN },
      {
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: BEDROCK_INVOKE_ACTIONS,
        Resource: FOUNDATION_ARNS,
        Condition: { StringEquals: { "bedrock:InferenceProfileArn": PROFILE_ARN } }
      }
    ])
  })

  it.each(both)("%s: the auth function is alone in the NAT subnets, the others are in the isolated compute subnets", (stage, template) => {
    const subnetIds = (name: FunctionName) =>
      (fn(template, stage, name)[1].Properties?.VpcConfig as { SubnetIds: Array<{ Ref: string }> }).SubnetIds.map((s) => s.Ref).sort()
    expect(subnetIds("auth")).toEqual(subnetsOf(template, "AuthEgress").sort())
    for (const name of ["documents", "chat", "stream", "processor", "migrate"] as const) {
      expect(subnetIds(name)).toEqual(subnetsOf(template, "Compute").sort())
    }
  })

  it.each(both)("%s: only the auth function's security group may leave the VPC (HTTPS)", (stage, template) => {
    const groupOf = (name: FunctionName) => {
      const vpcConfig = fn(template, stage, name)[1].Properties?.VpcConfig as { SecurityGroupIds: Array<{ "Fn::GetAtt": [string, string] }> }
      const [group] = vpcConfig.SecurityGroupIds
      return resources(template, "AWS::EC2::SecurityGroup")[group!["Fn::GetAtt"][0]]!
    }
    const egress = (name: FunctionName) => asArray(groupOf(name).Properties?.SecurityGroupEgress as Array<Record<string, unknown>>)
    expect(egress("auth")).toContainEqual(expect.objectContaining({ CidrIp: "0.0.0.0/0", FromPort: 443, ToPort: 443 }))
    // Egress to other groups and prefix lists is written as separate resources.
    const sgEgress = Object.values(resources(template, "AWS::EC2::SecurityGroupEgress")).map((r) => r.Properties ?? {})
    expect(sgEgress.filter((rule) => rule.CidrIp !== undefined)).toEqual([])
    for (const name of ["documents", "chat", "stream", "processor", "migrate"] as const) {
      expect(egress(name), name).toEqual([])
      const group = json((fn(template, stage, name)[1].Properties?.VpcConfig as { SecurityGroupIds: Array<unknown> }).SecurityGroupIds[0])
      const destinations = sgEgress
        .filter((rule) => json(rule.GroupId) === group)
        .map((rule) => (rule.DestinationPrefixListId as string | undefined) ?? json(rule.DestinationSecurityGroupId).match(/(NetworkEndpoints|DataProxy)SecurityGroup/)?.[1])
        .sort()
      expect(destinations, name).toEqual(["DataProxy", "NetworkEndpoints", "pl-6da54004", "pl-6fa54006"])
    }
  })
})

describe("database", () => {
  it.each(both)("%s: encrypted PostgreSQL with 30-day backups, the architecture's windows and full monitoring", (_stage, template) => {
    template.hasResourceProperties("AWS::RDS::DBInstance", {
      Engine: "postgres",
      StorageEncrypted: true,
      KmsKeyId: Match.anyValue(),
      BackupRetentionPeriod: 30,
      PreferredBackupWindow: "03:00-04:00",
      PreferredMaintenanceWindow: "sun:04:00-sun:05:00",
      EnablePerformanceInsights: true,
      MonitoringInterval: 60,
      EnableCloudwatchLogsExports: ["postgresql", "upgrade"],
      EnableIAMDatabaseAuthentication: true,
      PubliclyAccessible: false
    })
  })

  it("is Multi-AZ with deletion protection and retained in production, cheaper and disposable in development", () => {
    prod.hasResource("AWS::RDS::DBInstance", {
      Properties: Match.objectLike({ MultiAZ: true, DeletionProtection: true, DBInstanceClass: "db.r6g.large" }),
      DeletionPolicy: "Retain"
    })
    dev.hasResource("AWS::RDS::DBInstance", {
      Properties: Match.objectLike({ MultiAZ: false, DeletionProtection: false, DBInstanceClass: "db.t4g.medium" }),
      DeletionPolicy: "Snapshot"
    })
  })

  // Password auth (not IAM) at the proxy: @effect/sql-pg cannot mint an IAM token per pooled connection.
  it.each(both)("%s: credentials in Secrets Manager with rotation, reached through an RDS Proxy requiring TLS", (_stage, template) => {
    template.hasResourceProperties("AWS::SecretsManager::RotationSchedule", {
      RotationRules: { ScheduleExpression: "rate(30 days)" }
    })
    template.hasResourceProperties("AWS::RDS::DBProxy", {
      EngineFamily: "POSTGRESQL",
      RequireTLS: true,
      // the owner (migrate) and the application's role, each with its own secret
      Auth: [
        Match.objectLike({ AuthScheme: "SECRETS", IAMAuth: "DISABLED" }),
        Match.objectLike({ AuthScheme: "SECRETS", IAMAuth: "DISABLED" })
      ]
    })
    template.hasResourceProperties("AWS::RDS::DBParameterGroup", { Parameters: Match.objectLike({ "rds.force_ssl": "1" }) })
  })

  // The functions connected as the RDS master user, the owner of every table, who can disable the
  // audit trail's triggers. Now only the migrate function can read the master secret.
  it.each(both)("%s: API and processor functions read only the application's database secret; the master secret is migrate's alone", (stage, template) => {
    const attachments = Object.entries(resources(template, "AWS::SecretsManager::SecretTargetAttachment"))
    const secretOf = (id: string) => json(attachments.find(([attachment]) => attachment === id)?.[1].Properties?.SecretId)
    const appIds = attachments.filter(([id]) => /AppDatabaseSecret/.test(secretOf(id))).map(([id]) => id)
    const masterIds = attachments.filter(([id]) => !/AppDatabaseSecret/.test(secretOf(id))).map(([id]) => id)
    expect(appIds).toHaveLength(1)
    expect(masterIds).toHaveLength(1)
    const [appSecret, masterSecret] = [appIds[0]!, masterIds[0]!]
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: json({ username: APP_ROLE }) })
    })
    const readable = (name: FunctionName) =>
      json(permissionsOf(template, name).filter((s) => actionsOf([s]).includes("secretsmanager:GetSecretValue")).map((s) => s.Resource))
    const variables = (name: FunctionName) => (fn(template, stage, name)[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables
    for (const name of ["auth", "documents", "chat", "stream", "processor"] as const) {
      expect(readable(name), name).toContain(appSecret)
      expect(readable(name), name).not.toContain(masterSecret)
      expect(json(variables(name).DATABASE_SECRET_ARN), name).toContain(appSecret)
      expect(json(variables(name)), name).not.toContain(masterSecret)
      expect(variables(name), name).not.toHaveProperty("DATABASE_OWNER_SECRET_ARN")
    }
    expect(readable("migrate")).toContain(appSecret)
    expect(readable("migrate")).toContain(masterSecret)
    expect(json(variables("migrate").DATABASE_OWNER_SECRET_ARN)).toContain(masterSecret)
    expect(json(variables("migrate").DATABASE_SECRET_ARN)).toContain(appSecret)
    // the proxy serves both users; both secrets rotate
    const [, proxy] = only(template, "AWS::RDS::DBProxy")
    expect(json(proxy.Properties?.Auth)).toContain(appSecret)
    expect(json(proxy.Properties?.Auth)).toContain(masterSecret)
    const rotated = Object.values(resources(template, "AWS::SecretsManager::RotationSchedule")).map((r) => json(r.Properties?.SecretId))
    expect(rotated.some((id) => id.includes(appSecret))).toBe(true)
    expect(rotated.some((id) => id.includes(masterSecret))).toBe(true)
  })

  it.each(both)("%s: database and cost table are in a daily AWS Backup plan", (_stage, template) => {
    template.hasResourceProperties("AWS::Backup::BackupPlan", {
      BackupPlan: { BackupPlanRule: [Match.objectLike({ Lifecycle: { DeleteAfterDays: 35 } })] }
    })
    template.resourceCountIs("AWS::Backup::BackupSelection", 1)
  })
})

describe("keys", () => {
  it.each(both)("%s: three customer-managed encryption keys, rotated, and the audit HMAC key, whose policies give the account administration only", (_stage, template) => {
    const keys = Object.values(resources(template, "AWS::KMS::Key"))
    expect(keys).toHaveLength(4)
    for (const key of keys) {
      // KMS rotates symmetric encryption keys only; the audit HMAC key is replaced by a new key instead.
      if (key.Properties?.KeySpec === "HMAC_256") {
        expect(key.Properties?.KeyUsage).toBe("GENERATE_VERIFY_MAC")
      } else {
        expect(key.Properties?.EnableKeyRotation).toBe(true)
      }
      const statements = (key.Properties?.KeyPolicy as { Statement: Array<Statement> }).Statement
      for (const statement of statements) expect(asArray(statement.Action)).not.toContain("kms:*")
      const admin = statements.find((s) => json(s.Principal).includes(":root"))
      expect(actionsOf([admin!])).not.toContain("kms:Decrypt")
    }
  })

  it.each(both)("%s: the fields and documents keys can be used only by the functions that need them", (stage, template) => {
    const keyWith = (description: string) => only(template, "AWS::KMS::Key", { Description: Match.stringLikeRegexp(description) })[1]
    const usersOf = (description: string) =>
      (keyWith(description).Properties?.KeyPolicy as { Statement: Array<Statement> }).Statement.filter((s) =>
        actionsOf([s]).includes("kms:Decrypt")
      ).map((s) => json(s.Principal))
    const roleOf = (name: FunctionName) => (fn(template, stage, name)[1].Properties?.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0]
    const fieldsUsers = usersOf("database fields")
    expect(fieldsUsers).toHaveLength(6)
    for (const name of ["auth", "documents", "chat", "stream", "processor", "migrate"] as const) {
      expect(fieldsUsers.some((p) => p.includes(roleOf(name)))).toBe(true)
    }
    const documentUsers = usersOf("documents \\(processing bucket")
    expect(documentUsers).toHaveLength(4)
    for (const name of ["auth", "migrate"] as const) expect(documentUsers.some((p) => p.includes(roleOf(name)))).toBe(false)
  })
})

describe("key rotation", () => {
  it.each(both)("%s: only the operator role may re-wrap (kms:ReEncryptFrom/To), on the fields and documents keys, assumed with MFA", (stage, template) => {
    const [roleId, role] = only(template, "AWS::IAM::Role", { Description: Match.stringLikeRegexp("key rotation") })
    const trust = (role.Properties?.AssumeRolePolicyDocument as { Statement: Array<Statement> }).Statement
    expect(trust).toEqual([expect.objectContaining({ Action: "sts:AssumeRole", Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } })])
    expect(role.Properties?.MaxSessionDuration).toBe(3600)

    const [, policy] = only(template, "AWS::IAM::ManagedPolicy", { Description: "What key rotation needs, and nothing else" })
    const statements = (policy.Properties?.PolicyDocument as { Statement: Array<Statement> }).Statement
    const rotation = statements.filter((s) => actionsOf([s]).includes("kms:ReEncryptFrom"))
    expect(rotation.map((s) => s.Action)).toEqual([ROTATION_KEY_ACTIONS, ROTATION_KEY_ACTIONS])
    expect(rotation.map((s) => json(s.Resource))).toEqual([expect.stringContaining("KeysFieldsKey"), expect.stringContaining("KeysDocumentsKey")])
    // S3: the documents under jobs/ only, never a delete
    const s3 = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith("s3:")))
    expect(actionsOf(s3).sort()).toEqual(["s3:GetObject", "s3:ListBucket", "s3:PutObject"])
    expect(json(s3[0]?.Resource)).toContain("/jobs/*")
    // the database as the application's user: its secret (these stages' proxy takes passwords), not the master secret
    const secrets = statements.filter((s) => actionsOf([s]).includes("secretsmanager:GetSecretValue"))
    expect(secrets).toHaveLength(1)
    expect(json(secrets[0]?.Resource)).toMatch(/DataAppDatabase/)

    // the key policies name the role for exactly these actions; no function role may ReEncrypt
    for (const description of ["database fields", "documents \\(processing bucket"]) {
      const [, key] = only(template, "AWS::KMS::Key", { Description: Match.stringLikeRegexp(description) })
      const named = (key.Properties?.KeyPolicy as { Statement: Array<Statement> }).Statement.filter((s) => json(s.Principal).includes(roleId))
      expect(named.map((s) => s.Action)).toEqual([ROTATION_KEY_ACTIONS])
    }
    for (const name of ["auth", "documents", "chat", "stream", "processor", "migrate"] as const) {
      expect(actionsOf(permissionsOf(template, name)).some((a) => a.startsWith("kms:ReEncrypt")), `${stage} ${name}`).toBe(false)
    }
  })
})

describe("storage", () => {
  it.each(both)("%s: the processing bucket is SSE-KMS (documents key), versioned, private, TLS-only, logged; originals kept, removed ones gone within a day", (_stage, template) => {
    const [documentsKeyId] = only(template, "AWS::KMS::Key", { Description: Match.stringLikeRegexp("documents \\(processing bucket") })
    const bucketId = Object.entries(resources(template, "AWS::S3::Bucket")).find(([id]) => id.includes("ProcessingBucket"))![0]
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: { "Fn::GetAtt": [documentsKeyId, "Arn"] } },
            BucketKeyEnabled: true
          }
        ]
      },
      VersioningConfiguration: { Status: "Enabled" },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: "processing-bucket/" },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ Id: "RemovedDocuments", Status: "Enabled", ExpirationInDays: Match.absent(), ExpiredObjectDeleteMarker: true, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }),
          Match.objectLike({ Id: "IncomingUploads", Prefix: "incoming/" })
        ]
      }
    })
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } })
        ])
      }
    })
  })

  it.each(both)("%s: incoming presigned uploads (incoming/) expire after a day, their noncurrent versions a day after", (_stage, template) => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      LoggingConfiguration: { LogFilePrefix: "processing-bucket/" },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: "IncomingUploads",
            Status: "Enabled",
            Prefix: "incoming/",
            ExpirationInDays: 1,
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }
          })
        ])
      }
    })
  })

  it.each(both)("%s: every bucket blocks public access and refuses plain HTTP; the log bucket is itself encrypted", (_stage, template) => {
    const buckets = resources(template, "AWS::S3::Bucket")
    expect(Object.keys(buckets)).toHaveLength(4)
    const policies = Object.values(resources(template, "AWS::S3::BucketPolicy"))
    for (const [id, bucket] of Object.entries(buckets)) {
      expect(bucket.Properties?.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true
      })
      expect(bucket.Properties?.BucketEncryption, id).toBeDefined()
      const policy = policies.find((p) => json(p.Properties?.Bucket) === json({ Ref: id }))
      expect(json(policy?.Properties?.PolicyDocument), id).toContain('"aws:SecureTransport":"false"')
    }
  })

  it.each(both)("%s: audit checkpoints: Object Lock in compliance mode for six years, kept when the stack goes", (_stage, template) => {
    const [id, bucket] = only(template, "AWS::S3::Bucket", { ObjectLockEnabled: true })
    expect(bucket.Properties?.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: "Enabled",
      Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 365 * 6 } }
    })
    expect(bucket.DeletionPolicy, id).toBe("Retain")
  })

  it.each(both)("%s: the cost table: on demand, the src key schema, TTL, the monthly-usage-index, PITR, KMS", (_stage, template) => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "userId", KeyType: "HASH" },
        { AttributeName: "timestamp", KeyType: "RANGE" }
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: "userId", AttributeType: "S" },
        { AttributeName: "timestamp", AttributeType: "N" },
        { AttributeName: "month", AttributeType: "S" }
      ]),
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: Match.anyValue() },
      GlobalSecondaryIndexes: [
        {
          IndexName: "monthly-usage-index",
          KeySchema: [
            { AttributeName: "userId", KeyType: "HASH" },
            { AttributeName: "month", KeyType: "RANGE" }
          ],
          Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["inputTokens", "outputTokens", "totalCost"] }
        }
      ]
    })
  })

  it.each(both)("%s: the job queue: KMS, TLS only, visibility ≥ 6× the processor timeout, dead-letter after 5 receives", (_stage, template) => {
    const [, queue] = only(template, "AWS::SQS::Queue", { RedrivePolicy: Match.anyValue() })
    expect(queue.Properties?.KmsMasterKeyId).toBeDefined()
    expect(queue.Properties?.VisibilityTimeout).toBeGreaterThanOrEqual(6 * SIZES.processor.timeout.toSeconds())
    expect((queue.Properties?.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount).toBe(5)
    for (const [id, each] of Object.entries(resources(template, "AWS::SQS::Queue"))) {
      expect(each.Properties?.KmsMasterKeyId, id).toBeDefined()
    }
    for (const policy of Object.values(resources(template, "AWS::SQS::QueuePolicy"))) {
      expect(json(policy.Properties?.PolicyDocument)).toContain('"aws:SecureTransport":"false"')
    }
    // the job queue, its dead letters, and each of the six functions' asynchronous dead letters
    template.resourceCountIs("AWS::SQS::QueuePolicy", 8)
  })

  it("retains data in production and lets development go", () => {
    for (const type of ["AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::S3::Bucket"]) {
      for (const [id, resource] of Object.entries(resources(prod, type))) expect(resource.DeletionPolicy, id).toBe("Retain")
    }
    for (const [id, resource] of Object.entries(resources(dev, "AWS::DynamoDB::Table"))) expect(resource.DeletionPolicy, id).toBe("Delete")
    prod.hasResourceProperties("AWS::DynamoDB::Table", { DeletionProtectionEnabled: true })
  })
})

describe("functions", () => {
  it.each(both)("%s: six functions on nodejs22.x with the architecture's sizes, in the VPC, each with an encrypted async DLQ", (stage, template) => {
    // the six, and aws-cdk-lib's: the migration provider's framework, the default-security-group restrictor, the cross-region export reader
    template.resourceCountIs("AWS::Lambda::Function", 9)
    for (const name of ["auth", "documents", "chat", "stream", "processor", "migrate"] as const) {
      const [, resource] = fn(template, stage, name)
      expect(resource.Properties).toMatchObject({
        Runtime: "nodejs22.x",
        Handler: "index.handler",
        MemorySize: SIZES[name].memoryMiB,
        Timeout: SIZES[name].timeout.toSeconds(),
        ReservedConcurrentExecutions: stages[stage].functions[name].reservedConcurrency,
        DeadLetterConfig: { TargetArn: { "Fn::GetAtt": [expect.stringMatching(new RegExp(`Functions${name}AsyncDeadLetters`)), "Arn"] } },
        VpcConfig: { SubnetIds: expect.any(Array), SecurityGroupIds: expect.any(Array) }
      })
    }
    const sizes = Object.fromEntries(
      (["auth", "documents", "chat"] as const).map((name) => [name, fn(template, stage, name)[1].Properties?.MemorySize])
    )
    expect(sizes).toEqual({ auth: 512, documents: 2048, chat: 1024 })
  })

  it.each(both)("%s: the processor alone takes the OCR layer (nodejs22.x, arm64), beside the ADOT collector's", (stage, template) => {
    expect(FUNCTION_LAYERS).toEqual({ processor: ["ocr"] })
    const [layerId, layer] = only(template, "AWS::Lambda::LayerVersion")
    expect(layer.Properties).toMatchObject({
      CompatibleRuntimes: ["nodejs22.x"],
      CompatibleArchitectures: ["arm64"],
      Description: expect.stringMatching(new RegExp(`^Serenya ${stage}: OCR .*tesseract\\.js`)),
      LicenseInfo: "Apache-2.0 AND MIT",
      Content: { S3Bucket: expect.anything(), S3Key: expect.stringMatching(/\.zip$/) }
    })
    for (const name of ["auth", "documents", "chat", "stream", "processor", "migrate"] as const) {
      const layers = asArray(fn(template, stage, name)[1].Properties?.Layers as Array<unknown> | undefined)
      expect(layers.some((l) => json(l) === json({ Ref: layerId })), name).toBe(name === "processor")
      expect(layers.filter((l) => typeof l === "string" && /aws-otel-collector/.test(l)), name).toHaveLength(1)
    }
  })

  it("the processor's memory holds the offline provider's OCR (one document at a time), as measured", () => {
    // peak RSS of the bundle reading one image: 0.46 GB (a 300-dpi letter scan) to 1.32 GB (a ~40 MP JPEG); see SIZES
    expect(SIZES.processor.memoryMiB).toBe(2048)
  })

  it.each(both)("%s: functions get the configuration names of src/config.ts and secret ARNs, never secret values", (stage, template) => {
    const variables = (fn(template, stage, "documents")[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables
    for (const name of [
      "APP_ENV",
      "DATABASE_SECRET_ARN",
      "DATABASE_HOST",
      "KEY_PROVIDER",
      "KMS_FIELDS_KEY_ID",
      "KMS_DOCUMENTS_KEY_ID",
      "STORAGE_PROVIDER",
      "S3_BUCKET",
      "LLM_PROVIDER",
      "BEDROCK_MODEL_ID",
      "COST_TRACKER",
      "COST_TRACKING_TABLE",
      "JOB_QUEUE",
      "JOB_QUEUE_URL",
      "GOOGLE_CLIENT_IDS",
      "JWT_SECRET_ARN",
      "USER_LOOKUP_KEY_SECRET_ARN"
    ]) {
      expect(variables, name).toHaveProperty(name)
    }
    expect(variables).toMatchObject({ KEY_PROVIDER: "kms", STORAGE_PROVIDER: "s3", LLM_PROVIDER: "bedrock", COST_TRACKER: "dynamodb", JOB_QUEUE: "sqs" })
    expect(variables.APP_ENV).toBe(stage === "production" ? "production" : "local")
    expect(json(variables.DATABASE_HOST)).toMatch(/DataProxy.*Endpoint/)
    expect(variables).not.toHaveProperty("JWT_PRIVATE_KEY")
    expect(variables).not.toHaveProperty("USER_LOOKUP_KEY")
    expect(variables).not.toHaveProperty("DATABASE_URL")
    // nothing reads it: the functions authenticate to the proxy with the secret's password
    expect(variables).not.toHaveProperty("DATABASE_IAM_AUTH")
  })

  it("provisioned concurrency per stage, on the live alias", () => {
    expect(Object.values(resources(dev, "AWS::Lambda::Alias")).filter((a) => a.Properties?.ProvisionedConcurrencyConfig)).toEqual([])
    for (const name of ["auth", "documents", "chat", "stream"] as const) {
      prod.hasResourceProperties("AWS::Lambda::Alias", {
        Name: "live",
        FunctionName: { Ref: Match.stringLikeRegexp(`Functions${name}Function`) },
        ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: stages.production.functions[name].provisionedConcurrency }
      })
    }
  })

  it.each(both)("%s: the processor consumes the job queue and reports batch item failures", (_stage, template) => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("DataJobQueue"), "Arn"] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: 1
    })
    const [, mapping] = only(template, "AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("DataJobQueue[0-9A-F]"), "Arn"] }
    })
    expect(json(mapping.Properties?.FunctionName)).toContain("FunctionsprocessorLive")
  })

  it.each(both)("%s: the processor also consumes the job dead-letter queue, told its ARN, and fails those jobs", (stage, template) => {
    const [, mapping] = only(template, "AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("DataJobDeadLetterQueue"), "Arn"] }
    })
    expect(mapping.Properties).toMatchObject({ FunctionResponseTypes: ["ReportBatchItemFailures"], BatchSize: 1 })
    expect(json(mapping.Properties?.FunctionName)).toContain("FunctionsprocessorLive")
    expect(Object.keys(template.findResources("AWS::Lambda::EventSourceMapping"))).toHaveLength(2)

    const variablesOf = (name: FunctionName) =>
      (fn(template, stage, name)[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables
    expect(json(variablesOf("processor").JOB_DLQ_ARN)).toMatch(/DataJobDeadLetterQueue.*Arn/)
    for (const name of ["auth", "documents", "chat", "migrate"] as const) expect(variablesOf(name)).not.toHaveProperty("JOB_DLQ_ARN")

    // Lambda refuses a mapping on a queue whose visibility timeout is shorter than the function's timeout
    const [, queue] = only(template, "AWS::SQS::Queue", { VisibilityTimeout: Match.anyValue(), RedrivePolicy: Match.absent() })
    expect(queue.Properties?.VisibilityTimeout).toBeGreaterThanOrEqual(SIZES.processor.timeout.toSeconds())

    // consuming the dead letters is the processor's alone, and only from that queue
    const consumers = (["auth", "documents", "chat", "processor", "migrate"] as const).filter((name) =>
      permissionsOf(template, name).some(
        (s) => actionsOf([s]).includes("sqs:ReceiveMessage") && json(s.Resource).includes("DataJobDeadLetterQueue")
      )
    )
    expect(consumers).toEqual(["processor"])
    const receive = permissionsOf(template, "processor").filter((s) => actionsOf([s]).includes("sqs:ReceiveMessage"))
    for (const s of receive) expect(json(s.Resource)).toMatch(/^\[?\{"Fn::GetAtt":\["DataJob(Queue|DeadLetterQueue)[0-9A-F]+","Arn"\]\}\]?$/)
  })

  it.each(both)("%s: migrations run through a custom resource on each deployment, before the API versions go live", (_stage, template) => {
    const [id] = only(template, "Custom::SerenyaMigration", { DeploymentId: "test-deployment" })
    const aliases = Object.entries(template.findResources("AWS::Lambda::Alias") as Record<string, { DependsOn?: Array<string> }>)
    for (const name of ["auth", "documents", "chat", "stream", "processor"]) {
      const [, alias] = aliases.find(([aliasId]) => aliasId.startsWith(`Functions${name}Live`))!
      expect(alias.DependsOn ?? []).toContain(id)
    }
  })
})

describe("IAM", () => {
  it.each(both)("%s: one role per function; no data action on Resource \"*\" anywhere", (_stage, template) => {
    const lambdaRoles = Object.values(resources(template, "AWS::IAM::Role")).filter((role) =>
      json(role.Properties?.AssumeRolePolicyDocument).includes("lambda.amazonaws.com")
    )
    expect(lambdaRoles.length).toBeGreaterThanOrEqual(6)
    const policies = [
      ...Object.values(resources(template, "AWS::IAM::Policy")),
      ...Object.values(resources(template, "AWS::IAM::ManagedPolicy")),
      ...lambdaRoles
    ].flatMap((p) => [
      ...asArray((p.Properties?.PolicyDocument as { Statement?: Array<Statement> } | undefined)?.Statement),
      ...asArray(p.Properties?.Policies as Array<{ PolicyDocument: { Statement: Array<Statement> } }>).flatMap((i) => i.PolicyDocument.Statement)
    ])
    const dataActions = /^(bedrock|s3|dynamodb|kms|sqs|secretsmanager|rds-db):/
    const wide = policies.filter((s) => actionsOf([s]).some((a) => dataActions.test(a)) && asArray(s.Resource).includes("*"))
    expect(wide).toEqual([])
  })

  it.each(both)("%s: each function may do only what it needs", (_stage, template) => {
    const has = (name: FunctionName, prefix: string) =>
      permissionsOf(template, name).some(
        (s) =>
          actionsOf([s]).some((a) => a.startsWith(prefix)) &&
          // S3 here means the documents; the audit checkpoints are checked below
          (prefix !== "s3:" || json(s.Resource).includes("DataProcessingBucket"))
      )
    const rules = ["bedrock:", "s3:", "dynamodb:", "sqs:SendMessage", "sqs:ReceiveMessage"]
    expect({
      auth: rules.map((p) => has("auth", p)),
      documents: rules.map((p) => has("documents", p)),
      chat: rules.map((p) => has("chat", p)),
      stream: rules.map((p) => has("stream", p)),
      processor: rules.map((p) => has("processor", p)),
      migrate: rules.map((p) => has("migrate", p))
    }).toEqual({
      // sqs:SendMessage is every function's own dead-letter queue; the job queue's is the documents function's only
      auth: [false, false, false, true, false],
      documents: [false, true, true, true, false],
      chat: [true, false, true, true, false],
      stream: [true, false, true, true, false],
      processor: [true, true, true, true, true],
      migrate: [false, false, false, true, false]
    })
    // Every function that records audit events MACs them and may seal: the audit key's GenerateMac
    // only, and put/get/list of checkpoints — never a delete of one, nor a bypass of its lock.
    const auditors = (["auth", "documents", "chat", "stream", "processor", "migrate"] as const).filter((name) =>
      actionsOf(permissionsOf(template, name)).includes("kms:GenerateMac")
    )
    expect(auditors).toEqual(["auth", "documents", "chat", "stream", "processor"])
    for (const name of auditors) {
      const checkpoints = permissionsOf(template, name).filter((s) => json(s.Resource).includes("DataAuditCheckpoints"))
      expect(actionsOf(checkpoints).sort()).toEqual(["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:PutObjectRetention"])
    }
    const jobQueueSenders = (["auth", "documents", "chat", "stream", "processor", "migrate"] as const).filter((name) =>
      permissionsOf(template, name).some((s) => actionsOf([s]).includes("sqs:SendMessage") && json(s.Resource).includes("DataJobQueue"))
    )
    expect(jobQueueSenders).toEqual(["documents"])
  })

  it.each(both)("%s: Bedrock only for the table's profile and its destination-Region models, S3 only the bucket, DynamoDB only the table", (_stage, template) => {
    const statements = [...permissionsOf(template, "processor"), ...permissionsOf(template, "chat"), ...permissionsOf(template, "stream")]
    for (const name of ["processor", "chat", "stream"] as const) {
      const bedrock = permissionsOf(template, name).filter((s) => actionsOf([s]).some((a) => a.startsWith("bedrock:")))
      expect(bedrock.map((s) => ({ Action: s.Action, Resource: s.Resource, Condition: s.Condition }))).toEqual([
        { Action: BEDROCK_INVOKE_ACTIONS, Resource: PROFILE_ARN, Condition: undefined },
        { Action: BEDROCK_INVOKE_ACTIONS, Resource: FOUNDATION_ARNS, Condition: { StringEquals: { "bedrock:InferenceProfileArn": PROFILE_ARN } } }
      ])
    }
    for (const name of ["auth", "documents", "migrate"] as const) {
      expect(permissionsOf(template, name).filter((s) => actionsOf([s]).some((a) => a.startsWith("bedrock:")))).toEqual([])
    }
    for (const s of statements.filter((s) => actionsOf([s]).some((a) => a.startsWith("s3:")))) {
      // the documents bucket, or the audit checkpoints (their prefix only, or the bucket for ListBucket)
      const resource = json(s.Resource)
      expect(resource.includes("DataProcessingBucket") || (resource.includes("DataAuditCheckpoints") && !resource.includes("DataProcessingBucket"))).toBe(true)
      if (resource.includes("DataAuditCheckpoints") && actionsOf([s]).includes("s3:PutObject")) expect(resource).toContain("/audit-checkpoints/*")
    }
    for (const s of statements.filter((s) => actionsOf([s]).some((a) => a.startsWith("dynamodb:")))) {
      expect(json(s.Resource)).toMatch(/DataCostTracking/)
      // reads and writes may use the index; deletes (erasure) only the table
      if (actionsOf([s]).includes("dynamodb:Query")) expect(json(s.Resource)).toContain("/index/monthly-usage-index")
      else expect(json(s.Resource)).not.toContain("/index/")
    }
    for (const s of statements) expect(actionsOf([s]).every((a) => !a.endsWith("*") && a !== "*")).toBe(true)
  })

  it.each(both)("%s: the functions that erase (documents, processor) may delete every object version and the user's cost records; no other may", (_stage, template) => {
    const erasing = ["s3:DeleteObjectVersion", "s3:ListBucketVersions", "dynamodb:BatchWriteItem"]
    for (const name of ["documents", "processor"] as const) {
      expect(actionsOf(permissionsOf(template, name)), name).toEqual(expect.arrayContaining(erasing))
    }
    for (const name of ["auth", "chat", "stream", "migrate"] as const) {
      expect(actionsOf(permissionsOf(template, name)).filter((a) => erasing.includes(a)), name).toEqual([])
    }
    const versions = permissionsOf(template, "processor").find((s) => actionsOf([s]).includes("s3:DeleteObjectVersion"))
    expect(json(versions?.Resource)).toMatch(/DataProcessingBucket.*\/\*/)
  })

  it.each(both)("%s: documents, which signs presigned POSTs, may put, get and delete under incoming/ of the processing bucket: exactly those, nothing wider", (_stage, template) => {
    const incoming = permissionsOf(template, "documents").filter((s) => json(s.Resource).includes("/incoming/*"))
    expect(incoming).toHaveLength(1)
    expect([...actionsOf(incoming)].sort()).toEqual(["s3:DeleteObject", "s3:GetObject", "s3:PutObject"])
    expect(json(incoming[0]?.Resource)).toMatch(/DataProcessingBucket[^"]*".*"Arn"\]\},"\/incoming\/\*"/)
    // the upload's SSE-KMS key: documents may generate data keys with the documents key
    expect(actionsOf(permissionsOf(template, "documents"))).toEqual(expect.arrayContaining(["kms:GenerateDataKey"]))
    for (const name of ["auth", "chat", "migrate"] as const) {
      expect(permissionsOf(template, name).filter((s) => json(s.Resource).includes("/incoming/")), name).toEqual([])
    }
  })

  it.each(both)("%s: a schedule invokes the processor's live alias every 5 minutes (sweep and erasure outbox)", (_stage, template) => {
    const [, rule] = only(template, "AWS::Events::Rule", { ScheduleExpression: "rate(5 minutes)" })
    const [target] = rule.Properties?.Targets as Array<{ Arn: unknown }>
    expect(json(target?.Arn)).toMatch(/FunctionsprocessorLive/)
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      SourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("ProcessorHousekeeping"), "Arn"] }
    })
  })
})

describe("API and edge", () => {
  it.each(both)("%s: an HTTP API whose routes are the application's, integrated (payload 2.0) with the functions' live aliases", (_stage, template) => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" })
    const keys = Object.values(resources(template, "AWS::ApiGatewayV2::Route")).map((r) => r.Properties?.RouteKey).sort()
    const expected = ROUTES.filter((r) => r.localOnly !== true).map((r) => `${r.method} ${r.path}`)
    expect(keys).toEqual(expected.sort())
    for (const integration of Object.values(resources(template, "AWS::ApiGatewayV2::Integration"))) {
      expect(integration.Properties).toMatchObject({ IntegrationType: "AWS_PROXY", PayloadFormatVersion: "2.0" })
      expect(json(integration.Properties?.IntegrationUri)).toMatch(/Functions(auth|documents|chat)Live/)
    }
  })

  it("routes every endpoint of src/http/api.ts, read from the API definition, to the function of its group", () => {
    const routed = new Map(ROUTES.map((r) => [`${r.method} ${r.path}`, r.target]))
    const endpoints: Array<string> = []
    HttpApi.reflect(Application, {
      onGroup: () => {},
      onEndpoint: ({ endpoint }) => endpoints.push(`${endpoint.method} ${endpoint.path.replace(/:(\w+)/g, "{$1}")}`)
    })
    expect([...routed.keys()].sort()).toEqual(endpoints.sort())
    expect(routed.get("POST /auth/google")).toBe("auth")
    expect(routed.get("GET /content/timeline")).toBe("documents")
    expect(routed.get("GET /jobs/{jobId}/status")).toBe("documents")
    expect(routed.get("POST /chat/messages")).toBe("chat")
    expect(routed.get("GET /health")).toBe("documents")
    expect(ROUTES.filter((r) => r.localOnly === true).map((r) => `${r.method} ${r.path}`)).toEqual(["POST /auth/dev"])
  })

  it.each(both)("%s: exposes no POST /auth/dev and runs every function with the dev sign-in off", (_stage, template) => {
    const routeKeys = Object.values(resources(template, "AWS::ApiGatewayV2::Route")).map((r) => r.Properties?.RouteKey)
    expect(routeKeys).toContain("POST /auth/google")
    expect(routeKeys).not.toContain("POST /auth/dev")
    const functions = Object.values(resources(template, "AWS::Lambda::Function"))
      .map((f) => (f.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables)
      .filter((variables) => variables?.["APP_ENV"] !== undefined)
    expect(functions.length).toBeGreaterThanOrEqual(4)
    for (const variables of functions) expect(variables?.["DEV_AUTH_ENABLED"]).toBe("false")
  })

  it.each(both)("%s: the stage throttles and writes JSON access logs to a log group with retention", (stage, template) => {
    const [, apiStage] = only(template, "AWS::ApiGatewayV2::Stage", { StageName: "$default" })
    expect(apiStage.Properties?.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: stages[stage].api.throttleRateLimit,
      ThrottlingBurstLimit: stages[stage].api.throttleBurstLimit
    })
    const access = apiStage.Properties?.AccessLogSettings as { DestinationArn: unknown; Format: string }
    expect(JSON.parse(access.Format)).toMatchObject({ requestId: "$context.requestId", status: "$context.status" })
    const logGroupId = (access.DestinationArn as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0]
    expect(resources(template, "AWS::Logs::LogGroup")[logGroupId]?.Properties?.RetentionInDays).toBeGreaterThan(0)
  })

  it("configures CORS where the stage has browser origins", () => {
    dev.hasResourceProperties("AWS::ApiGatewayV2::Api", {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ["http://localhost:3000"] })
    })
    prod.hasResourceProperties("AWS::ApiGatewayV2::Api", { CorsConfiguration: Match.absent() })
  })

  it.each(both)("%s: CloudFront serves the API over HTTPS with the web ACL, no caching and access logs", (_stage, template) => {
    // the second origin is the stream function's URL (streaming.test.ts)
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        WebACLId: Match.anyValue(),
        Logging: Match.objectLike({ Prefix: "cloudfront/" }),
        Origins: Match.arrayWith([
          Match.objectLike({
            DomainName: { "Fn::Join": ["", Match.arrayWith([{ Ref: Match.stringLikeRegexp("ApiHttpApi") }, ".execute-api.eu-west-1."])] },
            CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: "https-only", OriginSSLProtocols: ["TLSv1.2"] })
          })
        ]),
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: "https-only" })
      })
    })
  })

  it.each([
    ["development", devEdge, 500],
    ["production", prodEdge, 1000]
  ] as const)("%s: the WAF web ACL (us-east-1, CLOUDFRONT) has the managed rule groups and a rate rule", (_stage, template, limit) => {
    template.hasResourceProperties("AWS::WAFv2::WebACL", {
      Scope: "CLOUDFRONT",
      DefaultAction: { Allow: {} },
      Rules: Match.arrayWith([
        Match.objectLike({ Name: "RateLimitPerIp", Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: limit, AggregateKeyType: "IP" } } })
      ])
    })
    const [, acl] = only(template, "AWS::WAFv2::WebACL")
    const groups = (acl.Properties?.Rules as Array<{ Statement: { ManagedRuleGroupStatement?: { Name: string; VendorName: string } } }>)
      .map((rule) => rule.Statement.ManagedRuleGroupStatement?.Name)
      .filter(Boolean)
      .sort()
    expect(groups).toEqual([
      "AWSManagedRulesAmazonIpReputationList",
      "AWSManagedRulesCommonRuleSet",
      "AWSManagedRulesKnownBadInputsRuleSet",
      "AWSManagedRulesSQLiRuleSet"
    ])
    template.resourceCountIs("AWS::WAFv2::LoggingConfiguration", 1)
    template.hasResourceProperties("AWS::Logs::LogGroup", { LogGroupName: Match.stringLikeRegexp("^aws-waf-logs-"), KmsKeyId: Match.anyValue() })
  })
})

describe("audit and monitoring", () => {
  it.each(both)("%s: CloudTrail with log-file validation, KMS, and data events on the processing bucket", (_stage, template) => {
    template.hasResourceProperties("AWS::CloudTrail::Trail", {
      EnableLogFileValidation: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      KMSKeyId: Match.anyValue(),
      CloudWatchLogsLogGroupArn: Match.anyValue(),
      // KMS Encrypt/Decrypt/GenerateDataKey are (read) management events: none may be excluded.
      AdvancedEventSelectors: Match.absent(),
      EventSelectors: Match.arrayWith([
        { IncludeManagementEvents: true, ReadWriteType: "All" },
        Match.objectLike({
          ReadWriteType: "All",
          DataResources: [
            {
              Type: "AWS::S3::Object",
              Values: [{ "Fn::Join": ["", [{ "Fn::GetAtt": [Match.stringLikeRegexp("DataProcessingBucket"), "Arn"] }, "/"]] }]
            }
          ]
        })
      ])
    })
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: "aws:kms" }) })] },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: "trail-bucket/" })
    })
  })

  it.each(both)("%s: the dashboard has the architecture's widgets", (_stage, template) => {
    const [, dashboard] = only(template, "AWS::CloudWatch::Dashboard")
    const body = json(dashboard.Properties?.DashboardBody)
    for (const title of [
      "Lambda Function Duration",
      "API Gateway Performance & Errors",
      "Database Performance",
      "LLM Usage & Cost Tracking",
      "Document Processing S3 Metrics",
      "Error Handling & Recovery Metrics",
      "Concurrency & Queues"
    ]) {
      expect(body).toContain(title)
    }
    for (const metric of ["InputTokens", "OutputTokens", "TotalCost", "ProcessingTime", "ErrorsByCategory", "CircuitBreakerState", "DatabaseConnections"]) {
      expect(body).toContain(metric)
    }
  })

  it.each(both)("%s: every log group is encrypted with the platform key and has a retention", (_stage, template) => {
    for (const [id, group] of Object.entries(resources(template, "AWS::Logs::LogGroup"))) {
      expect(group.Properties?.KmsKeyId, id).toBeDefined()
      expect(group.Properties?.RetentionInDays, id).toBeGreaterThan(0)
    }
  })
})

describe("stage settings", () => {
  it("differ where the issue asks: Multi-AZ, deletion protection, NATs, retention, provisioned concurrency", () => {
    expect(stages.production.database.multiAz).toBe(true)
    expect(stages.development.database.multiAz).toBe(false)
    expect(Stack.of(stacks.production.main).region).toBe("eu-west-1")
    expect(resources(prod, "AWS::Logs::LogGroup")).not.toEqual({})
    const retention = (template: Template) =>
      new Set(Object.values(resources(template, "AWS::Logs::LogGroup")).map((g) => g.Properties?.RetentionInDays))
    expect(retention(dev)).toEqual(new Set([30]))
    expect(retention(prod)).toEqual(new Set([2192]))
  })
})

describe("the stage's Bedrock model", () => {
  const scope = { partition: "aws", account: "123456789012", region: "eu-west-1" }
  it("comes from the model table: an unknown, retired, wrongly placed or non-EU model stops the synth", () => {
    expect(stageModel({ ...scope, modelId: DEFAULT_MODEL_ID }).id).toBe(DEFAULT_MODEL_ID)
    expect(() => stageModel({ ...scope, modelId: "anthropic.claude-3-5-sonnet-20241022-v2:0" })).toThrow(/no longer serves.*2026-03-01/)
    expect(() => stageModel({ ...scope, modelId: "global.anthropic.claude-sonnet-5-5" })).toThrow(/not a model Serenya knows/)
    expect(() => stageModel({ ...scope, modelId: "us.anthropic.claude-sonnet-5-5" })).toThrow(/not a model Serenya knows/)
    expect(() => stageModel({ ...scope, region: "eu-west-2", modelId: DEFAULT_MODEL_ID })).toThrow(/cannot be called from eu-west-2/)
  })
})

describe("time budgets: every function outlives the deadlines inside it", () => {
  const secondsOf = (d: EffectDuration.Input): number => EffectDuration.toMillis(EffectDuration.fromInputUnsafe(d)) / 1000
  const timeoutOf = (template: Template, stage: string, name: FunctionName) => fn(template, stage, name)[1].Properties?.Timeout as number

  it.each(both)("%s: each timeout is its budget's parts plus margin; the API functions end before API Gateway's 30 s", (stage, template) => {
    const budgets = { auth: TimeBudgets.request, documents: TimeBudgets.request, chat: TimeBudgets.chat, processor: TimeBudgets.processor } as const
    for (const [name, budget] of Object.entries(budgets) as Array<[FunctionName, TimeBudget]>) {
      const parts = Object.values(budget.parts).reduce<number>((sum, part) => sum + secondsOf(part), 0)
      expect(timeoutOf(template, stage, name), name).toBeGreaterThan(parts)
      expect(timeoutOf(template, stage, name), name).toBe(Math.ceil(parts + secondsOf(budget.margin)))
    }
    for (const name of ["auth", "documents", "chat"] as const) expect(timeoutOf(template, stage, name), name).toBeLessThan(secondsOf(API_GATEWAY_TIMEOUT))
    // the processor outlives its interpretation's deadline, and that deadline outlives one model call and its retry at twice the budget
    expect(timeoutOf(template, stage, "processor")).toBeGreaterThan(secondsOf(Timeouts.llmInterpret) + 60)
    expect(secondsOf(Timeouts.llmInterpret)).toBeGreaterThanOrEqual(2 * secondsOf(Timeouts.llmCall))
    expect(secondsOf(Timeouts.llmChat)).toBeGreaterThanOrEqual(secondsOf(Timeouts.llmChatCall))
    expect(TimeBudgets.processor.parts.interpret).toBe(Timeouts.llmInterpret)
    expect(TimeBudgets.chat.parts.answer).toBe(Timeouts.llmChat)
  })

  it("the offline provider's longest reading fits in the interpretation's deadline: a scanned PDF's text layer, then OCR of its 10 pages", () => {
    const ocrLongest = secondsOf(OCR_BASE_TIMEOUT) + secondsOf(OCR_PER_PAGE_TIMEOUT) * (OCR_MAX_PAGES - 1)
    // each reader's thread may take up to a minute to start (THREAD_START_TIMEOUT in pdfText.ts and ocrText.ts)
    expect(secondsOf(PDF_EXTRACTION_TIMEOUT) + 60 + ocrLongest + 60).toBeLessThanOrEqual(secondsOf(Timeouts.llmInterpret))
  })

  it.each(both)("%s: the duration alarms sit at five sixths of each timeout", (stage, template) => {
    for (const name of ["auth", "documents", "chat", "processor"] as const) {
      const [, alarmResource] = only(template, "AWS::CloudWatch::Alarm", { AlarmDescription: `The ${name} function's average duration is approaching its timeout` })
      expect(alarmResource.Properties?.Threshold, name).toBe(Math.round((timeoutOf(template, stage, name) * 1000 * 5) / 6))
    }
  })
})

describe("upload limits on Lambda", () => {
  it.each(both)("%s: the API functions take presigned uploads up to 20 MiB and direct ones up to what fits in the 6 MB payload as base64", (stage, template) => {
    for (const name of ["auth", "documents", "chat", "stream"] as const) {
      const env = (fn(template, stage, name)[1].Properties?.Environment as { Variables: Record<string, string> }).Variables
      expect(env.MAX_UPLOAD_BYTES).toBe(String(20 * 1024 * 1024))
      expect(env.MAX_DIRECT_UPLOAD_BYTES).toBe(String(LAMBDA_DIRECT_UPLOAD_BYTES))
    }
    // the document as base64, with room for the event around it, within the invocation payload
    expect(Math.ceil(LAMBDA_DIRECT_UPLOAD_BYTES / 3) * 4 + 64 * 1024).toBeLessThanOrEqual(LAMBDA_PAYLOAD_BYTES)
    expect(LAMBDA_DIRECT_UPLOAD_BYTES).toBe(4_669_440)
  })
})

describe("the processing bucket enforces SSE-KMS under the documents key", () => {
  it.each(both)("%s: a write asking for other encryption or another key is denied, presigned POSTs included", (_stage, template) => {
    const policies = Object.values(resources(template, "AWS::S3::BucketPolicy")).filter((p) => json(p.Properties?.Bucket).includes("DataProcessingBucket"))
    expect(policies).toHaveLength(1)
    const statements = (policies[0]!.Properties?.PolicyDocument as { Statement: Array<Statement & { Sid?: string }> }).Statement
    const other = statements.find((s) => s.Sid === "DenyOtherEncryption")
    const keys = statements.find((s) => s.Sid === "DenyOtherKeys")
    expect(other).toMatchObject({ Effect: "Deny", Action: "s3:PutObject", Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } } })
    expect(keys).toMatchObject({ Effect: "Deny", Action: "s3:PutObject" })
    expect(json(keys?.Condition)).toContain("KeysDocumentsKey")
  })
})

describe("the API's own domain", () => {
  it.each([
    ["development", dev, devEdge, "api-dev.serenya.health"],
    ["production", prod, prodEdge, "api.serenya.health"]
  ] as const)("%s: %s, with a DNS-validated certificate from us-east-1 and alias records to CloudFront", (stage, template, edge, name) => {
    edge.hasResourceProperties("AWS::CertificateManager::Certificate", {
      DomainName: name,
      ValidationMethod: "DNS",
      DomainValidationOptions: [{ DomainName: name, HostedZoneId: stages[stage].domain!.hostedZoneId }]
    })
    const [, distribution] = only(template, "AWS::CloudFront::Distribution")
    const config = distribution.Properties?.DistributionConfig as Record<string, unknown>
    expect(config.Aliases).toEqual([name])
    expect(config.ViewerCertificate).toMatchObject({ SslSupportMethod: "sni-only", MinimumProtocolVersion: "TLSv1.2_2021", AcmCertificateArn: expect.anything() })
    for (const type of ["A", "AAAA"]) {
      template.hasResourceProperties("AWS::Route53::RecordSet", {
        Name: `${name}.`,
        Type: type,
        HostedZoneId: stages[stage].domain!.hostedZoneId,
        AliasTarget: Match.objectLike({ DNSName: { "Fn::GetAtt": [Match.stringLikeRegexp("ApiDistribution"), "DomainName"] } })
      })
    }
  })

  it("a stage without a domain answers on its CloudFront name only", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")) })
    const { domain: _, ...withoutDomain } = stages.development
    const { main, edge } = addStage(app, withoutDomain, { code, deploymentId: "test" })
    Template.fromStack(edge).resourceCountIs("AWS::CertificateManager::Certificate", 0)
    const template = Template.fromStack(main)
    template.resourceCountIs("AWS::Route53::RecordSet", 0)
    const [, distribution] = only(template, "AWS::CloudFront::Distribution")
    expect((distribution.Properties?.DistributionConfig as Record<string, unknown>).Aliases).toBeUndefined()
  })
})
