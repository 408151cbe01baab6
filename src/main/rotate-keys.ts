/**
 * `npm run crypto:rotate`: moves every envelope (database fields and stored documents) to the
 * current master keys. With the local provider it first creates a new master key (unless
 * LOCAL_MASTER_KEY pins one, or `--rewrap-only` is given); with KMS, point KMS_FIELDS_KEY_ID /
 * KMS_DOCUMENTS_KEY_ID at the new keys first (KMS's own yearly rotation needs no re-wrap).
 */
import { Effect, Layer, Option } from "effect"
import { DatabaseLive } from "../layers/database/postgres.js"
import { rotateLocalMasterKey } from "../layers/crypto/local.js"
import { rotateKeys } from "../programs/rotateKeys.js"
import { cryptoLayer, storageLayer } from "./layers.js"
import { runEntryPoint } from "./runtime.js"

const rewrapOnly = process.argv.includes("--rewrap-only")

runEntryPoint(
  "crypto:rotate",
  () =>
    Effect.gen(function* () {
      const report = yield* rotateKeys()
      // The report holds counts and key ids only; it is the command's output, so it goes to stdout whole
      // (the log redaction would blank column names such as users.email_encrypted).
      yield* Effect.sync(() => process.stdout.write(`${JSON.stringify({ rotation: report })}\n`))
      const unreadable =
        Object.values(report.fields).reduce((n, c) => n + c.unreadable, 0) + report.documents.unreadable
      if (unreadable > 0) {
        yield* Effect.logWarning("some envelopes did not open with their own context and were left as they are")
        yield* Effect.sync(() => (process.exitCode = 2))
      }
    }),
  (settings) => {
    const newKey =
      settings.crypto.provider === "local" && Option.isNone(settings.crypto.localMasterKey) && !rewrapOnly
        ? Layer.effectDiscard(
          Effect.tap(rotateLocalMasterKey(settings.dataDir), (keyring) =>
            Effect.logInfo("new local master key").pipe(Effect.annotateLogs({ keyId: keyring.current }))
          )
        )
        : Layer.empty
    // The new key must exist before Crypto loads the keyring.
    return Layer.mergeAll(cryptoLayer(settings), storageLayer(settings), DatabaseLive).pipe(Layer.provideMerge(newKey))
  }
)
