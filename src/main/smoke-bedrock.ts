/**
 * `npm run smoke:bedrock -- --region eu-west-1 [--model <id>] [--file <document>]`: what a person
 * with an AWS account runs before deploying (it needs credentials for that account, in the usual
 * AWS SDK places, and model access granted once by an administrator):
 *
 * 1. the model table's verdict on the model and the Region (src/services/models.ts);
 * 2. the EU Claude inference profiles the account can use in that Region (ListInferenceProfiles),
 *    and the chosen profile's destination Regions as Bedrock reports them (GetInferenceProfile),
 *    compared with the table's — a difference means the table (and so IAM) must change;
 * 3. the foundation model's lifecycle status (GetFoundationModel);
 * 4. one interpretation of a synthetic lab report through the production code path
 *    (makeBedrockLLM): each call's tokens, cost and stop reason, the results read, the time taken.
 *
 * It prints one JSON object and exits 0 when the interpretation succeeded, 1 otherwise. Nothing of
 * the document's content is printed beyond counts (the fixture is synthetic anyway).
 */
import type * as BedrockControl from "@aws-sdk/client-bedrock"
import type * as BedrockRuntime from "@aws-sdk/client-bedrock-runtime"
import type { ConverseCommandOutput } from "@aws-sdk/client-bedrock-runtime"
import { Effect, Result } from "effect"
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import { type BedrockSend, makeBedrockLLM } from "../layers/llm/bedrock.js"
import { errorInfo } from "../services/errors.js"
import type { DocumentContentType, ModelCall } from "../services/llm.js"
import { DEFAULT_MODEL_ID, findModel, modelProblem } from "../services/models.js"
import { costCents } from "../services/pricing.js"
import { BreakerConfigs } from "../services/resilience.js"
import { makeCircuitBreaker } from "../layers/resilience/circuitBreaker.js"
import { makeLocalDeidentifier } from "../layers/deidentifier/local.js"

export type BedrockControlSend = Pick<BedrockControl.BedrockClient, "send">

