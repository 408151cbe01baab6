/**
 * What the plans hold a user to, per calendar month (UTC): the numbers use cases need of the
 * settings (FREE_PLAN_DOCUMENTS_PER_MONTH, FREE_PLAN_CHAT_MESSAGES_PER_MONTH, LLM_MONTHLY_BUDGET_CENTS)
 * and nothing more. Premium has no document or question limit; the LLM budget applies to every plan.
 */
import { Context } from "effect"

export class PlanLimits extends Context.Service<
  PlanLimits,
  {
    readonly freeDocumentsPerMonth: number
    readonly freeChatMessagesPerMonth: number
    /** Past it, new LLM work fails with QuotaExceeded (the CostTracker enforces it; the status shows it). */
    readonly llmBudgetCentsPerMonth: number
  }
>()("serenya/PlanLimits") {}
