/**
 * What Bedrock is sent, de-identified (src/layers/llm/bedrockDeidentify.ts), through the real Bedrock
 * layer against a scripted model that records every request and interprets what it is given with the
 * offline reader — so that what the model could read of a document with its identifiers replaced is
 * measured against what it could read of it whole.
 * - The main fixtures (text, PDF, photo, scanned PDF) reach the model with none of their identifiers,
 *   as text, and read exactly as without scrubbing.
 * - The 182-document corpus reads the same with and without scrubbing.
 * - Chat: question, history and document scrubbed with one map; answers (whole or streamed) re-identified
 *   only where one of the request's placeholders came back.
 * - A photo OCR cannot read goes as the image, unless the upload said allowImageToModel=false.
 * - When identifiers cannot be found, nothing goes to the model.
 */
import { ConverseCommand, type ConverseCommandInput, ConverseStreamCommand, type ConverseStreamOutput } from "@aws-sdk/client-bedrock-runtime"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schema, Stream } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { makeLocalDeidentifier } from "../../../src/layers/deidentifier/local.js"
import { type BedrockSend, makeBedrockLLM } from "../../../src/layers/llm/bedrock.js"
import { makeOfflineLLM } from "../../../src/layers/llm/offline.js"
import { makeCircuitBreaker } from "../../../src/layers/resilience/circuitBreaker.js"
import { type Deidentifier, DeidentifierUnavailable } from "../../../src/services/deidentifier.js"
import { type DocumentContentType, InterpretedDocument } from "../../../src/services/llm.js"
import { png } from "../../support/png.js"
import { BreakerConfigs, makeRetrySchedule } from "../../../src/services/resilience.js"

type DeidentifierService = (typeof Deidentifier)["Service"]

const IDENTIFIERS: Record<string, ReadonlyArray<{ readonly kind: string; readonly text: string }>> = JSON.parse(
  readFileSync("test/fixtures/identifiers.json", "utf8")
)

const offline = makeOfflineLLM()
const encode = Schema.encodeSync(InterpretedDocument)

/** What the model was given to read: the text blocks of the first user message (the document and the instruction). */
const documentText = (input: ConverseCommandInput) =>
  (input.messages?.[0]?.content ?? []).map((block) => block.text ?? "").join("\n")

interface Scripted {
  readonly send: BedrockSend
  readonly inputs: Array<ConverseCommandInput>
}

/**
 * A model that records every request. Asked to interpret, it reads the text it was sent with the
 * offline reader (an image it cannot read: an empty lab report); asked a question, it answers with
 * `answer`, in one piece or (streamed) in the given deltas.
 */
const scriptedModel = (answer: ReadonlyArray<string> = ["Fine."]): Scripted => {
  const inputs: Array<ConverseCommandInput> = []
  const usage = { inputTokens: 100, outputTokens: 20, totalTokens: 120 }
  const send = (async (command: unknown) => {
    if (command instanceof ConverseStreamCommand) {
      inputs.push(command.input as ConverseCommandInput)
      const events: Array<ConverseStreamOutput> = [
        { messageStart: { role: "assistant" } },
        ...answer.map((text): ConverseStreamOutput => ({ contentBlockDelta: { contentBlockIndex: 0, delta: { text } } })),
        { messageStop: { stopReason: "end_turn" } },
        { metadata: { usage, metrics: { latencyMs: 1 } } }
      ]
      return { stream: (async function* () { yield* events })() }
    }
    if (!(command instanceof ConverseCommand)) throw new Error("unexpected command")
    inputs.push(command.input)
    if (command.input.toolConfig === undefined) {
      return { output: { message: { role: "assistant", content: [{ text: answer.join("") }] } }, stopReason: "end_turn", usage, metrics: { latencyMs: 1 } }
    }
    const text = documentText(command.input)
    const read = await Effect.runPromise(offline.interpret({ bytes: new TextEncoder().encode(text), contentType: "text/plain" }))
    return {
      output: { message: { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "record_interpretation", input: encode(read.document) as never } }] } },
      stopReason: "tool_use",
      usage,
      metrics: { latencyMs: 1 }
    }
  }) as unknown as BedrockSend["send"]
  return { send: { send }, inputs }
}

