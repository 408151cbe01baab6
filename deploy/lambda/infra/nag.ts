import { Validations } from "aws-cdk-lib"
import type { IConstruct } from "constructs"

/**
 * Records why a cdk-nag finding is accepted on this construct (and its children). `id` is the
 * rule, or `Rule[finding]` for one finding of a rule that reports several (IAM5's wildcards).
 */
export const acknowledge = (scope: IConstruct, id: string, reason: string): void => {
  Validations.of(scope).acknowledge({ id, reason })
}

/** The same reason for several rules that describe one decision (AwsSolutions and HIPAA name it twice). */
export const acknowledgeAll = (scope: IConstruct, ids: ReadonlyArray<string>, reason: string): void => {
  for (const id of ids) acknowledge(scope, id, reason)
}
