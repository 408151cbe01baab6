/**
 * A long-running component (api, worker): a Deployment that rolls without losing capacity and
 * spreads its pods over zones and nodes, a HorizontalPodAutoscaler that owns its replica count, and
 * a PodDisruptionBudget that lets node drains through one pod at a time.
 */
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import type { EnvironmentSettings, ScalingSettings } from "../environments.js"
import { labels, meta, podLabels, resourceName } from "./app.js"

export interface WorkloadProps {
  readonly settings: EnvironmentSettings
  readonly component: "api" | "worker"
  readonly pod: k8s.PodSpec
  readonly scaling: ScalingSettings
  /** The pod template's annotations (the ConfigMap's checksum, config.ts). */
  readonly podAnnotations: Readonly<Record<string, string>>
}

/** What an api or worker component needs from the rest of the chart. */
export type ComponentProps = Pick<WorkloadProps, "settings" | "podAnnotations">

const spread = (s: EnvironmentSettings, component: WorkloadProps["component"]): Array<k8s.TopologySpreadConstraint> => [
  {
    topologyKey: "topology.kubernetes.io/zone",
    maxSkew: 1,
    whenUnsatisfiable: s.zoneSpread,
    labelSelector: { matchLabels: labels(s, component) },
    // Spread each ReplicaSet on its own, so a rollout does not count the old pods.
    matchLabelKeys: ["pod-template-hash"]
  },
  {
    topologyKey: "kubernetes.io/hostname",
    maxSkew: 1,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: labels(s, component) },
    matchLabelKeys: ["pod-template-hash"]
  }
]

export class Workload extends Construct {
  constructor(scope: Construct, id: string, props: WorkloadProps) {
    super(scope, id)
    const { settings: s, component } = props

    new k8s.KubeDeployment(this, "deployment", {
      metadata: meta(s, component),
      spec: {
        // No replicas: the HorizontalPodAutoscaler owns the count, a re-apply must not reset it.
        revisionHistoryLimit: 5,
        progressDeadlineSeconds: 600,
        selector: { matchLabels: labels(s, component) },
        strategy: {
          type: "RollingUpdate",
          rollingUpdate: { maxSurge: k8s.IntOrString.fromString("25%"), maxUnavailable: k8s.IntOrString.fromNumber(0) }
        },
        template: {
          metadata: { labels: podLabels(s, component), annotations: props.podAnnotations },
          spec: { ...props.pod, topologySpreadConstraints: spread(s, component) }
        }
      }
    })

    new k8s.KubeHorizontalPodAutoscalerV2(this, "autoscaler", {
      metadata: meta(s, component),
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: resourceName(component) },
        minReplicas: props.scaling.minReplicas,
        maxReplicas: props.scaling.maxReplicas,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: props.scaling.targetCpuUtilization } }
          }
        ],
        behavior: {
          scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] }
        }
      }
    })

    new k8s.KubePodDisruptionBudget(this, "disruption-budget", {
      metadata: meta(s, component),
      spec: {
        // maxUnavailable rather than minAvailable: a one-replica development pod must not block node drains.
        maxUnavailable: k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: labels(s, component) },
        unhealthyPodEvictionPolicy: "AlwaysAllow"
      }
    })
  }
}
