/** The local key provider: master keys under DATA_DIR/keys, LOCAL_MASTER_KEY, rotation. */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Result, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { AppInfoConfig } from "../../../src/config/app.js"
import { CryptoConfig } from "../../../src/config/crypto.js"
import { CryptoLocal, keyIdOf, loadLocalKeyring, rotateLocalMasterKey } from "../../../src/layers/crypto/local.js"
import { Crypto, fieldContext } from "../../../src/services/crypto.js"
import { settingsFrom, testConfigProvider } from "../../support/settings.js"
import { userIdOf } from "../../support/ids.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "serenya-keys-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const cryptoIn = (dataDir: string, env: Record<string, string> = {}) =>
  // the two slices it reads (LOCAL_MASTER_KEY and the data-key cache, DATA_DIR), read alone from the environment
  Layer.build(
    CryptoLocal.pipe(
      Layer.provide(Layer.merge(CryptoConfig.layer, AppInfoConfig.layer)),
      Layer.provide(testConfigProvider({ DATA_DIR: dataDir, ...env }))
    )
  ).pipe(
    Effect.map((context) => Context.get(context, Crypto))
  )

const field = fieldContext(userIdOf("user-1"), "content", "summary_encrypted", "c-1")

describe("local master keys", () => {
  it.effect("the first start creates a key file with mode 0600; later starts reuse it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const first = yield* loadLocalKeyring(dir, Option.none())
      const files = yield* Effect.promise(() => fs.readdir(path.join(dir, "keys")))
      const keyFiles = files.filter((f) => f.endsWith(".key"))
      expect(keyFiles).toHaveLength(1)
      const stat = yield* Effect.promise(() => fs.stat(path.join(dir, "keys", keyFiles[0]!)))
      expect(stat.mode & 0o777).toBe(0o600)
      const again = yield* loadLocalKeyring(dir, Option.none())
      expect(again.current).toBe(first.current)
      expect(first.current).toMatch(/^local\/[0-9a-f]{16}$/)
    })
  )

  it.effect("other keys in the folder (the lookup key, written by sign-in's layer first) are not taken for master keys", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* Effect.promise(async () => {
        await fs.mkdir(path.join(dir, "keys"), { recursive: true })
        await fs.writeFile(path.join(dir, "keys", "lookup.key"), "cd".repeat(32))
      })
      // Before the fix this refused to start: a key without a `current` pointer.
      const keyring = yield* loadLocalKeyring(dir, Option.none())
      expect(keyring.keys.size).toBe(1)
      expect(keyring.keys.has(keyIdOf(Buffer.from("cd".repeat(32), "hex")))).toBe(false)
      const again = yield* loadLocalKeyring(dir, Option.none())
      expect(again.current).toBe(keyring.current)
    })
  )

  it.effect("a running process opens data sealed under a key rotated in after it started, then seals with that key", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const running = yield* cryptoIn(dir)
      const before = yield* running.sealString("Hemoglobin 11.2 g/dL", field)
      const rotated = yield* rotateLocalMasterKey(dir)
      // Another process (a server started after `npm run crypto:rotate`) seals under the new key.
      const later = yield* cryptoIn(dir)
      const sealedAfter = yield* later.sealString("HbA1c 5.9%", field)
      // Before the fix: DecryptionFailed until restart (the key set was read once, at start).
      expect(yield* running.openString(sealedAfter, field)).toBe("HbA1c 5.9%")
      expect(yield* running.openString(before, field)).toBe("Hemoglobin 11.2 g/dL")
      // Having re-read the keys, the running process seals under the rotated key too.
      const resealed = yield* running.sealString("Potassium 4.1 mmol/L", fieldContext(userIdOf("user-1"), "content", "summary_encrypted", "c-2"))
      expect(Buffer.from(resealed).includes(Buffer.from(rotated.current))).toBe(true)
    })
  )

  it.effect("data sealed by one process opens in the next one on the same DATA_DIR", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const envelope = yield* Effect.scoped(Effect.flatMap(cryptoIn(dir), (c) => c.sealString("LDL 162 mg/dL", field)))
      const text = yield* Effect.scoped(Effect.flatMap(cryptoIn(dir), (c) => c.openString(envelope, field)))
      expect(text).toBe("LDL 162 mg/dL")
    })
  )

  it.effect("LOCAL_MASTER_KEY is used as the current key and is never written to disk", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const hex = "ab".repeat(32)
      const keyring = yield* loadLocalKeyring(dir, Option.some(Redacted.make(hex)))
      expect(keyring.current).toBe(keyIdOf(Buffer.from(hex, "hex")))
      const files = yield* Effect.promise(() => fs.readdir(path.join(dir, "keys")))
      for (const file of files) {
        const content = yield* Effect.promise(() => fs.readFile(path.join(dir, "keys", file), "utf8"))
        expect(content).not.toContain(hex)
        expect(content).not.toContain(Buffer.from(hex, "hex").toString("base64"))
      }
      const base64 = Buffer.alloc(32, 5).toString("base64")
      expect(Result.isSuccess(settingsFrom({ LOCAL_MASTER_KEY: base64 }))).toBe(true)
    })
  )

  it("a malformed LOCAL_MASTER_KEY stops start-up with a line naming it (and not echoing it)", () => {
    const result = settingsFrom({ LOCAL_MASTER_KEY: "too-short-secret" })
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure).toContain("LOCAL_MASTER_KEY")
      expect(result.failure).not.toContain("too-short-secret")
    }
  })

  it.effect("rotation adds a new current key; envelopes under the old one still open", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const before = yield* loadLocalKeyring(dir, Option.none())
      const envelope = yield* Effect.scoped(Effect.flatMap(cryptoIn(dir), (c) => c.sealString("TSH 6.1 mIU/L", field)))
      const rotated = yield* rotateLocalMasterKey(dir)
      expect(rotated.current).not.toBe(before.current)
      expect(rotated.keys.has(before.current)).toBe(true)
      const reloaded = yield* loadLocalKeyring(dir, Option.none())
      expect(reloaded.current).toBe(rotated.current)
      const opened = yield* Effect.scoped(
        Effect.flatMap(cryptoIn(dir), (c) =>
          Effect.all([c.openString(envelope, field), Effect.flatMap(c.rewrap(envelope, field), (moved) => c.inspect(moved))])
        )
      )
      expect(opened[0]).toBe("TSH 6.1 mIU/L")
      expect(opened[1].keyId).toBe(rotated.current)
    })
  )

  it.effect("a `current` file naming an unknown key is a clear KeyUnavailable, not a new key", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* loadLocalKeyring(dir, Option.none())
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "keys", "current"), "local/0000000000000000"))
      const result = yield* Effect.result(loadLocalKeyring(dir, Option.none()))
      expect(Result.isFailure(result) && result.failure).toMatchObject({ _tag: "KeyUnavailable", transient: false })
      const files = yield* Effect.promise(() => fs.readdir(path.join(dir, "keys")))
      expect(files.filter((f) => f.endsWith(".key"))).toHaveLength(1)
    })
  )
})
