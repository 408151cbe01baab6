/**
 * The Bedrock layer against aws-sdk-client-mock (no Bedrock emulator exists): request shape,
 * usage, retries on the `llm` schedule under TestClock, the breaker and its cached fallback,
 * the repair round for invalid tool input.
 */
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from "@aws-sdk/client-bedrock-runtime"
import { beforeEach, describe, expect, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Effect, Exit } from "effect"
import { interpretationToolSchema, makeBedrockLLM } from "../../../src/layers/llm/bedrock.js"
import { InterpretedDocument } from "../../../src/services/llm.js"
import { BreakerConfigs, makeCircuitBreaker, makeRetrySchedule } from "../../../src/services/resilience.js"

const MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
const bedrock = mockClient(BedrockRuntimeClient)
beforeEach(() => bedrock.reset())

const client = () =>
  new BedrockRuntimeClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })

// The llm schedule's own delays are proven in the resilience tests; here retries run live on a
// millisecond schedule of the same shape, so the tests depend on no TestClock choreography.
const fastRetry = makeRetrySchedule({ base: "2 millis", maxRetries: 3, maxDelay: "10 millis" })

const makeLLM = Effect.map(makeCircuitBreaker({ ...BreakerConfigs.llm, name: `llm-test-${Math.random()}` }), (breaker) =>
  makeBedrockLLM(client(), { modelId: MODEL, breaker, retry: fastRetry })
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

const pdf = Buffer.from("%PDF-1.4 synthetic")
const converseInputs = () => bedrock.commandCalls(ConverseCommand).map((call) => call.args[0].input as ConverseCommandInput)
const awsError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } })

const failureOf = <A, E>(exit: Exit.Exit<A, E>) => (Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined)

describe("Bedrock interpret", () => {
  it.effect("sends the PDF as a document block with a forced tool call and maps usage and model", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      const result = yield* llm.interpret({ bytes: pdf, contentType: "application/pdf", documentTypeHint: "lab_results" })
      expect(result.provider).toBe("aws.bedrock")
      expect(result.modelId).toBe(MODEL)
      expect(result.usage).toMatchObject({ inputTokens: 1200, outputTokens: 300 })
      expect(result.document).toBeInstanceOf(InterpretedDocument)
      expect(result.document.results[0]).toMatchObject({ name: "Hemoglobin", value: 11.2, flag: "low" })

      const [input] = converseInputs()
      expect(input?.modelId).toBe(MODEL)
      expect(input?.messages?.[0]?.content?.[0]).toEqual({
        document: { format: "pdf", name: "uploaded-document", source: { bytes: pdf } }
      })
      expect(input?.toolConfig?.toolChoice).toEqual({ tool: { name: "record_interpretation" } })
      expect(input?.toolConfig?.tools?.[0]?.toolSpec?.name).toBe("record_interpretation")
      expect(input?.toolConfig?.tools?.[0]?.toolSpec?.inputSchema?.json).toEqual(interpretationToolSchema)
      expect(JSON.stringify(input?.system)).toContain("not a diagnosis")
      expect(input?.inferenceConfig?.temperature).toBe(0)
    })
  )

  it.effect("images go as image blocks and text as text", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const llm = yield* makeLLM
      yield* llm.interpret({ bytes: Buffer.from([0x89, 0x50]), contentType: "image/png" })
      yield* llm.interpret({ bytes: Buffer.from("Glucose 104 mg/dL"), contentType: "text/plain" })
      const [image, text] = converseInputs()
      expect(image?.messages?.[0]?.content?.[0]).toEqual({ image: { format: "png", source: { bytes: Buffer.from([0x89, 0x50]) } } })
      expect(text?.messages?.[0]?.content?.[0]).toEqual({ text: "Glucose 104 mg/dL" })
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

  it.effect("a rejected input (ValidationException) is DocumentUnreadable at once, not retried", () =>
    Effect.gen(function* () {
      bedrock.on(ConverseCommand).rejects(awsError("ValidationException", 400))
      const llm = yield* makeLLM
      const error = failureOf(yield* Effect.exit(llm.interpret({ bytes: pdf, contentType: "application/pdf" })))
      expect(error).toMatchObject({ _tag: "DocumentUnreadable", reason: "MODEL_REJECTED_INPUT" })
      expect(converseInputs()).toHaveLength(1)
    })
  )

  it.live("after 3 failures the breaker opens: an identical earlier request is served from the cache, others get LLMUnavailable", () =>
    Effect.gen(function* () {
      const llm = yield* makeLLM
      bedrock.on(ConverseCommand).resolvesOnce(toolAnswer(interpretation))
      const cachedRequest = { bytes: pdf, contentType: "application/pdf" as const }
      yield* llm.interpret(cachedRequest)

      bedrock.on(ConverseCommand).rejects(awsError("ServiceUnavailableException", 503))
      const other = { bytes: Buffer.from("%PDF-1.4 another"), contentType: "application/pdf" as const }
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
      const llm = makeBedrockLLM(client(), { modelId: MODEL, breaker, retry: fastRetry, cacheTtl: "1 second" })
      bedrock.on(ConverseCommand).resolves(toolAnswer(interpretation))
      const request = (userId: string) => ({ bytes: pdf, contentType: "application/pdf" as const, userId })
      yield* llm.interpret(request("alice"))
      yield* llm.interpret(request("carol"))

      bedrock.on(ConverseCommand).rejects(awsError("ServiceUnavailableException", 503))
      const other = { bytes: Buffer.from("%PDF-1.4 another"), contentType: "application/pdf" as const, userId: "alice" }
      for (let i = 0; i < 3; i++) yield* Effect.exit(llm.interpret(other))

      expect((yield* llm.interpret(request("alice"))).document.results[0]?.value).toBe(11.2)
      // the same bytes from someone else are not answered with alice's interpretation
      expect(failureOf(yield* Effect.exit(llm.interpret(request("bob"))))).toMatchObject({ _tag: "LLMUnavailable" })

      yield* llm.forgetUser("alice")
      expect(failureOf(yield* Effect.exit(llm.interpret(request("alice"))))).toMatchObject({ _tag: "LLMUnavailable" })
      expect((yield* llm.interpret(request("carol"))).document.results[0]?.value).toBe(11.2)

      yield* Effect.sleep("1100 millis")
      expect(failureOf(yield* Effect.exit(llm.interpret(request("carol"))))).toMatchObject({ _tag: "LLMUnavailable" })
    })
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
