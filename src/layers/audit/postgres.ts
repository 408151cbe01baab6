/**
 * The live Audit layer: the keyed trail in PostgreSQL (see ./chain.ts for the encodings and
 * migration 0008 for the tables).
 *
 * Request path. `record` MACs the event locally (the working key is derived once per month,
 * ./keys.ts) and inserts it: one INSERT (two tables when there is an IP or user agent), no lock,
 * no read of any other row, bounded by the database timeout. Concurrent requests never wait on
 * each other. Inside a caller's transaction the event commits or rolls back with it. The
 * identity's seq orders rows only roughly: a row may commit after one with a higher seq.
 *
 * Sealer. The chain's order is given by one sealer at a time instead of by a lock on every
 * append: `seal` opens a transaction and takes `pg_try_advisory_xact_lock` — the one process of
 * the fleet that gets it seals, every other answers 0 at once and waits for nothing. The holder
 * reads the last seal, picks committed rows that have no seal yet (any seq: a row that committed
 * late is simply sealed in a later round, so none is lost to commit order), orders them by seq,
 * and appends one seal per row at positions last+1, last+2…, each MAC'd over the one before.
 * Every process with this layer runs the sealer every AUDIT_SEAL_INTERVAL_MS; on Lambda it runs
 * while an instance is serving. After sealing, at most every AUDIT_CHECKPOINT_INTERVAL_MS, the
 * head (position, seq, MAC) is MAC'd and written outside the database (AuditCheckpoints).
 *
 * What verify catches (`audit:verify`): a row changed or forged by anyone without the key (its MAC,
 * also over its personal data while that exists), a seal changed, removed, inserted or re-chained
 * (links, positions, MACs), a sealed row deleted (`missing_row`), the tail deleted — rows and seals
 * — back to before the last checkpoint (`truncated`), a forged checkpoint, and rows that stayed
 * unsealed past AUDIT_UNSEALED_GRACE_MS. What it cannot catch, by design: rows deleted before they
 * were sealed (within the sealing interval), the tail sealed after the last checkpoint (within the
 * checkpoint interval), a client IP or user agent deleted (erasure must be able to), and changes
 * to rows from before the keyed trail by someone who can switch triggers off (their chain is
 * unkeyed; migration 0008 stops new ones being inserted).
 *
 * Erasure deletes the user's rows' personal data; the rows name the user by keyed pseudonym only.
 */
import { SqlClient, type SqlError, SqlSchema } from "effect/sql"
import {
  type Cause,
  Clock,
  Duration,
  Effect,
  Layer,
  Option,
  Schedule,
  Schema
} from "effect"
import { AuditConfig, type AuditSettings } from "../../config/audit.js"
import {
  Audit,
  type AuditEvent,
  AuditUnavailable,
  type AuditVerdict,
  isAuditUserId
} from "../../services/audit.js"
import { type AuditCheckpoint, AuditCheckpoints, CHECKPOINT_VERSION } from "../../services/auditCheckpoints.js"
import type { AuditMac } from "../../services/auditMac.js"
import { bytea } from "../../services/database.js"
import { Timeouts } from "../../services/resilience.js"
import { fnTraced } from "../../services/telemetry.js"
import {
  actorRefOf,
  checkpointBreak,
  checkpointMac,
  epochOf,
  isValidEpoch,
  type KeyOf,
  type LegacyStoredRow,
  makeLegacyVerifier,
  makeSealVerifier,
  rowBreak,
  sealMac,
  type StoredAuditRow,
  type StoredSeal
} from "./chain.js"
import { makeAuditKeyRing, storedEvent } from "./keys.js"

/** The advisory lock key only the sealer takes, and only with a try (arbitrary; no other lock may use it). */
export const AUDIT_SEAL_LOCK = 7_304_116_201_953

export const VERIFY_PAGE_SIZE = 1000

/** Rows sealed per transaction at most; `seal` goes on until none is left. */
export const SEAL_BATCH = 1000

/**
 * How far below the highest sealed seq the sealer still looks for late rows: a transaction would
 * have to stay open while this many later audited rows commit to be missed, and `verify` reports
 * such a row (`unsealed`) anyway.
 */
const SEAL_LOOKBACK = 100_000

