/**
 * The Crypto capability: envelope encryption of health data before it touches a disk, a bucket
 * or a table. Every seal binds an encryption context; an envelope opened with any other context
 * (another user's row, another column) fails with DecryptionFailed and never yields garbage.
 */
import { Context, type Effect, Schema } from "effect"
import { ErrorInfoId, RetryAfterId, transientFailureInfo } from "./errors.js"
import type { UserId } from "./ids.js"

/** Which master key wraps the data key: database fields and documents have keys of their own. */
export const KeyPurpose = Schema.Literals(["fields", "documents"])
export type KeyPurpose = typeof KeyPurpose.Type

/**
 * What a ciphertext is bound to. `userId` is required: it partitions data keys (and, live,
 * is part of the KMS EncryptionContext); the other entries (column, record id, …) are bound
 * through the AES-GCM additional data only.
 */
export interface EncryptionContext {
  readonly userId: UserId
  readonly [key: string]: string
}

export interface SealOptions {
  readonly purpose: KeyPurpose
  readonly context: EncryptionContext
}

export class DecryptionFailed extends Schema.TaggedError<DecryptionFailed>()("DecryptionFailed", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "DECRYPTION_FAILED", category: "technical", recovery: "escalate", status: 500 } as const
  }
}

export class KeyUnavailable extends Schema.TaggedError<KeyUnavailable>()("KeyUnavailable", {
  message: Schema.String,
  /** Throttling and outages are worth retrying; a disabled or missing key is not. */
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("KEY_UNAVAILABLE", "technical", this.transient, 503)
  }
  get [RetryAfterId]() {
    return 5
  }
}

/**
 * How a database field is bound: to its user, its column and its row. Sealing and opening the
 * same field must build the same options, which is why this is the only way to build them.
 */
export const fieldContext = (userId: UserId, table: string, column: string, recordId: string): SealOptions => ({
  purpose: "fields",
  context: { userId, field: `${table}.${column}`, recordId }
})

/** How a stored document is bound: to its user and its object key. */
export const documentContext = (userId: UserId, objectKey: string): SealOptions => ({
  purpose: "documents",
  context: { userId, object: objectKey }
})

/** One envelope of a batch and the options it was sealed with. */
export interface SealedItem {
  readonly envelope: Uint8Array
  readonly options: SealOptions
}

/** Where an envelope's data key is wrapped: enough to tell whether rotation must touch it. */
export interface EnvelopeInfo {
  readonly version: number
  readonly keyId: string
}

export class Crypto extends Context.Service<
  Crypto,
  {
    /** Encrypts under a data key bound to the context; the result is a self-describing envelope. */
    readonly seal: (plaintext: Uint8Array, options: SealOptions) => Effect.Effect<Uint8Array, KeyUnavailable>
    /** Opens an envelope sealed with exactly this purpose and context. */
    readonly open: (
      envelope: Uint8Array,
      options: SealOptions
    ) => Effect.Effect<Uint8Array, DecryptionFailed | KeyUnavailable>
    readonly sealString: (plaintext: string, options: SealOptions) => Effect.Effect<Uint8Array, KeyUnavailable>
    readonly openString: (
      envelope: Uint8Array,
      options: SealOptions
    ) => Effect.Effect<string, DecryptionFailed | KeyUnavailable>
    /**
     * Opens a batch of text envelopes (a page of fields) in one step; the texts come back in
     * order. Each is checked as `openString` checks it, and one that does not open fails the
     * whole batch: nothing of a page is returned unless all of it opened.
     */
    readonly openStrings: (items: ReadonlyArray<SealedItem>) => Effect.Effect<Array<string>, DecryptionFailed | KeyUnavailable>
    /** The key id of the master key new seals of this purpose use. */
    readonly currentKeyId: (purpose: KeyPurpose) => Effect.Effect<string, KeyUnavailable>
    readonly inspect: (envelope: Uint8Array) => Effect.Effect<EnvelopeInfo, DecryptionFailed>
    /**
     * Re-wraps the envelope's data key under the current master key of its purpose without
     * touching the content; returns the envelope unchanged when it already uses that key.
     */
    readonly rewrap: (
      envelope: Uint8Array,
      options: SealOptions
    ) => Effect.Effect<Uint8Array, DecryptionFailed | KeyUnavailable>
    /** Zeroes and drops every data key this process holds for the user (erasure). */
    readonly forgetUser: (userId: UserId) => Effect.Effect<void>
  }
>()("serenya/Crypto") {}
