/** Layer memoisation across Effect.provide in 4.1.5: within one run, across runs, with Layer.fresh and { local: true }. */
import { Context, Effect, Layer, Ref } from "effect"
class Store extends Context.Service<Store, Ref.Ref<number>>()("Store") {}
let builds = 0
const StoreLive = Layer.effect(Store, Effect.sync(() => builds++).pipe(Effect.andThen(Ref.make(0))))
const bump = Effect.flatMap(Store, (ref) => Ref.updateAndGet(ref, (n) => n + 1))
const count = async (label: string, eff: Effect.Effect<unknown>) => { builds = 0; const r = await Effect.runPromise(eff); console.log(label.padEnd(70), "builds:", builds, "result:", JSON.stringify(r)) }

await count("two sequential provides of the same layer in one run", Effect.all([bump.pipe(Effect.provide(StoreLive)), bump.pipe(Effect.provide(StoreLive))]))
await count("nested provide(StoreLive) twice", bump.pipe(Effect.provide(StoreLive), Effect.provide(StoreLive)))
await count("sequential provides, second with { local: true }", Effect.all([bump.pipe(Effect.provide(StoreLive)), bump.pipe(Effect.provide(StoreLive, { local: true }))]))
await count("sequential provides, second with Layer.fresh", Effect.all([bump.pipe(Effect.provide(StoreLive)), bump.pipe(Effect.provide(Layer.fresh(StoreLive)))]))
builds = 0
await Effect.runPromise(bump.pipe(Effect.provide(StoreLive)))
await Effect.runPromise(bump.pipe(Effect.provide(StoreLive)))
console.log("two separate Effect.runPromise calls".padEnd(70), "builds:", builds)
