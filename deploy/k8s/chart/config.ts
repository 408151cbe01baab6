/**
 * The application's non-secret settings (src/config.ts), in one ConfigMap every pod takes as its
 * environment. Pods read it at start only, so their templates carry a checksum of its data: a
 * changed setting rolls them.
 */
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import { createHash } from "node:crypto"
import type { EnvironmentSettings } from "../environments.js"
import { APP_NAME, HTTP_PORT, WORKER_HEALTH_PORT } from "./app.js"

export const CONFIG_MAP_NAME = `${APP_NAME}-config`

export const CONFIG_CHECKSUM_ANNOTATION = "checksum/config"

export const configChecksum = (data: Readonly<Record<string, string>>): string =>
  createHash("sha256")
    .update(JSON.stringify(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))
    .digest("hex")

export const configData = (s: EnvironmentSettings): Record<string, string> => ({
  NODE_ENV: "production",
  APP_ENV: "production",
  HOST: "0.0.0.0",
  PORT: String(HTTP_PORT),
  LOG_LEVEL: s.app.logLevel,
  SHUTDOWN_TIMEOUT_MS: String(s.shutdown.timeoutSeconds * 1000),
  AWS_REGION: s.app.awsRegion,
  KEY_PROVIDER: "kms",
  KMS_FIELDS_KEY_ID: s.app.kmsFieldsKeyId,
  KMS_DOCUMENTS_KEY_ID: s.app.kmsDocumentsKeyId,
  KMS_AUDIT_KEY_ID: s.app.kmsAuditKeyId,
  AUDIT_CHECKPOINT_BUCKET: s.app.auditCheckpointBucket,
  STORAGE_PROVIDER: "s3",
  S3_BUCKET: s.app.s3Bucket,
  // Push through SNS mobile push: the platform applications are created out of band
  // (docs/runbooks/push-notifications.md); only their ARNs are settings, the credentials stay in SNS.
  NOTIFICATIONS_PROVIDER: "sns",
  SNS_PLATFORM_APPLICATION_ARN_IOS: s.app.snsPlatformApplicationArnIos,
  SNS_PLATFORM_APPLICATION_ARN_ANDROID: s.app.snsPlatformApplicationArnAndroid,
  LLM_PROVIDER: "bedrock",
  BEDROCK_MODEL_ID: s.app.bedrockModelId,
  // Also where Comprehend Medical's DetectPHI de-identifies what goes to the model (the api and
  // worker IRSA roles need comprehendmedical:DetectPHI: environments.ts `bedrockRegion`).
  BEDROCK_REGION: s.app.bedrockRegion,
  COST_TRACKER: "dynamodb",
  COST_TRACKING_TABLE: s.app.costTrackingTable,
  GOOGLE_CLIENT_IDS: s.app.googleClientIds.join(","),
  DATABASE_SSL: "true",
  DB_POOL_MAX: String(s.app.dbPoolMax),
  WORKER_CONCURRENCY: String(s.worker.concurrency),
  IN_PROCESS_WORKERS: "false",
  WORKER_HEALTH_PORT: String(WORKER_HEALTH_PORT),
  MIGRATE_ON_START: "false",
  DEV_AUTH_ENABLED: "false",
  // The ALB Ingress appends the address it saw to X-Forwarded-For and is the pods' socket peer:
  // one trusted hop. Without it every client shared the load balancer's rate-limit bucket and
  // audit rows named the load balancer; what a client writes in the header itself stays ignored.
  TRUSTED_PROXY_HOPS: "1",
  OTEL_EXPORTER_OTLP_ENDPOINT: s.telemetry.collectorEndpoint
})

export interface AppConfigMapProps {
  readonly settings: EnvironmentSettings
}

export class AppConfigMap extends Construct {
  /** For every pod template: the checksum of the ConfigMap's data. */
  readonly podAnnotations: Readonly<Record<string, string>>

  constructor(scope: Construct, id: string, props: AppConfigMapProps) {
    super(scope, id)
    const data = configData(props.settings)
    new k8s.KubeConfigMap(this, "config-map", {
      metadata: { name: CONFIG_MAP_NAME, namespace: props.settings.namespace, labels: { "app.kubernetes.io/name": APP_NAME } },
      data
    })
    // Pods read the ConfigMap at start only: a changed checksum rolls them.
    this.podAnnotations = { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(data) }
  }
}
