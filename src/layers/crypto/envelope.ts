/**
 * Envelope encryption shared by every key provider (KMS, local key, in-memory test key).
 *
 * Envelope format, version 1 (all integers big-endian):
 *   "SE" | version (u8 = 1) | keyId length (u8) | keyId (UTF-8) | wrapped key length (u16) |
 *   wrapped key | IV (12 bytes) | tag (16 bytes) | ciphertext
 * The content is AES-256-GCM under a 256-bit data key; the additional data binds the format
 * version, the purpose and the whole encryption context, so an envelope moved to another row,
 * column or user fails to open. The data key is wrapped by the provider under the purpose's
 * master key, bound to the partition context {purpose, userId} (live: the KMS EncryptionContext).
 * The header is not part of the additional data so that rotation can re-wrap a data key without
 * re-encrypting the content; a tampered header fails anyway, at unwrap or at the content's tag.
 */
import { type Clock, Effect, type Scope } from "effect"
import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto"
import {
  DecryptionFailed,
  type EncryptionContext,
  type EnvelopeInfo,
  type KeyPurpose,
  type KeyUnavailable,
  type SealedItem,
  type SealOptions
} from "../../services/crypto.js"
import type { Crypto } from "../../services/crypto.js"
import { traced } from "../../services/telemetry.js"
import { DataKeyCache, type DataKeyCachePolicy } from "./dataKeyCache.js"
import type { KeyProvider, Partition } from "./keyProvider.js"

export const ENVELOPE_VERSION = 1
const MAGIC_0 = 0x53 // "S"
const MAGIC_1 = 0x45 // "E"
const IV_BYTES = 12
const TAG_BYTES = 16
export const DATA_KEY_BYTES = 32
// Encrypting in slices keeps each slice's output in cache while it is copied into the envelope
// (256 KiB measured best at 5 MiB; 64 KiB and up are one slice or a few).
const SLICE = 256 * 1024

export type { GeneratedKey, KeyProvider, Partition } from "./keyProvider.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** Canonical, unambiguous bytes of a context: sorted [key, value] pairs as JSON. */
export const canonicalContext = (context: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.keys(context).sort().map((key) => [key, context[key]]))

const additionalData = (purpose: KeyPurpose, context: EncryptionContext): Buffer =>
  Buffer.from(`serenya/envelope/v${ENVELOPE_VERSION}\u0000${purpose}\u0000${canonicalContext(context)}`, "utf8")

export const partitionOf = (options: SealOptions): Partition => ({
  purpose: options.purpose,
  userId: options.context.userId
})

interface Parsed {
  readonly version: number
  readonly keyId: string
  readonly wrapped: Uint8Array
  readonly iv: Uint8Array
  readonly tag: Uint8Array
  readonly ciphertext: Uint8Array
  /** Offset where the IV starts: everything before it is the header. */
  readonly bodyOffset: number
}

const malformed = (why: string) => new DecryptionFailed({ message: `The envelope is not valid: ${why}` })

/** Parses without an Effect (the batch open's loop); a malformed envelope is a DecryptionFailed value. */
const parseEnvelopeSync = (envelope: Uint8Array): Parsed | DecryptionFailed => {
  if (envelope.length < 6 || envelope[0] !== MAGIC_0 || envelope[1] !== MAGIC_1) return malformed("unknown format")
  const version = envelope[2]!
  if (version !== ENVELOPE_VERSION) return malformed(`unsupported version ${version}`)
  const keyIdLength = envelope[3]!
  let offset = 4
  if (keyIdLength === 0 || offset + keyIdLength + 2 > envelope.length) return malformed("truncated key id")
  let keyId: string
  try {
    keyId = decoder.decode(envelope.subarray(offset, offset + keyIdLength))
  } catch {
    return malformed("key id is not UTF-8")
  }
  offset += keyIdLength
  const wrappedLength = (envelope[offset]! << 8) | envelope[offset + 1]!
  offset += 2
  if (wrappedLength === 0 || offset + wrappedLength + IV_BYTES + TAG_BYTES > envelope.length) return malformed("truncated")
  const wrapped = envelope.subarray(offset, offset + wrappedLength)
  offset += wrappedLength
  const bodyOffset = offset
  const iv = envelope.subarray(offset, offset + IV_BYTES)
  offset += IV_BYTES
  const tag = envelope.subarray(offset, offset + TAG_BYTES)
  offset += TAG_BYTES
  return { version, keyId, wrapped, iv, tag, ciphertext: envelope.subarray(offset), bodyOffset }
}

