/**
 * The PostgreSQL trail's tables as its parts read them (the design: ./postgres.ts): the decoders of
 * a row, of a seal with its row and of a row of the unkeyed chain, the row columns as lossless text,
 * the paged reads verify walks (the test harness reads rows and seals the same way), and how a
 * database failure becomes AuditUnavailable. Apart so that the layer, the sealer (./postgresSeal.ts)
 * and verify (./postgresVerify.ts) decode one way and fail one way without importing the layer.
 */
import { SqlClient, type SqlError, SqlSchema } from "effect/sql"
import { type Cause, Effect, Schema } from "effect"
import type { AuditSettings } from "../../config/audit.js"
import { AuditUnavailable } from "../../services/audit.js"
import type { AuditCheckpoints } from "../../services/auditCheckpoints.js"
import type { LegacyStoredRow, StoredAuditRow, StoredSeal } from "./chain.js"
import type { AuditKeyRing } from "./keys.js"

/**
 * What the sealer and verify are built from, handed over by the layer (./postgres.ts) so that all
 * three share one client, one key ring (its derived keys kept once per process) and one clock.
 */
export interface AuditPostgresParts {
  readonly sql: SqlClient.SqlClient
  readonly keys: AuditKeyRing
  readonly checkpoints: (typeof AuditCheckpoints)["Service"]
  readonly settings: AuditSettings
  readonly now: Effect.Effect<Date>
}

const NullableString = Schema.NullOr(Schema.String)
export const Bytes = Schema.Uint8Array

export const RowColumns = {
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

export const toStoredRow = (r: StoredRowColumns): StoredAuditRow => ({
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
export const rowSelect = (sql: SqlClient.SqlClient) => sql`
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

// A row of the unkeyed chain: today's columns but the keyed ones (epoch, MACs), with the plain
// actor id and the SHA-256 link the old chain carried instead.
const { epoch: _epoch, personalMac: _personalMac, rowMac: _rowMac, hasPersonal: _hasPersonal, ...SharedColumns } = RowColumns

const LegacyRow = Schema.Struct({
  ...SharedColumns,
  actorUserId: NullableString,
  prevHash: Schema.NullOr(Bytes),
  hash: Bytes
})

/** Rows of the unkeyed chain (before migration 0008) after a seq, in seq order. */
export const legacyRowsAfter = (afterSeq: number, limit: number) =>
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

export const unavailable =
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

