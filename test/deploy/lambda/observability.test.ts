/**
 * What an SRE gets from the stack's monitoring: every alarm reads a metric the code really writes
 * on Lambda (the list below is produced by running the code's own metric writers, not copied),
 * every alarm reaches people through one of the architecture's five topics, and the dashboard has
 * the architecture's widgets.
 */
import { App } from "aws-cdk-lib"
import { Match, Template } from "aws-cdk-lib/assertions"
import * as lambda from "aws-cdk-lib/aws-lambda"
import { Effect, Metric } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse as parseYaml } from "yaml"
import { createApp } from "../../../deploy/lambda/app.js"
import { COLLECTOR_CONFIG_PATH } from "../../../deploy/lambda/collector.js"
import { ADOT_COLLECTOR, SERVICE_NAMES, TRACE_EXPORT_ENVIRONMENT, XRAY_WRITE_ACTIONS } from "../../../deploy/lambda/infra/functions.js"
import { ALERT_TOPICS, RECOVERY_MIN_ATTEMPTS, RECOVERY_SUCCESS_PERCENT } from "../../../deploy/lambda/infra/observability.js"
import { addStage } from "../../../deploy/lambda/infra/stack.js"
import { stages } from "../../../deploy/lambda/infra/stages.js"
import { emfLine } from "../../../src/layers/costTracker/emf.js"
import { makeEmfMetrics } from "../../../src/layers/telemetry/emf.js"
import { UsageDocumentType } from "../../../src/services/costTracker.js"
import { ErrorCategory, RecoveryStrategy } from "../../../src/services/errors.js"
import { LLMProviderName } from "../../../src/services/llm.js"
import { CLOUDWATCH_METRICS, recordBreakerState, recordError, recordRecovery } from "../../../src/services/metrics.js"
import { BreakerConfigs } from "../../../src/services/resilience.js"
import { runNag } from "./support/nag.js"

const code = () => lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })")
const { stacks } = createApp({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")), code, deploymentId: "test-deployment", nag: false })
const dev = Template.fromStack(stacks.development.main)
const prod = Template.fromStack(stacks.production.main)
const both = [
  ["development", dev],
  ["production", prod]
] as const

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly Condition?: string }
const resources = (template: Template, type: string) => template.findResources(type) as Record<string, Resource>
const json = (value: unknown) => JSON.stringify(value)

// ---------------------------------------------------------------------------------------------
// What the code emits: every EMF line its writers produce for every value the code can record.

interface Emitted {
  /** `namespace|metric|dimension,dimension` for every dimension set a line publishes under. */
  readonly series: Set<string>
  /** Every value seen per dimension name. */
  readonly values: Map<string, Set<string>>
}

const seriesKey = (namespace: string, metric: string, dimensions: ReadonlyArray<string>) =>
  `${namespace}|${metric}|${[...dimensions].sort().join(",")}`

const collect = (lines: ReadonlyArray<string>): Emitted => {
  const series = new Set<string>()
  const values = new Map<string, Set<string>>()
  for (const line of lines) {
    const document = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: Array<Array<string>>; Metrics: Array<{ Name: string }> }> }
    }
    for (const directive of document._aws.CloudWatchMetrics) {
      for (const dimensions of directive.Dimensions) {
        for (const dimension of dimensions) {
          // EMF refuses a line whose dimension has no value: every one must be a top-level string
          expect(typeof document[dimension], `${dimension} in ${line}`).toBe("string")
          const seen = values.get(dimension) ?? new Set<string>()
          seen.add(document[dimension] as string)
          values.set(dimension, seen)
        }
        for (const { Name } of directive.Metrics) {
          expect(typeof document[Name], `${Name} in ${line}`).toBe("number")
          series.add(seriesKey(directive.Namespace, Name, dimensions))
        }
      }
    }
  }
  return { series, values }
}

