/**
 * Seal/open throughput of our envelopes next to raw node:crypto AES-256-GCM on the same buffers,
 * measured in the same run (the machine is shared: only the ratio means much).
 * Goal (issue 3): ≥ 0.9× raw at 64 KiB and above.
 *
 * Method: the two sides alternate operation by operation inside one loop, each timed on its
 * own, so both see the same heap, allocator and CPU state (measuring them in separate windows
 * swung the ratio between 0.5 and 1.1 run to run at 5 MiB). Ours runs as an Effect caller
 * would run it: many operations inside one Effect program, not one runSync per operation.
 */
import { Effect } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { pathToFileURL } from "node:url"
import { makeEnvelopeCrypto } from "../src/layers/crypto/envelope.js"
import { keyIdOf, keyringProvider } from "../src/layers/crypto/local.js"
import type { Crypto, SealOptions } from "../src/services/crypto.js"
import { documentContext, fieldContext } from "../src/services/crypto.js"
import { UserId } from "../src/services/ids.js"

const SIZES = [
  ["1 KiB", 1024],
  ["64 KiB", 64 * 1024],
  ["5 MiB", 5 * 1024 * 1024]
] as const
/** Whose fields and documents the benchmark seals (a user id is a UUID). */
const BENCH_USER = UserId.make("00000000-0000-4000-8000-0000000be9c0")

const DEFAULT_SECONDS_PER_CASE = Number(process.env.BENCH_SECONDS ?? 1.5)

const master = randomBytes(32)
const keyring = { current: keyIdOf(master), keys: new Map([[keyIdOf(master), master as Uint8Array]]) }

const rawSeal = (key: Buffer, plaintext: Uint8Array) => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", key, iv)
  const ciphertext = cipher.update(plaintext)
  cipher.final()
  return { iv, ciphertext, tag: cipher.getAuthTag() }
}

const rawOpen = (key: Buffer, sealed: ReturnType<typeof rawSeal>) => {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.iv)
  decipher.setAuthTag(sealed.tag)
  const plaintext = decipher.update(sealed.ciphertext)
  decipher.final()
  return plaintext
}

const now = () => process.hrtime.bigint()

/** Alternates raw and ours for about `seconds`; returns MB/s of each. */
const race = (bytes: number, raw: () => void, ours: Effect.Effect<unknown, unknown>, seconds: number) =>
  Effect.gen(function* () {
    let rawNs = 0n
    let oursNs = 0n
    let n = 0
    for (let i = 0; i < 3; i++) {
      raw()
      yield* ours
    }
    const deadline = now() + BigInt(Math.round(seconds * 1e9))
    while (now() < deadline) {
      const t0 = now()
      raw()
      const t1 = now()
      yield* ours
      const t2 = now()
      rawNs += t1 - t0
      oursNs += t2 - t1
      n++
    }
    const mbps = (ns: bigint) => (n * bytes) / 1e6 / (Number(ns) / 1e9)
    return { raw: mbps(rawNs), ours: mbps(oursNs), n }
  })

export type CryptoRow = Record<string, string>

const measureAll = (secondsPerCase: number) => Effect.gen(function* () {
  const crypto: (typeof Crypto)["Service"] = yield* makeEnvelopeCrypto({
    provider: keyringProvider("bench", () => keyring, (size) => randomBytes(size)),
    cachePolicy: (purpose) =>
      purpose === "fields"
        ? { maxAge: "5 minutes", maxUses: 1_000_000_000, maxEntries: 100 }
        : { maxAge: 0, maxUses: 1, maxEntries: 0 }
  })
  const rows: Array<Record<string, string>> = []
  const measure = (label: string, size: number, options: SealOptions, record = true) =>
    Effect.gen(function* () {
      const plaintext = randomBytes(size)
      const key = randomBytes(32)
      const sealedRaw = rawSeal(key, plaintext)
      const envelope = yield* crypto.seal(plaintext, options)
      const seconds = record ? secondsPerCase : Math.min(0.25, secondsPerCase)
      const seal = yield* race(size, () => rawSeal(key, plaintext), crypto.seal(plaintext, options), seconds)
      const open = yield* race(size, () => rawOpen(key, sealedRaw), crypto.open(envelope, options), seconds)
      if (!record) return
      for (const [op, r] of [["seal", seal], ["open", open]] as const) {
        rows.push({
          payload: label,
          purpose: options.purpose,
          op,
          ops: String(r.n),
          "raw MB/s": r.raw.toFixed(0),
          "envelope MB/s": r.ours.toFixed(0),
          ratio: (r.ours / r.raw).toFixed(2)
        })
      }
    })
  const fields = fieldContext(BENCH_USER, "content", "body_encrypted", "c-1")
  const documents = documentContext(BENCH_USER, "jobs/bench_original")
  // Warm-up: JIT, heap growth and allocator state settle before anything is recorded.
  for (const [label, size] of SIZES) for (const options of [fields, documents]) yield* measure(label, size, options, false)
  for (const [label, size] of SIZES) yield* measure(label, size, fieldContext(BENCH_USER, "content", "body_encrypted", "c-1"))
  for (const [label, size] of SIZES) yield* measure(label, size, documentContext(BENCH_USER, "jobs/bench_original"))
  return rows
}).pipe(Effect.scoped)

/** The crypto rows (seal/open MB/s of ours and raw per payload and purpose), printed as before. */
export const runCryptoBench = async (
  secondsPerCase: number = DEFAULT_SECONDS_PER_CASE
): Promise<ReadonlyArray<CryptoRow>> => {
  const rows = await Effect.runPromise(measureAll(secondsPerCase))
  console.log("crypto: envelope seal/open vs raw node:crypto AES-256-GCM, alternating operation by operation")
  console.log("(fields reuse a cached data key; documents get a fresh data key per seal, as in production)")
  console.table(rows)
  // The goal is about the envelope machinery; a document's fresh data key (one wrap per seal,
  // one unwrap per open — a KMS call live) is shown beside it but is a deliberate extra cost.
  console.log(`worst ratio at 64 KiB and above (cached data key): ${worstCryptoRatio(rows).toFixed(2)} (goal ≥ 0.90)`)
  return rows
}

export const worstCryptoRatio = (rows: ReadonlyArray<CryptoRow>) =>
  Math.min(...rows.filter((r) => r.payload !== "1 KiB" && r.purpose === "fields").map((r) => Number(r.ratio)))

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await runCryptoBench()
