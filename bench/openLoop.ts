/**
 * Latency at a fixed offered rate, with arrivals evenly spaced: request n is due at
 * start + n / rate whatever became of the ones before (an open loop), and its latency is counted
 * from that due time, not from when a socket was free to send it — so a server that falls behind
 * shows the queue it builds instead of hiding it (the "coordinated omission" of closed-loop
 * tools). At most `connections` requests are in flight over keep-alive sockets; a request due
 * while all are busy waits in the agent's queue and that wait is part of its latency.
 *
 * Why not autocannon's `overallRate`: it gives each connection its share per second and the
 * connection sends that share back to back at the start of every second, so the load arrives in
 * bursts of ~all connections at once and p99 measures the burst, not the server at that rate.
 * Debian's wrk is closed-loop too (wrk2 is not packaged), hence these few lines.
 */
import * as http from "node:http"
import { performance } from "node:perf_hooks"

export interface OpenLoopRequest {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: string
}

export interface OpenLoopResult {
  readonly offered: number
  readonly achieved: number
  readonly requests: number
  readonly non2xx: number
  readonly errors: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!

export const openLoop = async (options: {
  readonly port: number
  readonly rate: number
  readonly seconds: number
  readonly connections: number
  readonly next: () => OpenLoopRequest
  /** A request not answered within this many ms counts as an error (default 10 s). */
  readonly timeoutMs?: number
}): Promise<OpenLoopResult> => {
  const { port, rate, seconds, connections, next } = options
  const timeoutMs = options.timeoutMs ?? 10_000
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const total = Math.max(1, Math.round(rate * seconds))
  const latencies: Array<number> = []
  let non2xx = 0
  let errors = 0
  let settled = 0
  let sent = 0
  const start = performance.now()
  const dueOf = (n: number) => start + (n * 1000) / rate

  try {
    await new Promise<void>((resolve) => {
      const done = () => {
        if (++settled === total) resolve()
      }
      const fire = (due: number) => {
        const request = next()
        const req = http.request(
          { host: "127.0.0.1", port, method: request.method, path: request.path, headers: request.headers, agent, timeout: timeoutMs },
          (response) => {
            response.resume()
            response.on("end", () => {
              latencies.push(performance.now() - due)
              if ((response.statusCode ?? 0) < 200 || (response.statusCode ?? 0) >= 300) non2xx++
              done()
            })
            response.on("error", () => {
              errors++
              done()
            })
          }
        )
        req.on("timeout", () => req.destroy(new Error("timeout")))
        req.on("error", () => {
          errors++
          done()
        })
        req.end(request.body)
      }
      const tick = () => {
        const now = performance.now()
        while (sent < total && dueOf(sent) <= now) fire(dueOf(sent++))
        if (sent < total) setTimeout(tick, Math.max(0, dueOf(sent) - performance.now()))
      }
      tick()
    })
  } finally {
    agent.destroy()
  }
  const elapsed = (performance.now() - start) / 1000
  const sorted = latencies.sort((a, b) => a - b)
  const round = (ms: number) => Math.round(ms * 10) / 10
  return {
    offered: rate,
    achieved: latencies.length / Math.max(elapsed, seconds),
    requests: latencies.length,
    non2xx,
    errors,
    p50Ms: round(quantile(sorted, 0.5)),
    p99Ms: round(quantile(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN)
  }
}
