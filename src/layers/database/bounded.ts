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
 *   http/errors.ts for the SqlError that effect/sql's commit and rollback turn into defects). The
 *   bound sits on the statement and not on the whole request because only the statement is
 *   database work: a chat request waits a minute on the LLM, an upload on storage. A request that
 *   meets a stalled database fails at its first statement, so it answers within one bound.
 *   The interruption of the abandoned statement (sql-pg sends a CancelRequest on a socket of its
 *   own, which a paused server does not answer either, then drains the connection for up to 5 s)
 *   runs on a detached fiber: the caller does not wait for it.
 * - The pool never hands out a connection that is still busy: an abandoned statement keeps its
 *   connection until sql-pg has cancelled and drained it, and sql-pg closes a connection it
 *   cannot drain (a stalled server) rather than return it. A transaction whose statement was
 *   abandoned is not sent a ROLLBACK that would queue behind the same stalled statement: its
 *   connection is pinned, and sql-pg closes a pinned connection released with work outstanding
 *   or in an aborted transaction (closing the session rolls it back server side).
 *
 * The database circuit breaker (services/resilience.ts BreakerConfigs.database) wraps every
 * statement: outages (timeouts, lost connections, refused connections, server-side cancels) count
 * as failures, a constraint violation or a bad query does not. Open, a statement fails at once
 * without touching the pool; after its timeout trial statements go through, and enough successes
 * close it. It lives with the pool, one per process, so the job workers' statements both feed it
 * and are spared from hammering a database that is down; /ready's probe goes through it too and
 * reports the database down while it is open. /health never touches the database.
 */
import { PgClient, type PgConnection, type PgPool, PgTypes } from "@effect/sql-pg"
import { Duration, Effect, type Redacted, Result, Stream } from "effect"
import { SqlClient, Statement } from "effect/sql"
import type { Connection } from "effect/sql/SqlConnection"
import { ConnectionError, SqlError, UnknownError } from "effect/sql/SqlError"
import type { DatabaseSettings } from "../../config/database.js"
import type { CircuitBreaker } from "../../services/resilience.js"

/** How much longer than the server's own `statement_timeout` the app waits before giving up. */
export const CLIENT_SLACK = Duration.seconds(1)

/** The client-side bound of one statement (acquisition included). */
export const statementBound = (settings: Pick<DatabaseSettings, "statementTimeout">): Duration.Duration =>
  Duration.sum(settings.statementTimeout, CLIENT_SLACK)

/** An int8 parameter from what callers pass (a number, a numeric string, a bigint). */
const toInt8 = (value: unknown): unknown => {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value)
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value)
  return value
}

/**
 * int8 (bigint, count(*), sequences) read as decimal text, as node-postgres did and as every
 * row schema of ours expects (a JS number cannot hold every int8); sql-pg 4 would give a bigint.
 */
export const pgTypes = (): PgTypes.Registry => {
  const registry = PgTypes.makeRegistry()
  registry.register<unknown>(
    PgTypes.OID.int8,
    {
      encode: (value) => PgTypes.encode(toInt8(value), PgTypes.OID.int8),
      decode: (bytes) => Result.map(PgTypes.decode(bytes, PgTypes.OID.int8, 1), String)
    },
    { arrayOid: PgTypes.OID.int8Array }
  )
  return registry
}

/**
 * The pool options for one URL with the architecture's limits: the session settings go in every
 * connection's startup message (sql-pg 4 has no `pg` pool to hand them to), and waiting for a
 * pooled connection is bounded by the connect timeout, as node-postgres' `connectionTimeoutMillis`
 * bounded it.
 */
export const poolOptions = (
  url: Redacted.Redacted<string>,
  settings: DatabaseSettings,
  applicationName: string,
  options: { readonly sessionBounds?: boolean } = {}
): PgClient.PgPoolConfig => ({
  url,
  ssl: settings.ssl,
  maxConnections: settings.maxConnections,
  idleTimeout: settings.idleTimeout,
  connectTimeout: settings.connectTimeout,
  acquireTimeout: settings.connectTimeout,
  applicationName,
  types: pgTypes(),
  ...(options.sessionBounds === false
    ? {}
    : {
      startupParameters: {
        statement_timeout: String(Duration.toMillis(settings.statementTimeout)),
        lock_timeout: String(Duration.toMillis(settings.lockTimeout))
      }
    })
})

