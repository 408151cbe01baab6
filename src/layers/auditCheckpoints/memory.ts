/** Checkpoints in a Ref, for tests; `makeCheckpointsMemory` also hands out the Ref so tests can play the attacker. */
import { Effect, Layer, Option, Ref } from "effect"
import { type AuditCheckpoint, AuditCheckpoints } from "../../services/auditCheckpoints.js"

export const makeCheckpointsMemory = Effect.gen(function* () {
  const stored = yield* Ref.make<ReadonlyArray<AuditCheckpoint>>([])
  const checkpoints = AuditCheckpoints.of({
    write: (checkpoint) =>
      Ref.update(stored, (all) => (all.some((c) => c.position === checkpoint.position) ? all : [...all, checkpoint])),
    latest: Effect.map(Ref.get(stored), (all) =>
      Option.fromNullishOr(all.reduce<AuditCheckpoint | undefined>((a, c) => (a === undefined || c.position > a.position ? c : a), undefined))
    )
  })
  return { checkpoints, stored }
})

export const AuditCheckpointsMemory: Layer.Layer<AuditCheckpoints> = Layer.effect(
  AuditCheckpoints,
  Effect.map(makeCheckpointsMemory, ({ checkpoints }) => checkpoints)
)
