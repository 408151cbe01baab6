/**
 * The live audit key: a KMS HMAC key (KeySpec HMAC_256, KeyUsage GENERATE_VERIFY_MAC) that never
 * leaves KMS. `derive(label)` is one GenerateMac (HMAC_SHA_256) of the label; the trail calls it
 * once per process and label (layers/audit/keys.ts), never per row. Throttling and outages retry
 * on the `kms` schedule within a timeout, then surface as AuditUnavailable.
 */
import type * as Kms from "@aws-sdk/client-kms"
import { Effect, Layer, Option } from "effect"
import { AppInfoConfig } from "../../config/app.js"
import { CryptoConfig } from "../../config/crypto.js"
import { AuditUnavailable } from "../../services/audit.js"
import { AuditMac } from "../../services/auditMac.js"
import { type RetrySchedule, Timeouts, withRetry, withTimeout } from "../../services/resilience.js"
import { KeyUnavailable } from "../../services/crypto.js"
import { awsErrorName } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, lazyClient, tryAws } from "../aws/sdk.js"

export type KmsMacSend = Pick<Kms.KMSClient, "send">

// A key that is disabled, missing, of the wrong kind or not ours: an operator must act.
const PERMANENT = new Set([
  "NotFoundException",
  "DisabledException",
  "KMSInvalidStateException",
  "AccessDeniedException",
  "InvalidKeyUsageException",
  "InvalidGrantTokenException"
])

export const kmsAuditMac = (client: ClientSource<KmsMacSend>, keyId: string, retry: RetrySchedule | "kms" = "kms") => {
  const getClient = clientFrom(client)
  return AuditMac.of({
    derive: (label) =>
      Effect.zip(getClient, AwsSdk.kms).pipe(
        Effect.flatMap(([c, sdk]) =>
          tryAws(
            () => c.send(new sdk.GenerateMacCommand({ KeyId: keyId, MacAlgorithm: "HMAC_SHA_256", Message: Buffer.from(label, "utf8") })),
            // KeyUnavailable carries `transient`, which the retry schedule reads.
            (cause) => new KeyUnavailable({ message: `KMS GenerateMac failed: ${awsErrorName(cause)}`, transient: !PERMANENT.has(awsErrorName(cause)) })
          )
        ),
        withTimeout("kms.GenerateMac", Timeouts.kms),
        withRetry(retry),
        Effect.flatMap((out) =>
          out.Mac !== undefined && out.Mac.length === 32
            ? Effect.succeed(out.Mac)
            : Effect.fail(new KeyUnavailable({ message: "KMS answered GenerateMac without a 32-byte MAC", transient: false }))
        ),
        Effect.tapError((error) => Effect.logWarning("audit key unavailable").pipe(Effect.annotateLogs({ errorCode: error._tag, error: error.message }))),
        Effect.mapError(() => new AuditUnavailable({ message: "The audit key is unavailable" })),
        Effect.withSpan("KMS.GenerateMac", { attributes: { "rpc.system": "aws-api", "rpc.service": "KMS", "rpc.method": "GenerateMac" } })
      )
  })
}

/** The audit key on KMS (KMS_AUDIT_KEY_ID); the SDK loads on the first derivation. */
export const AuditMacKms: Layer.Layer<AuditMac, never, CryptoConfig | AppInfoConfig> = Layer.effect(
  AuditMac,
  Effect.gen(function* () {
    const keyId = Option.getOrUndefined((yield* CryptoConfig).kmsAuditKeyId)
    // The settings refuse KEY_PROVIDER=kms without it; this only keeps the types honest.
    if (keyId === undefined) return yield* Effect.die(new Error("KMS_AUDIT_KEY_ID is not configured"))
    const region = (yield* AppInfoConfig).awsRegion
    const client = yield* lazyClient(Effect.map(AwsSdk.kms, (sdk) => new sdk.KMSClient({ region, maxAttempts: 1 })))
    return kmsAuditMac(client, keyId)
  })
)