/** Finds nothing: the same path, unscrubbed, to compare with. */
const nothingFound: DeidentifierService = { provider: "test", detect: (texts) => Effect.succeed(texts.map(() => [])) }

const llmWith = (model: Scripted, deidentifier: DeidentifierService = makeLocalDeidentifier()) =>
  Effect.map(makeCircuitBreaker({ ...BreakerConfigs.llm, name: `deid-${Math.random()}` }), (breaker) =>
    makeBedrockLLM(model.send, {
      modelId: "anthropic.claude-3-5-sonnet-20241022-v2:0",
      breaker,
      deidentifier,
      retry: makeRetrySchedule({ base: "1 millis", maxRetries: 0, maxDelay: "1 millis" })
    })
  )

/** Interprets one document, scrubbed and not: what the model was sent, and the results read each way. */
const interpretBothWays = (bytes: Uint8Array, contentType: DocumentContentType) =>
  Effect.gen(function* () {
    const scrubbedModel = scriptedModel()
    const scrubbed = yield* (yield* llmWith(scrubbedModel)).interpret({ bytes, contentType })
    const plain = yield* (yield* llmWith(scriptedModel(), nothingFound)).interpret({ bytes, contentType })
    const rows = (document: InterpretedDocument) => [
      ...document.results.map((r) => JSON.stringify([r.name, r.value, r.unit, r.flag, r.referenceRange.text])),
      ...document.vitals.map((v) => JSON.stringify([v.kind, v.value, v.diastolic, v.time])),
      `collected ${document.collectedAt}`
    ]
    return { sent: JSON.stringify(scrubbedModel.inputs), inputs: scrubbedModel.inputs, scrubbed: rows(scrubbed.document), plain: rows(plain.document) }
  })

const CBC = IDENTIFIERS["test/fixtures/lab-report-cbc-cmp.txt"]!.map((i) => i.text)

describe("The main fixtures reach the model without their identifiers, as text, and read as without scrubbing", () => {
  const cases: ReadonlyArray<readonly [string, DocumentContentType, ReadonlyArray<string>]> = [
    ["test/fixtures/lab-report-cbc-cmp.txt", "text/plain", CBC],
    ["test/fixtures/lab-report-cbc-cmp.pdf", "application/pdf", CBC],
    ["test/fixtures/vitals-log.txt", "text/plain", []],
    ["test/fixtures/images/lab-report-cbc-cmp/scan-300.png", "image/png", CBC],
    ["test/fixtures/images/lab-report-cbc-cmp/scanned.pdf", "application/pdf", CBC]
  ]
  for (const [file, contentType, identifiers] of cases) {
    it.live(file.replace("test/fixtures/", ""), () =>
      Effect.gen(function* () {
        const { sent, inputs, scrubbed, plain } = yield* interpretBothWays(new Uint8Array(readFileSync(file)), contentType)
        expect(identifiers.length > 0 || file.includes("vitals")).toBe(true)
        for (const identifier of identifiers) expect(sent, identifier).not.toContain(identifier)
        // the document went as text: no PDF or image block in any request
        for (const input of inputs) for (const block of input.messages?.[0]?.content ?? []) expect(block.document ?? block.image).toBeUndefined()
        expect(scrubbed).toEqual(plain)
        expect(scrubbed.length).toBeGreaterThan(5)
      }), 120_000)
  }
})

/** Corpus documents whose reading changes when scrubbed, and why (a reader heuristic a placeholder trips). */
const READS_DIFFERENTLY: Record<string, string> = {
  // a wrapped prose line ending in "(J. Whitcombe)" is joined to the next result's name once the name is a placeholder
  "test/fixtures/lab-corpus/tuning8/reference_lab_lowhigh_3p.txt": "one result's name",
  // a chat export: with the sender's name a placeholder, one reading's day is taken from the message before
  "test/fixtures/lab-corpus/heldout6/br_whatsapp_chat_export_nurse_pressao.txt": "one reading's date",
  // better scrubbed: read whole, a scale's model number ("VS-10", beside a serial number) is taken for a weight of 10
  // that the truth file does not have; with the serial number a placeholder the line no longer reads as a weight
  "test/fixtures/lab-corpus/heldout6/kr_bp_app_report_grouped_by_day_am_pm.txt": "one misread weight fewer"
}

