/** The account and its GDPR rights: profile, export, erasure; the devices registered for pushes. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Schema } from "effect"
import { Instant } from "../../services/time.js"
import { DeviceId, UserId } from "../../services/ids.js"
import { DevicePlatform, PUSH_TOKEN_MAX_LENGTH, PUSH_TOKEN_PATTERNS } from "../../services/notifications.js"
import { InterpretedDocument } from "../../services/llm.js"
import { MAX_DEVICES_PER_USER } from "../../programs/devices.js"
import { Plan } from "../../programs/subscription.js"
import { errorResponse } from "../errors.js"
import { FhirBundleBody } from "../fhirBody.js"
import { IdFromRequest } from "../schemas.js"
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

/** A job's or upload's `allowImageToModel`, as the upload said it (true when it did not). */
const ALLOW_IMAGE_TO_MODEL = "Whether the upload allowed sending the document to the model as an image (true unless it said false)"

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
    allowImageToModel: Schema.Boolean.annotate({ description: ALLOW_IMAGE_TO_MODEL }),
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
    allowImageToModel: Schema.Boolean.annotate({ description: ALLOW_IMAGE_TO_MODEL }),
    createdAt: Iso,
    expiresAt: Iso,
    /** Set once completed: the job it became. */
    jobId: Schema.NullOr(Schema.String)
  }).annotate({ description: "An upload straight to storage (POST /documents/uploads), under way or completed" })),
  devices: Schema.Array(Schema.Struct({
    deviceId: Schema.String,
    platform: Schema.String,
    createdAt: Iso
  }).annotate({ description: "A device registered for push notifications (POST /me/devices); never its push token" })),
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

/**
 * A push token of its platform's shape, documented as the very pattern it is checked against
 * (services/notifications.ts PUSH_TOKEN_PATTERNS): a request the document allows is never refused
 * for its token, and one it does not is a 400 whose message names the field, never the value.
 */
const pushToken = (platform: DevicePlatform, description: string) => {
  const pattern = PUSH_TOKEN_PATTERNS[platform]
  return Schema.String.check(
    Schema.makeFilter((token: string) => pattern.test(token), {
      // the length is documented too: the body limit is derived from it (routes.ts payloadBound)
      toJsonSchema: () => ({ pattern: pattern.source, maxLength: PUSH_TOKEN_MAX_LENGTH[platform] }),
      arbitraryConstraint: { patterns: [{ source: pattern.source, flags: pattern.flags }] },
      description,
      message: "is not a push token of this platform"
    })
  )
}

export const DeviceRegistration = Schema.Union([
  Schema.Struct({
    platform: Schema.Literal("ios"),
    token: pushToken("ios", "The APNs device token the app got: 64 to 200 hexadecimal digits. Never answered back")
  }).annotate({ description: "An iPhone or iPad" }),
  Schema.Struct({
    platform: Schema.Literal("android"),
    token: pushToken("android", "The FCM registration token the app got: 100 to 4096 of A-Z a-z 0-9 _ : . -. Never answered back")
  }).annotate({ description: "An Android device" })
]).annotate({ identifier: "DeviceRegistration", description: "A device to send push notifications to: its platform and push token" })

export class DeviceBody extends Schema.Class<DeviceBody>("Device")({
  id: DeviceId,
  platform: DevicePlatform,
  createdAt: Instant.annotate({ description: "When the device was first registered" })
}, { description: "A device registered for push notifications (its token and the provider's endpoint are never answered)" }) {}

export class DevicesBody extends Schema.Class<DevicesBody>("Devices")({
  devices: Schema.Array(DeviceBody).annotate({ description: "Oldest first" })
}) {}

export const DevicePath = Schema.Struct({ deviceId: IdFromRequest(DeviceId) })

export const ExportParams = Schema.Struct({
  format: Schema.optionalKey(Schema.Literals(["json", "fhir"]).annotate({
    description: "json (the default): everything held about the user; fhir: the documents, as a FHIR R4 Bundle (application/fhir+json)"
  }))
})

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
      query: ExportParams,
      success: [AccountExportBody, FhirBundleBody],
      error: unavailable
    })
      .annotate(OpenApi.Summary, "Export everything held about the user (JSON), or the health record as a FHIR R4 Bundle (format=fhir)")
  )
  .add(
    HttpApiEndpoint.delete("delete", "/me", {
      error: unavailable
    })
      .annotate(OpenApi.Summary, "Erase the account (204)")
  )
  .add(
    HttpApiEndpoint.post("registerDevice", "/me/devices", {
      payload: DeviceRegistration,
      success: DeviceBody.pipe(HttpApiSchema.status(201)),
      error: errorResponse(503, "The device cannot be registered right now (push provider, database, keys or audit); retry")
    })
      .annotate(OpenApi.Summary, "Register this device for push notifications (201; the same token again answers the same device)")
      .annotate(
        OpenApi.Description,
        "A push says only that a document is ready (or could not be read), with its ids: never anything of the document. " +
          `At most ${MAX_DEVICES_PER_USER} devices per user: one more replaces the least recently registered.`
      )
  )
  .add(
    HttpApiEndpoint.get("devices", "/me/devices", {
      success: DevicesBody,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "The devices registered for push notifications")
  )
  .add(
    HttpApiEndpoint.delete("removeDevice", "/me/devices/:deviceId", {
      params: DevicePath,
      error: unavailable
    })
      .annotate(OpenApi.Summary, "Stop push notifications to a device (204; another user's device is a 404)")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Account")
{}
