/**
 * De-identification: the minimum-necessary rule for the model. The model needs a report's results,
 * not whose they are: before any text goes to Bedrock, the identifiers in it (the patient's and
 * physicians' names, date of birth, record/accession/specimen ids, addresses, phone numbers,
 * emails, web addresses) are replaced by placeholders such as `[NAME-1]` and `[MRN-1]`; dates of
 * collection stay, since results need them. What comes back is re-identified only where a
 * placeholder came back.
 *
 * The service only finds identifiers (`detect`); replacing and restoring them is done here, the
 * same way whatever found them. A `PlaceholderMap` lives for one model request (a document's
 * interpretation, a chat answer) and never leaves the process: it is not stored, logged or traced.
 *
 * Layers: `src/layers/deidentifier/comprehendMedical.ts` (Amazon Comprehend Medical DetectPHI),
 * `src/layers/deidentifier/local.ts` (a deterministic scrubber for what lab reports print) and
 * `src/layers/deidentifier/scripted.ts` (tests).
 */
import { Context, Effect, Schema } from "effect"
import { ErrorInfoId, RetryAfterId } from "./errors.js"

/** What an identifier is; the placeholder's label. */
export const PhiKind = Schema.Literals(["NAME", "DOB", "MRN", "ID", "ADDRESS", "PHONE", "EMAIL", "URL", "AGE"])
export type PhiKind = typeof PhiKind.Type

/** An identifier found in a text: `text.slice(start, end)`. */
export interface PhiSpan {
  readonly kind: PhiKind
  readonly start: number
  readonly end: number
}

export type DeidentifierProvider = "aws.comprehendmedical" | "local" | "test"

/**
 * The identifiers could not be found (the detection service failed or timed out). Nothing goes to
 * the model unscrubbed: the request fails as the model being unavailable would, and a job is retried.
 */
export class DeidentifierUnavailable extends Schema.TaggedError<DeidentifierUnavailable>()("DeidentifierUnavailable", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  get [ErrorInfoId]() {
    return { code: "LLM_UNAVAILABLE", category: "external", recovery: "fallback", status: 503 } as const
  }
  get [RetryAfterId]() {
    return this.retryAfterSeconds
  }
}

export class Deidentifier extends Context.Service<
  Deidentifier,
  {
    readonly provider: DeidentifierProvider
    /** The identifiers in each text, as spans of that text (any order; overlaps allowed). */
    readonly detect: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ReadonlyArray<PhiSpan>>, DeidentifierUnavailable>
  }
>()("serenya/Deidentifier") {}

const PLACEHOLDER = /\[(NAME|DOB|MRN|ID|ADDRESS|PHONE|EMAIL|URL|AGE)-(\d{1,4})\]/g
/** The longest placeholder a stream may have cut in two (`[ADDRESS-9999]`). */
const MAX_PLACEHOLDER = 14

/**
 * One request's placeholders: the same identifier always gets the same placeholder, numbered per
 * kind in order of first appearance (so a conversation scrubbed again from its start gets the same
 * numbers). Never serialised.
 */
export class PlaceholderMap {
  private readonly byOriginal = new Map<string, string>()
  private readonly byPlaceholder = new Map<string, string>()
  private readonly counts = new Map<PhiKind, number>()

  placeholderFor(kind: PhiKind, original: string): string {
    const key = `${kind}\u0000${original}`
    const known = this.byOriginal.get(key)
    if (known !== undefined) return known
    const n = (this.counts.get(kind) ?? 0) + 1
    this.counts.set(kind, n)
    const placeholder = `[${kind}-${n}]`
    this.byOriginal.set(key, placeholder)
    this.byPlaceholder.set(placeholder, original)
    return placeholder
  }

  originalOf(placeholder: string): string | undefined {
    return this.byPlaceholder.get(placeholder)
  }

  /** The identifiers known so far with their kinds, longest first (for scrubbing repeats the detector missed). */
  known(): ReadonlyArray<{ readonly kind: PhiKind; readonly original: string }> {
    return [...this.byOriginal.keys()]
      .map((key) => {
        const [kind, original] = key.split("\u0000") as [PhiKind, string]
        return { kind, original }
      })
      .sort((a, b) => b.original.length - a.original.length)
  }

  get size(): number {
    return this.byPlaceholder.size
  }

  /** Does not show what it holds (a map printed by mistake must not leak what it maps). */
  toJSON(): string {
    return `PlaceholderMap(${this.size})`
  }
}

