/**
 * Who the client is on Lambda, end to end with the settings the stack deploys: the API function's
 * synthesized TRUSTED_PROXY_HOPS, the real handler, real-shaped API Gateway events. A client that
 * writes its own X-Forwarded-For must not choose its rate-limit bucket or its audit address: both
 * are API Gateway's sourceIp (the address CloudFront saw, see src/main/lambda/apiGateway.ts).
 */
import * as lambda from "aws-cdk-lib/aws-lambda"
import { Template } from "aws-cdk-lib/assertions"
import type { APIGatewayProxyEventV2 } from "aws-lambda"
import { type Context, Effect, Exit, Layer, Scope } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createApp } from "../../../deploy/lambda/app.js"
import { makeApiHandler } from "../../../src/main/lambda/api.js"
import { auditRows } from "../../support/audit.js"
import { appTestServices } from "../../support/services.js"
import { testSettings } from "../../support/settings.js"

/** The environment of the documents function (one of the three that serve the API) in a stage. */
const deployedEnvironment = (stage: "development" | "production"): Record<string, unknown> => {
  const code = () => lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })")
  const { app, stacks } = createApp({ outdir: mkdtempSync(join(tmpdir(), "serenya-cdk-")), code, deploymentId: "test", nag: false })
  app.synth()
  const functions = Template.fromStack(stacks[stage].main).findResources("AWS::Lambda::Function", {
    Properties: { Description: `Serenya ${stage}: documents` }
  }) as Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>
  const [documents] = Object.values(functions)
  if (documents === undefined) throw new Error("no documents function in the template")
  return documents.Properties.Environment.Variables
}

const environment = deployedEnvironment("production")
const hops = environment.TRUSTED_PROXY_HOPS
const IP_CAPACITY = 3

const settings = testSettings({
  // What the stack deploys decides; absent, the setting's default would silently apply.
  TRUSTED_PROXY_HOPS: typeof hops === "string" ? hops : "unset",
  DEV_AUTH_ENABLED: "true",
  RATE_LIMIT_IP_CAPACITY: String(IP_CAPACITY)
})
const Services = appTestServices({ settings })
let scope: Scope.Closeable
let context: Context.Context<Layer.Success<typeof Services>>
const api = makeApiHandler("test-client-address", Layer.effectContext(Effect.sync(() => context)))

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  context = await Effect.runPromise(Layer.buildWithScope(Services, scope))
}, 60_000)

afterAll(async () => {
  await api.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

/** A request as CloudFront → API Gateway deliver it: the client's own header, then what CloudFront appended. */
const event = (sourceIp: string, spoofed: string, body?: unknown): APIGatewayProxyEventV2 => ({
  version: "2.0",
  routeKey: "$default",
  rawPath: body === undefined ? "/me" : "/auth/dev",
  rawQueryString: "",
  headers: {
    accept: "application/json",
    host: "d111111abcdef8.cloudfront.net",
    "x-forwarded-for": `${spoofed}, ${sourceIp}`,
    ...(body === undefined ? {} : { "content-type": "application/json" })
  },
  requestContext: {
    accountId: "123456789012",
    apiId: "abc123",
    domainName: "abc123.execute-api.eu-west-1.amazonaws.com",
    domainPrefix: "abc123",
    http: { method: body === undefined ? "GET" : "POST", path: "/me", protocol: "HTTP/1.1", sourceIp, userAgent: "Serenya/1.0" },
    requestId: "id",
    routeKey: "$default",
    stage: "$default",
    time: "06/Dec/2026:09:00:00 +0000",
    timeEpoch: 1_796_000_000_000
  },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  isBase64Encoded: false
})

describe("the client address on Lambda, with the deployed settings", () => {
  it("the stack trusts no X-Forwarded-For entry", () => {
    expect(hops).toBe("0")
    expect(deployedEnvironment("development").TRUSTED_PROXY_HOPS).toBe("0")
  })

  it("a spoofed X-Forwarded-For keys the limiter on the real client, not on the address it names", async () => {
    // A new spoofed address on every request: were any of them the key, none would ever be refused.
    const statuses: Array<number> = []
    for (let i = 0; i <= IP_CAPACITY; i++) statuses.push((await api.handler(event("198.51.100.20", `10.9.8.${i}`))).statusCode ?? 0)
    expect(statuses).toEqual([401, 401, 401, 429])
    // Another client spoofing an address the first one used has a bucket of its own.
    expect((await api.handler(event("198.51.100.21", "10.9.8.0"))).statusCode).toBe(401)
  })

  it("the audit trail records the real client, not the address the client wrote", async () => {
    const signedIn = await api.handler(event("198.51.100.30", "6.6.6.6", { email: "spoofer@example.com" }))
    expect(signedIn.statusCode).toBe(200)
    const rows = await Effect.runPromise(Effect.provide(auditRows, context))
    expect(rows.filter((row) => row.action === "auth.dev_login").map((row) => row.clientIp)).toEqual(["198.51.100.30"])
  })
})
