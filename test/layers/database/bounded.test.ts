/**
 * The bounded database client (src/layers/database/bounded.ts) on a real PostgreSQL: the session
 * settings, the database circuit breaker around every statement (on the TestClock), and a statement
 * the client gave up on never holding up the next one.
 */
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import {
  AuthenticationError,
  AuthorizationError,
  ConnectionError,
  ConstraintError,
  LockTimeoutError,
  SerializationError,
  SqlError,
  StatementTimeoutError,
  UniqueViolation,
  UnknownError
} from "effect/sql/SqlError"
import { PgClient, PgPool } from "@effect/sql-pg"
import { describe, expect, it, layer } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { TestClock } from "effect/testing"
import { detachedTimeout, isDatabaseOutage, makeBoundedClient, poolOptions, StatementAbandoned } from "../../../src/layers/database/bounded.js"
import { pgClientLayer } from "../../../src/layers/database/postgres.js"
import { BreakerConfigs } from "../../../src/services/resilience.js"
import { makeCircuitBreaker } from "../../../src/layers/resilience/circuitBreaker.js"
import { CircuitOpen } from "../../../src/services/errors.js"
import { OwnerSql, ownerUrlFor, scopedDatabase, TestDatabaseLive } from "../../support/database.js"
import { testSettings } from "../../support/settings.js"

/** A bounded pool on a fresh database of its own, with these settings. */
const boundedOn = (env: Record<string, string>) =>
  Layer.unwrap(
    // As the owner: these tests make their own tables, and are about bounds, not rights.
    Effect.map(scopedDatabase({ migrated: false }), ({ ownerUrl }) => pgClientLayer(ownerUrl, testSettings(env).database))
  ).pipe(Layer.orDie)

/** What a failed statement's reason carries: the driver's error, the breaker's CircuitOpen, our StatementAbandoned. */
const failureOf = <A>(effect: Effect.Effect<A, SqlError>) =>
  Effect.flip(effect).pipe(Effect.map((error) => error.reason.cause))

describe("session settings", () => {
  layer(TestDatabaseLive())((it) => {
    it.effect("every session of the app's pool has statement_timeout and lock_timeout (defaults 5 s and 2 s)", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // Each statement outside a transaction may take another pooled connection: ask several.
        const answers = yield* Effect.all(
          Array.from({ length: 4 }, () =>
            sql<{ statementTimeout: string; lockTimeout: string }>`
              SELECT current_setting('statement_timeout') AS statement_timeout,
                     current_setting('lock_timeout') AS lock_timeout`
          ),
          { concurrency: 4 }
        )
        for (const [row] of answers) expect(row).toEqual({ statementTimeout: "5s", lockTimeout: "2s" })
        // …and inside a transaction, on its reserved connection.
        const [inTx] = yield* sql.withTransaction(sql<{ statementTimeout: string }>`SHOW statement_timeout`)
        expect(inTx?.statementTimeout).toBe("5s")
      }))
  })
})

