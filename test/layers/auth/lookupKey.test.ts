/** The lookup-hash key: USER_LOOKUP_KEY when set, otherwise a key file created once (0600) under DATA_DIR/keys. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createHmac } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { AppInfoConfig } from "../../../src/config/app.js"
import { AuthConfig } from "../../../src/config/auth.js"
import { UserLookupKeyLive } from "../../../src/layers/auth/lookupKey.js"
import { UserLookupKey } from "../../../src/services/users.js"
import { testConfigProvider } from "../../support/settings.js"

const hmacWith = (env: Record<string, string>) =>
  Effect.map(UserLookupKey, (key) => Buffer.from(key.hmac("ada@example.com")).toString("hex")).pipe(
    // the two slices it reads (USER_LOOKUP_KEY, DATA_DIR), read alone from `env`
    Effect.provide(
      UserLookupKeyLive.pipe(Layer.provide(Layer.merge(AuthConfig.layer, AppInfoConfig.layer)), Layer.provide(testConfigProvider(env)))
    )
  )

describe("UserLookupKey", () => {
  it.effect("without USER_LOOKUP_KEY a key file is created once, 0600, and reused", () =>
    Effect.gen(function* () {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "serenya-lookup-"))
      const first = yield* hmacWith({ DATA_DIR: dataDir })
      const file = path.join(dataDir, "keys", "lookup.key")
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      expect(yield* hmacWith({ DATA_DIR: dataDir })).toBe(first)
      const expected = createHmac("sha256", Buffer.from(fs.readFileSync(file, "utf8"), "hex")).update("ada@example.com").digest("hex")
      expect(first).toBe(expected)
      fs.rmSync(dataDir, { recursive: true, force: true })
    })
  )

  it.effect("USER_LOOKUP_KEY (hex or base64) is used as given", () =>
    Effect.gen(function* () {
      const key = Buffer.alloc(32, 5)
      const expected = createHmac("sha256", key).update("ada@example.com").digest("hex")
      expect(yield* hmacWith({ USER_LOOKUP_KEY: key.toString("hex") })).toBe(expected)
      expect(yield* hmacWith({ USER_LOOKUP_KEY: key.toString("base64") })).toBe(expected)
    })
  )
})