/** The cause of a statement the app gave up on. */
export class StatementAbandoned extends Error {
  constructor(bound: Duration.Duration) {
    super(`no answer from the database within ${Duration.format(bound)}`)
    this.name = "StatementAbandoned"
  }
}

/** A failure that never reached the server's answer (our own bounds, the breaker). */
const connectionFailure = (cause: unknown, message: string) =>
  new SqlError({ reason: new ConnectionError({ cause, message }) })

/**
 * `run` on a detached fiber, waited for at most `bound`: past it the caller fails at once with
 * `onTimeout()` while the statement is interrupted (cancelled, drained) in the background. An
 * interrupted caller leaves it to the background too. sql-pg 4 interrupts a statement by a cancel
 * and a drain that a stalled server holds up to 5 s; a plain `Effect.timeout` would wait for that.
 */
export const detachedTimeout = <A>(
  run: Effect.Effect<A, SqlError>,
  bound: Duration.Input,
  onTimeout: () => SqlError
): Effect.Effect<A, SqlError> => {
  const duration = Duration.fromInputUnsafe(bound)
  // Two detached fibers, the statement and its timer (a sleep on the Clock, so TestClock drives
  // it), and whichever ends first answers the caller; the other is interrupted in the background.
  // Measured per statement at 16 concurrent ones, this cost ~25 µs of CPU less than joining the
  // statement under Effect.timeoutOrElse (which races two more fibers).
  return Effect.clockWith((clock) =>
    // The failure travels as a value: the detached fiber does not report it as unhandled.
    Effect.flatMap(Effect.forkDetach(Effect.result(Effect.interruptible(run)), { startImmediately: true }), (statement) =>
      Effect.flatMap(Effect.forkDetach(clock.sleep(duration), { startImmediately: true }), (timer) =>
        Effect.callback<A, SqlError>((resume) => {
          let done = false
          let stopWatching = () => {}
          let stopTiming = () => {}
          const finish = (answer: Effect.Effect<A, SqlError>) => {
            if (done) return
            done = true
            stopWatching()
            stopTiming()
            resume(answer)
          }
          // (an observer added to a fiber that has already ended is called at once)
          // Answer first, then interrupt the other: an interruption can end a fiber (and call its
          // observer) synchronously, and the caller must get this answer, not that one.
          stopWatching = statement.addObserver((exit) => {
            // a failed exit here holds only interruption or a defect (failures are values)
            finish(exit._tag === "Success" ? Effect.fromResult(exit.value) : Effect.failCause(exit.cause))
            timer.interruptUnsafe()
          })
          if (!done) {
            stopTiming = timer.addObserver((exit) => {
              // an interrupted timer means the statement answered first
              if (exit._tag !== "Success") return
              finish(Effect.fail(onTimeout()))
              statement.interruptUnsafe()
            })
          } else {
            timer.interruptUnsafe()
          }
          // The caller was interrupted: the statement and its timer end in the background.
          return Effect.sync(() => {
            if (done) return
            done = true
            stopWatching()
            stopTiming()
            timer.interruptUnsafe()
            statement.interruptUnsafe()
          })
        })
      )
    )
  )
}

/**
 * A server that cannot be reached fails start-up, within the connect timeout: v3's PgClient (and
 * our own pool) ran `SELECT 1` when built, sql-pg 4 builds without connecting and only the first
 * statement would fail.
 */
export const startupProbe = (select1: Effect.Effect<unknown, SqlError>, connectTimeout: Duration.Input) =>
  detachedTimeout(
    select1,
    connectTimeout,
    () => connectionFailure(new Error("Connection timed out"), "PgClient: Connection timed out")
  ).pipe(Effect.asVoid, Effect.withSpan("Database.startupProbe"))

const SQLSTATE = /^[0-9A-Z]{5}$/

/**
 * Whether a failed statement says the database is unavailable (the breaker counts it) rather
 * than that the statement was wrong (a constraint, a type, a serialization conflict, a missing
 * grant: neutral). sql-pg classifies the server's SQLSTATE into the error's `reason` (the driver's
 * error, with its `code`, is the reason's `cause`): a lost, refused or timed-out connection,
 * statement_timeout (57014) and lock_timeout (55P03) are outages; so are unclassified errors in
 * the classes 08 connection, 53 resources, 57 operator intervention, 58 system, XX internal, and
 * 25P03 (idle-in-transaction timeout), and unclassified errors that carry no SQLSTATE at all (they
 * never reached an answer), but not a COMMIT that only rolled back a transaction a caught failure
 * had already aborted.
 *
 * Bad credentials are not an outage (as in v3, where class 28 was neutral): sql-pg reports the
 * server's 28P01/28000 and its own refusals to authenticate (no password, an unsupported method,
 * a server that cannot prove itself) as AuthenticationError. That is a configuration error: it
 * must not open the breaker and have every caller told the database is down and to retry.
 */
