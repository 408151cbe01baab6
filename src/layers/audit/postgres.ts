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
 *
 * Files. This one builds the layer and holds the request path and erasure; the sealer and its
 * checkpoints are in ./postgresSeal.ts, verify in ./postgresVerify.ts, the row decoders and the
 * reads they share in ./postgresRows.ts.
 */
import { SqlClient, SqlSchema } from "effect/sql"
import { Clock, Duration, Effect, Layer, Schedule, Schema } from "effect"
import { AuditConfig, type AuditSettings } from "../../config/audit.js"
import { Audit, type AuditEvent, isAuditUserId } from "../../services/audit.js"
import { AuditCheckpoints } from "../../services/auditCheckpoints.js"
import type { AuditMac } from "../../services/auditMac.js"
import { bytea } from "../../services/database.js"
import { Timeouts } from "../../services/resilience.js"
import { fnTraced } from "../../services/telemetry.js"
import { actorRefOf } from "./chain.js"
import { makeAuditKeyRing, storedEvent } from "./keys.js"
import { type AuditPostgresParts, unavailable } from "./postgresRows.js"
import { makeAuditSealer } from "./postgresSeal.js"
import { makeAuditVerify } from "./postgresVerify.js"

// The names this module exported before its parts moved out: tests and the bench import them from here.
export { auditRowsAfter, auditSealsAfter } from "./postgresRows.js"
export { AUDIT_SEAL_LOCK, SEAL_BATCH } from "./postgresSeal.js"
export { VERIFY_PAGE_SIZE } from "./postgresVerify.js"

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

    const parts: AuditPostgresParts = { sql, keys, checkpoints, settings, now }

    // -----------------------------------------------------------------------------------------
    // The sealer (./postgresSeal.ts), run by every process with this layer

    const seal = makeAuditSealer(parts)

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
    // Verify (./postgresVerify.ts)

    const verify = makeAuditVerify(parts)

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
