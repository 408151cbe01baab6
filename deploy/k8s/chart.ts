/**
 * The Serenya backend on EKS: one chart per environment, configured by EnvironmentSettings.
 *
 * Release order (the pipeline's job, there are no hooks in plain manifests):
 *   1. base: the Namespace, ServiceAccounts, ConfigMap and NetworkPolicies;
 *   2. migrate: the migration Job (its name carries the image tag and a digest of its spec, so
 *      each release gets a new Job), then wait for it to complete:
 *      `kubectl wait --for=condition=complete --timeout=<activeDeadlineSeconds>s $(kubectl apply -f 2-migrate.k8s.yaml -o name)`
 *      (a failed Job never completes: the wait times out and the release stops there);
 *   3. workloads: only then the Deployments, Service, autoscalers, budgets and the Ingress.
 * main.ts writes one file per phase (see releasePhase).
 * The Secrets named by `secretName` and `ownerSecretName` are not part of the chart: they are created
 * from Secrets Manager (External Secrets) or by the pipeline, so no secret value ever lands in these
 * manifests. The owner's (DATABASE_OWNER_URL) is referenced by the migration Job alone.
 */
import { Chart, type ChartProps } from "cdk8s"
import { createHash } from "node:crypto"
import { k8s } from "cdk8s-plus-28"
import type { Construct } from "constructs"
import type { EnvironmentSettings, PeerSettings, ResourceSettings, ScalingSettings } from "./environments.js"

export const APP_NAME = "serenya"
export const HTTP_PORT = 3000
/** `npm run worker` answers its probes here (WORKER_HEALTH_PORT). */
export const WORKER_HEALTH_PORT = 3001
export const RUN_AS_ID = 10001
/** Settings src/config.ts reads as Config.Redacted: only ever from the Secret. */
export const SECRET_KEYS = ["DATABASE_URL", "JWT_PRIVATE_KEY", "USER_LOOKUP_KEY"] as const
/** The schema owner's URL, in a Secret of its own that only the migration Job references. */
export const OWNER_SECRET_KEY = "DATABASE_OWNER_URL"
/**
 * After in-flight work (SHUTDOWN_TIMEOUT_MS), the cost tracker gets up to 5 s to flush pending
 * records (src/layers/costTracker/background.ts, flushTimeout default) before the pool closes.
 */
export const COST_FLUSH_SECONDS = 5
const GRACE_MARGIN_SECONDS = 5

export const CONFIG_CHECKSUM_ANNOTATION = "checksum/config"

export const configChecksum = (data: Readonly<Record<string, string>>): string =>
  createHash("sha256")
    .update(JSON.stringify(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))
    .digest("hex")

export type ReleasePhase = "1-base" | "2-migrate" | "3-workloads"

export const releasePhase = (kind: string): ReleasePhase => {
  switch (kind) {
    case "Job":
      return "2-migrate"
    case "Deployment":
    case "Service":
    case "HorizontalPodAutoscaler":
    case "PodDisruptionBudget":
    case "Ingress":
      return "3-workloads"
    default:
      return "1-base"
  }
}

export type Component = "api" | "worker" | "migrate"

export const resourceName = (component: Component) => `${APP_NAME}-${component}`

/** Kubernetes sends SIGTERM only after preStop ends, so both count against the grace period. */
export const terminationGracePeriodSeconds = (shutdownTimeoutSeconds: number, preStopSeconds: number) =>
  preStopSeconds + shutdownTimeoutSeconds + COST_FLUSH_SECONDS + GRACE_MARGIN_SECONDS

/**
 * A DNS-1123 label (the Job's pods carry it as a label value, 63 characters at most): the image
 * tag plus a digest of the Job's spec. A Job's pod template is immutable, so a release that
 * changes only settings needs a new name too; re-applying an unchanged release is a no-op.
 */
export const migrateJobName = (tag: string, spec: unknown): string => {
  const prefix = `${resourceName("migrate")}-`
  const digest = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 8)
  const slug = tag
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63 - prefix.length - digest.length - 1)
    .replace(/-+$/, "")
  if (slug === "") throw new Error(`image tag ${JSON.stringify(tag)} gives no usable Job name`)
  return `${prefix}${slug}-${digest}`
}

const serverCommand = (entry: string) => ["node", "--import", "tsx", `src/main/${entry}.ts`]

const q = (value: string) => k8s.Quantity.fromString(value)

const resources = (r: ResourceSettings): k8s.ResourceRequirements => ({
  requests: { cpu: q(r.requests.cpu), memory: q(r.requests.memory) },
  limits: { cpu: q(r.limits.cpu), memory: q(r.limits.memory) }
})

const seccompProfile = { type: "RuntimeDefault" }

/** The restricted Pod Security Standard, plus a read-only root filesystem. */
const containerSecurityContext: k8s.SecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS_ID,
  runAsGroup: RUN_AS_ID,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile
}

