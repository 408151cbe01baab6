/**
 * One ServiceAccount per component, each bound by IRSA to the component's own IAM role, so the api,
 * the worker and the migration Job hold only their own AWS permissions.
 */
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import type { EnvironmentSettings } from "../environments.js"
import { type Component, meta } from "./app.js"

export interface ServiceAccountsProps {
  readonly settings: EnvironmentSettings
}

export class ServiceAccounts extends Construct {
  constructor(scope: Construct, id: string, props: ServiceAccountsProps) {
    super(scope, id)
    const s = props.settings
    const roles: Record<Component, string> = { api: s.api.roleArn, worker: s.worker.roleArn, migrate: s.migrate.roleArn }
    for (const component of ["api", "worker", "migrate"] as const) {
      // The IRSA webhook mounts its own projected token for STS, so the API token stays off.
      new k8s.KubeServiceAccount(this, component, {
        metadata: {
          ...meta(s, component),
          annotations: {
            "eks.amazonaws.com/role-arn": roles[component],
            "eks.amazonaws.com/sts-regional-endpoints": "true"
          }
        },
        automountServiceAccountToken: false
      })
    }
  }
}
