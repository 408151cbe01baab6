/**
 * The working keys of the trail, derived from the audit key (services/auditMac.ts) once per
 * process and label and kept in memory: the request path MACs locally, and a KMS call happens once
 * per month and process. A failed derivation is not kept, so the next call tries again.
 */
import { Clock, Effect, Result } from "effect"
import { randomUUID } from "node:crypto"
import { AuditMac } from "../../services/auditMac.js"
import { type AuditEvent, type AuditUnavailable, normalizeAuditEvent } from "../../services/audit.js"
import { ACTOR_KEY_LABEL, chainKeyLabel, epochOf, toStoredFields } from "./chain.js"

export interface AuditKeyRing {
  readonly chain: (epoch: string) => Effect.Effect<Uint8Array, AuditUnavailable>
  readonly actor: Effect.Effect<Uint8Array, AuditUnavailable>
  /** The chain keys of every epoch given, for a synchronous walk. */
  readonly chainKeys: (epochs: Iterable<string>) => Effect.Effect<ReadonlyMap<string, Uint8Array>, AuditUnavailable>
}

/**
 * An event as every layer stores it: the shared rules applied (a malformed event is a defect),
 * a new id, pseudonymised and MAC'd under the current epoch's key, its personal data apart.
 */
export const storedEvent = (keys: AuditKeyRing, event: AuditEvent) =>
  Effect.gen(function* () {
    const normalized = normalizeAuditEvent(event)
    if (Result.isFailure(normalized)) return yield* Effect.die(new Error(normalized.failure))
    const at = new Date(yield* Clock.currentTimeMillis)
    const epoch = epochOf(at)
    return toStoredFields(
      { chain: yield* keys.chain(epoch), actor: yield* keys.actor, epoch },
      randomUUID(),
      normalized.success.occurredAt ?? at,
      normalized.success
    )
  })

export const makeAuditKeyRing = Effect.gen(function* () {
  const mac = yield* AuditMac
  const known = new Map<string, Uint8Array>()
  const derive = (label: string) =>
    Effect.suspend(() => {
      const hit = known.get(label)
      return hit !== undefined ? Effect.succeed(hit) : Effect.tap(mac.derive(label), (key) => Effect.sync(() => known.set(label, key)))
    })
  const chain = (epoch: string) => derive(chainKeyLabel(epoch))
  const ring: AuditKeyRing = {
    chain,
    actor: derive(ACTOR_KEY_LABEL),
    chainKeys: (epochs) =>
      Effect.map(
        Effect.forEach(new Set(epochs), (epoch) => Effect.map(chain(epoch), (key) => [epoch, key] as const)),
        (entries) => new Map(entries)
      )
  }
  return ring
})
