/**
 * Ids: the default (nothing provided) gives random v4 UUIDs that every branded id accepts; a
 * sequence gives known ones, v4-shaped too, each sequence counting on its own.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { ContentId, Ids, JobId, MessageId, newUuid, UserId } from "../../src/services/ids.js"

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("Ids", () => {
  it.effect("by default (nothing provided): distinct random v4 UUIDs, valid for every branded id", () =>
    Effect.gen(function* () {
      const ids = yield* Effect.all(Array.from({ length: 1000 }, () => newUuid))
      expect(new Set(ids).size).toBe(1000)
      for (const id of ids) expect(id).toMatch(V4)
      expect(Schema.is(UserId)(ids[0])).toBe(true)
      expect(Schema.is(JobId)(ids[1])).toBe(true)
    })
  )

  it.effect("sequential: a known sequence of v4-shaped UUIDs, the prefix first", () =>
    Effect.gen(function* () {
      const three = Effect.all([newUuid, newUuid, newUuid])
      expect(yield* three.pipe(Effect.provideService(Ids, Ids.sequential()))).toEqual([
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000003"
      ])
      const prefixed = yield* three.pipe(Effect.provideService(Ids, Ids.sequential("abc")))
      expect(prefixed[2]).toBe("abc00000-0000-4000-8000-000000000003")
      for (const id of prefixed) {
        expect(id).toMatch(V4)
        expect(Schema.is(ContentId)(id) && Schema.is(MessageId)(id)).toBe(true)
      }
      expect(() => Ids.sequential("not hex")).toThrow(/prefix/)
    })
  )

  it.effect("layerSequential: a fresh count each time the layer is built; the service is what `yield* Ids` gives", () =>
    Effect.gen(function* () {
      const two = Effect.gen(function* () {
        const ids = yield* Ids
        return [yield* ids.uuid, yield* newUuid]
      })
      const layer = Ids.layerSequential("1")
      const first = yield* two.pipe(Effect.provide(layer))
      const again = yield* two.pipe(Effect.provide(layer))
      expect(first).toEqual(["10000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002"])
      expect(again).toEqual(first)
    })
  )
})
