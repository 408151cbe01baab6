/**
 * The live Audit layer: the chain in `audit_log` (see ./chain.ts for the encoding and hash).
 *
 * Appends are serialised so the chain never forks: one transaction takes a transaction-scoped
 * advisory lock, reads the last hash, draws the next seqs from the identity's sequence, and
 * inserts the rows with them (OVERRIDING SYSTEM VALUE) — so the hash covers the seq as stored.
 * The lock is held until commit, so commit order is seq order; a rolled-back append leaves a gap
 * in seq, which the chain tolerates (links follow hashes, not numbers). Called inside a caller's
 * transaction, the event commits or rolls back with it. Outside one, events are appended in
 * batches (group commit): whatever arrived while the previous batch was committing goes into the
 * next transaction together, one lock and one commit for all of them, and every caller still
 * returns only once its event is committed. Under load that turns a queue of lock-and-commit
 * round trips into a few, without holding any event back when the trail is idle. The application role needs INSERT and
 * SELECT on audit_log and USAGE on its sequence; migration 0002 refuses UPDATE, DELETE and
 * TRUNCATE to everyone (pseudonymisation excepted).
 *
 * occurred_at is written from a millisecond Date and read back with to_char at microsecond
 * precision, so what is hashed is exactly what is stored, independent of the session time zone.
 */
import { SqlClient, type SqlError, SqlSchema } from "@effect/sql"
import { type Cause, Chunk, Clock, Deferred, Effect, Either, Layer, Option, type ParseResult, Queue, Schema } from "effect"
import { randomUUID } from "node:crypto"
import {
  Audit,
  type AuditEvent,
  AuditUnavailable,
  type AuditVerdict,
  isAuditPseudonym,
  isAuditUserId,
  type NormalizedAuditEvent,
  normalizeAuditEvent
} from "../../services/audit.js"
import { chainHash, makeChainVerifier, type StoredAuditRow, toChainRow } from "./chain.js"
import { bytea } from "../../services/database.js"
import { traced } from "../../services/telemetry.js"

/** The advisory lock key that serialises appends (arbitrary; no other lock may use it). */
export const AUDIT_CHAIN_LOCK = 7_304_116_201_952

export const VERIFY_PAGE_SIZE = 1000

/** Events appended in one transaction at most (a batch is whatever arrived meanwhile, up to this). */
const MAX_BATCH = 256

const NullableString = Schema.NullOr(Schema.String)

const StoredRow = Schema.Struct({
  seq: Schema.NumberFromString,
  id: Schema.String,
  occurredAt: Schema.String,
  actorUserId: NullableString,
  actorRef: NullableString,
  actorPseudonym: NullableString,
  action: Schema.String,
  resourceType: NullableString,
  resourceId: NullableString,
  outcome: Schema.String,
  requestId: NullableString,
  traceId: NullableString,
  clientIp: NullableString,
  userAgent: NullableString,
  prevHash: Schema.NullOr(Schema.Uint8ArrayFromSelf),
  hash: Schema.Uint8ArrayFromSelf
})

/**
 * Rows after a seq, in seq order, every value as stored (text forms chosen so nothing is lost:
 * seq and uuids as text, occurred_at with microseconds in UTC). Column aliases are already
 * camelCase, so this works with or without the pool's name transform.
 */
export const auditRowsAfter = (afterSeq: number, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    SqlSchema.findAll({
      Request: Schema.Struct({ after: Schema.Number, limit: Schema.Number }),
      Result: StoredRow,
      execute: ({ after, limit }) => sql`
        SELECT seq::text AS "seq",
               id::text AS "id",
               to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "occurredAt",
               actor_user_id::text AS "actorUserId",
               actor_ref AS "actorRef",
               actor_pseudonym AS "actorPseudonym",
               action AS "action",
               resource_type AS "resourceType",
               resource_id AS "resourceId",
               outcome AS "outcome",
               request_id AS "requestId",
               trace_id AS "traceId",
               client_ip AS "clientIp",
               user_agent AS "userAgent",
               prev_hash AS "prevHash",
               hash AS "hash"
        FROM audit_log
        WHERE audit_log.seq > ${after}
        ORDER BY audit_log.seq
        LIMIT ${limit}`
    })({ after: afterSeq, limit })
  ) satisfies Effect.Effect<ReadonlyArray<StoredAuditRow>, unknown, SqlClient.SqlClient>

const unavailable =
  (message: string) =>
  <A, R>(
    effect: Effect.Effect<A, SqlError.SqlError | ParseResult.ParseError | Cause.NoSuchElementException, R>
  ): Effect.Effect<A, AuditUnavailable, R> =>
    effect.pipe(
      Effect.catchTags({
        SqlError: (error) =>
          Effect.logWarning(message, error.cause).pipe(Effect.zipRight(Effect.fail(new AuditUnavailable({ message })))),
        // A row that does not decode, or a query that answers no row, is no transient failure: a defect.
        ParseError: (error) => Effect.die(error),
        NoSuchElementException: (error) => Effect.die(error)
      })
    )

