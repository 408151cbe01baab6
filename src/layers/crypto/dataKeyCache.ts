/**
 * A bounded cache of plaintext data keys, in the manner of the AWS Encryption SDK's caching
 * materials manager: an encryption key is reused for at most `maxUses` seals and `maxAge`, per
 * partition (purpose + user); unwrapped keys are kept for `maxAge` so that reading a
 * conversation unwraps its data key once, not once per message. At most `maxEntries` keys of
 * each kind are held; every key that leaves the cache is zeroed.
 *
 * The policy is read once per purpose, when the cache first serves it.
 *
 * Keys are only ever handed to a synchronous `use` callback (which creates the cipher, and
 * OpenSSL copies the key), so zeroing an evicted key can never pull it from under a caller.
 */
import { Duration } from "effect"
import type { KeyPurpose } from "../../services/crypto.js"
import type { GeneratedKey, Partition } from "./keyProvider.js"

export interface DataKeyCachePolicy {
  readonly maxAge: Duration.Input
  /** Seals per cached encryption key; 1 means a fresh data key for every seal (no caching). */
  readonly maxUses: number
  readonly maxEntries: number
}

export const NO_CACHE: DataKeyCachePolicy = { maxAge: 0, maxUses: 1, maxEntries: 0 }

/** Every provider's policy: fields cache their data keys as configured; a document is sealed once and read once, a fresh key each time. */
export const defaultCachePolicy =
  (fields: DataKeyCachePolicy) =>
  (purpose: KeyPurpose): DataKeyCachePolicy =>
    purpose === "fields" ? fields : NO_CACHE

interface EncryptEntry {
  readonly keyId: string
  readonly key: Uint8Array
  readonly wrapped: Uint8Array
  readonly createdAt: number
  uses: number
}

interface Limits {
  readonly maxAgeMillis: number
  readonly maxUses: number
  readonly maxEntries: number
}

interface DecryptEntry {
  readonly key: Uint8Array
  readonly createdAt: number
}

const partitionKey = (p: Partition) => `${p.purpose}\u0000${p.userId}`
const wrappedKey = (p: Partition, keyId: string, wrapped: Uint8Array) =>
  `${partitionKey(p)}\u0000${keyId}\u0000${Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).toString("base64")}`

export class DataKeyCache {
  private readonly encrypt = new Map<string, EncryptEntry>()
  private readonly decrypt = new Map<string, DecryptEntry>()

  /** Each purpose's limits, read from the policy once: a timeline page asks 40 times per request. */
  private readonly resolved = new Map<KeyPurpose, Limits | undefined>()

  constructor(private readonly policyFor: (purpose: KeyPurpose) => DataKeyCachePolicy) {}

  private cachesAt(purpose: KeyPurpose): Limits | undefined {
    if (this.resolved.has(purpose)) return this.resolved.get(purpose)
    const policy = this.policyFor(purpose)
    const limits = {
      maxAgeMillis: Duration.toMillis(Duration.fromInputUnsafe(policy.maxAge)),
      maxUses: policy.maxUses,
      maxEntries: policy.maxEntries
    }
    const caching = limits.maxUses > 1 && limits.maxAgeMillis > 0 && limits.maxEntries > 0 ? limits : undefined
    this.resolved.set(purpose, caching)
    return caching
  }

  /** Seals with a cached key when one is still within bounds for this partition and master key. */
  takeForEncrypt<A>(
    partition: Partition,
    currentKeyId: string,
    now: number,
    use: (key: Uint8Array, keyId: string, wrapped: Uint8Array) => A
  ): A | undefined {
    const limits = this.cachesAt(partition.purpose)
    if (!limits) return undefined
    const id = partitionKey(partition)
    const entry = this.encrypt.get(id)
    if (!entry) return undefined
    if (entry.keyId !== currentKeyId || now - entry.createdAt >= limits.maxAgeMillis || entry.uses >= limits.maxUses) {
      this.encrypt.delete(id)
      entry.key.fill(0)
      return undefined
    }
    entry.uses++
    return use(entry.key, entry.keyId, entry.wrapped)
  }

