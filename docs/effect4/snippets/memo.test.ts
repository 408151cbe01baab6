/** Does state leak between it.effect tests that each Effect.provide the same layer value? */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Ref } from "effect"
class Store extends Context.Service<Store, Ref.Ref<number>>()("Store") {}
const StoreLive = Layer.effect(Store, Ref.make(0))
const bump = Effect.flatMap(Store, (ref) => Ref.updateAndGet(ref, (n) => n + 1))
describe("per-test provide", () => {
  it.effect("first test sees a fresh store", () => Effect.gen(function*() { expect(yield* bump).toBe(1) }).pipe(Effect.provide(StoreLive)))
  it.effect("second test sees a fresh store too", () => Effect.gen(function*() { expect(yield* bump).toBe(1) }).pipe(Effect.provide(StoreLive)))
})
