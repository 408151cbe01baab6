/**
 * What Bedrock is asked: the prompts, the tool whose JSON schema carries the interpretation back,
 * and each request shaped by the model's entry in the model table (the tool choice it takes, a
 * temperature only where one is accepted, an output budget sized for the document).
 */
import type { ConverseCommandInput, Message, ToolChoice } from "@aws-sdk/client-bedrock-runtime"
import { Schema } from "effect"
import { type ChatTrend, type ChatTurn, InterpretedDocument } from "../../services/llm.js"
import { CONVERSE_LIMITS, type ModelCard } from "../../services/models.js"

export const TOOL_NAME = "record_interpretation"

const INTERPRET_SYSTEM = [
  "You read one medical document (a lab report, a vitals log or a clinical report) for the patient who uploaded it.",
  `Call the ${TOOL_NAME} tool exactly once with what the document says.`,
  "Copy every lab result with its value, unit, reference range as printed (and numeric bounds when there are numbers) and flag.",
  "Use the report's own flag when it prints one (flagSource report); otherwise compare the value with the range (flagSource range); use unknown when there is no range.",
  "Mark critical values (printed as critical, panic, HH/LL or called to a clinician) critical_low or critical_high.",
  "Give each result the page and line (counted from 1 on each page) where its value is printed.",
  "Never leave a result out: a line that looks like a result but cannot be read goes into unreadLines with its page, line and text.",
  "Dates and times in ISO 8601. Never invent values that are not in the document.",
  "The title names the kind of document (for example 'Complete Blood Count'), never the patient.",
  "The summary is plain language for a lay reader, two to five sentences, not a diagnosis;",
  "whenever anything is flagged it tells the reader to talk to their clinician about the flagged results,",
  "and it never says or implies that everything is normal when a result is flagged or a line could not be read."
].join(" ")

export const CHAT_SYSTEM = [
  "You help a patient understand one of their own medical documents, given below as JSON.",
  "Answer only from that document. If the document does not contain the answer, say that you do not know.",
  "Never give a diagnosis, never recommend or dose a treatment or medication; for those, suggest talking to a clinician.",
  "Quote values with their units and reference ranges. Be brief and plain."
].join(" ")

type Json = { [key: string]: unknown }

/** Bedrock tool schemas must be self-contained: replace every `$ref` with its definition. */
export const inlineRefs = (schema: Json): Json => {
  const defs = (schema.$defs ?? {}) as Record<string, unknown>
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve)
    if (typeof node !== "object" || node === null) return node
    const ref = (node as Json).$ref
    if (typeof ref === "string" && ref.startsWith("#/$defs/")) return resolve(defs[ref.slice("#/$defs/".length)])
    return Object.fromEntries(
      Object.entries(node as Json)
        .filter(([key]) => key !== "$schema" && key !== "$defs")
        .map(([key, value]) => [key, resolve(value)])
    )
  }
  return resolve(schema) as Json
}

/**
 * Effect 4 derives JSON Schema from a schema's JSON codec, which writes an absent optional key as
 * `null` and a non-finite number as the text "NaN"/"Infinity"/"-Infinity". The tool input is
 * decoded with the schema itself, which takes neither, so the model is told what it takes (as the
 * v3 `JSONSchema.make` output did): an optional key is left out, a number is a number.
 */
const asDecoded = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(asDecoded)
  if (typeof node !== "object" || node === null) return node
  const out = Object.fromEntries(Object.entries(node as Json).map(([key, value]) => [key, asDecoded(value)])) as Json
  const isNull = (branch: unknown) => typeof branch === "object" && branch !== null && (branch as Json).type === "null"
  const isNonFiniteText = (branch: unknown) =>
    typeof branch === "object" && branch !== null && (branch as Json).type === "string" &&
    JSON.stringify((branch as Json).enum) === JSON.stringify(["Infinity", "-Infinity", "NaN"])
  const withoutBranches = (schema: unknown, drop: (branch: unknown) => boolean): unknown => {
    if (typeof schema !== "object" || schema === null || !Array.isArray((schema as Json).anyOf)) return schema
    const { anyOf, ...rest } = schema as Json & { anyOf: Array<unknown> }
    const kept = anyOf.filter((branch) => !drop(branch))
    return kept.length === 1 ? { ...rest, ...(kept[0] as Json) } : { ...rest, anyOf: kept }
  }
  if (typeof out.properties === "object" && out.properties !== null) {
    const required = new Set(Array.isArray(out.required) ? (out.required as Array<unknown>) : [])
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Json).map(([key, value]) => [key, required.has(key) ? value : withoutBranches(value, isNull)])
    )
  }
  return withoutBranches(out, isNonFiniteText)
}

/** The tool's input schema (draft 2020-12, no extra keys), self-contained. */
const toolSchemaOf = (schema: Schema.Constraint): Json => {
  const document = Schema.toJsonSchemaDocument(schema, { onExcessProperty: "error" })
  return inlineRefs(asDecoded({ ...document.schema, $defs: document.definitions }) as Json)
}

