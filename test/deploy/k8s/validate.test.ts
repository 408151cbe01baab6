/**
 * Every synthesized object against the Kubernetes OpenAPI schemas (kubernetes-models' compiled
 * validators). A kind without a model here fails the test instead of going unchecked.
 * The validators check types, formats (quantities, int-or-string) and required fields; they do
 * not reject unknown fields, which the typed cdk8s constructs already keep out.
 */
import { Deployment } from "kubernetes-models/apps/v1"
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2"
import { Job } from "kubernetes-models/batch/v1"
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1"
import { PodDisruptionBudget } from "kubernetes-models/policy/v1"
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1"
import { describe, expect, it } from "vitest"
import { environments } from "../../../deploy/k8s/environments.js"
import { type K8sObject, synth } from "./manifests.js"

interface Validatable {
  validate(): void
}

type ModelClass = (new (data: never) => Validatable) & { readonly apiVersion: string; readonly kind: string }

const MODELS: ReadonlyArray<ModelClass> = [
  Namespace,
  ServiceAccount,
  ConfigMap,
  Service,
  Deployment,
  Job,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  NetworkPolicy,
  Ingress
]

const modelFor = (object: K8sObject): ModelClass => {
  const model = MODELS.find((m) => m.apiVersion === object.apiVersion && m.kind === object.kind)
  if (model === undefined) throw new Error(`no schema model for ${object.apiVersion}/${object.kind} (${object.metadata.name})`)
  return model
}

const validate = (object: K8sObject): void => {
  const Model = modelFor(object)
  new Model(object as never).validate()
}

describe.each(Object.values(environments))("Kubernetes schemas ($name)", (settings) => {
  const objects = synth(settings)

  it("synthesizes a non-empty set of objects", () => {
    expect(objects.length).toBeGreaterThan(10)
  })

  it.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))("%s validates", (_label, object) => {
    expect(() => validate(object)).not.toThrow()
  })
})

describe("the validator", () => {
  const objects = synth(environments.production)
  const api = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "serenya-api")

  it("rejects a malformed Deployment", () => {
    if (api === undefined) throw new Error("no api Deployment")
    const broken = structuredClone(api) as K8sObject & { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }
    const container = broken.spec.template.spec.containers[0]
    if (container === undefined) throw new Error("no container")
    container.resources = { limits: { cpu: "a lot" } }
    expect(() => validate(broken)).toThrow(/quantity/)
  })

  it("rejects an object missing a required field", () => {
    const policy = objects.find((o) => o.kind === "NetworkPolicy")
    if (policy === undefined) throw new Error("no NetworkPolicy")
    const { spec: _spec, ...rest } = policy as K8sObject & { spec: unknown }
    const withoutPodSelector = { ...rest, spec: { policyTypes: ["Ingress"] } }
    expect(() => validate(withoutPodSelector)).toThrow(/podSelector/)
  })

  it("refuses a kind it has no model for", () => {
    const secret: K8sObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "x" } }
    expect(() => validate(secret)).toThrow(/no schema model for v1\/Secret/)
  })
})