  /** Takes ownership of a freshly generated key: caches it (and its unwrapped twin) or zeroes it after use. */
  adoptForEncrypt<A>(partition: Partition, generated: GeneratedKey, now: number, use: (key: Uint8Array) => A): A {
    const limits = this.cachesAt(partition.purpose)
    try {
      return use(generated.plaintext)
    } finally {
      if (limits) {
        const id = partitionKey(partition)
        this.encrypt.get(id)?.key.fill(0)
        this.encrypt.delete(id)
        this.encrypt.set(id, {
          keyId: generated.keyId,
          key: generated.plaintext,
          wrapped: generated.wrapped,
          createdAt: now,
          uses: 1
        })
        this.evict(this.encrypt, limits.maxEntries)
        // A separate copy, so that evicting one never zeroes the other.
        this.putDecrypt(partition, generated.keyId, generated.wrapped, Uint8Array.from(generated.plaintext), now, limits.maxEntries)
      } else {
        generated.plaintext.fill(0)
      }
    }
  }

  useForDecrypt<A>(
    partition: Partition,
    keyId: string,
    wrapped: Uint8Array,
    now: number,
    use: (key: Uint8Array) => A
  ): { readonly found: true; readonly result: A } | { readonly found: false } {
    const limits = this.cachesAt(partition.purpose)
    if (!limits) return { found: false }
    const id = wrappedKey(partition, keyId, wrapped)
    const entry = this.decrypt.get(id)
    if (!entry) return { found: false }
    if (now - entry.createdAt >= limits.maxAgeMillis) {
      this.decrypt.delete(id)
      entry.key.fill(0)
      return { found: false }
    }
    // Re-insert: Map order is the LRU order.
    this.decrypt.delete(id)
    this.decrypt.set(id, entry)
    return { found: true, result: use(entry.key) }
  }

  /** Takes ownership of an unwrapped key: caches it or zeroes it after use. */
  adoptForDecrypt<A>(
    partition: Partition,
    keyId: string,
    wrapped: Uint8Array,
    key: Uint8Array,
    now: number,
    use: (key: Uint8Array) => A
  ): A {
    const limits = this.cachesAt(partition.purpose)
    try {
      return use(key)
    } finally {
      if (limits) this.putDecrypt(partition, keyId, wrapped, key, now, limits.maxEntries)
      else key.fill(0)
    }
  }

  private putDecrypt(partition: Partition, keyId: string, wrapped: Uint8Array, key: Uint8Array, now: number, max: number) {
    const id = wrappedKey(partition, keyId, wrapped)
    this.decrypt.get(id)?.key.fill(0)
    this.decrypt.delete(id)
    this.decrypt.set(id, { key, createdAt: now })
    this.evict(this.decrypt, max)
  }

  private evict(map: Map<string, { readonly key: Uint8Array }>, max: number) {
    while (map.size > max) {
      const oldest = map.keys().next()
      if (oldest.done) return
      map.get(oldest.value)?.key.fill(0)
      map.delete(oldest.value)
    }
  }

  /**
   * Zeroes and forgets every key of the user's partitions (their account was erased): a key left
   * here would still open whatever copy of their data survives elsewhere, until it aged out.
   */
  forgetUser(userId: string) {
    const owned = (id: string) => id.split("\u0000")[1] === userId
    for (const map of [this.encrypt, this.decrypt] as const) {
      for (const [id, entry] of map) {
        if (!owned(id)) continue
        entry.key.fill(0)
        map.delete(id)
      }
    }
  }

  /** Zeroes and forgets every key (layer shutdown). */
  clear() {
    for (const entry of this.encrypt.values()) entry.key.fill(0)
    for (const entry of this.decrypt.values()) entry.key.fill(0)
    this.encrypt.clear()
    this.decrypt.clear()
  }

  get size() {
    return { encrypt: this.encrypt.size, decrypt: this.decrypt.size }
  }
}
