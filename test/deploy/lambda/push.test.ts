/**
 * Push notifications on Lambda (issue 21): the SNS platform applications are stack parameters
 * (required in production, both-or-neither in development), every function is told the provider
 * and the applications, and only the functions that use SNS may, each for what it does — on the
 * stage's two applications and their endpoints, nothing else — through an SNS interface endpoint.
 * The templates' intrinsics are evaluated here with concrete parameter values, so the ARNs the
 * policies name are checked as AWS will see them.
 */
import { Template } from "aws-cdk-lib/assertions"
import * as lambda from "aws-cdk-lib/aws-lambda"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createApp } from "../../../deploy/lambda/app.js"
import { PUSH_PARAMETERS, SNS_ACTIONS } from "../../../deploy/lambda/infra/notifications.js"
import type { FunctionName } from "../../../deploy/lambda/infra/stages.js"
import { parsePlatformApplicationArn } from "../../../src/config/notifications.js"

const code = () => lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })")
const { stacks } = createApp({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")), code, deploymentId: "test-deployment", nag: false })
const dev = Template.fromStack(stacks.development.main)
const prod = Template.fromStack(stacks.production.main)

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown> }
type Statement = { Effect: string; Action: string | Array<string>; Resource?: unknown }
type TemplateJson = {
  Parameters: Record<string, { Default?: string; AllowedPattern?: string; Type: string }>
  Conditions?: Record<string, unknown>
  Rules?: Record<string, { Assertions: Array<{ Assert: unknown; AssertDescription: string }> }>
  Resources: Record<string, Resource>
}
const asArray = <A>(value: A | Array<A> | undefined): Array<A> => (value === undefined ? [] : Array.isArray(value) ? value : [value])
const NO_VALUE = Symbol("AWS::NoValue")

/** CloudFormation's intrinsics, as far as these templates use them, for given parameter values. */
const evaluator = (template: TemplateJson, parameters: Record<string, string>) => {
  const evaluate = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value
    if (Array.isArray(value)) return value.map(evaluate).filter((v) => v !== NO_VALUE)
    const [[name, argument]] = Object.entries(value) as [[string, unknown]]
    switch (name) {
      case "Ref": {
        if (argument === "AWS::NoValue") return NO_VALUE
        if (argument === "AWS::Partition") return "aws"
        if (typeof argument === "string" && argument in parameters) return parameters[argument]
        return `<${String(argument)}>`
      }
      case "Fn::Join": {
        const [separator, parts] = argument as [string, Array<unknown>]
        return (evaluate(parts) as Array<string>).join(separator)
      }
      case "Fn::Split": {
        const [separator, source] = argument as [string, unknown]
        return String(evaluate(source)).split(separator)
      }
      case "Fn::Select": {
        const [index, list] = argument as [number, unknown]
        const items = evaluate(list) as Array<unknown>
        if (index >= items.length) throw new Error(`Fn::Select ${index} of ${JSON.stringify(items)}: out of range (CloudFormation fails the deployment)`)
        return items[index]
      }
      case "Fn::If": {
        const [condition, whenTrue, whenFalse] = argument as [string, unknown, unknown]
        return evaluate(condition in (template.Conditions ?? {}) && evaluate(template.Conditions![condition]) === true ? whenTrue : whenFalse)
      }
      case "Fn::Equals": {
        const [a, b] = argument as [unknown, unknown]
        return evaluate(a) === evaluate(b)
      }
      case "Fn::Not":
        return !(evaluate((argument as [unknown])[0]) as boolean)
      case "Fn::And":
        return (argument as Array<unknown>).every((a) => evaluate(a) === true)
      case "Fn::Or":
        return (argument as Array<unknown>).some((a) => evaluate(a) === true)
      case "Fn::GetAtt":
        return `<${(argument as Array<string>).join(".")}>`
      default:
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v)]))
    }
  }
  return evaluate
}

const IOS = "arn:aws:sns:eu-west-1:123456789012:app/APNS/serenya-ios"
const IOS_SANDBOX = "arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/serenya-dev-ios"
const ANDROID = "arn:aws:sns:eu-west-1:123456789012:app/GCM/serenya-android"
const given = { [PUSH_PARAMETERS.ios]: IOS, [PUSH_PARAMETERS.android]: ANDROID }
const none = { [PUSH_PARAMETERS.ios]: "", [PUSH_PARAMETERS.android]: "" }

