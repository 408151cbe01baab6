/**
 * The Bedrock layer against aws-sdk-client-mock (no Bedrock emulator exists): request shape per
 * model capability, usage, retries on the `llm` schedule, the breaker and its cached fallback, the
 * repair round for invalid tool input, stop reasons, and AWS's own error shapes and messages.
 */
import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  ResourceNotFoundException,
  ValidationException
} from "@aws-sdk/client-bedrock-runtime"
import { beforeEach, describe, expect, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Cause, Effect, Exit } from "effect"
import { imageSize } from "image-size"
import { readFileSync } from "node:fs"
import { fixturePath } from "../../support/fixtures.js"
import { png } from "../../support/png.js"
import { makeBedrockLLM } from "../../../src/layers/llm/bedrock.js"
import {
  cautiousModel,
  interpretationRequest,
  interpretationToolSchema,
  outputBudget,
  THINKING_ALLOWANCE,
  toolChoiceFor
} from "../../../src/layers/llm/bedrockRequest.js"
import { errorInfo } from "../../../src/services/errors.js"
import { InterpretedDocument, type ModelCall } from "../../../src/services/llm.js"
import { DEFAULT_MODEL_ID, findModel, type ModelCard } from "../../../src/services/models.js"
import { BreakerConfigs, makeRetrySchedule } from "../../../src/services/resilience.js"
import { makeCircuitBreaker } from "../../../src/layers/resilience/circuitBreaker.js"
import { makeLocalDeidentifier } from "../../../src/layers/deidentifier/local.js"

const MODEL = DEFAULT_MODEL_ID
const bedrock = mockClient(BedrockRuntimeClient)
const deidentifier = makeLocalDeidentifier()
beforeEach(() => bedrock.reset())

const client = () =>
  new BedrockRuntimeClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })

// The llm schedule's own delays are proven in the resilience tests; here retries run live on a
// millisecond schedule of the same shape, so the tests depend on no TestClock choreography.
const fastRetry = makeRetrySchedule({ base: "2 millis", maxRetries: 3, maxDelay: "10 millis" })

const makeLLM = Effect.map(makeCircuitBreaker({ ...BreakerConfigs.llm, name: `llm-test-${Math.random()}` }), (breaker) =>
  makeBedrockLLM(client(), { modelId: MODEL, breaker, retry: fastRetry, deidentifier })
)

const interpretation = {
  documentType: "lab_results",
  title: "Complete Blood Count",
  collectedAt: "2026-04-18T07:42",
  results: [
    {
      name: "Hemoglobin",
      value: 11.2,
      unit: "g/dL",
      referenceRange: { low: 12, high: 16, text: "12.0 - 16.0" },
      flag: "low"
    }
  ],
  vitals: [],
  summary: "Hemoglobin is below the reference range. Please talk to your clinician about the flagged result."
}

const toolAnswer = (input: unknown, usage = { inputTokens: 1200, outputTokens: 300 }) => ({
  output: {
    message: {
      role: "assistant" as const,
      content: [{ toolUse: { toolUseId: "tool-1", name: "record_interpretation", input: input as never } }]
    }
  },
  stopReason: "tool_use" as const,
  usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
  metrics: { latencyMs: 10 }
})

const textAnswer = (text: string) => ({
  output: { message: { role: "assistant" as const, content: [{ text }] } },
  stopReason: "end_turn" as const,
  usage: { inputTokens: 500, outputTokens: 40, totalTokens: 540 },
  metrics: { latencyMs: 10 }
})

/** A valid one-page PDF without a text layer, as a scan is to a text extractor; `tag` makes its bytes differ. */
const scannedPdf = (tag = "a") =>
  Buffer.from(
    `%PDF-1.4\n%${tag}\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n` +
      `3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n`
  )
const pdf = scannedPdf()

/** Exceptions as the SDK builds them from Bedrock's answers: its own classes, AWS's own messages. */
const validation = (message: string) => new ValidationException({ message, $metadata: { httpStatusCode: 400 } })
const notFound = (message: string) => new ResourceNotFoundException({ message, $metadata: { httpStatusCode: 404 } })
const accessDenied = (message: string) => new AccessDeniedException({ message, $metadata: { httpStatusCode: 403 } })
const converseInputs = () => bedrock.commandCalls(ConverseCommand).map((call) => call.args[0].input as ConverseCommandInput)
const awsError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } })

/** The typed error when it is the exit's only failure (v3: a cause whose _tag is "Fail"). */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const [only, ...more] = exit.cause.reasons
  return only !== undefined && more.length === 0 && Cause.isFailReason(only) ? only.error : undefined
}

