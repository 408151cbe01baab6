/**
 * The test layer: the keyed trail in Refs, MAC'd and sealed exactly as the PostgreSQL layer does
 * (./chain.ts), under a fixed test key, with its checkpoints in memory. Appends and seals are one
 * Ref.modify each, so concurrent writers never fork the chain. `seal` checkpoints every time.
 * Rows are never overdue here (no sealer runs by itself). `makeAuditMemory` also hands out the
 * Refs so tests can play the attacker.
 */
import { Clock, Effect, Layer, Option, Ref } from "effect"
import { Audit, type AuditEvent, type AuditVerdict, isAuditUserId } from "../../services/audit.js"
import { AuditMac } from "../../services/auditMac.js"
import { makeCheckpointsMemory } from "../auditCheckpoints/memory.js"
import { testAuditMac } from "../auditMac/memory.js"
import {
  actorRefOf,
  checkpointBreak,
  epochOf,
  isValidEpoch,
  makeSealVerifier,
  rowBreak,
  sealMac,
  signedCheckpoint,
  type StoredAuditRow,
  type StoredSeal,
  USER_RESOURCES
} from "./chain.js"
import { makeAuditKeyRing, storedEvent } from "./keys.js"
import { fnTraced } from "../../services/telemetry.js"

export const makeAuditMemory = Effect.gen(function* () {
  const rows = yield* Ref.make<ReadonlyArray<StoredAuditRow>>([])
  const seals = yield* Ref.make<ReadonlyArray<StoredSeal>>([])
  const { checkpoints, stored: checkpointRef } = yield* makeCheckpointsMemory
  const keys = yield* makeAuditKeyRing.pipe(Effect.provideService(AuditMac, testAuditMac))
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const record = fnTraced("Audit.record")(function* (event: AuditEvent) {
    const stored = yield* storedEvent(keys, event)
    yield* Ref.update(rows, (all) => [
      ...all,
      { ...stored.row, seq: (all.at(-1)?.seq ?? 0) + 1, rowMac: stored.rowMac, personal: stored.personal }
    ])
  })

  const seal = Effect.gen(function* () {
    const at = yield* now
    const epoch = epochOf(at)
    const key = yield* keys.chain(epoch)
    const all = yield* Ref.get(rows)
    const sealed = yield* Ref.modify(seals, (existing) => {
      const done = new Set(existing.map((s) => s.rowId))
      const next = [...existing]
      for (const row of all) {
        if (done.has(row.id)) continue
        const prev = next.at(-1)
        const position = (prev?.position ?? 0) + 1
        const fields = { position, rowId: row.id, rowSeq: row.seq }
        next.push({ ...fields, epoch, prevMac: prev?.mac ?? null, mac: sealMac(key, prev?.mac ?? null, fields, row.rowMac) })
      }
      return [next.length - existing.length, next] as const
    })
    const head = (yield* Ref.get(seals)).at(-1)
    if (head !== undefined) {
      yield* checkpoints.write(signedCheckpoint(key, head, epoch, at))
    }
    return sealed
  }).pipe(Effect.withSpan("Audit.seal"))

  const verify = Effect.gen(function* () {
    const at = yield* now
    const allRows = yield* Ref.get(rows)
    const allSeals = yield* Ref.get(seals)
    const checkpoint = yield* checkpoints.latest
    const epochs = new Set([...allRows.map((r) => r.epoch), ...allSeals.map((s) => s.epoch), ...Option.toArray(checkpoint).map((c) => c.epoch)])
    const known = yield* keys.chainKeys([...epochs].filter((e) => isValidEpoch(e, at)))
    const keyOf = (epoch: string) => known.get(epoch)
    const byId = new Map(allRows.map((r) => [r.id, r]))
    const verifier = makeSealVerifier(keyOf)
    let atCheckpoint: StoredSeal | undefined
    for (const s of allSeals) {
      const broken = verifier.check(s, byId.get(s.rowId), 0)
      if (broken !== undefined) return broken
      if (Option.isSome(checkpoint) && s.position === checkpoint.value.position) atCheckpoint = s
    }
    let count = verifier.rows()
    if (Option.isSome(checkpoint)) {
      const broken = checkpointBreak(keyOf, checkpoint.value, verifier.head(), atCheckpoint, count)
      if (broken !== undefined) return broken
    }
    const sealedIds = new Set(allSeals.map((s) => s.rowId))
    for (const row of allRows) {
      if (sealedIds.has(row.id)) continue
      count++
      if (rowBreak(keyOf(row.epoch), row) !== undefined) {
        return { ok: false, rows: count, firstBrokenSeq: row.seq, reason: "hash_mismatch" } satisfies AuditVerdict
      }
    }
    return { ok: true, rows: count } satisfies AuditVerdict
  }).pipe(Effect.withSpan("Audit.verify"))

  const erase = fnTraced("Audit.erase")(function* (userId: string) {
    if (!isAuditUserId(userId)) return yield* Effect.die(new Error("erase: userId is not a uuid"))
    const ref = actorRefOf(yield* keys.actor, userId)
    return yield* Ref.modify(rows, (all) => {
      let events = 0
      const next = all.map((row) => {
        const mine = row.actorRef === ref || (row.resourceType !== null && USER_RESOURCES.has(row.resourceType) && row.resourceId === ref)
        if (!mine) return row
        events++
        return { ...row, personal: null }
      })
      return [events, next] as const
    })
  })

  const audit: (typeof Audit)["Service"] = { record, seal, verify, erase }
  return { audit, rows, seals, checkpoints: checkpointRef, checkpointStore: checkpoints }
})

/** A fresh, empty trail per layer build. */
export const AuditMemory: Layer.Layer<Audit> = Layer.effect(
  Audit,
  Effect.map(makeAuditMemory, ({ audit }) => audit)
)
