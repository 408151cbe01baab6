/**
 * The working keys of the trail, derived from the audit key (services/auditMac.ts) once per
 * process and label and kept in memory: the request path MACs locally, and a KMS call happens once
 * per month and process. A failed derivation is not kept, so the next call tries again.
 */
import { Effect } from "effect"
import { AuditMac } from "../../services/auditMac.js"
import type { AuditUnavailable } from "../../services/audit.js"
import { ACTOR_KEY_LABEL, chainKeyLabel } from "./chain.js"

export interface AuditKeyRing {
  readonly chain: (epoch: string) => Effect.Effect<Uint8Array, AuditUnavailable>
  readonly actor: Effect.Effect<Uint8Array, AuditUnavailable>
  /** The chain keys of every epoch given, for a synchronous walk. */
  readonly chainKeys: (epochs: Iterable<string>) => Effect.Effect<ReadonlyMap<string, Uint8Array>, AuditUnavailable>
}

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