const podSecurityContext: k8s.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS_ID,
  runAsGroup: RUN_AS_ID,
  fsGroup: RUN_AS_ID,
  seccompProfile
}

const tmpVolume: k8s.Volume = { name: "tmp", emptyDir: { sizeLimit: q("256Mi") } }
// tsx keeps its transform cache under os.tmpdir(); nothing else writes to disk in production.
const tmpMount: k8s.VolumeMount = { name: "tmp", mountPath: "/tmp" }

const peer = (p: PeerSettings): k8s.NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } },
  podSelector: { matchLabels: { ...p.podLabels } }
})

const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: "TCP", port: k8s.IntOrString.fromNumber(port) })

const urlPort = (endpoint: string): number => {
  const url = new URL(endpoint)
  if (url.port !== "") return Number(url.port)
  return url.protocol === "https:" ? 443 : 80
}

export class SerenyaChart extends Chart {
  readonly settings: EnvironmentSettings

  constructor(scope: Construct, id: string, settings: EnvironmentSettings, props: ChartProps = {}) {
    super(scope, id, props)
    this.settings = settings
    const s = settings
    const namespace = s.namespace
    const image = `${s.image.repository}:${s.image.tag}`
    const configMapName = `${APP_NAME}-config`

    const labels = (component: Component) => ({
      "app.kubernetes.io/name": APP_NAME,
      "app.kubernetes.io/instance": `${APP_NAME}-${s.name}`,
      "app.kubernetes.io/component": component
    })
    const podLabels = (component: Component) => ({
      ...labels(component),
      "app.kubernetes.io/version": s.image.tag
    })
    const meta = (component: Component, name = resourceName(component)): k8s.ObjectMeta => ({
      name,
      namespace,
      labels: podLabels(component)
    })

    new k8s.KubeNamespace(this, "namespace", {
      metadata: {
        name: namespace,
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
          "pod-security.kubernetes.io/audit": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
          // Rollouts wait until the ALB sees a new pod healthy before taking an old one away.
          "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"
        }
      }
    })

    const roles: Record<Component, string> = { api: s.api.roleArn, worker: s.worker.roleArn, migrate: s.migrate.roleArn }
    for (const component of ["api", "worker", "migrate"] as const) {
      // The IRSA webhook mounts its own projected token for STS, so the API token stays off.
      new k8s.KubeServiceAccount(this, `${component}-service-account`, {
        metadata: {
          ...meta(component),
          annotations: {
            "eks.amazonaws.com/role-arn": roles[component],
            "eks.amazonaws.com/sts-regional-endpoints": "true"
          }
        },
        automountServiceAccountToken: false
      })
    }

    const configData: Record<string, string> = {
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
      LLM_PROVIDER: "bedrock",
      BEDROCK_MODEL_ID: s.app.bedrockModelId,
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
    }
    new k8s.KubeConfigMap(this, "config", {
      metadata: { name: configMapName, namespace, labels: { "app.kubernetes.io/name": APP_NAME } },
      data: configData
    })
    // Pods read the ConfigMap at start only: a changed checksum rolls them.
    const podAnnotations = { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(configData) }

    const env = (component: Component): Array<k8s.EnvVar> => [
      { name: "K8S_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "K8S_NAMESPACE_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "K8S_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      { name: "OTEL_SERVICE_NAME", value: resourceName(component) },
      {
        // $(VAR) is expanded by the kubelet from the variables defined above.
        name: "OTEL_RESOURCE_ATTRIBUTES",
        value: [
          "k8s.pod.name=$(K8S_POD_NAME)",
          "k8s.namespace.name=$(K8S_NAMESPACE_NAME)",
          "k8s.node.name=$(K8S_NODE_NAME)",
          `deployment.environment.name=${s.name}`,
          `service.version=${s.image.tag}`
        ].join(",")
      },
      // src/config.ts refuses to start with APP_ENV=production unless all three are set, even for migrate.
      ...SECRET_KEYS.map(
        (key): k8s.EnvVar => ({ name: key, valueFrom: { secretKeyRef: { name: s.secretName, key, optional: false } } })
      ),
      // Migrations run as the schema's owner; the server and workers never hold its credentials.
      ...(component === "migrate"
        ? [{ name: OWNER_SECRET_KEY, valueFrom: { secretKeyRef: { name: s.ownerSecretName, key: OWNER_SECRET_KEY, optional: false } } }]
        : [])
    ]

    const container = (component: Component, extra: Partial<k8s.Container>): k8s.Container => ({
      name: component,
      image,
      imagePullPolicy: "IfNotPresent",
      command: serverCommand(component === "api" ? "server" : component),
      envFrom: [{ configMapRef: { name: configMapName } }],
      env: env(component),
      securityContext: containerSecurityContext,
      volumeMounts: [tmpMount],
      ...extra
    })

    const podSpec = (component: Component, graceSeconds: number, containers: Array<k8s.Container>): k8s.PodSpec => ({
      serviceAccountName: resourceName(component),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurityContext,
      terminationGracePeriodSeconds: graceSeconds,
      volumes: [tmpVolume],
      containers
    })

    const spread = (component: Component): Array<k8s.TopologySpreadConstraint> => [
      {
        topologyKey: "topology.kubernetes.io/zone",
        maxSkew: 1,
        whenUnsatisfiable: s.zoneSpread,
        labelSelector: { matchLabels: labels(component) },
        // Spread each ReplicaSet on its own, so a rollout does not count the old pods.
        matchLabelKeys: ["pod-template-hash"]
      },
      {
        topologyKey: "kubernetes.io/hostname",
        maxSkew: 1,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: labels(component) },
        matchLabelKeys: ["pod-template-hash"]
      }
    ]

