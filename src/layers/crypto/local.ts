/**
 * The key provider that needs no cloud (the `npm start` default): master keys under DATA_DIR/keys
 * (mode 0600, created on first start) or one from LOCAL_MASTER_KEY. It (and the tests' in-memory
 * provider, ./memory.ts, which shares its wrapping) wraps data keys with AES-256-GCM under a
 * per-purpose key derived from the master key (HKDF-SHA256), bound to the partition context,
 * so fields and documents never share a wrapping key — the local analogue of two KMS keys.
 */
import { Effect, Layer, Option, Redacted } from "effect"
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { AppInfoConfig } from "../../config/app.js"
import { CryptoConfig } from "../../config/crypto.js"
import { Crypto, DecryptionFailed, type KeyPurpose, KeyUnavailable } from "../../services/crypto.js"
import { type DataKeyCachePolicy, defaultCachePolicy } from "./dataKeyCache.js"
import { canonicalContext, DATA_KEY_BYTES, type KeyProvider, makeEnvelopeCrypto, type Partition } from "./envelope.js"

const WRAP_IV = 12
const WRAP_TAG = 16

export interface Keyring {
  readonly current: string
  readonly keys: ReadonlyMap<string, Uint8Array>
}

/** Key ids name the key by fingerprint, never by content. */
export const keyIdOf = (masterKey: Uint8Array) =>
  `local/${createHash("sha256").update(masterKey).digest("hex").slice(0, 16)}`

const wrappingKey = (masterKey: Uint8Array, purpose: KeyPurpose) =>
  Buffer.from(hkdfSync("sha256", masterKey, "serenya/local-kms", `serenya/${purpose}`, 32))

const wrapAad = (partition: Partition) => Buffer.from(`serenya/data-key/v1\u0000${canonicalContext(partition)}`, "utf8")

/**
 * A KeyProvider over a keyring held in memory; `nextBytes` supplies data keys and IVs. `reload`,
 * when given, is run before unwrapping under a key id the keyring does not hold: a key rotated in
 * by another process (`npm run crypto:rotate`) is picked up without a restart.
 */
export const keyringProvider = (
  name: string,
  keyring: () => Keyring,
  nextBytes: (size: number) => Uint8Array,
  reload?: Effect.Effect<void>
): KeyProvider => {
  // Deriving a wrapping key costs more than the wrap itself: derive each once, keyed by the
  // master key's bytes so a rotated or removed key never reuses a stale derivation.
  const derived = new WeakMap<Uint8Array, Map<KeyPurpose, Buffer>>()
  const kekFor = (keyId: string, purpose: KeyPurpose): Buffer | undefined => {
    const master = keyring().keys.get(keyId)
    if (!master) return undefined
    let byPurpose = derived.get(master)
    if (!byPurpose) derived.set(master, (byPurpose = new Map()))
    let kek = byPurpose.get(purpose)
    if (!kek) byPurpose.set(purpose, (kek = wrappingKey(master, purpose)))
    return kek
  }

  const wrap = (keyId: string, dataKey: Uint8Array, partition: Partition) => {
    const kek = kekFor(keyId, partition.purpose)
    if (!kek) throw new Error("unknown master key")
    const iv = nextBytes(WRAP_IV)
    const cipher = createCipheriv("aes-256-gcm", kek, iv, { authTagLength: WRAP_TAG })
    cipher.setAAD(wrapAad(partition))
    const encrypted = Buffer.concat([cipher.update(dataKey), cipher.final()])
    return Buffer.concat([iv, cipher.getAuthTag(), encrypted])
  }

  const unwrapSync = (keyId: string, wrapped: Uint8Array, partition: Partition): Uint8Array | undefined => {
    const kek = kekFor(keyId, partition.purpose)
    if (!kek || wrapped.length !== WRAP_IV + WRAP_TAG + DATA_KEY_BYTES) return undefined
    const decipher = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, WRAP_IV), { authTagLength: WRAP_TAG })
    decipher.setAAD(wrapAad(partition))
    decipher.setAuthTag(wrapped.subarray(WRAP_IV, WRAP_IV + WRAP_TAG))
    const key = decipher.update(wrapped.subarray(WRAP_IV + WRAP_TAG))
    try {
      decipher.final()
      return key
    } catch {
      key.fill(0)
      return undefined
    }
  }

  const attempt = (keyId: string, wrapped: Uint8Array, partition: Partition) =>
    Effect.suspend(() => {
      const key = unwrapSync(keyId, wrapped, partition)
      return key
        ? Effect.succeed<Uint8Array>(key)
        : Effect.fail(new DecryptionFailed({ message: "The data key could not be unwrapped" }))
    })
  const unwrap = (keyId: string, wrapped: Uint8Array, partition: Partition) =>
    Effect.suspend(() =>
      reload !== undefined && !keyring().keys.has(keyId)
        ? Effect.andThen(reload, attempt(keyId, wrapped, partition))
        : attempt(keyId, wrapped, partition)
    )

  return {
    name,
    currentKeyId: () => Effect.sync(() => keyring().current),
    generate: (partition) =>
      Effect.sync(() => {
        const { current } = keyring()
        const plaintext = nextBytes(DATA_KEY_BYTES)
        return { keyId: current, plaintext, wrapped: wrap(current, plaintext, partition) }
      }),
    unwrap,
    rewrap: (keyId, wrapped, partition) =>
      Effect.flatMap(unwrap(keyId, wrapped, partition), (key) =>
        Effect.sync(() => {
          const { current } = keyring()
          const moved = { keyId: current, wrapped: wrap(current, key, partition) }
          key.fill(0)
          return moved
        })
      )
  }
}

