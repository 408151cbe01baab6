/**
 * The restricted Pod Security Standard, which the Namespace enforces (namespace.ts), met by every
 * pod and container, plus a read-only root filesystem: the one writable place is a small /tmp.
 */
import { k8s } from "cdk8s-plus-28"

export const RUN_AS_ID = 10001

const seccompProfile = { type: "RuntimeDefault" }

/** The restricted Pod Security Standard, plus a read-only root filesystem. */
export const containerSecurityContext: k8s.SecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS_ID,
  runAsGroup: RUN_AS_ID,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile
}

export const podSecurityContext: k8s.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS_ID,
  runAsGroup: RUN_AS_ID,
  fsGroup: RUN_AS_ID,
  seccompProfile
}

export const tmpVolume: k8s.Volume = { name: "tmp", emptyDir: { sizeLimit: k8s.Quantity.fromString("256Mi") } }
// tsx keeps its transform cache under os.tmpdir(); nothing else writes to disk in production.
export const tmpMount: k8s.VolumeMount = { name: "tmp", mountPath: "/tmp" }
