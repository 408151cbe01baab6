import { Duration, RemovalPolicy } from "aws-cdk-lib"
import * as cloudtrail from "aws-cdk-lib/aws-cloudtrail"
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch"
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions"
import type * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2"
import * as logs from "aws-cdk-lib/aws-logs"
import type * as rds from "aws-cdk-lib/aws-rds"
import * as s3 from "aws-cdk-lib/aws-s3"
import * as sns from "aws-cdk-lib/aws-sns"
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions"
import type * as sqs from "aws-cdk-lib/aws-sqs"
import { Construct } from "constructs"
import { type Data } from "./data.js"
import { bucketRef } from "./exact.js"
import { type ServiceFunction, SIZES } from "./functions.js"
import { durationAlarmMillis } from "./budgets.js"
import type { Keys } from "./keys.js"
import { acknowledge } from "./nag.js"
import type { FunctionName, StageSettings } from "./stages.js"

/**
 * The application's own metrics: src/services/metrics.ts (Effect metrics, their tags become
 * dimensions) in Serenya/Errors, and src/layers/costTracker/emf.ts (EMF) in Serenya/LLM.
 */
export const APP_METRICS = {
  errorsNamespace: "Serenya/Errors",
  llmNamespace: "Serenya/LLM",
  breakers: ["google_oauth", "llm", "database"],
  categories: ["technical", "external", "validation", "business"],
  recoveries: ["retry", "fallback", "escalate", "ignore"],
  documentTypes: ["lab_results", "vitals", "chat"]
} as const

export interface ObservabilityProps {
  readonly settings: StageSettings
  readonly keys: Keys
  readonly data: Data
  readonly functions: Record<FunctionName, ServiceFunction>
  readonly httpApi: apigwv2.HttpApi
  readonly proxy: rds.DatabaseProxy
}

