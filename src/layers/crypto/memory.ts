/**
 * The test layer: the local provider's wrapping (./local.ts) under a fixed master key, with
 * deterministic data keys and IVs, so the same seals in the same order give the same envelopes.
 * Nothing here is for production; it lives apart from the local provider so that no production
 * module carries a known key.
 */
import { Effect, Layer, type Scope } from "effect"
import { createHmac } from "node:crypto"
import { Crypto } from "../../services/crypto.js"
import type { DataKeyCachePolicy } from "./dataKeyCache.js"
import { keyIdOf, type Keyring, keyringProvider, scopedCrypto } from "./local.js"

/** Deterministic bytes from a seed: the same seals in the same order give the same envelopes. */
export const deterministicBytes = (seed: string) => {
  let counter = 0
  return (size: number): Uint8Array => {
    const out = Buffer.alloc(size)
    for (let filled = 0; filled < size; ) {
      const block = createHmac("sha256", seed).update(String(counter++)).digest()
      filled += block.copy(out, filled)
    }
    return out
  }
}

export const TEST_MASTER_KEY = Buffer.alloc(32, 7)

/** Offline tests: a fixed master key, deterministic data keys and IVs, a small cache. */
export const makeCryptoMemory = (
  options: { readonly seed?: string; readonly cache?: DataKeyCachePolicy; readonly keyring?: () => Keyring } = {}
): Effect.Effect<(typeof Crypto)["Service"], never, Scope.Scope> =>
  // Each build starts the deterministic sequence afresh.
  Effect.suspend(() => {
    const bytes = deterministicBytes(options.seed ?? "serenya-test")
    const fixed: Keyring = { current: keyIdOf(TEST_MASTER_KEY), keys: new Map([[keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY]]) }
    const provider = keyringProvider("memory", options.keyring ?? (() => fixed), bytes)
    return scopedCrypto(provider, options.cache ?? { maxAge: "5 minutes", maxUses: 100, maxEntries: 100 }, (target: Uint8Array) =>
      target.set(bytes(target.length))
    )
  })

export const CryptoMemory: Layer.Layer<Crypto> = Layer.effect(Crypto, makeCryptoMemory())
