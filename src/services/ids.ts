/**
 * The branded ids every layer speaks in (a UserId can never be passed where a JobId is meant), and
 * `Ids`, where new ones come from: random v4 UUIDs by default, so production wires nothing; a test
 * provides `Ids.sequential()` and knows every id a program will choose.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { randomUUID } from "node:crypto"

export const UserId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type
export const ContentId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("ContentId"))
export type ContentId = typeof ContentId.Type
export const JobId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("JobId"))
export type JobId = typeof JobId.Type
export const UploadId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("UploadId"))
export type UploadId = typeof UploadId.Type
export const ConversationId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("ConversationId"))
export type ConversationId = typeof ConversationId.Type
export const MessageId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type
export const DeviceId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("DeviceId"))
export type DeviceId = typeof DeviceId.Type

export interface IdSource {
  /** A new UUID, v4-shaped (it passes every branded id's `Schema.isUUID()` check). */
  readonly uuid: Effect.Effect<string>
}

const random: IdSource = { uuid: Effect.sync(() => randomUUID()) }

const HEX_PREFIX = /^[0-9a-f]{0,8}$/

/**
 * Where programs take new ids from. A `Context.Reference`: without a provided one, `yield* Ids`
 * gives the random source, so nothing in src/main provides it.
 */
export class Ids extends Context.Reference<IdSource>("serenya/Ids", { defaultValue: () => random }) {
  /**
   * A deterministic source for tests: `<prefix padded with 0 to 8 hex digits>-0000-4000-8000-<n>`,
   * n = 1, 2, 3 … in 12 hex digits: `Ids.sequential()` gives `00000000-0000-4000-8000-000000000001`
   * first. Each call starts its own count.
   */
  static sequential(prefix = ""): IdSource {
    if (!HEX_PREFIX.test(prefix)) throw new Error(`Ids.sequential: the prefix must be 0 to 8 lower-case hex digits, not ${prefix}`)
    const head = `${prefix.padEnd(8, "0")}-0000-4000-8000-`
    let n = 0
    return { uuid: Effect.sync(() => `${head}${(++n).toString(16).padStart(12, "0")}`) }
  }

  /** `sequential(prefix)` as a layer: a fresh count each time the layer is built. */
  static layerSequential(prefix = ""): Layer.Layer<never> {
    return Layer.sync(Ids, () => Ids.sequential(prefix))
  }
}

/** A new UUID from the current `Ids`. */
export const newUuid: Effect.Effect<string> = Ids.use((ids) => ids.uuid)
