/** LLM cost tracking: where usage is recorded, and each user's monthly budget. */
import { Config, Context, Layer, type Option } from "effect"
import { collect, positiveInt } from "./shared.js"

export interface CostSettings {
  readonly tracker: "postgres" | "dynamodb"
  readonly table: string
  /** DynamoDB-compatible servers (and tests). */
  readonly dynamodbEndpoint: Option.Option<string>
  /** Per user and calendar month; past it, new LLM work fails with QuotaExceeded. */
  readonly monthlyBudgetCents: number
}

export const costConfig: Config.Config<CostSettings> = collect({
  tracker: Config.Literals(["postgres", "dynamodb"], "COST_TRACKER").pipe(Config.withDefault("postgres" as const)),
  table: Config.String("COST_TRACKING_TABLE").pipe(Config.withDefault("serenya-llm-cost-tracking")),
  dynamodbEndpoint: Config.String("DYNAMODB_ENDPOINT").pipe(Config.option),
  monthlyBudgetCents: positiveInt("LLM_MONTHLY_BUDGET_CENTS", 500)
})

export class CostConfig extends Context.Service<CostConfig, CostSettings>()("serenya/config/Cost") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(CostConfig, costConfig)
}