describe("the database circuit breaker", () => {
  layer(boundedOn({ DB_STATEMENT_TIMEOUT_MS: "200", DB_LOCK_TIMEOUT_MS: "100", DB_BREAKER_OPEN_MS: "15000" }))((it) => {
    it.effect("opens after 10 outage failures, then fails fast without a statement reaching the server; half-opens after its timeout and closes after 5 successes", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE SEQUENCE IF NOT EXISTS reached`
        // A constraint violation says nothing about the database's health: it never opens the breaker.
        yield* sql`CREATE TABLE IF NOT EXISTS once (id int PRIMARY KEY)`
        yield* sql`INSERT INTO once VALUES (1)`
        for (let i = 0; i < 12; i++) expect(Exit.isFailure(yield* Effect.exit(sql`INSERT INTO once VALUES (1)`))).toBe(true)
        expect((yield* sql<{ n: string }>`SELECT nextval('reached') AS n`)[0]?.n).toBe("1")

        // statement_timeout (200 ms) cancels each of these on the server: an outage failure.
        for (let i = 0; i < BreakerConfigs.database.failureThreshold; i++) {
          const cause = yield* failureOf(sql`SELECT pg_sleep(2)`)
          expect((cause as { code?: string }).code).toBe("57014")
        }
        // Open: the statement fails at once with the breaker as its cause and never runs.
        const open = yield* failureOf(sql`SELECT nextval('reached') AS n`)
        expect(open).toBeInstanceOf(CircuitOpen)
        expect(yield* failureOf(sql.withTransaction(sql`SELECT nextval('reached')`))).toBeInstanceOf(CircuitOpen)

        yield* TestClock.adjust("15 seconds")
        // Half-open: trial statements run; five successes close it again.
        for (let i = 0; i < BreakerConfigs.database.successThreshold; i++) {
          expect((yield* sql<{ n: string }>`SELECT nextval('reached') AS n`)[0]?.n).toBe(String(2 + i))
        }
        // Closed: one failure is one failure, not an open breaker.
        yield* failureOf(sql`SELECT pg_sleep(2)`)
        expect((yield* sql<{ n: string }>`SELECT nextval('reached') AS n`)[0]?.n).toBe("7")
      }))
  })
})

/** A failed statement as sql-pg reports it: the server's fields (SQLSTATE in `code`) are the reason's cause. */
const serverError = (code: string) => Object.assign(new Error(`server error ${code}`), { code, severity: "ERROR" })

describe("isDatabaseOutage", () => {
  it("a lost connection, statement_timeout, lock_timeout and unclassified server trouble are outages", () => {
    for (const error of [
      new SqlError({ reason: new ConnectionError({ cause: new Error("ECONNREFUSED") }) }),
      new SqlError({ reason: new StatementTimeoutError({ cause: serverError("57014") }) }),
      new SqlError({ reason: new LockTimeoutError({ cause: serverError("55P03") }) }),
      new SqlError({ reason: new UnknownError({ cause: serverError("53300") }) }),
      new SqlError({ reason: new UnknownError({ cause: serverError("57P01") }) }),
      new SqlError({ reason: new UnknownError({ cause: serverError("XX000") }) }),
      new SqlError({ reason: new UnknownError({ cause: serverError("25P03") }) }),
      new SqlError({ reason: new UnknownError({ cause: new Error("socket hang up") }) })
    ]) {
      expect(isDatabaseOutage(error), error.reason._tag).toBe(true)
    }
  })

  it("bad credentials are a configuration error, not an outage (as in v3): 28P01, 28000 and the client's own refusals", () => {
    for (const cause of [
      serverError("28P01"),
      serverError("28000"),
      new Error("The server requested password authentication")
    ]) {
      expect(isDatabaseOutage(new SqlError({ reason: new AuthenticationError({ cause, operation: "connect" }) }))).toBe(false)
    }
  })

  it("what the statement did wrong is neutral: constraints, grants, conflicts, a rolled-back COMMIT, non-SQL errors", () => {
    for (const error of [
      new SqlError({ reason: new UniqueViolation({ cause: serverError("23505"), constraint: "once_pkey" }) }),
      new SqlError({ reason: new ConstraintError({ cause: serverError("23514") }) }),
      new SqlError({ reason: new AuthorizationError({ cause: serverError("42501") }) }),
      new SqlError({ reason: new SerializationError({ cause: serverError("40001") }) }),
      new SqlError({ reason: new UnknownError({ cause: serverError("22P02") }) }),
      new SqlError({ reason: new UnknownError({ cause: new Error("rolled back"), operation: "commit" }) })
    ]) {
      expect(isDatabaseOutage(error), error.reason._tag).toBe(false)
    }
    expect(isDatabaseOutage(new Error("not a SqlError"))).toBe(false)
  })
})

describe("the database circuit breaker and bad credentials", () => {
  // A login of its own whose password the owner changes under the running pool: every new
  // session is then refused with 28P01, as after a rotation the deployment did not follow.
  const role = `test_login_${randomBytes(4).toString("hex")}`
  const password = randomBytes(12).toString("hex")
  const Client = Layer.unwrap(
    Effect.gen(function* () {
      const { name, ownerUrl } = yield* scopedDatabase({ migrated: false })
      const owner = yield* PgClient.make({ url: ownerUrl, maxConnections: 1 }).pipe(Effect.provide(Reactivity.layer))
      yield* Effect.acquireRelease(
        owner`CREATE ROLE ${owner(role)} LOGIN PASSWORD ${owner.literal(`'${password}'`)}`,
        () => owner`DROP ROLE IF EXISTS ${owner(role)}`.pipe(Effect.orDie)
      )
      const url = new URL(ownerUrlFor(name))
      url.username = role
      url.password = password
      return Layer.merge(
        pgClientLayer(Redacted.make(url.toString()), testSettings({ DB_POOL_MAX: "1" }).database),
        Layer.succeed(OwnerSql, owner)
      )
    })
  ).pipe(Layer.orDie)

  it.live("never opens: every statement reports the refused login (28P01), none fails fast as if the database were down", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const owner = yield* OwnerSql
      expect(yield* sql`SELECT 1 AS n`).toEqual([{ n: 1 }])
      yield* owner`ALTER ROLE ${owner(role)} PASSWORD ${owner.literal("'not-the-password'")}`
      yield* owner`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${role}`
      const reasons: Array<string> = []
      for (let i = 0; i < BreakerConfigs.database.failureThreshold + 3; i++) {
        const error = yield* Effect.flip(sql`SELECT 1 AS n`)
        expect(error.reason.cause).not.toBeInstanceOf(CircuitOpen)
        reasons.push(error.reason._tag)
      }
      // the session the owner terminated may be reported once, as a lost connection; then each new login is refused
      expect(reasons.slice(2)).toEqual(Array.from({ length: reasons.length - 2 }, () => "AuthenticationError"))
      const refused = yield* Effect.flip(sql`SELECT 1 AS n`)
      expect((refused.reason.cause as { code?: string }).code).toBe("28P01")
      expect(isDatabaseOutage(refused)).toBe(false)
      // once the password is right again, the very next statement runs: the breaker never opened
      yield* owner`ALTER ROLE ${owner(role)} PASSWORD ${owner.literal(`'${password}'`)}`
      expect(yield* sql`SELECT 1 AS n`).toEqual([{ n: 1 }])
    }).pipe(Effect.provide(Client)), 30_000)
})

describe("connections with an abandoned statement", () => {
  // The client gives up after 0.2 s + 1 s while the server would let the statement run 5 s (its
  // statement_timeout) of the 10 it asks for: the state a stalled server leaves behind. One
  // connection, so the next statement needs the very connection the abandoned one was on.
  const settings = testSettings({ DB_POOL_MAX: "1", DB_CONNECT_TIMEOUT_MS: "500" }).database
  const Client = Layer.unwrap(
    Effect.map(scopedDatabase({ migrated: false }), ({ ownerUrl }) =>
      PgClient.layerFrom(
        Effect.gen(function* () {
          const pool = yield* PgPool.make(poolOptions(ownerUrl, settings, "serenya-test"))
          return yield* makeBoundedClient(pool, {
            statementTimeout: Duration.millis(200),
            breaker: yield* makeCircuitBreaker(BreakerConfigs.database),
            spanAttributes: [],
            transformQueryNames: (name) => name,
            transformResultNames: (name) => name
          })
        })
      )
    )
  ).pipe(Layer.orDie)

  // sql-pg 4 cancels an interrupted statement itself (a CancelRequest on a socket of its own, so
  // even a pool of one can send it) and drains the connection before it goes back to the pool,
  // closing it when the drain stalls: the connection the next statement gets is never busy.
  it.live("are cancelled in the background, never lent busy to the next statement, which answers at once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const started = Date.now()
      const abandoned = yield* failureOf(sql`SELECT pg_sleep(10) FROM (SELECT pg_backend_pid()) AS p`)
      expect(abandoned).toBeInstanceOf(StatementAbandoned)
      // The caller did not wait for the cancel and drain…
      expect(Date.now() - started).toBeLessThan(5_000)
      // …and the next statement did not wait for the abandoned one (10 s) nor for the server's
      // statement_timeout (5 s): the pool's only connection was free again at once.
      const [next] = yield* sql<{ n: number }>`SELECT 1 AS n`
      expect(next?.n).toBe(1)
      expect(Date.now() - started).toBeLessThan(4_000)
      // Nothing is left running on the server.
      const running = yield* sql<{ n: string }>`
        SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(10)%' AND state = 'active'`
      expect(running[0]?.n).toBe("0")
    }).pipe(Effect.provide(Client)), 20_000)

  it.live("a transaction whose statement was abandoned fails within the bound and its connection is not reused", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE IF NOT EXISTS t (id int)`
      const [first] = yield* sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`
      const started = Date.now()
      const exit = yield* Effect.exit(
        sql.withTransaction(Effect.andThen(sql`INSERT INTO t VALUES (1)`, sql`SELECT pg_sleep(10)`))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(Date.now() - started).toBeLessThan(5_000)
      const [next] = yield* sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`
      expect(next?.pid).not.toBe(first?.pid)
      // Closing the session (a pinned connection released with work outstanding) rolled it back.
      expect(yield* sql`SELECT * FROM t`).toEqual([])
    }).pipe(Effect.provide(Client)), 20_000)
})

describe("detachedTimeout (each statement's bound)", () => {
  const failure = (message: string) => new SqlError({ reason: new ConnectionError({ cause: new Error(message), message }) })
  const timedOut = () => failure("timed out")

  it.effect("answers what the statement answers, also when it ends before the timer is set (success, failure, defect)", () =>
    Effect.gen(function* () {
      expect(yield* detachedTimeout(Effect.succeed(42), "1 second", timedOut)).toBe(42)
      const failed = yield* Effect.flip(detachedTimeout(Effect.fail(failure("refused")), "1 second", timedOut))
      expect(failed.message).toContain("refused")
      const died = yield* Effect.exit(detachedTimeout(Effect.die(new Error("bug")), "1 second", timedOut))
      expect(Exit.isFailure(died) && Cause.hasDies(died.cause)).toBe(true)
      // no timer is left behind to fire later
      yield* TestClock.adjust("2 seconds")
    })
  )

  it.effect("past the bound the caller fails at once and the statement is interrupted in the background", () =>
    Effect.gen(function* () {
      let interrupted = false
      let answered = false
      const slow = Effect.sleep("10 seconds").pipe(
        Effect.as(1),
        Effect.onInterrupt(() => Effect.sync(() => void (interrupted = true)))
      )
      const caller = yield* Effect.forkChild(
        detachedTimeout(slow, "2 seconds", timedOut).pipe(Effect.tap(() => Effect.sync(() => void (answered = true))), Effect.flip)
      )
      yield* TestClock.adjust("1999 millis")
      expect(caller.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(caller)
      expect(error.message).toContain("timed out")
      expect(answered).toBe(false)
      yield* Effect.yieldNow
      expect(interrupted).toBe(true)
    })
  )

  it.effect("an interrupted caller leaves the statement to be interrupted in the background, and its timer never fires", () =>
    Effect.gen(function* () {
      let interrupted = false
      let timeouts = 0
      const slow = Effect.sleep("10 seconds").pipe(Effect.onInterrupt(() => Effect.sync(() => void (interrupted = true))))
      const caller = yield* Effect.forkChild(detachedTimeout(slow, "2 seconds", () => (timeouts++, timedOut())))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(caller)
      yield* Effect.yieldNow
      expect(interrupted).toBe(true)
      yield* TestClock.adjust("5 seconds")
      expect(timeouts).toBe(0)
    })
  )
})
