/**
 * How every Serenya pod is put together: one container running a src/main entry of the image, its
 * settings from the ConfigMap and the Secrets, its identity for telemetry from the downward API,
 * the security defaults (security.ts), and a grace period long enough for the whole shutdown.
 */
import { k8s } from "cdk8s-plus-28"
import type { EnvironmentSettings, ResourceSettings } from "../environments.js"
import { type Component, resourceName } from "./app.js"
import { CONFIG_MAP_NAME } from "./config.js"
import { secretEnv } from "./secrets.js"
import { containerSecurityContext, podSecurityContext, tmpMount, tmpVolume } from "./security.js"

/**
 * After in-flight work (SHUTDOWN_TIMEOUT_MS), the cost tracker gets up to 5 s to flush pending
 * records (src/layers/costTracker/background.ts, flushTimeout default) before the pool closes.
 */
export const COST_FLUSH_SECONDS = 5
const GRACE_MARGIN_SECONDS = 5

/** Kubernetes sends SIGTERM only after preStop ends, so both count against the grace period. */
export const terminationGracePeriodSeconds = (shutdownTimeoutSeconds: number, preStopSeconds: number) =>
  preStopSeconds + shutdownTimeoutSeconds + COST_FLUSH_SECONDS + GRACE_MARGIN_SECONDS

const serverCommand = (entry: string) => ["node", "--import", "tsx", `src/main/${entry}.ts`]

const q = (value: string) => k8s.Quantity.fromString(value)

export const resources = (r: ResourceSettings): k8s.ResourceRequirements => ({
  requests: { cpu: q(r.requests.cpu), memory: q(r.requests.memory) },
  limits: { cpu: q(r.limits.cpu), memory: q(r.limits.memory) }
})

/** The OpenTelemetry service name and resource attributes: the pod's, namespace's and node's names. */
const telemetryEnv = (s: EnvironmentSettings, component: Component): Array<k8s.EnvVar> => [
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
  }
]

/** The component's container; `extra` adds (or replaces) fields such as ports, probes and resources. */
export const container = (s: EnvironmentSettings, component: Component, extra: Partial<k8s.Container>): k8s.Container => ({
  name: component,
  image: `${s.image.repository}:${s.image.tag}`,
  imagePullPolicy: "IfNotPresent",
  command: serverCommand(component === "api" ? "server" : component),
  envFrom: [{ configMapRef: { name: CONFIG_MAP_NAME } }],
  env: [...telemetryEnv(s, component), ...secretEnv(s, component)],
  securityContext: containerSecurityContext,
  volumeMounts: [tmpMount],
  ...extra
})

export const podSpec = (component: Component, graceSeconds: number, containers: Array<k8s.Container>): k8s.PodSpec => ({
  serviceAccountName: resourceName(component),
  automountServiceAccountToken: false,
  enableServiceLinks: false,
  securityContext: podSecurityContext,
  terminationGracePeriodSeconds: graceSeconds,
  volumes: [tmpVolume],
  containers
})
