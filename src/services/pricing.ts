/**
 * What an LLM call costs: a price table per model id (USD per 1,000 input and output tokens) and
 * the cost of one call in cents to 4 decimals, the precision `llm_usage.total_cost_cents` keeps.
 *
 * Model ids are looked up as Bedrock reports them, including cross-region inference profiles
 * (`eu.anthropic…`, `us.anthropic…`) and ARNs ending in either. The offline provider's models
 * (`offline`, `offline-*`) are free. An unknown model id is charged at the highest known price per
 * token kind (`UNKNOWN_MODEL_PRICE`): a model this table has not heard of may cost more than it
 * should, never less, so it cannot slip a user under the monthly budget; `priceOf` says whether
 * the id was known so a caller can warn about the gap in the table.
 */

export interface ModelPrice {
  readonly inputPer1kTokensUsd: number
  readonly outputPer1kTokensUsd: number
}

const SONNET_3_5: ModelPrice = { inputPer1kTokensUsd: 0.003, outputPer1kTokensUsd: 0.015 }
const HAIKU_3: ModelPrice = { inputPer1kTokensUsd: 0.00025, outputPer1kTokensUsd: 0.00125 }
const FREE: ModelPrice = { inputPer1kTokensUsd: 0, outputPer1kTokensUsd: 0 }

/** Bedrock on-demand prices per base model id. */
export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  "anthropic.claude-3-5-sonnet-20241022-v2:0": SONNET_3_5,
  "anthropic.claude-3-5-sonnet-20240620-v1:0": SONNET_3_5,
  "anthropic.claude-3-haiku-20240307-v1:0": HAIKU_3
}

/** The most expensive known price for each token kind: what an unknown model is charged. */
export const UNKNOWN_MODEL_PRICE: ModelPrice = Object.values(MODEL_PRICES).reduce<ModelPrice>(
  (max, price) => ({
    inputPer1kTokensUsd: Math.max(max.inputPer1kTokensUsd, price.inputPer1kTokensUsd),
    outputPer1kTokensUsd: Math.max(max.outputPer1kTokensUsd, price.outputPer1kTokensUsd)
  }),
  FREE
)

const isOffline = (modelId: string): boolean => modelId === "offline" || modelId.startsWith("offline-")

/**
 * The base model id behind what Bedrock reports: an ARN's last path segment, without a
 * cross-region inference profile prefix (`eu.`, `us.`, `apac.`, … before `<vendor>.<model>`).
 */
export const baseModelId = (modelId: string): string => {
  const id = modelId.trim()
  const lastSegment = id.startsWith("arn:") ? (id.split("/").pop() ?? id) : id
  if (lastSegment in MODEL_PRICES) return lastSegment
  const dot = lastSegment.indexOf(".")
  const withoutProfile = dot > 0 ? lastSegment.slice(dot + 1) : lastSegment
  // Only strip when what remains is itself `<vendor>.<model>`: a base id's vendor is not a region.
  return withoutProfile.includes(".") ? withoutProfile : lastSegment
}

export interface PriceLookup {
  readonly price: ModelPrice
  /** False when `price` is the conservative default for a model id the table does not list. */
  readonly known: boolean
}

export const priceOf = (modelId: string): PriceLookup => {
  if (isOffline(modelId.trim())) return { price: FREE, known: true }
  const price = MODEL_PRICES[baseModelId(modelId)]
  return price === undefined ? { price: UNKNOWN_MODEL_PRICE, known: false } : { price, known: true }
}

export interface TokenCounts {
  readonly inputTokens: number
  readonly outputTokens: number
}

// Integer arithmetic: prices in 1e-8 USD per 1k tokens, costs in 1e-4 cents, so sums are exact.
const PRICE_SCALE = 100_000_000
const tokenCount = (n: number): bigint =>
  Number.isNaN(n) || n <= 0 ? 0n : BigInt(Math.floor(Math.min(n, Number.MAX_SAFE_INTEGER)))
const priceUnits = (usdPer1k: number): bigint =>
  Number.isFinite(usdPer1k) && usdPer1k > 0 ? BigInt(Math.round(usdPer1k * PRICE_SCALE)) : 0n

/**
 * The cost of one call in cents, rounded half up to 4 decimals. Never NaN: token counts that are
 * not whole non-negative numbers are read as their floor, negatives and NaN as 0.
 */
export const costCents = (modelId: string, usage: TokenCounts): number => {
  const { price } = priceOf(modelId)
  // cents = tokens × usdPer1k / 10 = tokens × units / 1e9; in 1e-4 cents: tokens × units / 1e5
  const scaled =
    tokenCount(usage.inputTokens) * priceUnits(price.inputPer1kTokensUsd) +
    tokenCount(usage.outputTokens) * priceUnits(price.outputPer1kTokensUsd)
  const tenThousandths = (scaled + 50_000n) / 100_000n
  return Number(tenThousandths) / 10_000
}
