/**
 * AWS X-Ray trace headers and W3C traceparent, each written from the other, so one trace runs
 * through what AWS traces (Lambda's segment, API Gateway's Root) and what we trace (OpenTelemetry):
 * - X-Ray: `Root=1-<8 hex: epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>` (any order, more
 *   fields allowed, such as `Lineage`);
 * - W3C: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
 * An X-Ray trace id is a W3C one with its dashes removed, and back.
 * Both come from outside (a header, the environment): anything malformed reads as nothing.
 */

const HEX = /^[0-9a-f]+$/
const isHex = (text: string, length: number) => text.length === length && HEX.test(text) && !/^0+$/.test(text)

export interface XRayContext {
  /** 32 lowercase hex digits, as a W3C trace id. */
  readonly traceId: string
  /** 16 lowercase hex digits: the segment (or span) the next one is a child of. */
  readonly parentId: string
  readonly sampled: boolean
}

/** The X-Ray header's fields, or undefined when its Root or Parent is missing or malformed. */
export const parseXRayHeader = (header: string): XRayContext | undefined => {
  if (header.length > 512) return undefined
  const fields = new Map<string, string>()
  for (const part of header.split(";")) {
    const at = part.indexOf("=")
    if (at <= 0) continue
    const key = part.slice(0, at).trim()
    if (!fields.has(key)) fields.set(key, part.slice(at + 1).trim())
  }
  const root = (fields.get("Root") ?? "").toLowerCase().split("-")
  const parentId = (fields.get("Parent") ?? "").toLowerCase()
  if (root.length !== 3 || root[0] !== "1" || !isHex(root[1]!, 8) || !isHex(root[2]!, 24)) return undefined
  const traceId = `${root[1]}${root[2]}`
  if (!isHex(traceId, 32) || !isHex(parentId, 16)) return undefined
  return { traceId, parentId, sampled: fields.get("Sampled") === "1" }
}

/**
 * The context worth continuing: a well-formed header whose trace is sampled. Lambda sets an
 * unsampled one when tracing is off, and following it would switch our own tracing off too.
 */
export const sampledXRayContext = (header: string | undefined): XRayContext | undefined => {
  const context = header === undefined ? undefined : parseXRayHeader(header)
  return context?.sampled === true ? context : undefined
}

export const traceparentOf = (context: XRayContext): string =>
  `00-${context.traceId}-${context.parentId}-${context.sampled ? "01" : "00"}`

/** The X-Ray header naming the same trace and parent as a W3C traceparent (undefined when it is not one). */
export const xrayHeaderOf = (traceparent: string): string | undefined => {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent)
  if (match === null || !isHex(match[1]!, 32) || !isHex(match[2]!, 16)) return undefined
  const [, traceId, parentId, flags] = match
  const sampled = (parseInt(flags!, 16) & 1) === 1
  return `Root=1-${traceId!.slice(0, 8)}-${traceId!.slice(8)};Parent=${parentId};Sampled=${sampled ? 1 : 0}`
}