describe("The corpus reads the same scrubbed as whole", () => {
  it.live("182 documents: results, readings and dates", () =>
    Effect.gen(function* () {
      const root = "test/fixtures/lab-corpus"
      const files = readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .flatMap((d) => readdirSync(join(root, d.name)).filter((f) => f.endsWith(".txt")).map((f) => join(root, d.name, f)))
      expect(files.length).toBe(182)
      const differing: Array<string> = []
      let leaked = 0
      for (const file of files) {
        const { sent, scrubbed, plain } = yield* interpretBothWays(new Uint8Array(readFileSync(file)), "text/plain")
        if (JSON.stringify(scrubbed) !== JSON.stringify(plain)) differing.push(file)
        leaked += (IDENTIFIERS[file] ?? []).filter((i) => sent.includes(JSON.stringify(i.text).slice(1, -1))).length
      }
      console.log(`corpus: ${differing.length} of ${files.length} documents read differently scrubbed; ${leaked} identifiers reached the model`, differing)
      expect(differing.sort()).toEqual(Object.keys(READS_DIFFERENTLY).sort())
      // the local rules' floor (test/layers/deidentifier/local.test.ts): none is added on the way to the model
      expect(leaked).toBeLessThanOrEqual(59)
    }), 240_000)
})

const chatDocument = InterpretedDocument.make({
  documentType: "lab_results",
  title: "Lab report for DOE, JANE",
  results: [],
  vitals: [],
  summary: "Hemoglobin is low. Talk to Dr. R. Alvarez about it."
})

describe("Chat", () => {
  it.effect("question, history and document are scrubbed with one map; the answer is re-identified where a placeholder came back", () =>
    Effect.gen(function* () {
      const model = scriptedModel(["[NAME-2], ask [NAME-1] about iron; [NAME-9] is not ours."])
      const llm = yield* llmWith(model)
      const answer = yield* llm.chat({
        document: chatDocument,
        history: [
          { role: "user", content: "Patient: DOE, JANE   DOB: 1984-03-12 — is this mine?" },
          { role: "assistant", content: "Yes, it is your report." }
        ],
        question: "Should DOE, JANE call Dr. R. Alvarez? My phone is (555) 010-7788."
      })
      const sent = JSON.stringify(model.inputs)
      for (const identifier of ["DOE", "JANE", "1984-03-12", "Alvarez", "010-7788"]) expect(sent).not.toContain(identifier)
      // numbered in order of appearance: the summary's physician, then the patient
      expect(sent).toContain("Talk to Dr. [NAME-1]")
      expect(sent).toContain("Lab report for [NAME-2]")
      expect(answer.answer).toBe("DOE, JANE, ask R. Alvarez about iron; [NAME-9] is not ours.")
    })
  )

  it.effect("a streamed answer is re-identified across its deltas, never sending half a placeholder", () =>
    Effect.gen(function* () {
      const model = scriptedModel(["Hello [NA", "ME-2], please call [NAME", "-1]", " soon. [NAME-"])
      const llm = yield* llmWith(model)
      const parts = yield* Stream.runCollect(llm.chatStream({ document: chatDocument, history: [{ role: "user", content: "Patient: DOE, JANE" }], question: "Should I call R. Alvarez?" }))
      const deltas = [...parts].flatMap((p) => (p._tag === "delta" ? [p.text] : []))
      // the last delta is what was held back at the end: "[NAME-" never became a placeholder
      for (const d of deltas.slice(0, -1)) expect(d).not.toMatch(/\[NA?M?E?-?$|^[A-Z]*-?\d*\]/u)
      expect(deltas.join("")).toBe("Hello DOE, JANE, please call R. Alvarez soon. [NAME-")
      const end = [...parts].find((p) => p._tag === "end")
      expect(end?._tag === "end" ? end.answer.answer : "").toBe("Hello DOE, JANE, please call R. Alvarez soon. [NAME-")
      expect(JSON.stringify(model.inputs)).not.toMatch(/Alvarez|DOE|JANE/u)
    })
  )
})