export const makeAuditPostgres = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const lastHash = SqlSchema.findOne({
    Request: Schema.Void,
    Result: Schema.Struct({ hash: Schema.Uint8ArrayFromSelf }),
    execute: () => sql`SELECT hash AS "hash" FROM audit_log ORDER BY seq DESC LIMIT 1`
  })

  const nextSeqs = SqlSchema.findAll({
    Request: Schema.Number,
    Result: Schema.Struct({ seq: Schema.NumberFromString }),
    execute: (n) => sql`SELECT nextval(pg_get_serial_sequence('audit_log', 'seq'))::text AS "seq" FROM generate_series(1, ${n})`
  })

  const countChanged = SqlSchema.single({
    Request: Schema.Struct({ userId: Schema.String, pseudonym: Schema.String }),
    Result: Schema.Struct({ changed: Schema.Number }),
    execute: ({ userId, pseudonym }) => sql`
      WITH erased AS (
        UPDATE audit_log SET actor_user_id = NULL, actor_pseudonym = ${pseudonym}
        WHERE actor_user_id = ${userId}::uuid
        RETURNING 1
      )
      SELECT count(*)::int AS "changed" FROM erased`
  })

  interface Entry {
    readonly id: string
    readonly occurredAt: Date
    readonly event: NormalizedAuditEvent
  }

  /** One transaction: the lock, the last hash, then each entry chained to the one before it. */
  const append = (entries: ReadonlyArray<Entry>) =>
    sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`
        const last = yield* lastHash(undefined)
        const seqs = (yield* nextSeqs(entries.length)).map((r) => r.seq).sort((a, b) => a - b)
        let prevHash = last._tag === "Some" ? bytea(last.value.hash) : null
        const values = entries.map((entry, i) => {
          const row = toChainRow(seqs[i]!, entry.id, entry.occurredAt, entry.event)
          const hash = bytea(chainHash(prevHash, row))
          const value = sql`(${row.seq}, ${row.id}::uuid, ${row.occurredAt}::timestamptz, ${entry.event.actorUserId}::uuid,
                    ${row.actorRef}, ${row.action}, ${row.resourceType}, ${row.resourceId}, ${row.outcome},
                    ${row.requestId}, ${row.traceId}, ${row.clientIp}, ${row.userAgent}, ${prevHash}, ${hash})`
          prevHash = hash
          return value
        })
        // One statement for the whole batch: one round trip however many events it holds.
        yield* sql`
          INSERT INTO audit_log (seq, id, occurred_at, actor_user_id, actor_ref, action, resource_type, resource_id,
                                 outcome, request_id, trace_id, client_ip, user_agent, prev_hash, hash)
          OVERRIDING SYSTEM VALUE
          VALUES ${sql.csv(values)}`
      })
    ).pipe(unavailable("The audit trail could not be written"))

  interface Waiting {
    readonly entry: Entry
    readonly done: Deferred.Deferred<void, AuditUnavailable>
  }
  const waiting = yield* Queue.unbounded<Waiting>()
  yield* Effect.addFinalizer(() => Queue.shutdown(waiting))
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.gen(function* () {
        const batch = Chunk.toReadonlyArray(yield* Queue.takeBetween(waiting, 1, MAX_BATCH))
        const exit = yield* Effect.exit(
          append(batch.map((w) => w.entry)).pipe(Effect.withSpan("Audit.appendBatch", { attributes: { "audit.batch_size": batch.length } }))
        )
        yield* Effect.forEach(batch, (w) => Deferred.done(w.done, exit), { discard: true })
      })
    )
  )

  const record = Effect.fnUntraced(function* (event: AuditEvent) {
    const normalized = normalizeAuditEvent(event)
    if (Either.isLeft(normalized)) return yield* Effect.dieMessage(normalized.left)
    const entry: Entry = {
      id: randomUUID(),
      occurredAt: normalized.right.occurredAt ?? new Date(yield* Clock.currentTimeMillis),
      event: normalized.right
    }
    // Inside a caller's transaction the event must commit or roll back with it: appended right there.
    if (Option.isSome(yield* Effect.serviceOption(SqlClient.TransactionConnection))) return yield* append([entry])
    const done = yield* Deferred.make<void, AuditUnavailable>()
    yield* Queue.offer(waiting, { entry, done })
    return yield* Deferred.await(done)
  }, traced("Audit.record"))

  const verify: Effect.Effect<AuditVerdict, AuditUnavailable> = Effect.gen(function* () {
    const verifier = makeChainVerifier()
    let after = 0
    for (;;) {
      // Keyset pagination on seq: memory stays flat however long the trail grows.
      const page = yield* auditRowsAfter(after, VERIFY_PAGE_SIZE)
      for (const row of page) {
        const broken = verifier.check(row)
        if (broken !== undefined) return broken
      }
      const last = page.at(-1)
      if (last === undefined || page.length < VERIFY_PAGE_SIZE) return verifier.done()
      after = last.seq
    }
  }).pipe(
    Effect.provideService(SqlClient.SqlClient, sql),
    unavailable("The audit trail could not be read"),
    Effect.withSpan("Audit.verify")
  )

  const pseudonymise = Effect.fnUntraced(
    function* (userId: string, pseudonym: string) {
      if (!isAuditUserId(userId)) return yield* Effect.dieMessage("pseudonymise: userId is not a uuid")
      if (!isAuditPseudonym(pseudonym)) return yield* Effect.dieMessage("pseudonymise: pseudonym is not an id")
      const { changed } = yield* countChanged({ userId: userId.toLowerCase(), pseudonym })
      return changed
    },
    unavailable("The audit trail could not be pseudonymised"), traced("Audit.pseudonymise")
  )

  const audit: Audit["Type"] = { record, verify, pseudonymise }
  return audit
})

export const AuditPostgres: Layer.Layer<Audit, never, SqlClient.SqlClient> = Layer.scoped(Audit, makeAuditPostgres)
