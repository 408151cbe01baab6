/**
 * The test layer: objects in a Ref<Map>. Bytes and metadata are copied in and out, so a caller
 * mutating its buffer after put (or the one get returned) never changes what is stored.
 */
import { Effect, Layer, Ref } from "effect"
import {
  type ObjectMetadata,
  ObjectNotFound,
  Storage,
  type StoredObject,
  validateObjectKey,
  validateObjectKeyPrefix
} from "../../services/storage.js"

const copyMetadata = (metadata: ObjectMetadata): ObjectMetadata => ({
  userId: metadata.userId,
  uploadedAt: new Date(metadata.uploadedAt.getTime()),
  ...(metadata.contentType !== undefined ? { contentType: metadata.contentType } : {})
})

const copy = (object: StoredObject): StoredObject => ({
  bytes: object.bytes.slice(),
  metadata: copyMetadata(object.metadata)
})

export const makeMemoryStorage: Effect.Effect<(typeof Storage)["Service"]> = Effect.map(
  Ref.make(new Map<string, StoredObject>()),
  (ref) => ({
    put: (key, bytes, metadata) =>
      Effect.flatMap(Effect.fromResult(validateObjectKey(key)), (valid) =>
        Ref.update(ref, (objects) => new Map(objects).set(valid, copy({ bytes, metadata })))
      ).pipe(Effect.withSpan("Storage.put", { attributes: { "storage.provider": "memory" } })),

    get: (key) =>
      Effect.flatMap(Effect.fromResult(validateObjectKey(key)), (valid) =>
        Effect.flatMap(Ref.get(ref), (objects) => {
          const object = objects.get(valid)
          return object === undefined
            ? Effect.fail(new ObjectNotFound({ message: "No object is stored under this key", key: valid }))
            : Effect.succeed(copy(object))
        })
      ).pipe(Effect.withSpan("Storage.get", { attributes: { "storage.provider": "memory" } })),

    remove: (key) =>
      Effect.flatMap(Effect.fromResult(validateObjectKey(key)), (valid) =>
        Ref.update(ref, (objects) => {
          const next = new Map(objects)
          next.delete(valid)
          return next
        })
      ).pipe(Effect.withSpan("Storage.remove", { attributes: { "storage.provider": "memory" } })),

    exists: (key) =>
      Effect.flatMap(Effect.fromResult(validateObjectKey(key)), (valid) => Effect.map(Ref.get(ref), (objects) => objects.has(valid))).pipe(
        Effect.withSpan("Storage.exists", { attributes: { "storage.provider": "memory" } })
      ),

    list: (prefix) =>
      Effect.flatMap(Effect.fromResult(validateObjectKeyPrefix(prefix)), (valid) =>
        Effect.map(Ref.get(ref), (objects) => [...objects.keys()].filter((key) => key.startsWith(valid)).sort())
      ).pipe(Effect.withSpan("Storage.list", { attributes: { "storage.provider": "memory" } }))
  })
)

/** A fresh, empty store per layer build. */
export const StorageMemory: Layer.Layer<Storage> = Layer.effect(Storage, makeMemoryStorage)
