/**
 * The LLM capability: turn a medical document into structured results with a plain-language
 * summary, and answer questions about one interpreted document. Every answer from a model is
 * decoded with these schemas before anything else sees it.
 */
import { Context, Effect, Schema, type Stream } from "effect"
import { ErrorInfoId, RetryAfterId } from "./errors.js"

export const DocumentType = Schema.Literals(["lab_results", "vitals", "report", "other"])
export type DocumentType = typeof DocumentType.Type

export const ResultFlag = Schema.Literals(["low", "normal", "high", "critical_low", "critical_high", "abnormal", "unknown"])
export type ResultFlag = typeof ResultFlag.Type

/**
 * Where a flag came from: `report` (the laboratory printed it: L, H, LL, HH, A, *, +/− with a
 * legend, "High", "CRITICAL", "called to …"), `range` (computed from the printed reference
 * range) or `critical_limit` (the value is beyond the built-in critical limit for the analyte,
 * whatever the report printed).
 */
export const FlagSource = Schema.Literals(["report", "range", "critical_limit"])
export type FlagSource = typeof FlagSource.Type

/** Is this flag a critical value: a result someone must act on now. */
export const isCriticalFlag = (flag: ResultFlag): boolean => flag === "critical_low" || flag === "critical_high"

/** Is this flag outside the normal: low, high, critical or abnormal. */
export const isOutOfRange = (flag: ResultFlag): boolean => flag !== "normal" && flag !== "unknown"

/** A 1-based position in the document: the page (1 for plain text) and the line on it. */
const Position = {
  page: Schema.optionalKey(Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))),
  line: Schema.optionalKey(Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0))))
}

/** A reference range as printed (`text`), with its numeric bounds when it has them. */
export class ReferenceRange extends Schema.Class<ReferenceRange>("ReferenceRange")({
  low: Schema.optionalKey(Schema.Finite),
  high: Schema.optionalKey(Schema.Finite),
  text: Schema.String
}) {}

/**
 * How a value read from an image (a photo, a scanned page) was read by OCR: the confidence of
 * the words on its line, whether a misread name, unit, digit or decimal point was repaired, and
 * whether to check the original before acting on it. Absent for text and for a model's answer.
 */
export class OcrReading extends Schema.Class<OcrReading>("OcrReading")({
  /** 0–1: the least confidence of the words on the value's line. */
  confidence: Schema.Finite.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  corrected: Schema.Boolean,
  /** Low confidence or repaired: the app asks the user to compare it with the original. */
  needsReview: Schema.Boolean
}) {}

export class LabResult extends Schema.Class<LabResult>("LabResult")({
  name: Schema.Trimmed.check(Schema.isNonEmpty()),
  /** A number when the report gives one; text for values like "positive" or "see note". */
  value: Schema.Union([Schema.Finite, Schema.String]),
  unit: Schema.String,
  referenceRange: ReferenceRange,
  flag: ResultFlag,
  flagSource: Schema.optionalKey(FlagSource),
  /** The LOINC code of the test, when the name is one the reader knows (e.g. 2823-3 for serum potassium). */
  loinc: Schema.optionalKey(Schema.String.pipe(Schema.check(Schema.isPattern(/^\d{1,7}-\d$/u)))),
  /** The unit in UCUM (e.g. `10*3/uL` for a printed `K/uL`), when the printed unit is one. */
  ucumUnit: Schema.optionalKey(Schema.String.pipe(Schema.check(Schema.isMaxLength(64)))),
  /** Present when the value was read from an image by OCR (offline provider). */
  ocr: Schema.optionalKey(OcrReading),
  ...Position
}) {}

/**
 * A line that looks like it holds a result (a known test name, a number with a unit, a flag) but
 * could not be read as one, or that a model's answer left out. Kept with the document so that
 * nothing is dropped in silence: the app shows it and points to the original.
 */
export class UnreadLine extends Schema.Class<UnreadLine>("UnreadLine")({
  page: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0))),
  line: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0))),
  /** The line as printed (trimmed, at most 300 characters). */
  text: Schema.String.pipe(Schema.check(Schema.isMaxLength(300)))
}) {}

export const VitalKind = Schema.Literals(["blood_pressure", "pulse", "spo2", "temperature", "weight"])
export type VitalKind = typeof VitalKind.Type

export class VitalSign extends Schema.Class<VitalSign>("VitalSign")({
  kind: VitalKind,
  /** ISO 8601 date or date-time as read from the document. */
  time: Schema.String,
  /** Blood pressure: systolic; everything else: the value. */
  value: Schema.Finite,
  /** Blood pressure only. */
  diastolic: Schema.optionalKey(Schema.Finite),
  unit: Schema.String,
  /** Present when the reading was read from an image by OCR (offline provider). */
  ocr: Schema.optionalKey(OcrReading),
  ...Position
}) {}

