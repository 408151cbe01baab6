/**
 * cdk-nag 3 for tests: run the packs on a construct tree directly, list the acknowledgements
 * recorded with Validations.of(...).acknowledge, and find which of them a finding actually used.
 */
import { type CfnResource, Validations } from "aws-cdk-lib"
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack } from "cdk-nag"
import type { IConstruct } from "constructs"

export interface Acknowledgement {
  readonly path: string
  readonly id: string
  readonly reason: string
}

export interface Finding {
  readonly rule: string
  readonly severity: string
  readonly paths: ReadonlyArray<string>
}

export interface NagRun {
  readonly findings: ReadonlyArray<Finding>
  /** `path|ruleId` of every acknowledgement that silenced a finding. */
  readonly used: ReadonlySet<string>
}

const KEY = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
const ruleIdOf = (key: string) => key.replace(/^annotation::/i, "")

export const acknowledgements = (root: IConstruct): ReadonlyArray<Acknowledgement> =>
  root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === KEY && entry.data !== undefined)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([key, reason]) => ({
          path: construct.node.path,
          id: ruleIdOf(key),
          reason
        }))
      )
  )

type Checker = { isAcknowledged: (resource: CfnResource, ruleId: string) => boolean }

export const runNag = (root: IConstruct): NagRun => {
  const used = new Set<string>()
  const proto = NagPack.prototype as unknown as Checker
  const original = proto.isAcknowledged
  proto.isAcknowledged = function (this: Checker, resource, ruleId) {
    const acknowledged = original.call(this, resource, ruleId)
    if (acknowledged) {
      let current: IConstruct | undefined = resource
      while (current !== undefined) {
        const here = current.node.metadata.some(
          (entry) => entry.type === KEY && Object.keys((entry.data ?? {}) as object).map(ruleIdOf).includes(ruleId)
        )
        if (here) used.add(`${current.node.path}|${ruleId}`)
        current = current.node.scope
      }
    }
    return acknowledged
  }
  try {
    const findings = [new AwsSolutionsChecks(undefined, { verbose: true }), new HIPAASecurityChecks(undefined, { verbose: true })]
      .flatMap((pack) => pack.validateScope(root).violations)
      .map((violation) => ({
        rule: violation.ruleName,
        severity: violation.severity ?? "error",
        paths: violation.violatingResources.map((resource) => resource.constructPath ?? resource.resourceLogicalId ?? "?")
      }))
    return { findings, used }
  } finally {
    proto.isAcknowledged = original
  }
}
