/** The plans' limits. */
import { type Config, Context, Layer } from "effect"
import { collect, nonNegativeInt } from "./shared.js"

/** Free-plan limits per calendar month (UTC); premium has none. */
export interface PlanSettings {
  readonly freeDocumentsPerMonth: number
  readonly freeChatMessagesPerMonth: number
}

export const plansConfig: Config.Config<PlanSettings> = collect({
  freeDocumentsPerMonth: nonNegativeInt("FREE_PLAN_DOCUMENTS_PER_MONTH", 10),
  freeChatMessagesPerMonth: nonNegativeInt("FREE_PLAN_CHAT_MESSAGES_PER_MONTH", 50)
})

export class PlansConfig extends Context.Service<PlansConfig, PlanSettings>()("serenya/config/Plans") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(PlansConfig, plansConfig)
}