export const isDatabaseOutage = (error: unknown): boolean => {
  if (!(error instanceof SqlError)) return false
  const reason = error.reason
  switch (reason._tag) {
    case "ConnectionError":
    case "StatementTimeoutError":
    case "LockTimeoutError":
      return true
    case "AuthenticationError":
      return false
    case "UnknownError": {
      if (reason.operation === "commit") return false
      const code = (reason.cause as { readonly code?: unknown } | undefined)?.code
      if (typeof code !== "string" || !SQLSTATE.test(code)) return true
      return ["08", "53", "57", "58", "XX"].includes(code.slice(0, 2)) || code === "55P03" || code === "25P03"
    }
    default:
      return false
  }
}

export interface BoundedClientOptions {
  readonly statementTimeout: Duration.Duration
  readonly breaker: CircuitBreaker
  readonly spanAttributes: ReadonlyArray<readonly [string, unknown]>
  readonly transformQueryNames: (name: string) => string
  readonly transformResultNames: (name: string) => string
  /** What the client reports as its `config` (the pool's options). */
  readonly config?: PgClient.PgClientConfig | undefined
}

type Transform = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

/** effect/sql's Connection over one of sql-pg's sessions (what PgClient.make does inside). */
const asConnection = (connection: PgConnection.PgConnection): Connection => {
  const rows = (sql: string, params: ReadonlyArray<unknown>, transform: Transform, prepare: boolean) =>
    Effect.map(connection.query(sql, params, prepare), (result) => transform ? transform(result.rows) : result.rows)
  return {
    execute: (sql, params, transform) => rows(sql, params, transform, true),
    executeRaw: (sql, params) => connection.query(sql, params),
    executeValues: (sql, params) => connection.queryValues(sql, params),
    executeValuesUnprepared: (sql, params) => connection.queryValues(sql, params, false),
    executeUnprepared: (sql, params, transform) => rows(sql, params, transform, false),
    executeStream: (sql, params, transform) => {
      const stream = connection.stream(sql, params)
      return transform ? Stream.mapArray(stream, (chunk) => transform(chunk) as typeof chunk) : stream
    }
  }
}

const PgJson = Statement.custom<PgClient.PgCustom>("PgJson")

/**
 * A PgClient whose statements go through the bounds above, on `pool`'s sessions. It is built with
 * effect/sql's own SqlClient.make (sql-pg offers no hook around a statement), with the compiler
 * and row transforms PgClient.make would use; LISTEN/NOTIFY take a session of the same pool.
 */
