/** Envelope encryption: the key provider, its keys, and the data-key cache. */
import { Config, Context, type Duration, Layer, Option, Redacted } from "effect"
import { check, collect, millis, positiveInt, unless, validated } from "./shared.js"

export interface DataKeyCacheSettings {
  readonly maxAge: Duration.Duration
  readonly maxUses: number
  readonly maxEntries: number
}

export interface CryptoSettings {
  readonly provider: "local" | "kms"
  /** Local provider: overrides the key files under DATA_DIR/keys. */
  readonly localMasterKey: Option.Option<Redacted.Redacted<string>>
  readonly kmsFieldsKeyId: Option.Option<string>
  readonly kmsDocumentsKeyId: Option.Option<string>
  /** KMS HMAC key (HMAC_256, GENERATE_VERIFY_MAC) of the audit trail; required with kms. */
  readonly kmsAuditKeyId: Option.Option<string>
  readonly dataKeyCache: DataKeyCacheSettings
}

/** The variables, read and defaulted; the rule across them is cryptoProblems. */
export const cryptoValues: Config.Config<CryptoSettings> = collect({
  provider: Config.Literals(["local", "kms"], "KEY_PROVIDER").pipe(Config.withDefault("local" as const)),
  localMasterKey: check(
    "LOCAL_MASTER_KEY",
    Config.Redacted("LOCAL_MASTER_KEY"),
    (key) => /^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/.test(Redacted.value(key).trim()),
    "must be 32 bytes as 64 hex digits or base64"
  ).pipe(Config.option),
  kmsFieldsKeyId: Config.String("KMS_FIELDS_KEY_ID").pipe(Config.option),
  kmsDocumentsKeyId: Config.String("KMS_DOCUMENTS_KEY_ID").pipe(Config.option),
  kmsAuditKeyId: Config.String("KMS_AUDIT_KEY_ID").pipe(Config.option),
  dataKeyCache: collect({
    maxAge: millis("DATA_KEY_CACHE_MAX_AGE_MS", 5 * 60_000),
    maxUses: positiveInt("DATA_KEY_CACHE_MAX_USES", 1000),
    maxEntries: positiveInt("DATA_KEY_CACHE_MAX_ENTRIES", 1000)
  })
})

/** KMS needs its three keys (production's KEY_PROVIDER=kms is src/config.ts's rule). */
export const cryptoProblems = (crypto: CryptoSettings): ReadonlyArray<Config.ConfigError> => [
  ...unless(crypto.provider !== "kms" || Option.isSome(crypto.kmsFieldsKeyId), "KMS_FIELDS_KEY_ID", "is required when KEY_PROVIDER=kms"),
  ...unless(
    crypto.provider !== "kms" || Option.isSome(crypto.kmsDocumentsKeyId),
    "KMS_DOCUMENTS_KEY_ID",
    "is required when KEY_PROVIDER=kms"
  ),
  ...unless(crypto.provider !== "kms" || Option.isSome(crypto.kmsAuditKeyId), "KMS_AUDIT_KEY_ID", "is required when KEY_PROVIDER=kms")
]

export const cryptoConfig: Config.Config<CryptoSettings> = validated(cryptoValues, cryptoProblems)

export class CryptoConfig extends Context.Service<CryptoConfig, CryptoSettings>()("serenya/config/Crypto") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(CryptoConfig, cryptoConfig)
}
