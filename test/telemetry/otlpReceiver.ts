/**
 * A small OTLP/HTTP receiver of the tests' own on 127.0.0.1: it keeps what the exporters send
 * (JSON encoding, `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) and flattens it into spans and metric
 * points with plain attribute records, so tests can assert on trees, links and attribute values.
 */
import * as http from "node:http"

type AnyValue = {
  readonly stringValue?: string
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly boolValue?: boolean
  readonly arrayValue?: { readonly values?: ReadonlyArray<AnyValue> }
}
type KeyValue = { readonly key: string; readonly value: AnyValue }

const valueOf = (value: AnyValue): unknown => {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf)
  return undefined
}

export const attributesOf = (list: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]))

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly name: string
  /** 1 internal, 2 server, 3 client. */
  readonly kind: number
  readonly attributes: Record<string, unknown>
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, unknown> }>
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string; readonly attributes: Record<string, unknown> }>
  readonly status: { readonly code?: number; readonly message?: string }
  readonly resource: Record<string, unknown>
}

export interface ReceivedMetricPoint {
  readonly name: string
  readonly attributes: Record<string, unknown>
  readonly value: unknown
  readonly resource: Record<string, unknown>
}

export interface OtlpReceiver {
  readonly url: string
  readonly spans: () => ReadonlyArray<ReceivedSpan>
  readonly metrics: () => ReadonlyArray<ReceivedMetricPoint>
  /** Content types of every request received, by path. */
  readonly contentTypes: () => ReadonlyArray<string>
  /** Every request body as received, for scans. */
  readonly rawBodies: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the OTLP JSON documents are walked structurally */
export const startOtlpReceiver = async (): Promise<OtlpReceiver> => {
  const spans: Array<ReceivedSpan> = []
  const points: Array<ReceivedMetricPoint> = []
  const contentTypes: Array<string> = []
  const bodies: Array<string> = []
  const server = http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = Buffer.concat(chunks)
      contentTypes.push(`${request.url} ${request.headers["content-type"] ?? ""}`)
      if ((request.headers["content-type"] ?? "").includes("json")) {
        const text = body.toString("utf8")
        bodies.push(text)
        const document = JSON.parse(text) as any
        for (const rs of document.resourceSpans ?? []) {
          const resource = attributesOf(rs.resource?.attributes)
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? "",
                name: s.name,
                kind: s.kind,
                attributes: attributesOf(s.attributes),
                events: (s.events ?? []).map((e: any) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
                links: (s.links ?? []).map((l: any) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributesOf(l.attributes) })),
                status: s.status ?? {},
                resource
              })
            }
          }
        }
        for (const rm of document.resourceMetrics ?? []) {
          const resource = attributesOf(rm.resource?.attributes)
          for (const sm of rm.scopeMetrics ?? []) {
            for (const m of sm.metrics ?? []) {
              const data = m.sum ?? m.gauge ?? m.histogram ?? m.exponentialHistogram ?? {}
              for (const p of data.dataPoints ?? []) {
                points.push({
                  name: m.name,
                  attributes: attributesOf(p.attributes),
                  value: p.asDouble ?? (p.asInt !== undefined ? Number(p.asInt) : undefined) ?? p.sum,
                  resource
                })
              }
            }
          }
        }
      }
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    metrics: () => points,
    contentTypes: () => contentTypes,
    rawBodies: () => bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
