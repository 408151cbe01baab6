/**
 * How a Converse call fails, told apart for the operator and the user: transient failures (retried
 * on the `llm` schedule), refusals of a request that was ours to get right (LLMRequestRejected,
 * never "your document is unreadable"), a document longer than the model reads, and the stops
 * after which an answer must not be used.
 */
import type { ConverseCommandOutput, ConverseStreamOutput } from "@aws-sdk/client-bedrock-runtime"
import { Effect, Schema } from "effect"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { type CircuitOpen, ErrorInfoId, transientFailureInfo } from "../../services/errors.js"
import { type ChatError, DocumentTooComplex, LLMRequestRejected, LLMUnavailable } from "../../services/llm.js"

/** One Converse call that failed; transient ones are retried on the `llm` schedule. */
export class BedrockCallFailed extends Schema.TaggedError<BedrockCallFailed>()("BedrockCallFailed", {
  message: Schema.String,
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("LLM_CALL_FAILED", "external", this.transient, 502)
  }
}

const TRANSIENT = new Set([
  "ThrottlingException",
  "ServiceQuotaExceededException",
  "ServiceUnavailableException",
  "ModelNotReadyException",
  "InternalServerException",
  "ModelTimeoutException",
  "ModelErrorException",
  // ConverseStream: "an error occurred while streaming the response; retry your request"
  "ModelStreamErrorException",
  "TimeoutError",
  "RequestTimeout"
])

/** Bedrock's refusals of a request that was ours to get right, by the messages AWS returns (see the tests). */
const rejection = (name: string, message: string): { readonly reason: string; readonly retryLater: boolean } | undefined => {
  switch (name) {
    case "ValidationException":
      if (/model identifier is invalid/i.test(message)) return { reason: "MODEL_ID_INVALID", retryLater: true }
      if (/on-demand throughput isn.t supported|inference profile/i.test(message)) return { reason: "INFERENCE_PROFILE_REQUIRED", retryLater: true }
      if (/end of (its )?life|legacy/i.test(message)) return { reason: "MODEL_END_OF_LIFE", retryLater: true }
      return { reason: "REQUEST_NOT_SUPPORTED", retryLater: true }
    case "ResourceNotFoundException":
      if (/end of (its )?life/i.test(message)) return { reason: "MODEL_END_OF_LIFE", retryLater: true }
      if (/legacy/i.test(message)) return { reason: "MODEL_LEGACY_INACTIVE", retryLater: true }
      return { reason: "MODEL_NOT_FOUND", retryLater: true }
    case "AccessDeniedException":
      if (/marketplace/i.test(message)) return { reason: "MODEL_SUBSCRIPTION_MISSING", retryLater: true }
      if (/don.t have access to the model/i.test(message)) return { reason: "MODEL_ACCESS_NOT_GRANTED", retryLater: true }
      return { reason: "MODEL_ACCESS_DENIED", retryLater: true }
    default:
      return undefined
  }
}

/** An input over the model's context window: the document is too long to read, whatever we do. */
const TOO_LONG = /input is too long|prompt is too long|too many (input )?tokens|context (window|length)/i

export const classifyBedrockError = (cause: unknown): BedrockCallFailed | LLMRequestRejected | DocumentTooComplex => {
  const name = awsErrorName(cause)
  const status = awsHttpStatus(cause)
  const message = cause instanceof Error ? cause.message : ""
  if (name === "ValidationException" && TOO_LONG.test(message)) {
    return new DocumentTooComplex({ message: "The document is longer than the model can read at once", limit: "text_length" })
  }
  const rejected = rejection(name, message)
  if (rejected !== undefined) {
    // AWS's message names the model and the request, never the document: it is safe for the operator's log.
    return new LLMRequestRejected({ message: `Bedrock refused the request (${name}): ${message.slice(0, 300)}`, ...rejected })
  }
  const transient = TRANSIENT.has(name) || status === undefined || status >= 500 || status === 429
  return new BedrockCallFailed({ message: `Bedrock Converse failed: ${name}`, transient })
}

/** Stops after which there is no answer to use: a filter withheld it, or the input did not fit. */
export const stopped = (output: ConverseCommandOutput): Effect.Effect<ConverseCommandOutput, LLMRequestRejected | DocumentTooComplex> => {
  switch (output.stopReason) {
    case "guardrail_intervened":
    case "content_filtered":
      return Effect.fail(
        new LLMRequestRejected({
          message: `Bedrock withheld the answer (${output.stopReason})`,
          reason: output.stopReason === "content_filtered" ? "CONTENT_FILTERED" : "GUARDRAIL_INTERVENED",
          retryLater: false
        })
      )
    case "model_context_window_exceeded":
      return Effect.fail(new DocumentTooComplex({ message: "The document is longer than the model can read at once", limit: "text_length" }))
    default:
      return Effect.succeed(output)
  }
}

export const unavailable = (error: CircuitOpen | BedrockCallFailed) =>
  new LLMUnavailable({
    message: "The language model is temporarily unavailable",
    retryAfterSeconds: error._tag === "CircuitOpen" ? error.retryAfterSeconds : 30
  })

/** What a chat's failure is to its caller: the call's own failures told as ChatError. */
export const chatFailure = (error: ChatError | CircuitOpen | BedrockCallFailed | DocumentTooComplex): ChatError => {
  switch (error._tag) {
    case "CircuitOpen":
    case "BedrockCallFailed":
      return unavailable(error)
    case "DocumentTooComplex":
      // In a chat the only input is ours (the document's JSON, history, question): too long is ours to fix.
      return new LLMRequestRejected({ message: error.message, reason: "CONVERSATION_TOO_LONG", retryLater: false })
    default:
      return error
  }
}

const STREAM_EXCEPTIONS = [
  "throttlingException",
  "modelStreamErrorException",
  "internalServerException",
  "serviceUnavailableException",
  "validationException"
] as const

/**
 * An exception ConverseStream sent in place of an event, as an error `classifyBedrockError` reads
 * (the SDK throws these from the stream; one met as a member of the event union is taken the same way).
 */
export const streamException = (event: ConverseStreamOutput): Error | undefined => {
  for (const key of STREAM_EXCEPTIONS) {
    const value: { readonly message?: string | undefined } | undefined = event[key]
    if (value === undefined) continue
    if (value instanceof Error) return value
    return Object.assign(new Error(value.message ?? key), { name: `${key[0]!.toUpperCase()}${key.slice(1)}` })
  }
  return undefined
}
