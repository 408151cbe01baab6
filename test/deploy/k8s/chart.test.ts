/**
 * The synthesized manifests for each environment: security on every pod, probes, scaling,
 * disruption budgets, network policies, IRSA, secrets only by reference, shutdown timing.
 */
import type { HttpServerRequest } from "effect/http"
import { Duration, Effect, Result, Option } from "effect"
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment"
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler"
import type { IJob } from "kubernetes-models/batch/v1/Job"
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress"
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy"
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer"
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget"
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap"
import type { IContainer } from "kubernetes-models/v1/Container"
import type { INamespace } from "kubernetes-models/v1/Namespace"
import type { IService } from "kubernetes-models/v1/Service"
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount"
import { describe, expect, it } from "vitest"
import {
  CONFIG_CHECKSUM_ANNOTATION,
  configChecksum,
  COST_FLUSH_SECONDS,
  HTTP_PORT,
  migrateJobName,
  OWNER_SECRET_KEY,
  releasePhase,
  SECRET_KEYS,
  WORKER_HEALTH_PORT
} from "../../../deploy/k8s/chart.js"
import { environments, type EnvironmentSettings } from "../../../deploy/k8s/environments.js"
import { loadSettings, settingsProvider } from "../../../src/config.js"
import { clientAddress } from "../../../src/http/clientAddress.js"
import { allContainers, named, ofKind, onlyContainer, podTemplates, synth, type K8sObject } from "./manifests.js"

/** Names and values that must never be in a ConfigMap; returns what it found. */
const secretLookingEntries = (data: Readonly<Record<string, string>>): Array<string> => {
  const secretNames = new Set<string>([...SECRET_KEYS, "LOCAL_MASTER_KEY"])
  const namePattern = /PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|MASTER_KEY|LOOKUP_KEY|API_KEY|ACCESS_KEY/i
  const valueChecks: ReadonlyArray<readonly [string, (value: string) => boolean]> = [
    ["a PEM key", (v) => /-----BEGIN [A-Z ]*KEY-----/.test(v)],
    ["a URL with user:password@", (v) => /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i.test(v)],
    ["a database URL", (v) => /^postgres(ql)?:\/\//i.test(v)],
    ["a 32-byte hex key", (v) => /(^|[^0-9a-f-])[0-9a-f]{64}([^0-9a-f-]|$)/i.test(v)],
    // ARNs and UUIDs are long too, but a random base64 key mixes upper case, lower case and digits.
    ["a base64 blob", (v) => (v.match(/[A-Za-z0-9+/_-]{40,}={0,2}/g) ?? []).some((t) => /[A-Z]/.test(t) && /[a-z]/.test(t) && /\d/.test(t))],
    ["an AWS access key id", (v) => /\b(AKIA|ASIA)[0-9A-Z]{16}\b/.test(v)]
  ]
  return Object.entries(data).flatMap(([name, value]) => [
    ...(secretNames.has(name) || namePattern.test(name) ? [`name ${name}`] : []),
    ...valueChecks.filter(([, looksLike]) => looksLike(value)).map(([what]) => `value of ${name} looks like ${what}`)
  ])
}

const labelsMatch = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value)

const envValue = (container: IContainer, name: string) => container.env?.find((e) => e.name === name)

const portNumber = (port: number | string | undefined) => (typeof port === "number" ? port : Number.NaN)

describe("secretLookingEntries (the ConfigMap scanner)", () => {
  it("finds secret names and secret-looking values", () => {
    expect(
      secretLookingEntries({
        DATABASE_URL: "x",
        DB_PASSWORD: "x",
        READ_REPLICA: "postgresql://app:hunter2@db.internal:5432/serenya",
        WEBHOOK: "https://user:pa55@hooks.example.com/x",
        SIGNING: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----",
        LOOKUP: "a".repeat(64),
        BLOB: "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLWxvbmctZW5vdWdo",
        AWS: "AKIAABCDEFGHIJKLMNOP"
      })
    ).toEqual([
      "name DATABASE_URL",
      "name DB_PASSWORD",
      "value of READ_REPLICA looks like a URL with user:password@",
      "value of READ_REPLICA looks like a database URL",
      "value of WEBHOOK looks like a URL with user:password@",
      "value of SIGNING looks like a PEM key",
      "value of LOOKUP looks like a 32-byte hex key",
      "value of BLOB looks like a base64 blob",
      "value of AWS looks like an AWS access key id"
    ])
  })

  it("passes plain settings, ARNs and URLs without credentials", () => {
    expect(
      secretLookingEntries({
        KMS_FIELDS_KEY_ID: "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-4000-8000-0000000000f1",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector.observability.svc:4318",
        PORT: "3000"
      })
    ).toEqual([])
  })
})

