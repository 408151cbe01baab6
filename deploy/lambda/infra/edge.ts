import { ArnFormat, Duration, Stack } from "aws-cdk-lib"
import * as acm from "aws-cdk-lib/aws-certificatemanager"
import * as apigateway from "aws-cdk-lib/aws-apigateway"
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2"
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations"
import * as cloudfront from "aws-cdk-lib/aws-cloudfront"
import * as origins from "aws-cdk-lib/aws-cloudfront-origins"
import * as kms from "aws-cdk-lib/aws-kms"
import * as lambda from "aws-cdk-lib/aws-lambda"
import * as logs from "aws-cdk-lib/aws-logs"
import * as route53 from "aws-cdk-lib/aws-route53"
import * as route53targets from "aws-cdk-lib/aws-route53-targets"
import type * as s3 from "aws-cdk-lib/aws-s3"
import * as wafv2 from "aws-cdk-lib/aws-wafv2"
import { HttpApi } from "effect/http-api"
import { Construct } from "constructs"
import { Api as Application } from "../../../src/http/api.js"
import { EDGE_AUTHORIZATION_HEADER, EDGE_VIEWER_ADDRESS_HEADER } from "../../../src/main/lambda/functionUrl.js"
import { cloudFrontPathPattern, SSE_KEEP_ALIVE_SECONDS, STREAMED_ROUTES } from "../../streaming.js"
import { administrationOnly, logsMayEncrypt } from "./keys.js"
import { acknowledge } from "./nag.js"
import type { FunctionName, StageSettings } from "./stages.js"

type Method = apigwv2.HttpMethod

/** The function that serves each group of src/http/api.ts. */
const FUNCTION_OF_GROUP: Readonly<Record<string, ApiFunction>> = {
  auth: "auth",
  chat: "chat",
  documents: "documents",
  content: "documents",
  account: "documents",
  subscriptions: "documents",
  ops: "documents"
}

type ApiFunction = Extract<FunctionName, "auth" | "documents" | "chat">

/**
 * Routes no deployed stage exposes: the dev sign-in answers any email without a password, so it
 * is for `npm start` and the tests only (the development stage served it behind CloudFront).
 */
const LOCAL_ONLY = new Set(["POST /auth/dev"])

/**
 * Every route of src/http/api.ts (read from the API definition itself, so a new endpoint cannot
 * be left unrouted), in API Gateway's path syntax, with the function that serves it. A group no
 * function is named for fails the synth.
 */
export const ROUTES: ReadonlyArray<{ readonly method: Method; readonly path: string; readonly target: ApiFunction; readonly localOnly?: true }> =
  (() => {
    const routes: Array<{ method: Method; path: string; target: ApiFunction; localOnly?: true }> = []
    HttpApi.reflect(Application, {
      onGroup: () => {},
      onEndpoint: ({ group, endpoint }) => {
        const target = FUNCTION_OF_GROUP[group.identifier]
        if (target === undefined) throw new Error(`No function serves the API group "${group.identifier}" (deploy/lambda/infra/edge.ts)`)
        const method = endpoint.method as Method
        const path = endpoint.path.replace(/:(\w+)/g, "{$1}")
        routes.push({ method, path, target, ...(LOCAL_ONLY.has(`${method} ${path}`) ? { localOnly: true as const } : {}) })
      }
    })
    return routes
  })()

/**
 * How long CloudFront waits for the stream function's next byte (the origin's read timeout; its
 * default is 30 s). Above the streams' keep-alive comment interval with room for three missed
 * ones, and above the time a JSON answer of POST /chat/messages (same path, no
 * `Accept: text/event-stream`) takes to come whole: the chat's time budget (SIZES.chat).
 */
export const STREAM_ORIGIN_READ_TIMEOUT = Duration.seconds(4 * SSE_KEEP_ALIVE_SECONDS)

/**
 * The CloudFront Function on viewer request of the streamed behaviors. Origin access control signs
 * the request to the function URL with SigV4 in `Authorization`, overwriting the client's bearer
 * token: the token is copied to EDGE_AUTHORIZATION_HEADER first, and the viewer's address as
 * CloudFront saw it to EDGE_VIEWER_ADDRESS_HEADER (the function URL's own source address is an
 * edge server's). Whatever the client sent under those two names is dropped first, so neither can
 * be forged. The stream handler puts the token back (src/main/lambda/functionUrl.ts).
 */
