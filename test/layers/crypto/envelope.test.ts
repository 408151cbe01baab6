/**
 * Envelope encryption, through the in-memory (deterministic) key provider: round trips of any
 * size, tamper detection for every bit, context binding, the data-key cache and key zeroing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import { type DataKeyCachePolicy } from "../../../src/layers/crypto/dataKeyCache.js"
import { type KeyProvider, makeEnvelopeCrypto, parseEnvelope } from "../../../src/layers/crypto/envelope.js"
import { keyIdOf, keyringProvider } from "../../../src/layers/crypto/local.js"
import { deterministicBytes, makeCryptoMemory, TEST_MASTER_KEY } from "../../../src/layers/crypto/memory.js"
import { type Crypto, documentContext, fieldContext, type SealOptions } from "../../../src/services/crypto.js"
import { userIdOf } from "../../support/ids.js"

const MiB = 1024 * 1024
const alice = fieldContext(userIdOf("user-alice"), "messages", "content_encrypted", "msg-1")

/** Pseudo-random bytes of any size, cheap to make (fast-check would build 5 MiB byte by byte). */
const bytesOf = (size: number, seed: number): Uint8Array => {
  const out = Buffer.allocUnsafe(size)
  let block = createHash("sha256").update(String(seed)).digest()
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset, 0, Math.min(block.length, size - offset))
    block = createHash("sha256").update(block).digest()
  }
  return out
}

const crypto = makeCryptoMemory()

const runScoped = <A, E>(f: (c: (typeof Crypto)["Service"]) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(crypto, f))

const failureTag = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return "success"
    // one typed failure and nothing else (v3: a cause whose _tag is "Fail")
    const [only, ...more] = exit.cause.reasons
    return only !== undefined && more.length === 0 && Cause.isFailReason(only) ? only.error._tag : "defect"
  })

describe("seal and open", () => {
  it.effect("round-trips the empty input, one byte and exactly 5 MiB", () =>
    runScoped((c) =>
      Effect.gen(function* () {
        for (const size of [0, 1, 5 * MiB]) {
          const plaintext = bytesOf(size, size)
          const envelope = yield* c.seal(plaintext, alice)
          expect(envelope.length).toBeGreaterThan(size)
          expect(Buffer.from(yield* c.open(envelope, alice)).equals(Buffer.from(plaintext))).toBe(true)
        }
      })
    )
  )

  it("property: open(seal(x)) = x for arbitrary bytes up to 5 MiB", async () => {
    const sizes = fc.oneof(
      fc.integer({ min: 0, max: 64 }),
      fc.integer({ min: 0, max: 70_000 }),
      fc.integer({ min: 0, max: 5 * MiB })
    )
    await fc.assert(
      fc.asyncProperty(sizes, fc.integer(), fc.constantFrom<SealOptions>(alice, documentContext(userIdOf("u"), "jobs/j_original")), async (size, seed, options) => {
        const plaintext = bytesOf(size, seed)
        const opened = await Effect.runPromise(runScoped((c) => Effect.flatMap(c.seal(plaintext, options), (e) => c.open(e, options))))
        return Buffer.from(opened).equals(Buffer.from(plaintext))
      }),
      { numRuns: 40 }
    )
  })

  it("property: strings round-trip, including any Unicode", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 300 }), async (text) => {
        const opened = await Effect.runPromise(
          runScoped((c) => Effect.flatMap(c.sealString(text, alice), (e) => c.openString(e, alice)))
        )
        return opened === text
      }),
      { numRuns: 100 }
    )
  })

  it.effect("the envelope is self-describing: version 1 and the master key's id", () =>
    runScoped((c) =>
      Effect.gen(function* () {
        const envelope = yield* c.seal(new Uint8Array([1, 2, 3]), alice)
        expect(yield* c.inspect(envelope)).toEqual({ version: 1, keyId: keyIdOf(TEST_MASTER_KEY) })
        const parsed = yield* parseEnvelope(envelope)
        expect(parsed.iv.length).toBe(12)
        expect(parsed.tag.length).toBe(16)
        expect(parsed.ciphertext.length).toBe(3)
      })
    )
  )

  it.effect("the same plaintext sealed twice gives different envelopes (fresh IV)", () =>
    runScoped((c) =>
      Effect.gen(function* () {
        const a = yield* c.seal(new Uint8Array(32), alice)
        const b = yield* c.seal(new Uint8Array(32), alice)
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
      })
    )
  )

  it.effect("the test layer is deterministic: the same seals in the same order give the same bytes", () =>
    Effect.gen(function* () {
      const run = runScoped((c) => Effect.all([c.seal(new Uint8Array([9, 9]), alice), c.sealString("hello", alice)]))
      const [first, second] = [yield* run, yield* run]
      expect(Buffer.from(first[0]).equals(Buffer.from(second[0]))).toBe(true)
      expect(Buffer.from(first[1]).equals(Buffer.from(second[1]))).toBe(true)
    })
  )
})