const SEAL_TIMEOUT = Duration.seconds(30)

const NullableString = Schema.NullOr(Schema.String)
const Bytes = Schema.Uint8Array

const RowColumns = {
  seq: Schema.FiniteFromString,
  id: Schema.String,
  epoch: Schema.String,
  occurredAt: Schema.String,
  actorRef: NullableString,
  action: Schema.String,
  resourceType: NullableString,
  resourceId: NullableString,
  outcome: Schema.String,
  requestId: NullableString,
  traceId: NullableString,
  personalMac: NullableString,
  rowMac: Bytes,
  hasPersonal: Schema.Boolean,
  clientIp: NullableString,
  userAgent: NullableString
}

const StoredRow = Schema.Struct(RowColumns)
type StoredRowColumns = typeof StoredRow.Type

const toStoredRow = (r: StoredRowColumns): StoredAuditRow => ({
  seq: r.seq,
  id: r.id,
  epoch: r.epoch,
  occurredAt: r.occurredAt,
  actorRef: r.actorRef,
  action: r.action,
  resourceType: r.resourceType,
  resourceId: r.resourceId,
  outcome: r.outcome,
  requestId: r.requestId,
  traceId: r.traceId,
  personalMac: r.personalMac,
  rowMac: r.rowMac,
  personal: r.hasPersonal ? { clientIp: r.clientIp, userAgent: r.userAgent } : null
})

const SealRow = Schema.Struct({
  position: Schema.FiniteFromString,
  rowId: Schema.String,
  rowSeq: Schema.FiniteFromString,
  sealEpoch: Schema.String,
  prevMac: Schema.NullOr(Bytes),
  mac: Bytes,
  rowPresent: Schema.Boolean,
  seq: NullableString,
  id: NullableString,
  epoch: NullableString,
  occurredAt: NullableString,
  actorRef: NullableString,
  action: NullableString,
  resourceType: NullableString,
  resourceId: NullableString,
  outcome: NullableString,
  requestId: NullableString,
  traceId: NullableString,
  personalMac: NullableString,
  rowMac: Schema.NullOr(Bytes),
  hasPersonal: Schema.Boolean,
  clientIp: NullableString,
  userAgent: NullableString
})

/** The row columns as text forms that lose nothing: seq and uuids as text, occurred_at with microseconds in UTC. */
const rowSelect = (sql: SqlClient.SqlClient) => sql`
  a.seq::text AS "seq",
  a.id::text AS "id",
  a.epoch AS "epoch",
  to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "occurredAt",
  a.actor_ref AS "actorRef",
  a.action AS "action",
  a.resource_type AS "resourceType",
  a.resource_id AS "resourceId",
  a.outcome AS "outcome",
  a.request_id AS "requestId",
  a.trace_id AS "traceId",
  a.personal_mac AS "personalMac",
  a.row_mac AS "rowMac",
  (p.row_id IS NOT NULL) AS "hasPersonal",
  p.client_ip AS "clientIp",
  p.user_agent AS "userAgent"`

/** Keyed rows after a seq, in seq order, as stored (the test harness reads them too). */
export const auditRowsAfter = (afterSeq: number, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    SqlSchema.findAll({
      Request: Schema.Struct({ after: Schema.Number, limit: Schema.Number }),
      Result: StoredRow,
      execute: ({ after, limit }) => sql`
        SELECT ${rowSelect(sql)}
        FROM audit_log a LEFT JOIN audit_personal p ON p.row_id = a.id
        WHERE a.row_mac IS NOT NULL AND a.seq > ${after}
        ORDER BY a.seq
        LIMIT ${limit}`
    })({ after: afterSeq, limit })
  ).pipe(Effect.map((rows) => rows.map(toStoredRow)))

