/**
 * Who the client is on the network, for rate limits and the audit trail. Without proxies in
 * front (TRUSTED_PROXY_HOPS=0) it is the socket's peer, and X-Forwarded-For is ignored: anyone can
 * write that header. Behind N proxies we trust (a load balancer, CloudFront + API Gateway), each
 * appends the address it saw, so the client is the N-th address from the right of the chain
 * [X-Forwarded-For..., socket peer]; what lies further left was written by the client itself.
 */
import type { HttpServerRequest } from "effect/http"
import { Option } from "effect"
import { isIP } from "node:net"

const splitChain = (header: string | ReadonlyArray<string> | undefined): Array<string> =>
  (typeof header === "string" ? [header] : header ?? [])
    .flatMap((value) => value.split(","))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")

/** An IP literal from a chain entry (`[v6]:port` and `v4:port` forms are unwrapped), or none. */
const ipOf = (entry: string): Option.Option<string> => {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry)
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry)
  const candidate = bracketed?.[1] ?? v4WithPort?.[1] ?? entry
  return isIP(candidate) === 0 ? Option.none() : Option.some(candidate.toLowerCase())
}

export const clientAddress = (
  request: HttpServerRequest.HttpServerRequest,
  trustedProxyHops: number
): Option.Option<string> => {
  const peer = request.remoteAddress
  if (trustedProxyHops <= 0) return peer
  const chain = [...splitChain(request.headers["x-forwarded-for"]), ...Option.toArray(peer)]
  // Fewer entries than trusted hops: the request did not come through all of them; its leftmost is the best we know.
  const index = Math.max(0, chain.length - 1 - trustedProxyHops)
  const entry = chain[index]
  return entry === undefined ? peer : Option.orElse(ipOf(entry), () => peer)
}
