/**
 * The Secrets the pods read but the chart never holds: `secretName` and `ownerSecretName` are
 * created from Secrets Manager (External Secrets) or by the pipeline, so no secret value ever lands
 * in these manifests. The owner's (DATABASE_OWNER_URL) is referenced by the migration Job alone.
 */
import type { k8s } from "cdk8s-plus-28"
import type { EnvironmentSettings } from "../environments.js"
import type { Component } from "./app.js"

/** Settings src/config.ts reads as Config.Redacted: only ever from the Secret. */
export const SECRET_KEYS = ["DATABASE_URL", "JWT_PRIVATE_KEY", "USER_LOOKUP_KEY"] as const
/** The schema owner's URL, in a Secret of its own that only the migration Job references. */
export const OWNER_SECRET_KEY = "DATABASE_OWNER_URL"

/** The component's environment variables taken from the Secrets. */
export const secretEnv = (s: EnvironmentSettings, component: Component): Array<k8s.EnvVar> => [
  // src/config.ts refuses to start with APP_ENV=production unless all three are set, even for migrate.
  ...SECRET_KEYS.map(
    (key): k8s.EnvVar => ({ name: key, valueFrom: { secretKeyRef: { name: s.secretName, key, optional: false } } })
  ),
  // Migrations run as the schema's owner; the server and workers never hold its credentials.
  ...(component === "migrate"
    ? [{ name: OWNER_SECRET_KEY, valueFrom: { secretKeyRef: { name: s.ownerSecretName, key: OWNER_SECRET_KEY, optional: false } } }]
    : [])
]
