/**
 * Opening our sealed database fields with node:crypto and nothing else, for the benchmark's floor.
 *
 * It does what opening a `fields` envelope costs in our Crypto local layer and no more: parse the
 * envelope, find the data key (in a cache, or unwrap it under the HKDF-derived wrapping key of the
 * master key from LOCAL_MASTER_KEY), then AES-256-GCM with the encryption context as additional
 * data. Every constant below is restated from the module named next to it, so this file imports
 * nothing of ours and, through that, no Effect. test/bench/honestFields.test.ts seals with our
 * real layer and opens here, so a drift between the two fails there.
 *
 * What it leaves out, knowingly: the `documents` purpose (the timeline never opens one), sealing,
 * rotation, the re-read of DATA_DIR/keys when an envelope names a master key we do not hold (the
 * floor knows the LOCAL_MASTER_KEY key only), spans, and zeroing the plaintext bytes after use.
 */
import { createDecipheriv, createHash, hkdfSync } from "node:crypto"

// src/layers/crypto/envelope.ts: "SE" | version 1 | keyId length u8 | keyId | wrapped length u16 BE | wrapped | IV | tag | ciphertext
const MAGIC_0 = 0x53
const MAGIC_1 = 0x45
const ENVELOPE_VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16
// src/layers/crypto/local.ts: a wrapped data key is IV (12) | tag (16) | 32 encrypted key bytes.
const WRAP_IV = 12
const WRAP_TAG = 16
const DATA_KEY_BYTES = 32
// src/services/crypto.ts `fieldContext`: database fields are always sealed under the `fields` purpose.
const PURPOSE = "fields"

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true })

/** src/layers/crypto/envelope.ts `canonicalContext`: sorted [key, value] pairs as JSON. */
const canonical = (context: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.keys(context).sort().map((key) => [key, context[key]]))

/** src/layers/crypto/local.ts `decodeMasterKey`: 64 hex digits, else base64; 32 bytes either way. */
export const masterKeyFrom = (text: string): Buffer => {
  const trimmed = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64")
  if (bytes.length !== 32) throw new Error("LOCAL_MASTER_KEY must be 32 bytes, as 64 hex digits or base64")
  return bytes
}

/** src/layers/crypto/local.ts `keyIdOf`: the key named by a fingerprint of it. */
const keyIdOf = (masterKey: Uint8Array) => `local/${createHash("sha256").update(masterKey).digest("hex").slice(0, 16)}`

/**
 * src/layers/crypto/dataKeyCache.ts: unwrapped keys of the `fields` purpose are kept per
 * (purpose, user, key id, wrapped key) for `maxAge`, at most `maxEntries` of them, least recently
 * used evicted first; nothing is cached when maxUses ≤ 1, maxAge ≤ 0 or maxEntries ≤ 0. The
 * defaults and variables are those of src/config.ts (DATA_KEY_CACHE_*).
 */
export interface CachePolicy {
  readonly maxAgeMillis: number
  readonly maxUses: number
  readonly maxEntries: number
}