    const deployment = (component: "api" | "worker", spec: k8s.PodSpec) =>
      new k8s.KubeDeployment(this, `${component}-deployment`, {
        metadata: meta(component),
        spec: {
          // No replicas: the HorizontalPodAutoscaler owns the count, a re-apply must not reset it.
          revisionHistoryLimit: 5,
          progressDeadlineSeconds: 600,
          selector: { matchLabels: labels(component) },
          strategy: {
            type: "RollingUpdate",
            rollingUpdate: { maxSurge: k8s.IntOrString.fromString("25%"), maxUnavailable: k8s.IntOrString.fromNumber(0) }
          },
          template: {
            metadata: { labels: podLabels(component), annotations: podAnnotations },
            spec: { ...spec, topologySpreadConstraints: spread(component) }
          }
        }
      })

    const autoscaling = (component: "api" | "worker", scaling: ScalingSettings) => {
      new k8s.KubeHorizontalPodAutoscalerV2(this, `${component}-autoscaler`, {
        metadata: meta(component),
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: resourceName(component) },
          minReplicas: scaling.minReplicas,
          maxReplicas: scaling.maxReplicas,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: scaling.targetCpuUtilization } }
            }
          ],
          behavior: {
            scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] }
          }
        }
      })
      new k8s.KubePodDisruptionBudget(this, `${component}-disruption-budget`, {
        metadata: meta(component),
        spec: {
          // maxUnavailable rather than minAvailable: a one-replica development pod must not block node drains.
          maxUnavailable: k8s.IntOrString.fromNumber(1),
          selector: { matchLabels: labels(component) },
          unhealthyPodEvictionPolicy: "AlwaysAllow"
        }
      })
    }

    // api: the HTTP server.
    const apiGrace = terminationGracePeriodSeconds(s.shutdown.timeoutSeconds, s.shutdown.preStopSeconds)
    const httpGet = (path: string): k8s.HttpGetAction => ({
      path,
      port: k8s.IntOrString.fromString("http"),
      scheme: "HTTP"
    })
    deployment(
      "api",
      podSpec("api", apiGrace, [
        container("api", {
          ports: [{ name: "http", containerPort: HTTP_PORT, protocol: "TCP" }],
          resources: resources(s.api.resources),
          startupProbe: { httpGet: httpGet("/health"), periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
          livenessProbe: { httpGet: httpGet("/health"), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
          readinessProbe: { httpGet: httpGet("/ready"), periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
          lifecycle: {
            // The pod leaves the endpoints and the ALB target group asynchronously; until that has
            // propagated, new requests still arrive, so SIGTERM (which refuses them) waits.
            preStop: { exec: { command: ["sleep", String(s.shutdown.preStopSeconds)] } }
          }
        })
      ])
    )
    autoscaling("api", s.api.scaling)

    // worker: its probes use the operations endpoints it serves on WORKER_HEALTH_PORT (nothing else
    // of the API is there). No preStop: nothing routes traffic to it, SIGTERM may come at once.
    const probeGet = (path: string): k8s.HttpGetAction => ({
      path,
      port: k8s.IntOrString.fromString("probes"),
      scheme: "HTTP"
    })
    deployment(
      "worker",
      podSpec("worker", terminationGracePeriodSeconds(s.shutdown.timeoutSeconds, 0), [
        container("worker", {
          ports: [{ name: "probes", containerPort: WORKER_HEALTH_PORT, protocol: "TCP" }],
          resources: resources(s.worker.resources),
          startupProbe: { httpGet: probeGet("/health"), periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
          livenessProbe: { httpGet: probeGet("/health"), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
          readinessProbe: { httpGet: probeGet("/ready"), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 2 }
        })
      ])
    )
    autoscaling("worker", s.worker.scaling)

    new k8s.KubeService(this, "api-service", {
      metadata: meta("api"),
      spec: {
        type: "ClusterIP",
        selector: labels("api"),
        ports: [{ name: "http", port: 80, targetPort: k8s.IntOrString.fromString("http"), protocol: "TCP" }]
      }
    })

    new k8s.KubeIngress(this, "api-ingress", {
      metadata: {
        ...meta("api"),
        annotations: {
          "alb.ingress.kubernetes.io/scheme": "internet-facing",
          "alb.ingress.kubernetes.io/target-type": "ip",
          // Port 80 exists only to redirect to 443.
          "alb.ingress.kubernetes.io/listen-ports": JSON.stringify([{ HTTP: 80 }, { HTTPS: 443 }]),
          "alb.ingress.kubernetes.io/ssl-redirect": "443",
          "alb.ingress.kubernetes.io/certificate-arn": s.api.certificateArn,
          "alb.ingress.kubernetes.io/ssl-policy": s.api.sslPolicy,
          "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
          "alb.ingress.kubernetes.io/healthcheck-path": "/health",
          "alb.ingress.kubernetes.io/success-codes": "200",
          "alb.ingress.kubernetes.io/target-group-attributes": `deregistration_delay.timeout_seconds=${apiGrace}`,
          "alb.ingress.kubernetes.io/load-balancer-attributes": "routing.http.drop_invalid_header_fields.enabled=true"
        }
      },
      spec: {
        ingressClassName: "alb",
        tls: [{ hosts: [s.api.hostname] }],
        rules: [
          {
            host: s.api.hostname,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: resourceName("api"), port: { name: "http" } } }
                }
              ]
            }
          }
        ]
      }
    })

    const jobSpec: k8s.JobSpec = {
      backoffLimit: s.migrate.backoffLimit,
      activeDeadlineSeconds: s.migrate.activeDeadlineSeconds,
      ttlSecondsAfterFinished: s.migrate.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: podLabels("migrate"), annotations: podAnnotations },
        spec: {
          ...podSpec("migrate", terminationGracePeriodSeconds(s.shutdown.timeoutSeconds, 0), [
            container("migrate", { resources: resources(s.migrate.resources) })
          ]),
          restartPolicy: "Never"
        }
      }
    }
    new k8s.KubeJob(this, "migrate-job", {
      metadata: meta("migrate", migrateJobName(s.image.tag, jobSpec)),
      spec: jobSpec
    })


    this.networkPolicies()
  }

  private networkPolicies(): void {
    const s = this.settings
    const namespace = s.namespace
    const selector = (component: Component) => ({
      matchLabels: { "app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/component": component }
    })
    const dns: k8s.NetworkPolicyEgressRule = {
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
          podSelector: { matchLabels: { "k8s-app": "kube-dns" } }
        }
      ],
      ports: [
        { protocol: "UDP", port: k8s.IntOrString.fromNumber(53) },
        { protocol: "TCP", port: k8s.IntOrString.fromNumber(53) }
      ]
    }
    const postgres: k8s.NetworkPolicyEgressRule = { to: [{ ipBlock: { cidr: s.network.databaseCidr } }], ports: [tcp(5432)] }
    // KMS, S3, Bedrock, DynamoDB, STS (IRSA) and Google's JWKS: HTTPS only.
    const https: k8s.NetworkPolicyEgressRule = { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(443)] }
    // Without it the OTLP exporter could not reach the collector Service the settings name.
    const collector: k8s.NetworkPolicyEgressRule = {
      to: [peer(s.telemetry.collector)],
      ports: [tcp(urlPort(s.telemetry.collectorEndpoint))]
    }

    new k8s.KubeNetworkPolicy(this, "default-deny", {
      metadata: { name: "default-deny-all", namespace },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] }
    })
    new k8s.KubeNetworkPolicy(this, "api-network-policy", {
      metadata: { name: resourceName("api"), namespace },
      spec: {
        podSelector: selector("api"),
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          {
            from: [
              peer(s.network.ingressController),
              ...s.network.loadBalancerCidrs.map((cidr): k8s.NetworkPolicyPeer => ({ ipBlock: { cidr } }))
            ],
            ports: [tcp(HTTP_PORT)]
          }
        ],
        egress: [dns, postgres, https, collector]
      }
    })
    new k8s.KubeNetworkPolicy(this, "worker-network-policy", {
      metadata: { name: resourceName("worker"), namespace },
      spec: {
        podSelector: selector("worker"),
        policyTypes: ["Ingress", "Egress"],
        ingress: [],
        egress: [dns, postgres, https, collector]
      }
    })
    new k8s.KubeNetworkPolicy(this, "migrate-network-policy", {
      metadata: { name: resourceName("migrate"), namespace },
      spec: {
        podSelector: selector("migrate"),
        policyTypes: ["Ingress", "Egress"],
        ingress: [],
        egress: [dns, postgres, collector]
      }
    })
  }
}