describe("An image OCR cannot read", () => {
  /** 64×64 flat grey: decodes, holds no print. */
  const unreadable = () => png(64, 64)

  it.live("goes to the model as the image by default", () =>
    Effect.gen(function* () {
      const model = scriptedModel()
      yield* (yield* llmWith(model)).interpret({ bytes: unreadable(), contentType: "image/png" }).pipe(Effect.exit)
      expect(model.inputs[0]?.messages?.[0]?.content?.[0]?.image).toBeDefined()
    }), 60_000)

  it.live("fails with IMAGE_WITHHELD, calling nothing, when the upload said allowImageToModel=false", () =>
    Effect.gen(function* () {
      const model = scriptedModel()
      const exit = yield* (yield* llmWith(model)).interpret({ bytes: unreadable(), contentType: "image/png", allowImageToModel: false }).pipe(Effect.exit)
      expect(model.inputs).toEqual([])
      const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(failure).toMatchObject({ _tag: "DocumentUnreadable", reason: "IMAGE_WITHHELD" })
    }), 60_000)
})

describe("When identifiers cannot be found", () => {
  const failing: DeidentifierService = {
    provider: "test",
    detect: () => Effect.fail(new DeidentifierUnavailable({ message: "DetectPHI unavailable (ThrottlingException)", retryAfterSeconds: 30 }))
  }

  it.live("nothing goes to the model: the document and the chat fail as the model being unavailable", () =>
    Effect.gen(function* () {
      const model = scriptedModel()
      const llm = yield* llmWith(model, failing)
      const interpreted = yield* llm.interpret({ bytes: readFileSync("test/fixtures/lab-report-cbc-cmp.txt"), contentType: "text/plain" }).pipe(Effect.exit)
      const chatted = yield* llm.chat({ document: chatDocument, history: [], question: "Is it low?" }).pipe(Effect.exit)
      const streamed = yield* Stream.runCollect(llm.chatStream({ document: chatDocument, history: [], question: "Is it low?" })).pipe(Effect.exit)
      expect(model.inputs).toEqual([])
      for (const exit of [interpreted, chatted, streamed] as ReadonlyArray<Exit.Exit<unknown, unknown>>) {
        expect(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined).toMatchObject({ _tag: "LLMUnavailable", retryAfterSeconds: 30 })
      }
    }), 60_000)
})

describe("What the model says back", () => {
  it.live("a placeholder in the interpretation's summary is re-identified in what is stored", () =>
    Effect.gen(function* () {
      const inputs: Array<ConverseCommandInput> = []
      const send = (async (command: ConverseCommand) => {
        inputs.push(command.input)
        const document = {
          documentType: "lab_results",
          title: "Report of [NAME-1]",
          results: [],
          vitals: [],
          summary: "[NAME-1]'s report has no results we could read. Talk to your clinician."
        }
        return {
          output: { message: { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "record_interpretation", input: document } }] } },
          stopReason: "tool_use",
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          metrics: { latencyMs: 1 }
        }
      }) as unknown as BedrockSend["send"]
      const breaker = yield* makeCircuitBreaker({ ...BreakerConfigs.llm, name: `deid-${Math.random()}` })
      const llm = makeBedrockLLM({ send }, { modelId: "anthropic.claude-3-5-sonnet-20241022-v2:0", breaker, deidentifier: makeLocalDeidentifier() })
      const read = yield* llm.interpret({ bytes: new TextEncoder().encode("Patient: Quillfeather, Marisol   DOB: 1979-08-19\nNothing else."), contentType: "text/plain" })
      expect(JSON.stringify(inputs)).not.toContain("Quillfeather")
      expect(read.document.title).toBe("Report of Quillfeather, Marisol")
      expect(read.document.summary.startsWith("Quillfeather, Marisol's report")).toBe(true)
    }), 60_000)
})
