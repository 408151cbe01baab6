/**
 * The environment's Namespace: it enforces the restricted Pod Security Standard (which every pod
 * meets, security.ts) and has the ALB controller inject readiness gates into its pods.
 */
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import type { EnvironmentSettings } from "../environments.js"

export interface NamespaceProps {
  readonly settings: EnvironmentSettings
}

export class Namespace extends Construct {
  constructor(scope: Construct, id: string, props: NamespaceProps) {
    super(scope, id)
    new k8s.KubeNamespace(this, "namespace", {
      metadata: {
        name: props.settings.namespace,
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
  }
}