const emitted: Emitted = (() => {
  const lines: Array<string> = []
  const writer = makeEmfMetrics(Object.values(CLOUDWATCH_METRICS), { emit: (line) => Effect.sync(() => void lines.push(line)) })
  const program = Effect.gen(function* () {
    for (const category of ErrorCategory.literals) for (const recovery of RecoveryStrategy.literals) yield* recordError(category, recovery)
    for (const strategy of RecoveryStrategy.literals) for (const success of [true, false]) yield* recordRecovery(strategy, success)
    // a gauge line is written for a breaker's current state: go through every state, flushing each time
    for (const state of ["closed", "open", "half_open"] as const) {
      for (const breaker of Object.keys(BreakerConfigs)) yield* recordBreakerState(breaker, state)
      yield* writer.flush
    }
  })
  Effect.runSync(Effect.provideService(program, Metric.MetricRegistry, new Map()))
  for (const provider of LLMProviderName.literals) {
    for (const documentType of UsageDocumentType.literals) {
      lines.push(
        emfLine({
          userId: "u",
          provider,
          modelId: "eu.anthropic.claude-sonnet-5-5",
          documentType,
          inputTokens: 10,
          outputTokens: 5,
          totalCostCents: 0.01,
          processingTimeMs: 1200,
          occurredAt: new Date("2026-12-07T09:00:00Z"),
          idempotencyKey: "k"
        })
      )
    }
  }
  return collect(lines)
})()

// ---------------------------------------------------------------------------------------------
// What the alarms read.

interface MetricRead {
  readonly namespace: string
  readonly metric: string
  readonly dimensions: Record<string, unknown>
}

const readsOf = (alarm: Record<string, unknown>): Array<MetricRead> => {
  const dims = (list: unknown) =>
    Object.fromEntries(((list ?? []) as Array<{ Name: string; Value: unknown }>).map((d) => [d.Name, d.Value]))
  if (typeof alarm.MetricName === "string") {
    return [{ namespace: alarm.Namespace as string, metric: alarm.MetricName, dimensions: dims(alarm.Dimensions) }]
  }
  return ((alarm.Metrics ?? []) as Array<{ MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: unknown } } }>)
    .flatMap((query) => (query.MetricStat === undefined ? [] : [query.MetricStat.Metric]))
    .map((m) => ({ namespace: m.Namespace, metric: m.MetricName, dimensions: dims(m.Dimensions) }))
}

const alarmsOf = (template: Template) =>
  Object.values(resources(template, "AWS::CloudWatch::Alarm")).map((alarm) => alarm.Properties ?? {})

const alarmDescribed = (template: Template, start: string) => {
  const found = alarmsOf(template).filter((a) => String(a.AlarmDescription).startsWith(start))
  expect(found, start).toHaveLength(1)
  return found[0]!
}

