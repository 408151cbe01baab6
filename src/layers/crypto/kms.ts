/**
 * The live key provider: AWS KMS. Data keys come from GenerateDataKey (AES_256) and are
 * unwrapped with Decrypt, both bound to the partition context as the KMS EncryptionContext;
 * rotation moves a wrapped key with ReEncrypt, so its plaintext never leaves KMS. Fields and
 * documents use separate KMS keys. Throttling and outages retry on the `kms` schedule within a
 * timeout, then surface as KeyUnavailable. The SDK loads, and the client is created, on the
 * first KMS call, not when the layer is built (src/layers/aws/sdk.ts).
 */
import type * as Kms from "@aws-sdk/client-kms"
import { Effect, Layer, Option } from "effect"
import { AppInfoConfig } from "../../config/app.js"
import { CryptoConfig } from "../../config/crypto.js"
import { awsErrorName } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, lazyClient, tryAws } from "../aws/sdk.js"
import { Crypto, DecryptionFailed, type KeyPurpose, KeyUnavailable } from "../../services/crypto.js"
import { OperationTimedOut } from "../../services/errors.js"
import { type RetrySchedule, Timeouts, withRetry, withTimeout } from "../../services/resilience.js"
import { defaultCachePolicy } from "./dataKeyCache.js"
import { type KeyProvider, makeEnvelopeCrypto, type Partition } from "./envelope.js"

/** The subset of the KMS client we use: tests hand in a mocked client. */
export type KmsSend = Pick<Kms.KMSClient, "send">

// Errors that mean "this blob, key or context is wrong": never worth a retry.
const DECRYPTION_ERRORS = new Set([
  "InvalidCiphertextException",
  "IncorrectKeyException",
  "InvalidKeyUsageException"
])
// A key that is disabled, missing or not ours: an operator must act.
const KEY_ERRORS = new Set([
  "NotFoundException",
  "DisabledException",
  "KMSInvalidStateException",
  "AccessDeniedException",
  "InvalidGrantTokenException"
])

const classify = (operation: string) => (cause: unknown): DecryptionFailed | KeyUnavailable => {
  const name = awsErrorName(cause)
  if (DECRYPTION_ERRORS.has(name)) {
    return new DecryptionFailed({ message: "The data key could not be decrypted with this key and context" })
  }
  if (KEY_ERRORS.has(name)) return new KeyUnavailable({ message: `KMS ${operation} refused: ${name}`, transient: false })
  // Throttling, KMSInternalException, KeyUnavailableException, DependencyTimeoutException, network errors.
  return new KeyUnavailable({ message: `KMS ${operation} failed: ${name}`, transient: true })
}

const callKms = <A>(operation: string, send: () => Promise<A>, retry: RetrySchedule | "kms") =>
  tryAws(send, classify(operation)).pipe(
    withTimeout(`kms.${operation}`, Timeouts.kms),
    Effect.catchIf(
      (e): e is OperationTimedOut => e instanceof OperationTimedOut,
      () => Effect.fail(new KeyUnavailable({ message: `KMS ${operation} timed out`, transient: true }))
    ),
    withRetry(retry),
    Effect.withSpan(`KMS.${operation}`, { attributes: { "rpc.system": "aws-api", "rpc.service": "KMS", "rpc.method": operation } })
  )

const bytes = (value: Uint8Array | undefined, what: string) =>
  value && value.length > 0
    ? Effect.succeed(value)
    : Effect.fail(new KeyUnavailable({ message: `KMS answered without ${what}`, transient: false }))

export interface KmsKeys {
  readonly fields: string
  readonly documents: string
}