describe.each(Object.values(environments))("SerenyaChart ($name)", (settings: EnvironmentSettings) => {
  const objects = synth(settings)
  const image = `${settings.image.repository}:${settings.image.tag}`
  const templates = podTemplates(objects)
  const config = named<IConfigMap>(objects, "ConfigMap", "serenya-config")
  const data = config.data ?? {}
  const api = named<IDeployment>(objects, "Deployment", "serenya-api")
  const worker = named<IDeployment>(objects, "Deployment", "serenya-worker")
  const jobs = ofKind<IJob>(objects, "Job")
  if (jobs.length !== 1 || jobs[0] === undefined) throw new Error(`expected one Job, found ${jobs.length}`)
  const job = jobs[0]
  const apiPod = templates.find((t) => t.owner === "Deployment/serenya-api")
  const workerPod = templates.find((t) => t.owner === "Deployment/serenya-worker")
  if (apiPod === undefined || workerPod === undefined) throw new Error("missing pod templates")
  const apiContainer = onlyContainer(apiPod.spec)
  const workerContainer = onlyContainer(workerPod.spec)

  it("synthesizes exactly the expected objects, namespaced in the environment's namespace", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        `Namespace/${settings.namespace}`,
        "ServiceAccount/serenya-api",
        "ServiceAccount/serenya-worker",
        "ServiceAccount/serenya-migrate",
        "ConfigMap/serenya-config",
        "Deployment/serenya-api",
        "Deployment/serenya-worker",
        "HorizontalPodAutoscaler/serenya-api",
        "HorizontalPodAutoscaler/serenya-worker",
        "PodDisruptionBudget/serenya-api",
        "PodDisruptionBudget/serenya-worker",
        "Service/serenya-api",
        "Ingress/serenya-api",
        `Job/${job.metadata.name}`,
        "NetworkPolicy/default-deny-all",
        "NetworkPolicy/serenya-api",
        "NetworkPolicy/serenya-worker",
        "NetworkPolicy/serenya-migrate"
      ].sort()
    )
    for (const o of objects.filter((o) => o.kind !== "Namespace")) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(settings.namespace)
    }
  })

  it("enforces the restricted Pod Security Standard on the namespace", () => {
    const ns = named<INamespace>(objects, "Namespace", settings.namespace)
    expect(ns.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/warn": "restricted"
    })
  })

  describe("every pod", () => {
    it("covers the api, the worker and the migration Job", () => {
      expect(templates.map((t) => t.owner).sort()).toEqual(
        [`Deployment/serenya-api`, `Deployment/serenya-worker`, `Job/${job.metadata.name}`].sort()
      )
    })

    it.each(templates.map((t) => [t.owner, t] as const))("%s: pod security context", (_owner, { spec }) => {
      expect(spec.securityContext?.runAsNonRoot).toBe(true)
      expect(spec.securityContext?.runAsUser).toBeGreaterThan(0)
      expect(spec.securityContext?.runAsGroup).toBeGreaterThan(0)
      expect(spec.securityContext?.seccompProfile).toEqual({ type: "RuntimeDefault" })
      expect(spec.automountServiceAccountToken).toBe(false)
      expect(spec.hostNetwork ?? false).toBe(false)
      expect(spec.hostPID ?? false).toBe(false)
      expect(spec.hostIPC ?? false).toBe(false)
      expect((spec.volumes ?? []).every((v) => v.hostPath === undefined)).toBe(true)
    })

    it.each(templates.map((t) => [t.owner, t] as const))("%s: every container is locked down", (_owner, { spec }) => {
      const containers = allContainers(spec)
      expect(containers.length).toBeGreaterThan(0)
      for (const c of containers) {
        const sc = c.securityContext
        expect(sc?.allowPrivilegeEscalation, c.name).toBe(false)
        expect(sc?.privileged ?? false, c.name).toBe(false)
        expect(sc?.readOnlyRootFilesystem, c.name).toBe(true)
        expect(sc?.runAsNonRoot, c.name).toBe(true)
        expect(sc?.runAsUser, c.name).toBeGreaterThan(0)
        expect(sc?.capabilities?.drop, c.name).toEqual(["ALL"])
        expect(sc?.capabilities?.add, c.name).toBeUndefined()
        expect(sc?.seccompProfile, c.name).toEqual({ type: "RuntimeDefault" })
        // A read-only root needs somewhere writable for os.tmpdir() (tsx's cache).
        const tmp = c.volumeMounts?.find((m) => m.mountPath === "/tmp")
        expect(tmp, c.name).toBeDefined()
        expect(spec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir, c.name).toBeDefined()
      }
    })

    it.each(templates.map((t) => [t.owner, t] as const))("%s: requests and limits, the image from the settings", (_owner, { spec }) => {
      for (const c of allContainers(spec)) {
        expect(c.image, c.name).toBe(image)
        expect(Object.keys(c.resources?.requests ?? {}).sort(), c.name).toEqual(["cpu", "memory"])
        expect(Object.keys(c.resources?.limits ?? {}).sort(), c.name).toEqual(["cpu", "memory"])
      }
    })

    it.each(templates.map((t) => [t.owner, t] as const))("%s: its own IRSA ServiceAccount", (owner, { spec, labels }) => {
      const component = labels["app.kubernetes.io/component"]
      expect(["api", "worker", "migrate"]).toContain(component)
      expect(spec.serviceAccountName, owner).toBe(`serenya-${component}`)
    })

    it.each(templates.map((t) => [t.owner, t] as const))("%s: secrets only from the Secret, settings from the ConfigMap", (_owner, { spec }) => {
      for (const c of allContainers(spec)) {
        for (const key of SECRET_KEYS) {
          const variable = envValue(c, key)
          expect(variable?.value, `${c.name} ${key}`).toBeUndefined()
          expect(variable?.valueFrom?.secretKeyRef, `${c.name} ${key}`).toEqual({ name: settings.secretName, key, optional: false })
        }
        for (const source of c.envFrom ?? []) {
          expect(source.configMapRef?.name ?? source.secretRef?.name).toBeDefined()
          if (source.configMapRef !== undefined) expect(source.configMapRef.name).toBe("serenya-config")
        }
        const literals = (c.env ?? []).filter((e) => e.value !== undefined)
        expect(secretLookingEntries(Object.fromEntries(literals.map((e) => [e.name, e.value ?? ""])))).toEqual([])
      }
    })

    it.each(templates.map((t) => [t.owner, t] as const))("%s: telemetry resource attributes from the downward API", (_owner, { spec }) => {
      for (const c of allContainers(spec)) {
        const env = c.env ?? []
        expect(envValue(c, "K8S_POD_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name")
        expect(envValue(c, "K8S_NAMESPACE_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace")
        expect(envValue(c, "K8S_NODE_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("spec.nodeName")
        expect(envValue(c, "OTEL_SERVICE_NAME")?.value).toMatch(/^serenya-(api|worker|migrate)$/)
        const attributes = envValue(c, "OTEL_RESOURCE_ATTRIBUTES")?.value ?? ""
        expect(attributes).toContain(
          "k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE_NAME),k8s.node.name=$(K8S_NODE_NAME)"
        )
        // The kubelet expands $(VAR) only from variables defined before it.
        const position = env.findIndex((e) => e.name === "OTEL_RESOURCE_ATTRIBUTES")
        for (const [, name] of attributes.matchAll(/\$\(([A-Z0-9_]+)\)/g)) {
          const defined = env.findIndex((e) => e.name === name)
          expect(defined, `${name}`).toBeGreaterThanOrEqual(0)
          expect(defined, `${name}`).toBeLessThan(position)
        }
      }
    })
  })

  describe("the ConfigMap", () => {
    it("holds no secret names nor secret-looking values", () => {
      expect(secretLookingEntries(data)).toEqual([])
      expect(ofKind(objects, "Secret")).toEqual([])
    })

    it("points the OTLP exporter at the collector", () => {
      expect(data.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(settings.telemetry.collectorEndpoint)
    })

    it("with the Secret's keys, satisfies src/config.ts's production checks", async () => {
      const secrets: Record<(typeof SECRET_KEYS)[number], string> = {
        DATABASE_URL: "postgres://serenya:not-a-password@db.internal:5432/serenya",
        JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----",
        USER_LOOKUP_KEY: "ab".repeat(32)
      }
      const provider = settingsProvider({ ...data, ...secrets })
      const loaded = await Effect.runPromise(loadSettings(provider))
      if (Result.isFailure(loaded)) throw new Error(loaded.failure)
      const s = loaded.success
      expect(s.appEnv).toBe("production")
      expect(s.host).toBe("0.0.0.0")
      expect(s.port).toBe(HTTP_PORT)
      expect(Duration.toSeconds(s.shutdownTimeout)).toBe(settings.shutdown.timeoutSeconds)
      expect(s.crypto.provider).toBe("kms")
      expect(s.storage.provider).toBe("s3")
      expect(s.llm.provider).toBe("bedrock")
      expect(s.cost.tracker).toBe("dynamodb")
      expect(s.auth.googleClientIds).toEqual(settings.app.googleClientIds)
      expect(s.auth.devAuthEnabled).toBe(false)
      expect(s.worker.inProcess).toBe(false)
      expect(s.database.migrateOnStart).toBe(false)
      expect(s.database.ssl).toBe(true)
      // Behind the ALB (the peer), the client is the address it appended, not one the client wrote.
      expect(s.trustedProxyHops).toBe(1)
      const throughAlb = {
        remoteAddress: Option.some("10.0.3.17"),
        headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.9" }
      } as unknown as HttpServerRequest.HttpServerRequest
      expect(clientAddress(throughAlb, s.trustedProxyHops)).toEqual(Option.some("203.0.113.9"))
    })
  })

  describe("api", () => {
    const containerPort = (name: string) => apiContainer.ports?.find((p) => p.name === name)?.containerPort

    it("runs the HTTP server on the port the settings give the server", () => {
      expect(apiContainer.command).toEqual(["node", "--import", "tsx", "src/main/server.ts"])
      expect(containerPort("http")).toBe(Number(data.PORT))
    })

    it("probes /health for start-up and liveness and /ready for readiness, on the server's port", () => {
      const probes = { startup: apiContainer.startupProbe, liveness: apiContainer.livenessProbe, readiness: apiContainer.readinessProbe }
      expect(probes.startup?.httpGet?.path).toBe("/health")
      expect(probes.liveness?.httpGet?.path).toBe("/health")
      expect(probes.readiness?.httpGet?.path).toBe("/ready")
      for (const probe of Object.values(probes)) {
        expect(probe?.httpGet?.port).toBe("http")
        expect(probe?.httpGet?.scheme).toBe("HTTP")
      }
      // The start-up budget, not liveness, covers a slow start.
      const startupBudget = (probes.startup?.periodSeconds ?? 0) * (probes.startup?.failureThreshold ?? 0)
      expect(startupBudget).toBeGreaterThanOrEqual(30)
    })

    it("pauses before SIGTERM and gives the server longer than pause + shutdown + cost flush", () => {
      const preStop = apiContainer.lifecycle?.preStop?.exec?.command ?? []
      expect(preStop).toEqual(["sleep", String(settings.shutdown.preStopSeconds)])
      const pause = Number(preStop[1])
      const shutdown = Number(data.SHUTDOWN_TIMEOUT_MS) / 1000
      expect(pause).toBeGreaterThan(0)
      expect(shutdown).toBe(settings.shutdown.timeoutSeconds)
      expect(apiPod.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + shutdown + COST_FLUSH_SECONDS)
    })

    it("is reached through a Service whose target port is the container's port", () => {
      const service = named<IService>(objects, "Service", "serenya-api")
      expect(labelsMatch(service.spec?.selector, apiPod.labels)).toBe(true)
      const port = service.spec?.ports?.[0]
      expect(port?.targetPort).toBe("http")
      expect(containerPort(String(port?.targetPort))).toBe(HTTP_PORT)
    })

    it("is exposed by an ALB Ingress with TLS", () => {
      const ingress = named<IIngress>(objects, "Ingress", "serenya-api")
      const annotations = ingress.metadata.annotations ?? {}
      expect(ingress.spec?.ingressClassName).toBe("alb")
      expect(annotations).toMatchObject({
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/certificate-arn": settings.api.certificateArn,
        "alb.ingress.kubernetes.io/ssl-redirect": "443",
        "alb.ingress.kubernetes.io/healthcheck-path": "/health"
      })
      expect(JSON.parse(annotations["alb.ingress.kubernetes.io/listen-ports"] ?? "[]")).toContainEqual({ HTTPS: 443 })
      expect(annotations["alb.ingress.kubernetes.io/ssl-policy"]).toMatch(/^ELBSecurityPolicy-TLS13-1-2-/)
      expect(annotations["alb.ingress.kubernetes.io/certificate-arn"]).toMatch(/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\//)
      expect(ingress.spec?.tls).toEqual([{ hosts: [settings.api.hostname] }])
      const rule = ingress.spec?.rules?.[0]
      expect(rule?.host).toBe(settings.api.hostname)
      expect(rule?.http?.paths[0]?.backend.service).toEqual({ name: "serenya-api", port: { name: "http" } })
    })
  })

  describe("worker", () => {
    it("runs the worker entry point, exposing only its probe port", () => {
      expect(workerContainer.command).toEqual(["node", "--import", "tsx", "src/main/worker.ts"])
      expect(workerContainer.ports).toEqual([{ name: "probes", containerPort: WORKER_HEALTH_PORT, protocol: "TCP" }])
      expect(data.WORKER_HEALTH_PORT).toBe(String(WORKER_HEALTH_PORT))
    })

    it("probes liveness on /health and readiness on /ready of the worker's own operations server", () => {
      expect(workerContainer.startupProbe?.httpGet).toMatchObject({ path: "/health", port: "probes" })
      expect(workerContainer.livenessProbe?.httpGet).toMatchObject({ path: "/health", port: "probes" })
      expect(workerContainer.readinessProbe?.httpGet).toMatchObject({ path: "/ready", port: "probes" })
    })

    it("gives in-flight jobs longer than the shutdown timeout plus the cost flush", () => {
      const shutdown = Number(data.SHUTDOWN_TIMEOUT_MS) / 1000
      expect(workerPod.spec.terminationGracePeriodSeconds).toBeGreaterThan(shutdown + COST_FLUSH_SECONDS)
    })
  })

  describe.each([
    ["api", () => api, settings.api.scaling],
    ["worker", () => worker, settings.worker.scaling]
  ] as const)("%s scaling and availability", (component, deployment, scaling) => {
    it("leaves the replica count to the autoscaler", () => {
      expect(deployment().spec?.replicas).toBeUndefined()
      expect(deployment().spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0)
    })

    it("autoscales between the settings' bounds on CPU", () => {
      const hpa = named<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler", `serenya-${component}`)
      expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: deployment().metadata.name })
      expect(hpa.spec?.minReplicas).toBe(scaling.minReplicas)
      expect(hpa.spec?.maxReplicas).toBe(scaling.maxReplicas)
      expect(scaling.minReplicas).toBeLessThanOrEqual(scaling.maxReplicas)
      expect(hpa.spec?.metrics).toEqual([
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: scaling.targetCpuUtilization } }
        }
      ])
    })

    it("has a PodDisruptionBudget selecting its pods", () => {
      const pdb = named<IPodDisruptionBudget>(objects, "PodDisruptionBudget", `serenya-${component}`)
      const labels = deployment().spec?.template.metadata?.labels ?? {}
      expect(labelsMatch(pdb.spec?.selector?.matchLabels, labels)).toBe(true)
      expect(pdb.spec?.maxUnavailable).toBe(1)
      expect(pdb.spec?.minAvailable).toBeUndefined()
    })

    it("spreads its pods across zones", () => {
      const spec = deployment().spec?.template.spec
      const labels = deployment().spec?.template.metadata?.labels ?? {}
      const zone = spec?.topologySpreadConstraints?.find((c) => c.topologyKey === "topology.kubernetes.io/zone")
      expect(zone?.maxSkew).toBe(1)
      expect(zone?.whenUnsatisfiable).toBe(settings.zoneSpread)
      expect(labelsMatch(zone?.labelSelector?.matchLabels, labels)).toBe(true)
    })
  })

  describe("migration Job", () => {
    const pod = job.spec?.template.spec

    it("is named after the image tag, bounded in retries, time and lifetime", () => {
      expect(job.metadata.name).toMatch(new RegExp(`^serenya-migrate-${settings.image.tag.replace(/\./g, "-")}-[0-9a-f]{8}$`))
      expect(job.spec?.backoffLimit).toBe(settings.migrate.backoffLimit)
      expect(job.spec?.activeDeadlineSeconds).toBe(settings.migrate.activeDeadlineSeconds)
      expect(job.spec?.ttlSecondsAfterFinished).toBe(settings.migrate.ttlSecondsAfterFinished)
      expect(pod?.restartPolicy).toBe("Never")
    })

    it("runs the migrations entry point", () => {
      if (pod === undefined) throw new Error("no pod spec")
      expect(onlyContainer(pod).command).toEqual(["node", "--import", "tsx", "src/main/migrate.ts"])
    })

    it("alone holds the schema owner's URL, from a Secret of its own", () => {
      if (pod === undefined) throw new Error("no pod spec")
      expect(settings.ownerSecretName).not.toBe(settings.secretName)
      expect(envValue(onlyContainer(pod), OWNER_SECRET_KEY)?.valueFrom?.secretKeyRef).toEqual({
        name: settings.ownerSecretName,
        key: OWNER_SECRET_KEY,
        optional: false
      })
    })
  })

  // The server ran as the owner of its tables (who can disable the audit trail's triggers): the
  // workloads now connect as serenya_app and never see the owner's credentials.
  it("no Deployment references the owner's Secret or DATABASE_OWNER_URL", () => {
    const deployments = templates.filter((t) => t.owner.startsWith("Deployment/"))
    expect(deployments.map((t) => t.labels["app.kubernetes.io/component"]).sort()).toEqual(["api", "worker"])
    for (const { owner, spec } of deployments) {
      expect(JSON.stringify(spec), owner).not.toContain(settings.ownerSecretName)
      expect(JSON.stringify(spec), owner).not.toContain(OWNER_SECRET_KEY)
    }
  })

  it("annotates one ServiceAccount per workload with its IAM role, without API tokens", () => {
    const roles = { api: settings.api.roleArn, worker: settings.worker.roleArn, migrate: settings.migrate.roleArn }
    for (const [component, roleArn] of Object.entries(roles)) {
      const account = named<IServiceAccount>(objects, "ServiceAccount", `serenya-${component}`)
      expect(account.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toBe(roleArn)
      expect(roleArn).toMatch(/^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+$/)
      expect(account.automountServiceAccountToken).toBe(false)
    }
    expect(new Set(Object.values(roles)).size).toBe(3)
  })

  describe("network policies", () => {
    const policy = (name: string) => named<INetworkPolicy>(objects, "NetworkPolicy", name)
    const pods = { api: apiPod.labels, worker: workerPod.labels, migrate: job.spec?.template.metadata?.labels ?? {} }
    const kubeDns: INetworkPolicyPeer = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } }
    }
    const collectorPort = Number(new URL(settings.telemetry.collectorEndpoint).port)
    const collectorPeer: INetworkPolicyPeer = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": settings.telemetry.collector.namespace } },
      podSelector: { matchLabels: { ...settings.telemetry.collector.podLabels } }
    }
    const egress = (p: INetworkPolicy) =>
      (p.spec?.egress ?? []).map((rule) => ({
        to: rule.to,
        ports: (rule.ports ?? []).map((port) => `${port.protocol}/${portNumber(port.port)}`).sort()
      }))

    it("denies all ingress and egress by default", () => {
      const deny = policy("default-deny-all")
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] })
    })

    it("selects each workload's pods", () => {
      for (const [component, labels] of Object.entries(pods)) {
        const p = policy(`serenya-${component}`)
        expect(labelsMatch(p.spec?.podSelector.matchLabels, labels), component).toBe(true)
        expect(p.spec?.policyTypes).toEqual(["Ingress", "Egress"])
      }
    })

    it("lets only the ingress controller and the load balancer subnets reach the api, on its port", () => {
      const ingress = policy("serenya-api").spec?.ingress ?? []
      expect(ingress).toHaveLength(1)
      expect(ingress[0]?.ports).toEqual([{ protocol: "TCP", port: HTTP_PORT }])
      expect(ingress[0]?.from).toEqual([
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": settings.network.ingressController.namespace } },
          podSelector: { matchLabels: { ...settings.network.ingressController.podLabels } }
        },
        ...settings.network.loadBalancerCidrs.map((cidr) => ({ ipBlock: { cidr } }))
      ])
      expect(ingress[0]?.from?.every((peer) => peer.ipBlock?.cidr !== "0.0.0.0/0")).toBe(true)
    })

    it("lets nothing reach the worker or the migration", () => {
      expect(policy("serenya-worker").spec?.ingress).toEqual([])
      expect(policy("serenya-migrate").spec?.ingress).toEqual([])
    })

    it.each(["serenya-api", "serenya-worker"])("%s: egress only to DNS, PostgreSQL, HTTPS and the collector", (name) => {
      expect(egress(policy(name))).toEqual([
        { to: [kubeDns], ports: ["TCP/53", "UDP/53"] },
        { to: [{ ipBlock: { cidr: settings.network.databaseCidr } }], ports: ["TCP/5432"] },
        { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: ["TCP/443"] },
        { to: [collectorPeer], ports: [`TCP/${collectorPort}`] }
      ])
    })

    it("serenya-migrate: egress only to DNS, PostgreSQL and the collector", () => {
      expect(egress(policy("serenya-migrate"))).toEqual([
        { to: [kubeDns], ports: ["TCP/53", "UDP/53"] },
        { to: [{ ipBlock: { cidr: settings.network.databaseCidr } }], ports: ["TCP/5432"] },
        { to: [collectorPeer], ports: [`TCP/${collectorPort}`] }
      ])
    })

    it("never allows a port range or an unnamed port", () => {
      for (const p of ofKind<INetworkPolicy>(objects, "NetworkPolicy")) {
        for (const rule of [...(p.spec?.ingress ?? []), ...(p.spec?.egress ?? [])]) {
          for (const port of rule.ports ?? []) {
            expect(port.endPort, p.metadata.name).toBeUndefined()
            expect(Number.isInteger(port.port), p.metadata.name).toBe(true)
          }
        }
      }
    })
  })
})

