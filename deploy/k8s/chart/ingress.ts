/**
 * How requests reach the api pods: an internet-facing ALB (AWS Load Balancer Controller, target
 * type ip) terminates TLS for the api's hostname and sends them, by the ClusterIP Service's
 * endpoints, straight to the pods.
 */
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import { SSE_KEEP_ALIVE_SECONDS } from "../../streaming.js"
import type { EnvironmentSettings } from "../environments.js"
import { labels, meta, resourceName } from "./app.js"

/**
 * How long the ALB keeps a connection with no byte either way. Set explicitly (the ALB's default is
 * 60 s too, but a change there must not go unnoticed): a quiet Server-Sent Events stream sends a
 * keep-alive comment every SSE_KEEP_ALIVE_SECONDS, so the ALB may miss three of them before it cuts
 * the stream. The api server's keep-alive timeout is above this (src/http/nodeServer.ts
 * SERVER_TIMEOUTS), so that the ALB, not the server, closes an idle connection.
 */
export const ALB_IDLE_TIMEOUT_SECONDS = 4 * SSE_KEEP_ALIVE_SECONDS

export interface ApiIngressProps {
  readonly settings: EnvironmentSettings
  /** How long the ALB lets a deregistered pod finish: the api pods' grace period. */
  readonly deregistrationDelaySeconds: number
}

export class ApiIngress extends Construct {
  constructor(scope: Construct, id: string, props: ApiIngressProps) {
    super(scope, id)
    const s = props.settings

    new k8s.KubeService(this, "service", {
      metadata: meta(s, "api"),
      spec: {
        type: "ClusterIP",
        selector: labels(s, "api"),
        ports: [{ name: "http", port: 80, targetPort: k8s.IntOrString.fromString("http"), protocol: "TCP" }]
      }
    })

    new k8s.KubeIngress(this, "ingress", {
      metadata: {
        ...meta(s, "api"),
        annotations: {
          "alb.ingress.kubernetes.io/scheme": "internet-facing",
          "alb.ingress.kubernetes.io/target-type": "ip",
          // Port 80 exists only to redirect to 443.
          "alb.ingress.kubernetes.io/listen-ports": JSON.stringify([{ HTTP: 80 }, { HTTPS: 443 }]),
          "alb.ingress.kubernetes.io/ssl-redirect": "443",
          "alb.ingress.kubernetes.io/certificate-arn": s.api.certificateArn,
          "alb.ingress.kubernetes.io/ssl-policy": s.api.sslPolicy,
          "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
          "alb.ingress.kubernetes.io/healthcheck-path": "/health",
          "alb.ingress.kubernetes.io/success-codes": "200",
          "alb.ingress.kubernetes.io/target-group-attributes": `deregistration_delay.timeout_seconds=${props.deregistrationDelaySeconds}`,
          "alb.ingress.kubernetes.io/load-balancer-attributes": [
            "routing.http.drop_invalid_header_fields.enabled=true",
            `idle_timeout.timeout_seconds=${ALB_IDLE_TIMEOUT_SECONDS}`
          ].join(",")
        }
      },
      spec: {
        ingressClassName: "alb",
        tls: [{ hosts: [s.api.hostname] }],
        rules: [
          {
            host: s.api.hostname,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: resourceName("api"), port: { name: "http" } } }
                }
              ]
            }
          }
        ]
      }
    })
  }
}