export class InterpretedDocument extends Schema.Class<InterpretedDocument>("InterpretedDocument")({
  documentType: DocumentType,
  title: Schema.Trimmed.check(Schema.isNonEmpty()),
  /** When the sample or measurement was taken, if the document says (ISO 8601). */
  collectedAt: Schema.optionalKey(Schema.String),
  results: Schema.Array(LabResult),
  vitals: Schema.Array(VitalSign),
  /** Lines that look like results but were not read (see UnreadLine); absent in documents stored before they were counted. */
  // An absent key, never null (as documented); the default is a Type value, so the encoded side
  // keeps UnreadLine, which the document names.
  unreadLines: Schema.Array(UnreadLine).pipe(
    Schema.withDecodingDefaultTypeKey(Effect.succeed([])),
    Schema.withConstructorDefault(Effect.succeed([]))
  ),
  /** Plain language, not a diagnosis; tells the reader to talk to a clinician when anything is flagged. */
  summary: Schema.Trimmed.check(Schema.isNonEmpty())
}) {}

/**
 * What the summary and the chat say first when a document holds critical values: which ones, and
 * to act now. Worded once here, so every provider says the same and tests can find it.
 */
export const criticalNotice = (document: { readonly results: ReadonlyArray<LabResult> }): string | undefined => {
  const critical = document.results.filter((r) => isCriticalFlag(r.flag))
  if (critical.length === 0) return undefined
  const listed = critical
    .slice(0, 5)
    .map((r) => `${r.name} ${String(r.value)}${r.unit === "" ? "" : r.unit === "%" ? "%" : ` ${r.unit}`}`)
    .join(", ")
  const more = critical.length > 5 ? ` and ${critical.length - 5} more` : ""
  const which = critical.length === 1 ? "a critical value" : `${critical.length} critical values`
  return (
    `Important: this document has ${which} (${listed}${more}). ` +
    `${CRITICAL_ACTION}`
  )
}

/**
 * Wording that calls a whole document normal. Examples it matches: "All results are within the
 * normal range", "all of your values look normal", "Everything looks fine", "Nothing is
 * abnormal", "no abnormal results", "results are unremarkable". It leaves alone what is true
 * beside a flag: "All other results are within range", "9 are within the reference range".
 */
export const REASSURANCE: ReadonlyArray<RegExp> = [
  // "All results are within …", "all of your values look normal", "every test came back normal"
  /\b(?:all|every)\b(?!\s+(?:other|the\s+other|remaining|the\s+remaining|else)\b)(?:\s+[\w-]+){0,4}?\s+(?:are|were|is|was|look|looks|came\s+back|fall|falls|lie|lies|appear|appears)\s+(?:[\w-]+\s+){0,3}?(?:normal|within|in\s+range|fine|good|healthy|unremarkable|reassuring|ok|okay)\b/i,
  // "Everything looks fine", "everything is normal"
  /\beverything\b(?:\s+[\w-]+){0,3}?\s+(?:normal|within|in\s+range|fine|good|healthy|unremarkable|reassuring|ok|okay)\b/i,
  // "Nothing is abnormal", "nothing was flagged", "nothing of concern"
  /\bnothing\s+(?:is\s+|was\s+|looks\s+|appears\s+)?(?:abnormal|flagged|concerning|of\s+concern|out\s+of\s+range|worrying)\b/i,
  // "no abnormal results", "no flagged values", "no concerns"
  /\bno\s+(?:abnormal|flagged|concerning|out-of-range|worrying)\b|\bno\s+(?:concerns?|abnormalities)\b/i,
  // "Your results are in range", "the values were fine", "your labs look good"
  /\b(?:your|the|these|those)\s+(?:[\w-]+\s+){0,2}?(?:results?|values?|tests?|labs?|numbers?|levels?)\s+(?:are|were|is|was|look|looks|came\s+back|appear|appears)\s+(?:all\s+)?(?:normal|within|in\s+range|fine|good|healthy|ok|okay|reassuring)\b/i,
  // "results are unremarkable", "a normal report"
  /\bunremarkable\b|\bnormal\s+(?:report|results|panel)\b/i
]

export const soundsReassuring = (summary: string): boolean => REASSURANCE.some((pattern) => pattern.test(summary))

/** The action part of the critical notice, also what tests look for. */
export const CRITICAL_ACTION =
  "Critical values can need urgent care: contact your clinician now, or emergency services if you cannot reach them or feel unwell."

export class TokenUsage extends Schema.Class<TokenUsage>("TokenUsage")({
  inputTokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  outputTokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
}) {}

