/**
 * The streamed routes on Lambda (issue 21): a function URL with response streaming behind the
 * existing CloudFront distribution, with origin access control, the same web ACL, and the
 * client's bearer token carried past CloudFront's signature.
 *
 * - synth: the URL (RESPONSE_STREAM, AWS_IAM) on the stream function's live alias; the OAC (type
 *   lambda, always signing); the alias's resource policy (CloudFront, this distribution only);
 *   both paths' behaviors to that origin with caching off, every viewer header forwarded and the
 *   viewer-request function attached (its code run here); the web ACL; the timeouts' relation to
 *   the API's own keep-alive and longest stream; the stream function's IAM being the chat's;
 * - the handler (src/main/lambda/stream.ts) under a stand-in `awslambda` global: an SSE body's
 *   chunks reach the response stream in order while the app's stream is still running, telemetry
 *   is flushed after the stream ended, a client that goes away cancels the app's stream, the bearer
 *   token is restored only for function URL events — on the real app over a real PostgreSQL.
 */
import { Match, Template } from "aws-cdk-lib/assertions"
import * as lambda from "aws-cdk-lib/aws-lambda"
import type { APIGatewayProxyEventV2 } from "aws-lambda"
import { type Context, Deferred, Duration, Effect, Exit, Layer, Scope, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApi } from "effect/http-api"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Writable } from "node:stream"
import * as vm from "node:vm"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createApp } from "../../../deploy/lambda/app.js"
import { EDGE_HEADERS_FUNCTION, STREAM_ORIGIN_READ_TIMEOUT } from "../../../deploy/lambda/infra/edge.js"
import { SIZES, STREAM_TIMEOUT } from "../../../deploy/lambda/infra/functions.js"
import { STREAM_OVERRUN_SECONDS } from "../../../deploy/lambda/infra/observability.js"
import { type FunctionName, stages } from "../../../deploy/lambda/infra/stages.js"
import { cloudFrontPathPattern, LONGEST_STREAM_SECONDS, SSE_KEEP_ALIVE_SECONDS, STREAMED_ROUTES } from "../../../deploy/streaming.js"
import { Api as Application } from "../../../src/http/api.js"
import type { BuiltApi } from "../../../src/main/lambda/api.js"
import { EDGE_AUTHORIZATION_HEADER, EDGE_VIEWER_ADDRESS_HEADER, fromEdge, throughFunctionUrl } from "../../../src/main/lambda/functionUrl.js"
import { type LambdaStreaming, makeStreamHandler, makeWebStreamHandler, type StreamMetadata } from "../../../src/main/lambda/stream.js"
import { JobEventsMemoryProbe } from "../../../src/layers/jobEvents/memory.js"
import { MAX_STREAM } from "../../../src/programs/jobEvents.js"
import type { JobId } from "../../../src/services/ids.js"
import { appTestServices } from "../../support/services.js"
import { testSettings } from "../../support/settings.js"
import { functionUrlEvent, gatewayEvent } from "./support/events.js"

// ---------------------------------------------------------------------------------------------
// The templates (both stages, synthesized once; the nag packs run in stack.test.ts).

