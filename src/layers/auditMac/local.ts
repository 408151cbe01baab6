/**
 * The local audit key: 32 random bytes created once under DATA_DIR/keys/audit-mac.key (0600, the
 * folder 0700), read on first use. It lives beside the database's folder, not in it: locally
 * whoever owns the machine holds both, so the local trail is tamper-evident against the database's
 * roles only; live the key is in KMS (./kms.ts). A fixed key for tests.
 */
import { Effect, Layer } from "effect"
import { createHmac, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { AppInfoConfig } from "../../config/app.js"
import { AuditUnavailable } from "../../services/audit.js"
import { AuditMac } from "../../services/auditMac.js"

const KEY_FILE = "audit-mac.key"

export const makeAuditMacFromKey = (key: Uint8Array) => {
  const secret = Buffer.from(key)
  return AuditMac.of({ derive: (label) => Effect.sync(() => createHmac("sha256", secret).update(label, "utf8").digest()) })
}

const parse = (text: string): Buffer | undefined => {
  const value = text.trim()
  return /^[0-9a-f]{64}$/.test(value) ? Buffer.from(value, "hex") : undefined
}

/** Reads the key file, creating it first when there is none ("wx": when two processes race, the first wins). */
export const loadLocalAuditKey = (dataDir: string) =>
  Effect.tryPromise({
    try: async () => {
      const file = path.join(dataDir, "keys", KEY_FILE)
      const read = async () => parse(await fs.readFile(file, "utf8").catch(() => ""))
      const existing = await read()
      if (existing) return existing
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
      await fs.writeFile(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" }).catch(() => undefined)
      const created = await read()
      if (!created) throw new Error("no valid audit key")
      return created
    },
    // The path and the error stay out of the message: it may be shown to an operator's log only.
    catch: () => new AuditUnavailable({ message: "The local audit key could not be read or created" })
  })

/** The key is loaded on the first derivation (a failed load is tried again on the next). */
export const AuditMacLocal: Layer.Layer<AuditMac, never, AppInfoConfig> = Layer.effect(
  AuditMac,
  Effect.gen(function* () {
    const config = yield* AppInfoConfig
    let loaded: ReturnType<typeof makeAuditMacFromKey> | undefined
    const mac = Effect.suspend(() =>
      loaded !== undefined
        ? Effect.succeed(loaded)
        : Effect.map(loadLocalAuditKey(config.dataDir), (key) => (loaded = makeAuditMacFromKey(key)))
    )
    return AuditMac.of({ derive: (label) => Effect.flatMap(mac, (m) => m.derive(label)) })
  })
)
