/**
 * The app's database client, bounded: no statement waits without limit, and a database that is
 * down is failed fast instead of queued on.
 *
 * Three layers of bounds, because each covers what the others cannot:
 * - Server side, every session starts with `statement_timeout` and `lock_timeout` (sent in the
 *   startup message, so they hold for every statement of the session whatever role or URL it
 *   connects with, and no `ALTER ROLE` is needed). PostgreSQL cancels the statement itself and
 *   the connection stays clean: the normal path for a slow query or a lock held too long.
 * - Client side, an Effect timeout a second longer around every statement, pool acquisition
 *   included. It is what answers when the server cannot (paused, partitioned, a socket that went
 *   silent): the statement fails with a SqlError, which the request path already renders as 503
 *   DATABASE_UNAVAILABLE with Retry-After (services/database.ts orDatabaseUnavailable, and
 *   http/errors.ts for the SqlError that @effect/sql's commit and rollback turn into defects). The
 *   bound sits on the statement and not on the whole request because only the statement is
 *   database work: a chat request waits a minute on the LLM, an upload on storage. A request that
 *   meets a stalled database fails at its first statement, so it answers within one bound.
 *   The interruption of the abandoned statement (sql-pg sends pg_cancel_backend over another
 *   connection, which a paused server does not answer either) runs in the background
 *   (Effect.disconnect): the caller does not wait for it.
 * - The pool never hands out a connection that is still busy: a client released while a query
 *   is in flight on it (an abandoned statement) is closed, not reused, so the next request does
 *   not queue behind a statement nobody waits for. A transaction whose statement was abandoned is
 *   closed too (closing the session rolls it back server side) instead of being sent a ROLLBACK
 *   that would queue behind the same stalled statement. `query_timeout` is the driver's own last
 *   resort for queries no Effect can interrupt (sql-pg's cancel query).
 *
 * The database circuit breaker (services/resilience.ts BreakerConfigs.database) wraps every
 * statement: outages (timeouts, lost connections, refused connections, server-side cancels) count
 * as failures, a constraint violation or a bad query does not. Open, a statement fails at once
 * without touching the pool; after its timeout trial statements go through, and enough successes
 * close it. It lives with the pool, one per process, so the job workers' statements both feed it
 * and are spared from hammering a database that is down; /ready's probe goes through it too and
 * reports the database down while it is open. /health never touches the database.
 */
import { SqlClient } from "effect/sql"
import type { Connection } from "effect/sql/SqlConnection"
import { SqlError } from "effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Redacted, Stream } from "effect"
import pg from "pg"
import type { DatabaseSettings } from "../../config.js"
import type { CircuitBreaker } from "../../services/resilience.js"

/** How much longer than the server's own `statement_timeout` the app waits before giving up. */
export const CLIENT_SLACK = Duration.seconds(1)

/** The client-side bound of one statement (acquisition included). */
export const statementBound = (settings: Pick<DatabaseSettings, "statementTimeout">): Duration.Duration =>
  Duration.sum(settings.statementTimeout, CLIENT_SLACK)

/** Pool clients that must be closed when released (a transaction whose statement was abandoned). */
const discardOnRelease = new WeakSet<object>()

/**
 * Whether a query is still in flight on the client. node-postgres keeps this in fields of its
 * own (pg 8: `_activeQuery`, `_queryQueue`); the public `activeQuery` getter prints a deprecation
 * warning on first use. test/layers/database/bounded.test.ts fails if these ever stop telling.
 */
const busy = (client: object): boolean => {
  const internals = client as { readonly _activeQuery?: unknown; readonly _queryQueue?: ReadonlyArray<unknown> }
  return (internals._activeQuery !== undefined && internals._activeQuery !== null) || (internals._queryQueue?.length ?? 0) > 0
}

