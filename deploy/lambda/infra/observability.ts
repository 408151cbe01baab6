import { CfnCondition, CfnParameter, Duration, Fn, RemovalPolicy } from "aws-cdk-lib"
import * as chatbot from "aws-cdk-lib/aws-chatbot"
import * as cloudtrail from "aws-cdk-lib/aws-cloudtrail"
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch"
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions"
import type * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2"
import * as logs from "aws-cdk-lib/aws-logs"
import type * as rds from "aws-cdk-lib/aws-rds"
import * as s3 from "aws-cdk-lib/aws-s3"
import * as sns from "aws-cdk-lib/aws-sns"
import * as iam from "aws-cdk-lib/aws-iam"
import type * as sqs from "aws-cdk-lib/aws-sqs"
import { Construct } from "constructs"
import { EMF_NAMESPACE, metricProvider } from "../../../src/layers/costTracker/emf.js"
import { UsageDocumentType } from "../../../src/services/costTracker.js"
import { ErrorCategory, type RecoveryStrategy } from "../../../src/services/errors.js"
import { CLOUDWATCH_METRICS } from "../../../src/services/metrics.js"
import { BreakerConfigs } from "../../../src/services/resilience.js"
import { BUCKET_REQUEST_METRICS_FILTER, type Data } from "./data.js"
import { bucketRef } from "./exact.js"
import { type ServiceFunction, SIZES } from "./functions.js"
import { LONGEST_STREAM_SECONDS } from "../../streaming.js"
import { durationAlarmMillis } from "./budgets.js"
import type { Keys } from "./keys.js"
import { acknowledge } from "./nag.js"
import type { Network } from "./network.js"
import type { FunctionName, StageSettings } from "./stages.js"

/**
 * The application's own metrics in CloudWatch, from the code that writes them:
 * - Serenya/Errors: CLOUDWATCH_METRICS (src/services/metrics.ts), EMF lines the functions write at
 *   the end of each invocation (src/layers/telemetry/emf.ts, src/main/lambda/live.ts);
 * - Serenya/LLM: one EMF line per LLM call (src/layers/costTracker/emf.ts).
 * test/deploy/lambda/observability.test.ts ties every alarm to a metric these writers emit.
 */
export const APP_METRICS = {
  llmNamespace: EMF_NAMESPACE,
  breakers: Object.keys(BreakerConfigs) as ReadonlyArray<keyof typeof BreakerConfigs>,
  categories: ErrorCategory.literals,
  documentTypes: UsageDocumentType.literals,
  bedrockProvider: metricProvider("aws.bedrock")
} as const

/** One of the error-handling metrics, under one of the dimension sets its lines are published with. */
const errorsMetric = <M extends (typeof CLOUDWATCH_METRICS)[keyof typeof CLOUDWATCH_METRICS]>(
  metric: M,
  dimensionsMap: { readonly [D in M["dimensionSets"][number][number]]?: string },
  statistic: string,
  period: Duration,
  label?: string
) =>
  new cloudwatch.Metric({
    namespace: metric.namespace,
    metricName: metric.name,
    dimensionsMap: dimensionsMap as Record<string, string>,
    statistic,
    period,
    ...(label === undefined ? {} : { label })
  })

/**
 * The architecture's five topics; each alarm notifies the one its kind belongs to:
 * - critical: the service is failing users now (breaker open, technical errors, recoveries failing,
 *   API 5xx, jobs dead-lettered);
 * - warning: trouble building up (external services erring, database connections high);
 * - performance: functions running close to their timeouts;
 * - cost: LLM spend per hour;
 * - security: flow logs no longer delivered, a burst of 4xx (failed authentication).
 */
export const ALERT_TOPICS = ["critical", "warning", "performance", "cost", "security"] as const
export type AlertTopic = (typeof ALERT_TOPICS)[number]

/** The recovery alarm: under this share of successful recoveries (%), once there were at least RECOVERY_MIN_ATTEMPTS. */
export const RECOVERY_SUCCESS_PERCENT = 50
export const RECOVERY_MIN_ATTEMPTS = 10

/**
 * The stream function's duration alarm: a job's event stream ends itself at LONGEST_STREAM_SECONDS
 * (with a reconnect hint), so an invocation this much longer is a stream that did not, and that
 * Lambda's timeout (STREAM_TIMEOUT, a minute past it) is about to cut. A long duration is the
 * function's nature; only a longest one past the maximum means something.
 */
export const STREAM_OVERRUN_SECONDS = 30

