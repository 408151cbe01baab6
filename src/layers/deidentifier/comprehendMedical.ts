/**
 * The live Deidentifier: Amazon Comprehend Medical DetectPHI.
 *
 * - DetectPHI takes "fewer than 20,000 bytes" of UTF-8 per request (API reference, DetectPHI
 *   `Text`; the quotas page says 20 KB): each text is cut at line boundaries into chunks of at most
 *   CHUNK_BYTES, a line longer than that at a blank inside it, and each chunk is one call (at most
 *   `concurrency` at a time, across all the texts).
 * - Entity offsets are "character offsets … the UTF-8 code point" (the SDK model): code points,
 *   which a JavaScript string counts twice for a character outside the BMP (an emoji). They are
 *   turned into UTF-16 indices of the chunk, then of the text; where the entity's own `Text` does
 *   not match there, the offsets are tried as UTF-16 indices, then the nearest occurrence of the
 *   entity's text is taken. Lone surrogates are sent as U+FFFD (same length), so the service sees
 *   valid UTF-8 and the indices still hold.
 * - What is an identifier for us (PhiKind) from the entity's Type: NAME, ID (MRN when a record-number
 *   label precedes it on its line), ADDRESS, PHONE_OR_FAX, EMAIL, URL; AGE only from 90 (HIPAA Safe
 *   Harbor keeps younger ages); DATE only when a birth label precedes it on its line (a date of
 *   collection stays: results need it); PROFESSION never. No confidence threshold: a word wrongly
 *   taken for an identifier costs a placeholder, an identifier missed goes to the model.
 * - Each call has the `deidentifyCall` timeout and the `deidentifier` retries (throttling, 5xx,
 *   network); after them, or on any other failure, `detect` fails with DeidentifierUnavailable:
 *   nothing goes on unscrubbed. The SDK does not retry (`maxAttempts: 1`).
 * - Spans, logs and error messages carry counts and AWS error names only: never the text, an
 *   entity, or AWS's error message (a ValidationException quotes the value it refused).
 */
import type * as ComprehendMedical from "@aws-sdk/client-comprehendmedical"
import { type Duration, Effect, Layer, Schema } from "effect"
import { LLMConfig } from "../../config/llm.js"
import { Deidentifier, DeidentifierUnavailable, type PhiKind, type PhiSpan } from "../../services/deidentifier.js"
import { ErrorInfoId, type OperationTimedOut, transientFailureInfo } from "../../services/errors.js"
import { type RetryPolicyName, type RetrySchedule, Timeouts, withRetry, withTimeout } from "../../services/resilience.js"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, lazyClient, tryAws } from "../aws/sdk.js"

/** The subset of the client we use: tests hand in a mocked one. */
export type ComprehendMedicalSend = Pick<ComprehendMedical.ComprehendMedicalClient, "send">

/** DetectPHI's documented bound: a request's Text must be fewer than this many UTF-8 bytes. */
export const DETECT_PHI_MAX_BYTES = 20_000
/** What one chunk may hold: under the bound with a margin (the quotas page words it as "20 KB"). */
export const CHUNK_BYTES = 19_000

/** How long DetectPHI's refusal keeps the model's requests waiting (as LLMUnavailable's 30 s). */
const RETRY_AFTER_SECONDS = 30

export interface ComprehendMedicalOptions {
  /** Retries of transient failures; the `deidentifier` policy by default. */
  readonly retry?: RetryPolicyName | RetrySchedule
  /** One call's bound; Timeouts.deidentifyCall by default. */
  readonly timeout?: Duration.Input
  /** DetectPHI calls in flight at once, across the texts of one `detect`; 2 by default. */
  readonly concurrency?: number
  /** A chunk's UTF-8 bytes at most; CHUNK_BYTES by default (tests cut smaller). */
  readonly chunkBytes?: number
}

