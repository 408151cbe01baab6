/**
 * What every concern of the chart shares about the application: its name, its three components and
 * the ports they listen on, and the names, labels and metadata their objects carry. The labels are
 * also the selectors (Deployments, Service, budgets, zone spread), so they are built in one place.
 */
import type { k8s } from "cdk8s-plus-28"
import type { EnvironmentSettings } from "../environments.js"

export const APP_NAME = "serenya"
export const HTTP_PORT = 3000
/** `npm run worker` answers its probes here (WORKER_HEALTH_PORT). */
export const WORKER_HEALTH_PORT = 3001

export type Component = "api" | "worker" | "migrate"

export const resourceName = (component: Component) => `${APP_NAME}-${component}`

/** The selector labels: the same in every release. */
export const labels = (s: EnvironmentSettings, component: Component) => ({
  "app.kubernetes.io/name": APP_NAME,
  "app.kubernetes.io/instance": `${APP_NAME}-${s.name}`,
  "app.kubernetes.io/component": component
})

/** The selector labels plus the release's version: what objects and pod templates carry. */
export const podLabels = (s: EnvironmentSettings, component: Component) => ({
  ...labels(s, component),
  "app.kubernetes.io/version": s.image.tag
})

export const meta = (s: EnvironmentSettings, component: Component, name = resourceName(component)): k8s.ObjectMeta => ({
  name,
  namespace: s.namespace,
  labels: podLabels(s, component)
})
