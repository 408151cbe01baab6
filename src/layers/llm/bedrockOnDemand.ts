/**
 * The Bedrock LLM layer, with the model and Region from the settings and the app's `llm` breaker.
 * Its implementation (./bedrock.ts: prompts, tool schema, request shaping), the SDK and the client
 * load on the first call, not when the layer is built: most API functions (sign-in, uploads) never
 * call the model, and their cold starts do not pay for it.
 */
import { Effect, Layer, Stream } from "effect"
import { LLMConfig } from "../../config/llm.js"
import { Deidentifier } from "../../services/deidentifier.js"
import { LLM } from "../../services/llm.js"
import { CircuitBreakers } from "../../services/resilience.js"
import { AwsSdk, lazyClient } from "../aws/sdk.js"

export const LLMBedrock: Layer.Layer<LLM, never, LLMConfig | CircuitBreakers | Deidentifier> = Layer.effect(
  LLM,
  Effect.gen(function* () {
    const config = yield* LLMConfig
    const breakers = yield* CircuitBreakers
    const deidentifier = yield* Deidentifier
    const client = yield* lazyClient(
      Effect.map(AwsSdk.bedrockRuntime, (sdk) => new sdk.BedrockRuntimeClient({ region: config.bedrockRegion, maxAttempts: 1 }))
    )
    let loaded: (typeof LLM)["Service"] | undefined
    const llm = yield* Effect.cached(
      Effect.map(
        Effect.promise(() => import("./bedrock.js")),
        ({ makeBedrockLLM }) => (loaded = makeBedrockLLM(client, { modelId: config.bedrockModelId, breaker: breakers.get("llm"), deidentifier }))
      )
    )
    return {
      interpret: (input) => Effect.flatMap(llm, (bedrock) => bedrock.interpret(input)),
      chat: (input) => Effect.flatMap(llm, (bedrock) => bedrock.chat(input)),
      chatStream: (input) => Stream.unwrap(Effect.map(llm, (bedrock) => bedrock.chatStream(input))),
      // nothing is kept for anyone before the first call
      forgetUser: (userId) => Effect.suspend(() => (loaded === undefined ? Effect.void : loaded.forgetUser(userId)))
    }
  })
)