describe("settings drive the chart", () => {
  const custom: EnvironmentSettings = {
    ...environments.production,
    namespace: "serenya-canary",
    image: { repository: "registry.example.com/team/serenya", tag: "2026.11.26-rc.1" },
    shutdown: { timeoutSeconds: 45, preStopSeconds: 20 },
    api: { ...environments.production.api, scaling: { minReplicas: 5, maxReplicas: 7, targetCpuUtilization: 55 } }
  }
  const objects: ReadonlyArray<K8sObject> = synth(custom)

  it("uses the image repository and tag from the settings on every container", () => {
    const images = podTemplates(objects).flatMap((t) => allContainers(t.spec).map((c) => c.image))
    expect(images).toHaveLength(3)
    expect(new Set(images)).toEqual(new Set(["registry.example.com/team/serenya:2026.11.26-rc.1"]))
    expect(ofKind<IJob>(objects, "Job").map((j) => j.metadata.name)).toEqual([expect.stringMatching(/^serenya-migrate-2026-11-26-rc-1-[0-9a-f]{8}$/)])
  })

  it("derives the grace period from the shutdown settings", () => {
    const api = named<IDeployment>(objects, "Deployment", "serenya-api")
    expect(api.spec?.template.spec?.terminationGracePeriodSeconds).toBeGreaterThan(20 + 45 + COST_FLUSH_SECONDS)
    expect(named<IConfigMap>(objects, "ConfigMap", "serenya-config").data?.SHUTDOWN_TIMEOUT_MS).toBe("45000")
  })

  it("takes namespace and HPA bounds from the settings", () => {
    const hpa = named<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler", "serenya-api")
    expect(hpa.metadata.namespace).toBe("serenya-canary")
    expect([hpa.spec?.minReplicas, hpa.spec?.maxReplicas]).toEqual([5, 7])
  })
})

