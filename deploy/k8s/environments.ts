/**
 * Per-environment settings for the EKS chart. Every ARN, account id, hostname and CIDR here is a
 * well-formed placeholder (account 123456789012, example.com): the real values come from the
 * pipeline, which builds its own settings objects or edits these before `npm run synth:k8s`.
 */
import { DEFAULT_MODEL_ID } from "../../src/services/models.js"

export type EnvironmentName = "development" | "production"

export interface ResourceSettings {
  readonly requests: { readonly cpu: string; readonly memory: string }
  readonly limits: { readonly cpu: string; readonly memory: string }
}

export interface ScalingSettings {
  readonly minReplicas: number
  readonly maxReplicas: number
  readonly targetCpuUtilization: number
}

export interface WorkloadSettings {
  readonly resources: ResourceSettings
  readonly scaling: ScalingSettings
  /** IRSA: the IAM role the workload's ServiceAccount assumes. */
  readonly roleArn: string
}

export interface PeerSettings {
  readonly namespace: string
  readonly podLabels: Readonly<Record<string, string>>
}

export interface EnvironmentSettings {
  readonly name: EnvironmentName
  readonly namespace: string
  readonly image: { readonly repository: string; readonly tag: string }
  readonly api: WorkloadSettings & {
    readonly hostname: string
    readonly certificateArn: string
    readonly sslPolicy: string
  }
  /**
   * The job worker. It OCRs photos and scanned pages (for the check of Bedrock's answer against
   * the page: src/layers/llm/bedrockDocument.ts), one document at a time per process
   * (OCR_MAX_PARALLEL_READS), measured (from the sources, with tsx) at a peak RSS of 0.55 GB for a
   * 300-dpi letter scan, 1.0 GB for a 24 MP photo and 1.5 GB for the largest JPEG taken (36 MP):
   * hence a memory limit of 2Gi.
   */
  readonly worker: WorkloadSettings & { readonly concurrency: number }
  readonly migrate: {
    readonly resources: ResourceSettings
    readonly roleArn: string
    readonly backoffLimit: number
    readonly activeDeadlineSeconds: number
    readonly ttlSecondsAfterFinished: number
  }
  /**
   * Secret created outside this chart (External Secrets / the pipeline) holding the secret settings;
   * its DATABASE_URL is the application's role (serenya_app), never the schema's owner.
   */
  readonly secretName: string
  /**
   * Secret holding DATABASE_OWNER_URL, the schema owner's (e.g. the RDS master user's) URL: mounted
   * by the migration Job only, which migrates and gives serenya_app its login with DATABASE_URL's password.
   */
  readonly ownerSecretName: string
  readonly network: {
    /** Where the RDS/Aurora instances live: the only PostgreSQL egress allowed. */
    readonly databaseCidr: string
    /** Pods of the ingress controller, for controllers that proxy in-cluster. */
    readonly ingressController: PeerSettings
    /**
     * Subnets the ALB's nodes live in. With target-type ip the ALB connects to pod IPs directly,
     * so its traffic comes from these addresses, not from the controller's pods.
     */
    readonly loadBalancerCidrs: ReadonlyArray<string>
  }
  readonly telemetry: {
    /** OTLP/HTTP endpoint of the collector Service. */
    readonly collectorEndpoint: string
    readonly collector: PeerSettings
  }
  /** Shutdown timings: see terminationGracePeriodSeconds (chart/pods.ts). */
  readonly shutdown: {
    /** Passed as SHUTDOWN_TIMEOUT_MS: how long in-flight requests/jobs may run on after SIGTERM. */
    readonly timeoutSeconds: number
    /** api only: time for the ALB to stop sending new requests before SIGTERM arrives. */
    readonly preStopSeconds: number
  }
  readonly zoneSpread: "DoNotSchedule" | "ScheduleAnyway"
  /** Non-secret application settings (see src/config.ts for their meaning). */
  readonly app: {
    readonly logLevel: "debug" | "info" | "warning"
    readonly awsRegion: string
    readonly kmsFieldsKeyId: string
    readonly kmsDocumentsKeyId: string
    /** The audit trail's KMS HMAC key (HMAC_256, GENERATE_VERIFY_MAC). */
    readonly kmsAuditKeyId: string
    readonly s3Bucket: string
    /** The audit checkpoints' bucket (Object Lock, compliance mode). */
    readonly auditCheckpointBucket: string
    readonly bedrockModelId: string
    /**
     * Where Bedrock is called, and Comprehend Medical's DetectPHI before it (the identifiers are
     * found and replaced before any text goes to the model: src/layers/deidentifier/comprehendMedical.ts).
     * The api and worker IRSA roles (defined outside the chart) need, besides Bedrock's invoke actions,
     * `comprehendmedical:DetectPHI` on Resource "*" (the action has no resource type), best held
     * to this Region with the condition `aws:RequestedRegion`; the HTTPS egress reaches it.
     */
    readonly bedrockRegion: string
    readonly costTrackingTable: string
    readonly googleClientIds: ReadonlyArray<string>
    readonly dbPoolMax: number
    /**
     * The SNS platform applications push goes through (`arn:aws:sns:<region>:<account>:app/APNS/<name>`,
     * `…:app/GCM/<name>`), in `awsRegion`: created out of band with the push credentials
     * (docs/runbooks/push-notifications.md). The IRSA roles need SNS on them (README, Kubernetes).
     */
    readonly snsPlatformApplicationArnIos: string
    readonly snsPlatformApplicationArnAndroid: string
  }
}

const ACCOUNT = "123456789012"
const REGION = "eu-west-1"

