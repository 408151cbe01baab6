/**
 * The parts of autocannon (a devDependency without types) the bench uses. pg's are declared
 * beside the pool that uses them (src/layers/database/pg.d.ts); the plain baselines use them too.
 */
declare module "autocannon" {
  import type { IncomingHttpHeaders } from "node:http"

  export interface Request {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string
  }

  export interface Options {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    timeout?: number
    /** Requests per second offered by all connections together (a fixed rate instead of saturation). */
    overallRate?: number
    requests?: Array<Request & { setupRequest?: (request: Request) => Request }>
  }

  export interface Histogram {
    average: number
    mean: number
    p50: number
    p90: number
    p99: number
    max: number
    total: number
  }

  export interface Result {
    requests: Histogram & { sent: number }
    latency: Histogram
    throughput: Histogram
    errors: number
    timeouts: number
    non2xx: number
    duration: number
    "2xx": number
    statusCodeStats: Record<string, { count: number }>
  }

  export type ResponseHeaders = IncomingHttpHeaders

  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