describe("Bedrock interpret", () => {
  it.effect("a scanned PDF goes with citations (read as page images); Sonnet 5.5 thinks always: auto tool choice, no temperature", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      const calls: Array<ModelCall> = []
      const result = yield* llm.interpret({
        bytes: pdf,
        contentType: "application/pdf",
        documentTypeHint: "lab_results",
        onUsage: (call) => Effect.sync(() => void calls.push(call))
      })
      expect(result.provider).toBe("aws.bedrock")
      expect(result.modelId).toBe(MODEL)
      expect(result.usage).toMatchObject({ inputTokens: 1200, outputTokens: 300 })
      expect(calls.map((c) => [c.usage.inputTokens, c.usage.outputTokens, c.modelId])).toEqual([[1200, 300, MODEL]])
      expect(result.document).toBeInstanceOf(InterpretedDocument)
      expect(result.document.results[0]).toMatchObject({ name: "Hemoglobin", value: 11.2, flag: "low" })

      const [input] = converseInputs()
      expect(input?.modelId).toBe("eu.anthropic.claude-sonnet-5-5")
      expect(input?.messages?.[0]?.content?.[0]).toEqual({
        document: { format: "pdf", name: "uploaded-document", source: { bytes: pdf }, citations: { enabled: true } }
      })
      // Converse wants a text block beside a document; it asks for the tool, since the choice cannot force it
      expect(input?.messages?.[0]?.content?.[1]?.text).toContain("Call the record_interpretation tool")
      expect(input?.toolConfig?.toolChoice).toEqual({ auto: {} })
      expect(input?.toolConfig?.tools?.[0]?.toolSpec?.name).toBe("record_interpretation")
      expect(input?.toolConfig?.tools?.[0]?.toolSpec?.inputSchema?.json).toEqual(interpretationToolSchema)
      expect(JSON.stringify(input?.system)).toContain("not a diagnosis")
      expect(input?.inferenceConfig).toEqual({ maxTokens: 7808 + THINKING_ALLOWANCE })
    })
  )

  it.effect("images go as image blocks and text as text", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      const image = png(2, 2)
      yield* llm.interpret({ bytes: image, contentType: "image/png" })
      yield* llm.interpret({ bytes: Buffer.from("Hemoglobin 11.2 g/dL 12.0 - 16.0 L"), contentType: "text/plain" })
      const [imageCall, textCall] = converseInputs()
      expect(imageCall?.messages?.[0]?.content?.[0]).toEqual({ image: { format: "png", source: { bytes: image } } })
      expect(textCall?.messages?.[0]?.content?.[0]).toEqual({ text: "Hemoglobin 11.2 g/dL 12.0 - 16.0 L" })
    })
  )

  it("the tool schema is self-contained (no $ref) and requires the document's fields", () => {
    expect(JSON.stringify(interpretationToolSchema)).not.toContain("$ref")
    expect(interpretationToolSchema).toMatchObject({
      type: "object",
      required: ["documentType", "title", "results", "vitals", "summary"]
    })
  })

  it("the tool schema carries the reader's fields: flag source, LOINC, UCUM unit, position, unread lines", () => {
    const schema = interpretationToolSchema as {
      properties: { results: { items: { properties: Record<string, unknown> } }; unreadLines: { items: { required: Array<string> } } }
    }
    expect(Object.keys(schema.properties.results.items.properties)).toEqual(
      expect.arrayContaining(["flagSource", "loinc", "ucumUnit", "page", "line"])
    )
    expect(schema.properties.unreadLines.items.required).toEqual(["page", "line", "text"])
    expect(JSON.stringify(schema.properties.results.items.properties.flagSource)).toContain("critical_limit")
  })

  it.effect("a model that calls a flagged report normal: the summary is replaced, critical values first with the notice", () =>
    Effect.gen(function* () {
      const potassium = { ...interpretation.results[0], name: "Potassium", value: 6.9, unit: "mmol/L", flag: "critical_high", flagSource: "report" }
      bedrock.on(ConverseCommand).resolves(
        toolAnswer({ ...interpretation, results: [...interpretation.results, potassium], summary: "All results are within range." })
      )
      const llm = yield* makeLLM
      const { document } = yield* llm.interpret({ bytes: pdf, contentType: "application/pdf" })
      expect(document.results.map((r) => r.name)).toEqual(["Potassium", "Hemoglobin"])
      expect(document.summary).not.toContain("All results are within range.")
      expect(document.summary.startsWith("Important: this document has a critical value (Potassium 6.9 mmol/L).")).toBe(true)
      expect(document.summary).toContain("Hemoglobin is 11.2 g/dL, below the reference range 12.0–16.0.")
    })
  )

  it.live("throttling is retried, then succeeds", () =>
    Effect.gen(function* () {
      bedrock
        .on(ConverseCommand)
        .rejectsOnce(awsError("ThrottlingException", 429))
        .rejectsOnce(awsError("ModelNotReadyException", 429))
        .resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      const result = yield* llm.interpret({ bytes: pdf, contentType: "application/pdf" })
      expect(result.document.title).toBe("Complete Blood Count")
      expect(converseInputs()).toHaveLength(3)
    })
  )

  it.live("a model that stays unavailable → LLMUnavailable with Retry-After after 1 + 3 attempts", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).rejects(awsError("ServiceUnavailableException", 503))
      const llm = yield* makeLLM
      const error = failureOf(yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf" })))
      expect(error).toMatchObject({ _tag: "LLMUnavailable" })
      expect(converseInputs()).toHaveLength(4)
    })
  )

  it.live("after 3 failures the breaker opens: an identical earlier request is served from the cache, others get LLMUnavailable", () =>
    Effect.gen(function* () {
      const llm = yield* makeLLM
      bedrock.on(ConverseCommand).resolvesOnce(toolAnswer(interpretation))
      const cachedRequest = { bytes: pdf, contentType: "application/pdf" as const }
      yield* llm.interpret(cachedRequest)

      bedrock.on(ConverseCommand).rejects(awsError("ServiceUnavailableException", 503))
      const other = { bytes: scannedPdf("another"), contentType: "application/pdf" as const }
      for (let i = 0; i < 3; i++) {
        expect(failureOf(yield* Effect.exit(llm.interpret(other)))).toMatchObject({ _tag: "LLMUnavailable" })
      }
      const callsWhenOpened = converseInputs().length

      const fromCache = yield* llm.interpret(cachedRequest)
      expect(fromCache.document.results[0]?.value).toBe(11.2)
      const refused = failureOf(yield* Effect.exit(llm.interpret(other)))
      expect(refused).toMatchObject({ _tag: "LLMUnavailable" })
      expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(0)
      expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeLessThanOrEqual(45)
      expect(converseInputs().length).toBe(callsWhenOpened) // nothing reached Bedrock while open
    })
  )

  it.live("the fallback answers are kept per user: never served to another, dropped by forgetUser (erasure), and expired after their TTL", () =>
    Effect.gen(function* () {
      const breaker = yield* makeCircuitBreaker({ ...BreakerConfigs.llm, name: `llm-test-${Math.random()}` })
      // long enough for the calls below (each reads its PDF in a thread: seconds on a loaded machine) to find it kept
      const llm = makeBedrockLLM(client(), { modelId: MODEL, breaker, retry: fastRetry, cacheTtl: "15 seconds", deidentifier })
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const request = (userId: string) => ({ bytes: pdf, contentType: "application/pdf" as const, userId })
      yield* llm.interpret(request("alice"))
      yield* llm.interpret(request("carol"))

      bedrock.on(ConverseCommand).rejects(awsError("ServiceUnavailableException", 503))
      const other = { bytes: scannedPdf("another"), contentType: "application/pdf" as const, userId: "alice" }
      for (let i = 0; i < 3; i++) yield* Effect.exit(llm.interpret(other))

      expect((yield* llm.interpret(request("alice"))).document.results[0]?.value).toBe(11.2)
      // the same bytes from someone else are not answered with alice's interpretation
      expect(failureOf(yield* Effect.exit(llm.interpret(request("bob"))))).toMatchObject({ _tag: "LLMUnavailable" })

      yield* llm.forgetUser("alice")
      expect(failureOf(yield* Effect.exit(llm.interpret(request("alice"))))).toMatchObject({ _tag: "LLMUnavailable" })
      expect((yield* llm.interpret(request("carol"))).document.results[0]?.value).toBe(11.2)

      yield* Effect.sleep("15100 millis")
      expect(failureOf(yield* Effect.exit(llm.interpret(request("carol"))))).toMatchObject({ _tag: "LLMUnavailable" })
    }), { timeout: 60_000 }
  )

  it.effect("invalid tool input → one repair round with the errors → the repaired answer", () =>
    Effect.gen(function* () {
      bedrock
        .on(ConverseCommand)
        .resolvesOnce(toolAnswer({ ...interpretation, documentType: "x-ray", results: "none" }))
        .resolvesOnce(toolAnswer(interpretation, { inputTokens: 1500, outputTokens: 350 }))
      const llm = yield* makeLLM
      const result = yield* llm.interpret({ bytes: pdf, contentType: "application/pdf" })
      expect(result.document.documentType).toBe("lab_results")
      expect(result.usage).toMatchObject({ inputTokens: 2700, outputTokens: 650 })
      const [, repair] = converseInputs()
      const lastTurn = repair?.messages?.at(-1)
      expect(lastTurn?.content?.[0]?.toolResult).toMatchObject({ toolUseId: "tool-1", status: "error" })
      expect(JSON.stringify(lastTurn)).toContain("documentType")
    })
  )

  describe("the coverage check against the document's text", () => {
    const report = [
      "Test          Result   Flag   Units     Reference",
      "Sodium        131      L      mmol/L    135-145",
      "Potassium     6.9      HH     mmol/L    3.5-5.1",
      "Glucose       104      H      mg/dL     70-99",
      "Chloride      101             mmol/L    98-107"
    ].join("\n")
    const bytes = Buffer.from(report)
    const row = (name: string, value: number, unit: string, text: string, flag: string, line?: number) => ({
      name,
      value,
      unit,
      referenceRange: { text },
      flag,
      ...(line === undefined ? {} : { page: 1, line })
    })
    const complete = [
      row("Sodium", 131, "mmol/L", "135-145", "low", 2),
      row("Potassium", 6.9, "mmol/L", "3.5-5.1", "critical_high", 3),
      row("Glucose", 104, "mg/dL", "70-99", "high", 4),
      row("Chloride", 101, "mmol/L", "98-107", "normal", 5)
    ]
    const answer = (results: ReadonlyArray<unknown>) =>
      toolAnswer({ ...interpretation, title: "Chemistry", results, summary: "Two results are flagged." })

    it.effect("a complete answer is kept as it is, in one call", () =>
      Effect.gen(function* () {
        bedrock.on(ConverseCommand).resolves(answer(complete))
        const llm = yield* makeLLM
        const { document } = yield* llm.interpret({ bytes, contentType: "text/plain" })
        expect(converseInputs()).toHaveLength(1)
        expect(document.results.map((r) => [r.name, r.line])).toEqual([
          ["Potassium", 3],
          ["Sodium", 2],
          ["Glucose", 4],
          ["Chloride", 5]
        ])
        expect(document.unreadLines).toEqual([])
      })
    )

    it.effect("an omitted row is quoted back once; a repaired answer is taken", () =>
      Effect.gen(function* () {
        bedrock
          .on(ConverseCommand)
          .resolvesOnce(answer(complete.filter((r) => r.name !== "Potassium")))
          .resolvesOnce(answer(complete))
        const llm = yield* makeLLM
        const { document, usage } = yield* llm.interpret({ bytes, contentType: "text/plain" })
        const [, repair] = converseInputs()
        expect(JSON.stringify(repair?.messages?.at(-1))).toContain("page 1, line 3: Potassium 6.9 HH mmol/L 3.5-5.1")
        expect(document.results.map((r) => r.name)).toContain("Potassium")
        expect(document.unreadLines).toEqual([])
        expect(usage.inputTokens).toBe(2400)
      })
    )

    it.effect("a vitals reading the answer left out is quoted back too; readings without a line are placed by their values", () =>
      Effect.gen(function* () {
        const diary = Buffer.from(["Home blood pressure — March 2026", "2026-03-02  07:05  128/84 mmHg  pulse 72", "2026-03-02  21:40  139/88 mmHg  pulse 77"].join("\n"))
        const reading = (time: string, value: number, diastolic: number) => ({ kind: "blood_pressure", time, value, diastolic, unit: "mmHg" })
        const vitalsAnswer = (vitals: ReadonlyArray<unknown>) =>
          toolAnswer({ ...interpretation, documentType: "vitals", title: "Home blood pressure", results: [], vitals, summary: "Two readings." })
        const morning = [reading("2026-03-02T07:05", 128, 84), { kind: "pulse", time: "2026-03-02T07:05", value: 72, unit: "bpm" }]
        const evening = [reading("2026-03-02T21:40", 139, 88), { kind: "pulse", time: "2026-03-02T21:40", value: 77, unit: "bpm" }]
        bedrock.on(ConverseCommand).resolvesOnce(vitalsAnswer(morning)).resolvesOnce(vitalsAnswer([...morning, ...evening]))
        const llm = yield* makeLLM
        const { document } = yield* llm.interpret({ bytes: diary, contentType: "text/plain" })
        const [, repair] = converseInputs()
        expect(JSON.stringify(repair?.messages?.at(-1))).toContain("page 1, line 3: 2026-03-02 21:40 139/88 mmHg pulse 77")
        expect(document.vitals.map((v) => v.value)).toEqual([128, 72, 139, 77])
        expect(document.unreadLines).toEqual([])
      })
    )

    it.effect("a row still missing after the repair is kept as an unread line, and the summary says so", () =>
      Effect.gen(function* () {
        const partial = answer(complete.filter((r) => r.name !== "Potassium"))
        bedrock.on(ConverseCommand).resolvesOnce(partial).resolvesOnce(partial)
        const llm = yield* makeLLM
        const { document } = yield* llm.interpret({ bytes, contentType: "text/plain" })
        expect(converseInputs()).toHaveLength(2)
        expect(document.unreadLines).toEqual([{ page: 1, line: 3, text: "Potassium 6.9 HH mmol/L 3.5-5.1" }])
        expect(document.summary).toContain("1 line looks like a result but could not be read")
      })
    )

    it.effect("an invented row and a mis-valued row are refused; the line the mis-valued row stood for stays accounted for", () =>
      Effect.gen(function* () {
        const wrong = [
          row("Sodium", 131, "mmol/L", "135-145", "low", 2),
          row("Potassium", 4.9, "mmol/L", "3.5-5.1", "normal", 3),
          row("Glucose", 104, "mg/dL", "70-99", "high", 4),
          row("Chloride", 101, "mmol/L", "98-107", "normal", 5),
          row("Magnesium", 2.1, "mg/dL", "1.7-2.2", "normal")
        ]
        bedrock.on(ConverseCommand).resolves(answer(wrong))
        const llm = yield* makeLLM
        const { document } = yield* llm.interpret({ bytes, contentType: "text/plain" })
        const [, repair] = converseInputs()
        const asked = JSON.stringify(repair?.messages?.at(-1))
        expect(asked).toContain("Magnesium: 2.1 mg/dL")
        expect(asked).toContain("Potassium: 4.9 mmol/L")
        expect(asked).toContain("line 3: Potassium 6.9 HH mmol/L 3.5-5.1")
        // the same wrong answer twice: the invented rows are gone, the potassium line is unread
        expect(document.results.map((r) => r.name).sort()).toEqual(["Chloride", "Glucose", "Sodium"])
        expect(document.unreadLines.map((l) => l.line)).toEqual([3])
      })
    )

    it.effect("a value printed elsewhere in the document does not count for another test's name", () =>
      Effect.gen(function* () {
        // 5.1 is printed, but in potassium's range: as "Calcium 5.1" it is invented
        bedrock.on(ConverseCommand).resolves(answer([...complete, row("Calcium", 5.1, "mg/dL", "8.6-10.3", "low")]))
        const llm = yield* makeLLM
        const { document } = yield* llm.interpret({ bytes, contentType: "text/plain" })
        expect(document.results.map((r) => r.name)).not.toContain("Calcium")
      })
    )
  })

  it.effect("invalid twice → LLMInvalidOutput after exactly two calls", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer({ title: "" }))
      const llm = yield* makeLLM
      const error = failureOf(yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf" })))
      expect(error).toMatchObject({ _tag: "LLMInvalidOutput" })
      expect(converseInputs()).toHaveLength(2)
    })
  )
})