const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`
const pushApplication = (platform: "APNS" | "APNS_SANDBOX" | "GCM", name: string) => `arn:aws:sns:${REGION}:${ACCOUNT}:app/${platform}/${name}`
const kmsKey = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`

const ingressController: PeerSettings = {
  namespace: "kube-system",
  podLabels: { "app.kubernetes.io/name": "aws-load-balancer-controller" }
}

const collector: PeerSettings = {
  namespace: "observability",
  podLabels: { "app.kubernetes.io/name": "opentelemetry-collector" }
}

export const development: EnvironmentSettings = {
  name: "development",
  namespace: "serenya-dev",
  image: { repository: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/serenya-backend`, tag: "0.1.0" },
  api: {
    hostname: "api.dev.serenya.example.com",
    certificateArn: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/00000000-0000-4000-8000-000000000001`,
    sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    roleArn: role("serenya-dev-api"),
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    scaling: { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70 }
  },
  worker: {
    concurrency: 2,
    roleArn: role("serenya-dev-worker"),
    resources: { requests: { cpu: "100m", memory: "1Gi" }, limits: { cpu: "500m", memory: "2Gi" } },
    scaling: { minReplicas: 1, maxReplicas: 2, targetCpuUtilization: 70 }
  },
  migrate: {
    roleArn: role("serenya-dev-migrate"),
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    backoffLimit: 2,
    activeDeadlineSeconds: 600,
    ttlSecondsAfterFinished: 86_400
  },
  secretName: "serenya-backend",
  ownerSecretName: "serenya-backend-owner",
  network: {
    databaseCidr: "10.10.64.0/20",
    ingressController,
    loadBalancerCidrs: ["10.10.0.0/22", "10.10.4.0/22", "10.10.8.0/22"]
  },
  telemetry: {
    collectorEndpoint: "http://opentelemetry-collector.observability.svc.cluster.local:4318",
    collector
  },
  shutdown: { timeoutSeconds: 10, preStopSeconds: 10 },
  zoneSpread: "ScheduleAnyway",
  app: {
    logLevel: "debug",
    awsRegion: REGION,
    kmsFieldsKeyId: kmsKey("00000000-0000-4000-8000-0000000000f1"),
    kmsDocumentsKeyId: kmsKey("00000000-0000-4000-8000-0000000000d1"),
    kmsAuditKeyId: kmsKey("00000000-0000-4000-8000-0000000000a1"),
    s3Bucket: "serenya-dev-documents-123456789012",
    auditCheckpointBucket: "serenya-dev-audit-checkpoints-123456789012",
    bedrockModelId: DEFAULT_MODEL_ID,
    bedrockRegion: REGION,
    costTrackingTable: "serenya-dev-llm-cost-tracking",
    googleClientIds: ["000000000000-devios.apps.googleusercontent.com", "000000000000-devandroid.apps.googleusercontent.com"],
    dbPoolMax: 10,
    // development builds of the iOS app register with APNs' sandbox
    snsPlatformApplicationArnIos: pushApplication("APNS_SANDBOX", "serenya-dev-ios"),
    snsPlatformApplicationArnAndroid: pushApplication("GCM", "serenya-dev-android")
  }
}

export const production: EnvironmentSettings = {
  name: "production",
  namespace: "serenya",
  image: { repository: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/serenya-backend`, tag: "0.1.0" },
  api: {
    hostname: "api.serenya.example.com",
    certificateArn: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/00000000-0000-4000-8000-000000000002`,
    sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    roleArn: role("serenya-prod-api"),
    resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    scaling: { minReplicas: 3, maxReplicas: 12, targetCpuUtilization: 65 }
  },
  worker: {
    concurrency: 4,
    roleArn: role("serenya-prod-worker"),
    resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { cpu: "1", memory: "2Gi" } },
    scaling: { minReplicas: 2, maxReplicas: 8, targetCpuUtilization: 70 }
  },
  migrate: {
    roleArn: role("serenya-prod-migrate"),
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    backoffLimit: 2,
    activeDeadlineSeconds: 900,
    ttlSecondsAfterFinished: 604_800
  },
  secretName: "serenya-backend",
  ownerSecretName: "serenya-backend-owner",
  network: {
    databaseCidr: "10.20.64.0/20",
    ingressController,
    loadBalancerCidrs: ["10.20.0.0/22", "10.20.4.0/22", "10.20.8.0/22"]
  },
  telemetry: {
    collectorEndpoint: "http://opentelemetry-collector.observability.svc.cluster.local:4318",
    collector
  },
  shutdown: { timeoutSeconds: 20, preStopSeconds: 15 },
  zoneSpread: "DoNotSchedule",
  app: {
    logLevel: "info",
    awsRegion: REGION,
    kmsFieldsKeyId: kmsKey("00000000-0000-4000-8000-0000000000f2"),
    kmsDocumentsKeyId: kmsKey("00000000-0000-4000-8000-0000000000d2"),
    kmsAuditKeyId: kmsKey("00000000-0000-4000-8000-0000000000a2"),
    s3Bucket: "serenya-prod-documents-123456789012",
    auditCheckpointBucket: "serenya-prod-audit-checkpoints-123456789012",
    bedrockModelId: DEFAULT_MODEL_ID,
    bedrockRegion: REGION,
    costTrackingTable: "serenya-prod-llm-cost-tracking",
    googleClientIds: ["000000000000-ios.apps.googleusercontent.com", "000000000000-android.apps.googleusercontent.com"],
    dbPoolMax: 20,
    snsPlatformApplicationArnIos: pushApplication("APNS", "serenya-ios"),
    snsPlatformApplicationArnAndroid: pushApplication("GCM", "serenya-android")
  }
}

export const environments: Readonly<Record<EnvironmentName, EnvironmentSettings>> = { development, production }
