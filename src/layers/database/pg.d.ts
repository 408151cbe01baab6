/**
 * The parts of node-postgres (`pg`, a direct dependency that ships no types) that the bench's
 * plain baselines use. The app itself no longer does: @effect/sql-pg 4 speaks the protocol itself
 * (./bounded.ts). Only what is used is declared; the names and shapes are pg 8's.
 */
declare module "pg" {
  export interface QueryResult<R> {
    rows: Array<R>
  }
  export interface PoolConfig {
    connectionString?: string | undefined
    ssl?: boolean | undefined
    max?: number | undefined
    idleTimeoutMillis?: number | undefined
    connectionTimeoutMillis?: number | undefined
    application_name?: string | undefined
    /** Sent in the startup message: the session's own `statement_timeout` (ms). */
    statement_timeout?: number | undefined
    /** Sent in the startup message: the session's own `lock_timeout` (ms). */
    lock_timeout?: number | undefined
    /** Client side: a query whose answer has not come after this (ms) fails with "Query read timeout". */
    query_timeout?: number | undefined
  }
  export class Client {
    end(): Promise<void>
  }
  export class Pool {
    constructor(config: PoolConfig)
    query<R = Record<string, unknown>>(text: string, values?: ReadonlyArray<unknown>): Promise<QueryResult<R>>
    end(): Promise<void>
    /** Emitted as a client goes back to the pool, before the pool decides to keep or discard it. */
    on(event: "release", listener: (error: Error | undefined, client: Client) => void): this
    on(event: "error", listener: (error: Error) => void): this
  }
  const pg: { Pool: typeof Pool; Client: typeof Client }
  export default pg
}
