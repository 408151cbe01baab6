/**
 * The test layer: the chain in a Ref, hashed exactly as the PostgreSQL layer hashes it
 * (./chain.ts). Appends are one Ref.modify, so concurrent writers never fork the chain.
 * `makeAuditMemory` also hands out the Ref so tests can play the attacker.
 */
import { Clock, Effect, Either, Layer, Ref } from "effect"
import { randomUUID } from "node:crypto"
import { Audit, type AuditEvent, isAuditPseudonym, isAuditUserId, normalizeAuditEvent } from "../../services/audit.js"
import { chainHash, makeChainVerifier, type StoredAuditRow, toChainRow } from "./chain.js"
import { traced } from "../../services/telemetry.js"

export const makeAuditMemory = Effect.gen(function* () {
  const rows = yield* Ref.make<ReadonlyArray<StoredAuditRow>>([])

  const record = Effect.fnUntraced(function* (event: AuditEvent) {
    const normalized = normalizeAuditEvent(event)
    if (Either.isLeft(normalized)) return yield* Effect.dieMessage(normalized.left)
    const occurredAt = normalized.right.occurredAt ?? new Date(yield* Clock.currentTimeMillis)
    const id = randomUUID()
    yield* Ref.update(rows, (stored) => {
      const last = stored.at(-1)
      const chained = toChainRow((last?.seq ?? 0) + 1, id, occurredAt, normalized.right)
      const prevHash = last?.hash ?? null
      const row: StoredAuditRow = {
        ...chained,
        actorUserId: normalized.right.actorUserId,
        actorPseudonym: null,
        prevHash,
        hash: chainHash(prevHash, chained)
      }
      return [...stored, row]
    })
  }, traced("Audit.record"))

  const verify = Effect.map(Ref.get(rows), (stored) => {
    const verifier = makeChainVerifier()
    for (const row of stored) {
      const broken = verifier.check(row)
      if (broken !== undefined) return broken
    }
    return verifier.done()
  }).pipe(Effect.withSpan("Audit.verify"))

  const pseudonymise = Effect.fnUntraced(function* (userId: string, pseudonym: string) {
    if (!isAuditUserId(userId)) return yield* Effect.dieMessage("pseudonymise: userId is not a uuid")
    if (!isAuditPseudonym(pseudonym)) return yield* Effect.dieMessage("pseudonymise: pseudonym is not an id")
    const target = userId.toLowerCase()
    return yield* Ref.modify(rows, (stored) => {
      let changed = 0
      const next = stored.map((row) => {
        if (row.actorUserId !== target) return row
        changed++
        return { ...row, actorUserId: null, actorPseudonym: pseudonym }
      })
      return [changed, next] as const
    })
  }, traced("Audit.pseudonymise"))

  const audit: Audit["Type"] = { record, verify, pseudonymise }
  return { audit, rows }
})

/** A fresh, empty trail per layer build. */
export const AuditMemory: Layer.Layer<Audit> = Layer.effect(
  Audit,
  Effect.map(makeAuditMemory, ({ audit }) => audit)
)
