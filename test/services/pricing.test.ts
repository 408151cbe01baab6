/**
 * The price table and costCents: known prices, model ids as Bedrock reports them, the offline
 * provider, the conservative default for unknown models, 4-decimal rounding, and the properties
 * a cost must have (never NaN, monotonic in tokens, additive up to one rounding step).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  baseModelId,
  costCents,
  MODEL_PRICES,
  priceOf,
  UNKNOWN_MODEL_PRICE
} from "../../src/services/pricing.js"
import { MODELS as MODELS_TABLE } from "../../src/services/models.js"

const SONNET_55 = "eu.anthropic.claude-sonnet-5-5"
const SONNET_V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
const SONNET_V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
const HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"

/** Costs compared in ten-thousandths of a cent, the precision costCents keeps. */
const units = (cents: number) => Math.round(cents * 10_000)

const MODELS = [SONNET_V2, SONNET_V1, HAIKU, `eu.${SONNET_V2}`, `us.${HAIKU}`, "offline-parser", "vendor.unknown-model-v9"]
const modelArbitrary = fc.constantFrom(...MODELS)
const tokensArbitrary = fc.integer({ min: 0, max: 5_000_000 })

describe("price table", () => {
  it("comes from the model table: the EU profiles of Claude Sonnet 5.5 and Opus 5.5 at the global price plus 10%", () => {
    expect(MODEL_PRICES[SONNET_55]).toEqual({ inputPer1kTokensUsd: 0.0022, outputPer1kTokensUsd: 0.011 })
    expect(MODEL_PRICES["eu.anthropic.claude-opus-5-5"]).toEqual({ inputPer1kTokensUsd: 0.0044, outputPer1kTokensUsd: 0.022 })
    expect(Object.keys(MODEL_PRICES).sort()).toEqual(MODELS_TABLE.map((m) => m.id).sort())
    // 10k in + 1k out through the EU profile: 10 × 0.22¢ + 1.1¢
    expect(costCents(SONNET_55, { inputTokens: 10_000, outputTokens: 1000 })).toBe(3.3)
    // the profile's ARN and the foundation model id (as an ARN or bare) price like the profile
    expect(priceOf(`arn:aws:bedrock:eu-west-1:111122223333:inference-profile/${SONNET_55}`)).toEqual({ price: MODEL_PRICES[SONNET_55], known: true })
    expect(priceOf("anthropic.claude-sonnet-5-5")).toEqual({ price: MODEL_PRICES[SONNET_55], known: true })
    // a profile of another geography is charged as the dearest profile of its foundation model the table knows
    expect(priceOf("us.anthropic.claude-sonnet-5-5")).toEqual({ price: MODEL_PRICES[SONNET_55], known: true })
  })

  it("keeps retired models' prices for the usage recorded while they ran: Claude 3.5 Sonnet (both versions) and Claude 3 Haiku", () => {
    expect(MODEL_PRICES[SONNET_V2]).toEqual({ inputPer1kTokensUsd: 0.003, outputPer1kTokensUsd: 0.015 })
    expect(MODEL_PRICES[SONNET_V1]).toEqual({ inputPer1kTokensUsd: 0.003, outputPer1kTokensUsd: 0.015 })
    expect(MODEL_PRICES[HAIKU]).toEqual({ inputPer1kTokensUsd: 0.00025, outputPer1kTokensUsd: 0.00125 })
  })

  it("cross-region inference profiles and ARNs resolve to the base model", () => {
    for (const id of [
      `eu.${SONNET_V2}`,
      `us.${SONNET_V2}`,
      `apac.${SONNET_V2}`,
      `arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.${SONNET_V2}`,
      `arn:aws:bedrock:eu-west-1::foundation-model/${SONNET_V2}`
    ]) {
      expect(baseModelId(id), id).toBe(SONNET_V2)
      expect(priceOf(id), id).toEqual({ price: MODEL_PRICES[SONNET_V2], known: true })
    }
    expect(baseModelId(`eu.${HAIKU}`)).toBe(HAIKU)
    // a base id's vendor prefix is not a region: nothing to strip
    expect(baseModelId("anthropic.claude-9")).toBe("anthropic.claude-9")
  })

  it("the offline provider's models are free", () => {
    for (const id of ["offline", "offline-parser-v1", "offline-chat-v1"]) {
      expect(priceOf(id)).toEqual({ price: { inputPer1kTokensUsd: 0, outputPer1kTokensUsd: 0 }, known: true })
      expect(costCents(id, { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBe(0)
    }
  })

  it("an unknown model is charged the highest known price per token kind, and flagged as unknown", () => {
    // Opus 5.5 through the EU profile is the dearest entry: $4.40 / $22 per million
    expect(UNKNOWN_MODEL_PRICE).toEqual({ inputPer1kTokensUsd: 0.0044, outputPer1kTokensUsd: 0.022 })
    expect(priceOf("meta.llama3-70b-instruct-v1:0")).toEqual({ price: UNKNOWN_MODEL_PRICE, known: false })
    expect(priceOf("")).toEqual({ price: UNKNOWN_MODEL_PRICE, known: false })
    expect(costCents("meta.llama3-70b-instruct-v1:0", { inputTokens: 1000, outputTokens: 1000 })).toBe(2.64)
  })
})

describe("costCents", () => {
  it("prices a call in cents: 1k in + 1k out is 1.8¢ on Sonnet, 0.15¢ on Haiku", () => {
    expect(costCents(SONNET_V2, { inputTokens: 1000, outputTokens: 1000 })).toBe(1.8)
    expect(costCents(SONNET_V1, { inputTokens: 2000, outputTokens: 500 })).toBe(1.35)
    expect(costCents(HAIKU, { inputTokens: 1000, outputTokens: 1000 })).toBe(0.15)
    expect(costCents(`eu.${SONNET_V2}`, { inputTokens: 12_345, outputTokens: 678 })).toBe(4.7205)
    expect(costCents(SONNET_V2, { inputTokens: 0, outputTokens: 0 })).toBe(0)
  })

  it("rounds half up to 4 decimals", () => {
    // Haiku input: 0.000025¢ per token
    expect(costCents(HAIKU, { inputTokens: 1, outputTokens: 0 })).toBe(0)
    expect(costCents(HAIKU, { inputTokens: 2, outputTokens: 0 })).toBe(0.0001)
    expect(costCents(HAIKU, { inputTokens: 5, outputTokens: 0 })).toBe(0.0001)
    expect(costCents(HAIKU, { inputTokens: 6, outputTokens: 0 })).toBe(0.0002)
    expect(costCents(SONNET_V2, { inputTokens: 1, outputTokens: 1 })).toBe(0.0018)
  })

  it("is never NaN: NaN and negative counts read as 0, fractions as their floor, Infinity as a huge finite count", () => {
    expect(costCents(SONNET_V2, { inputTokens: Number.NaN, outputTokens: -5 })).toBe(0)
    expect(costCents(SONNET_V2, { inputTokens: 1000.9, outputTokens: 0 })).toBe(0.3)
    const huge = costCents(SONNET_V2, { inputTokens: Number.POSITIVE_INFINITY, outputTokens: 0 })
    expect(Number.isFinite(huge)).toBe(true)
    expect(huge).toBeGreaterThan(0)
  })

  it("property: finite, non-negative, at most 4 decimals", () => {
    fc.assert(
      fc.property(modelArbitrary, tokensArbitrary, tokensArbitrary, (model, inputTokens, outputTokens) => {
        const cost = costCents(model, { inputTokens, outputTokens })
        expect(Number.isFinite(cost)).toBe(true)
        expect(cost).toBeGreaterThanOrEqual(0)
        expect(units(cost) / 10_000).toBe(cost)
      })
    )
  })

  it("property: monotonic — more tokens of either kind never cost less", () => {
    fc.assert(
      fc.property(
        modelArbitrary,
        tokensArbitrary,
        tokensArbitrary,
        fc.nat({ max: 1_000_000 }),
        fc.nat({ max: 1_000_000 }),
        (model, inputTokens, outputTokens, moreIn, moreOut) => {
          const base = costCents(model, { inputTokens, outputTokens })
          expect(costCents(model, { inputTokens: inputTokens + moreIn, outputTokens })).toBeGreaterThanOrEqual(base)
          expect(costCents(model, { inputTokens, outputTokens: outputTokens + moreOut })).toBeGreaterThanOrEqual(base)
        }
      )
    )
  })

  it("property: additive — exactly where prices are whole ten-thousandths of a cent per token, else within one rounding step", () => {
    fc.assert(
      fc.property(
        modelArbitrary,
        tokensArbitrary,
        tokensArbitrary,
        tokensArbitrary,
        tokensArbitrary,
        (model, a, b, c, d) => {
          const whole = units(costCents(model, { inputTokens: a + c, outputTokens: b + d }))
          const parts = units(costCents(model, { inputTokens: a, outputTokens: b })) + units(costCents(model, { inputTokens: c, outputTokens: d }))
          // Sonnet: 0.0003¢ and 0.0015¢ per token, so no rounding ever happens
          if (baseModelId(model) === SONNET_V2 || baseModelId(model) === SONNET_V1) expect(whole).toBe(parts)
          else expect(Math.abs(whole - parts)).toBeLessThanOrEqual(1)
        }
      )
    )
  })

  it("property: an unknown model never costs less than any known one", () => {
    fc.assert(
      fc.property(tokensArbitrary, tokensArbitrary, (inputTokens, outputTokens) => {
        const unknown = costCents("vendor.new-model", { inputTokens, outputTokens })
        for (const id of Object.keys(MODEL_PRICES)) {
          expect(unknown).toBeGreaterThanOrEqual(costCents(id, { inputTokens, outputTokens }))
        }
      })
    )
  })
})