describe("Bedrock chat", () => {
  const document = InterpretedDocument.make({
    documentType: "lab_results",
    title: "Complete Blood Count",
    results: [],
    vitals: [],
    summary: "All results are within range."
  })

  it.effect("sends the document as context, the history and the question; returns the text and usage", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(textAnswer("Your hemoglobin was 11.2 g/dL."))
      const llm = yield* makeLLM
      const answer = yield* llm.chat({
        document,
        history: [
          { role: "user", content: "hello" },
          { role: "assistant", content: "Hi, ask me about your report." }
        ],
        question: "what is my hemoglobin?"
      })
      expect(answer).toMatchObject({ answer: "Your hemoglobin was 11.2 g/dL.", provider: "aws.bedrock", modelId: MODEL })
      expect(answer.usage).toMatchObject({ inputTokens: 500, outputTokens: 40 })
      const [input] = converseInputs()
      expect(JSON.stringify(input?.system)).toContain("Complete Blood Count")
      expect(JSON.stringify(input?.system)).toContain("never recommend or dose")
      expect(input?.messages?.map((m) => m.role)).toEqual(["user", "assistant", "user"])
      expect(input?.messages?.at(-1)?.content).toEqual([{ text: "what is my hemoglobin?" }])
      expect(input?.toolConfig).toBeUndefined()
    })
  )

  it.effect("an empty answer is LLMInvalidOutput", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(textAnswer("   "))
      const llm = yield* makeLLM
      const error = failureOf(yield* Effect.exit(llm.chat({ document, history: [], question: "hi" })))
      expect(error).toMatchObject({ _tag: "LLMInvalidOutput" })
    })
  )
})