const code = () => lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })")
const { stacks } = createApp({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")), code, deploymentId: "test-deployment", nag: false })
const dev = Template.fromStack(stacks.development.main)
const prod = Template.fromStack(stacks.production.main)
const both = [
  ["development", dev],
  ["production", prod]
] as const

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown> }
type Statement = { Effect: string; Action: string | Array<string>; Resource?: unknown; Condition?: unknown }
const resources = (template: Template, type: string) => Object.entries(template.findResources(type) as Record<string, Resource>)
const json = (value: unknown) => JSON.stringify(value)
const asArray = <A>(value: A | Array<A> | undefined): Array<A> => (value === undefined ? [] : Array.isArray(value) ? value : [value])

const only = (template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] => {
  const found = Object.entries(template.findResources(type, { Properties: props }) as Record<string, Resource>)
  expect(found, `${type} matching ${json(props)}`).toHaveLength(1)
  return found[0]!
}
const fn = (template: Template, stage: string, name: FunctionName) =>
  only(template, "AWS::Lambda::Function", { Description: `Serenya ${stage}: ${name}` })
const permissionsOf = (template: Template, name: FunctionName): Array<Statement> => {
  const [, policy] = only(template, "AWS::IAM::ManagedPolicy", { Description: Match.stringLikeRegexp(`${name} function: its own resources`) })
  return (policy.Properties?.PolicyDocument as { Statement: Array<Statement> }).Statement
}

/** CloudFront's managed policies, by their fixed ids. */
const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
const ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

interface Behavior {
  readonly PathPattern: string
  readonly TargetOriginId: string
  readonly AllowedMethods: Array<string>
  readonly CachePolicyId: string
  readonly OriginRequestPolicyId: string
  readonly Compress?: boolean
  readonly ViewerProtocolPolicy: string
  readonly FunctionAssociations?: Array<{ EventType: string; FunctionARN: unknown }>
}
interface Origin {
  readonly Id: string
  readonly DomainName: unknown
  readonly OriginAccessControlId?: unknown
  readonly CustomOriginConfig?: { OriginReadTimeout?: number; OriginProtocolPolicy: string }
}
const distributionOf = (template: Template) => {
  const [id, distribution] = only(template, "AWS::CloudFront::Distribution")
  const config = distribution.Properties?.DistributionConfig as {
    WebACLId?: unknown
    Origins: Array<Origin>
    CacheBehaviors?: Array<Behavior>
    DefaultCacheBehavior: Behavior
  }
  return { id, config }
}

/** The API's SSE responses, read from the API definition: path, method and keep-alive. */
const sseEndpoints = (() => {
  const found: Array<{ method: string; path: string; keepAliveSeconds: number | undefined }> = []
  HttpApi.reflect(Application, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      for (const schema of endpoint.success) {
        const sse = schema as unknown as { readonly _tag?: string; readonly keepAlive?: Duration.Duration }
        if (sse._tag === "StreamSse") {
          found.push({
            method: endpoint.method,
            path: endpoint.path,
            keepAliveSeconds: sse.keepAlive === undefined ? undefined : Duration.toSeconds(sse.keepAlive)
          })
        }
      }
    }
  })
  return found
})()

