/**
 * The model's answer, read like any untrusted input: the tool call's input decoded against the
 * schema, the turns that ask for it again with what was wrong (a decoding failure, or the lines
 * the coverage check found left out or invented), and the tokens each call used.
 */
import type { ConverseCommandOutput, Message } from "@aws-sdk/client-bedrock-runtime"
import { Option, Schema } from "effect"
import { InterpretedDocument, TokenUsage } from "../../services/llm.js"
import type { Coverage } from "./reader/coverage.js"
import { TOOL_NAME } from "./bedrockRequest.js"

/** A model's answer is decoded (every issue reported, for the repair round); after the coverage check it is finished like every provider's (critical first, no false reassurance). */
export const decodeDocument = Schema.decodeUnknownEffect(InterpretedDocument, { errors: "all" })

/** The turns that answer a tool call with what was wrong with it, asking for the call again. */
export const repairTurns = (output: ConverseCommandOutput, problem: string): Array<Message> => {
  const toolUseId = output.output?.message?.content?.find((b) => b.toolUse)?.toolUse?.toolUseId
  return output.output?.message && toolUseId
    ? [
      output.output.message,
      { role: "user", content: [{ toolResult: { toolUseId, status: "error", content: [{ text: problem }] } }] }
    ]
    : [
      { role: "assistant", content: output.output?.message?.content ?? [{ text: "(no answer)" }] },
      { role: "user", content: [{ text: `${problem} Call the ${TOOL_NAME} tool.` }] }
    ]
}

/** What the coverage check found, said to the model: the lines it left out, quoted, and the values that are not in the document. */
export const coverageRepair = (coverage: Coverage): string => {
  const parts: Array<string> = []
  if (coverage.missing.length > 0) {
    parts.push(
      "These lines of the document hold results or vitals readings that your interpretation left out; include every one of them " +
        "(or list a line in unreadLines if it cannot be read):\n" +
        coverage.missing.slice(0, 60).map((l) => `page ${l.page}, line ${l.line}: ${l.text}`).join("\n")
    )
  }
  if (coverage.invented.length > 0) {
    parts.push(
      "These results are not printed in the document; leave out anything that is not in it:\n" +
        coverage.invented.slice(0, 30).map((r) => `${r.name}: ${String(r.value)} ${r.unit}`.trim()).join("\n")
    )
  }
  return `${parts.join("\n\n")}\n\nCall the tool again with the complete interpretation.`
}

export const toolInput = (output: ConverseCommandOutput): Option.Option<unknown> =>
  Option.fromNullishOr(
    output.output?.message?.content?.find((block) => block.toolUse?.name === TOOL_NAME)?.toolUse?.input
  )

export const usageOf = (output: ConverseCommandOutput) =>
  new TokenUsage({ inputTokens: output.usage?.inputTokens ?? 0, outputTokens: output.usage?.outputTokens ?? 0 })

export const addUsage = (a: TokenUsage, b: TokenUsage) =>
  new TokenUsage({ inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens })
