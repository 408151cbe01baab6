/**
 * The benchmark's honest floor against our own code: fields sealed by our real CryptoLocal layer
 * open with bench/baselines/honest/fields.ts to the same text, and a flipped byte or another
 * context makes it throw. And the floor is Effect-free: both baseline entry points are bundled
 * with esbuild and nothing reached may be `effect` or `@effect/*`.
 */
import { build } from "esbuild"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as fc from "fast-check"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeHonestFields, masterKeyFrom } from "../../bench/baselines/honest/fields.js"
import { AppInfoConfig } from "../../src/config/app.js"
import { CryptoConfig } from "../../src/config/crypto.js"
import { CryptoLocal } from "../../src/layers/crypto/local.js"
import { Crypto, fieldContext } from "../../src/services/crypto.js"
import { testConfigProvider } from "../support/settings.js"
import type { UserId } from "../../src/services/ids.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const MASTER_KEY = randomBytes(32).toString("hex")

let dataDir = ""
let runtime: ManagedRuntime.ManagedRuntime<Crypto, unknown> | undefined

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-honest-fields-"))
  runtime = ManagedRuntime.make(
    CryptoLocal.pipe(
      Layer.provide(Layer.merge(CryptoConfig.layer, AppInfoConfig.layer)),
      Layer.provide(testConfigProvider({ DATA_DIR: dataDir, LOCAL_MASTER_KEY: MASTER_KEY }))
    )
  )
})

afterAll(async () => {
  await runtime?.dispose()
  await fs.rm(dataDir, { recursive: true, force: true })
})

// The properties below bind envelopes to any string at all (the context is bytes to the format), so
// the user id is any string here, not only a UUID: cast on purpose, in these two helpers only.
const seal = (text: string, userId: string, column: string, recordId: string) =>
  runtime!.runPromise(Effect.flatMap(Crypto, (crypto) => crypto.sealString(text, fieldContext(userId as UserId, "content", column, recordId))))

const ourOpen = (envelope: Uint8Array, userId: string, column: string, recordId: string) =>
  runtime!.runPromise(Effect.flatMap(Crypto, (crypto) => crypto.openString(envelope, fieldContext(userId as UserId, "content", column, recordId))))

// Both ways the floor can run: with our default data-key cache, and with caching off (DATA_KEY_CACHE_MAX_USES=1).
const CACHED = { maxAgeMillis: 5 * 60_000, maxUses: 1000, maxEntries: 1000 }
const UNCACHED = { maxAgeMillis: 5 * 60_000, maxUses: 1, maxEntries: 1000 }

// Text of every kind: well-formed Unicode up to a few KiB, and code units including lone surrogates.
const text = fc.oneof(fc.string({ unit: "grapheme", maxLength: 2048 }), fc.string({ unit: "binary", maxLength: 512 }), fc.constant(""))
const id = fc.oneof(fc.uuid(), fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }))
const column = fc.constantFrom("title_encrypted", "summary_encrypted")