describe("Bedrock request shape per model capability (the model table)", () => {
  const sonnet55 = findModel(DEFAULT_MODEL_ID)!
  const forced: ModelCard = { ...cautiousModel("test.forced"), capabilities: { ...cautiousModel("x").capabilities, forcedToolChoice: true, anyToolChoice: true, temperature: true } }
  const anyOnly: ModelCard = { ...forced, capabilities: { ...forced.capabilities, forcedToolChoice: false } }

  it("forces the tool where the model takes it, else any tool, else auto; never with thinking", () => {
    expect(toolChoiceFor(forced)).toEqual({ tool: { name: "record_interpretation" } })
    expect(toolChoiceFor(anyOnly)).toEqual({ any: {} })
    expect(toolChoiceFor(cautiousModel("vendor.unknown"))).toEqual({ auto: {} })
    // a model that always thinks rejects forced and any tool choice ("Thinking may not be enabled when tool_choice forces tool use")
    expect(toolChoiceFor({ ...forced, capabilities: { ...forced.capabilities, thinking: "always" } })).toEqual({ auto: {} })
    expect(toolChoiceFor(sonnet55)).toEqual({ auto: {} })
  })

  it("sends a temperature only to a model that takes one, and sizes the budget for thinking within the model's maximum", () => {
    expect(interpretationRequest(forced, [], 4096).inferenceConfig).toEqual({ maxTokens: 4096, temperature: 0 })
    expect(interpretationRequest(sonnet55, [], 4096).inferenceConfig).toEqual({ maxTokens: 4096 })
    expect(outputBudget(sonnet55, 4096)).toBe(4096 + THINKING_ALLOWANCE)
    expect(outputBudget(forced, 4096)).toBe(4096)
    expect(outputBudget(forced, 1_000_000)).toBe(forced.capabilities.maxOutputTokens)
  })

  it.effect("a model with forced tool choice and temperature gets both in the request", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const breaker = yield* makeCircuitBreaker({ ...BreakerConfigs.llm, name: `llm-test-${Math.random()}` })
      const llm = makeBedrockLLM(client(), { modelId: "test.forced", model: forced, breaker, retry: fastRetry, deidentifier })
      yield* llm.interpret({ bytes: Buffer.from("Hemoglobin 11.2 g/dL 12.0 - 16.0 L"), contentType: "text/plain" })
      const [input] = converseInputs()
      expect(input?.toolConfig?.toolChoice).toEqual({ tool: { name: "record_interpretation" } })
      expect(input?.inferenceConfig).toEqual({ maxTokens: 4096, temperature: 0 })
    })
  )
})