describe("the stream function and its URL", () => {
  it.each(both)("%s: a function URL on the stream function's live alias, streaming its responses, for signed (AWS_IAM) requests only", (stage, template) => {
    const [fnId] = fn(template, stage, "stream")
    const [, url] = only(template, "AWS::Lambda::Url")
    expect(url.Properties).toEqual({
      AuthType: "AWS_IAM",
      InvokeMode: "RESPONSE_STREAM",
      Qualifier: "live",
      TargetFunctionArn: { "Fn::GetAtt": [fnId, "Arn"] }
    })
  })

  it.each(both)("%s: only CloudFront may invoke it, for this distribution alone, on the live alias", (_stage, template) => {
    const { id: distributionId } = distributionOf(template)
    const onStream = resources(template, "AWS::Lambda::Permission").filter(([, p]) => json(p.Properties?.FunctionName).includes("FunctionsstreamLive"))
    const statements = onStream.map(([, p]) => p.Properties!)
    expect(statements).toHaveLength(2)
    const distributionArn = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":cloudfront::123456789012:distribution/", { Ref: distributionId }]] }
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Action: "lambda:InvokeFunctionUrl",
          FunctionName: { Ref: expect.stringMatching(/^FunctionsstreamLive/) },
          FunctionUrlAuthType: "AWS_IAM",
          Principal: "cloudfront.amazonaws.com",
          SourceArn: distributionArn
        },
        {
          Action: "lambda:InvokeFunction",
          FunctionName: { Ref: expect.stringMatching(/^FunctionsstreamLive/) },
          InvokedViaFunctionUrl: true,
          Principal: "cloudfront.amazonaws.com",
          SourceArn: distributionArn
        }
      ])
    )
    // and no API Gateway route reaches it
    const integrations = resources(template, "AWS::ApiGatewayV2::Integration").map(([, i]) => json(i.Properties?.IntegrationUri))
    expect(integrations.filter((uri) => uri.includes("Functionsstream"))).toEqual([])
  })

  it.each(both)("%s: CloudFront signs every request to it with origin access control of type lambda", (_stage, template) => {
    const [oacId, oac] = only(template, "AWS::CloudFront::OriginAccessControl")
    expect(oac.Properties?.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: "lambda",
      SigningBehavior: "always",
      SigningProtocol: "sigv4"
    })
    const { config } = distributionOf(template)
    const [streamOrigin, ...others] = config.Origins.filter((o) => o.OriginAccessControlId !== undefined)
    expect(others).toEqual([])
    expect(streamOrigin?.OriginAccessControlId).toEqual({ "Fn::GetAtt": [oacId, "Id"] })
    expect(json(streamOrigin?.DomainName)).toMatch(/FunctionsstreamUrl[0-9A-F]+","FunctionUrl"/)
    expect(streamOrigin?.CustomOriginConfig?.OriginProtocolPolicy).toBe("https-only")
  })

  it.each(both)("%s: its IAM is the chat function's (database, KMS, Bedrock with ConverseStream, cost table), and no SNS", (_stage, template) => {
    const actions = (name: FunctionName) =>
      [...new Set(permissionsOf(template, name).flatMap((s) => asArray(s.Action)))].sort()
    expect(actions("stream")).toEqual(actions("chat"))
    expect(actions("stream")).toEqual(expect.arrayContaining(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]))
    expect(actions("chat")).toContain("bedrock:InvokeModelWithResponseStream")
    expect(actions("stream").filter((a) => a.startsWith("sns:"))).toEqual([])
    const resourcesOf = (name: FunctionName) =>
      permissionsOf(template, name)
        .filter((s) => asArray(s.Action).some((a) => /^(bedrock|dynamodb|secretsmanager):/.test(a)))
        .map((s) => json(s.Resource))
        .sort()
    expect(resourcesOf("stream")).toEqual(resourcesOf("chat"))
  })

  it.each(both)("%s: reserved concurrency (the open streams' cap) and provisioned concurrency from the stage, in the compute subnets", (stage, template) => {
    const [, resource] = fn(template, stage, "stream")
    expect(resource.Properties).toMatchObject({
      Handler: "index.handler",
      MemorySize: SIZES.stream.memoryMiB,
      Timeout: STREAM_TIMEOUT.toSeconds(),
      ReservedConcurrentExecutions: stages[stage].functions.stream.reservedConcurrency
    })
    expect(json((resource.Properties?.VpcConfig as { SubnetIds: unknown }).SubnetIds)).toMatch(/Compute/)
    const provisioned = stages[stage].functions.stream.provisionedConcurrency
    const [, alias] = only(template, "AWS::Lambda::Alias", { FunctionName: { Ref: Match.stringLikeRegexp("FunctionsstreamFunction") } })
    expect(alias.Properties?.ProvisionedConcurrencyConfig).toEqual(
      provisioned > 0 ? { ProvisionedConcurrentExecutions: provisioned } : undefined
    )
  })

  it.each(both)("%s: alarms fit a function whose duration is long by nature: a stream past the maximum, and refused streams", (_stage, template) => {
    const alarms = resources(template, "AWS::CloudWatch::Alarm").map(([, a]) => a.Properties!)
    const overrun = alarms.find((a) => String(a.AlarmDescription).startsWith("The stream function's longest duration"))
    expect(overrun).toMatchObject({
      MetricName: "Duration",
      Statistic: "Maximum",
      Threshold: (LONGEST_STREAM_SECONDS + STREAM_OVERRUN_SECONDS) * 1000,
      ComparisonOperator: "GreaterThanThreshold"
    })
    // between the streams' own end and Lambda's cut
    expect(Number(overrun?.Threshold)).toBeLessThan(STREAM_TIMEOUT.toMilliseconds())
    expect(alarms.find((a) => String(a.AlarmDescription).startsWith("Streams refused"))).toMatchObject({ MetricName: "Throttles", Threshold: 0 })
    // no average-duration alarm for it: an open stream is not a slow request
    expect(alarms.filter((a) => String(a.AlarmDescription).startsWith("The stream function's average duration"))).toEqual([])
  })
})

