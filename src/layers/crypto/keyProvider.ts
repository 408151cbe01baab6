/**
 * What a master-key holder (KMS, the local key files, the in-memory test key) must do for the
 * envelope code: generate, unwrap and re-wrap data keys bound to a partition. A module of its own
 * so that the envelope code, the data-key cache and every provider depend on it and not on each
 * other.
 */
import type { Effect } from "effect"
import type { DecryptionFailed, KeyPurpose, KeyUnavailable } from "../../services/crypto.js"

/** The partition a data key is bound to (and cached under). */
export type Partition = Readonly<{ purpose: KeyPurpose; userId: string }>

export interface GeneratedKey {
  readonly keyId: string
  /** Owned by the caller, who zeroes it. */
  readonly plaintext: Uint8Array
  readonly wrapped: Uint8Array
}

/** What a master-key holder must do; everything else is shared. */
export interface KeyProvider {
  readonly name: string
  readonly currentKeyId: (purpose: KeyPurpose) => Effect.Effect<string, KeyUnavailable>
  readonly generate: (partition: Partition) => Effect.Effect<GeneratedKey, KeyUnavailable>
  /** Returns a fresh buffer, owned by the caller. A wrong key, context or blob is DecryptionFailed. */
  readonly unwrap: (
    keyId: string,
    wrapped: Uint8Array,
    partition: Partition
  ) => Effect.Effect<Uint8Array, DecryptionFailed | KeyUnavailable>
  /** Moves a wrapped data key under the purpose's current master key. */
  readonly rewrap: (
    keyId: string,
    wrapped: Uint8Array,
    partition: Partition
  ) => Effect.Effect<{ readonly keyId: string; readonly wrapped: Uint8Array }, DecryptionFailed | KeyUnavailable>
}