/** One DetectPHI call that failed; transient ones are retried. Its message names the AWS error only. */
export class DetectPhiFailed extends Schema.TaggedError<DetectPhiFailed>()("DetectPhiFailed", {
  message: Schema.String,
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("DEIDENTIFIER_CALL_FAILED", "external", this.transient, 502)
  }
}

const TRANSIENT = new Set([
  "TooManyRequestsException",
  "ThrottlingException",
  "InternalServerException",
  "ServiceUnavailableException",
  "TimeoutError",
  "RequestTimeout"
])

/** The error's name only: AWS's message may quote the text (a ValidationException names the value it refused). */
const classify = (cause: unknown): DetectPhiFailed => {
  const name = awsErrorName(cause)
  const status = awsHttpStatus(cause)
  const transient =
    TRANSIENT.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    // no HTTP answer at all: a network error; missing credentials will not appear by retrying
    (status === undefined && name !== "CredentialsProviderError" && name !== "AbortError")
  return new DetectPhiFailed({ message: `Comprehend Medical DetectPHI failed: ${name}`, transient })
}

// ---------------------------------------------------------------------------------------------
// Chunks

/** A chunk of a text: `text.slice(start, end)`. */
export interface Chunk {
  readonly start: number
  readonly end: number
}

/** UTF-8 bytes of the code point at `i` (a surrogate pair is one 4-byte code point), and its UTF-16 length. */
const codePointAt = (text: string, i: number): { readonly bytes: number; readonly units: number } => {
  const code = text.charCodeAt(i)
  if (code < 0x80) return { bytes: 1, units: 1 }
  if (code < 0x800) return { bytes: 2, units: 1 }
  if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
    const next = text.charCodeAt(i + 1)
    if (next >= 0xdc00 && next <= 0xdfff) return { bytes: 4, units: 2 }
  }
  return { bytes: 3, units: 1 }
}

const utf8Length = (text: string, start: number, end: number): number => {
  let bytes = 0
  for (let i = start; i < end;) {
    const cp = codePointAt(text, i)
    bytes += cp.bytes
    i += cp.units
  }
  return bytes
}

const isBlank = (code: number) => code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x0d || code === 0xa0 || code === 0x3000

/**
 * The text cut into chunks of at most `maxBytes` UTF-8 bytes, covering it in order: whole lines
 * together while they fit; a line longer than `maxBytes` after its last blank that fits (never
 * inside a surrogate pair; mid-word only for a blank-less run that long). Blank chunks are left out.
 */
export const chunksOf = (text: string, maxBytes: number = CHUNK_BYTES): ReadonlyArray<Chunk> => {
  // pieces: the lines (each with its "\n"), long ones cut, each with its byte length
  const pieces: Array<Chunk & { readonly bytes: number }> = []
  for (let lineStart = 0; lineStart < text.length;) {
    const newline = text.indexOf("\n", lineStart)
    const lineEnd = newline === -1 ? text.length : newline + 1
    const bytes = utf8Length(text, lineStart, lineEnd)
    if (bytes <= maxBytes) pieces.push({ start: lineStart, end: lineEnd, bytes })
    else {
      for (let start = lineStart; start < lineEnd;) {
        let i = start
        let size = 0
        let afterBlank = -1
        let sizeAtBlank = 0
        while (i < lineEnd) {
          const cp = codePointAt(text, i)
          if (size + cp.bytes > maxBytes) break
          size += cp.bytes
          i += cp.units
          if (cp.units === 1 && isBlank(text.charCodeAt(i - 1))) {
            afterBlank = i
            sizeAtBlank = size
          }
        }
        // a code point always goes (maxBytes under 4 would otherwise never move on)
        if (i === start) {
          const cp = codePointAt(text, i)
          i += cp.units
          size = cp.bytes
        }
        const cut = i >= lineEnd || afterBlank <= start ? i : afterBlank
        pieces.push({ start, end: cut, bytes: cut === i ? size : sizeAtBlank })
        start = cut
      }
    }
    lineStart = lineEnd
  }
  const chunks: Array<Chunk> = []
  let current: { start: number; end: number; bytes: number } | undefined
  for (const piece of pieces) {
    if (current !== undefined && current.bytes + piece.bytes <= maxBytes) {
      current.end = piece.end
      current.bytes += piece.bytes
    } else {
      if (current !== undefined) chunks.push({ start: current.start, end: current.end })
      current = { ...piece }
    }
  }
  if (current !== undefined) chunks.push({ start: current.start, end: current.end })
  return chunks.filter((chunk) => /\S/.test(text.slice(chunk.start, chunk.end)))
}