describe("every alarm reads a metric the code emits on Lambda", () => {
  it("the writers emit the architecture's error metrics with its dimension names", () => {
    for (const key of [
      "Serenya/Errors|ErrorsByCategory|Category,RecoveryStrategy",
      "Serenya/Errors|ErrorsByCategory|Category",
      "Serenya/Errors|CircuitBreakerState|Service,Status",
      "Serenya/Errors|CircuitBreakerState|Status",
      "Serenya/Errors|RecoverySuccess|Strategy,Success",
      "Serenya/Errors|RecoverySuccess|Success",
      "Serenya/LLM|TotalCost|"
    ]) {
      expect(emitted.series).toContain(key)
    }
    // a closed breaker is the idle state: never written, so every Status written is one an alarm may read
    expect([...emitted.values.get("Status")!].sort()).toEqual(["half_open", "open"])
    expect([...emitted.values.get("Category")!].sort()).toEqual([...ErrorCategory.literals].sort())
  })

  it.each(both)("%s: each application metric an alarm reads, with its dimensions and values, is one the code writes", (_stage, template) => {
    let application = 0
    for (const alarm of alarmsOf(template)) {
      for (const read of readsOf(alarm)) {
        if (!read.namespace.startsWith("Serenya/")) continue
        application++
        const key = seriesKey(read.namespace, read.metric, Object.keys(read.dimensions))
        expect(emitted.series, `${alarm.AlarmDescription}: ${key}`).toContain(key)
        for (const [name, value] of Object.entries(read.dimensions)) {
          expect(emitted.values.get(name), `${alarm.AlarmDescription}: ${name}=${String(value)}`).toContain(value)
        }
      }
    }
    // breaker open, technical and external errors, recoveries (two series), LLM cost
    expect(application).toBe(6)
  })

  it.each(both)("%s: the dashboard's application metrics are emitted too", (_stage, template) => {
    const [dashboard] = Object.values(resources(template, "AWS::CloudWatch::Dashboard"))
    // The body is a Fn::Join of strings and tokens; its metric arrays are what a widget reads.
    const body = json(dashboard!.Properties?.DashboardBody).replace(/\\"/g, '"')
    const arrays = [...body.matchAll(/\["(Serenya\/[A-Za-z]+)","([A-Za-z]+)"((?:,"[A-Za-z]+","[a-z_A-Z0-9.-]+")*)/g)]
    expect(arrays.length).toBeGreaterThan(10)
    for (const [, namespace, metric, rest] of arrays) {
      const pairs = [...rest!.matchAll(/,"([A-Za-z]+)","([^"]+)"/g)].map(([, k, v]) => [k!, v!] as const)
      expect(emitted.series, `${namespace}/${metric} ${json(pairs)}`).toContain(seriesKey(namespace!, metric!, pairs.map(([k]) => k)))
      for (const [name, value] of pairs) expect(emitted.values.get(name), `${metric} ${name}=${value}`).toContain(value)
    }
  })
})

describe("the alarms", () => {
  it.each(both)("%s: recovery failures — the share of recoveries that succeeded, once there were enough to judge", (_stage, template) => {
    const alarm = alarmDescribed(template, "Error recovery strategies failing")
    expect(alarm).toMatchObject({ ComparisonOperator: "LessThanThreshold", Threshold: RECOVERY_SUCCESS_PERCENT, EvaluationPeriods: 3 })
    const metrics = alarm.Metrics as Array<{ Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Period: number; Stat: string } }>
    const expression = metrics.find((m) => m.Expression !== undefined)!
    expect(expression.Expression).toContain(`>= ${RECOVERY_MIN_ATTEMPTS}`)
    for (const stat of metrics.flatMap((m) => (m.MetricStat === undefined ? [] : [m.MetricStat]))) {
      expect(stat).toMatchObject({ Period: 300, Stat: "Sum" })
    }
    expect(readsOf(alarm).map((r) => r.dimensions)).toEqual([{ Success: "true" }, { Success: "false" }])
  })

  it.each(both)("%s: an open breaker on any service, technical errors, flow logs no longer delivered", (_stage, template) => {
    expect(alarmDescribed(template, "A circuit breaker")).toMatchObject({
      Namespace: "Serenya/Errors",
      MetricName: "CircuitBreakerState",
      Dimensions: [{ Name: "Status", Value: "open" }],
      Statistic: "Maximum",
      Period: 60,
      Threshold: 1
    })
    expect(alarmDescribed(template, "High rate of technical errors")).toMatchObject({
      Dimensions: [{ Name: "Category", Value: "technical" }],
      Period: 300,
      EvaluationPeriods: 2,
      Threshold: 20
    })
    const flowLogs = alarmDescribed(template, "VPC flow logs are not being delivered")
    expect(flowLogs).toMatchObject({
      Namespace: "AWS/Logs",
      MetricName: "IncomingLogEvents",
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching"
    })
    expect(json(flowLogs.Dimensions)).toMatch(/NetworkFlowLogs/)
  })

  it.each(both)("%s: five KMS-encrypted topics, and every alarm notifies exactly the one its kind belongs to", (_stage, template) => {
    const topics = resources(template, "AWS::SNS::Topic")
    expect(Object.keys(topics)).toHaveLength(5)
    for (const topic of Object.values(topics)) expect(topic.Properties?.KmsMasterKeyId).toBeDefined()
    const topicOf = (logicalId: string) => ALERT_TOPICS.find((t) => logicalId.toLowerCase().includes(`${t}alerts`))
    const expected: Record<string, string> = {
      "A circuit breaker": "critical",
      "High rate of technical errors": "critical",
      "Error recovery strategies failing": "critical",
      "API server errors": "critical",
      "Document jobs failed": "critical",
      "High rate of errors from external services": "warning",
      "Database connection count high": "warning",
      "LLM spend above": "cost",
      "VPC flow logs": "security",
      "High rate of client errors": "security",
      "Streams refused": "warning"
    }
    const alarms = alarmsOf(template)
    expect(alarms).toHaveLength(16)
    for (const alarm of alarms) {
      const targets = (alarm.AlarmActions as Array<{ Ref: string }>).map((a) => a.Ref)
      expect(targets).toHaveLength(1)
      const description = String(alarm.AlarmDescription)
      const kind = Object.entries(expected).find(([start]) => description.startsWith(start))?.[1] ?? (description.includes("duration") ? "performance" : "?")
      expect(topicOf(targets[0]!), description).toBe(kind)
    }
  })

  it.each(both)("%s: the architecture's thresholds on the AWS services' metrics", (_stage, template) => {
    const withMetric = (namespace: string, metricName: string) =>
      alarmsOf(template).filter((a) => json(a).includes(`"Namespace":"${namespace}"`) && json(a).includes(`"MetricName":"${metricName}"`))
    const cost = withMetric("Serenya/LLM", "TotalCost")
    expect(cost).toEqual([expect.objectContaining({ Period: 3600, Threshold: 100, Statistic: "Sum" })])
    expect(cost[0]).not.toHaveProperty("Dimensions")
    expect(withMetric("AWS/ApiGateway", "5xx")).toEqual([expect.objectContaining({ Threshold: 10 })])
    expect(withMetric("AWS/ApiGateway", "4xx")).toEqual([expect.objectContaining({ Threshold: 50 })])
    expect(withMetric("AWS/RDS", "DatabaseConnections")).toEqual([expect.objectContaining({ Threshold: 80 })])
    const durations = withMetric("AWS/Lambda", "Duration").map((a) => a.Threshold).sort((x, y) => Number(x) - Number(y))
    // five sixths of the timeouts: 28 s (auth, documents, chat) and 700 s (processor, its pushes
    // included); the stream function's longest invocation past its longest stream (10 min) by half a minute
    expect(durations).toEqual([23_333, 23_333, 23_333, 583_333, 630_000])
    expect(withMetric("AWS/SQS", "ApproximateNumberOfMessagesVisible")).toHaveLength(1)
  })

  it("production cannot be deployed without an alarm address; development may be", () => {
    prod.hasParameter("AlarmEmail", { Type: "String", Default: Match.absent(), AllowedPattern: Match.stringLikeRegexp("@") })
    dev.hasParameter("AlarmEmail", { Type: "String", Default: "" })
    const subscriptions = (template: Template) => Object.values(resources(template, "AWS::SNS::Subscription"))
    for (const [stage, template] of both) {
      const list = subscriptions(template)
      expect(list, stage).toHaveLength(5)
      for (const subscription of list) expect(subscription.Properties).toMatchObject({ Protocol: "email", Endpoint: { Ref: "AlarmEmail" } })
    }
    for (const subscription of subscriptions(prod)) expect(subscription.Condition).toBeUndefined()
    for (const subscription of subscriptions(dev)) expect(subscription.Condition).toBeDefined()
    // CloudFormation checks the address against the pattern before anything is created
    const pattern = new RegExp(`^${(prod.toJSON() as { Parameters: { AlarmEmail: { AllowedPattern: string } } }).Parameters.AlarmEmail.AllowedPattern}$`)
    expect(pattern.test("oncall@serenya.health")).toBe(true)
    for (const bad of ["", "oncall", "on call@serenya.health", "@serenya.health", "a@b"]) expect(pattern.test(bad), bad).toBe(false)
  })

  it("a stage with a Slack channel relays every topic to it, and nothing can be run from the channel", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")) })
    const { main } = addStage(
      app,
      { ...stages.development, alerts: { emailRequired: false, slack: { workspaceId: "T0123ABCD", channelId: "C0123ABCD" } } },
      { code, deploymentId: "test" }
    )
    const template = Template.fromStack(main)
    const [slack] = Object.values(resources(template, "AWS::Chatbot::SlackChannelConfiguration"))
    expect(slack!.Properties).toMatchObject({ SlackWorkspaceId: "T0123ABCD", SlackChannelId: "C0123ABCD" })
    expect(slack!.Properties?.SnsTopicArns).toHaveLength(5)
    const guardrails = slack!.Properties?.GuardrailPolicies as Array<unknown>
    expect(guardrails).toHaveLength(1)
    template.hasResourceProperties("AWS::IAM::ManagedPolicy", {
      PolicyDocument: { Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }
    })
    const { findings } = runNag(main)
    expect(findings.filter((f) => f.paths.some((p) => /Chatbot|Slack/.test(p)))).toEqual([])
  })
})