export interface ObservabilityProps {
  readonly settings: StageSettings
  readonly keys: Keys
  readonly data: Data
  readonly network: Network
  readonly functions: Record<FunctionName, ServiceFunction>
  readonly httpApi: apigwv2.HttpApi
  readonly proxy: rds.DatabaseProxy
}

/** What CloudFormation accepts as AlarmEmail (a plain address; SNS checks it by sending a confirmation). */
const EMAIL_PATTERN = "[^@\\s]+@[^@\\s]+\\.[^@\\s]+"

export class Observability extends Construct {
  readonly topics: Record<AlertTopic, sns.Topic>
  readonly trail: cloudtrail.Trail
  readonly trailBucket: s3.IBucket
  readonly dashboard: cloudwatch.Dashboard
  readonly alarms: Array<cloudwatch.Alarm> = []

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id)
    const { settings, keys, data, functions } = props

    this.topics = Object.fromEntries(
      ALERT_TOPICS.map((topic) => [
        topic,
        new sns.Topic(this, `${topic[0]!.toUpperCase()}${topic.slice(1)}Alerts`, {
          displayName: `Serenya ${settings.stage} ${topic}`,
          masterKey: keys.platform,
          enforceSSL: true
        })
      ])
    ) as Record<AlertTopic, sns.Topic>
    this.subscribeEmail(settings)
    if (settings.alerts.slack !== undefined) this.subscribeSlack(settings, settings.alerts.slack)

    const alarm = (alarmId: string, topic: AlertTopic, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...alarmProps })
      created.addAlarmAction(new actions.SnsAction(this.topics[topic]))
      this.alarms.push(created)
      return created
    }
    const minute = Duration.minutes(1)
    const fiveMinutes = Duration.minutes(5)
    const { ErrorsByCategory, CircuitBreakerState, RecoverySuccess } = CLOUDWATCH_METRICS
    alarm("CircuitBreakerOpen", "critical", {
      alarmDescription: "A circuit breaker (Google OAuth, LLM or database) is open",
      // Each function writes 1 under a breaker's state at the end of every invocation while it is not closed.
      metric: errorsMetric(CircuitBreakerState, { Status: "open" }, "Maximum", minute),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    })
    alarm("TechnicalErrors", "critical", {
      alarmDescription: "High rate of technical errors: infrastructure trouble",
      metric: errorsMetric(ErrorsByCategory, { Category: "technical" }, "Sum", fiveMinutes),
      threshold: 20,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    alarm("ExternalErrors", "warning", {
      alarmDescription: "High rate of errors from external services (Google, Bedrock)",
      metric: errorsMetric(ErrorsByCategory, { Category: "external" }, "Sum", fiveMinutes),
      threshold: 20,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    // The architecture watches successful recoveries (Success=true, under 10 per 5 minutes, three
    // periods running). A bare count would also fire on a quiet night with a few recoveries, all
    // successful; so: the share that succeeded, once there were at least 10 attempts in the period.
    alarm("RecoveryFailures", "critical", {
      alarmDescription: `Error recovery strategies failing: under ${RECOVERY_SUCCESS_PERCENT}% of at least ${RECOVERY_MIN_ATTEMPTS} recoveries in 5 minutes succeeded, three periods running`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(FILL(ok, 0) + FILL(failed, 0) >= ${RECOVERY_MIN_ATTEMPTS}, 100 * FILL(ok, 0) / (FILL(ok, 0) + FILL(failed, 0)), 100)`,
        usingMetrics: {
          ok: errorsMetric(RecoverySuccess, { Success: "true" }, "Sum", fiveMinutes),
          failed: errorsMetric(RecoverySuccess, { Success: "false" }, "Sum", fiveMinutes)
        },
        label: "Recoveries that succeeded (%)",
        period: fiveMinutes
      }),
      threshold: RECOVERY_SUCCESS_PERCENT,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
    })

    for (const name of ["auth", "documents", "chat", "processor"] as const) {
      const thresholdMs = durationAlarmMillis(SIZES[name].timeout)
      alarm(`${name}DurationNearTimeout`, "performance", {
        alarmDescription: `The ${name} function's average duration is approaching its timeout`,
        metric: functions[name].fn.metricDuration({ statistic: "Average", period: fiveMinutes }),
        threshold: thresholdMs,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
      })
    }
    // The stream function runs for as long as its streams: its average duration says nothing.
    alarm("streamDurationPastMaximum", "performance", {
      alarmDescription: `The stream function's longest duration passed the streams' maximum (${LONGEST_STREAM_SECONDS} s): a stream did not end itself and Lambda's timeout cuts it`,
      metric: functions.stream.fn.metricDuration({ statistic: "Maximum", period: fiveMinutes }),
      threshold: (LONGEST_STREAM_SECONDS + STREAM_OVERRUN_SECONDS) * 1000,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    // Its reserved concurrency is the number of streams open at once: past it, new ones are refused.
    alarm("streamThrottled", "warning", {
      alarmDescription: "Streams refused: the stream function is throttled at its reserved concurrency (open streams); raise it in stages.ts",
      metric: functions.stream.fn.metricThrottles({ statistic: "Sum", period: fiveMinutes }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })

    alarm("LlmCostPerHour", "cost", {
      alarmDescription: `LLM spend above ${settings.llmCostPerHourCents} cents in an hour`,
      // TotalCost is published with no dimensions too (emf.ts) for exactly this alarm.
      metric: new cloudwatch.Metric({ namespace: APP_METRICS.llmNamespace, metricName: "TotalCost", statistic: "Sum", period: Duration.hours(1) }),
      threshold: settings.llmCostPerHourCents,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })

    alarm("Api5xx", "critical", {
      alarmDescription: "API server errors (5xx)",
      metric: props.httpApi.metricServerError({ statistic: "Sum", period: fiveMinutes }),
      threshold: 10,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    alarm("Api4xx", "security", {
      alarmDescription: "High rate of client errors (4xx), e.g. failed authentication",
      metric: props.httpApi.metricClientError({ statistic: "Sum", period: fiveMinutes }),
      threshold: 50,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    alarm("DatabaseConnections", "warning", {
      alarmDescription: "Database connection count high",
      metric: data.database.metricDatabaseConnections({ statistic: "Average", period: fiveMinutes }),
      threshold: 80,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    const queueDepth = (queue: sqs.IQueue) => queue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: fiveMinutes })
    alarm("JobDeadLetters", "critical", {
      alarmDescription: "Document jobs failed five times and reached the dead-letter queue",
      metric: queueDepth(data.jobDeadLetterQueue),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    })
    // The architecture's "VPC flow-log delivery errors": CloudWatch publishes no delivery-error metric
    // for flow logs, so the alarm watches what a failed delivery looks like from here — no flow-log
    // record reaching the log group. The proxy's health checks alone keep the VPC talking, so an
    // empty half hour means delivery stopped (role, key policy, or the flow log removed).
    alarm("FlowLogsNotDelivered", "security", {
      alarmDescription: "VPC flow logs are not being delivered to their log group",
      metric: new cloudwatch.Metric({
        namespace: "AWS/Logs",
        metricName: "IncomingLogEvents",
        dimensionsMap: { LogGroupName: props.network.flowLogGroup.logGroupName },
        statistic: "Sum",
        period: Duration.minutes(10)
      }),
      threshold: 1,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING
    })

    this.dashboard = this.buildDashboard(props)
    this.trailBucket = bucketRef(new s3.Bucket(this, "TrailBucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: keys.platform,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: data.accessLogsBucket,
      serverAccessLogsPrefix: "trail-bucket/",
      removalPolicy: settings.dataRemovalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN
    }))
    acknowledge(
      this.trailBucket,
      "HIPAA.Security-S3BucketReplicationEnabled",
      "CloudTrail log files are integrity-protected by digest files (log-file validation) and kept in a versioned bucket; cross-region replication is not part of the architecture's backup plan."
    )
    const trailLogs = new logs.LogGroup(this, "TrailLogs", {
      retention: settings.logRetention,
      encryptionKey: keys.platform,
      removalPolicy: settings.dataRemovalPolicy
    })
    this.trail = new cloudtrail.Trail(this, "Trail", {
      bucket: this.trailBucket,
      s3KeyPrefix: "cloudtrail-logs",
      encryptionKey: keys.platform,
      enableFileValidation: true,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      managementEvents: cloudtrail.ReadWriteType.ALL,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: trailLogs,
      insightTypes: [cloudtrail.InsightType.API_CALL_RATE]
    })
    acknowledge(
      this.trail,
      "HIPAA.Security-IAMNoInlinePolicy",
      "The trail's CloudWatch Logs delivery role is generated by aws-cdk-lib with one inline policy: write to this trail's log group."
    )
    // KMS Encrypt/Decrypt/GenerateDataKey are read management events in CloudTrail: ALL above records them.
    this.trail.addS3EventSelector([{ bucket: data.processingBucket }], { readWriteType: cloudtrail.ReadWriteType.ALL })
  }

  /**
   * The `AlarmEmail` parameter, subscribed to every topic. Where the stage requires it the
   * parameter has no default, so CloudFormation refuses a deployment without an address; elsewhere
   * it defaults to empty and the subscriptions are created only when one is given.
   */
  private subscribeEmail(settings: StageSettings): void {
    const required = settings.alerts.emailRequired
    const parameter = new CfnParameter(this, "AlarmEmail", {
      type: "String",
      description: required
        ? "Where the alarms go (required): an address watched by whoever is on call. AWS sends it a confirmation link first."
        : "Where the alarms go (optional in this stage): an email address, or empty for none.",
      allowedPattern: required ? EMAIL_PATTERN : `(${EMAIL_PATTERN})?`,
      constraintDescription: "an email address",
      ...(required ? {} : { default: "" })
    })
    parameter.overrideLogicalId("AlarmEmail")
    const given = required
      ? undefined
      : new CfnCondition(this, "AlarmEmailGiven", { expression: Fn.conditionNot(Fn.conditionEquals(parameter.valueAsString, "")) })
    for (const topic of ALERT_TOPICS) {
      const subscription = new sns.CfnSubscription(this, `${topic}Email`, {
        protocol: "email",
        endpoint: parameter.valueAsString,
        topicArn: this.topics[topic].topicArn
      })
      if (given !== undefined) subscription.cfnOptions.condition = given
    }
  }

  /**
   * Every topic to a Slack channel through AWS Chatbot. Its role may do nothing, and the guardrail
   * denies everything, so the channel receives alarms and nobody can run a command from it.
   */
  private subscribeSlack(settings: StageSettings, slack: { readonly workspaceId: string; readonly channelId: string }): void {
    const role = new iam.Role(this, "ChatbotRole", {
      assumedBy: new iam.ServicePrincipal("chatbot.amazonaws.com"),
      description: `Serenya ${settings.stage}: AWS Chatbot relays alarms to Slack and may do nothing else`
    })
    const guardrail = new iam.ManagedPolicy(this, "ChatbotGuardrail", {
      description: `Serenya ${settings.stage}: nothing may be done from the alarm channel`,
      statements: [new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ["*"], resources: ["*"] })]
    })
    new chatbot.SlackChannelConfiguration(this, "Slack", {
      slackChannelConfigurationName: `serenya-${settings.stage}-alarms`,
      slackWorkspaceId: slack.workspaceId,
      slackChannelId: slack.channelId,
      notificationTopics: ALERT_TOPICS.map((topic) => this.topics[topic]),
      role,
      guardrailPolicies: [guardrail],
      loggingLevel: chatbot.LoggingLevel.ERROR
    })
  }

  private buildDashboard(props: ObservabilityProps): cloudwatch.Dashboard {
    const { functions, httpApi, data, settings, network } = props
    const period = Duration.minutes(5)
    const apiFunctions = (["auth", "documents", "chat", "processor"] as const).map((name) => functions[name])
    const { stream } = functions
    const llm = (metricName: string, dimensionsMap: Record<string, string>) =>
      new cloudwatch.Metric({ namespace: APP_METRICS.llmNamespace, metricName, dimensionsMap, statistic: "Sum", period })
    const { ErrorsByCategory, CircuitBreakerState, RecoverySuccess } = CLOUDWATCH_METRICS

    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) })
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Lambda Function Duration",
        left: apiFunctions.map(({ fn, name }) => fn.metricDuration({ statistic: "Average", period, label: name })),
        leftYAxis: { min: 0, max: 180_000 },
        width: 12
      }),
      new cloudwatch.GraphWidget({
        title: "API Gateway Performance & Errors",
        left: [
          httpApi.metricCount({ statistic: "Sum", period }),
          httpApi.metricClientError({ statistic: "Sum", period }),
          httpApi.metricServerError({ statistic: "Sum", period })
        ],
        right: [httpApi.metricIntegrationLatency({ statistic: "Average", period })],
        width: 12
      })
    )
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Database Performance",
        left: [data.database.metricCPUUtilization({ period }), data.database.metricDatabaseConnections({ period })],
        right: [
          data.database.metricFreeableMemory({ period }),
          data.database.metric("ReadLatency", { period }),
          data.database.metric("WriteLatency", { period })
        ],
        width: 12
      }),
      new cloudwatch.GraphWidget({
        title: "LLM Usage & Cost Tracking",
        left: [
          llm("InputTokens", { Provider: APP_METRICS.bedrockProvider }),
          llm("OutputTokens", { Provider: APP_METRICS.bedrockProvider }),
          llm("TotalCost", { Provider: APP_METRICS.bedrockProvider })
        ],
        right: APP_METRICS.documentTypes.map((DocumentType) => llm("ProcessingTime", { DocumentType })),
        width: 12
      })
    )
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Document Processing S3 Metrics",
        left: [
          new cloudwatch.Metric({
            namespace: "AWS/S3",
            metricName: "NumberOfObjects",
            dimensionsMap: { BucketName: data.processingBucket.bucketName, StorageType: "AllStorageTypes" },
            statistic: "Average",
            period: Duration.days(1)
          })
        ],
        right: [
          new cloudwatch.Metric({
            namespace: "AWS/S3",
            metricName: "BucketSizeBytes",
            dimensionsMap: { BucketName: data.processingBucket.bucketName, StorageType: "StandardStorage" },
            statistic: "Average",
            period: Duration.days(1)
          }),
          // Request metrics exist for the bucket's request-metrics filter (data.ts), per minute.
          new cloudwatch.Metric({
            namespace: "AWS/S3",
            metricName: "AllRequests",
            dimensionsMap: { BucketName: data.processingBucket.bucketName, FilterId: BUCKET_REQUEST_METRICS_FILTER },
            statistic: "Sum",
            period,
            label: "requests"
          })
        ],
        width: 12
      }),
      new cloudwatch.GraphWidget({
        title: "Error Handling & Recovery Metrics",
        left: [
          ...APP_METRICS.categories.map((Category) =>
            errorsMetric(ErrorsByCategory, { Category }, "Sum", period, `${Category} errors`)
          ),
          ...(["retry", "fallback"] as const satisfies ReadonlyArray<RecoveryStrategy>).flatMap((Strategy) =>
            (["true", "false"] as const).map((Success) =>
              errorsMetric(RecoverySuccess, { Strategy, Success }, "Sum", period, `${Strategy} ${Success === "true" ? "succeeded" : "failed"}`)
            )
          )
        ],
        right: APP_METRICS.breakers.map((Service) =>
          errorsMetric(CircuitBreakerState, { Service, Status: "open" }, "Maximum", Duration.minutes(1), `${Service} breaker open`)
        ),
        width: 12
      })
    )
    // The architecture's network widget: NAT gateways' dropped packets (the VPC's only drops
    // CloudWatch measures) and the flow-log records arriving.
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Network Security",
        left: network.natGatewayIds.map((NatGatewayId, i) =>
          new cloudwatch.Metric({
            namespace: "AWS/NATGateway",
            metricName: "PacketsDropCount",
            dimensionsMap: { NatGatewayId },
            statistic: "Sum",
            period,
            label: `NAT ${i + 1} packets dropped`
          })
        ),
        right: [
          new cloudwatch.Metric({
            namespace: "AWS/Logs",
            metricName: "IncomingLogEvents",
            dimensionsMap: { LogGroupName: network.flowLogGroup.logGroupName },
            statistic: "Sum",
            period,
            label: "flow-log records"
          })
        ],
        width: 24
      })
    )
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Concurrency & Queues",
        left: [...apiFunctions, stream].map(({ fn, name }) =>
          fn.metric("ConcurrentExecutions", { statistic: "Maximum", period, label: name === "stream" ? "stream (open streams)" : name })
        ),
        right: [
          data.jobQueue.metricApproximateNumberOfMessagesVisible({ period, label: "jobs waiting" }),
          data.jobDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, label: "jobs dead-lettered" })
        ],
        width: 12
      }),
      new cloudwatch.AlarmStatusWidget({ title: `Serenya ${settings.stage} alarms`, alarms: this.alarms, width: 12 })
    )
    // Streams last minutes: on the other functions' duration graph they would flatten it.
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Streams (SSE through the function URL)",
        left: [
          stream.fn.metricDuration({ statistic: "Average", period, label: "average duration" }),
          stream.fn.metricDuration({ statistic: "Maximum", period, label: "longest" })
        ],
        right: [
          stream.fn.metricInvocations({ statistic: "Sum", period, label: "streams" }),
          stream.fn.metricErrors({ statistic: "Sum", period, label: "failed" }),
          stream.fn.metricThrottles({ statistic: "Sum", period, label: "refused" })
        ],
        width: 24
      })
    )
    return dashboard
  }
}