export const EDGE_HEADERS_FUNCTION = `function handler(event) {
  var request = event.request;
  var headers = request.headers;
  delete headers['${EDGE_AUTHORIZATION_HEADER}'];
  delete headers['${EDGE_VIEWER_ADDRESS_HEADER}'];
  if (headers.authorization) {
    headers['${EDGE_AUTHORIZATION_HEADER}'] = { value: headers.authorization.value };
  }
  headers['${EDGE_VIEWER_ADDRESS_HEADER}'] = { value: event.viewer.ip };
  return request;
}
`

export interface ApiProps {
  readonly settings: StageSettings
  readonly handlers: Record<"auth" | "documents" | "chat", lambda.IFunction>
  /** The stream function's URL (on its live alias) and that alias: the streamed routes' origin. */
  readonly stream: { readonly url: lambda.IFunctionUrl; readonly alias: lambda.IFunction }
  readonly logsKey: kms.IKey
  readonly logBucket: s3.IBucket
  /** ARN of the CLOUDFRONT-scoped web ACL (created in us-east-1 by EdgeSecurity). */
  readonly webAclArn: string
  /** The API's certificate (created in us-east-1 by ApiCertificate) when the stage has a domain. */
  readonly certificateArn?: string
}

/** The API's host name in a stage with a domain: `api.serenya.health`, `api-dev.serenya.health`. */
export const apiDomainName = (domain: NonNullable<StageSettings["domain"]>): string => `${domain.apiHost}.${domain.zoneName}`

const hostedZone = (scope: Construct, domain: NonNullable<StageSettings["domain"]>) =>
  route53.HostedZone.fromHostedZoneAttributes(scope, "Zone", { hostedZoneId: domain.hostedZoneId, zoneName: domain.zoneName })

/**
 * The API's certificate: CloudFront takes certificates from us-east-1 only, so it lives in the edge
 * stack; ACM validates it with a CNAME it writes into the zone (Route 53 is global).
 */
export class ApiCertificate extends Construct {
  readonly certificate: acm.Certificate

  constructor(scope: Construct, id: string, props: { readonly domain: NonNullable<StageSettings["domain"]> }) {
    super(scope, id)
    this.certificate = new acm.Certificate(this, "Certificate", {
      domainName: apiDomainName(props.domain),
      validation: acm.CertificateValidation.fromDns(hostedZone(this, props.domain))
    })
  }
}

