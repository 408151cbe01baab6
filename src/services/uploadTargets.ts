/**
 * The UploadTargets capability: a place a client uploads a document to directly, without its
 * bytes passing through our HTTP handlers. On Lambda, API Gateway hands a body to the function
 * base64-encoded inside the 6 MB invocation payload, so `POST /documents/upload` above ~4.4 MiB can never
 * reach us; a target (an S3 presigned POST live) takes the bytes instead, and the program reads
 * them back from it once the client says it is done (programs/presignedUpload.ts).
 *
 * What a target accepts is decided when it is issued: the one key, the exact content type, at
 * most `maxBytes`, the server-side encryption, for a short while. Incoming objects are raw (the
 * client cannot seal with our envelope): they are read, sealed and stored by uploadDocument, then
 * removed; the bucket's lifecycle rule removes whatever is left after a day.
 */
import { Context, type Effect, Schema } from "effect"
import { ErrorInfoId } from "./errors.js"
import type { InvalidObjectKey, StorageUnavailable } from "./storage.js"
import type { PayloadTooLarge } from "./errors.js"

/** The folder of incoming uploads: the bucket's lifecycle rule and the API's grant name it too (deploy/lambda/infra). */
export const INCOMING_PREFIX = "incoming/"

/** Where an incoming upload lives until it is completed (validateObjectKey accepts it). */
export const incomingKey = (uploadId: string): string => `${INCOMING_PREFIX}${uploadId}`

export const DEFAULT_UPLOAD_EXPIRY_SECONDS = 15 * 60
/** A target is a bearer credential for one key: it must not stay usable for long. */
export const MAX_UPLOAD_EXPIRY_SECONDS = 60 * 60

/** Seconds a target stays valid: the default when absent, never more than an hour, at least one. */
export const uploadExpirySeconds = (requested: number | undefined): number =>
  Math.max(1, Math.min(MAX_UPLOAD_EXPIRY_SECONDS, Math.floor(requested ?? DEFAULT_UPLOAD_EXPIRY_SECONDS)))

export interface UploadTargetRequest {
  readonly key: string
  /** The one media type the upload may declare (`Content-Type` must equal it). */
  readonly contentType: string
  /** The most bytes the target takes (at least one). */
  readonly maxBytes: number
  /** Defaults to 15 minutes, at most an hour. */
  readonly expiresInSeconds?: number
}

/** An HTML-form-style POST: send `fields` first, then the file as the form's `file` part, to `url`. */
export interface UploadTarget {
  readonly url: string
  readonly method: "POST"
  readonly fields: Readonly<Record<string, string>>
  readonly expiresAt: Date
}

/** The process was started without a place to upload to directly (the local file-system storage). */
export class UploadsNotConfigured extends Schema.TaggedError<UploadsNotConfigured>()("UploadsNotConfigured", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "UPLOADS_NOT_CONFIGURED", category: "technical", recovery: "escalate", status: 501 } as const
  }
}

/** Nothing (or nothing but an empty object) arrived under the key: the client has not uploaded yet. */
export class UploadNotReceived extends Schema.TaggedError<UploadNotReceived>()("UploadNotReceived", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "UPLOAD_NOT_RECEIVED", category: "business", recovery: "ignore", status: 409 } as const
  }
}

/** The target's time ran out before the upload was completed: begin again. */
export class UploadExpired extends Schema.TaggedError<UploadExpired>()("UploadExpired", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "UPLOAD_EXPIRED", category: "business", recovery: "ignore", status: 410 } as const
  }
}

export class UploadTargets extends Context.Service<
  UploadTargets,
  {
    readonly issue: (
      request: UploadTargetRequest
    ) => Effect.Effect<UploadTarget, UploadsNotConfigured | InvalidObjectKey | StorageUnavailable>
    /**
     * The uploaded bytes. Never holds more than `maxBytes + 1` of them: a larger object fails with
     * PayloadTooLarge as soon as that is known (from its length, or while reading).
     */
    readonly read: (
      key: string,
      maxBytes: number
    ) => Effect.Effect<Uint8Array, UploadNotReceived | PayloadTooLarge | UploadsNotConfigured | InvalidObjectKey | StorageUnavailable>
    /** Removes the object and every version of it; removing nothing succeeds. */
    readonly remove: (key: string) => Effect.Effect<void, UploadsNotConfigured | InvalidObjectKey | StorageUnavailable>
  }
>()("serenya/UploadTargets") {}
