/**
 * Disaster recovery as the architecture asks (Disaster Recovery & Backup): the daily backups of the
 * database and the cost table copied to a vault in the stage's recovery region (stages.ts
 * `recoveryRegion`: eu-central-1, not the architecture's us-east-1, so the copies stay in the EU)
 * and kept a year there, that vault
 * encrypted with its own rotated key and protected from deletion, the database's automated backups
 * replicated there too, PITR on the cost table, and the processing bucket's old versions gone within
 * a day. The DR stack passes the nag packs with no acknowledgement at all.
 */
import { App } from "aws-cdk-lib"
import { Match, Template } from "aws-cdk-lib/assertions"
import * as lambda from "aws-cdk-lib/aws-lambda"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createApp } from "../../../deploy/lambda/app.js"
import { DATABASE_BACKUP_RETENTION, LOCAL_BACKUP_RETENTION } from "../../../deploy/lambda/infra/data.js"
import { DR_COPY_RETENTION, SerenyaRecoveryStack } from "../../../deploy/lambda/infra/recovery.js"
import { SerenyaStack } from "../../../deploy/lambda/infra/stack.js"
import { type StageName, stages } from "../../../deploy/lambda/infra/stages.js"
import { acknowledgements, runNag } from "./support/nag.js"

const code = () => lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })")

// As stack.test.ts: both stages synthesized once, the nag packs run on the trees directly.
const outdir = mkdtempSync(join(tmpdir(), "serenya-cdk-dr-"))
const { app, stacks } = createApp({ outdir, code, deploymentId: "test-deployment", nag: false })
app.synth()

const stageNames = ["development", "production"] as const satisfies ReadonlyArray<StageName>
const templates = Object.fromEntries(
  stageNames.map((stage) => [stage, { main: Template.fromStack(stacks[stage].main), dr: Template.fromStack(stacks[stage].recovery) }])
) as Record<StageName, { readonly main: Template; readonly dr: Template }>

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly DeletionPolicy?: string }
type Statement = { Sid?: string; Effect: string; Action: string | Array<string>; Principal?: unknown; Condition?: Record<string, Record<string, unknown>> }

const only = (template: Template, type: string): [string, Resource] => {
  const found = Object.entries(template.findResources(type) as Record<string, Resource>)
  expect(found, type).toHaveLength(1)
  return found[0]!
}
const asArray = <A>(value: A | Array<A> | undefined): Array<A> => (value === undefined ? [] : Array.isArray(value) ? value : [value])
const json = (value: unknown) => JSON.stringify(value)

/**
 * What a cross-region reference in the main stack stands for: the main stack reads it from its
 * ExportsReader (`Fn::GetAtt [reader, name]`), the DR stack's ExportsWriter writes `name` into the
 * main stack's region with the value it resolves to in the DR stack.
 */
