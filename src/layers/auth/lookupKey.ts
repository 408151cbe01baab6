/**
 * The lookup-hash key: USER_LOOKUP_KEY when set (required in production), otherwise a random key
 * created once under DATA_DIR/keys/lookup.key (0600); a fixed key for tests.
 */
import { Effect, Layer, Option, Redacted } from "effect"
import { createHmac, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { AppInfoConfig } from "../../config/app.js"
import { AuthConfig, lookupKeyBytes } from "../../config/auth.js"
import { UserLookupKey } from "../../services/users.js"

export const makeUserLookupKey = (key: Uint8Array) => {
  const secret = Buffer.from(key)
  return UserLookupKey.of({ hmac: (value) => createHmac("sha256", secret).update(value, "utf8").digest() })
}

const KEY_FILE = "lookup.key"

/** Outside production without USER_LOOKUP_KEY: 32 random bytes (hex) created once under DATA_DIR/keys. */
export const loadLocalLookupKey = (dataDir: string) =>
  Effect.promise(async () => {
    const file = path.join(dataDir, "keys", KEY_FILE)
    const read = async () => lookupKeyBytes(await fs.readFile(file, "utf8").catch(() => ""))
    const existing = await read()
    if (existing) return existing
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    // "wx": when two processes race, the first file wins and both read it back.
    await fs.writeFile(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" }).catch(() => undefined)
    const created = await read()
    if (!created) throw new Error(`${file} does not hold a valid lookup key`)
    return created
  })

export const UserLookupKeyLive: Layer.Layer<UserLookupKey, never, AuthConfig | AppInfoConfig> = Layer.effect(
  UserLookupKey,
  Effect.gen(function* () {
    const configured = (yield* AuthConfig).userLookupKey
    const key = Option.isSome(configured)
      ? lookupKeyBytes(Redacted.value(configured.value))
      : yield* loadLocalLookupKey((yield* AppInfoConfig).dataDir)
    // The settings already refuse a malformed key; this only keeps the types honest.
    if (key === undefined) return yield* Effect.die(new Error("USER_LOOKUP_KEY is not a valid key"))
    return makeUserLookupKey(key)
  })
)