/** Seals after a position, in order, each with its row when the row is still there. */
export const auditSealsAfter = (afterPosition: number, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    SqlSchema.findAll({
      Request: Schema.Struct({ after: Schema.Number, limit: Schema.Number }),
      Result: SealRow,
      execute: ({ after, limit }) => sql`
        SELECT s.position::text AS "position",
               s.row_id::text AS "rowId",
               s.row_seq::text AS "rowSeq",
               s.epoch AS "sealEpoch",
               s.prev_mac AS "prevMac",
               s.mac AS "mac",
               (a.id IS NOT NULL) AS "rowPresent",
               ${rowSelect(sql)}
        FROM audit_seal s
        LEFT JOIN audit_log a ON a.id = s.row_id AND a.row_mac IS NOT NULL
        LEFT JOIN audit_personal p ON p.row_id = a.id
        WHERE s.position > ${after}
        ORDER BY s.position
        LIMIT ${limit}`
    })({ after: afterPosition, limit })
  ).pipe(
    Effect.map((rows) =>
      rows.map((r) => {
        const seal: StoredSeal = { position: r.position, rowId: r.rowId, rowSeq: r.rowSeq, epoch: r.sealEpoch, prevMac: r.prevMac, mac: r.mac }
        const row =
          r.rowPresent && r.seq !== null && r.id !== null && r.epoch !== null && r.occurredAt !== null && r.action !== null && r.outcome !== null && r.rowMac !== null
            ? toStoredRow({ ...r, seq: Number(r.seq), id: r.id, epoch: r.epoch, occurredAt: r.occurredAt, action: r.action, outcome: r.outcome, rowMac: r.rowMac })
            : undefined
        return { seal, row }
      })
    )
  )

const LegacyRow = Schema.Struct({
  seq: Schema.FiniteFromString,
  id: Schema.String,
  occurredAt: Schema.String,
  actorUserId: NullableString,
  actorRef: NullableString,
  action: Schema.String,
  resourceType: NullableString,
  resourceId: NullableString,
  outcome: Schema.String,
  requestId: NullableString,
  traceId: NullableString,
  clientIp: NullableString,
  userAgent: NullableString,
  prevHash: Schema.NullOr(Bytes),
  hash: Bytes
})

/** Rows of the unkeyed chain (before migration 0008) after a seq, in seq order. */
const legacyRowsAfter = (afterSeq: number, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    SqlSchema.findAll({
      Request: Schema.Struct({ after: Schema.Number, limit: Schema.Number }),
      Result: LegacyRow,
      execute: ({ after, limit }) => sql`
        SELECT seq::text AS "seq", id::text AS "id",
               to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "occurredAt",
               actor_user_id::text AS "actorUserId", actor_ref AS "actorRef", action AS "action",
               resource_type AS "resourceType", resource_id AS "resourceId", outcome AS "outcome",
               request_id AS "requestId", trace_id AS "traceId", client_ip AS "clientIp", user_agent AS "userAgent",
               prev_hash AS "prevHash", hash AS "hash"
        FROM audit_log
        WHERE row_mac IS NULL AND audit_log.seq > ${after}
        ORDER BY audit_log.seq
        LIMIT ${limit}`
    })({ after: afterSeq, limit })
  ) satisfies Effect.Effect<ReadonlyArray<LegacyStoredRow>, unknown, SqlClient.SqlClient>

const unavailable =
  (message: string) =>
  <A, R>(
    effect: Effect.Effect<A, SqlError.SqlError | Schema.SchemaError | Cause.NoSuchElementError | Cause.TimeoutError | AuditUnavailable, R>
  ): Effect.Effect<A, AuditUnavailable, R> =>
    effect.pipe(
      Effect.catchTags({
        SqlError: (error) =>
          Effect.logWarning(message, error.reason).pipe(Effect.andThen(Effect.fail(new AuditUnavailable({ message })))),
        TimeoutError: () =>
          Effect.logWarning(`${message}: timed out`).pipe(Effect.andThen(Effect.fail(new AuditUnavailable({ message })))),
        // A row that does not decode, or a query that answers no row, is no transient failure: a defect.
        SchemaError: (error) => Effect.die(error),
        NoSuchElementError: (error) => Effect.die(error)
      })
    )

const verdict = (v: AuditVerdict): AuditVerdict => v

interface Head {
  readonly position: number
  readonly seq: number
  readonly mac: Uint8Array
}