describe("tampering and context", () => {
  it.effect("flipping any single bit anywhere in an envelope → DecryptionFailed (every bit checked)", () =>
    runScoped((c) =>
      Effect.gen(function* () {
        const envelope = yield* c.seal(bytesOf(40, 1), alice)
        const outcomes = new Set<string>()
        for (let bit = 0; bit < envelope.length * 8; bit++) {
          const tampered = Uint8Array.from(envelope)
          tampered[bit >> 3] = tampered[bit >> 3]! ^ (1 << (bit & 7))
          const outcome = yield* failureTag(c.open(tampered, alice))
          if (outcome !== "DecryptionFailed") expect.fail(`bit ${bit}: ${outcome}`)
          outcomes.add(outcome)
        }
        expect([...outcomes]).toEqual(["DecryptionFailed"])
      })
    )
  )

  it("property: a random bit flip in a random envelope → DecryptionFailed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2000 }), fc.integer(), fc.nat(), async (size, seed, position) => {
        const outcome = await Effect.runPromise(
          runScoped((c) =>
            Effect.gen(function* () {
              const envelope = yield* c.seal(bytesOf(size, seed), alice)
              const bit = position % (envelope.length * 8)
              const tampered = Uint8Array.from(envelope)
              tampered[bit >> 3] = tampered[bit >> 3]! ^ (1 << (bit & 7))
              return yield* failureTag(c.open(tampered, alice))
            })
          )
        )
        return outcome === "DecryptionFailed"
      }),
      { numRuns: 300 }
    )
  })

  it.effect("truncated envelopes and garbage → DecryptionFailed, never a defect", () =>
    runScoped((c) =>
      Effect.gen(function* () {
        const envelope = yield* c.seal(bytesOf(100, 2), alice)
        for (let length = 0; length < envelope.length; length++) {
          expect(yield* failureTag(c.open(envelope.subarray(0, length), alice))).toBe("DecryptionFailed")
        }
        expect(yield* failureTag(c.open(Buffer.from("not an envelope at all"), alice))).toBe("DecryptionFailed")
      })
    )
  )

  it.effect("another context → DecryptionFailed: another user, column, row, purpose or an extra entry", () =>
    runScoped((c) =>
      Effect.gen(function* () {
        const envelope = yield* c.seal(Buffer.from("Hemoglobin 11.2 g/dL"), alice)
        const others: ReadonlyArray<SealOptions> = [
          fieldContext(userIdOf("user-bob"), "messages", "content_encrypted", "msg-1"),
          fieldContext(userIdOf("user-alice"), "content", "summary_encrypted", "msg-1"),
          fieldContext(userIdOf("user-alice"), "messages", "content_encrypted", "msg-2"),
          { purpose: "documents", context: alice.context },
          { purpose: "fields", context: { ...alice.context, extra: "x" } }
        ]
        for (const other of others) expect(yield* failureTag(c.open(envelope, other))).toBe("DecryptionFailed")
        expect(Buffer.from(yield* c.open(envelope, alice)).toString()).toBe("Hemoglobin 11.2 g/dL")
      })
    )
  )

  it("property: any context that differs from the sealing one → DecryptionFailed", async () => {
    const entry = fc.string({ minLength: 1, maxLength: 12 })
    await fc.assert(
      fc.asyncProperty(
        fc.record({ userId: entry.map(userIdOf), a: entry, b: entry }),
        fc.record({ userId: entry.map(userIdOf), a: entry, b: entry }),
        async (sealed, opened) => {
          fc.pre(JSON.stringify(sealed) !== JSON.stringify(opened))
          const outcome = await Effect.runPromise(
            runScoped((c) =>
              Effect.flatMap(c.seal(new Uint8Array([1, 2, 3]), { purpose: "fields", context: sealed }), (e) =>
                failureTag(c.open(e, { purpose: "fields", context: opened }))
              )
            )
          )
          return outcome === "DecryptionFailed"
        }
      ),
      { numRuns: 150 }
    )
  })
})