describe("the dashboard", () => {
  it.each(both)("%s: S3 requests of the processing bucket, NAT packet drops, flow-log records", (stage, template) => {
    const [dashboard] = Object.values(resources(template, "AWS::CloudWatch::Dashboard"))
    const body = json(dashboard!.Properties?.DashboardBody)
    expect(body).toContain("AllRequests")
    expect(body).toContain("EntireBucket")
    template.hasResourceProperties("AWS::S3::Bucket", { MetricsConfigurations: [{ Id: "EntireBucket" }] })
    expect(body.match(/PacketsDropCount/g)).toHaveLength(stage === "production" ? 2 : 1)
    expect(body).toContain("Network Security")
    expect(body).toContain("IncomingLogEvents")
  })
})

describe("traces from Lambda", () => {
  const functionsOf = (template: Template) =>
    Object.values(resources(template, "AWS::Lambda::Function")).filter((f) => String(f.Properties?.Description).startsWith("Serenya "))

  it.each(both)("%s: every function traces actively and exports its spans to the ADOT collector beside it", (_stage, template) => {
    const functions = functionsOf(template)
    expect(functions).toHaveLength(6)
    const layerArn = "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-collector-arm64-ver-0-115-0:2"
    expect(ADOT_COLLECTOR.layerArn(stacks.development.main, lambda.Architecture.ARM_64)).toBe(layerArn)
    for (const fn of functions) {
      const description = String(fn.Properties?.Description)
      expect(fn.Properties?.TracingConfig, description).toEqual({ Mode: "Active" })
      expect(fn.Properties?.Layers, description).toEqual([layerArn])
      const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables
      expect(variables, description).toMatchObject(TRACE_EXPORT_ENVIRONMENT)
      const name = description.split(": ")[1] as keyof typeof SERVICE_NAMES
      expect(variables.OTEL_SERVICE_NAME, description).toBe(SERVICE_NAMES[name])
    }
    expect(new Set(Object.values(SERVICE_NAMES))).toEqual(new Set(["serenya-api", "serenya-worker", "serenya-migrate"]))
    // spans reach X-Ray from the isolated subnets through an interface endpoint
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      ServiceName: "com.amazonaws.eu-west-1.xray",
      VpcEndpointType: "Interface",
      PrivateDnsEnabled: true
    })
  })

  it("the collector listens where the functions send, and sends traces (only) to X-Ray", () => {
    const config = parseYaml(readFileSync(COLLECTOR_CONFIG_PATH, "utf8")) as {
      receivers: { otlp: { protocols: Record<string, { endpoint: string }> } }
      exporters: Record<string, unknown>
      service: { pipelines: Record<string, { receivers: Array<string>; exporters: Array<string> }> }
    }
    const sendsTo = new URL(TRACE_EXPORT_ENVIRONMENT.OTEL_EXPORTER_OTLP_ENDPOINT)
    expect(TRACE_EXPORT_ENVIRONMENT.OTEL_EXPORTER_OTLP_PROTOCOL).toBe("http/protobuf")
    expect(config.receivers.otlp.protocols).toEqual({ http: { endpoint: sendsTo.host } })
    expect(sendsTo.hostname).toBe("localhost")
    expect(Object.keys(config.exporters)).toEqual(["awsxray"])
    expect(config.service.pipelines).toEqual({ traces: { receivers: ["otlp"], exporters: ["awsxray"] } })
    expect(TRACE_EXPORT_ENVIRONMENT.OPENTELEMETRY_COLLECTOR_CONFIG_URI).toBe("/var/task/collector.yaml")
  })

  it.each(both)("%s: the X-Ray permissions are in each function's managed policy; no inline policy appears", (_stage, template) => {
    const policies = Object.values(resources(template, "AWS::IAM::ManagedPolicy")).filter((p) =>
      /function: its own resources/.test(String(p.Properties?.Description))
    )
    expect(policies).toHaveLength(6)
    for (const policy of policies) {
      const statements = (policy.Properties?.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown }> }).Statement
      expect(statements).toContainEqual(expect.objectContaining({ Action: [...XRAY_WRITE_ACTIONS], Resource: "*" }))
    }
    const inline = Object.values(resources(template, "AWS::IAM::Policy")).filter((p) => json(p.Properties?.Roles).includes("FunctionsauthRole"))
    expect(inline).toEqual([])
  })
})

describe("asynchronous invocations", () => {
  it.each(both)("%s: every function's live alias retries twice and drops events older than an hour, into its dead-letter queue", (_stage, template) => {
    const configs = Object.values(resources(template, "AWS::Lambda::EventInvokeConfig"))
    expect(configs).toHaveLength(6)
    for (const config of configs) {
      expect(config.Properties).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 })
      // the qualifier is the live alias's name, taken from its ARN
      expect(json(config.Properties?.Qualifier)).toMatch(/"Ref":"Functions\w+LiveE?[A-Z0-9]*"/)
    }
    for (const fn of Object.values(resources(template, "AWS::Lambda::Function")).filter((f) => String(f.Properties?.Description).startsWith("Serenya "))) {
      expect(fn.Properties?.DeadLetterConfig, String(fn.Properties?.Description)).toEqual({ TargetArn: expect.anything() })
    }
  })
})