export const parseEnvelope = (envelope: Uint8Array): Effect.Effect<Parsed, DecryptionFailed> =>
  Effect.suspend(() => {
    const parsed = parseEnvelopeSync(envelope)
    return parsed instanceof DecryptionFailed ? Effect.fail(parsed) : Effect.succeed(parsed)
  })

// A cached data key seals many values with the same header: build it once per wrapped key.
const headers = new WeakMap<Uint8Array, { readonly keyId: string; readonly header: Uint8Array }>()

const headerFor = (keyId: string, wrapped: Uint8Array): Uint8Array => {
  const known = headers.get(wrapped)
  if (known && known.keyId === keyId) return known.header
  const header = buildHeader(keyId, wrapped)
  headers.set(wrapped, { keyId, header })
  return header
}

const buildHeader = (keyId: string, wrapped: Uint8Array): Uint8Array => {
  const keyIdBytes = encoder.encode(keyId)
  if (keyIdBytes.length === 0 || keyIdBytes.length > 255) throw new Error("key id must be 1–255 bytes")
  if (wrapped.length === 0 || wrapped.length > 0xffff) throw new Error("wrapped key must be 1–65535 bytes")
  const header = new Uint8Array(4 + keyIdBytes.length + 2 + wrapped.length)
  header[0] = MAGIC_0
  header[1] = MAGIC_1
  header[2] = ENVELOPE_VERSION
  header[3] = keyIdBytes.length
  header.set(keyIdBytes, 4)
  let offset = 4 + keyIdBytes.length
  header[offset] = wrapped.length >> 8
  header[offset + 1] = wrapped.length & 0xff
  offset += 2
  header.set(wrapped, offset)
  return header
}

/**
 * Seals synchronously with a key that must stay valid only until createCipheriv returns
 * (OpenSSL copies it), which is what lets the cache zero evicted keys safely.
 */
const sealWith = (
  key: Uint8Array,
  keyId: string,
  wrapped: Uint8Array,
  plaintext: Uint8Array,
  aad: Buffer,
  fillRandom: (target: Uint8Array) => void
): Uint8Array => {
  const header = headerFor(keyId, wrapped)
  const out = Buffer.allocUnsafe(header.length + IV_BYTES + TAG_BYTES + plaintext.length)
  out.set(header, 0)
  const iv = out.subarray(header.length, header.length + IV_BYTES)
  fillRandom(iv)
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  let position = header.length + IV_BYTES + TAG_BYTES
  for (let start = 0; start < plaintext.length; start += SLICE) {
    const encrypted = cipher.update(plaintext.subarray(start, Math.min(start + SLICE, plaintext.length)))
    out.set(encrypted, position)
    position += encrypted.length
  }
  cipher.final()
  out.set(cipher.getAuthTag(), header.length + IV_BYTES)
  return out
}

const openWith = (key: Uint8Array, parsed: Parsed, aad: Buffer): Uint8Array | undefined => {
  const decipher = createDecipheriv("aes-256-gcm", key, parsed.iv, { authTagLength: TAG_BYTES })
  decipher.setAAD(aad)
  decipher.setAuthTag(parsed.tag)
  const plaintext = decipher.update(parsed.ciphertext)
  try {
    decipher.final()
    return plaintext
  } catch {
    // Authentication failed: what update produced is garbage and is wiped, never returned.
    plaintext.fill(0)
    return undefined
  }
}

export interface EnvelopeOptions {
  readonly provider: KeyProvider
  readonly cachePolicy: (purpose: KeyPurpose) => DataKeyCachePolicy
  /** Source of IVs; the test layer passes a deterministic one. */
  readonly fillRandom?: (target: Uint8Array) => void
}

/**
 * A span per crypto call, but only inside a trace and with the tracer on (see `traced`): a
 * timeline opens 40 fields, 40 spans that would only be thrown away otherwise.
 */
