/**
 * `npm run smoke:bedrock` cannot reach Bedrock here: its logic runs against aws-sdk-client-mock for
 * both Bedrock clients, with the answers the real services give, so that what a person runs with an
 * AWS account is the code these tests pass.
 */
import * as BedrockControl from "@aws-sdk/client-bedrock"
import { BedrockRuntimeClient, ConverseCommand, ValidationException } from "@aws-sdk/client-bedrock-runtime"
import { beforeEach, describe, expect, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Effect } from "effect"
import { DEFAULT_SMOKE_FILE, smokeBedrock } from "../../src/main/smoke-bedrock.js"
import { DEFAULT_MODEL_ID, EU_REGIONS } from "../../src/services/models.js"

const control = mockClient(BedrockControl.BedrockClient)
const runtime = mockClient(BedrockRuntimeClient)
beforeEach(() => {
  control.reset()
  runtime.reset()
})
const credentials = { accessKeyId: "test", secretAccessKey: "test" }
const clients = () => ({
  control: new BedrockControl.BedrockClient({ region: "eu-west-1", credentials }),
  runtime: new BedrockRuntimeClient({ region: "eu-west-1", credentials })
})
const options = { region: "eu-west-1", modelId: DEFAULT_MODEL_ID, file: DEFAULT_SMOKE_FILE }

const hemoglobin = {
  documentType: "lab_results",
  title: "Complete Blood Count",
  results: [{ name: "Hemoglobin", value: 11.2, unit: "g/dL", referenceRange: { low: 12, high: 16, text: "12.0 - 16.0" }, flag: "low" }],
  vitals: [],
  summary: "Hemoglobin is below the reference range. Please talk to your clinician about the flagged result."
}
const toolAnswer = {
  output: { message: { role: "assistant" as const, content: [{ toolUse: { toolUseId: "t1", name: "record_interpretation", input: hemoglobin as never } }] } },
  stopReason: "tool_use" as const,
  usage: { inputTokens: 10_000, outputTokens: 1000, totalTokens: 11_000 },
  metrics: { latencyMs: 900 }
}

const bedrockAnswers = (destinations: ReadonlyArray<string>) => {
  control
    .on(BedrockControl.ListInferenceProfilesCommand)
    .resolvesOnce({
      inferenceProfileSummaries: [
        { inferenceProfileId: DEFAULT_MODEL_ID, status: "ACTIVE" } as never,
        { inferenceProfileId: "us.anthropic.claude-sonnet-5-5", status: "ACTIVE" } as never
      ],
      nextToken: "page-2"
    })
    .resolvesOnce({ inferenceProfileSummaries: [{ inferenceProfileId: "eu.anthropic.claude-opus-5-5", status: "ACTIVE" } as never] })
  control.on(BedrockControl.GetInferenceProfileCommand).resolves({
    status: "ACTIVE",
    models: destinations.map((region) => ({ modelArn: `arn:aws:bedrock:${region}::foundation-model/anthropic.claude-sonnet-5-5` }))
  })
  control.on(BedrockControl.GetFoundationModelCommand).resolves({ modelDetails: { modelLifecycle: { status: "ACTIVE" } } as never })
}

describe("npm run smoke:bedrock", () => {
  it.live("lists the account's EU profiles, checks the profile's Regions against the table, interprets the fixture with tokens, cost and stop reasons", () =>
    Effect.gen(function* () {
      bedrockAnswers(EU_REGIONS)
      runtime.on(ConverseCommand).resolves(toolAnswer)
      const report = yield* smokeBedrock(options, clients(), { control: BedrockControl })
      expect(report.table).toMatchObject({ model: DEFAULT_MODEL_ID, known: true, problem: null })
      expect(report.inferenceProfiles).toEqual({
        euAnthropic: [
          { id: DEFAULT_MODEL_ID, status: "ACTIVE" },
          { id: "eu.anthropic.claude-opus-5-5", status: "ACTIVE" }
        ]
      })
      expect(report.profile).toEqual({ status: "ACTIVE", destinationRegions: [...EU_REGIONS].sort(), matchesTable: true })
      expect(report.lifecycle).toEqual({ status: "ACTIVE" })
      expect(report.interpretation.ok).toBe(true)
      // the fixture has many more results than this answer: the coverage check asks again once
      expect(report.interpretation.calls).toHaveLength(2)
      expect(report.interpretation.calls[0]).toMatchObject({ inputTokens: 10_000, outputTokens: 1000, costCents: 3.3, stopReason: "tool_use" })
      expect(report.interpretation.totalCostCents).toBe(6.6)
    })
  )

  it.live("a profile routing to a Region the table does not list, and a refused model, are reported, not hidden", () =>
    Effect.gen(function* () {
      bedrockAnswers([...EU_REGIONS, "eu-west-2"])
      runtime.on(ConverseCommand).rejects(new ValidationException({ message: "The provided model identifier is invalid.", $metadata: { httpStatusCode: 400 } }))
      const report = yield* smokeBedrock(options, clients(), { control: BedrockControl })
      expect(report.profile).toMatchObject({ matchesTable: false })
      expect(report.interpretation).toMatchObject({ ok: false, error: { tag: "LLMRequestRejected", code: "LLM_REQUEST_REJECTED", reason: "MODEL_ID_INVALID" } })
      expect(report.interpretation.calls).toEqual([])
    })
  )
})
