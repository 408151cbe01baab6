/** The LLM provider: the offline parser, or Bedrock with its model and Region. */
import { Config, Context, Layer } from "effect"
import { DEFAULT_MODEL_ID } from "../services/models.js"
import { collect } from "./shared.js"

export interface LLMSettings {
  readonly provider: "offline" | "bedrock"
  readonly bedrockModelId: string
  readonly bedrockRegion: string
  /**
   * What finds the identifiers scrubbed from everything Bedrock is sent: Amazon Comprehend Medical
   * (`comprehend`, the default) or the local rules (`local`; src/layers/deidentifier/local.ts).
   */
  readonly deidentifier: "comprehend" | "local"
}

/**
 * The variables, read and defaulted. Whether the model may be called (the model table's verdict,
 * which depends on APP_ENV) is one of src/config.ts's cross-checks.
 */
export const llmConfig: Config.Config<LLMSettings> = collect({
  provider: Config.Literals(["offline", "bedrock"], "LLM_PROVIDER").pipe(Config.withDefault("offline" as const)),
  bedrockModelId: Config.String("BEDROCK_MODEL_ID").pipe(Config.withDefault(DEFAULT_MODEL_ID)),
  bedrockRegion: Config.String("BEDROCK_REGION").pipe(Config.withDefault("eu-west-1")),
  deidentifier: Config.Literals(["comprehend", "local"], "DEIDENTIFIER").pipe(Config.withDefault("comprehend" as const))
})

export class LLMConfig extends Context.Service<LLMConfig, LLMSettings>()("serenya/config/LLM") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(LLMConfig, llmConfig)
}
