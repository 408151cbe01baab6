/**
 * `verify` of the PostgreSQL trail (the design, and what it catches and cannot: ./postgres.ts): the
 * unkeyed rows from before migration 0008 on their chain, then the seals in order with their rows,
 * the last checkpoint against the chain, then the rows not sealed yet, page by page, with the
 * checks of ./chain.ts. Apart from the layer because it shares nothing with writing but the
 * decoders (./postgresRows.ts): it only reads.
 */
import { SqlClient, SqlSchema } from "effect/sql"
import { Duration, Effect, Option, Schema } from "effect"
import type { AuditUnavailable, AuditVerdict } from "../../services/audit.js"
import { checkpointBreak, isValidEpoch, type KeyOf, makeLegacyVerifier, makeSealVerifier, rowBreak, type StoredSeal } from "./chain.js"
import {
  type AuditPostgresParts,
  auditSealsAfter,
  legacyRowsAfter,
  RowColumns,
  rowSelect,
  toStoredRow,
  unavailable
} from "./postgresRows.js"

export const VERIFY_PAGE_SIZE = 1000

const verdict = (v: AuditVerdict): AuditVerdict => v

/** The layer's `verify`: the first break found, or how many rows are intact. */
export const makeAuditVerify = ({ sql, keys, checkpoints, settings, now }: AuditPostgresParts): Effect.Effect<AuditVerdict, AuditUnavailable> => {
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

  return verify
}
