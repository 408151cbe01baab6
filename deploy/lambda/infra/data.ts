import { Duration, RemovalPolicy } from "aws-cdk-lib"
import * as backup from "aws-cdk-lib/aws-backup"
import * as dynamodb from "aws-cdk-lib/aws-dynamodb"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as events from "aws-cdk-lib/aws-events"
import * as iam from "aws-cdk-lib/aws-iam"
import * as logs from "aws-cdk-lib/aws-logs"
import * as rds from "aws-cdk-lib/aws-rds"
import * as s3 from "aws-cdk-lib/aws-s3"
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager"
import * as sqs from "aws-cdk-lib/aws-sqs"
import { Construct } from "constructs"
import {
  COST_TABLE_MONTH_ATTRIBUTE,
  COST_TABLE_PARTITION_KEY,
  COST_TABLE_SORT_KEY,
  COST_TABLE_TTL_ATTRIBUTE,
  MONTHLY_USAGE_ATTRIBUTES,
  MONTHLY_USAGE_INDEX
} from "../../../src/layers/costTracker/table.js"
import { APP_ROLE } from "../../../src/layers/database/roles.js"
import { TimeBudgets } from "../../../src/services/resilience.js"
import { timeoutFor } from "./budgets.js"
import { INCOMING_PREFIX } from "../../../src/services/uploadTargets.js"
import { bucketRef } from "./exact.js"

/** Days an audit checkpoint stays locked (the functions' AUDIT_CHECKPOINT_RETENTION_DAYS too). */
export const AUDIT_CHECKPOINT_RETENTION_DAYS = 365 * 6
import type { Keys } from "./keys.js"
import { acknowledge, acknowledgeAll } from "./nag.js"
import type { Network } from "./network.js"
import { DR_COPY_RETENTION, type RecoveryTarget } from "./recovery.js"
import type { StageSettings } from "./stages.js"

export interface DataProps {
  readonly settings: StageSettings
  readonly keys: Keys
  readonly network: Network
}

/**
 * The processor's timeout: its time budget (src/services/resilience.ts), so that the deadlines
 * inside end the work first; the job queue's visibility timeout is six times it (AWS's advice for
 * Lambda consumers).
 */
export const PROCESSOR_TIMEOUT = timeoutFor(TimeBudgets.processor)

/** RDS automated backups (point-in-time restore), here and replicated to the DR region: the architecture's 30 days. */
export const DATABASE_BACKUP_RETENTION = Duration.days(30)

/**
 * The daily AWS Backup recovery points in the primary region: 35 days (kept as it was), five weeks
 * of dailies, a little beyond RDS's own 30-day point-in-time window and equal to the cost table's
 * 35-day PITR, so the last month restores from this region without the DR copies. The year the
 * architecture asks for is kept by the copies in the DR region (recovery.ts DR_COPY_RETENTION);
 * keeping a year here too would double PHI's footprint for no recovery the copies do not give.
 */
export const LOCAL_BACKUP_RETENTION = Duration.days(35)

/** The processing bucket's request-metrics filter: S3 publishes AllRequests (the dashboard's S3 widget) under it. */
export const BUCKET_REQUEST_METRICS_FILTER = "EntireBucket"

