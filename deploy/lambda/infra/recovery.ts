/**
 * Disaster recovery: the recovery region's side of the backups. The region is the stage's
 * `recoveryRegion` (stages.ts): an EU region, so the copies of health data stay in the EU. Every
 * stage's daily AWS Backup recovery points (database, cost table) are copied here and kept a year,
 * and RDS replicates its automated backups (snapshots and transaction logs) here too, so the
 * database can be restored to a point in time in this region (data.ts `copyBackupsTo`). The copies
 * are encrypted with this region's own key: KMS keys never leave their region.
 *
 * What this does not give the second region: the application's keys (fields, documents, audit MAC)
 * and secrets (JWT signing key, lookup key) live in the primary region only, so a restored database
 * here holds sealed fields that open only while the primary region's KMS answers. See
 * docs/runbooks/region-failover.md.
 */
import { Duration, RemovalPolicy, Stack, type StackProps, Tags } from "aws-cdk-lib"
import * as backup from "aws-cdk-lib/aws-backup"
import * as iam from "aws-cdk-lib/aws-iam"
import * as kms from "aws-cdk-lib/aws-kms"
import type { Construct } from "constructs"
import { administrationOnly } from "./keys.js"
import type { StageSettings } from "./stages.js"

/** How long a copied recovery point is kept in the DR region (the architecture: DeleteAfterDays 365). */
export const DR_COPY_RETENTION = Duration.days(365)

/** What the primary stack's backups need from the DR region: where to copy, and the key to encrypt with. */
export interface RecoveryTarget {
  readonly region: string
  readonly vault: backup.IBackupVault
  /** Encrypts the copies in the vault and RDS's replicated automated backups. */
  readonly key: kms.IKey
}

/** The services that encrypt with the DR key on a caller's behalf: copies (Backup, RDS) and restores (RDS, DynamoDB). */
const DR_KEY_SERVICES = ["backup", "rds", "dynamodb"]

/** The DR vault's name: fixed, so the runbooks can name it (serenya-<stage>-dr). */
export const drVaultName = (settings: StageSettings): string => `serenya-${settings.stage}-dr`

/** The DR key's alias (alias/serenya-<stage>-dr-backup). */
export const drKeyAlias = (settings: StageSettings): string => `alias/serenya-${settings.stage}-dr-backup`

export class SerenyaRecoveryStack extends Stack {
  readonly key: kms.Key
  readonly vault: backup.BackupVault
  readonly target: RecoveryTarget

  constructor(scope: Construct, id: string, props: StackProps & { readonly settings: StageSettings }) {
    super(scope, id, {
      ...props,
      env: { account: props.settings.env.account, region: props.settings.recoveryRegion },
      crossRegionReferences: true
    })
    const { settings } = props
    const region = settings.recoveryRegion
    if (settings.env.region === region) {
      throw new Error(`The ${settings.stage} stage runs in ${region}, its own DR region: copies must go to another region (stages.ts recoveryRegion)`)
    }
    Tags.of(this).add("project", "serenya")
    Tags.of(this).add("stage", settings.stage)
    const account = settings.env.account
    const retained = settings.dataRemovalPolicy !== RemovalPolicy.DESTROY

    this.key = new kms.Key(this, "BackupKey", {
      description: `Serenya ${settings.stage}: disaster-recovery copies in ${region} (AWS Backup vault, RDS replicated backups)`,
      alias: drKeyAlias(settings),
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      // Deleting it makes every copy in the vault unreadable: kept with the vault in production.
      removalPolicy: settings.dataRemovalPolicy,
      pendingWindow: Duration.days(30),
      policy: administrationOnly()
    })
    // As the platform key in the primary region: account principals use the key only through the
    // services that encrypt copies and restores with it (the AWS Backup role of the primary stack's
    // selection, RDS replicating automated backups, and an operator restoring), never directly.
    const viaServices = {
      "kms:CallerAccount": account,
      "kms:ViaService": DR_KEY_SERVICES.map((service) => `${service}.${region}.amazonaws.com`)
    }
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "BackupCopiesThroughServices",
        principals: [new iam.AccountRootPrincipal()],
        actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        resources: ["*"],
        conditions: { StringEquals: viaServices }
      })
    )
    // RDS and AWS Backup hold grants on the key for the snapshots they keep; grants for AWS resources only.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "GrantsForBackupResources",
        principals: [new iam.AccountRootPrincipal()],
        actions: ["kms:CreateGrant"],
        resources: ["*"],
        conditions: { StringEquals: viaServices, Bool: { "kms:GrantIsForAWSResource": "true" } }
      })
    )

    // Protection of the copies: a Vault Lock in governance mode, minimum retention = the copies' year.
    // - Why a lock and not only an access policy denying backup:DeleteRecoveryPoint: the lock is
    //   enforced by AWS Backup for every principal, the account root included, and it also refuses
    //   a copy (or a lifecycle update) that would keep a recovery point less than a year, so a plan
    //   edited to a shorter retention fails its copy jobs instead of silently keeping less. An access
    //   policy is undone by anyone allowed backup:PutBackupVaultAccessPolicy and says nothing about
    //   retention.
    // - Why governance and not compliance mode (`changeableFor`): compliance mode becomes immutable
    //   after its grace time, for the vault's whole life. These copies hold PHI; a mistake (a wrong
    //   retention, a copy that must be destroyed) could then never be corrected. In governance mode
    //   only a deliberate, CloudTrail-recorded `aws backup delete-backup-vault-lock-configuration`
    //   by an administrator can lift it.
    // - Production only (the stages that retain data): development holds synthetic data and is
    //   torn down with its stacks. A vault is never deleted with recovery points in it (AWS Backup
    //   refuses), and production's vault and key are retained when the stack goes.
    this.vault = new backup.BackupVault(this, "Vault", {
      backupVaultName: drVaultName(settings),
      encryptionKey: this.key,
      removalPolicy: retained ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      ...(retained ? { lockConfiguration: { minRetention: DR_COPY_RETENTION } } : {})
    })

    this.target = { region, vault: this.vault, key: this.key }
  }
}
