/**
 * The worker component (`npm run worker`, src/main/worker.ts): its probes use the operations
 * endpoints it serves on WORKER_HEALTH_PORT (nothing else of the API is there). No preStop: nothing
 * routes traffic to it, SIGTERM may come at once.
 */
import { k8s } from "cdk8s-plus-28"
import type { Construct } from "constructs"
import type { EnvironmentSettings } from "../environments.js"
import { WORKER_HEALTH_PORT } from "./app.js"
import { container, podSpec, resources, terminationGracePeriodSeconds } from "./pods.js"
import { type ComponentProps, Workload } from "./workload.js"

const probeGet = (path: string): k8s.HttpGetAction => ({
  path,
  port: k8s.IntOrString.fromString("probes"),
  scheme: "HTTP"
})

const workerPod = (s: EnvironmentSettings): k8s.PodSpec =>
  podSpec("worker", terminationGracePeriodSeconds(s.shutdown.timeoutSeconds, 0), [
    container(s, "worker", {
      ports: [{ name: "probes", containerPort: WORKER_HEALTH_PORT, protocol: "TCP" }],
      resources: resources(s.worker.resources),
      startupProbe: { httpGet: probeGet("/health"), periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
      livenessProbe: { httpGet: probeGet("/health"), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
      readinessProbe: { httpGet: probeGet("/ready"), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 2 }
    })
  ])

export class WorkerWorkload extends Workload {
  constructor(scope: Construct, id: string, props: ComponentProps) {
    super(scope, id, { ...props, component: "worker", pod: workerPod(props.settings), scaling: props.settings.worker.scaling })
  }
}