describe("Bedrock refusals are classified by what they mean (AWS's own exceptions and messages)", () => {
  const cases: ReadonlyArray<readonly [string, Error, string]> = [
    ["an invalid or unknown model id", validation("The provided model identifier is invalid."), "MODEL_ID_INVALID"],
    [
      "a model that needs an inference profile",
      validation(
        "Invocation of model ID anthropic.claude-sonnet-5-5 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."
      ),
      "INFERENCE_PROFILE_REQUIRED"
    ],
    [
      "a model past its end of life",
      notFound("This model version has reached the end of its life. Please refer to the AWS documentation for more details."),
      "MODEL_END_OF_LIFE"
    ],
    [
      "a legacy model the account has not used lately",
      notFound("Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days."),
      "MODEL_LEGACY_INACTIVE"
    ],
    [
      "an unsupported parameter",
      validation("The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one."),
      "REQUEST_NOT_SUPPORTED"
    ],
    [
      "forced tool use with thinking",
      validation("The model returned the following errors: Thinking may not be enabled when tool_choice forces tool use."),
      "REQUEST_NOT_SUPPORTED"
    ],
    ["model access not granted", accessDenied("You don't have access to the model with the specified model ID."), "MODEL_ACCESS_NOT_GRANTED"],
    [
      "no Marketplace subscription",
      accessDenied(
        "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model."
      ),
      "MODEL_SUBSCRIPTION_MISSING"
    ],
    [
      "a role without the permission",
      accessDenied("User: arn:aws:sts::123456789012:assumed-role/processor/fn is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-5-5"),
      "MODEL_ACCESS_DENIED"
    ]
  ]

  it.effect.each(cases)("%s: technical, escalated, retried later by the job, never 'your document is unreadable'", ([, error, reason]) =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).rejects(error)
      const llm = yield* makeLLM
      const failure = failureOf(yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf" })))
      expect(failure).toMatchObject({ _tag: "LLMRequestRejected", reason, retryLater: true })
      expect(errorInfo(failure)).toEqual({ code: "LLM_REQUEST_REJECTED", category: "technical", recovery: "escalate", status: 503 })
      // not retried within the call: the same request would be refused the same way
      expect(converseInputs()).toHaveLength(1)
    })
  )

  it.live("the breaker counts them: after three it opens and Bedrock is not called", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).rejects(validation("The provided model identifier is invalid."))
      const llm = yield* makeLLM
      for (let i = 0; i < 3; i++) {
        expect(failureOf(yield* Effect.exit(llm.interpret({ bytes: scannedPdf(`n${i}`), contentType: "application/pdf" })))).toMatchObject({
          _tag: "LLMRequestRejected"
        })
      }
      expect(failureOf(yield* Effect.exit(llm.interpret({ bytes: scannedPdf("n4"), contentType: "application/pdf" })))).toMatchObject({
        _tag: "LLMUnavailable"
      })
      expect(converseInputs()).toHaveLength(3)
    })
  )

  it.effect("an input longer than the model's context is the document's size: DocumentTooComplex, not retried", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).rejects(validation("Input is too long for requested model."))
      const llm = yield* makeLLM
      const failure = failureOf(yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf" })))
      expect(failure).toMatchObject({ _tag: "DocumentTooComplex", limit: "text_length" })
      expect(converseInputs()).toHaveLength(1)
    })
  )

  it.effect.each(["guardrail_intervened", "content_filtered"] as const)("stop reason %s: the withheld answer is not used; not retried later", (stopReason) =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves({ ...textAnswer("Sorry."), stopReason })
      const llm = yield* makeLLM
      const failure = failureOf(yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf" })))
      expect(failure).toMatchObject({ _tag: "LLMRequestRejected", retryLater: false })
      const chatFailure = failureOf(
        yield* Effect.exit(llm.chat({ document: InterpretedDocument.make({ ...interpretation, results: [] } as never), history: [], question: "hi" }))
      )
      expect(chatFailure).toMatchObject({ _tag: "LLMRequestRejected" })
    })
  )
})

