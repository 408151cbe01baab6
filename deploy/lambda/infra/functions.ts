import { type CfnElement, CustomResource, Duration, Fn, Stack } from "aws-cdk-lib"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as events from "aws-cdk-lib/aws-events"
import * as targets from "aws-cdk-lib/aws-events-targets"
import * as iam from "aws-cdk-lib/aws-iam"
import * as lambda from "aws-cdk-lib/aws-lambda"
import * as logs from "aws-cdk-lib/aws-logs"
import * as sqs from "aws-cdk-lib/aws-sqs"
import * as cr from "aws-cdk-lib/custom-resources"
import { Construct } from "constructs"
import { COLLECTOR_CONFIG_FILE } from "../collector.js"
import { FUNCTION_LAYERS, LAYER_DESCRIPTIONS, LAYER_LICENSES, type LayerName } from "../layers.js"
import { LONGEST_STREAM_SECONDS } from "../../streaming.js"
import { MONTHLY_USAGE_INDEX } from "../../../src/layers/costTracker/table.js"
import { APP_ROLE } from "../../../src/layers/database/roles.js"
import { TimeBudgets } from "../../../src/services/resilience.js"
import { LAMBDA_DIRECT_UPLOAD_BYTES, LAMBDA_MAX_UPLOAD_BYTES } from "../../../src/services/uploadLimits.js"
import { bedrockInvokeStatements, detectPhiStatement, partitionOf } from "./bedrock.js"
import { timeoutFor } from "./budgets.js"
import { INCOMING_PREFIX } from "../../../src/services/uploadTargets.js"
import { AUDIT_CHECKPOINT_RETENTION_DAYS, type Data, PROCESSOR_TIMEOUT } from "./data.js"
import { functionRef, versionRef } from "./exact.js"
import { Keys } from "./keys.js"
import { acknowledge, acknowledgeAll } from "./nag.js"
import type { Network } from "./network.js"
import { type PushNotifications, SNS_ACTIONS, wildcardFinding } from "./notifications.js"
import type { FunctionName, StageSettings } from "./stages.js"

/**
 * Each function's code and, where the code comes with them, the layers' (stack.ts bundlesIn: the
 * build's output directory). Code without `layer` (tests' inline code) gives the functions no
 * layer: the processor then has no OCR, which only the offline provider uses.
 */
export type CodeFor = ((name: FunctionName) => lambda.Code) & {
  readonly layer?: (name: LayerName) => lambda.Code
}

export const RUNTIME = lambda.Runtime.NODEJS_22_X

/**
 * How long the stream function may run: its longest stream (a job's events, which end themselves
 * with a reconnect hint at src/programs/jobEvents.ts's MAX_STREAM) and a minute for the rest of
 * the invocation (init, telemetry's flush), so a stream always ends itself before Lambda cuts it.
 */
export const STREAM_TIMEOUT = Duration.seconds(LONGEST_STREAM_SECONDS + 60)

/**
 * The architecture's memory sizes; the processor does the document function's Bedrock work, so it
 * gets its size, and the stream function the chat's (it answers the chat's streamed questions).
 * Timeouts come from the time budgets (./budgets.ts): the API functions end before API Gateway's
 * 30 s, the processor after its interpretation deadline and the rest of its work, the stream
 * function after its longest stream (STREAM_TIMEOUT).
 *
 * The processor's 2048 MB also hold the offline provider's OCR (src/layers/llm/ocr/; one document
 * at a time, OCR_MAX_PARALLEL_READS, and one job per invocation, batch size 1), should a stage
 * run that provider (the stages set LLM_PROVIDER=bedrock, whose model reads images itself). Peak
 * RSS of the bundle reading one image, tesseract.js from the OCR layer (2 cores, Node 20): 0.46 GB
 * for a 300-dpi letter scan (2550×3300), 0.55 GB for a 12 MP photo, 0.91 GB for a 24 MP one,
 * 1.32 GB for a ~40 MP JPEG (which the JPEG decoder then refuses): the OCR thread's heap (up to
 * OCR_WORKER_HEAP_MB, 512) and the decoded image's buffers, then tesseract's WebAssembly memory in
 * a thread of its own (a few hundred MB for a 3,300-px page). That leaves room for the function's
 * own ~0.2 GB; the CPU that comes with 2048 MB (about 1.2 vCPU) suits OCR, which recognises on
 * one thread. OCR's deadline (60 s, and 25 s a further page, 10 pages at most: 285 s, plus up to
 * 60 s to start its thread) lies within the interpretation's (Timeouts.llmInterpret, 600 s),
 * which the processor's timeout covers.
 */