/** Who answered: `aws.bedrock` live, `offline` locally and in tests. */
export const LLMProviderName = Schema.Literals(["aws.bedrock", "offline", "test"])
export type LLMProviderName = typeof LLMProviderName.Type

export interface Interpretation {
  readonly document: InterpretedDocument
  readonly usage: TokenUsage
  readonly provider: LLMProviderName
  readonly modelId: string
}

export const ChatRole = Schema.Literals(["user", "assistant"])
export type ChatRole = typeof ChatRole.Type

export interface ChatTurn {
  readonly role: ChatRole
  readonly content: string
}

export interface ChatAnswer {
  readonly answer: string
  readonly usage: TokenUsage
  readonly provider: LLMProviderName
  readonly modelId: string
}

/**
 * One piece of a streamed answer: text as the model produces it (`delta`, in order, never
 * empty), then, once, the whole answer (`end`: its text is the deltas joined, trimmed, with the
 * usage of every call the stream made). A stream that fails has no `end`.
 */
export type ChatStreamPart =
  | { readonly _tag: "delta"; readonly text: string }
  | { readonly _tag: "end"; readonly answer: ChatAnswer }

/**
 * One test of the document across the user's documents (programs/trends.ts), for questions about
 * change ("how has my LDL changed?"): oldest first, in one unit where the values convert.
 */
export interface ChatTrend {
  readonly name: string
  readonly code?: string | undefined
  readonly points: ReadonlyArray<{
    readonly at: string
    readonly value: number | string
    readonly unit: string
    readonly flag: ResultFlag
    /** This point is the document's own result. */
    readonly current: boolean
  }>
}

/** What a chat question is asked with (`chat` and `chatStream` alike). */
export interface ChatInput {
  readonly document: InterpretedDocument
  readonly history: ReadonlyArray<ChatTurn>
  readonly question: string
  /** The document's tests that the user has in more than one document, across them (none: no earlier values). */
  readonly trends?: ReadonlyArray<ChatTrend>
  /** Whose conversation: what a layer keeps of the answer (a fallback cache) is kept per user, for erasure. */
  readonly userId?: string
  /** Told of every model call's tokens as it returns (a cached answer costs nothing and reports nothing). */
  readonly onUsage?: UsageSink
}

/** What a document's bytes are, as detected from the bytes themselves. */
export const DocumentContentType = Schema.Literals(["application/pdf", "image/jpeg", "image/png", "text/plain"])
export type DocumentContentType = typeof DocumentContentType.Type

// ---------------------------------------------------------------------------------------------
// Errors

/** The model's output did not decode, even after one repair attempt. */
export class LLMInvalidOutput extends Schema.TaggedError<LLMInvalidOutput>()("LLMInvalidOutput", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "LLM_INVALID_OUTPUT", category: "external", recovery: "escalate", status: 502 } as const
  }
}