/** Wraps a provider to count calls and keep every plaintext key it hands out. */
const counting = (inner: KeyProvider) => {
  const stats = { generated: 0, unwrapped: 0, keys: [] as Array<Uint8Array> }
  const provider: KeyProvider = {
    ...inner,
    generate: (p) =>
      Effect.tap(inner.generate(p), (g) =>
        Effect.sync(() => {
          stats.generated++
          stats.keys.push(g.plaintext)
        })
      ),
    unwrap: (k, w, p) =>
      Effect.tap(inner.unwrap(k, w, p), (key) =>
        Effect.sync(() => {
          stats.unwrapped++
          stats.keys.push(key)
        })
      )
  }
  return { provider, stats }
}

const memoryProvider = () => {
  const keyring = { current: keyIdOf(TEST_MASTER_KEY), keys: new Map([[keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY]]) }
  return keyringProvider("memory", () => keyring, deterministicBytes("cache-test"))
}

const withCache = (policy: DataKeyCachePolicy) => {
  const { provider, stats } = counting(memoryProvider())
  const documentsPolicy: DataKeyCachePolicy = { maxAge: 0, maxUses: 1, maxEntries: 0 }
  return {
    stats,
    crypto: makeEnvelopeCrypto({ provider, cachePolicy: (purpose) => (purpose === "fields" ? policy : documentsPolicy) })
  }
}

const zeroed = (key: Uint8Array) => key.every((b) => b === 0)

