/**
 * The few parts of two untyped packages the bench uses: autocannon (a devDependency without
 * types) and pg (installed with @effect/sql-pg; the plain baselines talk to it directly).
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

declare module "pg" {
  export interface QueryResult<R> {
    rows: Array<R>
  }
  export interface PoolConfig {
    connectionString: string
    max?: number
  }
  export class Pool {
    constructor(config: PoolConfig)
    query<R = Record<string, unknown>>(text: string, values?: ReadonlyArray<unknown>): Promise<QueryResult<R>>
    end(): Promise<void>
  }
  const pg: { Pool: typeof Pool }
  export default pg
}