const cryptoSpan = (name: string, purpose: KeyPurpose, bytes: number) =>
  traced(name, { requireParent: true, attributes: { "crypto.purpose": purpose, "crypto.bytes": bytes } })

/** The Crypto service over a provider; the scope's end zeroes every cached key. */
export const makeEnvelopeCrypto = (options: EnvelopeOptions): Effect.Effect<(typeof Crypto)["Service"], never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => new DataKeyCache(options.cachePolicy)), (cache) =>
    Effect.sync(() => cache.clear())
  ).pipe(Effect.map((cache) => envelopeCrypto(options, cache)))

const envelopeCrypto = (options: EnvelopeOptions, cache: DataKeyCache): (typeof Crypto)["Service"] => {
  const { provider } = options
  const fillRandom = options.fillRandom ?? ((target: Uint8Array) => void randomFillSync(target))

  // The hot paths are plain flatMaps over Clock, not generators: at 64 KiB the whole budget
  // for our work next to AES-GCM itself is a couple of microseconds.
  const seal = (plaintext: Uint8Array, sealOptions: SealOptions): Effect.Effect<Uint8Array, KeyUnavailable> =>
    Effect.clockWith((clock) =>
      Effect.flatMap(provider.currentKeyId(sealOptions.purpose), (currentKeyId) => {
        const partition = partitionOf(sealOptions)
        const aad = additionalData(sealOptions.purpose, sealOptions.context)
        const cached = cache.takeForEncrypt(partition, currentKeyId, clock.currentTimeMillisUnsafe(), (key, keyId, wrapped) =>
          sealWith(key, keyId, wrapped, plaintext, aad, fillRandom)
        )
        if (cached !== undefined) return Effect.succeed(cached)
        return Effect.map(provider.generate(partition), (generated) =>
          cache.adoptForEncrypt(partition, generated, clock.currentTimeMillisUnsafe(), (key) =>
            sealWith(key, generated.keyId, generated.wrapped, plaintext, aad, fillRandom)
          )
        )
      })
    ).pipe(cryptoSpan("Crypto.seal", sealOptions.purpose, plaintext.length))

  const decryptionFailed = Effect.fail(
    new DecryptionFailed({ message: "The data could not be decrypted: it was altered or belongs elsewhere" })
  )

  /** One parsed envelope and what opening it takes: its partition and its additional data. */
  interface Opening {
    readonly parsed: Parsed
    readonly partition: Partition
    readonly attempt: (key: Uint8Array) => Uint8Array | undefined
  }

  const openingOf = (parsed: Parsed, sealOptions: SealOptions): Opening => {
    const aad = additionalData(sealOptions.purpose, sealOptions.context)
    return { parsed, partition: partitionOf(sealOptions), attempt: (key) => openWith(key, parsed, aad) }
  }

  /** With the cached data key, synchronously: undefined when the key is not cached (then `unwrapAndOpen`). */
  const openCached = (o: Opening, now: number) => cache.useForDecrypt(o.partition, o.parsed.keyId, o.parsed.wrapped, now, o.attempt)

  /** Unwraps the data key with the provider, caches it (per policy) and opens. */
  const unwrapAndOpen = (o: Opening, clock: Clock.Clock): Effect.Effect<Uint8Array, DecryptionFailed | KeyUnavailable> =>
    Effect.flatMap(provider.unwrap(o.parsed.keyId, o.parsed.wrapped, o.partition), (key) => {
      const plaintext = cache.adoptForDecrypt(o.partition, o.parsed.keyId, o.parsed.wrapped, key, clock.currentTimeMillisUnsafe(), o.attempt)
      return plaintext === undefined ? decryptionFailed : Effect.succeed(plaintext)
    })

  /** The cached key when there is one (looked up when this runs: an earlier unwrap may have cached it), else unwrapped. */
  const openOne = (o: Opening, clock: Clock.Clock): Effect.Effect<Uint8Array, DecryptionFailed | KeyUnavailable> => {
    const hit = openCached(o, clock.currentTimeMillisUnsafe())
    if (!hit.found) return unwrapAndOpen(o, clock)
    return hit.result === undefined ? decryptionFailed : Effect.succeed(hit.result)
  }

  const open = (
    envelope: Uint8Array,
    sealOptions: SealOptions
  ): Effect.Effect<Uint8Array, DecryptionFailed | KeyUnavailable> =>
    Effect.flatMap(parseEnvelope(envelope), (parsed) =>
      Effect.clockWith((clock) => openOne(openingOf(parsed, sealOptions), clock))
    ).pipe(cryptoSpan("Crypto.open", sealOptions.purpose, envelope.length))

  const sealString = (plaintext: string, sealOptions: SealOptions) =>
    Effect.suspend(() => {
      const bytes = Buffer.from(plaintext, "utf8")
      return seal(bytes, sealOptions).pipe(Effect.ensuring(Effect.sync(() => bytes.fill(0))))
    })

  const openString = (envelope: Uint8Array, sealOptions: SealOptions) =>
    Effect.flatMap(open(envelope, sealOptions), (bytes) => Effect.sync(() => textOf(bytes)))

  /** UTF-8 text of opened bytes, which are zeroed once decoded. */
  const textOf = (bytes: Uint8Array): string => {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
    bytes.fill(0)
    return text
  }

  // A page of fields (a timeline: 40) in one Effect: a synchronous loop over node:crypto for every
  // envelope whose data key is cached; the others (parsed once) unwrap and cache their key, one
  // Effect each, as `open` does. Each envelope is checked exactly as `openString` checks it.
  const openStrings = (items: ReadonlyArray<SealedItem>): Effect.Effect<Array<string>, DecryptionFailed | KeyUnavailable> =>
    Effect.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      const texts = new Array<string>(items.length)
      let misses: Array<readonly [number, Opening]> | undefined
      for (let i = 0; i < items.length; i++) {
        const { envelope, options: sealOptions } = items[i]!
        const parsed = parseEnvelopeSync(envelope)
        if (parsed instanceof DecryptionFailed) return Effect.fail(parsed)
        const opening = openingOf(parsed, sealOptions)
        const hit = openCached(opening, now)
        if (!hit.found) {
          ;(misses ??= []).push([i, opening])
          continue
        }
        // Nothing opened so far leaves this loop: a page opens whole or not at all.
        if (hit.result === undefined) return decryptionFailed
        texts[i] = textOf(hit.result)
      }
      if (misses === undefined) return Effect.succeed(texts)
      return Effect.as(
        // one after the other: the first miss of a data key unwraps and caches it, the next ones find it
        Effect.forEach(misses, ([i, opening]) => Effect.map(openOne(opening, clock), (bytes) => void (texts[i] = textOf(bytes))), {
          discard: true
        }),
        texts
      )
    }).pipe(traced("Crypto.openMany", { requireParent: true, attributes: { "crypto.envelopes": items.length } }))

  const inspect = (envelope: Uint8Array): Effect.Effect<EnvelopeInfo, DecryptionFailed> =>
    Effect.map(parseEnvelope(envelope), ({ keyId, version }) => ({ keyId, version }))

  const rewrap = (
    envelope: Uint8Array,
    sealOptions: SealOptions
  ): Effect.Effect<Uint8Array, DecryptionFailed | KeyUnavailable> =>
    Effect.gen(function* () {
      const parsed = yield* parseEnvelope(envelope)
      const current = yield* provider.currentKeyId(sealOptions.purpose)
      if (parsed.keyId === current) return envelope
      // Prove the envelope belongs to this context before moving its key.
      const plaintext = yield* open(envelope, sealOptions)
      plaintext.fill(0)
      const moved = yield* provider.rewrap(parsed.keyId, parsed.wrapped, partitionOf(sealOptions))
      const header = headerFor(moved.keyId, moved.wrapped)
      const body = envelope.subarray(parsed.bodyOffset)
      const out = Buffer.allocUnsafe(header.length + body.length)
      out.set(header, 0)
      out.set(body, header.length)
      return out
    }).pipe(Effect.withSpan("Crypto.rewrap", {}, { captureStackTrace: false }))

  return {
    seal,
    open,
    sealString,
    openString,
    openStrings,
    currentKeyId: provider.currentKeyId,
    inspect,
    rewrap,
    forgetUser: (userId) => Effect.sync(() => cache.forgetUser(userId))
  }
}
