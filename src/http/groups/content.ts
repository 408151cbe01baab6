/** The user's interpreted documents: the timeline, one whole document, and deleting one. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Effect, Schema } from "effect"
import { Instant } from "../../services/time.js"
import { ContentId } from "../../services/ids.js"
import { DocumentType, InterpretedDocument, LLMProviderName } from "../../services/llm.js"
import { errorResponse } from "../errors.js"
import { FhirBundleBody } from "../fhirBody.js"
import { IdFromRequest, IntegerFromString } from "../schemas.js"
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
      success: FhirBundleBody,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "One interpreted document as a FHIR R4 Bundle (application/fhir+json)")
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