export class Observability extends Construct {
  readonly criticalTopic: sns.Topic
  readonly warningTopic: sns.Topic
  readonly trail: cloudtrail.Trail
  readonly trailBucket: s3.IBucket
  readonly dashboard: cloudwatch.Dashboard
  readonly alarms: Array<cloudwatch.Alarm> = []

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id)
    const { settings, keys, data, functions } = props

    const topic = (topicId: string, displayName: string) => {
      const created = new sns.Topic(this, topicId, { displayName, masterKey: keys.platform, enforceSSL: true })
      if (settings.alarmEmail !== undefined) created.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail))
      return created
    }
    this.criticalTopic = topic("CriticalAlerts", `Serenya ${settings.stage} critical`)
    this.warningTopic = topic("WarningAlerts", `Serenya ${settings.stage} warning`)

    const alarm = (alarmId: string, severity: "critical" | "warning", alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...alarmProps })
      created.addAlarmAction(new actions.SnsAction(severity === "critical" ? this.criticalTopic : this.warningTopic))
      this.alarms.push(created)
      return created
    }
    const appMetric = (namespace: string, metricName: string, dimensionsMap: Record<string, string>, statistic: string, period: Duration) =>
      new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, period })
    const sumOf = (label: string, metrics: ReadonlyArray<cloudwatch.IMetric>, fn: "SUM" | "MAX", period: Duration) => {
      const usingMetrics = Object.fromEntries(metrics.map((metric, i) => [`m${i}`, metric]))
      return new cloudwatch.MathExpression({
        expression: `${fn}([${Object.keys(usingMetrics).join(",")}])`,
        usingMetrics,
        label,
        period
      })
    }

    const minute = Duration.minutes(1)
    const fiveMinutes = Duration.minutes(5)
    alarm("CircuitBreakerOpen", "critical", {
      alarmDescription: "A circuit breaker (Google OAuth, LLM or database) is open",
      metric: sumOf(
        "Open breakers",
        APP_METRICS.breakers.map((service) =>
          appMetric(APP_METRICS.errorsNamespace, "CircuitBreakerState", { service, state: "open" }, "Maximum", minute)
        ),
        "MAX",
        minute
      ),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    })
    const errorsOf = (category: string) =>
      sumOf(
        `${category} errors`,
        APP_METRICS.recoveries.map((recovery) =>
          appMetric(APP_METRICS.errorsNamespace, "ErrorsByCategory", { category, recovery }, "Sum", fiveMinutes)
        ),
        "SUM",
        fiveMinutes
      )
    alarm("TechnicalErrors", "critical", {
      alarmDescription: "High rate of technical errors: infrastructure trouble",
      metric: errorsOf("technical"),
      threshold: 20,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    alarm("ExternalErrors", "warning", {
      alarmDescription: "High rate of errors from external services (Google, Bedrock)",
      metric: errorsOf("external"),
      threshold: 20,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    alarm("RecoveryFailures", "warning", {
      alarmDescription: "Error recovery strategies (retry, fallback) failing",
      metric: sumOf(
        "Failed recoveries",
        APP_METRICS.recoveries.map((strategy) =>
          appMetric(APP_METRICS.errorsNamespace, "RecoverySuccess", { strategy, success: "false" }, "Sum", fiveMinutes)
        ),
        "SUM",
        fiveMinutes
      ),
      threshold: 10,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })

    for (const name of ["auth", "documents", "chat", "processor"] as const) {
      const thresholdMs = durationAlarmMillis(SIZES[name].timeout)
      alarm(`${name}DurationNearTimeout`, "warning", {
        alarmDescription: `The ${name} function's average duration is approaching its timeout`,
        metric: functions[name].fn.metricDuration({ statistic: "Average", period: fiveMinutes }),
        threshold: thresholdMs,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
      })
    }

    alarm("LlmCostPerHour", "warning", {
      alarmDescription: `LLM spend above ${settings.llmCostPerHourCents} cents in an hour`,
      // TotalCost is published with no dimensions too (emf.ts) for exactly this alarm.
      metric: appMetric(APP_METRICS.llmNamespace, "TotalCost", {}, "Sum", Duration.hours(1)),
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
    alarm("Api4xx", "warning", {
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

  private buildDashboard(props: ObservabilityProps): cloudwatch.Dashboard {
    const { functions, httpApi, data, settings } = props
    const period = Duration.minutes(5)
    const apiFunctions = (["auth", "documents", "chat", "processor"] as const).map((name) => functions[name])
    const llm = (metricName: string, dimensionsMap: Record<string, string>) =>
      new cloudwatch.Metric({ namespace: APP_METRICS.llmNamespace, metricName, dimensionsMap, statistic: "Sum", period })
    const search = (expression: string, label: string) =>
      new cloudwatch.MathExpression({ expression: `SEARCH('${expression}', 'Sum', 300)`, label, period, usingMetrics: {} })

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
          llm("InputTokens", { Provider: "bedrock" }),
          llm("OutputTokens", { Provider: "bedrock" }),
          llm("TotalCost", { Provider: "bedrock" })
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
          })
        ],
        width: 12
      }),
      new cloudwatch.GraphWidget({
        title: "Error Handling & Recovery Metrics",
        left: [
          search(`{${APP_METRICS.errorsNamespace},category,recovery} MetricName="ErrorsByCategory"`, "Errors by category"),
          search(`{${APP_METRICS.errorsNamespace},strategy,success} MetricName="RecoverySuccess"`, "Recoveries")
        ],
        right: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${APP_METRICS.errorsNamespace},service,state} MetricName="CircuitBreakerState" state="open"', 'Maximum', 60)`,
            label: "Open breakers",
            period: Duration.minutes(1),
            usingMetrics: {}
          })
        ],
        width: 12
      })
    )
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Concurrency & Queues",
        left: apiFunctions.map(({ fn, name }) =>
          fn.metric("ConcurrentExecutions", { statistic: "Maximum", period, label: name })
        ),
        right: [
          data.jobQueue.metricApproximateNumberOfMessagesVisible({ period, label: "jobs waiting" }),
          data.jobDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, label: "jobs dead-lettered" })
        ],
        width: 12
      }),
      new cloudwatch.AlarmStatusWidget({ title: `Serenya ${settings.stage} alarms`, alarms: this.alarms, width: 12 })
    )
    return dashboard
  }
}
