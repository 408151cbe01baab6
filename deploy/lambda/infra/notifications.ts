/**
 * Push notifications through SNS mobile push: the stage's two platform applications (APNs for
 * iOS, FCM — SNS's `GCM` — for Android) as stack parameters, what the functions' environment
 * says about them, and the ARNs their policies name.
 *
 * A platform application holds the push credentials (the APNs signing key, the FCM service
 * account) and is not a CloudFormation resource: it is created out of band, once per stage
 * (docs/runbooks/push-notifications.md), and the stack only takes its ARN. As `AlarmEmail`
 * (observability.ts): required where the stage says so (production: CloudFormation refuses a
 * deployment without them, and the app refuses to start in production without SNS), optional
 * elsewhere — both or neither (a rule checks it); with neither, the functions use the local
 * provider, which only logs a line per push, and the policies name a placeholder application that
 * does not exist, so they grant nothing usable.
 *
 * The parameters accept only platform applications of the stage's own account and Region (an
 * endpoint ARN is usable only in its application's Region, and the app checks the same).
 */
import { Aws, CfnCondition, CfnParameter, CfnRule, Fn, Stack, Token } from "aws-cdk-lib"
import { Construct, type IConstruct } from "constructs"
import { partitionOf } from "./bedrock.js"
import type { StageSettings } from "./stages.js"

/** The stack parameters' names (their logical ids, fixed so deploy commands can name them). */
export const PUSH_PARAMETERS = {
  ios: "SnsPlatformApplicationArnIos",
  android: "SnsPlatformApplicationArnAndroid"
} as const

/** The actions of SNS mobile push each use needs (src/layers/notifications/sns.ts). */
export const SNS_ACTIONS = {
  /** Registering a device (POST /me/devices, the documents function): on the applications. */
  register: ["sns:CreatePlatformEndpoint"],
  /** …and re-enabling an endpoint registered before: on the endpoints. */
  refresh: ["sns:GetEndpointAttributes", "sns:SetEndpointAttributes"],
  /** Sending a push (the processor): on the endpoints. */
  publish: ["sns:Publish"],
  /** Forgetting an endpoint (a device removed, an account erased, an endpoint disabled): on the endpoints. */
  unregister: ["sns:DeleteEndpoint"]
} as const

/** `arn:<partition>:sns:<region>:<account>:app/<platform>/<name>`, for one platform's allowed kinds. */
export const applicationArnPattern = (settings: StageSettings, platforms: ReadonlyArray<string>): string =>
  `arn:${partitionOf(settings.env.region)}:sns:${settings.env.region}:${settings.env.account}:app/(${platforms.join("|")})/[A-Za-z0-9_.-]{1,256}`

/** The endpoints an application creates: `…:app/<platform>/<name>` → `…:endpoint/<platform>/<name>/*`. */
const endpointsOf = (applicationArn: string): string => {
  const parts = Fn.split(":app/", applicationArn)
  return Fn.join("", [Fn.select(0, parts), ":endpoint/", Fn.select(1, parts), "/*"])
}

/**
 * cdk-nag's id for the wildcard finding of `arn` (AwsSolutions-IAM5, one finding at a time): the
 * ARN as CloudFormation gets it, a join's parts written out and every other intrinsic as JSON.
 */
export const wildcardFinding = (scope: IConstruct, arn: string): string => {
  const render = (value: unknown): string => {
    if (typeof value === "string") return value
    const join = (value as { "Fn::Join"?: [string, Array<unknown>] })["Fn::Join"]
    return join === undefined ? JSON.stringify(value) : join[1].map(render).join(join[0])
  }
  return `AwsSolutions-IAM5[Resource::${render(Stack.of(scope).resolve(arn))}]`
}

export interface PushNotificationsProps {
  readonly settings: StageSettings
}

export class PushNotifications extends Construct {
  /** NOTIFICATIONS_PROVIDER and the two ARNs, for every function (the app reads them at start). */
  readonly environment: Readonly<Record<string, string>>
  /** The two platform applications: what registering a device creates endpoints under. */
  readonly applicationArns: ReadonlyArray<string>
  /** Every endpoint of the two applications (`…:endpoint/<platform>/<name>/*`) and nothing else. */
  readonly endpointArns: ReadonlyArray<string>

  constructor(scope: Construct, id: string, props: PushNotificationsProps) {
    super(scope, id)
    const { settings } = props
    const required = settings.push.required
    const platforms = { ios: settings.push.sandbox ? ["APNS", "APNS_SANDBOX"] : ["APNS"], android: ["GCM"] }
    const parameter = (platform: "ios" | "android", what: string) => {
      const pattern = applicationArnPattern(settings, platforms[platform])
      const created = new CfnParameter(this, PUSH_PARAMETERS[platform], {
        type: "String",
        description: `The SNS platform application for ${what} (${platforms[platform].join(" or ")}), created out of band: docs/runbooks/push-notifications.md.${
          required ? " Required." : " Optional in this stage: empty for no push (with the other one empty too)."
        }`,
        allowedPattern: required ? pattern : `(${pattern})?`,
        constraintDescription: `an SNS platform application ARN of this account and Region: ${pattern}`,
        ...(required ? {} : { default: "" })
      })
      created.overrideLogicalId(PUSH_PARAMETERS[platform])
      return created.valueAsString
    }
    const ios = parameter("ios", "iOS (APNs)")
    const android = parameter("android", "Android (FCM)")

    if (required) {
      this.environment = { NOTIFICATIONS_PROVIDER: "sns", SNS_PLATFORM_APPLICATION_ARN_IOS: ios, SNS_PLATFORM_APPLICATION_ARN_ANDROID: android }
      this.applicationArns = [ios, android]
    } else {
      const empty = (value: string) => Fn.conditionEquals(value, "")
      new CfnRule(this, "BothOrNeither", {
        assertions: [
          {
            assert: Fn.conditionOr(Fn.conditionAnd(empty(ios), empty(android)), Fn.conditionAnd(Fn.conditionNot(empty(ios)), Fn.conditionNot(empty(android)))),
            assertDescription: `${PUSH_PARAMETERS.ios} and ${PUSH_PARAMETERS.android} are given together, or both left empty`
          }
        ]
      })
      const given = new CfnCondition(this, "Given", { expression: Fn.conditionNot(empty(ios)) })
      const ifGiven = (value: string, otherwise: string) => Token.asString(Fn.conditionIf(given.logicalId, value, otherwise))
      const placeholder = (platform: string) =>
        `arn:${partitionOf(settings.env.region)}:sns:${settings.env.region}:${settings.env.account}:app/${platform}/serenya-${settings.stage}-push-not-configured`
      this.environment = {
        NOTIFICATIONS_PROVIDER: ifGiven("sns", "local"),
        // absent, not empty, when not given: the app reads an empty ARN as a malformed one
        SNS_PLATFORM_APPLICATION_ARN_IOS: ifGiven(ios, Aws.NO_VALUE),
        SNS_PLATFORM_APPLICATION_ARN_ANDROID: ifGiven(android, Aws.NO_VALUE)
      }
      this.applicationArns = [ifGiven(ios, placeholder("APNS")), ifGiven(android, placeholder("GCM"))]
    }
    this.endpointArns = this.applicationArns.map(endpointsOf)
  }
}