/** Lone surrogates as U+FFFD: valid UTF-8 for the service, and the same UTF-16 length (indices hold). */
const wellFormed = (text: string): string => text.replace(/[\uD800-\uDFFF]/gu, "\uFFFD")

/** Code point index → UTF-16 index within `text` (identity when it has no surrogate pair). */
const codePointIndex = (text: string): ((codePoint: number) => number) => {
  if (!/[\uD800-\uDFFF]/.test(text)) return (codePoint) => Math.min(codePoint, text.length)
  const units: Array<number> = []
  for (let i = 0; i < text.length; i += codePointAt(text, i).units) units.push(i)
  units.push(text.length)
  return (codePoint) => units[Math.min(Math.max(codePoint, 0), units.length - 1)]!
}

interface Located {
  readonly type: string
  /** UTF-16 indices in the whole text. */
  readonly start: number
  readonly end: number
}

/**
 * Where an entity is in its chunk, as UTF-16 indices: its offsets as code points (documented), or
 * as UTF-16 units, whichever has the entity's text there; else the occurrence of its text nearest
 * the code-point reading; else that reading as it is (scrubbing more is safer than less).
 */
const locate = (chunk: string, toUnits: (codePoint: number) => number, entity: ComprehendMedical.Entity): { start: number; end: number } | undefined => {
  const begin = entity.BeginOffset
  const end = entity.EndOffset
  const said = entity.Text
  if (begin === undefined || end === undefined || end <= begin || begin < 0) {
    if (said === undefined || said.length === 0) return undefined
    const at = chunk.indexOf(said)
    return at === -1 ? undefined : { start: at, end: at + said.length }
  }
  const asCodePoints = { start: toUnits(begin), end: toUnits(end) }
  if (said === undefined || said.length === 0) return asCodePoints
  for (const candidate of [asCodePoints, { start: begin, end }]) {
    if (chunk.slice(candidate.start, candidate.end) === said) return candidate
  }
  let nearest: number | undefined
  for (let at = chunk.indexOf(said); at !== -1; at = chunk.indexOf(said, at + 1)) {
    if (nearest === undefined || Math.abs(at - asCodePoints.start) < Math.abs(nearest - asCodePoints.start)) nearest = at
  }
  return nearest === undefined ? asCodePoints : { start: nearest, end: nearest + said.length }
}

// ---------------------------------------------------------------------------------------------
// Entity types → PhiKind

/**
 * A record-number label (MRN, medical record, chart, UR, patient id/no/#, MR#): "MRN: 123",
 * "Medical record no. 123", "Chart # 123", "Patient ID 123", "PID 123".
 */
