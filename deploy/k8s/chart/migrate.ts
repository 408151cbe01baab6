/**
 * The migration Job, applied and waited for between the base objects and the workloads (chart.ts,
 * release order). It runs src/main/migrate.ts as the schema's owner, once per release: its name
 * carries the image tag and a digest of its spec, so each release gets a new Job.
 */
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import { createHash } from "node:crypto"
import type { EnvironmentSettings } from "../environments.js"
import { meta, podLabels, resourceName } from "./app.js"
import { container, podSpec, resources, terminationGracePeriodSeconds } from "./pods.js"

/**
 * A DNS-1123 label (the Job's pods carry it as a label value, 63 characters at most): the image
 * tag plus a digest of the Job's spec. A Job's pod template is immutable, so a release that
 * changes only settings needs a new name too; re-applying an unchanged release is a no-op.
 */
export const migrateJobName = (tag: string, spec: unknown): string => {
  const prefix = `${resourceName("migrate")}-`
  const digest = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 8)
  const slug = tag
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63 - prefix.length - digest.length - 1)
    .replace(/-+$/, "")
  if (slug === "") throw new Error(`image tag ${JSON.stringify(tag)} gives no usable Job name`)
  return `${prefix}${slug}-${digest}`
}

export interface MigrateJobProps {
  readonly settings: EnvironmentSettings
  /** The pod template's annotations (the ConfigMap's checksum, config.ts). */
  readonly podAnnotations: Readonly<Record<string, string>>
}

export class MigrateJob extends Construct {
  /** The Job's name, different for each release (migrateJobName). */
  readonly name: string

  constructor(scope: Construct, id: string, props: MigrateJobProps) {
    super(scope, id)
    const s = props.settings
    const jobSpec: k8s.JobSpec = {
      backoffLimit: s.migrate.backoffLimit,
      activeDeadlineSeconds: s.migrate.activeDeadlineSeconds,
      ttlSecondsAfterFinished: s.migrate.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: podLabels(s, "migrate"), annotations: props.podAnnotations },
        spec: {
          ...podSpec("migrate", terminationGracePeriodSeconds(s.shutdown.timeoutSeconds, 0), [
            container(s, "migrate", { resources: resources(s.migrate.resources) })
          ]),
          restartPolicy: "Never"
        }
      }
    }
    this.name = migrateJobName(s.image.tag, jobSpec)
    new k8s.KubeJob(this, "job", { metadata: meta(s, "migrate", this.name), spec: jobSpec })
  }
}