export const interpretationToolSchema = toolSchemaOf(InterpretedDocument)

/**
 * An id the table does not know (tried outside production only): nothing but what every Claude on
 * Converse takes — auto tool choice, no sampling parameters, no citations, a modest output.
 */
export const cautiousModel = (modelId: string): ModelCard => ({
  id: modelId,
  name: modelId,
  foundationModelId: modelId,
  geography: "in-region",
  status: "active",
  sourceRegions: [],
  destinationRegions: [],
  capabilities: {
    forcedToolChoice: false,
    anyToolChoice: false,
    temperature: false,
    thinking: "none",
    pdfCitations: false,
    maxOutputTokens: 8192,
    contextTokens: 200_000
  },
  limits: CONVERSE_LIMITS,
  price: { inputUsd: 0, outputUsd: 0 },
  sources: []
})

/** Output tokens an interpretation is first given: room for the tool call's JSON for a report of `lines` lines. */
export const interpretationBudget = (lines: number): number => Math.min(16_384, Math.max(4096, 2048 + 96 * lines))
/** What a model that thinks may spend thinking before it answers, on top of the answer's budget. */
export const THINKING_ALLOWANCE = 8192
/** A chat answer's budget: a few short paragraphs (the prompt asks for brevity). */
export const CHAT_BUDGET = 1024
/**
 * After a `max_tokens` stop the call is made again, once, with this many times the budget (a larger
 * output still has to be written within one call's timeout, Timeouts.llmCall).
 */
export const BUDGET_GROWTH = 2

/** The tool choice a model takes: forced where it can be, else any tool, else auto (the prompt asks for the tool). */
export const toolChoiceFor = (model: ModelCard): ToolChoice =>
  model.capabilities.thinking === "always"
    ? { auto: {} }
    : model.capabilities.forcedToolChoice
      ? { tool: { name: TOOL_NAME } }
      : model.capabilities.anyToolChoice
        ? { any: {} }
        : { auto: {} }

/** The output budget for `answer` tokens, plus thinking where the model always thinks, within the model's maximum. */
export const outputBudget = (model: ModelCard, answer: number): number =>
  Math.min(model.capabilities.maxOutputTokens, answer + (model.capabilities.thinking === "always" ? THINKING_ALLOWANCE : 0))

/** `maxTokens`, and a temperature only where the model takes one. */
export const inferenceConfig = (model: ModelCard, maxTokens: number, temperature: number) =>
  model.capabilities.temperature ? { maxTokens, temperature } : { maxTokens }

/** The interpretation request for `model`: the tool, the tool choice it takes, its budget. */
export const interpretationRequest = (model: ModelCard, messages: Array<Message>, maxTokens: number): ConverseCommandInput => ({
  modelId: model.id,
  system: [{ text: INTERPRET_SYSTEM }],
  messages,
  inferenceConfig: inferenceConfig(model, maxTokens, 0),
  toolConfig: {
    tools: [
      {
        toolSpec: {
          name: TOOL_NAME,
          description: "Record the structured interpretation of the document",
          inputSchema: { json: interpretationToolSchema as never }
        }
      }
    ],
    toolChoice: toolChoiceFor(model)
  }
})

/** What a chat question is asked with: the document, the conversation so far, the question, the document's tests across the user's documents. */
export interface ChatQuestion {
  readonly document: InterpretedDocument
  readonly history: ReadonlyArray<ChatTurn>
  readonly question: string
  readonly trends?: ReadonlyArray<ChatTrend> | undefined
}

/** The trends as the chat's context: the same tests in the user's other documents, oldest first (one unit per test where they convert). */
export const chatTrendsText = (trends: ReadonlyArray<ChatTrend>): string =>
  "The same tests in the patient's other documents, oldest first (`current`: this document's value; values are converted to one unit " +
  "where they convert). Use them only for questions about change over time:\n" +
  JSON.stringify(trends)

/** The document as the chat's context: its JSON, as the schema encodes it. */
export const chatDocumentJson = (document: InterpretedDocument): string => JSON.stringify(Schema.encodeSync(InterpretedDocument)(document))

/**
 * A chat request (Converse and ConverseStream take the same): the system prompt with the document's
 * JSON, the history, the question, and `maxTokens` of output.
 */
export const chatRequest = (
  model: ModelCard,
  input: ChatQuestion,
  maxTokens: number,
  documentJson: string = chatDocumentJson(input.document)
): Pick<ConverseCommandInput, "modelId" | "system" | "messages" | "inferenceConfig"> => ({
  modelId: model.id,
  system: [
    { text: CHAT_SYSTEM },
    { text: `The document:\n${documentJson}` },
    ...(input.trends === undefined || input.trends.length === 0 ? [] : [{ text: chatTrendsText(input.trends) }])
  ],
  messages: [
    ...input.history.map((turn): Message => ({ role: turn.role, content: [{ text: turn.content }] })),
    { role: "user", content: [{ text: input.question }] }
  ],
  inferenceConfig: inferenceConfig(model, maxTokens, 0.2)
})