describe("data-key cache", () => {
  it.effect("many seals for one user within the bounds use one data key; past maxUses a new one", () =>
    Effect.gen(function* () {
      const { crypto: make, stats } = withCache({ maxAge: "5 minutes", maxUses: 10, maxEntries: 10 })
      const c = yield* make
      for (let i = 0; i < 10; i++) yield* c.seal(new Uint8Array([i]), fieldContext(userIdOf("u1"), "messages", "content_encrypted", `m${i}`))
      expect(stats.generated).toBe(1)
      yield* c.seal(new Uint8Array([10]), fieldContext(userIdOf("u1"), "messages", "content_encrypted", "m10"))
      expect(stats.generated).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.effect("past maxAge (TestClock) a new data key is generated", () =>
    Effect.gen(function* () {
      const { crypto: make, stats } = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 10 })
      const c = yield* make
      yield* c.seal(new Uint8Array([1]), alice)
      yield* TestClock.adjust("4 minutes")
      yield* c.seal(new Uint8Array([2]), alice)
      expect(stats.generated).toBe(1)
      yield* TestClock.adjust("61 seconds")
      yield* c.seal(new Uint8Array([3]), alice)
      expect(stats.generated).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.effect("users never share a data key; documents get a fresh key per seal, zeroed right after", () =>
    Effect.gen(function* () {
      const { crypto: make, stats } = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 10 })
      const c = yield* make
      yield* c.seal(new Uint8Array([1]), fieldContext(userIdOf("u1"), "t", "c", "r"))
      yield* c.seal(new Uint8Array([1]), fieldContext(userIdOf("u2"), "t", "c", "r"))
      expect(stats.generated).toBe(2)
      yield* c.seal(new Uint8Array([1]), documentContext(userIdOf("u1"), "jobs/a_original"))
      yield* c.seal(new Uint8Array([1]), documentContext(userIdOf("u1"), "jobs/b_original"))
      expect(stats.generated).toBe(4)
      expect(zeroed(stats.keys[2]!)).toBe(true)
      expect(zeroed(stats.keys[3]!)).toBe(true)
      expect(zeroed(stats.keys[0]!)).toBe(false) // still cached for u1's fields
    }).pipe(Effect.scoped)
  )

  it.effect("reading a conversation unwraps its data key once, not once per message", () =>
    Effect.gen(function* () {
      const writer = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 10 })
      const envelopes = yield* Effect.scoped(
        Effect.flatMap(writer.crypto, (c) =>
          Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
            c.seal(Buffer.from(`message ${i}`), fieldContext(userIdOf("u1"), "messages", "content_encrypted", `m${i}`))
          )
        )
      )
      // A fresh process (empty cache) reads them all.
      const reader = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 10 })
      const c = yield* reader.crypto
      for (const [i, envelope] of envelopes.entries()) {
        const text = yield* c.openString(envelope, fieldContext(userIdOf("u1"), "messages", "content_encrypted", `m${i}`))
        expect(text).toBe(`message ${i}`)
      }
      expect(reader.stats.unwrapped).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.effect("maxEntries bounds the cache and evicted keys are zeroed; closing the scope zeroes the rest", () =>
    Effect.gen(function* () {
      const { crypto: make, stats } = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 2 })
      const scope = yield* Scope.make()
      const c = yield* Scope.provide(make, scope)
      for (const user of ["u1", "u2", "u3"]) yield* c.seal(new Uint8Array([1]), fieldContext(userIdOf(user), "t", "c", "r"))
      expect(zeroed(stats.keys[0]!)).toBe(true) // u1's key was evicted
      expect(zeroed(stats.keys[2]!)).toBe(false)
      yield* Scope.close(scope, Exit.void)
      expect(stats.keys.every(zeroed)).toBe(true)
    })
  )

  it.effect("forgetUser (erasure) zeroes and drops every cached key of that user, for sealing and opening, and no one else's", () =>
    Effect.gen(function* () {
      const { crypto: make, stats } = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 10 })
      const c = yield* make
      const sealed = yield* c.seal(new Uint8Array([1]), fieldContext(userIdOf("u1"), "t", "c", "r"))
      yield* c.seal(new Uint8Array([1]), fieldContext(userIdOf("u2"), "t", "c", "r"))
      expect(stats.generated).toBe(2)
      // the cached encryption key and its unwrapped twin (a separate copy) are both u1's
      yield* c.forgetUser(userIdOf("u1"))
      expect(zeroed(stats.keys[0]!)).toBe(true)
      expect(zeroed(stats.keys[1]!)).toBe(false)
      // u1 needs the key provider again for both sealing and opening; u2 does not
      const unwrappedBefore = stats.unwrapped
      yield* c.open(sealed, fieldContext(userIdOf("u1"), "t", "c", "r"))
      expect(stats.unwrapped).toBe(unwrappedBefore + 1)
      yield* c.seal(new Uint8Array([2]), fieldContext(userIdOf("u1"), "t", "c", "r2"))
      yield* c.seal(new Uint8Array([2]), fieldContext(userIdOf("u2"), "t", "c", "r2"))
      expect(stats.generated).toBe(3)
    }).pipe(Effect.scoped)
  )

  it.effect("a cached key is not used once the master key has rotated", () =>
    Effect.gen(function* () {
      const second = Buffer.alloc(32, 9)
      const keyring = {
        current: keyIdOf(TEST_MASTER_KEY),
        keys: new Map([
          [keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY as Uint8Array],
          [keyIdOf(second), second as Uint8Array]
        ])
      }
      const c = yield* makeCryptoMemory({ keyring: () => keyring })
      const before = yield* c.seal(new Uint8Array([1]), alice)
      keyring.current = keyIdOf(second)
      const after = yield* c.seal(new Uint8Array([2]), alice)
      expect((yield* c.inspect(before)).keyId).toBe(keyIdOf(TEST_MASTER_KEY))
      expect((yield* c.inspect(after)).keyId).toBe(keyIdOf(second))
    }).pipe(Effect.scoped)
  )
})