describe("migrateJobName", () => {
  it("makes a DNS label out of any tag, with a digest of the Job's spec", () => {
    expect(migrateJobName("1.4.0", { a: 1 })).toMatch(/^serenya-migrate-1-4-0-[0-9a-f]{8}$/)
    expect(migrateJobName("Release_2026.11--RC1.", { a: 1 })).toMatch(/^serenya-migrate-release-2026-11--rc1-[0-9a-f]{8}$/)
    const long = migrateJobName(`sha-${"f".repeat(80)}`, { a: 1 })
    expect(long.length).toBeLessThanOrEqual(63)
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  })

  it("is stable for the same spec and changes with it", () => {
    expect(migrateJobName("1.4.0", { a: 1 })).toBe(migrateJobName("1.4.0", { a: 1 }))
    expect(migrateJobName("1.4.0", { a: 1 })).not.toBe(migrateJobName("1.4.0", { a: 2 }))
  })

  it("refuses a tag with nothing usable in it", () => {
    expect(() => migrateJobName("...", {})).toThrow(/no usable Job name/)
  })
})

describe("a settings change without a new image", () => {
  const before = synth(environments.production)
  const after = synth({ ...environments.production, app: { ...environments.production.app, logLevel: "debug" } })
  const template = (objects: ReadonlyArray<K8sObject>, name: string) =>
    named<IDeployment>(objects, "Deployment", name).spec?.template.metadata?.annotations?.[CONFIG_CHECKSUM_ANNOTATION]
  const jobName = (objects: ReadonlyArray<K8sObject>) => ofKind<IJob>(objects, "Job").map((j) => j.metadata.name)

  it("rolls the pods through the ConfigMap checksum", () => {
    const data = (objects: ReadonlyArray<K8sObject>) => named<IConfigMap>(objects, "ConfigMap", "serenya-config").data ?? {}
    for (const name of ["serenya-api", "serenya-worker"]) {
      expect(template(before, name)).toBe(configChecksum(data(before)))
      expect(template(after, name)).toBe(configChecksum(data(after)))
      expect(template(after, name)).not.toBe(template(before, name))
    }
  })

  it("gets a new migration Job (a Job's template cannot be changed in place)", () => {
    expect(jobName(after)).not.toEqual(jobName(before))
    expect(jobName(synth(environments.production))).toEqual(jobName(before))
  })
})

describe("releasePhase", () => {
  it("puts the Job alone between the base objects and the workloads", () => {
    const objects = synth(environments.production)
    const byPhase = (phase: string) => objects.filter((o) => releasePhase(o.kind) === phase).map((o) => o.kind).sort()
    expect(byPhase("1-base")).toEqual(["ConfigMap", "Namespace", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "ServiceAccount", "ServiceAccount", "ServiceAccount"])
    expect(byPhase("2-migrate")).toEqual(["Job"])
    expect(byPhase("3-workloads")).toEqual(["Deployment", "Deployment", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget", "PodDisruptionBudget", "Service"])
  })
})
