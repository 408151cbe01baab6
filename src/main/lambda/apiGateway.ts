/**
 * API Gateway HTTP API (payload format 2.0) events as web Requests, and web Responses as the
 * results API Gateway expects. The gateway has already joined repeated headers with commas and
 * moved cookies into their own array; a response's Set-Cookie headers go back into `cookies`.
 *
 * Who the client is: `requestContext.http.sourceIp`, never a header (see `sourceAddressOf`).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda"
import { sampledXRayContext, traceparentOf } from "../../services/xray.js"

const TEXTUAL = /^(text\/|application\/(json|[\w.+-]+\+json|xml|[\w.+-]+\+xml|javascript|x-www-form-urlencoded|problem\+json))/i

/**
 * The request as the app sees it. `invocationTrace` is the invocation's X-Ray header (Lambda's
 * `_X_AMZN_TRACE_ID`: its own segment when active tracing is on): when the request carries no W3C
 * traceparent of its own, the request's server span becomes a child of that segment (or of the
 * request's X-Amzn-Trace-Id, when it names a parent), so X-Ray shows one trace from the gateway
 * through the function into our spans. Only a sampled X-Ray context is continued (sampledXRayContext).
 */
export const toWebRequest = (event: APIGatewayProxyEventV2, invocationTrace?: string): Request => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers.set(name, value)
  }
  if (!headers.has("traceparent")) {
    const xray = sampledXRayContext(invocationTrace) ?? sampledXRayContext(headers.get("x-amzn-trace-id") ?? undefined)
    if (xray !== undefined) headers.set("traceparent", traceparentOf(xray))
  }
  if (event.cookies !== undefined && event.cookies.length > 0) headers.set("cookie", event.cookies.join("; "))

  const method = (event.requestContext?.http?.method ?? "GET").toUpperCase()
  const host = headers.get("host") ?? event.requestContext?.domainName ?? "lambda.local"
  const query = event.rawQueryString !== undefined && event.rawQueryString !== "" ? `?${event.rawQueryString}` : ""
  const url = `https://${host}${event.rawPath ?? "/"}${query}`

  const hasBody = method !== "GET" && method !== "HEAD" && event.body !== undefined && event.body !== null
  const body = hasBody ? (event.isBase64Encoded ? Buffer.from(event.body!, "base64") : Buffer.from(event.body!, "utf8")) : undefined
  if (body !== undefined) headers.set("content-length", String(body.byteLength))
  return new Request(url, body === undefined ? { method, headers } : { method, headers, body })
}

/**
 * The client's address as the last hop we trust saw it, standing in for the socket peer a server
 * would have (Lambda has none). The chain is viewer → CloudFront → API Gateway → Lambda: CloudFront
 * appends the address of the viewer that connected to it to X-Forwarded-For, and API Gateway
 * takes `sourceIp` from that entry (the one CloudFront wrote), never from what lies to its left,
 * which the client wrote. So the stack sets TRUSTED_PROXY_HOPS=0: the client address is this
 * value and X-Forwarded-For is not read at all — a client-sent header can never choose its own
 * rate-limit bucket or audit address. (Kubernetes differs: its peer is the ALB, one hop.)
 */
export const sourceAddressOf = (event: APIGatewayProxyEventV2): string | undefined => {
  const sourceIp = event.requestContext?.http?.sourceIp
  return sourceIp === undefined || sourceIp === "" ? undefined : sourceIp
}

export const fromWebResponse = async (response: Response): Promise<APIGatewayProxyStructuredResultV2> => {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value
  })
  const cookies = response.headers.getSetCookie()
  const bytes = Buffer.from(await response.arrayBuffer())
  const contentType = response.headers.get("content-type") ?? ""
  const textual = bytes.byteLength === 0 || TEXTUAL.test(contentType)
  return {
    statusCode: response.status,
    headers,
    ...(cookies.length > 0 ? { cookies } : {}),
    body: textual ? bytes.toString("utf8") : bytes.toString("base64"),
    isBase64Encoded: !textual
  }
}
