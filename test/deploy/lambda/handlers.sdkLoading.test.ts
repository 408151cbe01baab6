/**
 * Cold start: the AWS SDK packages load when a layer first calls AWS, not when the handler
 * modules are imported or the live layers are built. Checked in a fresh Node process, since this
 * one has loaded every SDK through the other tests' static imports.
 */
import { execFile } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../../..")
const run = promisify(execFile)

const SCRIPT = `
import { createRequire } from "node:module"
import { Effect, Layer } from "effect"
import { configLayer, loadSettings, settingsProvider } from "./src/config.js"
import { servicesLayer } from "./src/main/layers.js"
import { JobQueueSqs } from "./src/layers/jobQueue/sqs.js"
import { AwsSdk } from "./src/layers/aws/sdk.js"
import { resolveSecrets, secretsManagerReader, lambdaSettingsConfig } from "./src/main/lambda/settings.js"
import { SqlClient } from "effect/sql"
import "./src/main/lambda/api.js"
import "./src/main/lambda/processor.js"
import "./src/main/lambda/migrate.js"

const loaded = () =>
  [...new Set(Object.keys(createRequire(import.meta.url).cache).flatMap((k) => k.match(/@aws-sdk[\\\\/](client-[a-z0-9-]+)/)?.[1] ?? []))].sort()
const report = {}
report.imported = loaded()

const env = {
  APP_ENV: "test", DATA_DIR: "/nonexistent/serenya-test", AWS_REGION: "eu-west-1",
  KEY_PROVIDER: "kms", KMS_FIELDS_KEY_ID: "alias/fields", KMS_DOCUMENTS_KEY_ID: "alias/documents", KMS_AUDIT_KEY_ID: "alias/audit",
  AUDIT_CHECKPOINT_BUCKET: "checkpoints",
  STORAGE_PROVIDER: "s3", S3_BUCKET: "bucket", LLM_PROVIDER: "bedrock", COST_TRACKER: "dynamodb",
  COST_TRACKING_TABLE: "costs", USER_LOOKUP_KEY: "${"a".repeat(64)}"
}
const settings = Effect.runSync(Effect.flatMap(loadSettings(settingsProvider(env)), Effect.fromResult))
// building the layers prepares statements but runs none: any call or property answers the stand-in itself
const standIn = new Proxy(function () {}, { get: () => standIn, apply: () => standIn })
const sql = Layer.succeed(SqlClient.SqlClient, standIn)
const live = Layer.mergeAll(servicesLayer(settings, { route: "rdsProxy" }), JobQueueSqs({ queueUrl: "https://sqs.eu-west-1.amazonaws.com/1/q" })).pipe(
  Layer.provide(Layer.merge(configLayer(settings), sql))
)
await Effect.runPromise(Effect.scoped(Layer.build(live)))
report.built = loaded()

// no secret ARN configured: nothing to read, no Secrets Manager
const lambda = Effect.runSync(lambdaSettingsConfig.parse(settingsProvider({})))
await Effect.runPromise(resolveSecrets(lambda, secretsManagerReader(), {}))
report.secrets = loaded()

await Effect.runPromise(AwsSdk.s3)
report.firstS3Call = loaded()
console.log(JSON.stringify(report))
process.exit(0)
`

describe("AWS SDK loading", () => {
  it("importing the handlers and building the live layers loads no SDK; the first use loads its own", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", AWS_REGION: "eu-west-1", LOG_LEVEL: "warning" },
      timeout: 60_000
    })
    const report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, Array<string>>
    expect(report).toEqual({ imported: [], built: [], secrets: [], firstS3Call: ["client-s3"] })
  }, 90_000)

  it("under provisioned concurrency the api module loads every SDK at init, before any request", async () => {
    const script = `
import { createRequire } from "node:module"
await import("./src/main/lambda/api.js")
const cache = Object.keys(createRequire(import.meta.url).cache)
console.log(JSON.stringify([...new Set(cache.flatMap((k) => k.match(/@aws-sdk[\\\\/](client-[a-z0-9-]+)/)?.[1] ?? []))].sort()))
process.exit(0)`
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", AWS_REGION: "eu-west-1", AWS_LAMBDA_INITIALIZATION_TYPE: "provisioned-concurrency" },
      timeout: 60_000
    })
    expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]")).toEqual([
      "client-bedrock-runtime",
      "client-comprehendmedical",
      "client-dynamodb",
      "client-kms",
      "client-s3",
      "client-secrets-manager",
      "client-sns",
      "client-sqs"
    ])
  }, 90_000)
})