export class Api extends Construct {
  readonly httpApi: apigwv2.HttpApi
  readonly stage: apigwv2.HttpStage
  readonly accessLogs: logs.LogGroup
  readonly distribution: cloudfront.Distribution
  /** The streamed routes' viewer-request function (EDGE_HEADERS_FUNCTION). */
  readonly edgeHeaders: cloudfront.Function

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id)
    const { settings } = props
    const { domain } = settings
    const origins_ = settings.api.corsAllowedOrigins

    this.httpApi = new apigwv2.HttpApi(this, "HttpApi", {
      description: `Serenya ${settings.stage} API`,
      createDefaultStage: false,
      ...(origins_.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...origins_],
              allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.DELETE],
              allowHeaders: ["authorization", "content-type", "idempotency-key"],
              maxAge: Duration.hours(1)
            }
          }
        : {})
    })

    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: settings.logRetention,
      encryptionKey: props.logsKey,
      removalPolicy: settings.dataRemovalPolicy
    })
    // No path, query or body: route keys and ids only, so the access log carries no PHI.
    const format = apigateway.AccessLogFormat.custom(
      JSON.stringify({
        requestId: "$context.requestId",
        ip: "$context.identity.sourceIp",
        requestTime: "$context.requestTimeEpoch",
        routeKey: "$context.routeKey",
        status: "$context.status",
        protocol: "$context.protocol",
        responseLength: "$context.responseLength",
        responseLatency: "$context.responseLatency",
        integrationLatency: "$context.integrationLatency",
        integrationError: "$context.integrationErrorMessage",
        userAgent: "$context.identity.userAgent"
      })
    )
    this.stage = this.httpApi.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: settings.api.throttleRateLimit, burstLimit: settings.api.throttleBurstLimit },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(this.accessLogs), format }
    })

    const integrations = {
      auth: new HttpLambdaIntegration("Auth", props.handlers.auth),
      documents: new HttpLambdaIntegration("Documents", props.handlers.documents),
      chat: new HttpLambdaIntegration("Chat", props.handlers.chat)
    }
    for (const route of ROUTES) {
      if (route.localOnly === true) continue
      const [created] = this.httpApi.addRoutes({ path: route.path, methods: [route.method], integration: integrations[route.target] })
      if (created !== undefined) {
        acknowledge(
          created,
          "AwsSolutions-APIG4",
          "The application authenticates every request itself: bearer tokens are ES256 JWTs it issues and verifies (src/http), with revocation checked in the database, which an API Gateway authorizer cannot do; the /auth, /health and /ready routes are public by design."
        )
      }
    }

    const apiDomain = `${this.httpApi.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`

    // The streamed routes (API Gateway neither streams nor waits past 30 s): the stream function's
    // URL, reached only by this distribution, signing with origin access control. The gateway keeps
    // its routes for those paths (ROUTES: every endpoint); CloudFront never sends these paths there.
    this.edgeHeaders = new cloudfront.Function(this, "EdgeHeaders", {
      comment: "Streamed routes: the bearer token and the viewer's address, kept past origin access control's signature",
      code: cloudfront.FunctionCode.fromInline(EDGE_HEADERS_FUNCTION),
      runtime: cloudfront.FunctionRuntime.JS_2_0
    })
    const streamAccess = new cloudfront.FunctionUrlOriginAccessControl(this, "StreamOriginAccess", {
      description: `Serenya ${settings.stage}: CloudFront signs every request to the stream function's URL`,
      // always: a request the function URL would take unsigned does not exist (its auth type is AWS_IAM)
      signing: cloudfront.Signing.SIGV4_ALWAYS
    })
    const streamOrigin = new origins.FunctionUrlOrigin(props.stream.url, {
      originAccessControlId: streamAccess.originAccessControlId,
      readTimeout: STREAM_ORIGIN_READ_TIMEOUT
    })
    const streamed = (allowedMethods: cloudfront.AllowedMethods): cloudfront.BehaviorOptions => ({
      origin: streamOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // every viewer header (the copied token, Accept, Last-Event-ID, x-amz-content-sha256, …); Host is the URL's own
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      // never held back to be compressed: each event leaves as it arrives
      compress: false,
      functionAssociations: [{ function: this.edgeHeaders, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }]
    })
    const additionalBehaviors = Object.fromEntries(
      STREAMED_ROUTES.map(({ method, path }) => [
        cloudFrontPathPattern(path),
        streamed(method === "GET" ? cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS : cloudfront.AllowedMethods.ALLOW_ALL)
      ])
    )

    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: `Serenya ${settings.stage} API`,
      defaultBehavior: {
        origin: new origins.HttpOrigin(apiDomain, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2]
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS
      },
      additionalBehaviors,
      // the same web ACL for every behavior, the streamed ones included
      webAclId: props.webAclArn,
      ...(domain !== undefined && props.certificateArn !== undefined
        ? {
            domainNames: [apiDomainName(domain)],
            certificate: acm.Certificate.fromCertificateArn(this, "Certificate", props.certificateArn)
          }
        : {}),
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: "cloudfront/",
      enableIpv6: true
    })
    // The stream function's resource policy: CloudFront, for this distribution only, through the URL
    // (InvokeFunctionUrl, AWS_IAM) and the invocation behind it (InvokeFunction, only via a function
    // URL). On the live alias, which the URL is on: a permission on the function would not cover it.
    const distributionArn = Stack.of(this).formatArn({
      service: "cloudfront",
      region: "",
      resource: "distribution",
      resourceName: this.distribution.distributionId
    })
    new lambda.CfnPermission(this, "StreamUrlFromCloudFront", {
      action: "lambda:InvokeFunctionUrl",
      principal: "cloudfront.amazonaws.com",
      functionName: props.stream.alias.functionArn,
      sourceArn: distributionArn,
      functionUrlAuthType: lambda.FunctionUrlAuthType.AWS_IAM
    })
    new lambda.CfnPermission(this, "StreamFromCloudFront", {
      action: "lambda:InvokeFunction",
      principal: "cloudfront.amazonaws.com",
      functionName: props.stream.alias.functionArn,
      sourceArn: distributionArn,
      invokedViaFunctionUrl: true
    })

    acknowledge(
      this.distribution,
      "AwsSolutions-CFR1",
      "The mobile app serves users wherever they travel; requests are filtered by the WAF's managed rules, IP reputation list and per-IP rate limit instead of by country."
    )
    if (domain !== undefined && props.certificateArn !== undefined) {
      // api.<zone> (and its IPv6 twin) point at the distribution.
      const zone = hostedZone(this, domain)
      const target = route53.RecordTarget.fromAlias(new route53targets.CloudFrontTarget(this.distribution))
      new route53.ARecord(this, "AliasIpv4", { zone, recordName: apiDomainName(domain), target })
      new route53.AaaaRecord(this, "AliasIpv6", { zone, recordName: apiDomainName(domain), target })
    } else {
      acknowledge(
        this.distribution,
        "AwsSolutions-CFR4",
        "This stage has no domain (StageSettings.domain): the distribution answers on its *.cloudfront.net name with CloudFront's certificate, whose TLS policy CloudFront fixes; viewers must use HTTPS and the origin connection is TLS 1.2 only."
      )
    }
  }
}

