/**
 * The Serenya backend on EKS: one chart per environment, configured by EnvironmentSettings. Each
 * concern is a construct of its own under ./chart/; this file puts them together.
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
 *
 * The objects come out in the order the constructs are created here (cdk8s walks the tree), so
 * the order below is the order of the manifests.
 */
import { Chart, type ChartProps } from "cdk8s"
import type { Construct } from "constructs"
import { ApiWorkload } from "./chart/api.js"
import { AppConfigMap } from "./chart/config.js"
import { ApiIngress } from "./chart/ingress.js"
import { MigrateJob } from "./chart/migrate.js"
import { Namespace } from "./chart/namespace.js"
import { NetworkPolicies } from "./chart/network.js"
import { ServiceAccounts } from "./chart/serviceAccounts.js"
import { WorkerWorkload } from "./chart/worker.js"
import type { EnvironmentSettings } from "./environments.js"

export { APP_NAME, type Component, HTTP_PORT, resourceName, WORKER_HEALTH_PORT } from "./chart/app.js"
export { CONFIG_CHECKSUM_ANNOTATION, configChecksum } from "./chart/config.js"
export { ALB_IDLE_TIMEOUT_SECONDS } from "./chart/ingress.js"
export { migrateJobName } from "./chart/migrate.js"
export { COST_FLUSH_SECONDS, terminationGracePeriodSeconds } from "./chart/pods.js"
export { OWNER_SECRET_KEY, SECRET_KEYS } from "./chart/secrets.js"
export { RUN_AS_ID } from "./chart/security.js"

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

export class SerenyaChart extends Chart {
  readonly settings: EnvironmentSettings

  constructor(scope: Construct, id: string, settings: EnvironmentSettings, props: ChartProps = {}) {
    super(scope, id, props)
    this.settings = settings
    new Namespace(this, "namespace", { settings })
    new ServiceAccounts(this, "service-accounts", { settings })
    const { podAnnotations } = new AppConfigMap(this, "config", { settings })
    const api = new ApiWorkload(this, "api", { settings, podAnnotations })
    new WorkerWorkload(this, "worker", { settings, podAnnotations })
    new ApiIngress(this, "api-ingress", { settings, deregistrationDelaySeconds: api.graceSeconds })
    new MigrateJob(this, "migrate", { settings, podAnnotations })
    new NetworkPolicies(this, "network-policies", { settings })
  }
}
