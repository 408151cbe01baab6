/**
 * NetworkPolicies: everything in the namespace is denied by default, then each component gets what
 * it needs. Only the api takes connections, from the load balancer (its subnets, or the controller's
 * pods when it proxies in-cluster). Every component may resolve names and reach PostgreSQL and the
 * collector; the api and worker also reach AWS and Google over HTTPS.
 */
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import type { EnvironmentSettings, PeerSettings } from "../environments.js"
import { APP_NAME, type Component, HTTP_PORT, resourceName } from "./app.js"

const peer = (p: PeerSettings): k8s.NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } },
  podSelector: { matchLabels: { ...p.podLabels } }
})

const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: "TCP", port: k8s.IntOrString.fromNumber(port) })

const urlPort = (endpoint: string): number => {
  const url = new URL(endpoint)
  if (url.port !== "") return Number(url.port)
  return url.protocol === "https:" ? 443 : 80
}

const selector = (component: Component) => ({
  matchLabels: { "app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/component": component }
})

/** The egress the components may be granted. */
const egressRules = (s: EnvironmentSettings) => {
  const dns: k8s.NetworkPolicyEgressRule = {
    to: [
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } }
      }
    ],
    ports: [
      { protocol: "UDP", port: k8s.IntOrString.fromNumber(53) },
      { protocol: "TCP", port: k8s.IntOrString.fromNumber(53) }
    ]
  }
  const postgres: k8s.NetworkPolicyEgressRule = { to: [{ ipBlock: { cidr: s.network.databaseCidr } }], ports: [tcp(5432)] }
  // KMS, S3, Bedrock, DynamoDB, SNS (push: the api registers devices, the worker publishes), STS
  // (IRSA) and Google's JWKS: HTTPS only.
  const https: k8s.NetworkPolicyEgressRule = { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(443)] }
  // Without it the OTLP exporter could not reach the collector Service the settings name.
  const collector: k8s.NetworkPolicyEgressRule = {
    to: [peer(s.telemetry.collector)],
    ports: [tcp(urlPort(s.telemetry.collectorEndpoint))]
  }
  return { dns, postgres, https, collector }
}

export interface NetworkPoliciesProps {
  readonly settings: EnvironmentSettings
}

export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id)
    const s = props.settings
    const namespace = s.namespace
    const { dns, postgres, https, collector } = egressRules(s)

    new k8s.KubeNetworkPolicy(this, "default-deny", {
      metadata: { name: "default-deny-all", namespace },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] }
    })
    new k8s.KubeNetworkPolicy(this, "api", {
      metadata: { name: resourceName("api"), namespace },
      spec: {
        podSelector: selector("api"),
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          {
            from: [
              peer(s.network.ingressController),
              ...s.network.loadBalancerCidrs.map((cidr): k8s.NetworkPolicyPeer => ({ ipBlock: { cidr } }))
            ],
            ports: [tcp(HTTP_PORT)]
          }
        ],
        egress: [dns, postgres, https, collector]
      }
    })
    new k8s.KubeNetworkPolicy(this, "worker", {
      metadata: { name: resourceName("worker"), namespace },
      spec: {
        podSelector: selector("worker"),
        policyTypes: ["Ingress", "Egress"],
        ingress: [],
        egress: [dns, postgres, https, collector]
      }
    })
    new k8s.KubeNetworkPolicy(this, "migrate", {
      metadata: { name: resourceName("migrate"), namespace },
      spec: {
        podSelector: selector("migrate"),
        policyTypes: ["Ingress", "Egress"],
        ingress: [],
        egress: [dns, postgres, collector]
      }
    })
  }
}
