/** The user's interpreted documents: the timeline, one whole document, and deleting one. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Effect, Schema } from "effect"
import { Instant } from "../../services/time.js"
import { ContentId } from "../../services/ids.js"
import { DocumentType, InterpretedDocument, LLMProviderName, ResultFlag } from "../../services/llm.js"
import { errorResponse } from "../errors.js"
import { FhirBundleBody } from "../fhirBody.js"
import { IdFromRequest, IntegerFromString, Text } from "../schemas.js"
import { Authentication } from "../security.js"

/**
 * How the timeline's query parameters are documented: as the integers they are, not the text they
 * travel as. 4.1.5 documents a parameter from its encoded side (a string) and lets no schema
 * replace that, so openapi.ts puts these in the document (QUERY_PARAMETERS).
 */
export const LIMIT_JSON_SCHEMA = { type: "integer", minimum: 1, maximum: 100, default: 20, description: "Items on the page, 1 to 100 (default 20)" }
export const OFFSET_JSON_SCHEMA = { type: "integer", minimum: 0, default: 0, description: "Items to skip, newest first (default 0)" }

const Limit = IntegerFromString({ minimum: 1, maximum: 100 })
const Offset = IntegerFromString({ minimum: 0 })

export const TimelineParams = Schema.Struct({
  limit: Limit.pipe(Schema.withDecodingDefault(Effect.succeed("20"))),
  offset: Offset.pipe(Schema.withDecodingDefault(Effect.succeed("0")))
})

export const TimelineItem = Schema.Struct({
  contentId: ContentId,
  documentType: DocumentType,
  title: Schema.String,
  summary: Schema.String,
  flaggedCount: Schema.Int.annotate({ description: "Results outside the normal, critical ones included" }),
  criticalCount: Schema.Int.annotate({ description: "Critical values: results someone must act on now (contact a clinician)" }),
  unreadCount: Schema.Int.annotate({
    description: "Lines that look like results but could not be read: the original document is the place to check them"
  }),
  createdAt: Instant
})

export class TimelineBody extends Schema.Class<TimelineBody>("Timeline")({
  items: Schema.Array(TimelineItem),
  total: Schema.Int,
  limit: Schema.Int,
  offset: Schema.Int
}, { description: "Newest first" }) {}

export class ContentBody extends Schema.Class<ContentBody>("Content")({
  contentId: ContentId,
  ...InterpretedDocument.fields,
  provider: LLMProviderName,
  modelId: Schema.String,
  createdAt: Instant
}, { description: "The whole interpreted document" }) {}

export const ContentPath = Schema.Struct({ contentId: IdFromRequest(ContentId) })

export const FhirQuery = Schema.Struct({
  include: Schema.optionalKey(
    Schema.Literal("original").annotate({
      description:
        "original: the uploaded document itself, base64, as the DiagnosticReport's presentedForm (absent for documents read before originals were kept)"
    })
  )
})

export const TrendsQuery = Schema.Struct({
  code: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^\d{1,7}-\d$/u)).annotate({
      description: "A LOINC code: the test's values across the user's documents (a mass/molar pair such as glucose 2345-7/14749-6 counts as one test)"
    })
  ),
  name: Schema.optionalKey(
    Text(1, 200).annotate({
      description: "A test's name, for results without a code: matched whatever its case, punctuation or spacing. Ignored when `code` is given"
    })
  )
})

const TrendPoint = Schema.Struct({
  contentId: ContentId,
  at: Schema.String.annotate({ description: "ISO 8601: the report's collection date as printed, or when the document was stored (`dated`)" }),
  dated: Schema.Literals(["collected", "stored"]),
  name: Schema.String.annotate({ description: "The test's name as this report prints it" }),
  value: Schema.Union([Schema.Finite, Schema.String]),
  unit: Schema.String,
  flag: ResultFlag,
  printed: Schema.optionalKey(
    Schema.Struct({ value: Schema.Finite, unit: Schema.String }).annotate({ description: "Present when the value was converted to the trend's unit: the value and unit as printed" })
  )
}).annotate({ identifier: "TrendPoint" })

export class TrendBody extends Schema.Class<TrendBody>("Trend")({
  code: Schema.optionalKey(Schema.String),
  name: Schema.String,
  unit: Schema.optionalKey(Schema.String.annotate({ description: "The UCUM unit the numeric values are converted to (the most recent value's), where they convert" })),
  points: Schema.Array(TrendPoint).annotate({ description: "Oldest first" })
}, { description: "One test's values across the user's documents" }) {}

export class TrendsBody extends Schema.Class<TrendsBody>("Trends")({
  tests: Schema.Array(Schema.Struct({
    code: Schema.optionalKey(Schema.String),
    name: Schema.String,
    count: Schema.Int,
    latest: TrendPoint
  })).annotate({ description: "Most recent first" })
}, { description: "The tests the user has results of, with how many and the latest" }) {}

const unavailable = errorResponse(503, "The content cannot be read right now; retry")

export class ContentGroup extends HttpApiGroup.make("content")
  .add(
    HttpApiEndpoint.get("timeline", "/content/timeline", {
      query: TimelineParams,
      success: TimelineBody,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "The user's interpreted documents, newest first")
  )
  .add(
    HttpApiEndpoint.get("get", "/content/:contentId", {
      params: ContentPath,
      success: ContentBody,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "One interpreted document: results with ranges and flags, vitals, summary")
  )
  .add(
    HttpApiEndpoint.get("fhir", "/content/:contentId/fhir", {
      params: ContentPath,
      query: FhirQuery,
      success: FhirBundleBody,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "One interpreted document as a FHIR R4 Bundle (application/fhir+json)")
  )
  .add(
    HttpApiEndpoint.get("trends", "/results/trends", {
      query: TrendsQuery,
      success: [TrendBody, TrendsBody],
      error: unavailable
    })
      .annotate(OpenApi.Summary, "A test's values across the user's documents (code or name), or the tests the user has (neither)")
      .annotate(
        OpenApi.Description,
        "With `code` (LOINC) or `name`: that test's values, oldest first, in one unit where they convert (UCUM; glucose and the " +
          "cholesterols also between mg/dL and mmol/L), each with the document it came from. With neither: every test the user has, " +
          "with its count and latest value. With both, `code` decides."
      )
  )
  .add(
    HttpApiEndpoint.delete("delete", "/content/:contentId", {
      params: ContentPath,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "Delete an interpreted document and its conversation (204)")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Content")
{}
