/**
 * LLM usage metrics as CloudWatch Embedded Metric Format: one JSON line per record on stdout,
 * which CloudWatch Logs (Lambda, or the EKS log agent) turns into metrics in `Serenya/LLM` —
 * no PutMetricData call on the request path.
 *
 * One EMF directive publishes each of its metrics under each of its dimension sets, and the
 * architecture gives the metrics different sets, so the document carries three directives:
 * - InputTokens, OutputTokens (Count): [Provider, ModelId, DocumentType], plus [Provider] for the dashboard;
 * - TotalCost (Count, in cents): [Provider, ModelId], plus [Provider] for the dashboard and [] for the
 *   budget alarm, which reads TotalCost without dimensions;
 * - ProcessingTime (Milliseconds): [DocumentType].
 * Values and dimension values are top-level keys, as EMF requires. No user id: metrics carry no PHI.
 */
import type { EmfMetricDirective } from "../telemetry/emf.js"
import type { LLMProviderName } from "../../services/llm.js"
import type { LLMUsageRecord } from "../../services/costTracker.js"

export const EMF_NAMESPACE = "Serenya/LLM"

export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number
    readonly CloudWatchMetrics: ReadonlyArray<EmfMetricDirective>
  }
  readonly Provider: string
  readonly ModelId: string
  readonly DocumentType: string
  readonly InputTokens: number
  readonly OutputTokens: number
  readonly TotalCost: number
  readonly ProcessingTime: number
}

/** The Provider dimension uses the architecture's names, which its dashboards and alarms filter on. */
export const metricProvider = (provider: LLMProviderName): string => (provider === "aws.bedrock" ? "bedrock" : provider)

const DIRECTIVES: ReadonlyArray<EmfMetricDirective> = [
  {
    Namespace: EMF_NAMESPACE,
    Dimensions: [["Provider", "ModelId", "DocumentType"], ["Provider"]],
    Metrics: [
      { Name: "InputTokens", Unit: "Count" },
      { Name: "OutputTokens", Unit: "Count" }
    ]
  },
  {
    Namespace: EMF_NAMESPACE,
    Dimensions: [["Provider", "ModelId"], ["Provider"], []],
    Metrics: [{ Name: "TotalCost", Unit: "Count" }]
  },
  {
    Namespace: EMF_NAMESPACE,
    Dimensions: [["DocumentType"]],
    Metrics: [{ Name: "ProcessingTime", Unit: "Milliseconds" }]
  }
]

export const emfDocument = (record: LLMUsageRecord): EmfDocument => ({
  _aws: { Timestamp: record.occurredAt.getTime(), CloudWatchMetrics: DIRECTIVES },
  Provider: metricProvider(record.provider),
  ModelId: record.modelId,
  DocumentType: record.documentType,
  InputTokens: record.inputTokens,
  OutputTokens: record.outputTokens,
  TotalCost: record.totalCostCents,
  ProcessingTime: record.processingTimeMs
})

export const emfLine = (record: LLMUsageRecord): string => JSON.stringify(emfDocument(record))