export const SIZES: Record<FunctionName, { readonly memoryMiB: number; readonly timeout: Duration }> = {
  auth: { memoryMiB: 512, timeout: timeoutFor(TimeBudgets.request) },
  documents: { memoryMiB: 2048, timeout: timeoutFor(TimeBudgets.request) },
  chat: { memoryMiB: 1024, timeout: timeoutFor(TimeBudgets.chat) },
  stream: { memoryMiB: 1024, timeout: STREAM_TIMEOUT },
  processor: { memoryMiB: 2048, timeout: PROCESSOR_TIMEOUT },
  migrate: { memoryMiB: 512, timeout: Duration.minutes(10) }
}

export interface FunctionsProps {
  readonly settings: StageSettings
  readonly network: Network
  readonly data: Data
  readonly keys: Keys
  /** The SNS platform applications (stack parameters) and the environment naming them. */
  readonly push: PushNotifications
  readonly code: CodeFor
  /** Changes on every deployment so the migration custom resource runs each time. */
  readonly deploymentId: string
}

export interface ServiceFunction {
  readonly name: FunctionName
  readonly fn: lambda.Function
  /** The "live" alias: API integrations, the job queue and the migration provider invoke it, never $LATEST. */
  readonly alias: lambda.IFunction
  readonly role: iam.Role
  /**
   * Everything the function may do besides VPC networking and, for the functions that call Bedrock,
   * Comprehend Medical's DetectPHI (shared policies, both of actions without a resource ARN): one
   * customer-managed policy, no inline policy.
   */
  readonly policy: iam.ManagedPolicy
  readonly securityGroup: ec2.SecurityGroup
  readonly deadLetterQueue: sqs.Queue
  readonly logGroup: logs.LogGroup
}

/**
 * The ADOT collector Lambda extension (collector only: the code brings its own OpenTelemetry SDK),
 * pinned by version; aws-cdk-lib's fact table gives its ARN in each region for each architecture.
 */
export const ADOT_COLLECTOR = lambda.AdotLambdaLayerGenericVersion.V0_115_0

export const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] as const

/**
 * What the functions' telemetry reads (src/config/telemetry.ts) when tracing is on: spans over
 * OTLP to the collector beside the function; metrics as EMF lines instead (src/main/lambda/live.ts),
 * not OTLP; and X-Ray's sampling decides which requests are traced — a request is traced when the
 * invocation's segment is sampled (or the app sent a sampled traceparent), never on a root decision
 * of its own, so the X-Ray sampling rules are the one place to change how much is traced.
 */
export const TRACE_EXPORT_ENVIRONMENT = {
  // the collector's own configuration, shipped in the bundle (deploy/lambda/collector.yaml)
  OPENTELEMETRY_COLLECTOR_CONFIG_URI: `/var/task/${COLLECTOR_CONFIG_FILE}`,
  OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318",
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
  OTEL_METRICS_EXPORTER: "none",
  OTEL_TRACES_SAMPLER: "parentbased_always_off"
} as const

/** Each function's `service.name` (traces) and `service` (log lines): the same names the Kubernetes deployment uses. */
export const SERVICE_NAMES: Record<FunctionName, string> = {
  auth: "serenya-api",
  documents: "serenya-api",
  chat: "serenya-api",
  stream: "serenya-api",
  processor: "serenya-worker",
  migrate: "serenya-migrate"
}

/** Lambda's handling of asynchronous invocations (the architecture's retry policy). */
export const ASYNC_INVOKE = { retryAttempts: 2, maxEventAge: Duration.hours(1) } as const

