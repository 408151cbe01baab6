/**
 * The key-rotation operator: the one identity that may move wrapped data keys from one master key
 * version to another (`npm run crypto:rotate` calls KMS ReEncrypt, which needs kms:ReEncryptFrom on
 * the source key and kms:ReEncryptTo on the destination). No function role has ReEncrypt: the
 * application never needs it, and a compromised function could otherwise re-wrap data under a key
 * of its choosing.
 *
 * A person assumes the role with MFA, for an hour at most, and runs the script where the database
 * proxy is reachable (a session on a host in the compute subnets, or a one-off task there): the
 * role connects to the proxy as the application's database user (IAM authentication, or the
 * application's secret where the proxy takes passwords), reads and
 * rewrites the stored documents under `jobs/`, and re-wraps envelopes of the fields and documents
 * keys — nothing else.
 */
import { type CfnElement, CfnOutput, Duration, Fn, Stack } from "aws-cdk-lib"
import * as iam from "aws-cdk-lib/aws-iam"
import { Construct } from "constructs"
import { APP_ROLE } from "../../../src/layers/database/roles.js"
import type { Data } from "./data.js"
import { Keys } from "./keys.js"
import { acknowledge } from "./nag.js"
import type { StageSettings } from "./stages.js"

/** ReEncrypt moves a wrapped key between key versions without its plaintext leaving KMS; DescribeKey finds the current one. */
export const ROTATION_KEY_ACTIONS = ["kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey"]

export class KeyRotationOperator extends Construct {
  readonly role: iam.Role

  constructor(scope: Construct, id: string, props: { readonly settings: StageSettings; readonly keys: Keys; readonly data: Data }) {
    super(scope, id)
    const { settings, keys, data } = props
    const region = settings.env.region

    this.role = new iam.Role(this, "Role", {
      description: `Serenya ${settings.stage}: key rotation (npm run crypto:rotate), assumed by a person with MFA`,
      assumedBy: new iam.AccountRootPrincipal().withConditions({ Bool: { "aws:MultiFactorAuthPresent": "true" } }),
      maxSessionDuration: Duration.hours(1)
    })
    const policy = new iam.ManagedPolicy(this, "Policy", { description: "What key rotation needs, and nothing else" })
    policy.attachToRole(this.role)
    for (const key of [keys.fields, keys.documents]) Keys.allowUse(key, this.role, policy, ROTATION_KEY_ACTIONS)

    const documentsPrefix = data.processingBucket.arnForObjects("jobs/*")
    policy.addStatements(
      new iam.PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [documentsPrefix] }),
      new iam.PolicyStatement({
        actions: ["s3:ListBucket"],
        resources: [data.processingBucket.bucketArn],
        conditions: { StringLike: { "s3:prefix": ["jobs/*"] } }
      })
    )
    // The documents key also encrypts the bucket (SSE-KMS): reading and writing objects goes through S3.
    Keys.allowThroughService(keys.documents, policy, "s3", ["kms:GenerateDataKey", "kms:Decrypt"])
    // The database, as the application's user: through IAM authentication where the proxy uses it,
    // else with the application's secret (as the functions do).
    if (settings.database.proxyIamAuth) {
      const proxyResourceId = Fn.select(6, Fn.split(":", data.proxy.dbProxyArn))
      policy.addStatements(
        new iam.PolicyStatement({
          actions: ["rds-db:connect"],
          resources: [`arn:aws:rds-db:${region}:${settings.env.account}:dbuser:${proxyResourceId}/${APP_ROLE}`]
        })
      )
    } else {
      policy.addStatements(new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [data.appDatabaseSecret.secretArn] }))
      Keys.allowThroughService(keys.platform, policy, "secretsmanager", ["kms:Decrypt"])
    }
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(data.processingBucket.node.defaultChild as CfnElement)}.Arn>/jobs/*]`,
      "Rotation re-wraps every stored document, whose keys are per upload and not known in advance; only under jobs/ of this one bucket, and never a delete."
    )

    new CfnOutput(this, "RoleArn", { value: this.role.roleArn, description: "Assume with MFA to run npm run crypto:rotate" })
  }
}