// ---------------------------------------------------------------------------------------------
// Master keys on disk

const KEYS_DIR = "keys"
const CURRENT_FILE = "current"

const decodeMasterKey = (text: string): Uint8Array | undefined => {
  const trimmed = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64")
  return bytes.length === 32 ? bytes : undefined
}

const keyUnavailable = (message: string) => new KeyUnavailable({ message, transient: false })

/** Loads every master key under DATA_DIR/keys, creating the first one (0600) when there is none. */
export const loadLocalKeyring = (
  dataDir: string,
  fromEnv: Option.Option<Redacted.Redacted<string>>
): Effect.Effect<Keyring, KeyUnavailable> =>
  Effect.tryPromise({
    try: async (): Promise<Keyring> => {
      const dir = path.join(dataDir, KEYS_DIR)
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      const keys = new Map<string, Uint8Array>()
      for (const file of await fs.readdir(dir)) {
        if (!file.endsWith(".key")) continue
        const key = decodeMasterKey(await fs.readFile(path.join(dir, file), "utf8"))
        // A master key's file is named for its id; other keys share the folder (lookup.key) and are not ours.
        if (key && keyIdOf(key) === `local/${file.slice(0, -".key".length)}`) keys.set(keyIdOf(key), key)
      }
      if (Option.isSome(fromEnv)) {
        const key = decodeMasterKey(Redacted.value(fromEnv.value))
        if (!key) throw new Error("LOCAL_MASTER_KEY must be 32 bytes, as 64 hex digits or base64")
        keys.set(keyIdOf(key), key)
        return { current: keyIdOf(key), keys }
      }
      const pointer = await fs.readFile(path.join(dir, CURRENT_FILE), "utf8").then((s) => s.trim(), () => "")
      if (pointer && keys.has(pointer)) return { current: pointer, keys }
      if (keys.size > 0) throw new Error(`${path.join(dir, CURRENT_FILE)} does not name one of the keys in ${dir}`)
      return await addMasterKey(dataDir, keys)
    },
    catch: (cause) => keyUnavailable(`local master key: ${cause instanceof Error ? cause.message : String(cause)}`)
  })

/** Writes a new master key (0600) and makes it current; the old ones stay for reading. */
const addMasterKey = async (dataDir: string, keys: Map<string, Uint8Array>): Promise<Keyring> => {
  const dir = path.join(dataDir, KEYS_DIR)
  const key = randomBytes(32)
  const keyId = keyIdOf(key)
  const file = path.join(dir, `${keyId.replace("local/", "")}.key`)
  await fs.writeFile(file, key.toString("base64"), { mode: 0o600, flag: "wx" })
  const pointer = path.join(dir, `${CURRENT_FILE}.tmp`)
  await fs.writeFile(pointer, keyId, { mode: 0o600 })
  await fs.rename(pointer, path.join(dir, CURRENT_FILE))
  keys.set(keyId, key)
  return { current: keyId, keys }
}

/** A new local master key becomes current (rotation's first step). */
export const rotateLocalMasterKey = (dataDir: string) =>
  Effect.flatMap(loadLocalKeyring(dataDir, Option.none()), (keyring) =>
    Effect.tryPromise({
      try: () => addMasterKey(dataDir, new Map(keyring.keys)),
      catch: (cause) => keyUnavailable(`cannot write a new master key: ${String(cause)}`)
    })
  )

// ---------------------------------------------------------------------------------------------
// Layers

/** The envelope layer over a provider, with the data-key cache policy (the memory layer shares it). */
export const scopedCrypto = (provider: KeyProvider, policy: DataKeyCachePolicy, fillRandom?: (t: Uint8Array) => void) =>
  makeEnvelopeCrypto({ provider, cachePolicy: defaultCachePolicy(policy), ...(fillRandom ? { fillRandom } : {}) })

/** The `npm start` default: master keys under DATA_DIR/keys, or LOCAL_MASTER_KEY. */
export const CryptoLocal: Layer.Layer<Crypto, KeyUnavailable, CryptoConfig | AppInfoConfig> = Layer.effect(
  Crypto,
  Effect.gen(function* () {
    const crypto = yield* CryptoConfig
    const { dataDir } = yield* AppInfoConfig
    let keyring = yield* loadLocalKeyring(dataDir, crypto.localMasterKey)
    // Re-read DATA_DIR/keys when an envelope names a key we do not hold (a rotation by another
    // process): at most once a second, so altered envelopes cannot make every request read the disk.
    let lastReload = 0
    const reload = Effect.suspend(() => {
      const now = Date.now()
      if (now - lastReload < 1_000) return Effect.void
      lastReload = now
      return loadLocalKeyring(dataDir, crypto.localMasterKey).pipe(
        Effect.tap((fresh) => Effect.sync(() => (keyring = fresh))),
        Effect.tap((fresh) => Effect.logInfo("local master keys re-read").pipe(Effect.annotateLogs({ keys: fresh.keys.size }))),
        Effect.ignore
      )
    })
    const provider = keyringProvider("local", () => keyring, (size) => randomBytes(size), reload)
    return yield* scopedCrypto(provider, crypto.dataKeyCache)
  })
)