/** How often the processor's scheduled run sweeps and drains the erasure outbox. */
export const HOUSEKEEPING_INTERVAL = Duration.minutes(5)

export class Functions extends Construct {
  readonly all: Record<FunctionName, ServiceFunction>
  readonly migration: CustomResource
  /**
   * The stream function's URL, on its live alias: response streaming (RESPONSE_STREAM), and
   * AWS_IAM, so that only CloudFront, signing with origin access control for the one distribution
   * its resource policy names, can invoke it (edge.ts).
   */
  readonly streamUrl: lambda.FunctionUrl

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id)
    const { settings, network, data, keys, push } = props
    const region = Stack.of(this).region

    // ENI management for functions in a VPC: these EC2 actions do not support resource-level permissions.
    const vpcAccess = new iam.ManagedPolicy(this, "VpcNetworkInterfaces", {
      description: "Lambda functions in the VPC: create and remove their network interfaces",
      statements: [
        new iam.PolicyStatement({
          actions: [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses"
          ],
          resources: ["*"]
        })
      ]
    })
    acknowledge(
      vpcAccess,
      "AwsSolutions-IAM5[Resource::*]",
      "Lambda's VPC network-interface actions (ec2:CreateNetworkInterface, DescribeNetworkInterfaces, DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses) do not support resource-level permissions; this is the content of AWSLambdaVPCAccessExecutionRole, written out so no AWS managed policy is attached."
    )

    const environment: Record<string, string> = {
      APP_ENV: settings.stage === "production" ? "production" : "local",
      // No deployed stage signs anyone in without a password (edge.ts routes no /auth/dev either).
      DEV_AUTH_ENABLED: "false",
      // The client address is API Gateway's sourceIp (the address CloudFront saw), handed to the app
      // as the request's peer; no X-Forwarded-For entry is trusted (src/main/lambda/apiGateway.ts).
      TRUSTED_PROXY_HOPS: "0",
      MIGRATE_ON_START: "false",
      IN_PROCESS_WORKERS: "false",
      DATABASE_HOST: data.proxy.endpoint,
      DATABASE_PORT: "5432",
      DATABASE_NAME: settings.database.name,
      DATABASE_USER: APP_ROLE,
      DATABASE_SSL: "true",
      // The application's role; only the migrate function also gets the owner's (below).
      DATABASE_SECRET_ARN: data.appDatabaseSecret.secretArn,
      KEY_PROVIDER: "kms",
      KMS_FIELDS_KEY_ID: keys.fields.keyArn,
      KMS_DOCUMENTS_KEY_ID: keys.documents.keyArn,
      KMS_AUDIT_KEY_ID: keys.audit.keyArn,
      AUDIT_CHECKPOINT_BUCKET: data.auditCheckpointBucket.bucketName,
      AUDIT_CHECKPOINT_RETENTION_DAYS: String(AUDIT_CHECKPOINT_RETENTION_DAYS),
      STORAGE_PROVIDER: "s3",
      S3_BUCKET: data.processingBucket.bucketName,
      // A direct upload's document travels in the invocation payload; larger ones go presigned to S3
      // (src/services/uploadLimits.ts).
      MAX_UPLOAD_BYTES: String(LAMBDA_MAX_UPLOAD_BYTES),
      MAX_DIRECT_UPLOAD_BYTES: String(LAMBDA_DIRECT_UPLOAD_BYTES),
      LLM_PROVIDER: "bedrock",
      BEDROCK_MODEL_ID: settings.bedrockModelId,
      BEDROCK_REGION: region,
      COST_TRACKER: "dynamodb",
      COST_TRACKING_TABLE: data.costTable.tableName,
      JOB_QUEUE: "sqs",
      JOB_QUEUE_URL: data.jobQueue.queueUrl,
      // the processor fails a job on the delivery that would otherwise send it to the DLQ
      JOB_QUEUE_MAX_RECEIVE_COUNT: String(data.jobQueue.deadLetterQueue?.maxReceiveCount ?? 5),
      GOOGLE_CLIENT_IDS: settings.googleClientIds.join(","),
      JWT_SECRET_ARN: data.jwtSecret.secretArn,
      USER_LOOKUP_KEY_SECRET_ARN: data.userLookupKeySecret.secretArn,
      // Every function: the app refuses to start in production without SNS (src/config.ts), whichever
      // function it is; only documents and processor may call SNS (below).
      ...push.environment,
      NODE_OPTIONS: "--enable-source-maps"
    }

    const make = (name: FunctionName, placement: "auth" | "isolated"): ServiceFunction => {
      const scopeOf = new Construct(this, name)
      const role = new iam.Role(scopeOf, "Role", {
        assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
        description: `Serenya ${settings.stage} ${name} function`,
        managedPolicies: [vpcAccess]
      })
      const logGroup = new logs.LogGroup(scopeOf, "Logs", {
        retention: settings.logRetention,
        encryptionKey: keys.platform,
        removalPolicy: settings.dataRemovalPolicy
      })
      const policy = new iam.ManagedPolicy(scopeOf, "Permissions", {
        description: `Serenya ${settings.stage} ${name} function: its own resources only`,
        roles: [role],
        statements: [
          new iam.PolicyStatement({ actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup.logGroupArn] })
        ]
      })
      const securityGroup = new ec2.SecurityGroup(scopeOf, "SecurityGroup", {
        vpc: network.vpc,
        description:
          placement === "auth"
            ? `${name} function: HTTPS to Google (through the NAT) and AWS endpoints, PostgreSQL to the proxy`
            : `${name} function: HTTPS to the VPC endpoints, PostgreSQL to the proxy, nothing else`,
        allowAllOutbound: false
      })
      if (placement === "auth") {
        securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), "Google keys and token endpoints, AWS endpoints")
      } else {
        securityGroup.addEgressRule(network.endpointsSecurityGroup, ec2.Port.tcp(443), "Interface VPC endpoints")
        securityGroup.addEgressRule(network.s3PrefixList, ec2.Port.tcp(443), "S3 gateway endpoint")
        securityGroup.addEgressRule(network.dynamoDbPrefixList, ec2.Port.tcp(443), "DynamoDB gateway endpoint")
      }
      network.endpointsSecurityGroup.addIngressRule(securityGroup, ec2.Port.tcp(443), `From the ${name} function`)
      securityGroup.addEgressRule(data.proxySecurityGroup, ec2.Port.tcp(5432), "RDS Proxy")
      data.proxySecurityGroup.addIngressRule(securityGroup, ec2.Port.tcp(5432), `From the ${name} function`)

      const deadLetterQueue = new sqs.Queue(scopeOf, "AsyncDeadLetters", {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: keys.platform,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy: settings.dataRemovalPolicy
      })
      policy.addStatements(new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [deadLetterQueue.queueArn] }))
      Keys.allowThroughService(keys.platform, policy, "sqs", ["kms:GenerateDataKey", "kms:Decrypt"])

      const size = SIZES[name]
      const stageFn = settings.functions[name]
      // The layers the function takes (../layers.ts), from the build's directory beside its code.
      const layers = (FUNCTION_LAYERS[name] ?? []).flatMap((layer) => {
        const code = props.code.layer?.(layer)
        if (code === undefined) return []
        return [
          new lambda.LayerVersion(scopeOf, `Layer-${layer}`, {
            description: `Serenya ${settings.stage}: ${LAYER_DESCRIPTIONS[layer]}`,
            code,
            compatibleRuntimes: [RUNTIME],
            compatibleArchitectures: [lambda.Architecture.ARM_64],
            license: LAYER_LICENSES[layer]
          })
        ]
      })
      const fn = new lambda.Function(scopeOf, "Function", {
        description: `Serenya ${settings.stage}: ${name}`,
        runtime: RUNTIME,
        architecture: lambda.Architecture.ARM_64,
        handler: "index.handler",
        code: props.code(name),
        layers,
        memorySize: size.memoryMiB,
        timeout: size.timeout,
        role,
        vpc: network.vpc,
        vpcSubnets: placement === "auth" ? network.authSubnets : network.computeSubnets,
        securityGroups: [securityGroup],
        allowPublicSubnet: false,
        reservedConcurrentExecutions: stageFn.reservedConcurrency,
        logGroup,
        loggingFormat: lambda.LoggingFormat.TEXT,
        environment: {
          ...environment,
          ...(settings.tracing ? TRACE_EXPORT_ENVIRONMENT : {}),
          // the name traces and log lines carry, as on Kubernetes (deploy/k8s): the API, the worker, migrations
          OTEL_SERVICE_NAME: SERVICE_NAMES[name],
          ...(name === "migrate" ? { DATABASE_OWNER_SECRET_ARN: data.database.secret!.secretArn } : {})
        }
      })
      if (settings.tracing) this.traceToXRay(scopeOf, fn, policy)
      // Set on the resource rather than through `deadLetterQueue`, whose grant would add an inline policy.
      ;(fn.node.defaultChild as lambda.CfnFunction).deadLetterConfig = { targetArn: deadLetterQueue.queueArn }

      fn.node.addDependency(policy)
      acknowledge(
        fn,
        "AwsSolutions-L1",
        "nodejs22.x is the runtime chosen for the bundles (the project supports Node >=20 and is tested on that line) and is in AWS standard support; moving to nodejs24.x is a one-line change of RUNTIME in functions.ts once the bundles are tested on it."
      )
      const live = new lambda.Alias(scopeOf, "Live", {
        aliasName: "live",
        version: versionRef(fn.currentVersion),
        ...(stageFn.provisionedConcurrency > 0 ? { provisionedConcurrentExecutions: stageFn.provisionedConcurrency } : {})
      })
      // Asynchronous invocations (the housekeeping schedule; EventBridge events generally) reach the
      // alias, whose own configuration applies (not $LATEST's): the architecture's two retries and an
      // hour's maximum age, then the dead-letter queue above.
      live.configureAsyncInvoke({ retryAttempts: ASYNC_INVOKE.retryAttempts, maxEventAge: ASYNC_INVOKE.maxEventAge })
      const alias = functionRef(live)

      // Database: through the proxy only, as the application's role (the proxy's resource id is the
      // ARN's last part); the migrate function, as the owner too.
      if (settings.database.proxyIamAuth) {
        const proxyResourceId = Fn.select(6, Fn.split(":", data.proxy.dbProxyArn))
        const users = name === "migrate" ? [APP_ROLE, settings.database.username] : [APP_ROLE]
        policy.addStatements(
          new iam.PolicyStatement({
            actions: ["rds-db:connect"],
            resources: users.map((user) => `arn:aws:rds-db:${region}:${settings.env.account}:dbuser:${proxyResourceId}/${user}`)
          })
        )
      }
      // The master secret is the migrate function's alone: it migrates, and sets the application
      // role's password from the application's secret (so it reads both).
      const databaseSecrets = name === "migrate" ? [data.appDatabaseSecret, data.database.secret!] : [data.appDatabaseSecret]
      policy.addStatements(
        new iam.PolicyStatement({
          actions: ["secretsmanager:GetSecretValue"],
          resources: [...databaseSecrets.map((secret) => secret.secretArn), data.jwtSecret.secretArn, data.userLookupKeySecret.secretArn]
        })
      )
      Keys.allowThroughService(keys.platform, policy, "secretsmanager", ["kms:Decrypt"])
      Keys.allowUse(keys.fields, role, policy)
      return { name, fn, alias, role, policy, securityGroup, deadLetterQueue, logGroup }
    }

    const auth = make("auth", "auth")
    const documents = make("documents", "isolated")
    const chat = make("chat", "isolated")
    const stream = make("stream", "isolated")
    const processor = make("processor", "isolated")
    const migrate = make("migrate", "isolated")
    this.all = { auth, documents, chat, stream, processor, migrate }

    // On the live alias, as the gateway's integrations: CloudFront reaches the version that is live.
    this.streamUrl = new lambda.FunctionUrl(stream.fn.node.scope as Construct, "Url", {
      function: stream.alias,
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM
    })

    const bucketObjects = data.processingBucket.arnForObjects("*")
    // The bucket is versioned: removing an object deletes each of its versions (DeleteObjectVersion),
    // found with ListObjectVersions (s3:ListBucketVersions). documents erases accounts (DELETE /me),
    // the processor removes originals and drains the erasure outbox.
    for (const { policy } of [documents, processor]) {
      policy.addStatements(
        new iam.PolicyStatement({
          actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
          resources: [bucketObjects]
        }),
        new iam.PolicyStatement({ actions: ["s3:ListBucket", "s3:ListBucketVersions"], resources: [data.processingBucket.bucketArn] })
      )
    }
    // Presigned uploads (POST /documents/uploads, served by documents): S3 checks a presigned POST
    // against its signer's rights when the client posts, so the signer holds PutObject; completing
    // reads the object back and removes it. Scoped to incoming/ on its own, so that it stays exact
    // when the grant above is narrowed. SSE-KMS with the documents key comes from allowUse below.
    documents.policy.addStatements(
      new iam.PolicyStatement({
        actions: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
        resources: [data.processingBucket.arnForObjects(`${INCOMING_PREFIX}*`)]
      })
    )
    for (const { role, policy } of [documents, chat, stream, processor]) Keys.allowUse(keys.documents, role, policy)

    // Every function that records audit events MACs them and may be the fleet's sealer, which writes
    // checkpoints (a retention date on each, hence PutObjectRetention) and reads the latest back.
    // Nothing here may delete or shorten a checkpoint's lock: no DeleteObject, no BypassGovernanceRetention.
    for (const { role, policy } of [auth, documents, chat, stream, processor]) {
      Keys.allowUse(keys.audit, role, policy, ["kms:GenerateMac"])
      policy.addStatements(
        new iam.PolicyStatement({
          actions: ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"],
          resources: [data.auditCheckpointBucket.arnForObjects("audit-checkpoints/*")]
        }),
        new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [data.auditCheckpointBucket.bucketArn] })
      )
      Keys.allowThroughService(keys.platform, policy, "s3", ["kms:GenerateDataKey", "kms:Decrypt"])
    }

    // Exactly the model table's profile and destination-Region models for the stage's model (./bedrock.ts).
    const bedrockScope = { modelId: settings.bedrockModelId, partition: partitionOf(region), account: settings.env.account, region }
    // Converse and ConverseStream (the streamed answer): BEDROCK_INVOKE_ACTIONS has both.
    for (const { policy } of [chat, stream, processor]) policy.addStatements(...bedrockInvokeStatements(bedrockScope))
    // What goes to the model is de-identified first (Comprehend Medical DetectPHI, in BEDROCK_REGION,
    // which is this Region): the same functions. A policy of its own, as the VPC actions', so the
    // functions' policies keep X-Ray as their only grant on "*".
    const detectPhi = new iam.ManagedPolicy(this, "ComprehendMedicalDetectPhi", {
      description: "Functions that call Bedrock: find the identifiers in the text first (Comprehend Medical DetectPHI)",
      roles: [chat.role, stream.role, processor.role],
      statements: [detectPhiStatement(region)]
    })
    acknowledge(
      detectPhi,
      "AwsSolutions-IAM5[Resource::*]",
      "comprehendmedical:DetectPHI has no resource type (it analyses the text in the request, it reads no AWS resource), so IAM takes only Resource \"*\" for it; the statement allows that one action, only in the stack's Region (aws:RequestedRegion), and only to the chat, stream and processor functions, which call Bedrock."
    )
    for (const { fn } of [chat, stream, processor]) fn.node.addDependency(detectPhi)

    const usageIndex = `${data.costTable.tableArn}/index/${MONTHLY_USAGE_INDEX}`
    for (const { policy } of [documents, chat, stream, processor]) {
      policy.addStatements(
        new iam.PolicyStatement({ actions: ["dynamodb:PutItem", "dynamodb:Query"], resources: [data.costTable.tableArn, usageIndex] })
      )
      Keys.allowThroughService(keys.platform, policy, "dynamodb", ["kms:GenerateDataKey", "kms:Decrypt"])
    }
    // Erasure deletes the user's cost records (batched deletes): at once in DELETE /me (documents),
    // and from the erasure outbox (processor). On the table only, never its index.
    for (const { policy } of [documents, processor]) {
      policy.addStatements(
        new iam.PolicyStatement({ actions: ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem"], resources: [data.costTable.tableArn] })
      )
    }

    // Push (SNS mobile push): documents registers devices (POST /me/devices) and forgets them (a
    // device removed, DELETE /me's erasure); the processor sends the pushes a finished job owes and
    // drains the erasure outbox (endpoints erased accounts still owe). Only the two applications'
    // endpoints, and no topic: nothing here can publish anywhere else.
    documents.policy.addStatements(
      new iam.PolicyStatement({ actions: [...SNS_ACTIONS.register], resources: [...push.applicationArns] }),
      new iam.PolicyStatement({ actions: [...SNS_ACTIONS.refresh, ...SNS_ACTIONS.unregister], resources: [...push.endpointArns] })
    )
    processor.policy.addStatements(
      new iam.PolicyStatement({ actions: [...SNS_ACTIONS.publish, ...SNS_ACTIONS.unregister], resources: [...push.endpointArns] })
    )
    for (const { policy, name } of [documents, processor]) {
      for (const endpoints of push.endpointArns) {
        acknowledge(
          policy,
          wildcardFinding(policy, endpoints),
          `The ${name} function ${name === "documents" ? "re-enables and deletes" : "publishes to and deletes"} the platform endpoints SNS creates per device (endpoint/<platform>/<application>/<id>: the id is SNS's, not known in advance); only the endpoints of the stage's own platform application, no topic and no other application.`
        )
      }
    }

    documents.policy.addStatements(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage", "sqs:GetQueueAttributes"], resources: [data.jobQueue.queueArn] })
    )
    Keys.allowThroughService(keys.platform, documents.policy, "sqs", ["kms:GenerateDataKey", "kms:Decrypt"])
    processor.policy.addStatements(
      new iam.PolicyStatement({
        actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        resources: [data.jobQueue.queueArn]
      })
    )
    // A mapping rather than SqsEventSource, whose grant would add an inline policy; the permissions are above.
    const jobs = new lambda.EventSourceMapping(this, "ProcessorJobs", {
      target: processor.alias,
      eventSourceArn: data.jobQueue.queueArn,
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: 2
    })
    jobs.node.addDependency(processor.policy)

    // The job queue's dead letters: a wake-up lands there when its last delivery never answered
    // (the processor timed out or crashed); the processor fails its job with DELIVERY_EXHAUSTED.
    processor.fn.addEnvironment("JOB_DLQ_ARN", data.jobDeadLetterQueue.queueArn)
    processor.policy.addStatements(
      new iam.PolicyStatement({
        actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        resources: [data.jobDeadLetterQueue.queueArn]
      })
    )
    // Lambda refuses a mapping whose queue's visibility timeout is shorter than the function's timeout;
    // six times it, as for the job queue.
    ;(data.jobDeadLetterQueue.node.defaultChild as sqs.CfnQueue).visibilityTimeout = PROCESSOR_TIMEOUT.toSeconds() * 6
    const deadLetters = new lambda.EventSourceMapping(this, "ProcessorJobDeadLetters", {
      target: processor.alias,
      eventSourceArn: data.jobDeadLetterQueue.queueArn,
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: 2
    })
    deadLetters.node.addDependency(processor.policy)

    // No worker pool runs on Lambda: this schedule is what sweeps leftover originals and drains the
    // erasure outbox (src/main/lambda/processor.ts), so an erasure's deletions that failed at once
    // are retried within minutes. The target adds a resource-based permission, not an IAM policy.
    new events.Rule(this, "ProcessorHousekeeping", {
      description: `Serenya ${settings.stage}: sweep leftover originals and drain the erasure outbox`,
      schedule: events.Schedule.rate(HOUSEKEEPING_INTERVAL),
      targets: [new targets.LambdaFunction(processor.alias, { retryAttempts: 2, maxEventAge: HOUSEKEEPING_INTERVAL })]
    })

    const bucketObjectsFinding = `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(
      data.processingBucket.node.defaultChild as CfnElement
    )}.Arn>/*]`
    for (const { policy, name } of [documents, processor]) {
      acknowledge(
        policy,
        bucketObjectsFinding,
        `The ${name} function reads, writes and deletes documents under keys it derives per upload; object keys are not known in advance, and the permission is limited to this one bucket.`
      )
    }
    acknowledge(
      documents.policy,
      `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(data.processingBucket.node.defaultChild as CfnElement)}.Arn>/${INCOMING_PREFIX}*]`,
      "The documents function signs presigned POSTs for, reads and removes incoming uploads, one key per upload (incoming/<uploadId>, not known in advance); only under incoming/ of this one bucket."
    )
    const checkpointsFinding = `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(
      data.auditCheckpointBucket.node.defaultChild as CfnElement
    )}.Arn>/audit-checkpoints/*]`
    for (const { policy, name } of [auth, documents, chat, stream, processor]) {
      acknowledge(
        policy,
        checkpointsFinding,
        `The ${name} function may be the fleet's audit sealer, which writes one checkpoint object per checkpoint (named by position, not known in advance) and reads the latest; only under audit-checkpoints/ of this one bucket, and never a delete.`
      )
    }
    this.migration = this.migrationRunner(migrate, props.deploymentId)
    // On a first deployment the migration must wait for the endpoints (Secrets Manager, KMS) and the proxy to exist.
    this.migration.node.addDependency(network.vpc, data.proxy)
    for (const service of [auth, documents, chat, stream, processor]) service.alias.node.addDependency(this.migration)
  }

  /**
   * X-Ray active tracing and the ADOT collector: Lambda records the invocation's segment and hands
   * its context to the code (`_X_AMZN_TRACE_ID`), the code exports its spans over OTLP to the
   * collector extension on localhost, whose default configuration sends them to X-Ray, and flushes
   * before each invocation returns (src/main/lambda/live.ts). Set on the resource, with the X-Ray
   * permissions in the function's managed policy, because `tracing: ACTIVE` would add an inline one.
   */
  private traceToXRay(scope: Construct, fn: lambda.Function, policy: iam.ManagedPolicy): void {
    ;(fn.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE }
    policy.addStatements(new iam.PolicyStatement({ actions: [...XRAY_WRITE_ACTIONS], resources: ["*"] }))
    acknowledge(
      policy,
      "AwsSolutions-IAM5[Resource::*]",
      "X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions (the AWS managed AWSXRayDaemonWriteAccess grants them on * too); nothing else in this policy is granted on *."
    )
    fn.addLayers(lambda.LayerVersion.fromLayerVersionArn(scope, "AdotCollector", ADOT_COLLECTOR.layerArn(Stack.of(this), fn.architecture)))
  }

  /** Runs the migrate function on every deployment, before the other functions' new versions go live. */
  private migrationRunner(migrate: ServiceFunction, deploymentId: string): CustomResource {
    const provider = new cr.Provider(this, "MigrationProvider", {
      onEventHandler: migrate.alias
    })
    const frameworkFn = provider.node.findChild("framework-onEvent")
    acknowledgeAll(
      frameworkFn,
      ["HIPAA.Security-LambdaInsideVPC", "HIPAA.Security-LambdaConcurrency", "HIPAA.Security-LambdaDLQ", "HIPAA.Security-IAMNoInlinePolicy"],
      "CDK's custom-resource framework function only relays CloudFormation's deployment event to the in-VPC migrate function and posts the answer to CloudFormation's presigned S3 URL; it runs once per deployment, touches no PHI, CloudFormation itself retries and reports its failures, and its role (generated by aws-cdk-lib) may only invoke the migrate function."
    )
    acknowledge(
      frameworkFn,
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      "The custom-resource framework function's role is created by aws-cdk-lib with only the basic execution policy (writing its own logs)."
    )
    return new CustomResource(this, "Migration", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::SerenyaMigration",
      properties: { DeploymentId: deploymentId, Version: migrate.fn.currentVersion.version }
    })
  }
}