const MRN_LABEL =
  /\bMRN\b|\bmedical\s+rec(?:ord)?\b|\bmed\.?\s*rec\b|\bchart\b|\bpatient\s*(?:id\b|no\b|nr\b|number\b|#)|\bpat\.?\s*(?:id|no|nr)\b|\bPID\b|\bMR\s*(?:#|no\b|nr\b|number\b)|\brecord\s*(?:#|no\b|number\b)/i
/** A unit record (UR) number's label, in capitals only ("ur" is a word elsewhere): "UR 123456", "U.R. No 123456". */
const UR_LABEL = /\bU\.?R\b/
/**
 * A birth label, in the languages lab reports arrive in: "DOB", "D.O.B.", "Date of birth",
 * "born", "geb.", "Geburtsdatum", "Geb.datum", "née le", "date de naissance", "nato il", "data di
 * nascita", "fecha nac.", "fecha de nacimiento", "data de nascimento", "születési dátum", "szül.",
 * "geboortedatum", "data urodzenia", "födelsedatum".
 */
const BIRTH_LABEL =
  /\bD\.?\s?O\.?\s?B\b|birth|\bborn\b|\bgeb\b\.?|\bgeboren|\bgeburt|\bn[ée]e?\s+le\b|naissance|\bnat[oa]\s+il\b|nascit|\bnac\b\.?|nacim|nascimento|\bnasc\b\.?|sz[üu]let|\bsz[üu]l\b\.?|geboorte|urodzeni|f[öo]delse|\bf[öo]dd\b/i

/** How far before an entity, on its line, its label may be (characters). */
const MRN_LABEL_REACH = 30
const BIRTH_LABEL_REACH = 40

/** An age from 90 on (digits, or "ninety…"/"hundred…"): HIPAA Safe Harbor's ages to remove. */
const isAge90OrOver = (text: string): boolean => {
  const numbers = (text.match(/\d+/g) ?? []).map(Number)
  if (numbers.length > 0) return Math.max(...numbers) >= 90
  return /\b(?:ninety|hundred)/i.test(text)
}

/** The text before `start` on its line, back to `reach` characters and never before `floor` (the previous entity's end). */
const before = (text: string, start: number, reach: number, floor: number): string => {
  const lineStart = text.lastIndexOf("\n", start - 1) + 1
  return text.slice(Math.max(lineStart, start - reach, floor), start)
}

const kindOf = (text: string, entity: Located, floor: number): PhiKind | undefined => {
  switch (entity.type) {
    case "NAME":
      return "NAME"
    case "ID":
    case "IDENTIFIER": {
      // the label before it on its line, or inside it ("MRN 123" taken whole)
      const label = before(text, entity.start, MRN_LABEL_REACH, floor) + text.slice(entity.start, entity.end)
      return MRN_LABEL.test(label) || UR_LABEL.test(label) ? "MRN" : "ID"
    }
    case "ADDRESS":
      return "ADDRESS"
    case "PHONE_OR_FAX":
    case "CONTACT_POINT":
      return "PHONE"
    case "EMAIL":
      return "EMAIL"
    case "URL":
      return "URL"
    case "AGE":
      return isAge90OrOver(text.slice(entity.start, entity.end)) ? "AGE" : undefined
    case "DATE":
      return BIRTH_LABEL.test(before(text, entity.start, BIRTH_LABEL_REACH, floor) + text.slice(entity.start, entity.end)) ? "DOB" : undefined
    default:
      // PROFESSION, and whatever else the service adds: kept
      return undefined
  }
}

/** The entities of one text as spans: a label is looked for only after the previous entity on the line. */
const spansOf = (text: string, entities: ReadonlyArray<Located>): Array<PhiSpan> => {
  const sorted = [...entities].sort((a, b) => a.start - b.start || a.end - b.end)
  const spans: Array<PhiSpan> = []
  let floor = 0
  for (const entity of sorted) {
    const kind = kindOf(text, entity, floor)
    if (kind !== undefined) spans.push({ kind, start: entity.start, end: entity.end })
    floor = Math.max(floor, entity.end)
  }
  return spans
}

// ---------------------------------------------------------------------------------------------

export const makeComprehendMedicalDeidentifier = (
  client: ClientSource<ComprehendMedicalSend>,
  options: ComprehendMedicalOptions = {}
): (typeof Deidentifier)["Service"] => {
  const comprehend = Effect.zip(clientFrom(client), AwsSdk.comprehendMedical)
  const timeout = options.timeout ?? Timeouts.deidentifyCall
  const retry = options.retry ?? "deidentifier"
  const chunkBytes = Math.min(options.chunkBytes ?? CHUNK_BYTES, DETECT_PHI_MAX_BYTES - 1)

  /** One chunk's entities, located in the whole text. */
  const detectChunk = (text: string, chunk: Chunk): Effect.Effect<ReadonlyArray<Located>, DetectPhiFailed | OperationTimedOut> => {
    const sent = text.slice(chunk.start, chunk.end)
    return Effect.flatMap(comprehend, ([c, sdk]) =>
      tryAws((abortSignal) => c.send(new sdk.DetectPHICommand({ Text: sent }), { abortSignal }), classify).pipe(
        withTimeout("comprehendmedical.DetectPHI", timeout)
      )
    ).pipe(
      withRetry(retry),
      Effect.map((out) => {
        const toUnits = codePointIndex(sent)
        const located: Array<Located> = []
        for (const entity of out.Entities ?? []) {
          const at = locate(sent, toUnits, entity)
          if (at === undefined || at.end <= at.start) continue
          located.push({ type: entity.Type ?? "", start: chunk.start + at.start, end: chunk.start + at.end })
        }
        return located
      }),
      Effect.tap((located) => Effect.annotateCurrentSpan({ "serenya.deidentify.entities": located.length })),
      Effect.withSpan("comprehendmedical.DetectPHI", {
        kind: "client",
        attributes: { "rpc.system": "aws-api", "rpc.service": "ComprehendMedical", "rpc.method": "DetectPHI" }
      })
    )
  }

  const detect: (typeof Deidentifier)["Service"]["detect"] = (texts) =>
    Effect.suspend(() => {
      const prepared = texts.map(wellFormed)
      const work = prepared.flatMap((text, index) => chunksOf(text, chunkBytes).map((chunk) => ({ index, chunk })))
      return Effect.forEach(work, ({ index, chunk }) => detectChunk(prepared[index]!, chunk), { concurrency: options.concurrency ?? 2 }).pipe(
        Effect.map((found) => {
          const perText: Array<Array<Located>> = texts.map(() => [])
          found.forEach((located, i) => perText[work[i]!.index]!.push(...located))
          return prepared.map((text, i) => spansOf(text, perText[i]!))
        }),
        Effect.tap((spans) =>
          Effect.annotateCurrentSpan({
            "serenya.deidentify.texts": texts.length,
            "serenya.deidentify.chunks": work.length,
            "serenya.deidentify.spans": spans.reduce((n, s) => n + s.length, 0)
          })
        ),
        Effect.tapError((error) =>
          Effect.logWarning("De-identification failed: Comprehend Medical DetectPHI").pipe(
            Effect.annotateLogs({ error: error.message, texts: texts.length, chunks: work.length })
          )
        ),
        Effect.mapError(
          (error) =>
            new DeidentifierUnavailable({
              message: `The identifiers could not be found (${error.message})`,
              retryAfterSeconds: RETRY_AFTER_SECONDS
            })
        )
      )
    }).pipe(Effect.withSpan("Deidentifier.detect", { attributes: { "serenya.deidentify.provider": "aws.comprehendmedical" } }))

  return { provider: "aws.comprehendmedical", detect }
}

/**
 * The Deidentifier on Comprehend Medical, called in the Bedrock Region (BEDROCK_REGION): where the
 * model is called, the text is already allowed to go. The SDK loads, and the client is created, on
 * the first call.
 */
export const DeidentifierComprehendMedical: Layer.Layer<Deidentifier, never, LLMConfig> = Layer.effect(
  Deidentifier,
  Effect.gen(function* () {
    const { bedrockRegion } = yield* LLMConfig
    const client = yield* lazyClient(
      Effect.map(AwsSdk.comprehendMedical, (sdk) => new sdk.ComprehendMedicalClient({ region: bedrockRegion, maxAttempts: 1 }))
    )
    return makeComprehendMedicalDeidentifier(client)
  })
)
