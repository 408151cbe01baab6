import { Duration, Stack } from "aws-cdk-lib"
import * as iam from "aws-cdk-lib/aws-iam"
import * as kms from "aws-cdk-lib/aws-kms"
import { Construct } from "constructs"
import type { StageSettings } from "./stages.js"

/** What the account's administrators may do with a key: manage it, never use it on data. */
const ADMIN_ACTIONS = [
  "kms:Create*",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion"
]

/** Key administration for the account, never use on data: every key policy starts from this. */
export const administrationOnly = (): iam.PolicyDocument =>
  new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: "KeyAdministration",
        principals: [new iam.AccountRootPrincipal()],
        actions: ADMIN_ACTIONS,
        resources: ["*"]
      })
    ]
  })

/** CloudWatch Logs encrypting the account's log groups of one region. */
export const logsMayEncrypt = (region: string, account: string): iam.PolicyStatement =>
  new iam.PolicyStatement({
    sid: "CloudWatchLogs",
    principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
    actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    resources: ["*"],
    conditions: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${account}:log-group:*` } }
  })

/** The envelope encryption calls of src/layers/crypto (GenerateDataKey, Decrypt, DescribeKey). */
export const ENVELOPE_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]

/** Services that encrypt on a caller's behalf with the platform key (the caller still needs IAM permission). */
const PLATFORM_SERVICES = ["secretsmanager", "sqs", "sns", "dynamodb", "rds", "s3", "backup"]

/**
 * Three customer-managed keys, rotated yearly:
 * - fields: the application's envelope encryption of database fields;
 * - documents: the processing bucket (SSE-KMS) and the application's document encryption;
 * - platform: everything AWS services encrypt for us (database storage, secrets, queues, topics,
 *   the cost table, log groups, the trail).
 * Key policies name who may use each key: the account may only administer them, the application
 * keys are used by the function roles named through `allowUse`, the platform key by account
 * principals only through the listed services, and by the log, trail and alarm services.
 */
export class Keys extends Construct {
  readonly fields: kms.Key
  readonly documents: kms.Key
  readonly platform: kms.Key
  /**
   * The audit trail's HMAC key (src/layers/auditMac/kms.ts): it never leaves KMS, and the database
   * never holds it, so a trail rewritten with database rights alone shows. KMS does not rotate HMAC
   * keys; a new key means a new KMS_AUDIT_KEY_ID (rows name their key epoch, not the key).
   */
  readonly audit: kms.Key

  constructor(scope: Construct, id: string, props: { readonly settings: StageSettings }) {
    super(scope, id)
    const { region, account } = props.settings.env
    const key = (keyId: string, description: string) =>
      new kms.Key(this, keyId, {
        description,
        enableKeyRotation: true,
        rotationPeriod: Duration.days(365),
        removalPolicy: props.settings.dataRemovalPolicy,
        pendingWindow: Duration.days(30),
        policy: administrationOnly()
      })

    this.fields = key("FieldsKey", `Serenya ${props.settings.stage}: envelope encryption of database fields`)
    this.documents = key("DocumentsKey", `Serenya ${props.settings.stage}: documents (processing bucket, document envelopes)`)
    this.platform = key("PlatformKey", `Serenya ${props.settings.stage}: AWS services' encryption at rest`)
    this.audit = new kms.Key(this, "AuditKey", {
      description: `Serenya ${props.settings.stage}: audit trail MACs`,
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: props.settings.dataRemovalPolicy,
      pendingWindow: Duration.days(30),
      policy: administrationOnly()
    })

    this.platform.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AccountUseThroughServices",
        principals: [new iam.AccountRootPrincipal()],
        actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
        resources: ["*"],
        conditions: {
          StringEquals: {
            "kms:CallerAccount": account,
            "kms:ViaService": PLATFORM_SERVICES.map((service) => `${service}.${region}.amazonaws.com`)
          }
        }
      })
    )
    this.platform.addToResourcePolicy(logsMayEncrypt(region, account))
    this.platform.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsToEncryptedTopics",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": account } }
      })
    )
    const trail = `arn:aws:cloudtrail:${region}:${account}:trail/*`
    this.platform.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudTrailEncryptLogs",
        principals: [new iam.ServicePrincipal("cloudtrail.amazonaws.com")],
        actions: ["kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: {
          StringLike: { "kms:EncryptionContext:aws:cloudtrail:arn": `arn:aws:cloudtrail:*:${account}:trail/*` },
          StringEquals: { "aws:SourceAccount": account }
        }
      })
    )
    this.platform.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudTrailDescribeKey",
        principals: [new iam.ServicePrincipal("cloudtrail.amazonaws.com")],
        actions: ["kms:DescribeKey"],
        resources: ["*"],
        conditions: { ArnLike: { "aws:SourceArn": trail } }
      })
    )
  }

  /**
   * Lets one role use a key directly: named in the key policy and granted in the role's own
   * policy, so neither an account-wide delegation nor a wildcard resource is needed.
   */
  static allowUse(key: kms.IKey, role: iam.IRole, policy: iam.ManagedPolicy, actions: ReadonlyArray<string> = ENVELOPE_ACTIONS): void {
    key.addToResourcePolicy(new iam.PolicyStatement({ principals: [role], actions: [...actions], resources: ["*"] }))
    policy.addStatements(new iam.PolicyStatement({ actions: [...actions], resources: [key.keyArn] }))
  }

  /** Use of the platform key through one service (the service call carries the caller's identity). */
  static allowThroughService(key: kms.IKey, policy: iam.ManagedPolicy, service: string, actions: ReadonlyArray<string>): void {
    policy.addStatements(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: [key.keyArn],
        conditions: { StringEquals: { "kms:ViaService": `${service}.${Stack.of(key).region}.amazonaws.com` } }
      })
    )
  }
}
