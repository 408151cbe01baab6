/**
 * Seal/open throughput of our envelopes next to raw node:crypto AES-256-GCM on the same buffers,
 * measured in the same run (the machine is shared: only the ratio means much).
 * Goal (issue 3): ≥ 0.9× raw at 64 KiB and above.
 */
import { Effect } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { makeEnvelopeCrypto } from "../src/layers/crypto/envelope.js"
import { keyIdOf, keyringProvider } from "../src/layers/crypto/local.js"
import type { Crypto, SealOptions } from "../src/services/crypto.js"
import { documentContext, fieldContext } from "../src/services/crypto.js"

const SIZES = [["1 KiB", 1024], ["64 KiB", 64 * 1024], ["5 MiB", 5 * 1024 * 1024]] as const
const ROUNDS = 5
const ROUND_MS = 300

const master = randomBytes(32)
const keyring = { current: keyIdOf(master), keys: new Map([[keyIdOf(master), master as Uint8Array]]) }

/** Runs `op` for about ROUND_MS and returns MB/s. */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined)

const throughput = (bytes: number, op: () => void): number => {
  // Each side starts from a collected heap, so neither pays for the other's garbage.
  collect()
  for (let i = 0; i < 3; i++) op()
  let n = 0
  const start = process.hrtime.bigint()
  let elapsed = 0
  while (elapsed < ROUND_MS * 1e6) {
    op()
    n++
    elapsed = Number(process.hrtime.bigint() - start)
  }
  return (n * bytes) / 1e6 / (elapsed / 1e9)
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const rawSeal = (key: Buffer, plaintext: Uint8Array) => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", key, iv)
  const ct = cipher.update(plaintext)
  cipher.final()
  return { iv, ct, tag: cipher.getAuthTag() }
}

const rawOpen = (key: Buffer, sealed: { iv: Buffer; ct: Buffer; tag: Buffer }) => {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.iv)
  decipher.setAuthTag(sealed.tag)
  const pt = decipher.update(sealed.ct)
  decipher.final()
  return pt
}

const main = Effect.gen(function* () {
  const crypto: Crypto["Type"] = yield* makeEnvelopeCrypto({
    provider: keyringProvider("bench", () => keyring, (size) => randomBytes(size)),
    cachePolicy: (purpose) =>
      purpose === "fields" ? { maxAge: "5 minutes", maxUses: 1_000_000, maxEntries: 100 } : { maxAge: 0, maxUses: 1, maxEntries: 0 }
  })
  const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runSync(effect as Effect.Effect<A>)
  const rows: Array<Record<string, string>> = []
  const measure = (label: string, size: number, options: SealOptions) => {
    const plaintext = randomBytes(size)
    const key = randomBytes(32)
    const sealedRaw = rawSeal(key, plaintext)
    const envelope = run(crypto.seal(plaintext, options))
    const raw = { seal: [] as Array<number>, open: [] as Array<number> }
    const ours = { seal: [] as Array<number>, open: [] as Array<number> }
    // Interleaved rounds, so both sides see the same machine.
    for (let round = 0; round < ROUNDS; round++) {
      raw.seal.push(throughput(size, () => rawSeal(key, plaintext)))
      ours.seal.push(throughput(size, () => run(crypto.seal(plaintext, options))))
      raw.open.push(throughput(size, () => rawOpen(key, sealedRaw)))
      ours.open.push(throughput(size, () => run(crypto.open(envelope, options))))
    }
    for (const op of ["seal", "open"] as const) {
      const [r, o] = [median(raw[op]), median(ours[op])]
      rows.push({
        payload: label,
        purpose: options.purpose,
        op,
        "raw MB/s": r.toFixed(0),
        "envelope MB/s": o.toFixed(0),
        ratio: (o / r).toFixed(2)
      })
    }
  }
  for (const [label, size] of SIZES) measure(label, size, fieldContext("bench-user", "content", "body_encrypted", "c-1"))
  for (const [label, size] of SIZES) measure(label, size, documentContext("bench-user", "jobs/bench_original"))
  console.log(`crypto: envelope seal/open vs raw node:crypto AES-256-GCM (median of ${ROUNDS} interleaved rounds)`)
  console.table(rows)
  const worst = Math.min(...rows.filter((r) => r.payload !== "1 KiB").map((r) => Number(r.ratio)))
  console.log(`worst ratio at 64 KiB and above: ${worst.toFixed(2)} (goal ≥ 0.90)`)
}).pipe(Effect.scoped)

Effect.runPromise(main)