describe("Bedrock never accepts a truncated answer", () => {
  const cutOff = (usage = { inputTokens: 1000, outputTokens: 16000 }) => ({
    ...toolAnswer({ ...interpretation, results: [{ name: "Hemo" }] }, usage),
    stopReason: "max_tokens" as const
  })

  it.effect("a max_tokens stop is asked again once with twice the budget; both calls are reported", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolvesOnce(cutOff()).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      const calls: Array<ModelCall> = []
      const result = yield* llm.interpret({ bytes: pdf, contentType: "application/pdf", onUsage: (call) => Effect.sync(() => void calls.push(call)) })
      expect(result.document.results[0]?.name).toBe("Hemoglobin")
      const [first, second] = converseInputs()
      expect(second?.inferenceConfig?.maxTokens).toBe(2 * first!.inferenceConfig!.maxTokens!)
      // the cut-off call is not a turn of the conversation: the second call is the same request
      expect(second?.messages).toEqual(first?.messages)
      expect(calls.map((c) => c.usage.outputTokens)).toEqual([16000, 300])
      expect(result.usage.outputTokens).toBe(16300)
    })
  )

  it.effect("stopped at the larger budget too: LLMOutputTruncated after exactly two calls, both reported", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(cutOff())
      const llm = yield* makeLLM
      const calls: Array<ModelCall> = []
      const failure = failureOf(
        yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf", onUsage: (call) => Effect.sync(() => void calls.push(call)) }))
      )
      expect(failure).toMatchObject({ _tag: "LLMOutputTruncated" })
      expect(errorInfo(failure)).toMatchObject({ code: "LLM_OUTPUT_TRUNCATED", category: "technical" })
      expect(converseInputs()).toHaveLength(2)
      expect(calls).toHaveLength(2)
    })
  )

  it.effect("a chat answer cut mid-sentence is never returned: asked again with a larger budget, else LLMOutputTruncated", () =>
    Effect.gen(function* () {
      const document = InterpretedDocument.make({ documentType: "lab_results", title: "CBC", results: [], vitals: [], summary: "s" })
      const cut = { ...textAnswer("Your hemoglobin was 11.2 g/dL, which is"), stopReason: "max_tokens" as const }
      bedrock.on(ConverseCommand).resolvesOnce(cut).resolves(textAnswer("Your hemoglobin was 11.2 g/dL, below the range."))
      const llm = yield* makeLLM
      const answer = yield* llm.chat({ document, history: [], question: "hemoglobin?" })
      expect(answer.answer).toBe("Your hemoglobin was 11.2 g/dL, below the range.")
      expect(answer.usage.outputTokens).toBe(80)

      bedrock.reset()
      bedrock.on(ConverseCommand).resolves(cut)
      const failure = failureOf(yield* Effect.exit(llm.chat({ document, history: [], question: "hemoglobin, again?" })))
      expect(failure).toMatchObject({ _tag: "LLMOutputTruncated" })
    })
  )

  it.effect("an invalid answer and its repair are both paid for: two calls reported, then LLMInvalidOutput", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer({ title: "" }))
      const llm = yield* makeLLM
      const calls: Array<ModelCall> = []
      const failure = failureOf(
        yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf", onUsage: (call) => Effect.sync(() => void calls.push(call)) }))
      )
      expect(failure).toMatchObject({ _tag: "LLMInvalidOutput" })
      expect(calls.map((c) => c.usage.inputTokens)).toEqual([1200, 1200])
    })
  )
})