const exported = (stage: StageName, reference: unknown): { readonly value: unknown; readonly intoRegion: unknown } => {
  const [reader, name] = (reference as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"]
  expect(reader).toMatch(/^ExportsReader/)
  const [, writer] = only(templates[stage].dr, "Custom::CrossRegionExportWriter")
  const props = writer.Properties?.WriterProps as { region: string; exports: Record<string, unknown> }
  expect(Object.keys(props.exports), name).toContain(name)
  return { value: props.exports[name], intoRegion: props.region }
}

describe.each(stageNames)("%s: disaster recovery", (stage) => {
  const { main, dr } = templates[stage]
  const settings = stages[stage]

  it("has a DR stack in the stage's recovery region, in the stage's account, tagged like the others, which the main stack deploys after", () => {
    const stack = stacks[stage].recovery
    expect(stack.stackName).toBe(`Serenya-${stage}-dr`)
    expect(stack.region).toBe(settings.recoveryRegion)
    expect(stack.account).toBe(settings.env.account)
    expect(stacks[stage].recovery.target.region).toBe(settings.recoveryRegion)
    expect(stacks[stage].main.dependencies).toContain(stack)
    const [, vault] = only(dr, "AWS::Backup::BackupVault")
    expect(vault.Properties?.BackupVaultTags).toEqual({ project: "serenya", stage })
  })

  it("keeps the copies in the EU: the recovery region is eu-central-1, not the stage's own region", () => {
    expect(settings.recoveryRegion).toBe("eu-central-1")
    expect(settings.recoveryRegion).toMatch(/^eu-/)
    expect(settings.env.region).toMatch(/^eu-/)
    expect(settings.recoveryRegion).not.toBe(settings.env.region)
  })

  it("backs up daily at 02:00 UTC, keeps 35 days here, and copies every recovery point to the DR vault for 365 days", () => {
    const [, plan] = only(main, "AWS::Backup::BackupPlan")
    const rules = (plan.Properties?.BackupPlan as { BackupPlanRule: Array<Record<string, unknown>> }).BackupPlanRule
    expect(rules).toHaveLength(1)
    const rule = rules[0]!
    expect(rule.RuleName).toBe("Daily")
    // minute 0, hour 2, every day of every month (the architecture's cron(0 2 ? * * *))
    expect(rule.ScheduleExpression).toBe("cron(0 2 * * ? *)")
    expect(rule.Lifecycle).toEqual({ DeleteAfterDays: LOCAL_BACKUP_RETENTION.toDays() })
    expect(LOCAL_BACKUP_RETENTION.toDays()).toBe(35)

    const copies = rule.CopyActions as Array<{ DestinationBackupVaultArn: unknown; Lifecycle: unknown }>
    expect(copies).toHaveLength(1)
    expect(copies[0]!.Lifecycle).toEqual({ DeleteAfterDays: 365 })
    expect(DR_COPY_RETENTION.toDays()).toBe(365)
    // the destination is the DR stack's vault, its ARN carried into the main stack's region
    const [vaultId] = only(dr, "AWS::Backup::BackupVault")
    const destination = exported(stage, copies[0]!.DestinationBackupVaultArn)
    expect(destination.value).toEqual({ "Fn::GetAtt": [vaultId, "BackupVaultArn"] })
    expect(destination.intoRegion).toBe(settings.env.region)
    // ...and that vault (of the DR stack, in the recovery region) is in the recovery region
    expect(stacks[stage].recovery.vault.env.region).toBe(settings.recoveryRegion)
    expect(stacks[stage].recovery.target.vault).toBe(stacks[stage].recovery.vault)
  })

  it("backs up both the database and the cost table", () => {
    const [tableId] = only(main, "AWS::DynamoDB::Table")
    const [databaseId] = only(main, "AWS::RDS::DBInstance")
    const [, selection] = only(main, "AWS::Backup::BackupSelection")
    const resources = (selection.Properties?.BackupSelection as { Resources: Array<unknown> }).Resources
    expect(resources).toHaveLength(2)
    expect(resources).toContainEqual({ "Fn::GetAtt": [tableId, "Arn"] })
    const rds = resources.find((resource) => json(resource).includes(":rds:"))
    expect(json(rds)).toContain(`:rds:${settings.env.region}:${settings.env.account}:db:`)
    expect(json(rds)).toContain(json({ Ref: databaseId }))
  })

  it("encrypts the DR vault with a customer-managed key of the DR stack, rotated yearly, used only through Backup, RDS and DynamoDB there", () => {
    const [keyId, key] = only(dr, "AWS::KMS::Key")
    const [, vault] = only(dr, "AWS::Backup::BackupVault")
    expect(vault.Properties?.EncryptionKeyArn).toEqual({ "Fn::GetAtt": [keyId, "Arn"] })
    expect(vault.Properties?.BackupVaultName).toBe(`serenya-${stage}-dr`)
    expect(key.Properties?.EnableKeyRotation).toBe(true)
    expect(key.Properties?.RotationPeriodInDays).toBe(365)
    expect(key.Properties?.KeySpec ?? "SYMMETRIC_DEFAULT").toBe("SYMMETRIC_DEFAULT")
    dr.hasResourceProperties("AWS::KMS::Alias", { AliasName: `alias/serenya-${stage}-dr-backup`, TargetKeyId: { "Fn::GetAtt": [keyId, "Arn"] } })

    const statements = (key.Properties?.KeyPolicy as { Statement: Array<Statement> }).Statement
    for (const statement of statements) {
      expect(statement.Effect).toBe("Allow")
      expect(asArray(statement.Action)).not.toContain("kms:*")
    }
    // the account administers the key and never uses it directly
    const admin = statements.find((s) => s.Sid === "KeyAdministration")!
    expect(asArray(admin.Action).filter((a) => /Decrypt|Encrypt|GenerateDataKey|ReEncrypt|CreateGrant/.test(a))).toEqual([])
    // every use goes through one of the DR region's services, from this account
    const uses = statements.filter((s) => s !== admin)
    expect(uses.length).toBeGreaterThan(0)
    for (const use of uses) {
      expect(use.Condition?.StringEquals?.["kms:CallerAccount"], use.Sid).toBe(settings.env.account)
      expect(use.Condition?.StringEquals?.["kms:ViaService"], use.Sid).toEqual(
        ["backup", "rds", "dynamodb"].map((service) => `${service}.${settings.recoveryRegion}.amazonaws.com`)
      )
    }
    const grants = uses.filter((s) => asArray(s.Action).includes("kms:CreateGrant"))
    for (const grant of grants) expect(grant.Condition?.Bool).toEqual({ "kms:GrantIsForAWSResource": "true" })
    expect(asArray(uses.find((s) => s.Sid === "BackupCopiesThroughServices")?.Action)).toEqual(
      expect.arrayContaining(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"])
    )
  })

  it("replicates the database's automated backups (point-in-time restore) to the DR region under the DR key", () => {
    const [keyId] = only(dr, "AWS::KMS::Key")
    const [, database] = only(main, "AWS::RDS::DBInstance")
    expect(database.Properties?.BackupRetentionPeriod).toBe(DATABASE_BACKUP_RETENTION.toDays())
    expect(database.Properties?.AutomaticBackupReplicationRegion).toBe(settings.recoveryRegion)
    expect(database.Properties?.AutomaticBackupReplicationRegion).toBe("eu-central-1")
    expect(database.Properties?.AutomaticBackupReplicationRetentionPeriod).toBe(30)
    const key = exported(stage, database.Properties?.AutomaticBackupReplicationKmsKeyId)
    expect(key.value).toEqual({ "Fn::GetAtt": [keyId, "Arn"] })
  })

  it("keeps point-in-time recovery on the cost table", () => {
    main.hasResourceProperties("AWS::DynamoDB::Table", { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })
  })

  it("expires every noncurrent version of the processing bucket within a day, under every lifecycle rule", () => {
    const buckets = Object.values(main.findResources("AWS::S3::Bucket", {
      Properties: { LoggingConfiguration: Match.objectLike({ LogFilePrefix: "processing-bucket/" }) }
    }) as Record<string, Resource>)
    expect(buckets).toHaveLength(1)
    const bucket = buckets[0]!
    expect(bucket.Properties?.VersioningConfiguration).toEqual({ Status: "Enabled" })
    const rules = (bucket.Properties?.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> }).Rules
    expect(rules.length).toBeGreaterThan(0)
    for (const rule of rules) {
      expect(rule.Status, json(rule.Id)).toBe("Enabled")
      const noncurrent = rule.NoncurrentVersionExpiration as { NoncurrentDays: number } | undefined
      expect(noncurrent, json(rule.Id)).toBeDefined()
      expect(noncurrent!.NoncurrentDays, json(rule.Id)).toBeGreaterThanOrEqual(1)
      expect(noncurrent!.NoncurrentDays, json(rule.Id)).toBeLessThanOrEqual(1)
      expect(rule.NoncurrentVersionExpirationInDays, json(rule.Id)).toBeUndefined()
    }
  })

  it("leaves no nag finding on the DR stack, with no acknowledgement", () => {
    const stack = stacks[stage].recovery
    expect(runNag(stack).findings).toEqual([])
    expect(acknowledgements(stack).filter((ack) => /^(AwsSolutions|HIPAA\.Security)-/.test(ack.id))).toEqual([])
  })
})

describe("DR vault protection", () => {
  it("production: a governance-mode Vault Lock keeps every copy its year; vault and key outlive the stack", () => {
    const { dr } = templates.production
    const [, vault] = only(dr, "AWS::Backup::BackupVault")
    // governance mode: a minimum retention, no ChangeableForDays (which would make it compliance mode)
    expect(vault.Properties?.LockConfiguration).toEqual({ MinRetentionDays: DR_COPY_RETENTION.toDays() })
    expect(vault.DeletionPolicy).toBe("Retain")
    const [, key] = only(dr, "AWS::KMS::Key")
    expect(key.DeletionPolicy).toBe("Retain")
    expect(key.Properties?.PendingWindowInDays).toBe(30)
  })

  it("development: synthetic data, no lock, gone with the stack", () => {
    const { dr } = templates.development
    const [, vault] = only(dr, "AWS::Backup::BackupVault")
    expect(vault.Properties?.LockConfiguration).toBeUndefined()
    expect(vault.DeletionPolicy).toBe("Delete")
  })
})

describe("guards", () => {
  it("refuses a recovery region that is the stage's own region", () => {
    const settings = { ...stages.development, recoveryRegion: stages.development.env.region }
    expect(() => new SerenyaRecoveryStack(new App(), "Same-dr", { settings })).toThrow(/its own DR region/)
  })

  it("fails the synth of a main stack whose backups were never given a DR vault", () => {
    const lone = new App({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-lone-")) })
    const stack = new SerenyaStack(lone, "Lone", { settings: stages.development, webAclArn: "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1", code, deploymentId: "x" })
    expect(stack.data.backupPlan).toBeDefined()
    expect(() => lone.synth()).toThrow(/copied to no other region/)
  })
})
