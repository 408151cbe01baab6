/** Synthesizes the chart in memory (cdk8s Testing) and gives the tests typed views of the objects. */
import { Testing } from "cdk8s"
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment"
import type { IJob } from "kubernetes-models/batch/v1/Job"
import type { IContainer } from "kubernetes-models/v1/Container"
import type { IPodSpec } from "kubernetes-models/v1/PodSpec"
import { SerenyaChart } from "../../../deploy/k8s/chart.js"
import type { EnvironmentSettings } from "../../../deploy/k8s/environments.js"

export interface K8sObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly labels?: Record<string, string>
    readonly annotations?: Record<string, string>
  }
  readonly [field: string]: unknown
}

export const synth = (settings: EnvironmentSettings): ReadonlyArray<K8sObject> =>
  Testing.synth(new SerenyaChart(Testing.app(), "test", settings)) as ReadonlyArray<K8sObject>

export const ofKind = <T>(objects: ReadonlyArray<K8sObject>, kind: string): Array<T & K8sObject> =>
  objects.filter((o) => o.kind === kind) as Array<T & K8sObject>

/** The one object of that kind and name; fails the test when there is none or several. */
export const named = <T>(objects: ReadonlyArray<K8sObject>, kind: string, name: string): T & K8sObject => {
  const found = ofKind<T>(objects, kind).filter((o) => o.metadata.name === name)
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`)
  return found[0] as T & K8sObject
}

export interface PodTemplate {
  readonly owner: string
  readonly labels: Record<string, string>
  readonly spec: IPodSpec
}

/** Every pod template: the Deployments' and the Jobs'. */
export const podTemplates = (objects: ReadonlyArray<K8sObject>): Array<PodTemplate> => {
  const fromTemplate = (owner: string, template: { metadata?: { labels?: Record<string, string> }; spec?: IPodSpec } | undefined) => {
    if (template?.spec === undefined) throw new Error(`${owner} has no pod template`)
    return { owner, labels: template.metadata?.labels ?? {}, spec: template.spec }
  }
  return [
    ...ofKind<IDeployment>(objects, "Deployment").map((d) => fromTemplate(`Deployment/${d.metadata.name}`, d.spec?.template)),
    ...ofKind<IJob>(objects, "Job").map((j) => fromTemplate(`Job/${j.metadata.name}`, j.spec?.template))
  ]
}

export const allContainers = (spec: IPodSpec): Array<IContainer> => [...(spec.initContainers ?? []), ...spec.containers]

export const onlyContainer = (spec: IPodSpec): IContainer => {
  if (spec.containers.length !== 1 || spec.containers[0] === undefined) throw new Error("expected one container")
  return spec.containers[0]
}