const json = (template: Template) => template.toJSON() as TemplateJson
const functionOf = (template: Template, name: FunctionName) =>
  Object.values(json(template).Resources).find((r) => r.Type === "AWS::Lambda::Function" && String(r.Properties?.Description).endsWith(`: ${name}`))!
const policyOf = (template: Template, name: FunctionName) =>
  Object.values(json(template).Resources).find(
    (r) => r.Type === "AWS::IAM::ManagedPolicy" && new RegExp(`${name} function: its own resources`).test(String(r.Properties?.Description))
  )!
const FUNCTIONS: ReadonlyArray<FunctionName> = ["auth", "documents", "chat", "stream", "processor", "migrate"]

/** Every SNS statement of a function, evaluated: action → resources. */
const snsGrants = (template: Template, name: FunctionName, parameters: Record<string, string>) => {
  const evaluate = evaluator(json(template), parameters)
  const grants: Record<string, Array<string>> = {}
  for (const statement of (policyOf(template, name).Properties?.PolicyDocument as { Statement: Array<Statement> }).Statement) {
    for (const action of asArray(statement.Action).filter((a) => a.startsWith("sns:"))) {
      grants[action] = [...(grants[action] ?? []), ...asArray(evaluate(statement.Resource) as string | Array<string>)].sort()
    }
  }
  return grants
}

describe("the platform applications are stack parameters", () => {
  const pattern = (template: Template, name: string) => new RegExp(`^${json(template).Parameters[name]!.AllowedPattern}$`)

  it("production: both required (no default), APNs' production service only, this account and Region only", () => {
    for (const name of Object.values(PUSH_PARAMETERS)) {
      expect(json(prod).Parameters[name]).toMatchObject({ Type: "String" })
      expect(json(prod).Parameters[name]!.Default).toBeUndefined()
    }
    const ios = pattern(prod, PUSH_PARAMETERS.ios)
    const android = pattern(prod, PUSH_PARAMETERS.android)
    expect(ios.test(IOS)).toBe(true)
    expect(android.test(ANDROID)).toBe(true)
    for (const bad of [
      "",
      IOS_SANDBOX,
      ANDROID,
      "arn:aws:sns:us-east-1:123456789012:app/APNS/serenya-ios",
      "arn:aws:sns:eu-west-1:210987654321:app/APNS/serenya-ios",
      "arn:aws:sns:eu-west-1:123456789012:serenya-alerts",
      `${IOS} `
    ]) {
      expect(ios.test(bad), bad).toBe(false)
    }
    expect(android.test(IOS)).toBe(false)
    // the app's own check agrees with what CloudFormation lets through
    expect(parsePlatformApplicationArn(IOS)).toMatchObject({ platform: "APNS", region: "eu-west-1" })
    expect(json(prod).Rules?.[Object.keys(json(prod).Rules ?? {}).find((id) => id.startsWith("Push")) ?? "none"]).toBeUndefined()
  })

  it("development: optional, the APNs sandbox allowed, and both given or neither (a rule)", () => {
    for (const name of Object.values(PUSH_PARAMETERS)) expect(json(dev).Parameters[name]!.Default).toBe("")
    expect(pattern(dev, PUSH_PARAMETERS.ios).test(IOS_SANDBOX)).toBe(true)
    expect(pattern(dev, PUSH_PARAMETERS.ios).test("")).toBe(true)
    const [rule] = Object.entries(json(dev).Rules ?? {}).filter(([id]) => id.startsWith("Push"))
    expect(rule).toBeDefined()
    const holds = (parameters: Record<string, string>) =>
      rule![1].Assertions.every((assertion) => evaluator(json(dev), parameters)(assertion.Assert) === true)
    expect(holds(given)).toBe(true)
    expect(holds(none)).toBe(true)
    expect(holds({ ...given, [PUSH_PARAMETERS.android]: "" })).toBe(false)
    expect(holds({ ...none, [PUSH_PARAMETERS.android]: ANDROID })).toBe(false)
  })
})