/** The pool, with the session settings and the release rule above; ended with its scope. */
export const makeBoundedPool = (url: Redacted.Redacted<string>, settings: DatabaseSettings, applicationName: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new pg.Pool({
        connectionString: Redacted.value(url),
        ssl: settings.ssl,
        max: settings.maxConnections,
        idleTimeoutMillis: Duration.toMillis(settings.idleTimeout),
        connectionTimeoutMillis: Duration.toMillis(settings.connectTimeout),
        application_name: applicationName,
        statement_timeout: Duration.toMillis(settings.statementTimeout),
        lock_timeout: Duration.toMillis(settings.lockTimeout),
        query_timeout: Duration.toMillis(Duration.sum(statementBound(settings), CLIENT_SLACK))
      })
      // An idle client's error: the pool has already dropped it (what sql-pg does too).
      pool.on("error", () => undefined)
      pool.on("release", (_error, client) => {
        // end() marks the client as ending at once, so the pool discards it instead of keeping
        // it; with a query in flight it destroys the socket rather than wait for an answer.
        if (discardOnRelease.has(client) || busy(client)) void client.end().catch(() => undefined)
      })
      return pool
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
  ).pipe(
    // As PgClient.make does: a server that cannot be reached fails start-up, within the connect timeout.
    Effect.tap((pool) =>
      Effect.tryPromise({
        try: () => pool.query("SELECT 1"),
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }).pipe(
        Effect.timeoutOrElse({
          duration: settings.connectTimeout,
          orElse: () => Effect.fail(new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" }))
        })
      )
    )
  )

/** The cause of a statement the app gave up on. */
export class StatementAbandoned extends Error {
  constructor(bound: Duration.Duration) {
    super(`no answer from the database within ${Duration.format(bound)}`)
    this.name = "StatementAbandoned"
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/

/**
 * Whether a failed statement says the database is unavailable (the breaker counts it) rather
 * than that the statement was wrong (a constraint, a type, a serialization conflict: neutral).
 * Errors the server sent carry a SQLSTATE and a severity; anything else (a refused or lost
 * connection, a pool or Effect timeout) never reached an answer.
 */
export const isDatabaseOutage = (error: unknown): boolean => {
  if (!(error instanceof SqlError)) return false
  const cause = error.cause as { readonly code?: unknown; readonly severity?: unknown } | undefined
  const code = cause?.code
  if (typeof code !== "string" || !SQLSTATE.test(code) || typeof cause?.severity !== "string") return true
  // 08 connection, 53 resources, 57 operator intervention (57014: statement_timeout, cancel),
  // 58 system, XX internal; 55P03: lock_timeout; 25P03: idle-in-transaction timeout.
  return ["08", "53", "57", "58", "XX"].includes(code.slice(0, 2)) || code === "55P03" || code === "25P03"
}

export interface BoundedClientOptions {
  readonly statementTimeout: Duration.Duration
  readonly breaker: CircuitBreaker
  readonly spanAttributes: ReadonlyArray<readonly [string, unknown]>
  readonly transformQueryNames: (name: string) => string
  readonly transformResultNames: (name: string) => string
}

/**
 * A PgClient whose statements go through the bounds above. It is built with @effect/sql's own
 * SqlClient.make on top of `inner`'s connections (sql-pg offers no hook around a statement), with
 * the same compiler and row transforms `inner` would use; LISTEN/NOTIFY are `inner`'s.
 */
export const makeBoundedClient = (inner: PgClient.PgClient, options: BoundedClientOptions) =>
  Effect.gen(function* () {
    const bound = statementBound(options)
    const { breaker } = options
    const circuitOpen = (cause: unknown) =>
      new SqlError({ cause, message: "The database circuit breaker is open: failing fast" })

    /** Breaker, then a timeout the caller does not wait past (the abandoned work is interrupted in the background). */
    const guard = <A>(run: Effect.Effect<A, SqlError>, onAbandon?: () => void): Effect.Effect<A, SqlError> =>
      breaker
        .protect(
          run.pipe(
            // @effect/sql runs BEGIN and COMMIT uninterruptibly: the timeout must still end them.
            Effect.interruptible,
            // The failure travels as a value: the detached fiber does not report it as unhandled.
            Effect.result,
            Effect.disconnect,
            Effect.timeoutOrElse({
              duration: bound,
              orElse: () => Effect.fail((() => {
                onAbandon?.()
                return new SqlError({ cause: new StatementAbandoned(bound), message: "The database did not answer in time" })
              })())
            }),
            Effect.flatMap((result) => result)
          )
        )
        .pipe(Effect.catchTag("CircuitOpen", (open) => Effect.fail(circuitOpen(open))))

    // Taken uninterruptibly: interrupted while waiting, sql-pg would lose the client the pool hands
    // it later (never released). The pool's connection timeout bounds the wait instead.
    const reserve = Effect.uninterruptible(inner.reserve)

    /** Outside a transaction: each statement takes a pooled connection, inside its own bound. */
    const perStatement: Connection = {
      execute: (sql, params, transform) => guard(Effect.scoped(Effect.flatMap(reserve, (c) => c.execute(sql, params, transform)))),
      executeRaw: (sql, params) => guard(Effect.scoped(Effect.flatMap(reserve, (c) => c.executeRaw(sql, params)))),
      executeValues: (sql, params) => guard(Effect.scoped(Effect.flatMap(reserve, (c) => c.executeValues(sql, params)))),
      executeUnprepared: (sql, params, transform) =>
        guard(Effect.scoped(Effect.flatMap(reserve, (c) => c.executeUnprepared(sql, params, transform)))),
      // Not bounded (a cursor outlives any one call); nothing on the request path streams.
      executeStream: (sql, params, transform) =>
        Stream.unwrap(Effect.map(reserve, (c) => c.executeStream(sql, params, transform)))
    }

    /** A transaction's connection: once one of its statements is abandoned, it is done. */
    const inTransaction = (conn: Connection): Connection => {
      let abandoned = false
      const abandon = () => {
        abandoned = true
        // sql-pg's transaction connection exposes its pool client; closing it on release rolls back.
        const client = (conn as { readonly pg?: unknown }).pg
        if (typeof client === "object" && client !== null) discardOnRelease.add(client)
      }
      const bounded = <A>(run: Effect.Effect<A, SqlError>) =>
        Effect.suspend(() =>
          abandoned
            ? Effect.fail(new SqlError({ cause: new StatementAbandoned(bound), message: "The transaction was abandoned" }))
            : guard(run, abandon)
        )
      return {
        execute: (sql, params, transform) => bounded(conn.execute(sql, params, transform)),
        executeRaw: (sql, params) => bounded(conn.executeRaw(sql, params)),
        executeValues: (sql, params) => bounded(conn.executeValues(sql, params)),
        executeUnprepared: (sql, params, transform) =>
          // The session is closed on release, which rolls the transaction back; a ROLLBACK sent now
          // would only queue behind the statement that stalled.
          abandoned && sql.startsWith("ROLLBACK") ? Effect.succeed([]) : bounded(conn.executeUnprepared(sql, params, transform)),
        executeStream: (sql, params, transform) => conn.executeStream(sql, params, transform)
      }
    }

    // Taking a pooled connection proves nothing about the server (it may be idle in the pool), so
    // a transaction's acquisition can only count against the breaker, never for it.
    const transactionAcquirer = breaker
      .protectFailuresOnly(reserve)
      .pipe(Effect.map(inTransaction), Effect.catchTag("CircuitOpen", (open) => Effect.fail(circuitOpen(open))))

    const client = yield* SqlClient.make({
      acquirer: Effect.succeed(perStatement),
      transactionAcquirer,
      compiler: PgClient.makeCompiler(options.transformQueryNames),
      spanAttributes: options.spanAttributes,
      transformRows: Statement.defaultTransforms(options.transformResultNames).array
    })
    const extras: Pick<PgClient.PgClient, typeof PgClient.TypeId | "config" | "json" | "listen" | "notify"> = {
      [PgClient.TypeId]: PgClient.TypeId,
      config: inner.config,
      json: inner.json,
      listen: inner.listen,
      notify: inner.notify
    }
    return Object.assign(client, extras) as PgClient.PgClient
  })
