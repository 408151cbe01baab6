/**
 * The sealer of the PostgreSQL trail (the design: ./postgres.ts): under a try of an advisory lock,
 * so one process of the fleet seals and every other returns at once, it appends one seal per
 * committed row that has none, in seq order, each MAC'd over the one before; after sealing, when due,
 * it writes the head outside the database (AuditCheckpoints). Apart from the layer because it is the
 * one part with a lock and with state of its own (what this process last checkpointed).
 */
import { SqlSchema } from "effect/sql"
import { Duration, Effect, Option, Schema } from "effect"
import type { AuditUnavailable } from "../../services/audit.js"
import { bytea } from "../../services/database.js"
import { epochOf, sealMac, signedCheckpoint } from "./chain.js"
import { type AuditPostgresParts, Bytes, unavailable } from "./postgresRows.js"

/** The advisory lock key only the sealer takes, and only with a try (arbitrary; no other lock may use it). */
export const AUDIT_SEAL_LOCK = 7_304_116_201_953

/** Rows sealed per transaction at most; `seal` goes on until none is left. */
export const SEAL_BATCH = 1000

/**
 * How far below the highest sealed seq the sealer still looks for late rows: a transaction would
 * have to stay open while this many later audited rows commit to be missed, and `verify` reports
 * such a row (`unsealed`) anyway.
 */
const SEAL_LOOKBACK = 100_000

const SEAL_TIMEOUT = Duration.seconds(30)

interface Head {
  readonly position: number
  readonly seq: number
  readonly mac: Uint8Array
}

/** The layer's `seal`: every batch there is, then a checkpoint when one is due. */
export const makeAuditSealer = ({ sql, keys, checkpoints, settings, now }: AuditPostgresParts): Effect.Effect<number, AuditUnavailable> => {
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
      yield* checkpoints.write(signedCheckpoint(yield* keys.chain(epoch), { ...head, rowSeq: head.seq }, epoch, at))
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

  return seal
}
