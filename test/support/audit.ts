/**
 * The in-memory audit trail with its rows exposed, for tests that assert on what programs
 * recorded. `auditRows` reads the trail as an auditor holding the key would: a user's pseudonym
 * (actor, and the id of user/account resources) is resolved back to the user id for every user id
 * recorded through this layer, and the erasable IP and user agent are shown while they exist.
 * What is stored (no raw id at all) is in `AuditStoredRows`.
 */
import { Context, Duration, Effect, Layer, Option, Ref } from "effect"
import type { AuditSettings } from "../../src/config.js"
import { actorRefOf, type StoredAuditRow } from "../../src/layers/audit/chain.js"
import { makeAuditMemory } from "../../src/layers/audit/memory.js"
import { testAuditMac } from "../../src/layers/auditMac/memory.js"
import { ACTOR_KEY_LABEL } from "../../src/layers/audit/chain.js"
import { Audit } from "../../src/services/audit.js"

export interface AuditRowView {
  readonly seq: number
  readonly id: string
  readonly occurredAt: string
  readonly actorUserId: string | null
  readonly actorRef: string | null
  readonly action: string
  readonly resourceType: string | null
  readonly resourceId: string | null
  readonly outcome: string
  readonly requestId: string | null
  readonly traceId: string | null
  readonly clientIp: string | null
  readonly userAgent: string | null
}

export class AuditRows extends Context.Service<
  AuditRows,
  { readonly stored: Ref.Ref<ReadonlyArray<StoredAuditRow>>; readonly users: Map<string, string> }
>()("test/AuditRows") {}

/** The test key's actor key: what an auditor would compute a user's pseudonym with. */
export const testActorKey = Effect.runSync(testAuditMac.derive(ACTOR_KEY_LABEL))

export const testPseudonymOf = (userId: string) => actorRefOf(testActorKey, userId)

export const AuditWithRows = Layer.effectContext(
  Effect.map(makeAuditMemory, ({ audit, rows }) => {
    const users = new Map<string, string>()
    const remember = (id: string | undefined) => {
      if (id !== undefined && /^[0-9a-f-]{36}$/i.test(id)) users.set(testPseudonymOf(id), id.toLowerCase())
    }
    const recording: (typeof Audit)["Service"] = {
      ...audit,
      record: (event) =>
        Effect.suspend(() => {
          remember(event.actorUserId)
          if (event.resourceType === "user" || event.resourceType === "account") remember(event.resourceId)
          return audit.record(event)
        })
    }
    return Context.make(Audit, recording).pipe(Context.add(AuditRows, { stored: rows, users }))
  })
)

const view = (users: Map<string, string>) => (row: StoredAuditRow): AuditRowView => ({
  seq: row.seq,
  id: row.id,
  occurredAt: row.occurredAt,
  actorUserId: row.actorRef === null ? null : (users.get(row.actorRef) ?? null),
  actorRef: row.actorRef,
  action: row.action,
  resourceType: row.resourceType,
  resourceId:
    row.resourceId !== null && (row.resourceType === "user" || row.resourceType === "account")
      ? (users.get(row.resourceId) ?? row.resourceId)
      : row.resourceId,
  outcome: row.outcome,
  requestId: row.requestId,
  traceId: row.traceId,
  clientIp: row.personal?.clientIp ?? null,
  userAgent: row.personal?.userAgent ?? null
})

/** Every row recorded so far, as an auditor with the key reads it. */
export const auditRows = Effect.flatMap(AuditRows, ({ stored, users }) => Effect.map(Ref.get(stored), (rows) => rows.map(view(users))))

/** Every row as stored. */
export const auditStoredRows = Effect.flatMap(AuditRows, ({ stored }) => Ref.get(stored))

/** The PostgreSQL layer's settings for tests: no background sealer (tests seal), a checkpoint at every seal. */
export const testAuditSettings = (overrides: Partial<AuditSettings> = {}): AuditSettings => ({
  sealInterval: Duration.zero,
  checkpointInterval: Duration.zero,
  unsealedGrace: Duration.minutes(15),
  checkpointBucket: Option.none(),
  checkpointRetentionDays: 1,
  ...overrides
})
