/**
 * The fixed-rate load generator (bench/openLoop.ts): it offers exactly rate × seconds requests,
 * counts a slow server's queue in the latency (from each request's due time, not its send time),
 * and never has more than `connections` in flight.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { openLoop, quantile } from "../../bench/openLoop.js"

const servers: Array<http.Server> = []
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve))
})

/** A server answering every request after `delayMs`, recording how many were in flight at most. */
const slowServer = async (delayMs: number, status = 200) => {
  const seen = { requests: 0, inFlight: 0, maxInFlight: 0, paths: new Set<string>() }
  const server = http.createServer((request, response) => {
    seen.requests++
    seen.paths.add(request.url ?? "")
    seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight)
    setTimeout(() => {
      seen.inFlight--
      response.writeHead(status).end("{}")
    }, delayMs)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { port: (server.address() as AddressInfo).port, seen }
}

describe("openLoop", () => {
  it("offers rate × seconds requests, each from the generator, at most `connections` at once", async () => {
    const { port, seen } = await slowServer(5)
    let n = 0
    const result = await openLoop({ port, rate: 100, seconds: 0.5, connections: 4, next: () => ({ method: "GET", path: `/r/${n++}`, headers: {} }) })
    expect(result.requests).toBe(50)
    expect(seen.requests).toBe(50)
    expect(seen.paths.size).toBe(50)
    expect(seen.maxInFlight).toBeLessThanOrEqual(4)
    expect(result.errors + result.non2xx).toBe(0)
  })

  it("counts the queue a slow server builds: latency runs from the due time, not the send time", async () => {
    // One connection, 40 ms per answer, 100 requests due within 1 s: they take ≥ 4 s to serve, so
    // the last ones wait ~3 s. A closed-loop tool would report ~40 ms for every one of them.
    const { port } = await slowServer(40)
    const result = await openLoop({ port, rate: 100, seconds: 1, connections: 1, next: () => ({ method: "GET", path: "/", headers: {} }) })
    expect(result.requests).toBe(100)
    expect(result.p99Ms).toBeGreaterThan(2_000)
    expect(result.achieved).toBeLessThan(50)
  })

  it("counts non-2xx answers and refused connections", async () => {
    const { port } = await slowServer(1, 503)
    const failing = await openLoop({ port, rate: 50, seconds: 0.2, connections: 2, next: () => ({ method: "GET", path: "/", headers: {} }) })
    expect(failing.non2xx).toBe(10)
    const closed = servers.pop()!
    await new Promise((resolve) => closed.close(resolve))
    const refused = await openLoop({ port, rate: 50, seconds: 0.2, connections: 2, next: () => ({ method: "GET", path: "/", headers: {} }) })
    expect(refused.errors).toBe(10)
    expect(refused.requests).toBe(0)
  })

  it("quantile is the nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(quantile(values, 0.5)).toBe(50)
    expect(quantile(values, 0.99)).toBe(99)
    expect(quantile(values, 1)).toBe(100)
    expect(quantile([7], 0.99)).toBe(7)
    expect(quantile([], 0.5)).toBeNaN()
  })
})
