/**
 * What an LLM call costs: the price per model id comes from the model table
 * (src/services/models.ts), in USD per 1,000 input and output tokens, and the cost of one call in
 * cents to 4 decimals, the precision `llm_usage.total_cost_cents` keeps.
 *
 * Ids are looked up as configured and as Bedrock reports them: an inference profile id
 * (`eu.anthropic…`), a foundation model id, or an ARN ending in either. A profile the table does
 * not list but whose foundation model it knows is charged the highest price the table has for that
 * model. The offline provider's models (`offline`, `offline-*`) are free. An unknown model id is
 * charged at the highest known price per token kind (`UNKNOWN_MODEL_PRICE`): a model this table has
 * not heard of may cost more than it should, never less, so it cannot slip a user under the monthly
 * budget; `priceOf` says whether the id was known so a caller can warn about the gap in the table.
 */
import { idOf, MODELS } from "./models.js"

export interface ModelPrice {
  readonly inputPer1kTokensUsd: number
  readonly outputPer1kTokensUsd: number
}

const FREE: ModelPrice = { inputPer1kTokensUsd: 0, outputPer1kTokensUsd: 0 }

const per1k = (usdPerMillion: number) => Math.round(usdPerMillion * 1e5) / 1e8

const maxOf = (prices: ReadonlyArray<ModelPrice>): ModelPrice =>
  prices.reduce<ModelPrice>(
    (max, price) => ({
      inputPer1kTokensUsd: Math.max(max.inputPer1kTokensUsd, price.inputPer1kTokensUsd),
      outputPer1kTokensUsd: Math.max(max.outputPer1kTokensUsd, price.outputPer1kTokensUsd)
    }),
    FREE
  )

/** Bedrock on-demand prices per id the table lists (profile ids and in-region foundation model ids). */
export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = Object.fromEntries(
  MODELS.map((model) => [model.id, { inputPer1kTokensUsd: per1k(model.price.inputUsd), outputPer1kTokensUsd: per1k(model.price.outputUsd) }])
)

/** The highest price the table has for each foundation model (over its profiles). */
const FOUNDATION_PRICES: ReadonlyMap<string, ModelPrice> = new Map(
  [...new Set(MODELS.map((m) => m.foundationModelId))].map((foundation) => [
    foundation,
    maxOf(MODELS.filter((m) => m.foundationModelId === foundation).map((m) => MODEL_PRICES[m.id]!))
  ])
)

/** The most expensive known price for each token kind: what an unknown model is charged. */
export const UNKNOWN_MODEL_PRICE: ModelPrice = maxOf(Object.values(MODEL_PRICES))

const isOffline = (modelId: string): boolean => modelId === "offline" || modelId.startsWith("offline-")

/**
 * The foundation model id behind what Bedrock reports: an ARN's last path segment, without a
 * cross-region inference profile prefix (`eu.`, `us.`, `apac.`, `global.`, … before `<vendor>.<model>`).
 */
export const baseModelId = (modelId: string): string => {
  const lastSegment = idOf(modelId)
  const listed = MODELS.find((m) => m.id === lastSegment)
  if (listed !== undefined) return listed.foundationModelId
  if (FOUNDATION_PRICES.has(lastSegment)) return lastSegment
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
  const listed = MODEL_PRICES[idOf(modelId)]
  if (listed !== undefined) return { price: listed, known: true }
  const byFoundation = FOUNDATION_PRICES.get(baseModelId(modelId))
  return byFoundation === undefined ? { price: UNKNOWN_MODEL_PRICE, known: false } : { price: byFoundation, known: true }
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