export interface EdgeSecurityProps {
  readonly settings: StageSettings
}

const managedRule = (name: string, priority: number, ruleActionOverrides?: Array<wafv2.CfnWebACL.RuleActionOverrideProperty>): wafv2.CfnWebACL.RuleProperty => ({
  name,
  priority,
  overrideAction: { none: {} },
  statement: {
    managedRuleGroupStatement: {
      vendorName: "AWS",
      name,
      ...(ruleActionOverrides !== undefined ? { ruleActionOverrides } : {})
    }
  },
  visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: name }
})

/**
 * The CloudFront web ACL. CLOUDFRONT-scoped web ACLs exist only in us-east-1, so this construct
 * lives in a us-east-1 stack whose ARN the API stack reads through a cross-region reference.
 */
export class EdgeSecurity extends Construct {
  readonly webAcl: wafv2.CfnWebACL
  readonly logGroup: logs.LogGroup

  constructor(scope: Construct, id: string, props: EdgeSecurityProps) {
    super(scope, id)
    this.webAcl = new wafv2.CfnWebACL(this, "WebAcl", {
      scope: "CLOUDFRONT",
      defaultAction: { allow: {} },
      description: `Serenya ${props.settings.stage} API`,
      visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `serenya-${props.settings.stage}-api` },
      rules: [
        {
          name: "RateLimitPerIp",
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: props.settings.wafRateLimit, aggregateKeyType: "IP" } },
          visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: "RateLimitPerIp" }
        },
        managedRule("AWSManagedRulesAmazonIpReputationList", 1),
        // Document uploads are base64 JSON of up to 8 MB: the common set's 8 KB body limit would block them all.
        managedRule("AWSManagedRulesCommonRuleSet", 2, [{ name: "SizeRestrictions_BODY", actionToUse: { count: {} } }]),
        managedRule("AWSManagedRulesKnownBadInputsRuleSet", 3),
        managedRule("AWSManagedRulesSQLiRuleSet", 4)
      ]
    })

    // The platform key lives in the API's region and keys are regional: WAF's logs get a key of their own.
    const logsKey = new kms.Key(this, "WafLogsKey", {
      description: `Serenya ${props.settings.stage}: WAF request logs`,
      enableKeyRotation: true,
      removalPolicy: props.settings.dataRemovalPolicy,
      policy: administrationOnly()
    })
    const { region, account } = Stack.of(this)
    logsKey.addToResourcePolicy(logsMayEncrypt(region, account))
    // WAF only delivers to log groups whose name starts with aws-waf-logs-.
    this.logGroup = new logs.LogGroup(this, "WafLogs", {
      logGroupName: `aws-waf-logs-serenya-${props.settings.stage}`,
      retention: props.settings.logRetention,
      encryptionKey: logsKey,
      removalPolicy: props.settings.dataRemovalPolicy
    })
    new wafv2.CfnLoggingConfiguration(this, "WafLogging", {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [Stack.of(this).formatArn({ service: "logs", resource: "log-group", resourceName: this.logGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      redactedFields: [{ singleHeader: { Name: "authorization" } }]
    })
  }
}