const positiveIntFrom = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const text = env[name]
  if (text === undefined || text.trim() === "") return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1`)
  return value
}

/** The cache policy our CryptoLocal layer reads from the same variables, with src/config.ts's defaults. */
export const cachePolicyFromEnv = (env: NodeJS.ProcessEnv = process.env): CachePolicy => ({
  maxAgeMillis: positiveIntFrom(env, "DATA_KEY_CACHE_MAX_AGE_MS", 5 * 60_000),
  maxUses: positiveIntFrom(env, "DATA_KEY_CACHE_MAX_USES", 1000),
  maxEntries: positiveIntFrom(env, "DATA_KEY_CACHE_MAX_ENTRIES", 1000)
})

export interface HonestFields {
  /** Opens a field sealed with `fieldContext(userId, table, column, recordId)`; throws when it does not authenticate. */
  readonly openField: (envelope: Uint8Array, userId: string, table: string, column: string, recordId: string) => string
  /** Unwrapped keys held (for tests). */
  readonly cachedKeys: () => number
}

const fail = (why: string): never => {
  throw new Error(`the field could not be opened: ${why}`)
}

export const makeHonestFields = (masterKey: Uint8Array, policy: CachePolicy): HonestFields => {
  const keyId = keyIdOf(masterKey)
  // src/layers/crypto/local.ts `wrappingKey`: HKDF-SHA256(master, salt "serenya/local-kms", info "serenya/<purpose>");
  // ours derives it once per master key and purpose too.
  const kek = Buffer.from(hkdfSync("sha256", masterKey, "serenya/local-kms", `serenya/${PURPOSE}`, 32))
  const caches = policy.maxUses > 1 && policy.maxAgeMillis > 0 && policy.maxEntries > 0
  const cache = new Map<string, { readonly key: Buffer; readonly createdAt: number }>()

  const unwrap = (wrapped: Uint8Array, userId: string): Buffer => {
    if (wrapped.length !== WRAP_IV + WRAP_TAG + DATA_KEY_BYTES) return fail("wrapped key of the wrong size")
    const decipher = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, WRAP_IV), { authTagLength: WRAP_TAG })
    // src/layers/crypto/local.ts `wrapAad`: the data key is bound to its partition {purpose, userId}.
    decipher.setAAD(Buffer.from(`serenya/data-key/v1\u0000${canonical({ purpose: PURPOSE, userId })}`, "utf8"))
    decipher.setAuthTag(wrapped.subarray(WRAP_IV, WRAP_IV + WRAP_TAG))
    const key = decipher.update(wrapped.subarray(WRAP_IV + WRAP_TAG))
    try {
      decipher.final()
    } catch {
      key.fill(0)
      return fail("the data key does not unwrap")
    }
    return key
  }

  const dataKey = (envelopeKeyId: string, wrapped: Uint8Array, userId: string): Buffer => {
    if (envelopeKeyId !== keyId) return fail("sealed under another master key")
    if (!caches) return unwrap(wrapped, userId)
    // The same cache key as ours: partition, key id and the wrapped bytes.
    const id = `${PURPOSE}\u0000${userId}\u0000${envelopeKeyId}\u0000${Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).toString("base64")}`
    const now = Date.now()
    const hit = cache.get(id)
    if (hit !== undefined && now - hit.createdAt < policy.maxAgeMillis) {
      // Map order is the LRU order, as in ours.
      cache.delete(id)
      cache.set(id, hit)
      return hit.key
    }
    if (hit !== undefined) {
      cache.delete(id)
      hit.key.fill(0)
    }
    const key = unwrap(wrapped, userId)
    cache.set(id, { key, createdAt: now })
    while (cache.size > policy.maxEntries) {
      const oldest = cache.keys().next().value!
      cache.get(oldest)!.key.fill(0)
      cache.delete(oldest)
    }
    return key
  }

  const openField = (envelope: Uint8Array, userId: string, table: string, column: string, recordId: string): string => {
    if (envelope.length < 6 || envelope[0] !== MAGIC_0 || envelope[1] !== MAGIC_1) return fail("unknown format")
    if (envelope[2] !== ENVELOPE_VERSION) return fail("unsupported version")
    const keyIdLength = envelope[3]!
    let offset = 4
    if (keyIdLength === 0 || offset + keyIdLength + 2 > envelope.length) return fail("truncated key id")
    let envelopeKeyId: string
    try {
      envelopeKeyId = fatalUtf8.decode(envelope.subarray(offset, offset + keyIdLength))
    } catch {
      return fail("key id is not UTF-8")
    }
    offset += keyIdLength
    const wrappedLength = (envelope[offset]! << 8) | envelope[offset + 1]!
    offset += 2
    if (wrappedLength === 0 || offset + wrappedLength + IV_BYTES + TAG_BYTES > envelope.length) return fail("truncated")
    const wrapped = envelope.subarray(offset, offset + wrappedLength)
    offset += wrappedLength
    const iv = envelope.subarray(offset, offset + IV_BYTES)
    const tag = envelope.subarray(offset + IV_BYTES, offset + IV_BYTES + TAG_BYTES)
    const ciphertext = envelope.subarray(offset + IV_BYTES + TAG_BYTES)

    const key = dataKey(envelopeKeyId, wrapped, userId)
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES })
    // The content's additional data (src/layers/crypto/envelope.ts `additionalData`) binds the
    // version, the purpose and the whole context of src/services/crypto.ts `fieldContext`.
    const context = { userId, field: `${table}.${column}`, recordId }
    decipher.setAAD(Buffer.from(`serenya/envelope/v${ENVELOPE_VERSION}\u0000${PURPOSE}\u0000${canonical(context)}`, "utf8"))
    decipher.setAuthTag(tag)
    const plaintext = decipher.update(ciphertext)
    // Without caching the key is ours alone: wiped once the cipher holds its copy.
    if (!caches) key.fill(0)
    try {
      decipher.final()
    } catch {
      plaintext.fill(0)
      return fail("altered, or it belongs to another row, column or user")
    }
    // Our openString decodes leniently too (Buffer#toString), so both give the same text.
    return plaintext.toString("utf8")
  }

  return { openField, cachedKeys: () => cache.size }
}

/** The floor's field opener from LOCAL_MASTER_KEY and DATA_KEY_CACHE_*, as our local layer reads them. */
export const honestFieldsFromEnv = (env: NodeJS.ProcessEnv = process.env): HonestFields => {
  const text = env.LOCAL_MASTER_KEY
  // Our layer falls back to key files under DATA_DIR/keys; the floor needs the key given.
  if (text === undefined || text.trim() === "") throw new Error("LOCAL_MASTER_KEY is required by the honest baseline")
  return makeHonestFields(masterKeyFrom(text), cachePolicyFromEnv(env))
}
