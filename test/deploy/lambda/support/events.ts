/** API Gateway (HTTP API, payload format 2.0) events as the gateway sends them to the functions. */
import type { APIGatewayProxyEventV2 } from "aws-lambda"

export const GATEWAY_HOST = "abc123.execute-api.eu-west-1.amazonaws.com"

/**
 * A request from the app through CloudFront and the gateway: `headers` are added to the gateway's
 * own (accept, host, user-agent); the client's address is the gateway's `sourceIp`.
 */
export const gatewayEvent = (method: string, rawPath: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 => ({
  version: "2.0",
  routeKey: "$default",
  rawPath,
  rawQueryString: "",
  headers: { accept: "application/json", host: GATEWAY_HOST, "user-agent": "Serenya/1.0 (iOS)", ...headers },
  requestContext: {
    accountId: "123456789012",
    apiId: "abc123",
    domainName: GATEWAY_HOST,
    domainPrefix: "abc123",
    http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "Serenya/1.0 (iOS)" },
    requestId: "JKJaXmPLvHcESHA=",
    routeKey: "$default",
    stage: "$default",
    time: "07/Dec/2026:09:00:00 +0000",
    timeEpoch: 1_796_634_000_000
  },
  isBase64Encoded: false
})