describe("honest field opener", () => {
  it("opens what our Crypto layer seals, to the text ours opens", async () => {
    for (const policy of [CACHED, UNCACHED]) {
      const honest = makeHonestFields(masterKeyFrom(MASTER_KEY), policy)
      await fc.assert(
        fc.asyncProperty(text, id, id, column, async (plaintext, userId, recordId, field) => {
          const envelope = await seal(plaintext, userId, field, recordId)
          const opened = honest.openField(envelope, userId, "content", field, recordId)
          expect(opened).toBe(await ourOpen(envelope, userId, field, recordId))
          // What UTF-8 can carry of the text: all of it when well formed.
          expect(opened).toBe(Buffer.from(plaintext, "utf8").toString("utf8"))
        }),
        { numRuns: 100 }
      )
      // The cache is ours' or none, as configured.
      if (policy === CACHED) expect(honest.cachedKeys()).toBeGreaterThan(0)
      else expect(honest.cachedKeys()).toBe(0)
    }
  })

  it("throws on any flipped byte", async () => {
    for (const policy of [CACHED, UNCACHED]) {
      const honest = makeHonestFields(masterKeyFrom(MASTER_KEY), policy)
      await fc.assert(
        fc.asyncProperty(text, id, id, fc.nat(), fc.integer({ min: 1, max: 255 }), async (plaintext, userId, recordId, at, mask) => {
          const envelope = Buffer.from(await seal(plaintext, userId, "title_encrypted", recordId))
          // Opened once intact first, so a cached data key cannot mask the tampering.
          expect(honest.openField(envelope, userId, "content", "title_encrypted", recordId)).toBe(
            Buffer.from(plaintext, "utf8").toString("utf8")
          )
          const index = at % envelope.length
          envelope[index] = envelope[index]! ^ mask
          expect(() => honest.openField(envelope, userId, "content", "title_encrypted", recordId)).toThrow()
        }),
        { numRuns: 100 }
      )
    }
  })

  it("throws when the envelope is opened under another user, column, table or row", async () => {
    const honest = makeHonestFields(masterKeyFrom(MASTER_KEY), CACHED)
    await fc.assert(
      fc.asyncProperty(text, id, id, id, fc.constantFrom("user", "column", "table", "row"), async (plaintext, userId, recordId, other, which) => {
        fc.pre(other !== userId && other !== recordId)
        const envelope = await seal(plaintext, userId, "summary_encrypted", recordId)
        expect(honest.openField(envelope, userId, "content", "summary_encrypted", recordId)).toBe(
          Buffer.from(plaintext, "utf8").toString("utf8")
        )
        const open = () =>
          which === "user"
            ? honest.openField(envelope, other, "content", "summary_encrypted", recordId)
            : which === "column"
              ? honest.openField(envelope, userId, "content", "title_encrypted", recordId)
              : which === "table"
                ? honest.openField(envelope, userId, "documents", "summary_encrypted", recordId)
                : honest.openField(envelope, userId, "content", "summary_encrypted", other)
        expect(open).toThrow()
      }),
      { numRuns: 100 }
    )
  })

  it("throws under another master key", async () => {
    const envelope = await seal("a title", "user-1", "title_encrypted", "row-1")
    const stranger = makeHonestFields(randomBytes(32), CACHED)
    expect(() => stranger.openField(envelope, "user-1", "content", "title_encrypted", "row-1")).toThrow()
    expect(makeHonestFields(masterKeyFrom(MASTER_KEY), CACHED).openField(envelope, "user-1", "content", "title_encrypted", "row-1")).toBe("a title")
  })
})

/** Every module path a bundle of `entry` reads, and every import it leaves to node_modules or node. */
const importGraph = async (entry: string) => {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    metafile: true,
    write: false,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent"
  })
  const inputs = Object.keys(result.metafile.inputs)
  const externals = new Set<string>()
  for (const input of Object.values(result.metafile.inputs)) for (const i of input.imports) if (i.external) externals.add(i.path)
  for (const output of Object.values(result.metafile.outputs)) for (const i of output.imports) if (i.external) externals.add(i.path)
  return { inputs, externals: [...externals] }
}

const isEffect = (specifier: string) => /(^|\/)effect($|\/)/.test(specifier) || /(^|\/)@effect\//.test(specifier)

describe("the baselines' import graph", () => {
  for (const entry of ["bench/baselines/plain.ts", "bench/baselines/fastify.ts"]) {
    it(`${entry} reaches no effect or @effect/* module`, async () => {
      const { inputs, externals } = await importGraph(entry)
      expect(externals.filter(isEffect)).toEqual([])
      expect(inputs.filter(isEffect)).toEqual([])
      // The bundle did read the floor (an empty graph would pass vacuously).
      expect(inputs).toContain("bench/baselines/honest/timeline.ts")
      expect(inputs).toContain("bench/baselines/honest/fields.ts")
      expect(inputs).toContain("bench/baselines/honest/audit.ts")
      expect(externals).toContain("pg")
    })
  }

  it("the check sees Effect when a module reaches it (our Crypto service)", async () => {
    const { externals } = await importGraph("src/services/crypto.ts")
    expect(externals.filter(isEffect)).not.toEqual([])
  })
})
