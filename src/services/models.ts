/**
 * The models Serenya may call on Amazon Bedrock, as data. One table answers every question that
 * depends on the model: whether the configured id is allowed (src/config.ts), what the IAM policy
 * and the Bedrock VPC endpoint policy must allow (deploy/lambda/infra), what a call costs
 * (src/services/pricing.ts), and how a request must be shaped (src/layers/llm/bedrockRequest.ts: tool
 * choice, sampling parameters, output budget, PDF citations, input limits).
 *
 * Current Claude models in the EU are called through a cross-Region inference profile (`eu.`):
 * the request is made in a source Region and Bedrock routes it to one of the profile's destination
 * Regions, all inside the EU. Invoking through a profile needs the profile's ARN in the source
 * Region *and* the foundation model's ARN in every destination Region (AWS, "Prerequisites for
 * inference profiles"). `global.` profiles route worldwide: medical data would leave the EU, so
 * none is in the table.
 *
 * The facts and where they come from are in the README ("Which model, and why"); every entry names
 * its sources and the date they were read. A model that is not in the table is refused in production.
 */

/** Converse's limits on what one request may carry (Amazon Bedrock, ContentBlock / DocumentBlock / ImageBlock). */
export interface InputLimits {
  /** One document block (PDF, text): 4.5 MB. */
  readonly documentMaxBytes: number
  /** One image block: 3.75 MB. */
  readonly imageMaxBytes: number
  /** An image's width and height: 8,000 px each. */
  readonly imageMaxPixels: number
  /** Pages of one PDF the model reads. */
  readonly pdfMaxPages: number
}

export interface ModelCapabilities {
  /** `toolChoice: { tool }` accepted (never together with thinking). */
  readonly forcedToolChoice: boolean
  /** `toolChoice: { any }` accepted (never together with thinking). */
  readonly anyToolChoice: boolean
  /** A `temperature` may be sent. (No current Claude model takes `temperature` and `topP` together; thinking takes neither.) */
  readonly temperature: boolean
  /**
   * Thinking: `none` (not available), `optional` (off unless asked for) or `always` (on and cannot
   * be turned off, as on Bedrock's Claude 5.x models): thinking tokens count against `maxTokens`.
   */
  readonly thinking: "none" | "optional" | "always"
  /** Document citations are available: with them Converse reads a PDF's pages as images, not only its text layer. */
  readonly pdfCitations: boolean
  /** The most output tokens (thinking included) one call may ask for. */
  readonly maxOutputTokens: number
  /** Input and output tokens of one call together. */
  readonly contextTokens: number
}

/** USD per million tokens, on demand, for calls through this id (a geographic profile's own price). */
export interface ModelPricePerMillion {
  readonly inputUsd: number
  readonly outputUsd: number
}

export interface ModelSource {
  readonly url: string
  /** When the page was read for this table (ISO date). */
  readonly read: string
}

export type Geography = "eu" | "in-region"

export interface ModelCard {
  /** What a request names: an inference profile id (`eu.…`) or, in-region, the foundation model id. */
  readonly id: string
  readonly name: string
  /** The foundation model behind the id. */
  readonly foundationModelId: string
  readonly geography: Geography
  /** `active` models may be configured; a `retired` one stays only so old usage records keep their price. */
  readonly status: "active" | "retired"
  /** The date Bedrock stops (or stopped) serving it, when announced (ISO date). */
  readonly endOfLife?: string
  /** The Regions a request may be made in. */
  readonly sourceRegions: ReadonlyArray<string>
  /** The Regions Bedrock may run it in (for an in-region model: the source Region itself). */
  readonly destinationRegions: ReadonlyArray<string>
  readonly capabilities: ModelCapabilities
  readonly limits: InputLimits
  readonly price: ModelPricePerMillion
  readonly sources: ReadonlyArray<ModelSource>
}

const MB = 1_000_000

/**
 * Converse's limits are the same for every Claude model: 4.5 MB per document (one newer copy of the
 * page says 5 MB; the smaller is kept), 3.75 MB and 8,000 × 8,000 px per image (Amazon Bedrock API
 * reference, Message). Pages: 100 for 200k-token models, 600 for 1M-token ones (Anthropic, PDF support).
 */
export const CONVERSE_LIMITS: InputLimits = {
  documentMaxBytes: 4.5 * MB,
  imageMaxBytes: 3.75 * MB,
  imageMaxPixels: 8000,
  pdfMaxPages: 100
}

/**
 * The six EU member-state Regions an `eu.` Claude profile is called from and routes to. Called from
 * eu-west-2 (London) or eu-central-2 (Zurich) a profile adds that Region to its destinations, which
 * are outside the EU: those are not source Regions here.
 */
export const EU_REGIONS = ["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"] as const

const READ = "2026-12-06"
const source = (url: string): ModelSource => ({ url, read: READ })
const SOURCES = {
  profiles: source("https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html"),
  geographic: source("https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html"),
  lifecycle: source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html"),
  sonnet55Card: source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-sonnet-5-5.html"),
  opus55Card: source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-opus-5-5.html"),
  anthropicPricing: source("https://platform.claude.com/docs/en/about-claude/pricing"),
  pdfSupport: source("https://platform.claude.com/docs/en/build-with-claude/pdf-support"),
  converseLimits: source("https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html")
} as const

/** Bedrock's Claude 5.x: thinking always on (so no forced tool choice and no temperature), 1M context, 128k output. */
const CLAUDE_5: ModelCapabilities = {
  forcedToolChoice: false,
  anyToolChoice: false,
  temperature: false,
  thinking: "always",
  pdfCitations: true,
  maxOutputTokens: 128_000,
  contextTokens: 1_000_000
}

