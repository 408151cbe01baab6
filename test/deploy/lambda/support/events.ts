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

/** A function URL's host name (`<url-id>.lambda-url.<region>.on.aws`). */
export const FUNCTION_URL_HOST = "t3kbwqxd4l5fjn2yvsyhgkzyea0rhmqz.lambda-url.eu-west-1.on.aws"

/**
 * A request from the app through CloudFront to the stream function's URL (payload 2.0), as it
 * arrives with origin access control: CloudFront's SigV4 signature in `authorization` (and its
 * signing headers), the caller identity Lambda checked in `authorizer.iam`, an edge server as the
 * source address. `headers` are added to those (the edge's copies of the client's, typically).
 */
export const functionUrlEvent = (
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: string
): APIGatewayProxyEventV2 => {
  const event = {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "",
    headers: {
      host: FUNCTION_URL_HOST,
      "user-agent": "Serenya/1.0 (iOS)",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      authorization:
        "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE00/20261207/eu-west-1/lambda/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=0f5e",
      "x-amz-date": "20261207T090000Z",
      "x-amz-security-token": "IQoJb3JpZ2luX2VjEXAMPLE",
      "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      ...headers
    },
    requestContext: {
      accountId: "123456789012",
      apiId: FUNCTION_URL_HOST.split(".")[0]!,
      authorizer: {
        iam: {
          accessKey: "ASIAEXAMPLEEXAMPLE00",
          accountId: "123456789012",
          callerId: "AROAEXAMPLE:CloudFront",
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: "arn:aws:sts::123456789012:assumed-role/CloudFrontOriginAccessControl/CloudFront",
          userId: "AROAEXAMPLE:CloudFront"
        }
      },
      domainName: FUNCTION_URL_HOST,
      domainPrefix: FUNCTION_URL_HOST.split(".")[0]!,
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "130.176.16.80", userAgent: "Amazon CloudFront" },
      requestId: "4d3a2b1c-0000-4000-8000-000000000001",
      routeKey: "$default",
      stage: "$default",
      time: "07/Dec/2026:09:00:00 +0000",
      timeEpoch: 1_796_634_000_000
    },
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body })
  }
  return event as APIGatewayProxyEventV2
}