describe("Documents are checked against Converse's limits before any call", () => {
  const refused = (bytes: Buffer, contentType: "application/pdf" | "image/png" | "image/jpeg", model?: ModelCard) =>
    Effect.gen(function* () {
      const breaker = yield* makeCircuitBreaker({ ...BreakerConfigs.llm, name: `llm-test-${Math.random()}` })
      const llm = makeBedrockLLM(client(), { modelId: model?.id ?? MODEL, ...(model ? { model } : {}), breaker, retry: fastRetry, deidentifier })
      const failure = failureOf(yield* Effect.exit(llm.interpret({ bytes, contentType })))
      expect(converseInputs()).toHaveLength(0)
      return failure
    })

  it.effect("an image with more pixels than we decode (50 MP) is refused without decoding it", () =>
    Effect.gen(function* () {
      expect(yield* refused(png(10_000, 6_000), "image/png")).toMatchObject({ _tag: "DocumentTooComplex" })
    })
  )

  it.effect("an image whose header says no size, or a PDF that cannot be opened, is unreadable without a call", () =>
    Effect.gen(function* () {
      expect(yield* refused(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]), "image/jpeg")).toMatchObject({ reason: "IMAGE_UNREADABLE" })
      expect(yield* refused(Buffer.from("%PDF-1.4 truncated"), "application/pdf")).toMatchObject({ _tag: "DocumentUnreadable", reason: "PDF_UNREADABLE" })
    })
  )

  it.effect("a scanned PDF for a model without citations (it would read nothing of it) is refused", () =>
    Effect.gen(function* () {
      expect(yield* refused(pdf, "application/pdf", cautiousModel("vendor.no-citations"))).toMatchObject({ reason: "NO_TEXT_LAYER" })
      expect(yield* refused(Buffer.concat([pdf, Buffer.from(`%${"x".repeat(4_600_000)}\n`)]), "application/pdf")).toMatchObject({
        _tag: "DocumentTooComplex"
      })
    })
  )
})