/** The model cannot be reached (throttled, down, breaker open) and no cached answer exists. */
export class LLMUnavailable extends Schema.TaggedError<LLMUnavailable>()("LLMUnavailable", {
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

/**
 * The model service refused a request that was ours to get right: a model id that is invalid,
 * retired or needs an inference profile, access not granted, a parameter the model does not take,
 * or an answer its content filter withheld. Documents are checked against the model's limits before
 * any call, so this is never the user's document's fault: it is technical and escalated (the breaker
 * counts it, the technical-errors alarm sees it), the user is told we could not process it right
 * now, and a job is retried later while `retryLater` (configuration can be fixed; a filter will
 * withhold the same answer again). `reason` is the operator's code: MODEL_ID_INVALID,
 * INFERENCE_PROFILE_REQUIRED, MODEL_END_OF_LIFE, MODEL_ACCESS_DENIED, REQUEST_NOT_SUPPORTED, …
 */
export class LLMRequestRejected extends Schema.TaggedError<LLMRequestRejected>()("LLMRequestRejected", {
  message: Schema.String,
  reason: Schema.String,
  retryLater: Schema.Boolean,
  /** How long a retry should wait: long enough for a person to fix a setting or grant access (default 60 s). */
  retryAfterSeconds: Schema.Finite.pipe(
    Schema.withDecodingDefault(Effect.succeed(60)),
    Schema.withConstructorDefault(Effect.succeed(60))
  )
}) {
  get [ErrorInfoId]() {
    return { code: "LLM_REQUEST_REJECTED", category: "technical", recovery: "escalate", status: 503 } as const
  }
  get [RetryAfterId]() {
    return this.retryAfterSeconds
  }
}

/** The model stopped at its output limit even with the largest budget: a cut-off answer is never used. */
export class LLMOutputTruncated extends Schema.TaggedError<LLMOutputTruncated>()("LLMOutputTruncated", {
  message: Schema.String,
  maxTokens: Schema.Number
}) {
  get [ErrorInfoId]() {
    return { code: "LLM_OUTPUT_TRUNCATED", category: "technical", recovery: "escalate", status: 502 } as const
  }
}

/** What asking a question can fail with. */
export type ChatError = LLMInvalidOutput | LLMUnavailable | LLMRequestRejected | LLMOutputTruncated

/** One model call's tokens, reported as soon as the call returns (see `onUsage`). */
export interface ModelCall {
  readonly usage: TokenUsage
  readonly provider: LLMProviderName
  readonly modelId: string
  readonly elapsedMs: number
}

/**
 * Where a provider reports every call that consumed tokens, as it happens: a call whose operation
 * later fails, is repaired or times out is paid for too, so it is recorded too. Run uninterruptibly.
 */
export type UsageSink = (call: ModelCall) => Effect.Effect<void>

/** Tells the sink, if any, of one call; never interrupted halfway (tokens spent are recorded or not, never half). */
export const reportUsage = (sink: UsageSink | undefined, call: ModelCall): Effect.Effect<void> =>
  sink === undefined ? Effect.void : Effect.uninterruptible(sink(call))

/** The document cannot be interpreted by this provider (an image offline, an unreadable PDF). */
export class DocumentUnreadable extends Schema.TaggedError<DocumentUnreadable>()("DocumentUnreadable", {
  message: Schema.String,
  /** A stable reason code, stored on the failed job: IMAGE_UNREADABLE, IMAGE_NO_TEXT, IMAGE_WITHHELD, PDF_UNREADABLE, NO_TEXT, … */
  reason: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "DOCUMENT_UNREADABLE", category: "validation", recovery: "ignore", status: 422 } as const
  }
}

/** Which bound a document went over: see src/layers/llm/pdfText.ts for what each one measures. */
export const ComplexityLimit = Schema.Literals(["pages", "decoded_bytes", "text_items", "text_length", "memory", "time", "scan_pixels", "scan_pages"])
export type ComplexityLimit = typeof ComplexityLimit.Type

/**
 * The document is over one of the bounds on what reading it may cost (pages, decoded bytes,
 * text, memory, time). Permanent: the same bytes go over the same bound again, so the job fails
 * at once (DOCUMENT_TOO_COMPLEX) instead of being retried. (Time is the one bound a busy machine
 * moves; the others keep a document's reading to a small fraction of it.)
 */
export class DocumentTooComplex extends Schema.TaggedError<DocumentTooComplex>()("DocumentTooComplex", {
  message: Schema.String,
  limit: ComplexityLimit
}) {
  get [ErrorInfoId]() {
    return { code: "DOCUMENT_TOO_COMPLEX", category: "validation", recovery: "ignore", status: 422 } as const
  }
}

export class LLM extends Context.Service<
  LLM,
  {
    readonly interpret: (input: {
      readonly bytes: Uint8Array
      readonly contentType: DocumentContentType
      readonly documentTypeHint?: DocumentType
      /** false: a document the model could read only as an image fails (DocumentUnreadable IMAGE_WITHHELD) instead of being sent; default true */
      readonly allowImageToModel?: boolean
      /** Whose document: what a layer keeps of the answer (a fallback cache) is kept per user, for erasure. */
      readonly userId?: string
      /** Told of every model call's tokens as it returns (a cached answer costs nothing and reports nothing). */
      readonly onUsage?: UsageSink
    }) => Effect.Effect<
      Interpretation,
      LLMInvalidOutput | LLMUnavailable | LLMRequestRejected | LLMOutputTruncated | DocumentUnreadable | DocumentTooComplex
    >
    /** Answers about this one document only: no diagnosis, no dosing, and says when it does not know. */
    readonly chat: (input: ChatInput) => Effect.Effect<ChatAnswer, ChatError>
    /**
     * The same answer as `chat`, as the model produces it (see ChatStreamPart). Usage goes to
     * `onUsage` once per model call, from the call's own final usage when it ends. A consumer that
     * stops early (the client went away) interrupts the stream: the model call is aborted at once,
     * so no further tokens are produced, and what it had consumed is reported to `onUsage` as an
     * estimate (input from the request's size, output from the text received) since a cut stream
     * carries no usage of its own.
     */
    readonly chatStream: (input: ChatInput) => Stream.Stream<ChatStreamPart, ChatError>
    /** Drops every answer kept for the user (erasure); a layer that keeps none does nothing. */
    readonly forgetUser: (userId: string) => Effect.Effect<void>
  }
>()("serenya/LLM") {}
