/** The account and its GDPR rights: profile, export, erasure. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { Instant } from "../../services/time.js"
import { UserId } from "../../services/ids.js"
import { InterpretedDocument } from "../../services/llm.js"
import { Plan } from "../../programs/subscription.js"
import { errorResponse } from "../errors.js"
import { Authentication } from "../security.js"

export class ProfileBody extends Schema.Class<ProfileBody>("Profile")({
  id: UserId,
  email: Schema.String,
  name: Schema.NullOr(Schema.String),
  plan: Plan,
  createdAt: Instant
}) {}

/** An instant as the export writes it (Date.prototype.toISOString): text already, documented as a date-time. */
const Iso = Schema.String.annotate({ format: "date-time", description: "An instant, RFC 3339 in UTC" })

export class AccountExportBody extends Schema.Class<AccountExportBody>("AccountExport")({
  exportedAt: Iso,
  profile: Schema.Struct({ id: Schema.String, email: Schema.String, name: Schema.NullOr(Schema.String), plan: Plan, createdAt: Iso }),
  subscription: Schema.Struct({
    plan: Plan,
    period: Schema.Struct({ start: Iso, end: Iso }),
    record: Schema.NullOr(Schema.Struct({ plan: Plan, periodStart: Iso, periodEnd: Iso }))
  }),
  content: Schema.Array(Schema.Struct({
    contentId: Schema.String,
    jobId: Schema.NullOr(Schema.String),
    provider: Schema.String,
    modelId: Schema.String,
    createdAt: Iso,
    document: Schema.toEncoded(InterpretedDocument)
  })),
  conversations: Schema.Array(Schema.Struct({
    conversationId: Schema.String,
    contentId: Schema.String,
    createdAt: Iso,
    messages: Schema.Array(Schema.Struct({ role: Schema.String, content: Schema.String, createdAt: Iso }))
  })),
  jobs: Schema.Array(Schema.Struct({
    jobId: Schema.String,
    status: Schema.String,
    fileName: Schema.NullOr(Schema.String),
    contentType: Schema.String,
    sizeBytes: Schema.Finite,
    documentTypeHint: Schema.NullOr(Schema.String),
    attempts: Schema.Finite,
    errorCode: Schema.NullOr(Schema.String),
    contentId: Schema.NullOr(Schema.String),
    createdAt: Iso,
    updatedAt: Iso,
    completedAt: Schema.NullOr(Iso)
  })),
  uploads: Schema.Array(Schema.Struct({
    uploadId: Schema.String,
    fileName: Schema.NullOr(Schema.String),
    contentType: Schema.String,
    sizeBytes: Schema.Finite,
    documentTypeHint: Schema.NullOr(Schema.String),
    createdAt: Iso,
    expiresAt: Iso,
    /** Set once completed: the job it became. */
    jobId: Schema.NullOr(Schema.String)
  }).annotate({ description: "An upload straight to storage (POST /documents/uploads), under way or completed" })),
  costs: Schema.Array(Schema.Struct({
    occurredAt: Iso,
    provider: Schema.String,
    modelId: Schema.String,
    /** What the call was for: interpreting a document of this type, or a chat answer. */
    documentType: Schema.String,
    inputTokens: Schema.Finite,
    outputTokens: Schema.Finite,
    totalCostCents: Schema.Finite,
    processingTimeMs: Schema.Finite
  }).annotate({ description: "One LLM call made for the user: when, what for, which model, its tokens and its cost in cents" }))
    .annotate({ description: "Every cost record held for the user (from the live cost store), oldest first; erased with the account" })
}, { description: "Everything held about the user, decrypted (GDPR access and portability)" }) {}

const unavailable = errorResponse(503, "The account cannot be read or changed right now; retry")

export class AccountGroup extends HttpApiGroup.make("account")
  .add(
    HttpApiEndpoint.get("profile", "/me", {
      success: ProfileBody,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "The signed-in user's profile")
  )
  .add(
    HttpApiEndpoint.get("export", "/me/export", {
      success: AccountExportBody,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "Export everything held about the user")
  )
  .add(
    HttpApiEndpoint.delete("delete", "/me", {
      error: unavailable
    })
      .annotate(OpenApi.Summary, "Erase the account (204)")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Account")
{}