describe("Images over Converse's limits are scaled down, not refused", () => {
  it.effect("over 8,000 px on a side, or over 3.75 MB: sent as a JPEG within both", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      // grey noise does not compress: 2,000 × 2,000 is 4 MB as a PNG
      const heavy = png(2000, 2000, true)
      expect(heavy.length).toBeGreaterThan(3_750_000)
      for (const [image, width] of [[png(8001, 10), 8000], [heavy, 2000]] as const) {
        bedrock.resetHistory()
        yield* llm.interpret({ bytes: image, contentType: "image/png" })
        const block = converseInputs()[0]?.messages?.[0]?.content?.[0]?.image
        expect(block?.format).toBe("jpeg")
        const sent = block?.source?.bytes as Uint8Array
        expect(sent.length).toBeLessThanOrEqual(3_750_000)
        expect(imageSize(sent).width).toBe(width)
      }
    })
  )

  it.effect("within the limits the upload itself goes, untouched", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      const image = png(8000, 10)
      yield* llm.interpret({ bytes: image, contentType: "image/png" })
      expect(converseInputs()[0]?.messages?.[0]?.content?.[0]).toEqual({ image: { format: "png", source: { bytes: image } } })
    })
  )
})

describe("A PDF with a text layer over Converse's 4.5 MB per document", () => {
  it.effect("goes as its text, scrubbed, not refused", () =>
    Effect.gen(function* () {
      const fixture = readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
      const padded = Buffer.concat([fixture, Buffer.from(`\n%${"x".repeat(4_600_000)}\n`)])
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      yield* llm.interpret({ bytes: padded, contentType: "application/pdf" })
      const [first] = converseInputs()
      const block = first?.messages?.[0]?.content?.[0]
      expect(block?.document).toBeUndefined()
      expect(block?.text).toContain("Hemoglobin")
      // within the limit too: the model gets the text with its identifiers replaced, never the PDF (de-identification)
      bedrock.reset()
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      yield* llm.interpret({ bytes: fixture, contentType: "application/pdf" })
      const sent = converseInputs()[0]?.messages?.[0]?.content?.[0]
      expect(sent?.document).toBeUndefined()
      expect(sent?.text).toContain("Hemoglobin")
      expect(sent?.text).toContain("[NAME-1]")
      expect(sent?.text).not.toMatch(/DOE|JANE|1984-03-12|Alvarez/u)
    })
  )
})
