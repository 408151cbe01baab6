/** Which address is the client's: the socket peer, or a trusted proxy's view in X-Forwarded-For. */
import type { HttpServerRequest } from "effect/http"
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import fc from "fast-check"
import { isIP } from "node:net"
import { clientAddress } from "../../src/http/clientAddress.js"

// Only the two fields clientAddress reads.
const request = (peer: string | undefined, forwardedFor?: string | Array<string>) =>
  ({
    remoteAddress: Option.fromNullishOr(peer),
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }
  }) as unknown as HttpServerRequest.HttpServerRequest

describe("clientAddress", () => {
  it("without trusted proxies is the socket peer, whatever X-Forwarded-For claims", () => {
    expect(clientAddress(request("10.0.0.5", "203.0.113.7"), 0)).toEqual(Option.some("10.0.0.5"))
    expect(clientAddress(request(undefined, "203.0.113.7"), 0)).toEqual(Option.none())
  })

  it("behind one load balancer is the address it appended; what the client wrote further left is ignored", () => {
    expect(clientAddress(request("10.0.0.5", "203.0.113.7"), 1)).toEqual(Option.some("203.0.113.7"))
    expect(clientAddress(request("10.0.0.5", "1.2.3.4, 203.0.113.7"), 1)).toEqual(Option.some("203.0.113.7"))
    expect(clientAddress(request("10.0.0.5", ["1.2.3.4", "203.0.113.7"]), 1)).toEqual(Option.some("203.0.113.7"))
  })

  it("behind two proxies counts two from the right; ports and brackets are unwrapped, case folded", () => {
    expect(clientAddress(request("10.0.0.5", "6.6.6.6, 198.51.100.9:51234, 130.176.1.1"), 2)).toEqual(Option.some("198.51.100.9"))
    expect(clientAddress(request("10.0.0.5", "[2001:DB8::1]:443, 130.176.1.1"), 2)).toEqual(Option.some("2001:db8::1"))
  })

  it("a chain shorter than the trusted hops gives its leftmost entry; an entry that is no IP gives the peer", () => {
    expect(clientAddress(request("10.0.0.5"), 2)).toEqual(Option.some("10.0.0.5"))
    expect(clientAddress(request("10.0.0.5", "not-an-ip"), 1)).toEqual(Option.some("10.0.0.5"))
    expect(clientAddress(request("10.0.0.5", "<script>, 203.0.113.7"), 2)).toEqual(Option.some("10.0.0.5"))
  })

  it("property: whatever the client sends, the answer is an IP literal or the peer, and the client cannot choose it behind N proxies", () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."))
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 40 }), ipv4), { maxLength: 6 }),
        fc.array(ipv4, { minLength: 1, maxLength: 3 }),
        ipv4,
        (clientWritten, appendedByProxies, peer) => {
          const hops = appendedByProxies.length
          const header = [...clientWritten, ...appendedByProxies].join(", ")
          const found = clientAddress(request(peer, header), hops)
          expect(Option.isSome(found)).toBe(true)
          expect(isIP(Option.getOrThrow(found))).not.toBe(0)
          // The first proxy appended the address it saw: that is the answer, never a client-written one.
          expect(Option.getOrThrow(found)).toBe(appendedByProxies[0])
        }
      ),
      { numRuns: 500 }
    )
  })
})
