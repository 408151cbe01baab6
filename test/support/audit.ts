/** The in-memory audit trail with its rows exposed, for tests that assert on what was recorded. */
import { Context, Effect, Layer, Ref } from "effect"
import type { StoredAuditRow } from "../../src/layers/audit/chain.js"
import { makeAuditMemory } from "../../src/layers/audit/memory.js"
import { Audit } from "../../src/services/audit.js"

export class AuditRows extends Context.Tag("test/AuditRows")<AuditRows, Ref.Ref<ReadonlyArray<StoredAuditRow>>>() {}

export const AuditWithRows = Layer.effectContext(
  Effect.map(makeAuditMemory, ({ audit, rows }) => Context.make(Audit, audit).pipe(Context.add(AuditRows, rows)))
)

/** Every row recorded so far. */
export const auditRows = Effect.flatMap(AuditRows, Ref.get)