export interface SmokeOptions {
  readonly region: string
  readonly modelId: string
  readonly file: string
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const DEFAULT_SMOKE_FILE = path.join(ROOT, "test/fixtures/lab-report-cbc-cmp.pdf")

const contentTypeOf = (file: string): DocumentContentType => {
  const extension = path.extname(file).toLowerCase()
  if (extension === ".pdf") return "application/pdf"
  if (extension === ".png") return "image/png"
  if (extension === ".jpg" || extension === ".jpeg") return "image/jpeg"
  return "text/plain"
}

const regionOfArn = (arn: string | undefined): string | undefined => arn?.split(":")[3]

/** The smoke test itself, on clients the caller gives (real ones from the CLI, mocks in the tests). */
export const smokeBedrock = (
  options: SmokeOptions,
  clients: { readonly control: BedrockControlSend; readonly runtime: BedrockSend },
  sdk: { readonly control: typeof BedrockControl }
) =>
  Effect.gen(function* () {
    const model = findModel(options.modelId)
    const table = {
      model: options.modelId,
      region: options.region,
      known: model !== undefined,
      problem: modelProblem(options.modelId, options.region) ?? null,
      destinationRegions: model?.destinationRegions ?? [],
      pricePerMillionUsd: model?.price ?? null
    }

    // What Bedrock says about the account's profiles and the model (each step reports its own failure).
    const attempt = <A>(f: () => Promise<A>) =>
      Effect.result(Effect.tryPromise({ try: f, catch: (e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)) }))
    const profiles = yield* attempt(async () => {
      const found: Array<{ id: string; status: string | undefined }> = []
      let nextToken: string | undefined
      do {
        const page = await clients.control.send(
          new sdk.control.ListInferenceProfilesCommand({ typeEquals: "SYSTEM_DEFINED", ...(nextToken ? { nextToken } : {}) })
        )
        for (const p of page.inferenceProfileSummaries ?? []) {
          if (p.inferenceProfileId?.startsWith("eu.anthropic.")) found.push({ id: p.inferenceProfileId, status: p.status })
        }
        nextToken = page.nextToken
      } while (nextToken !== undefined)
      return found
    })
    const profile = yield* attempt(async () => {
      const out = await clients.control.send(new sdk.control.GetInferenceProfileCommand({ inferenceProfileIdentifier: options.modelId }))
      const destinations = [...new Set((out.models ?? []).map((m) => regionOfArn(m.modelArn)).filter((r): r is string => r !== undefined))].sort()
      const expected = [...(model?.destinationRegions ?? [])].sort()
      return { status: out.status, destinationRegions: destinations, matchesTable: JSON.stringify(destinations) === JSON.stringify(expected) }
    })
    const lifecycle = yield* attempt(async () => {
      const out = await clients.control.send(
        new sdk.control.GetFoundationModelCommand({ modelIdentifier: model?.foundationModelId ?? options.modelId })
      )
      return { status: out.modelDetails?.modelLifecycle?.status ?? "unknown" }
    })

    // One interpretation through the production path; every Converse answer's stop reason is kept.
    const stopReasons: Array<string> = []
    const runtime: BedrockSend = {
      send: ((command: never, sendOptions: never) =>
        (clients.runtime.send as (c: never, o: never) => Promise<ConverseCommandOutput>)(command, sendOptions).then((out) => {
          stopReasons.push(out.stopReason ?? "unknown")
          return out
        })) as BedrockSend["send"]
    }
    const breaker = yield* makeCircuitBreaker({ ...BreakerConfigs.llm, name: "smoke" })
    // the local scrubber: the smoke run checks the model's path, not Comprehend Medical's
    const llm = makeBedrockLLM(runtime, { modelId: options.modelId, breaker, deidentifier: makeLocalDeidentifier() })
    const bytes = yield* Effect.promise(() => readFile(options.file))
    const calls: Array<ModelCall> = []
    const started = Date.now()
    const outcome = yield* Effect.result(
      llm.interpret({
        bytes,
        contentType: contentTypeOf(options.file),
        onUsage: (call) => Effect.sync(() => void calls.push(call))
      })
    )
    const interpretation = Result.match(outcome, {
      onFailure: (error) => ({
        ok: false,
        error: { tag: error._tag, code: errorInfo(error)?.code ?? "UNKNOWN", message: error.message, ...("reason" in error ? { reason: error.reason } : {}) }
      }),
      onSuccess: (result) => ({
        ok: true,
        results: result.document.results.length,
        vitals: result.document.vitals.length,
        unreadLines: result.document.unreadLines.length,
        flagged: result.document.results.filter((r) => r.flag !== "normal" && r.flag !== "unknown").length
      })
    })
    return {
      table,
      inferenceProfiles: Result.match(profiles, { onFailure: (error) => ({ error }), onSuccess: (found) => ({ euAnthropic: found }) }),
      profile: Result.match(profile, { onFailure: (error) => ({ error }), onSuccess: (p) => p }),
      lifecycle: Result.match(lifecycle, { onFailure: (error) => ({ error }), onSuccess: (l) => l }),
      interpretation: {
        ...interpretation,
        elapsedMs: Date.now() - started,
        calls: calls.map((call, i) => ({
          inputTokens: call.usage.inputTokens,
          outputTokens: call.usage.outputTokens,
          costCents: costCents(call.modelId, call.usage),
          elapsedMs: call.elapsedMs,
          stopReason: stopReasons[i] ?? "unknown"
        })),
        totalCostCents: Math.round(calls.reduce((sum, call) => sum + costCents(call.modelId, call.usage), 0) * 10_000) / 10_000
      }
    }
  })

const main = async () => {
  const { values } = parseArgs({
    options: { region: { type: "string" }, model: { type: "string" }, file: { type: "string" } },
    strict: true
  })
  const region = values.region ?? process.env.BEDROCK_REGION ?? process.env.AWS_REGION ?? "eu-west-1"
  const options: SmokeOptions = { region, modelId: values.model ?? process.env.BEDROCK_MODEL_ID ?? DEFAULT_MODEL_ID, file: values.file ?? DEFAULT_SMOKE_FILE }
  const [control, runtime] = await Promise.all([import("@aws-sdk/client-bedrock"), import("@aws-sdk/client-bedrock-runtime")])
  const clients = {
    control: new control.BedrockClient({ region }),
    // one attempt per call, as in production: retries are the layer's own
    runtime: new (runtime as typeof BedrockRuntime).BedrockRuntimeClient({ region, maxAttempts: 1 })
  }
  const report = await Effect.runPromise(smokeBedrock(options, clients, { control }))
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  process.exitCode = report.interpretation.ok ? 0 : 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`smoke:bedrock failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  })
}
