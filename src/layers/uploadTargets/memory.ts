/**
 * The test layer: targets are `memory://` URLs and incoming objects live in a Ref<Map>. Nothing
 * can POST to a memory URL, so tests put bytes where a client's upload would land with
 * `MemoryUploads.deposit` (provided beside UploadTargets by this layer).
 */
import { Clock, Context, Effect, Layer, Ref } from "effect"
import { PayloadTooLarge } from "../../services/errors.js"
import { validateObjectKey } from "../../services/storage.js"
import {
  type UploadTargetRequest,
  uploadExpirySeconds,
  UploadNotReceived,
  UploadTargets
} from "../../services/uploadTargets.js"

export class MemoryUploads extends Context.Service<
  MemoryUploads,
  {
    /** What a client's upload would put under `key` (copied in), whether or not a target was issued. */
    readonly deposit: (key: string, bytes: Uint8Array) => Effect.Effect<void>
    /** Keys that hold an object, sorted. */
    readonly keys: Effect.Effect<ReadonlyArray<string>>
    /** The last request a target was issued for under `key`. */
    readonly issued: (key: string) => Effect.Effect<UploadTargetRequest | undefined>
  }
>()("serenya/test/MemoryUploads") {}

export const makeMemoryUploadTargets = Effect.gen(function* () {
  const objects = yield* Ref.make(new Map<string, Uint8Array>())
  const requests = yield* Ref.make(new Map<string, UploadTargetRequest>())

  const targets: (typeof UploadTargets)["Service"] = {
    issue: (request) =>
      Effect.gen(function* () {
        const key = yield* Effect.fromResult(validateObjectKey(request.key))
        const now = yield* Clock.currentTimeMillis
        yield* Ref.update(requests, (all) => new Map(all).set(key, request))
        return {
          url: `memory://uploads/${key}`,
          method: "POST" as const,
          fields: { key, "Content-Type": request.contentType },
          expiresAt: new Date(now + uploadExpirySeconds(request.expiresInSeconds) * 1000)
        }
      }),
    read: (key, maxBytes) =>
      Effect.gen(function* () {
        const valid = yield* Effect.fromResult(validateObjectKey(key))
        const bytes = (yield* Ref.get(objects)).get(valid)
        if (bytes === undefined || bytes.length === 0) {
          return yield* new UploadNotReceived({ message: "Nothing was uploaded to this target" })
        }
        if (bytes.length > maxBytes) {
          return yield* new PayloadTooLarge({ message: `The upload is larger than ${maxBytes} bytes`, limitBytes: maxBytes })
        }
        return bytes.slice()
      }),
    remove: (key) =>
      Effect.flatMap(Effect.fromResult(validateObjectKey(key)), (valid) =>
        Ref.update(objects, (all) => {
          const next = new Map(all)
          next.delete(valid)
          return next
        })
      )
  }

  const control: (typeof MemoryUploads)["Service"] = {
    deposit: (key, bytes) => Ref.update(objects, (all) => new Map(all).set(key, bytes.slice())),
    keys: Effect.map(Ref.get(objects), (all) => [...all.keys()].sort()),
    issued: (key) => Effect.map(Ref.get(requests), (all) => all.get(key))
  }
  return { targets, control }
})

/** A fresh, empty store per layer build: UploadTargets and its MemoryUploads control. */
export const UploadTargetsMemory: Layer.Layer<UploadTargets | MemoryUploads> = Layer.effectContext(
  Effect.map(makeMemoryUploadTargets, ({ targets, control }) =>
    Context.make(UploadTargets, targets).pipe(Context.add(MemoryUploads, control))
  )
)