export class Data extends Construct {
  readonly accessLogsBucket: s3.IBucket
  readonly processingBucket: s3.IBucket
  /** Audit checkpoints: Object Lock in compliance mode, so no one can delete or overwrite one before it expires. */
  readonly auditCheckpointBucket: s3.IBucket
  readonly costTable: dynamodb.Table
  readonly jobQueue: sqs.Queue
  readonly jobDeadLetterQueue: sqs.Queue
  readonly database: rds.DatabaseInstance
  /**
   * The application role's credentials (APP_ROLE): what every function but migrate connects with.
   * The master secret (`database.secret`) is the schema owner's, for the migrate function only.
   */
  readonly appDatabaseSecret: secretsmanager.ISecret
  readonly proxy: rds.DatabaseProxy
  readonly databaseSecurityGroup: ec2.SecurityGroup
  readonly proxySecurityGroup: ec2.SecurityGroup
  readonly jwtSecret: secretsmanager.Secret
  readonly userLookupKeySecret: secretsmanager.Secret
  readonly backupVault: backup.BackupVault
  readonly backupPlan: backup.BackupPlan
  private recovery: RecoveryTarget | undefined

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id)
    const { settings, keys, network } = props
    const removalPolicy = settings.dataRemovalPolicy
    const destroy = removalPolicy === RemovalPolicy.DESTROY

    // Server access logs (and CloudFront's standard logs) can only be delivered to an SSE-S3 bucket.
    const accessLogsBucket = new s3.Bucket(this, "AccessLogs", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(365 * 6), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy
    })
    this.accessLogsBucket = bucketRef(accessLogsBucket)
    acknowledge(
      this.accessLogsBucket,
      "HIPAA.Security-S3DefaultEncryptionKMS",
      "S3 server access logs and CloudFront standard logs can only be delivered to a bucket whose default encryption is SSE-S3; SSE-KMS is not supported as a log destination."
    )
    acknowledge(
      this.accessLogsBucket,
      "HIPAA.Security-S3BucketReplicationEnabled",
      "Access logs hold no PHI and are kept in a versioned bucket; cross-region replication of them is not required by the architecture's backup plan."
    )

    const processingBucket = new s3.Bucket(this, "ProcessingBucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: keys.documents,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: "processing-bucket/",
      // Request metrics (AllRequests, 4xx/5xx, latency) for the whole bucket: the dashboard's S3 widget.
      metrics: [{ id: BUCKET_REQUEST_METRICS_FILTER }],
      lifecycleRules: [
        // A document's sealed original (jobs/{jobId}_original) is kept as long as its content
        // (the FHIR export's presentedForm) and removed with it, by the content's deletion, the sweep
        // or erasure; what is removed leaves no version behind for more than a day.
        {
          id: "RemovedDocuments",
          noncurrentVersionExpiration: Duration.days(1),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1)
        },
        // Raw documents clients upload with presigned POSTs (src/layers/uploadTargets/s3.ts): not
        // sealed with our envelope, so never kept longer than a day, whatever the rule above becomes;
        // completing or erasing removes them first, this is the backstop.
        {
          id: "IncomingUploads",
          prefix: INCOMING_PREFIX,
          expiration: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1)
        }
      ],
      removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN
    })
    // Every object is SSE-KMS under the documents key: a write that asks for another encryption, or
    // another key, is refused — the presigned POSTs (whose policy carries these fields) included.
    // A write that names none gets the bucket's default, which is that key.
    processingBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "DenyOtherEncryption",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:PutObject"],
        resources: [processingBucket.arnForObjects("*")],
        conditions: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } }
      })
    )
    processingBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "DenyOtherKeys",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:PutObject"],
        resources: [processingBucket.arnForObjects("*")],
        conditions: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": keys.documents.keyArn } }
      })
    )
    this.processingBucket = bucketRef(processingBucket)
    acknowledge(
      this.processingBucket,
      "HIPAA.Security-S3BucketReplicationEnabled",
      "Originals are kept in one Region on purpose: sealed with our envelope and SSE-KMS, versioned, with S3's durability; a replica would spread PHI to a second Region and could outlive its erasure there."
    )

    const auditCheckpointBucket = new s3.Bucket(this, "AuditCheckpoints", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: keys.platform,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      // HIPAA keeps audit records six years; every checkpoint object is locked at least that long.
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(AUDIT_CHECKPOINT_RETENTION_DAYS)),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: "audit-checkpoints/",
      removalPolicy: RemovalPolicy.RETAIN
    })
    this.auditCheckpointBucket = bucketRef(auditCheckpointBucket)
    acknowledge(
      this.auditCheckpointBucket,
      "HIPAA.Security-S3BucketReplicationEnabled",
      "Audit checkpoints are small MAC'd records under Object Lock in compliance mode; the trail they anchor lives in the database with its own backups, and a lost checkpoint only weakens the truncation check back to the previous one."
    )

    this.costTable = new dynamodb.Table(this, "CostTracking", {
      partitionKey: { name: COST_TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: COST_TABLE_SORT_KEY, type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: COST_TABLE_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: keys.platform,
      deletionProtection: !destroy,
      removalPolicy
    })
    this.costTable.addGlobalSecondaryIndex({
      indexName: MONTHLY_USAGE_INDEX,
      partitionKey: { name: COST_TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: COST_TABLE_MONTH_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...MONTHLY_USAGE_ATTRIBUTES]
    })

    this.jobDeadLetterQueue = new sqs.Queue(this, "JobDeadLetterQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: keys.platform,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy
    })
    this.jobQueue = new sqs.Queue(this, "JobQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: keys.platform,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(PROCESSOR_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.jobDeadLetterQueue, maxReceiveCount: 5 },
      removalPolicy
    })

    const secret = (secretId: string, description: string, generate: secretsmanager.SecretStringGenerator) =>
      new secretsmanager.Secret(this, secretId, {
        description,
        encryptionKey: keys.platform,
        generateSecretString: generate,
        removalPolicy
      })
    // Set by an operator (`aws secretsmanager put-secret-value`) to an ES256 PEM before the first sign-in.
    this.jwtSecret = secret("JwtPrivateKey", "JWT_PRIVATE_KEY: ES256 (P-256) private key, PEM, set by an operator", {
      excludePunctuation: true,
      passwordLength: 64
    })
    // 64 alphanumerics read as base64 are 48 bytes: a valid USER_LOOKUP_KEY as generated.
    this.userLookupKeySecret = secret("UserLookupKey", "USER_LOOKUP_KEY: HMAC key of the email and Google subject lookup hashes", {
      excludePunctuation: true,
      passwordLength: 64
    })
    for (const applicationSecret of [this.jwtSecret, this.userLookupKeySecret]) {
      acknowledgeAll(
        applicationSecret,
        ["AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled"],
        "Rotating this key is an application procedure, not a password change: a new JWT signing key ends every access token issued under the old one (the verifier knows one key; clients refresh), and a new lookup key orphans every account until each stored lookup hash is recomputed, which no command does yet (npm run crypto:rotate re-wraps envelopes only); see docs/runbooks/kms-key-compromise-and-rotation.md."
      )
    }

    this.databaseSecurityGroup = new ec2.SecurityGroup(this, "DatabaseSecurityGroup", {
      vpc: network.vpc,
      description: "PostgreSQL: from the RDS Proxy and the rotation function only",
      allowAllOutbound: false
    })
    this.proxySecurityGroup = new ec2.SecurityGroup(this, "ProxySecurityGroup", {
      vpc: network.vpc,
      description: "RDS Proxy: PostgreSQL from the functions, to the database",
      allowAllOutbound: false
    })
    this.proxySecurityGroup.addEgressRule(this.databaseSecurityGroup, ec2.Port.tcp(5432), "To the database")
    this.databaseSecurityGroup.addIngressRule(this.proxySecurityGroup, ec2.Port.tcp(5432), "From the RDS Proxy")

    const db = settings.database
    const instanceIdentifier = `serenya-${settings.stage}`
    // Created here rather than by RDS so they carry a retention and the platform key, with no log-retention function.
    const databaseLogs = ["postgresql", "upgrade"].map(
      (kind) =>
        new logs.LogGroup(this, `DatabaseLogs-${kind}`, {
          logGroupName: `/aws/rds/instance/${instanceIdentifier}/${kind}`,
          retention: settings.logRetention,
          encryptionKey: keys.platform,
          removalPolicy
        })
    )
    this.database = new rds.DatabaseInstance(this, "Database", {
      instanceIdentifier,
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_9 }),
      instanceType: db.instanceType,
      vpc: network.vpc,
      vpcSubnets: network.dataSubnets,
      securityGroups: [this.databaseSecurityGroup],
      credentials: rds.Credentials.fromGeneratedSecret(db.username, { encryptionKey: keys.platform }),
      databaseName: db.name,
      storageType: rds.StorageType.GP3,
      allocatedStorage: db.allocatedStorageGiB,
      maxAllocatedStorage: db.maxAllocatedStorageGiB,
      storageEncrypted: true,
      storageEncryptionKey: keys.platform,
      multiAz: db.multiAz,
      backupRetention: DATABASE_BACKUP_RETENTION,
      preferredBackupWindow: "03:00-04:00",
      preferredMaintenanceWindow: "sun:04:00-sun:05:00",
      deleteAutomatedBackups: false,
      copyTagsToSnapshot: true,
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: keys.platform,
      monitoringInterval: Duration.seconds(60),
      cloudwatchLogsExports: ["postgresql", "upgrade"],
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      deletionProtection: db.deletionProtection,
      removalPolicy: db.removalPolicy,
      parameters: { "rds.force_ssl": "1", log_connections: "1", log_disconnections: "1" }
    })
    for (const logGroup of databaseLogs) this.database.node.addDependency(logGroup)
    acknowledge(
      this.database,
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
      "Enhanced monitoring's role carries AWS's managed policy for it, which RDS maintains and which only writes the RDSOSMetrics log group; the role is assumable by monitoring.rds.amazonaws.com alone."
    )
    acknowledgeAll(
      this.databaseSecurityGroup,
      ["HIPAA.Security-EC2RestrictedCommonPorts", "HIPAA.Security-EC2RestrictedSSH"],
      "These ingress rules use the instance's endpoint port, known only at deployment (PostgreSQL, 5432), so the check cannot read it; each admits a single security group (the RDS Proxy, the rotation function), never a CIDR range."
    )
    if (!db.multiAz) {
      acknowledgeAll(
        this.database,
        ["AwsSolutions-RDS3", "HIPAA.Security-RDSMultiAZSupport"],
        "Development stage only: a single-AZ instance holding synthetic data; production runs Multi-AZ (stages.ts)."
      )
    }
    if (!db.deletionProtection) {
      acknowledgeAll(
        this.database,
        ["AwsSolutions-RDS10", "HIPAA.Security-RDSInstanceDeletionProtectionEnabled"],
        "Development stage only: the database holds synthetic data and is torn down with the stack (a final snapshot is kept); production has deletion protection on (stages.ts)."
      )
    }
    acknowledge(
      this.database,
      "AwsSolutions-RDS11",
      "PostgreSQL keeps its default port: the instance sits in isolated subnets and accepts connections only from the RDS Proxy's security group, so a non-default port adds no protection."
    )

    // The rotation function (AWS's, from the Serverless Application Repository) reaches only Secrets Manager's endpoint and the database.
    const rotationSecurityGroup = new ec2.SecurityGroup(this, "RotationSecurityGroup", {
      vpc: network.vpc,
      description: "Credentials rotation: HTTPS to the Secrets Manager endpoint, PostgreSQL to the database",
      allowAllOutbound: false
    })
    rotationSecurityGroup.addEgressRule(network.endpointsSecurityGroup, ec2.Port.tcp(443), "Secrets Manager endpoint")
    rotationSecurityGroup.addEgressRule(this.databaseSecurityGroup, ec2.Port.tcp(5432), "The database")
    network.endpointsSecurityGroup.addIngressRule(rotationSecurityGroup, ec2.Port.tcp(443), "From the rotation function")
    this.database.addRotationSingleUser({
      automaticallyAfter: settings.secretRotation,
      vpcSubnets: network.dataSubnets,
      securityGroup: rotationSecurityGroup,
      endpoint: network.secretsManagerEndpoint
    })

    // The application's own user: migration 0007 creates the role, the migrate function gives it
    // LOGIN with this secret's password on every deployment. Same shape and attachment as the master
    // secret, so both name the same host and database.
    this.appDatabaseSecret = new rds.DatabaseSecret(this, "AppDatabaseSecret", {
      username: APP_ROLE,
      encryptionKey: keys.platform
    }).attach(this.database)
    // Rotated by the user itself (a role may change its own password), as the master's is. Not at
    // creation: the role has no login until the first migration has run.
    new secretsmanager.SecretRotation(this, "AppDatabaseSecretRotation", {
      application: secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
      secret: this.appDatabaseSecret,
      target: this.database,
      vpc: network.vpc,
      vpcSubnets: network.dataSubnets,
      securityGroup: rotationSecurityGroup,
      endpoint: network.secretsManagerEndpoint,
      automaticallyAfter: settings.secretRotation,
      rotateImmediatelyOnUpdate: false
    })

    this.proxy = new rds.DatabaseProxy(this, "Proxy", {
      proxyTarget: rds.ProxyTarget.fromInstance(this.database),
      // The proxy authenticates each user against its own secret.
      secrets: [this.database.secret!, this.appDatabaseSecret],
      vpc: network.vpc,
      vpcSubnets: network.dataSubnets,
      securityGroups: [this.proxySecurityGroup],
      iamAuth: db.proxyIamAuth,
      requireTLS: true,
      debugLogging: false
    })
    acknowledge(
      this.proxy,
      "HIPAA.Security-IAMNoInlinePolicy",
      "The proxy's role is generated by aws-cdk-lib with one inline policy: read the database's credentials secret (and decrypt it with the platform key through Secrets Manager)."
    )

    this.backupVault = new backup.BackupVault(this, "BackupVault", { encryptionKey: keys.platform, removalPolicy })
    // Its one rule, the daily backup with its copy to the DR region, comes with the DR region's
    // vault (copyBackupsTo): a plan whose backups would stay in one region fails the synth.
    this.backupPlan = new backup.BackupPlan(this, "BackupPlan", { backupVault: this.backupVault })
    this.node.addValidation({
      validate: () =>
        this.recovery === undefined
          ? ["The daily backups are copied to no other region: call Data.copyBackupsTo with the DR stack's target (stack.ts addStage does)"]
          : []
    })
    const selection = this.backupPlan.addSelection("Data", {
      resources: [backup.BackupResource.fromDynamoDbTable(this.costTable), backup.BackupResource.fromRdsDatabaseInstance(this.database)]
    })
    acknowledge(
      selection,
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
      "AWS Backup's service role uses the managed backup policy AWS maintains for new resource types; it is assumable by backup.amazonaws.com only."
    )
  }

  /**
   * Where the backups go beyond this region (recovery.ts): the daily rule (02:00 UTC, 35 days here)
   * copies each recovery point to the DR region's vault, kept there a year; and RDS replicates its
   * automated backups (snapshots and transaction logs) to the DR region, encrypted with its key, so
   * the database can be restored there to a point in time, not only to last night's copy.
   */
  copyBackupsTo(target: RecoveryTarget): void {
    if (this.recovery !== undefined) throw new Error("Data.copyBackupsTo: the backups are already copied to a DR region")
    this.recovery = target
    this.backupPlan.addRule(
      new backup.BackupPlanRule({
        ruleName: "Daily",
        scheduleExpression: events.Schedule.cron({ hour: "2", minute: "0" }),
        deleteAfter: LOCAL_BACKUP_RETENTION,
        copyActions: [{ destinationBackupVault: target.vault, deleteAfter: DR_COPY_RETENTION }]
      })
    )
    const instance = this.database.node.defaultChild as rds.CfnDBInstance
    instance.automaticBackupReplicationRegion = target.region
    instance.automaticBackupReplicationKmsKeyId = target.key.keyArn
    instance.automaticBackupReplicationRetentionPeriod = DATABASE_BACKUP_RETENTION.toDays()
  }
}
