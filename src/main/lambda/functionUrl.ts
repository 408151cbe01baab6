/**
 * Lambda function URL events (payload 2.0, the shape API Gateway's HTTP API sends) as they reach
 * the streaming function through CloudFront with origin access control (deploy/lambda/infra/edge.ts).
 *
 * The URL's auth type is AWS_IAM and CloudFront signs every origin request with SigV4 in the
 * `Authorization` header, which overwrites the client's `Authorization: Bearer …`. So a CloudFront
 * Function on viewer request copies the client's header to EDGE_AUTHORIZATION_HEADER (and the
 * address of the viewer it saw to EDGE_VIEWER_ADDRESS_HEADER), always overwriting whatever the
 * client sent under those names; here, before the app sees the request, the bearer token goes back
 * to `Authorization` and CloudFront's signature and signing headers are dropped.
 *
 * Only for an event that came through the function URL, which nothing but that distribution may
 * invoke (its resource policy names the distribution): anywhere else the two headers are removed
 * and never believed.
 */
import type { APIGatewayProxyEventV2, LambdaFunctionURLEventWithIAMAuthorizer } from "aws-lambda"

/** The client's `Authorization`, copied by the edge before CloudFront's signature replaces it. */
export const EDGE_AUTHORIZATION_HEADER = "x-serenya-authorization"

/** The viewer's address as CloudFront saw it (`event.viewer.ip`), written by the edge. */
export const EDGE_VIEWER_ADDRESS_HEADER = "x-serenya-viewer-address"

/** What CloudFront's SigV4 signing adds to the origin request besides `Authorization`: never the app's business. */
export const SIGNING_HEADERS: ReadonlyArray<string> = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]

/** A function URL's host name: `<url-id>.lambda-url.<region>.on.aws`. */
const FUNCTION_URL_HOST = /^[a-z0-9]+\.lambda-url\.[a-z0-9-]+\.on\.aws$/

export type FunctionUrlEvent = APIGatewayProxyEventV2 | LambdaFunctionURLEventWithIAMAuthorizer

/**
 * Whether the event came through an AWS_IAM function URL: the URL's host name, and the signed
 * caller's identity that Lambda puts in `authorizer.iam` once it has checked the signature.
 */
export const throughFunctionUrl = (event: FunctionUrlEvent): boolean => {
  const context = event.requestContext as Partial<LambdaFunctionURLEventWithIAMAuthorizer["requestContext"]> | undefined
  return FUNCTION_URL_HOST.test(context?.domainName ?? "") && context?.authorizer?.iam !== undefined
}

export interface EdgeRequest {
  /** The event with the client's own headers back, and the edge's and CloudFront's signing headers gone. */
  readonly event: APIGatewayProxyEventV2
  /** The client's address: the viewer CloudFront saw (or, without it, the connection's source). */
  readonly peer: string | undefined
}

/** The event as the app must see it (see the module comment). */
export const fromEdge = (event: FunctionUrlEvent): EdgeRequest => {
  const trusted = throughFunctionUrl(event)
  const headers: Record<string, string | undefined> = { ...event.headers }
  const copied = headers[EDGE_AUTHORIZATION_HEADER]
  const viewer = headers[EDGE_VIEWER_ADDRESS_HEADER]
  delete headers[EDGE_AUTHORIZATION_HEADER]
  delete headers[EDGE_VIEWER_ADDRESS_HEADER]
  if (trusted) {
    // CloudFront's signature (or nothing): replaced by the client's own header, or removed.
    delete headers.authorization
    for (const name of SIGNING_HEADERS) delete headers[name]
    if (copied !== undefined && copied !== "") headers.authorization = copied
  }
  const sourceIp = event.requestContext?.http?.sourceIp
  const source = sourceIp === undefined || sourceIp === "" ? undefined : sourceIp
  const peer = trusted && viewer !== undefined && viewer !== "" ? viewer : source
  return { event: { ...event, headers }, peer }
}