export const kmsProvider = (
  client: ClientSource<KmsSend>,
  keys: KmsKeys,
  // The `kms` schedule unless a test needs a faster one.
  retry: RetrySchedule | "kms" = "kms"
): Effect.Effect<KeyProvider> =>
  Effect.sync(() => {
    const getClient = clientFrom(client)
    /** One KMS call with the client and the SDK's command classes (the module the client came from). */
    const call = <A>(operation: string, send: (client: KmsSend, sdk: typeof Kms) => Promise<A>) =>
      Effect.flatMap(Effect.zip(getClient, AwsSdk.kms), ([c, sdk]) => callKms(operation, () => send(c, sdk), retry))
    // Envelopes record the key ARN KMS answers with; the configured id may be an alias.
    const resolved = new Map<KeyPurpose, string>()
    const currentKeyId = (purpose: KeyPurpose): Effect.Effect<string, KeyUnavailable> =>
      Effect.suspend(() => {
        const known = resolved.get(purpose)
        if (known) return Effect.succeed(known)
        return call("DescribeKey", (client, sdk) => client.send(new sdk.DescribeKeyCommand({ KeyId: keys[purpose] }))).pipe(
          Effect.catchTag("DecryptionFailed", (e) => Effect.fail(new KeyUnavailable({ message: e.message, transient: false }))),
          Effect.flatMap((out) => {
            const arn = out.KeyMetadata?.Arn
            if (!arn) return Effect.fail(new KeyUnavailable({ message: "KMS DescribeKey answered without an ARN", transient: false }))
            resolved.set(purpose, arn)
            return Effect.succeed(arn)
          })
        )
      })

    const context = (partition: Partition) => ({ purpose: partition.purpose, userId: partition.userId })

    const generate = (partition: Partition) =>
      Effect.gen(function* () {
        const keyId = yield* currentKeyId(partition.purpose)
        const out = yield* call("GenerateDataKey", (client, sdk) =>
          client.send(new sdk.GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context(partition) }))
        ).pipe(Effect.catchTag("DecryptionFailed", (e) => Effect.fail(new KeyUnavailable({ message: e.message, transient: false }))))
        const plaintext = yield* bytes(out.Plaintext, "a plaintext key")
        const wrapped = yield* bytes(out.CiphertextBlob, "a wrapped key")
        return { keyId: out.KeyId ?? keyId, plaintext, wrapped }
      })

    const unwrap = (keyId: string, wrapped: Uint8Array, partition: Partition) =>
      call("Decrypt", (client, sdk) =>
        client.send(new sdk.DecryptCommand({ CiphertextBlob: wrapped, KeyId: keyId, EncryptionContext: context(partition) }))
      ).pipe(Effect.flatMap((out) => bytes(out.Plaintext, "a plaintext key")))

    const rewrap = (keyId: string, wrapped: Uint8Array, partition: Partition) =>
      Effect.gen(function* () {
        const destination = yield* currentKeyId(partition.purpose)
        const out = yield* call("ReEncrypt", (client, sdk) =>
          client.send(
            new sdk.ReEncryptCommand({
              CiphertextBlob: wrapped,
              SourceKeyId: keyId,
              SourceEncryptionContext: context(partition),
              DestinationKeyId: destination,
              DestinationEncryptionContext: context(partition)
            })
          )
        )
        const moved = yield* bytes(out.CiphertextBlob, "a wrapped key")
        return { keyId: out.KeyId ?? destination, wrapped: moved }
      })

    return { name: "kms", currentKeyId, generate, unwrap, rewrap } satisfies KeyProvider
  })

/** Crypto on AWS KMS with the keys, region and data-key cache from the settings. */
export const CryptoKms: Layer.Layer<Crypto, KeyUnavailable, CryptoConfig | AppInfoConfig> = Layer.effect(
  Crypto,
  Effect.gen(function* () {
    const crypto = yield* CryptoConfig
    const { awsRegion } = yield* AppInfoConfig
    const fields = Option.getOrUndefined(crypto.kmsFieldsKeyId)
    const documents = Option.getOrUndefined(crypto.kmsDocumentsKeyId)
    if (!fields || !documents) {
      return yield* Effect.fail(new KeyUnavailable({ message: "KMS key ids are not configured", transient: false }))
    }
    const client = yield* lazyClient(Effect.map(AwsSdk.kms, (sdk) => new sdk.KMSClient({ region: awsRegion, maxAttempts: 1 })))
    const provider = yield* kmsProvider(client, { fields, documents })
    return yield* makeEnvelopeCrypto({ provider, cachePolicy: defaultCachePolicy(crypto.dataKeyCache) })
  })
)