describe("rewrap", () => {
  it.effect("moves the data key under the current master key; the content bytes stay as they are", () =>
    Effect.gen(function* () {
      const second = Buffer.alloc(32, 9)
      const keyring = {
        current: keyIdOf(TEST_MASTER_KEY),
        keys: new Map<string, Uint8Array>([[keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY]])
      }
      const c = yield* makeCryptoMemory({ keyring: () => keyring })
      const envelope = yield* c.sealString("Glucose 98 mg/dL", alice)
      expect(yield* c.rewrap(envelope, alice)).toBe(envelope) // already current: unchanged

      keyring.keys.set(keyIdOf(second), second)
      keyring.current = keyIdOf(second)
      const moved = yield* c.rewrap(envelope, alice)
      expect((yield* c.inspect(moved)).keyId).toBe(keyIdOf(second))
      const [a, b] = [yield* parseEnvelope(envelope), yield* parseEnvelope(moved)]
      expect(Buffer.from(b.ciphertext).equals(Buffer.from(a.ciphertext))).toBe(true)

      // With the old key gone, only the re-wrapped envelope opens.
      keyring.keys.delete(keyIdOf(TEST_MASTER_KEY))
      const fresh = yield* makeCryptoMemory({ keyring: () => keyring })
      expect(yield* fresh.openString(moved, alice)).toBe("Glucose 98 mg/dL")
      expect(yield* failureTag(fresh.open(envelope, alice))).toBe("DecryptionFailed")
    }).pipe(Effect.scoped)
  )

  it.effect("refuses to move an envelope presented with the wrong context", () =>
    Effect.gen(function* () {
      const second = Buffer.alloc(32, 9)
      const keyring = {
        current: keyIdOf(TEST_MASTER_KEY),
        keys: new Map<string, Uint8Array>([[keyIdOf(TEST_MASTER_KEY), TEST_MASTER_KEY], [keyIdOf(second), second]])
      }
      const c = yield* makeCryptoMemory({ keyring: () => keyring })
      const envelope = yield* c.sealString("x", alice)
      keyring.current = keyIdOf(second)
      expect(yield* failureTag(c.rewrap(envelope, fieldContext(userIdOf("user-bob"), "messages", "content_encrypted", "msg-1")))).toBe(
        "DecryptionFailed"
      )
    }).pipe(Effect.scoped)
  )
})