export const makeAuditPostgres = (settings: AuditSettings) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* makeAuditKeyRing
    const checkpoints = yield* AuditCheckpoints

    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const record = fnTraced("Audit.record")(
      function* (event: AuditEvent) {
        const stored = yield* storedEvent(keys, event)
        const { row, personal } = stored
        const insertRow = sql`
          INSERT INTO audit_log (id, occurred_at, epoch, actor_ref, action, resource_type, resource_id, outcome,
                                 request_id, trace_id, personal_mac, row_mac)
          VALUES (${row.id}::uuid, ${row.occurredAt}::timestamptz, ${row.epoch}, ${row.actorRef}, ${row.action},
                  ${row.resourceType}, ${row.resourceId}, ${row.outcome}, ${row.requestId}, ${row.traceId},
                  ${row.personalMac}, ${bytea(stored.rowMac)})`
        // One statement either way: one round trip, and the two rows commit together.
        yield* personal === null
          ? insertRow
          : sql`
            WITH inserted AS (${insertRow} RETURNING id)
            INSERT INTO audit_personal (row_id, client_ip, user_agent)
            SELECT id, ${personal.clientIp}, ${personal.userAgent} FROM inserted`
      },
      Effect.timeout(Timeouts.database),
      unavailable("The audit trail could not be written")
    )

    // -----------------------------------------------------------------------------------------
    // The sealer

    // No seal yet is None (findOne would fail on no row).
    const lastSeal = SqlSchema.findOneOption({
      Request: Schema.Void,
      Result: Schema.Struct({ position: Schema.FiniteFromString, rowSeq: Schema.FiniteFromString, mac: Bytes }),
      execute: () =>
        // Ordered by the column, not the text alias of the same name.
        sql`SELECT position::text AS "position", row_seq::text AS "rowSeq", mac AS "mac" FROM audit_seal ORDER BY audit_seal.position DESC LIMIT 1`
    })

    const unsealed = SqlSchema.findAll({
      Request: Schema.Number,
      Result: Schema.Struct({ id: Schema.String, seq: Schema.FiniteFromString, rowMac: Bytes }),
      execute: (floor) => sql`
        SELECT a.id::text AS "id", a.seq::text AS "seq", a.row_mac AS "rowMac"
        FROM audit_log a
        WHERE a.row_mac IS NOT NULL AND a.seq > ${floor}
          AND NOT EXISTS (SELECT 1 FROM audit_seal s WHERE s.row_id = a.id)
        ORDER BY a.seq
        LIMIT ${SEAL_BATCH}`
    })

    /** One batch under the sealer's lock: the new head and the count, or none when another process holds the lock. */
    const sealBatch = (sealedAt: Date) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const [lock] = yield* sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${AUDIT_SEAL_LOCK}) AS locked`
          if (lock?.locked !== true) return Option.none<{ readonly head: Option.Option<Head>; readonly sealed: number }>()
          const last = yield* lastSeal(undefined)
          const floor = Option.match(last, { onNone: () => 0, onSome: (l) => Math.max(0, l.rowSeq - SEAL_LOOKBACK) })
          const rows = yield* unsealed(floor)
          if (rows.length === 0) return Option.some({ head: Option.map(last, (l) => ({ position: l.position, seq: l.rowSeq, mac: l.mac })), sealed: 0 })
          const epoch = epochOf(sealedAt)
          const key = yield* keys.chain(epoch)
          let prev: Head | undefined = Option.getOrUndefined(Option.map(last, (l) => ({ position: l.position, seq: l.rowSeq, mac: l.mac })))
          const values = rows.map((row) => {
            const position = (prev?.position ?? 0) + 1
            const mac = sealMac(key, prev?.mac ?? null, { position, rowId: row.id, rowSeq: row.seq }, row.rowMac)
            const value = sql`(${position}, ${row.id}::uuid, ${row.seq}, ${epoch}, ${prev === undefined ? null : bytea(prev.mac)}, ${bytea(mac)})`
            prev = { position, seq: row.seq, mac }
            return value
          })
          yield* sql`INSERT INTO audit_seal (position, row_id, row_seq, epoch, prev_mac, mac) VALUES ${sql.csv(values)}`
          return Option.some({ head: Option.fromNullishOr(prev), sealed: rows.length })
        })
      )

    // What this process last checkpointed: read from the store once, then kept.
    let checkpointed: { position: number; at: number } | undefined

    const writeCheckpoint = (head: Head, at: Date) =>
      Effect.gen(function* () {
        const epoch = epochOf(at)
        const fields: Omit<AuditCheckpoint, "mac"> = {
          version: CHECKPOINT_VERSION,
          position: head.position,
          seq: head.seq,
          head: Buffer.from(head.mac).toString("hex"),
          epoch,
          at: at.toISOString()
        }
        yield* checkpoints.write({ ...fields, mac: checkpointMac(yield* keys.chain(epoch), fields) })
        checkpointed = { position: head.position, at: at.getTime() }
      })

    const checkpointIfDue = (head: Head, at: Date) =>
      Effect.gen(function* () {
        if (checkpointed === undefined) {
          const latest = yield* checkpoints.latest
          checkpointed = Option.match(latest, {
            onNone: () => ({ position: 0, at: 0 }),
            onSome: (c) => ({ position: c.position, at: Date.parse(c.at) })
          })
        }
        if (head.position <= checkpointed.position) return
        if (at.getTime() - checkpointed.at < Duration.toMillis(settings.checkpointInterval)) return
        yield* writeCheckpoint(head, at)
      })

    const seal: Effect.Effect<number, AuditUnavailable> = Effect.gen(function* () {
      let total = 0
      let head: Option.Option<Head> = Option.none()
      for (;;) {
        const at = yield* now
        const batch = yield* sealBatch(at)
        // Another process is the sealer: nothing to wait for.
        if (Option.isNone(batch)) return total
        total += batch.value.sealed
        head = batch.value.head
        if (batch.value.sealed < SEAL_BATCH) break
      }
      if (Option.isSome(head)) yield* checkpointIfDue(head.value, yield* now)
      return total
    }).pipe(
      Effect.timeout(SEAL_TIMEOUT),
      unavailable("The audit trail could not be sealed"),
      Effect.withSpan("Audit.seal")
    )

    if (Duration.toMillis(settings.sealInterval) > 0) {
      // The first round after one interval: building the layer (a Lambda's init) touches neither the database nor KMS.
      yield* Effect.forkScoped(
        Effect.andThen(
          Effect.sleep(settings.sealInterval),
          Effect.repeat(
          seal.pipe(Effect.catch((error) => Effect.logWarning("audit sealing failed; retried at the next interval").pipe(Effect.annotateLogs({ error: error.message })))),
            Schedule.spaced(settings.sealInterval)
          )
        )
      )
    }

    // -----------------------------------------------------------------------------------------
    // Verify

    const verify: Effect.Effect<AuditVerdict, AuditUnavailable> = Effect.gen(function* () {
      const started = yield* now
      const known = new Map<string, Uint8Array>()
      const keyOf: KeyOf = (epoch) => known.get(epoch)
      const learn = (epochs: ReadonlyArray<string>) =>
        Effect.map(keys.chainKeys(epochs.filter((e) => isValidEpoch(e, started) && !known.has(e))), (found) => {
          for (const [epoch, key] of found) known.set(epoch, key)
        })

      // 1. Rows from before the keyed trail, on their unkeyed chain.
      const legacy = makeLegacyVerifier()
      for (let after = 0; ;) {
        const page = yield* legacyRowsAfter(after, VERIFY_PAGE_SIZE)
        for (const row of page) {
          const broken = legacy.check(row)
          if (broken !== undefined) return broken
        }
        if (page.length < VERIFY_PAGE_SIZE) break
        after = page.at(-1)!.seq
      }
      const before = legacy.rows()

      // 2. The last checkpoint, read before the seals: seals only grow after it.
      const checkpoint = yield* checkpoints.latest
      if (Option.isSome(checkpoint)) yield* learn([checkpoint.value.epoch])

      // 3. The seals in order, each with its row.
      const seals = makeSealVerifier(keyOf)
      let atCheckpoint: StoredSeal | undefined
      for (let after = 0; ;) {
        const page = yield* auditSealsAfter(after, VERIFY_PAGE_SIZE)
        yield* learn(page.flatMap(({ seal, row }) => (row === undefined ? [seal.epoch] : [seal.epoch, row.epoch])))
        for (const { seal, row } of page) {
          const broken = seals.check(seal, row, before)
          if (broken !== undefined) return broken
          if (Option.isSome(checkpoint) && seal.position === checkpoint.value.position) atCheckpoint = seal
        }
        if (page.length < VERIFY_PAGE_SIZE) break
        after = page.at(-1)!.seal.position
      }
      let rows = before + seals.rows()

      // 4. The chain reaches the last checkpoint, with the same head there.
      if (Option.isSome(checkpoint)) {
        const broken = checkpointBreak(keyOf, checkpoint.value, seals.head(), atCheckpoint, rows)
        if (broken !== undefined) return broken
      }

      // 5. Rows not sealed yet: each must carry a valid MAC and be young.
      for (let after = 0; ;) {
        const page = yield* unsealedRowsAfter(after)
        yield* learn(page.map(({ row }) => row.epoch))
        for (const { row, overdue } of page) {
          rows++
          const reason = rowBreak(keyOf(row.epoch), row) ?? (overdue ? "unsealed" : undefined)
          if (reason !== undefined) return verdict({ ok: false, rows, firstBrokenSeq: row.seq, reason })
        }
        if (page.length < VERIFY_PAGE_SIZE) break
        after = page.at(-1)!.row.seq
      }
      return verdict({ ok: true, rows })
    }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      unavailable("The audit trail could not be read"),
      Effect.withSpan("Audit.verify")
    )

    // Age by the database's clock on both sides (inserted_at is its clock_timestamp()), so no skew
    // between this host and the database can hide or invent an overdue row.
    const graceSeconds = Duration.toMillis(settings.unsealedGrace) / 1000
    const unsealedRowsAfter = (afterSeq: number) =>
      SqlSchema.findAll({
        Request: Schema.Struct({ after: Schema.Number }),
        Result: Schema.Struct({ ...RowColumns, overdue: Schema.Boolean }),
        execute: ({ after }) => sql`
          SELECT ${rowSelect(sql)}, (a.inserted_at < clock_timestamp() - make_interval(secs => ${graceSeconds})) AS "overdue"
          FROM audit_log a LEFT JOIN audit_personal p ON p.row_id = a.id
          WHERE a.row_mac IS NOT NULL AND a.seq > ${after}
            AND NOT EXISTS (SELECT 1 FROM audit_seal s WHERE s.row_id = a.id)
          ORDER BY a.seq
          LIMIT ${VERIFY_PAGE_SIZE}`
      })({ after: afterSeq }).pipe(Effect.map((page) => page.map((r) => ({ row: toStoredRow(r), overdue: r.overdue }))))

    // -----------------------------------------------------------------------------------------
    // Erasure

    const eraseRows = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ events: Schema.Number }),
      execute: (ref) => sql`
        WITH mine AS (
          SELECT id FROM audit_log
          WHERE actor_ref = ${ref} OR (resource_type IN ('user', 'account') AND resource_id = ${ref})
        ), erased AS (
          DELETE FROM audit_personal WHERE row_id IN (SELECT id FROM mine) RETURNING 1
        )
        SELECT (SELECT count(*) FROM mine)::int AS "events"`
    })

    const erase = fnTraced("Audit.erase")(
      function* (userId: string) {
        if (!isAuditUserId(userId)) return yield* Effect.die(new Error("erase: userId is not a uuid"))
        const ref = actorRefOf(yield* keys.actor, userId)
        const { events } = yield* eraseRows(ref)
        return events
      },
      Effect.timeout(Timeouts.database),
      unavailable("The audit trail's personal data could not be erased")
    )

    const audit: (typeof Audit)["Service"] = { record, seal, verify, erase }
    return audit
  })

/** The live layer, with the sealing and checkpoint settings of AUDIT_*. */
export const AuditPostgres: Layer.Layer<Audit, never, SqlClient.SqlClient | AuditMac | AuditCheckpoints | AuditConfig> = Layer.effect(
  Audit,
  Effect.flatMap(AuditConfig, makeAuditPostgres)
)

/** The same with explicit settings (tests, benches). */
export const auditPostgresLayer = (settings: AuditSettings): Layer.Layer<Audit, never, SqlClient.SqlClient | AuditMac | AuditCheckpoints> =>
  Layer.effect(Audit, makeAuditPostgres(settings))