/** Claude 3.x and 4 (retired): forced tool choice and temperature, no thinking by default. */
const CLAUDE_3_4: ModelCapabilities = {
  forcedToolChoice: true,
  anyToolChoice: true,
  temperature: true,
  thinking: "none",
  pdfCitations: false,
  maxOutputTokens: 8192,
  contextTokens: 200_000
}

const retired = (id: string, name: string, price: ModelPricePerMillion, endOfLife?: string): ModelCard => ({
  id,
  name: `${name} (retired)`,
  foundationModelId: id.replace(/^eu\./, ""),
  geography: id.startsWith("eu.") ? "eu" : "in-region",
  status: "retired",
  ...(endOfLife !== undefined ? { endOfLife } : {}),
  sourceRegions: [],
  destinationRegions: [],
  capabilities: CLAUDE_3_4,
  limits: CONVERSE_LIMITS,
  price,
  sources: [SOURCES.lifecycle]
})

/**
 * A Claude 5.x model through its EU profile: the six EU Regions, thinking always on, 600 pages.
 * `price` is the profile's own: geographic (eu.) profiles cost 10% more than global ones.
 */
const euClaude5 = (model: string, name: string, card: ModelSource, price: ModelPricePerMillion, endOfLife?: string): ModelCard => ({
  id: `eu.anthropic.${model}`,
  name: `${name} (EU profile)`,
  foundationModelId: `anthropic.${model}`,
  geography: "eu",
  status: "active",
  ...(endOfLife !== undefined ? { endOfLife } : {}),
  sourceRegions: EU_REGIONS,
  destinationRegions: EU_REGIONS,
  capabilities: CLAUDE_5,
  limits: { ...CONVERSE_LIMITS, pdfMaxPages: 600 },
  price,
  sources: [card, SOURCES.profiles, SOURCES.geographic, SOURCES.anthropicPricing, SOURCES.pdfSupport, SOURCES.converseLimits]
})

export const MODELS: ReadonlyArray<ModelCard> = [
  // $2 / $10 and $4 / $20 globally, × 1.1
  euClaude5("claude-sonnet-5-5", "Claude Sonnet 5.5", SOURCES.sonnet55Card, { inputUsd: 2.2, outputUsd: 11 }),
  euClaude5("claude-opus-5-5", "Claude Opus 5.5", SOURCES.opus55Card, { inputUsd: 4.4, outputUsd: 22 }, "2027-09-22"),
  retired("eu.anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4 (EU profile)", { inputUsd: 3, outputUsd: 15 }, "2026-10-14"),
  retired("anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude 3.5 Sonnet v2", { inputUsd: 3, outputUsd: 15 }, "2026-03-01"),
  retired("anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet", { inputUsd: 3, outputUsd: 15 }, "2026-03-01"),
  retired("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", { inputUsd: 0.25, outputUsd: 1.25 }, "2026-09-10")
]

/** What a deployment calls unless BEDROCK_MODEL_ID says otherwise. */
export const DEFAULT_MODEL_ID = "eu.anthropic.claude-sonnet-5-5"

/** The id inside an ARN (`…:inference-profile/<id>`, `…:foundation-model/<id>`), or the id itself. */
export const idOf = (modelIdOrArn: string): string => {
  const id = modelIdOrArn.trim()
  if (!id.startsWith("arn:")) return id
  const slash = id.lastIndexOf("/")
  return slash >= 0 ? id.slice(slash + 1) : id
}

const byId = new Map(MODELS.map((model) => [model.id, model]))

/** The table's entry for an id or an ARN ending in one; undefined for anything else. */
export const findModel = (modelIdOrArn: string): ModelCard | undefined => byId.get(idOf(modelIdOrArn))

/**
 * What is wrong with calling `modelId` from `region`, or undefined when nothing is: the model must
 * be in the table, active, callable from that Region, and keep the data in the EU.
 */
export const modelProblem = (modelId: string, region: string): string | undefined => {
  const model = findModel(modelId)
  if (model === undefined) return `is not a model Serenya knows (known: ${MODELS.filter((m) => m.status === "active").map((m) => m.id).join(", ")})`
  if (model.status !== "active") {
    return `names ${model.name}, which Bedrock no longer serves${model.endOfLife !== undefined ? ` (end of life ${model.endOfLife})` : ""}`
  }
  if (!model.sourceRegions.includes(region)) {
    return `cannot be called from ${region} (its profile is offered in ${model.sourceRegions.join(", ")})`
  }
  if (model.destinationRegions.some((r) => !r.startsWith("eu-"))) return "routes requests outside the EU"
  return undefined
}

export interface InvokeScope {
  readonly partition: string
  readonly account: string
  readonly region: string
}

/**
 * The ARNs an identity needs `bedrock:InvokeModel*` on to call the model from `scope.region`: the
 * inference profile in the source Region and the foundation model in every destination Region
 * (for an in-region model, the foundation model in that Region alone).
 */
export const invokeResources = (model: ModelCard, scope: InvokeScope): ReadonlyArray<string> => {
  const foundation = (region: string) => `arn:${scope.partition}:bedrock:${region}::foundation-model/${model.foundationModelId}`
  if (model.geography === "in-region") return [foundation(scope.region)]
  return [
    `arn:${scope.partition}:bedrock:${scope.region}:${scope.account}:inference-profile/${model.id}`,
    ...model.destinationRegions.map(foundation)
  ]
}
