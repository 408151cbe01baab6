/**
 * The api component: the HTTP server (src/main/server.ts) on HTTP_PORT, probed on /health and
 * /ready. Its preStop pause keeps it serving until the endpoints and the ALB's target group have
 * let it go, and its grace period covers that pause as well as the shutdown after it.
 */
import { k8s } from "cdk8s-plus-28"
import type { Construct } from "constructs"
import type { EnvironmentSettings } from "../environments.js"
import { HTTP_PORT } from "./app.js"
import { container, podSpec, resources, terminationGracePeriodSeconds } from "./pods.js"
import { type ComponentProps, Workload } from "./workload.js"

const httpGet = (path: string): k8s.HttpGetAction => ({
  path,
  port: k8s.IntOrString.fromString("http"),
  scheme: "HTTP"
})

const apiPod = (s: EnvironmentSettings, graceSeconds: number): k8s.PodSpec =>
  podSpec("api", graceSeconds, [
    container(s, "api", {
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

export class ApiWorkload extends Workload {
  /** The pods' termination grace period: the ALB's deregistration delay too (ingress.ts). */
  readonly graceSeconds: number

  constructor(scope: Construct, id: string, props: ComponentProps) {
    const s = props.settings
    const graceSeconds = terminationGracePeriodSeconds(s.shutdown.timeoutSeconds, s.shutdown.preStopSeconds)
    super(scope, id, { ...props, component: "api", pod: apiPod(s, graceSeconds), scaling: s.api.scaling })
    this.graceSeconds = graceSeconds
  }
}