describe("the functions' environment", () => {
  const variables = (template: Template, name: FunctionName, parameters: Record<string, string>) => {
    const evaluate = evaluator(json(template), parameters)
    const raw = (functionOf(template, name).Properties?.Environment as { Variables: Record<string, unknown> }).Variables
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, evaluate(v)]).filter(([, v]) => v !== NO_VALUE))
  }

  it("production: every function runs with SNS and the two applications (the app refuses to start in production without them)", () => {
    for (const name of FUNCTIONS) {
      expect(variables(prod, name, given), name).toMatchObject({
        NOTIFICATIONS_PROVIDER: "sns",
        SNS_PLATFORM_APPLICATION_ARN_IOS: IOS,
        SNS_PLATFORM_APPLICATION_ARN_ANDROID: ANDROID
      })
    }
  })

  it("development: SNS when both are given; otherwise the local provider, and no ARN variable at all (an empty one is malformed)", () => {
    for (const name of FUNCTIONS) {
      expect(variables(dev, name, { ...given, [PUSH_PARAMETERS.ios]: IOS_SANDBOX }), name).toMatchObject({
        NOTIFICATIONS_PROVIDER: "sns",
        SNS_PLATFORM_APPLICATION_ARN_IOS: IOS_SANDBOX,
        SNS_PLATFORM_APPLICATION_ARN_ANDROID: ANDROID
      })
      const local = variables(dev, name, none)
      expect(local.NOTIFICATIONS_PROVIDER, name).toBe("local")
      expect(local, name).not.toHaveProperty("SNS_PLATFORM_APPLICATION_ARN_IOS")
      expect(local, name).not.toHaveProperty("SNS_PLATFORM_APPLICATION_ARN_ANDROID")
    }
  })
})

describe("IAM: each function only the SNS actions it uses, on the stage's applications and their endpoints", () => {
  const endpoints = (application: string) => `${application.replace(":app/", ":endpoint/")}/*`

  it.each([
    ["production", prod, given],
    ["development", dev, given]
  ] as const)("%s: documents registers (and re-enables, forgets) devices; the processor publishes and forgets; no other function may", (_stage, template, parameters) => {
    const applications = [IOS, ANDROID].sort()
    const allEndpoints = [endpoints(IOS), endpoints(ANDROID)].sort()
    expect(snsGrants(template, "documents", parameters)).toEqual({
      "sns:CreatePlatformEndpoint": applications,
      "sns:GetEndpointAttributes": allEndpoints,
      "sns:SetEndpointAttributes": allEndpoints,
      "sns:DeleteEndpoint": allEndpoints
    })
    expect(snsGrants(template, "processor", parameters)).toEqual({
      "sns:Publish": allEndpoints,
      "sns:DeleteEndpoint": allEndpoints
    })
    for (const name of ["auth", "chat", "stream", "migrate"] as const) expect(snsGrants(template, name, parameters), name).toEqual({})
    expect(allEndpoints).toEqual([
      "arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/serenya-ios/*",
      "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/serenya-android/*"
    ])
    // every action the layer calls is granted to someone, and nothing more
    const granted = new Set([...Object.keys(snsGrants(template, "documents", parameters)), ...Object.keys(snsGrants(template, "processor", parameters))])
    expect([...granted].sort()).toEqual([...new Set(Object.values(SNS_ACTIONS).flat())].sort())
  })

  it("development without push: the policies still deploy (every Fn::Select in range) and name an application that does not exist", () => {
    const grants = snsGrants(dev, "documents", none)
    expect(grants["sns:CreatePlatformEndpoint"]).toEqual([
      "arn:aws:sns:eu-west-1:123456789012:app/APNS/serenya-development-push-not-configured",
      "arn:aws:sns:eu-west-1:123456789012:app/GCM/serenya-development-push-not-configured"
    ])
    expect(snsGrants(dev, "processor", none)["sns:Publish"]).toEqual([
      "arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/serenya-development-push-not-configured/*",
      "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/serenya-development-push-not-configured/*"
    ])
  })

  it.each([
    ["production", prod],
    ["development", dev]
  ] as const)("%s: SNS is reached from the isolated subnets through an interface endpoint (no internet route there)", (_stage, template) => {
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      ServiceName: "com.amazonaws.eu-west-1.sns",
      VpcEndpointType: "Interface",
      PrivateDnsEnabled: true
    })
  })
})