describe("openStrings (a page of fields in one pass)", () => {
  const sealAll = (c: (typeof Crypto)["Service"], items: ReadonlyArray<{ readonly text: string; readonly options: SealOptions }>) =>
    Effect.forEach(items, ({ options, text }) => Effect.map(c.sealString(text, options), (envelope) => ({ envelope, options })))

  it.effect("opens every envelope in order, cached keys and keys it must unwrap alike; one unwrap per data key", () =>
    Effect.gen(function* () {
      // Sealed by one process, read by another whose cache is empty: u1's and u2's keys are unwrapped once each, in the batch.
      const items = Array.from({ length: 12 }, (_, i) => ({
        text: `${i % 3 === 0 ? "ünïcödé 🩸 " : ""}field ${i}`,
        options: fieldContext(userIdOf(i % 2 === 0 ? "u1" : "u2"), "content", i % 4 < 2 ? "title_encrypted" : "summary_encrypted", `r${i}`)
      }))
      const writer = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 10 })
      const sealed = yield* Effect.scoped(Effect.flatMap(writer.crypto, (c) => sealAll(c, items)))
      const reader = withCache({ maxAge: "5 minutes", maxUses: 1000, maxEntries: 10 })
      const c = yield* reader.crypto
      expect(yield* c.openStrings(sealed)).toEqual(items.map((item) => item.text))
      expect(reader.stats.unwrapped).toBe(2)
      // Again, now all from the cache.
      expect(yield* c.openStrings(sealed)).toEqual(items.map((item) => item.text))
      expect(reader.stats.unwrapped).toBe(2)
      expect(yield* c.openStrings([])).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.effect("one envelope presented with another row's context, or malformed, fails the whole page with DecryptionFailed", () =>
    runScoped((c) =>
      Effect.gen(function* () {
        const items = Array.from({ length: 6 }, (_, i) => ({ text: `t${i}`, options: fieldContext(userIdOf("u1"), "content", "title_encrypted", `r${i}`) }))
        const sealed = yield* sealAll(c, items)
        // the first opens from a cached key, the bad one comes after it: nothing of the page is returned
        const swapped = sealed.map((item, i) => (i === 4 ? { ...item, options: sealed[5]!.options } : item))
        expect(yield* failureTag(c.openStrings(swapped))).toBe("DecryptionFailed")
        const garbage = sealed.map((item, i) => (i === 2 ? { ...item, envelope: new Uint8Array([0x53, 0x45, 1, 0]) } : item))
        expect(yield* failureTag(c.openStrings(garbage))).toBe("DecryptionFailed")
        const otherUser = sealed.map((item, i) => (i === 0 ? { ...item, options: fieldContext(userIdOf("u2"), "content", "title_encrypted", "r0") } : item))
        expect(yield* failureTag(c.openStrings(otherUser))).toBe("DecryptionFailed")
      })
    )
  )

  it("property: openStrings gives what openString gives one by one, and fails exactly when one of them fails", async () => {
    const item = fc.record({
      text: fc.string({ unit: "grapheme", maxLength: 200 }),
      user: fc.constantFrom("u1", "u2", "u3"),
      record: fc.constantFrom("a", "b", "c", "d"),
      // presented with the context it was sealed with, or with another row's
      tampered: fc.boolean()
    })
    await fc.assert(
      fc.asyncProperty(fc.array(item, { maxLength: 30 }), async (entries) => {
        const program = runScoped((c) =>
          Effect.gen(function* () {
            const sealed = yield* sealAll(c, entries.map((e) => ({ text: e.text, options: fieldContext(userIdOf(e.user), "content", "title_encrypted", e.record) })))
            const presented = sealed.map((s, i) =>
              entries[i]!.tampered ? { ...s, options: fieldContext(userIdOf(entries[i]!.user), "content", "title_encrypted", `${entries[i]!.record}-other`) } : s
            )
            const one = yield* Effect.exit(Effect.forEach(presented, (s) => c.openString(s.envelope, s.options)))
            const batch = yield* Effect.exit(c.openStrings(presented))
            return { one, batch }
          })
        )
        const { batch, one } = await Effect.runPromise(program)
        expect(Exit.isSuccess(batch)).toBe(Exit.isSuccess(one))
        if (Exit.isSuccess(batch) && Exit.isSuccess(one)) expect(batch.value).toEqual(one.value)
        if (Exit.isSuccess(batch)) expect(batch.value).toEqual(entries.map((e) => e.text))
        else expect(entries.some((e) => e.tampered)).toBe(true)
      }),
      { numRuns: 60 }
    )
  })
})