/** Spans sorted, trimmed of surrounding blanks and merged where they overlap (the wider one's kind wins). */
const normalise = (text: string, spans: ReadonlyArray<PhiSpan>): Array<PhiSpan> => {
  const cleaned = spans
    .map((span) => {
      let start = Math.max(0, Math.min(span.start, text.length))
      let end = Math.max(start, Math.min(span.end, text.length))
      while (start < end && /\s/.test(text[start]!)) start++
      while (end > start && /\s/.test(text[end - 1]!)) end--
      return { kind: span.kind, start, end }
    })
    .filter((span) => span.end > span.start)
    .sort((a, b) => a.start - b.start || b.end - a.end)
  const merged: Array<PhiSpan> = []
  for (const span of cleaned) {
    const last = merged[merged.length - 1]
    if (last !== undefined && span.start < last.end) {
      const wider = span.end - span.start > last.end - last.start ? span.kind : last.kind
      merged[merged.length - 1] = { kind: wider, start: last.start, end: Math.max(last.end, span.end) }
    } else merged.push(span)
  }
  return merged
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Replaces the spans by placeholders, then every further occurrence of an identifier already known
 * (a name repeated in a footer the detector did not mark). A repeat is matched whole-word only, and
 * only for identifiers of 3 characters or more.
 */
export const scrubText = (text: string, spans: ReadonlyArray<PhiSpan>, map: PlaceholderMap): string => {
  let out = ""
  let at = 0
  for (const span of normalise(text, spans)) {
    out += text.slice(at, span.start) + map.placeholderFor(span.kind, text.slice(span.start, span.end))
    at = span.end
  }
  out += text.slice(at)
  for (const { kind, original } of map.known()) {
    if (original.length < 3 || !out.includes(original)) continue
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(original)}(?![\\p{L}\\p{N}])`, "gu")
    out = out.replace(pattern, () => map.placeholderFor(kind, original))
  }
  return out
}

/** Scrubs texts with one map (placeholders numbered across them in order), finding identifiers with the service. */
export const deidentify = (
  deidentifier: (typeof Deidentifier)["Service"],
  texts: ReadonlyArray<string>,
  map: PlaceholderMap = new PlaceholderMap()
): Effect.Effect<{ readonly texts: ReadonlyArray<string>; readonly map: PlaceholderMap }, DeidentifierUnavailable> =>
  Effect.map(deidentifier.detect(texts), (found) => {
    // every identifier found in any of the texts first, so that a name found only in the last one is
    // scrubbed from the first too (the question names the patient the title printed)
    texts.forEach((text, i) => {
      for (const span of normalise(text, found[i] ?? [])) map.placeholderFor(span.kind, text.slice(span.start, span.end))
    })
    return { texts: texts.map((text, i) => scrubText(text, found[i] ?? [], map)), map }
  }).pipe(
    Effect.tap(({ map }) => Effect.annotateCurrentSpan({ "serenya.deidentify.provider": deidentifier.provider, "serenya.deidentify.replaced": map.size }))
  )

/** Puts the originals back where the model answered with one of this request's placeholders; any other bracket is left alone. */
export const reidentify = (text: string, map: PlaceholderMap): string =>
  map.size === 0 ? text : text.replace(PLACEHOLDER, (placeholder) => map.originalOf(placeholder) ?? placeholder)

/**
 * Re-identifies a streamed answer: a placeholder cut between two deltas (`[NA` + `ME-1]`) is held
 * back until it is whole, so what is sent on is never half a placeholder.
 */
export class StreamReidentifier {
  private pending = ""
  constructor(private readonly map: PlaceholderMap) {}

  push(delta: string): string {
    const text = this.pending + delta
    const open = text.lastIndexOf("[")
    const cut = open >= 0 && !text.includes("]", open) && text.length - open < MAX_PLACEHOLDER && /^\[[A-Z]*-?\d*$/.test(text.slice(open))
    this.pending = cut ? text.slice(open) : ""
    return reidentify(cut ? text.slice(0, open) : text, this.map)
  }

  end(): string {
    const rest = this.pending
    this.pending = ""
    return reidentify(rest, this.map)
  }
}

/** Re-identifies every string in a decoded value (the model's interpretation of a scrubbed document). */
export const reidentifyDeep = <A>(value: A, map: PlaceholderMap): A => {
  if (map.size === 0) return value
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return reidentify(v, map)
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    }
    return v
  }
  return walk(value) as A
}