describe("CloudFront behaviors for the streamed routes", () => {
  it.each(both)("%s: both paths go to the function URL with caching off, every viewer header but Host, and the edge function", (_stage, template) => {
    const { config } = distributionOf(template)
    const streamOrigin = config.Origins.find((o) => o.OriginAccessControlId !== undefined)!
    const [functionId] = only(template, "AWS::CloudFront::Function")
    const behaviors = config.CacheBehaviors ?? []
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual(["/chat/messages", "/jobs/*/events"])
    for (const behavior of behaviors) {
      expect(behavior, behavior.PathPattern).toMatchObject({
        TargetOriginId: streamOrigin.Id,
        CachePolicyId: CACHING_DISABLED,
        OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
        Compress: false,
        ViewerProtocolPolicy: "https-only",
        FunctionAssociations: [{ EventType: "viewer-request", FunctionARN: { "Fn::GetAtt": [functionId, "FunctionARN"] } }]
      })
    }
    const methods = Object.fromEntries(behaviors.map((b) => [b.PathPattern, [...b.AllowedMethods].sort()]))
    expect(methods["/chat/messages"]).toEqual(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"])
    expect(methods["/jobs/*/events"]).toEqual(["GET", "HEAD", "OPTIONS"])
    // everything else still goes to API Gateway
    expect(config.DefaultCacheBehavior.TargetOriginId).not.toBe(streamOrigin.Id)
    expect(json(config.Origins.find((o) => o.Id === config.DefaultCacheBehavior.TargetOriginId)?.DomainName)).toContain(".execute-api.")
  })

  it.each(both)("%s: the distribution — and so every behavior, the streamed ones included — is under the edge stack's web ACL", (stage, template) => {
    const { config } = distributionOf(template)
    expect(config.WebACLId).toBeDefined()
    // the ARN comes from the us-east-1 stack's web ACL, through the cross-region reference
    expect(json(config.WebACLId)).toMatch(/EdgeSecurityWebAcl|ExportsReader|SSM|Fn::GetAtt/)
    expect(stacks[stage].main.dependencies.map((d) => d.stackName)).toContain(stacks[stage].edge.stackName)
  })

  it("STREAMED_ROUTES are the API's SSE endpoints, each with a keep-alive no longer than SSE_KEEP_ALIVE_SECONDS", () => {
    const routes = STREAMED_ROUTES.map((r) => `${r.method} ${r.path}`).sort()
    expect(sseEndpoints.map((e) => `${e.method} ${e.path}`).sort()).toEqual(routes)
    for (const endpoint of sseEndpoints) {
      // without keep-alives, a quiet stream would be cut by CloudFront's read timeout (and the ALB's idle timeout)
      expect(endpoint.keepAliveSeconds, endpoint.path).toBeDefined()
      expect(endpoint.keepAliveSeconds!, endpoint.path).toBeLessThanOrEqual(SSE_KEEP_ALIVE_SECONDS)
    }
    expect(STREAMED_ROUTES.map((r) => cloudFrontPathPattern(r.path)).sort()).toEqual(["/chat/messages", "/jobs/*/events"])
  })

  it.each(both)("%s: timeouts — CloudFront outwaits the keep-alive and a JSON answer; the function outlives its longest stream", (stage, template) => {
    const { config } = distributionOf(template)
    const readTimeout = config.Origins.find((o) => o.OriginAccessControlId !== undefined)?.CustomOriginConfig?.OriginReadTimeout
    // set explicitly (CloudFront's default is 30 s), within the default quota (60 s without an increase)
    expect(readTimeout).toBe(STREAM_ORIGIN_READ_TIMEOUT.toSeconds())
    expect(readTimeout!).toBeLessThanOrEqual(60)
    // at least three keep-alive comments may be late before CloudFront gives up on a quiet stream
    expect(readTimeout!).toBeGreaterThanOrEqual(3 * SSE_KEEP_ALIVE_SECONDS)
    // POST /chat/messages without `Accept: text/event-stream` answers JSON, whole, within the chat's budget
    expect(readTimeout!).toBeGreaterThan(SIZES.chat.timeout.toSeconds())
    // the job events end themselves (with a reconnect hint) before Lambda would cut them
    expect(LONGEST_STREAM_SECONDS).toBe(Duration.toSeconds(MAX_STREAM))
    const timeout = fn(template, stage, "stream")[1].Properties?.Timeout as number
    expect(timeout).toBeGreaterThan(LONGEST_STREAM_SECONDS + STREAM_OVERRUN_SECONDS)
    expect(timeout).toBeGreaterThan(SIZES.chat.timeout.toSeconds())
    expect(timeout).toBeLessThanOrEqual(900)
  })
})

describe("the edge function (CloudFront Functions, viewer request)", () => {
  const run = (headers: Record<string, { value: string }>, ip = "198.51.100.23") => {
    const handler = vm.runInNewContext(`${EDGE_HEADERS_FUNCTION}; handler`) as (event: unknown) => { headers: Record<string, { value: string }> }
    return handler({ version: "1.0", viewer: { ip }, request: { method: "POST", uri: "/chat/messages", headers } }).headers
  }

  it("copies the client's Authorization to the header origin access control leaves alone, with the viewer's address", () => {
    const headers = run({ authorization: { value: "Bearer eyJ.client.token" }, accept: { value: "text/event-stream" } })
    expect(headers[EDGE_AUTHORIZATION_HEADER]).toEqual({ value: "Bearer eyJ.client.token" })
    expect(headers[EDGE_VIEWER_ADDRESS_HEADER]).toEqual({ value: "198.51.100.23" })
    expect(headers.accept).toEqual({ value: "text/event-stream" })
  })

  it("drops what a client sent under the edge's names: neither can be forged", () => {
    const headers = run({ [EDGE_AUTHORIZATION_HEADER]: { value: "Bearer forged" }, [EDGE_VIEWER_ADDRESS_HEADER]: { value: "10.0.0.1" } })
    expect(headers[EDGE_AUTHORIZATION_HEADER]).toBeUndefined()
    expect(headers[EDGE_VIEWER_ADDRESS_HEADER]).toEqual({ value: "198.51.100.23" })
  })

  it("is plain ES5 functions and declarations, as CloudFront's runtime takes it", () => {
    expect(() => new vm.Script(EDGE_HEADERS_FUNCTION)).not.toThrow()
    expect(EDGE_HEADERS_FUNCTION).not.toMatch(/=>|\bconst\b|\blet\b|`/)
  })
})

// ---------------------------------------------------------------------------------------------
// The handler, under a stand-in for Lambda's `awslambda` global.

/** Lambda's response stream as the tests see it: every write, timed, and the metadata sent first. */
class ResponseStream extends Writable {
  readonly writes: Array<string> = []
  metadata: StreamMetadata | undefined
  /** Chunks written before the metadata (never: the runtime sends the metadata first). */
  writesBeforeMetadata = 0
  private readonly waiting: Array<{ count: number; resolve: () => void }> = []

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    if (this.metadata === undefined) this.writesBeforeMetadata++
    this.writes.push(chunk.toString("utf8"))
    for (const waiter of this.waiting.filter((w) => this.text().length > 0 && this.writes.length >= w.count)) waiter.resolve()
    callback()
  }

  text() {
    return this.writes.join("")
  }

  /** Resolves once `count` non-empty writes have arrived. */
  written(count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => this.writes.filter((w) => w.length > 0).length >= count
      if (check()) return resolve()
      const timer = setTimeout(() => reject(new Error(`fewer than ${count} writes after 5 s: ${JSON.stringify(this.writes)}`)), 5_000)
      const poll = setInterval(() => {
        if (check()) {
          clearInterval(poll)
          clearTimeout(timer)
          resolve()
        }
      }, 5)
    })
  }
}

const streamified = new Set<unknown>()
const fakeAwsLambda: LambdaStreaming = {
  streamifyResponse: (handler) => {
    streamified.add(handler)
    return handler
  },
  HttpResponseStream: {
    from: (stream, metadata) => {
      ;(stream as ResponseStream).metadata = metadata
      return stream
    }
  }
}

const waitUntil = async (what: string, check: () => boolean | Promise<boolean>, ms = 5_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A tiny streaming app: GET /events sends `one`, then `two` once released; its end and interruption are recorded. */
const makeEventsApp = () => {
  const log: Array<string> = []
  const release = Deferred.makeUnsafe<void>()
  const encode = (event: string) => new TextEncoder().encode(`event: ${event}\ndata: {}\n\n`)
  const events = Stream.make(encode("one")).pipe(
    Stream.concat(Stream.fromEffect(Effect.as(Deferred.await(release), encode("two")))),
    Stream.onExit((exit) => Effect.sync(() => log.push(Exit.hasInterrupts(exit) ? "app stream interrupted" : "app stream ended")))
  )
  const failing = Stream.make(encode("one")).pipe(Stream.concat(Stream.fail(new Error("the model went away"))))
  const routes = Layer.mergeAll(
    HttpRouter.add("GET", "/events", HttpServerResponse.stream(events, { contentType: "text/event-stream" })),
    HttpRouter.add("GET", "/failing", HttpServerResponse.stream(failing, { contentType: "text/event-stream" })),
    HttpRouter.add("GET", "/empty", HttpServerResponse.empty({ status: 204 }))
  )
  const build = Effect.acquireRelease(
    Effect.sync(() => HttpRouter.toWebHandler(routes, { disableLogger: true })),
    (web) => Effect.promise(web.dispose)
  ).pipe(
    Effect.map((web): BuiltApi => ({
      handle: (request) => web.handler(request),
      flush: async () => {
        log.push("telemetry flushed")
      }
    }))
  )
  return { log, release, handler: makeWebStreamHandler("test-events", build, fakeAwsLambda) }
}

describe("stream handler: the web Response piped to Lambda's response stream", () => {
  it("is wrapped with awslambda.streamifyResponse, and refuses to run where there is no such global", async () => {
    const { handler } = makeEventsApp()
    expect(streamified.has(handler.handler)).toBe(true)
    const nowhere = makeWebStreamHandler("no-runtime", Effect.die("never built"), undefined)
    await expect(nowhere.handler(functionUrlEvent("GET", "/events"), new ResponseStream())).rejects.toThrow(/awslambda/)
  })

  it("sends the status and headers first, then each chunk as the app produces it, in order; flushes telemetry after the end", async () => {
    const app = makeEventsApp()
    const out = new ResponseStream()
    out.on("finish", () => app.log.push("response ended"))
    const done = app.handler.respond(functionUrlEvent("GET", "/events", { accept: "text/event-stream" }), out)

    await out.written(1)
    // the first event is at the client while the app's stream is still running
    expect(out.text()).toBe("event: one\ndata: {}\n\n")
    expect(app.log).toEqual([])
    expect(out.metadata).toMatchObject({ statusCode: 200, headers: { "content-type": "text/event-stream" } })
    expect(out.writesBeforeMetadata).toBe(0)

    Deferred.doneUnsafe(app.release, Exit.void)
    await done
    expect(out.text()).toBe("event: one\ndata: {}\n\nevent: two\ndata: {}\n\n")
    expect(app.log).toEqual(["app stream ended", "response ended", "telemetry flushed"])
    await app.handler.dispose()
  })

  it("a client that goes away (the response stream closes) cancels the body: the app's stream is interrupted", async () => {
    const app = makeEventsApp()
    const out = new ResponseStream()
    const done = app.handler.respond(functionUrlEvent("GET", "/events"), out)
    await out.written(1)
    out.destroy()
    await done
    await waitUntil("the app's stream to be interrupted", () => app.log.includes("app stream interrupted"))
    expect(app.log).not.toContain("app stream ended")
    expect(app.log).toContain("telemetry flushed")
    await app.handler.dispose()
  })

  it("a body that fails part-way destroys the response stream (an incomplete response, not one that looks whole)", async () => {
    const app = makeEventsApp()
    const out = new ResponseStream()
    out.on("error", () => undefined)
    await app.handler.respond(functionUrlEvent("GET", "/failing"), out)
    expect(out.text()).toBe("event: one\ndata: {}\n\n")
    expect(out.destroyed).toBe(true)
    expect(out.writableFinished).toBe(false)
    expect(app.log).toEqual(["telemetry flushed"])
    await app.handler.dispose()
  })

  it("a response without a body still sends its status (one empty write carries the metadata)", async () => {
    const app = makeEventsApp()
    const out = new ResponseStream()
    await app.handler.respond(functionUrlEvent("GET", "/empty"), out)
    expect(out.metadata?.statusCode).toBe(204)
    expect(out.writes).toEqual([""])
    expect(out.writableFinished).toBe(true)
    await app.handler.dispose()
  })

  it("answers 503 (retryable) when the app cannot be built, and builds again on the next request", async () => {
    let attempts = 0
    const handler = makeWebStreamHandler(
      "test-failing-init",
      Effect.suspend(() => (++attempts === 1 ? Effect.fail("the secret is not readable yet") : Effect.succeed<BuiltApi>({
        handle: async () => new Response("ok"),
        flush: async () => {}
      }))),
      fakeAwsLambda
    )
    const first = new ResponseStream()
    await handler.respond(functionUrlEvent("GET", "/health"), first)
    expect(first.metadata).toMatchObject({ statusCode: 503, headers: { "retry-after": "1" } })
    expect(JSON.parse(first.text())).toMatchObject({ error: { code: "SERVICE_UNAVAILABLE" } })
    const second = new ResponseStream()
    await handler.respond(functionUrlEvent("GET", "/health"), second)
    expect(second.metadata?.statusCode).toBe(200)
    expect(second.text()).toBe("ok")
    await handler.dispose()
  })
})

describe("function URL events: the client's token restored past CloudFront's signature", () => {
  it("for a function URL event: Authorization is the edge's copy, CloudFront's signing headers are gone, the peer is the viewer", () => {
    const event = functionUrlEvent("GET", "/me", { [EDGE_AUTHORIZATION_HEADER]: "Bearer eyJ.token", [EDGE_VIEWER_ADDRESS_HEADER]: "198.51.100.23" })
    expect(throughFunctionUrl(event)).toBe(true)
    const { event: restored, peer } = fromEdge(event)
    expect(restored.headers.authorization).toBe("Bearer eyJ.token")
    for (const name of [EDGE_AUTHORIZATION_HEADER, EDGE_VIEWER_ADDRESS_HEADER, "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]) {
      expect(restored.headers[name], name).toBeUndefined()
    }
    expect(peer).toBe("198.51.100.23")
    // no copy (the client sent no token): CloudFront's signature never reaches the app
    const unsigned = fromEdge(functionUrlEvent("GET", "/me"))
    expect(unsigned.event.headers.authorization).toBeUndefined()
    // no viewer address: the connection's source
    expect(unsigned.peer).toBe("130.176.16.80")
  })

  it("anywhere else (API Gateway, a direct invoke) the edge's headers are dropped and never believed", () => {
    const event = gatewayEvent("GET", "/me", {
      authorization: "Bearer eyJ.real",
      [EDGE_AUTHORIZATION_HEADER]: "Bearer eyJ.forged",
      [EDGE_VIEWER_ADDRESS_HEADER]: "10.0.0.1"
    })
    expect(throughFunctionUrl(event)).toBe(false)
    const { event: restored, peer } = fromEdge(event)
    expect(restored.headers.authorization).toBe("Bearer eyJ.real")
    expect(restored.headers[EDGE_AUTHORIZATION_HEADER]).toBeUndefined()
    expect(restored.headers[EDGE_VIEWER_ADDRESS_HEADER]).toBeUndefined()
    expect(peer).toBe("203.0.113.7")
    // a function URL's host name without Lambda's checked caller identity is not enough
    const { authorizer: _, ...contextWithoutCaller } = functionUrlEvent("GET", "/me").requestContext as unknown as Record<string, unknown>
    const unsigned = { ...functionUrlEvent("GET", "/me", { [EDGE_AUTHORIZATION_HEADER]: "Bearer eyJ.forged" }), requestContext: contextWithoutCaller }
    expect(throughFunctionUrl(unsigned as unknown as APIGatewayProxyEventV2)).toBe(false)
  })
})

describe("stream handler on the real app (test layers, PostgreSQL)", () => {
  const settings = testSettings({
    DEV_AUTH_ENABLED: "true",
    MAX_UPLOAD_BYTES: String(64 * 1024),
    FREE_PLAN_DOCUMENTS_PER_MONTH: "1000",
    RATE_LIMIT_IP_CAPACITY: "100000",
    RATE_LIMIT_USER_CAPACITY: "100000"
  })
  const Services = appTestServices({ settings })
  let scope: Scope.Closeable
  let context: Context.Context<Layer.Success<typeof Services>>
  const shared = Layer.effectContext(Effect.sync(() => context))
  const stream = makeStreamHandler("test-stream", shared, fakeAwsLambda)

  beforeAll(async () => {
    scope = Effect.runSync(Scope.make())
    context = await Effect.runPromise(Layer.buildWithScope(Services, scope))
  }, 60_000)

  afterAll(async () => {
    await stream.dispose()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  const call = async (event: APIGatewayProxyEventV2) => {
    const out = new ResponseStream()
    await stream.respond(event, out)
    return { status: out.metadata?.statusCode, body: out.text(), headers: out.metadata?.headers ?? {} }
  }
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    functionUrlEvent("POST", path, { "content-type": "application/json", ...headers }, JSON.stringify(body))

  const signIn = async (email: string) => {
    const answer = await call(post("/auth/dev", { email, name: "Jane Doe" }))
    expect(answer.status).toBe(200)
    return (JSON.parse(answer.body) as { accessToken: string }).accessToken
  }

  it("authenticates with the token the edge copied; without the copy, or outside a function URL, the request is anonymous", async () => {
    const token = await signIn("stream-auth@example.com")
    const me = await call(functionUrlEvent("GET", "/me", { [EDGE_AUTHORIZATION_HEADER]: `Bearer ${token}` }))
    expect(me.status).toBe(200)
    expect(JSON.parse(me.body)).toMatchObject({ email: "stream-auth@example.com" })
    // CloudFront's signature alone is no bearer token
    expect((await call(functionUrlEvent("GET", "/me"))).status).toBe(401)
    // the edge's header is believed only from the function URL
    const forged = gatewayEvent("GET", "/me", { [EDGE_AUTHORIZATION_HEADER]: `Bearer ${token}` })
    expect((await call(forged)).status).toBe(401)
  })

  it("GET /jobs/:jobId/events: the first event arrives while the stream is open; the client leaving ends the app's watch", async () => {
    const token = await signIn("stream-events@example.com")
    const auth = { [EDGE_AUTHORIZATION_HEADER]: `Bearer ${token}` }
    const pdf = Buffer.from("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n").toString("base64")
    const upload = await call(post("/documents/upload", { fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf }, auth))
    expect(upload.status).toBe(202)
    const jobId = (JSON.parse(upload.body) as { jobId: JobId }).jobId
    const watchers = () => Effect.runPromise(Effect.provide(Effect.flatMap(JobEventsMemoryProbe, (p) => p.watchersOf(jobId)), context))

    const out = new ResponseStream()
    const done = stream.respond(functionUrlEvent("GET", `/jobs/${jobId}/events`, { ...auth, accept: "text/event-stream" }), out)
    await waitUntil("the first event", () => /event: queued/.test(out.text()))
    expect(out.metadata).toMatchObject({ statusCode: 200, headers: { "content-type": expect.stringMatching(/^text\/event-stream/) } })
    // still streaming: the job is queued, nobody processes it here
    await waitUntil("the stream's watch", async () => (await watchers()) === 1)
    expect(out.writableFinished).toBe(false)

    out.destroy()
    await done
    await waitUntil("the watch to be released", async () => (await watchers()) === 0)
  })
})