export const makeBoundedClient = (pool: PgPool.PgPool, options: BoundedClientOptions) =>
  Effect.gen(function* () {
    const bound = statementBound(options)
    const { breaker } = options
    const circuitOpen = (cause: unknown) => connectionFailure(cause, "The database circuit breaker is open: failing fast")
    const abandoned = () => connectionFailure(new StatementAbandoned(bound), "The database did not answer in time")

    /** Breaker, then a timeout the caller does not wait past (the abandoned work is interrupted in the background). */
    const guard = <A>(run: Effect.Effect<A, SqlError>, onAbandon?: () => void): Effect.Effect<A, SqlError> =>
      breaker
        .protect(
          // effect/sql runs BEGIN and COMMIT uninterruptibly: detachedTimeout still ends them.
          detachedTimeout(run, bound, () => {
            onAbandon?.()
            return abandoned()
          })
        )
        .pipe(Effect.catchTag("CircuitOpen", (open) => Effect.fail(circuitOpen(open))))

    /** One statement on a pooled session, taken for it and given back after it (acquisition inside the bound). */
    const onSession = <A>(f: (conn: Connection) => Effect.Effect<A, SqlError>) =>
      guard(Effect.scoped(Effect.flatMap(pool.get, (session) => f(asConnection(session)))))

    /** Outside a transaction: each statement takes a pooled connection, inside its own bound. */
    const perStatement: Connection = {
      execute: (sql, params, transform) => onSession((c) => c.execute(sql, params, transform)),
      executeRaw: (sql, params) => onSession((c) => c.executeRaw(sql, params)),
      executeValues: (sql, params) => onSession((c) => c.executeValues(sql, params)),
      executeValuesUnprepared: (sql, params) => onSession((c) => c.executeValuesUnprepared(sql, params)),
      executeUnprepared: (sql, params, transform) => onSession((c) => c.executeUnprepared(sql, params, transform)),
      // Not bounded (a cursor outlives any one call); nothing on the request path streams.
      executeStream: (sql, params, transform) =>
        Stream.unwrap(Effect.map(pool.get, (session) => asConnection(session).executeStream(sql, params, transform)))
    }

    /** Transaction connections whose statement was abandoned: no ROLLBACK for them (see isTransaction). */
    const done = new WeakSet<Connection>()

    /** A transaction's connection: once one of its statements is abandoned, it is done. */
    const inTransaction = (conn: Connection): Connection => {
      const self: Connection = {
        execute: (sql, params, transform) => bounded(conn.execute(sql, params, transform)),
        executeRaw: (sql, params) => bounded(conn.executeRaw(sql, params)),
        executeValues: (sql, params) => bounded(conn.executeValues(sql, params)),
        executeValuesUnprepared: (sql, params) => bounded(conn.executeValuesUnprepared(sql, params)),
        executeUnprepared: (sql, params, transform) => bounded(conn.executeUnprepared(sql, params, transform)),
        executeStream: (sql, params, transform) => conn.executeStream(sql, params, transform)
      }
      const bounded = <A>(run: Effect.Effect<A, SqlError>) =>
        Effect.suspend(() =>
          done.has(self)
            ? Effect.fail(connectionFailure(new StatementAbandoned(bound), "The transaction was abandoned"))
            : guard(run, () => done.add(self))
        )
      return self
    }

    // Taking a pooled connection proves nothing about the server (it may be idle in the pool), so
    // a transaction's acquisition can only count against the breaker, never for it. `reserve`
    // pins the session: released with a statement outstanding or in an aborted transaction,
    // sql-pg closes it instead of returning it to the pool.
    const transactionAcquirer = breaker
      .protectFailuresOnly(pool.reserve)
      .pipe(
        Effect.map((session) => inTransaction(asConnection(session))),
        Effect.catchTag("CircuitOpen", (open) => Effect.fail(circuitOpen(open)))
      )

    const client = yield* SqlClient.make({
      driver: "pg",
      acquirer: Effect.succeed(perStatement),
      transactionAcquirer,
      compiler: PgClient.makeCompiler(options.transformQueryNames),
      spanAttributes: options.spanAttributes,
      transformRows: Statement.defaultTransforms(options.transformResultNames).array,
      // As PgClient.make: PostgreSQL prepares transaction control like anything else…
      prepareTransactionControls: true,
      // …answers COMMIT with ROLLBACK when the transaction was aborted…
      commit: (conn) =>
        Effect.flatMap(conn.executeRaw("COMMIT", []), (result) =>
          (result as { readonly command?: string }).command === "ROLLBACK"
            ? Effect.fail(
              new SqlError({
                reason: new UnknownError({
                  cause: new Error("COMMIT rolled back an aborted transaction"),
                  message: "PgClient: COMMIT rolled back an aborted transaction",
                  operation: "commit"
                })
              })
            )
            : Effect.void),
      onCommitFailure: (conn) => Effect.ignore(conn.executeUnprepared("ROLLBACK", [], undefined)),
      // …and a transaction whose statement was abandoned gets no ROLLBACK: it would only queue
      // behind the statement that stalled (or fail, and become a defect). Its session is closed
      // on release, which rolls it back.
      isTransaction: (conn) => !done.has(conn),
      releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`
    })
    const extras: Pick<PgClient.PgClient, typeof PgClient.TypeId | "config" | "json" | "listen" | "notify" | "poolStats"> = {
      [PgClient.TypeId]: PgClient.TypeId,
      config: options.config ?? pool.config,
      json: (value) => Statement.fragment([PgJson(value, undefined, undefined)]),
      listen: (channel) => Effect.flatMap(pool.reserve, (session) => session.listen(channel)),
      notify: (channel, payload) =>
        Effect.asVoid(guard(Effect.scoped(Effect.flatMap(pool.get, (session) => session.query("SELECT pg_notify($1, $2)", [channel, payload]))))),
      poolStats: pool.stats
    }
    return Object.assign(client, extras) as PgClient.PgClient & SqlClient.SqlClient
  })
