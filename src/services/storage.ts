/**
 * The Storage capability: opaque bytes (already sealed by Crypto) under a key, with the few
 * metadata every object carries. One key rule (`validateObjectKey`) is shared by every layer,
 * so a key that works locally works on S3 and no key can name a place outside the store.
 */
import { Context, type Effect, Result, Schema } from "effect"
import { ErrorInfoId, RetryAfterId, transientFailureInfo } from "./errors.js"
import type { UserId } from "./ids.js"

export interface ObjectMetadata {
  readonly userId: UserId
  /** Kept to the millisecond (S3 `upload-timestamp`, ISO 8601). */
  readonly uploadedAt: Date
  /** Absent on put: a backend may report its default instead (S3: `binary/octet-stream`). */
  readonly contentType?: string
}

export interface StoredObject {
  readonly bytes: Uint8Array
  readonly metadata: ObjectMetadata
}

/** Where an uploaded document's sealed original lives until the job has processed it. */
export const documentKey = (jobId: string): string => `jobs/${jobId}_original`

export class InvalidObjectKey extends Schema.TaggedError<InvalidObjectKey>()("InvalidObjectKey", {
  message: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "INVALID_OBJECT_KEY", category: "validation", recovery: "ignore", status: 400 } as const
  }
}

export class ObjectNotFound extends Schema.TaggedError<ObjectNotFound>()("ObjectNotFound", {
  message: Schema.String,
  key: Schema.String
}) {
  get [ErrorInfoId]() {
    return { code: "OBJECT_NOT_FOUND", category: "business", recovery: "ignore", status: 404 } as const
  }
}

export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  message: Schema.String,
  /** Throttling, 5xx and network trouble are worth retrying; a refusal or a misconfiguration is not. */
  transient: Schema.Boolean
}) {
  get [ErrorInfoId]() {
    return transientFailureInfo("STORAGE_UNAVAILABLE", "technical", this.transient, 503)
  }
  get [RetryAfterId]() {
    return 5
  }
}

export const MAX_OBJECT_KEY_BYTES = 512

// Keys are ids joined by "/": this alphabet keeps them portable across S3, file systems and URLs.
const KEY_ALPHABET = /^[A-Za-z0-9._/-]*$/
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

const invalid = (why: string) => Result.fail(new InvalidObjectKey({ message: `Invalid object key: ${why}` }))

/**
 * The one key rule: non-empty, at most 512 bytes, relative, "/"-separated segments that are
 * neither empty nor "." nor "..", made only of `[A-Za-z0-9._-]`. The message says why, never
 * echoes the key.
 */
export const validateObjectKey = (key: string): Result.Result<string, InvalidObjectKey> => {
  if (key.length === 0) return invalid("it is empty")
  if (CONTROL.test(key)) return invalid("it contains a control character")
  if (Buffer.byteLength(key, "utf8") > MAX_OBJECT_KEY_BYTES) return invalid(`it is longer than ${MAX_OBJECT_KEY_BYTES} bytes`)
  if (key.startsWith("/") || key.startsWith("\\") || /^[A-Za-z]:/.test(key)) return invalid("it is an absolute path")
  if (key.includes("\\")) return invalid("it contains a backslash")
  if (!KEY_ALPHABET.test(key)) return invalid("only A-Z, a-z, 0-9, '.', '_', '-' and '/' are allowed")
  for (const segment of key.split("/")) {
    if (segment === "") return invalid("it has an empty segment")
    if (segment === "." || segment === "..") return invalid("it has a '.' or '..' segment")
  }
  return Result.succeed(key)
}

/**
 * A list prefix is valid when some valid key can start with it: "" (everything), "jobs/",
 * "jobs/ab" are; "../", "/x" and "a//" are not.
 */
export const validateObjectKeyPrefix = (prefix: string): Result.Result<string, InvalidObjectKey> =>
  prefix === ""
    ? Result.succeed(prefix)
    : Result.map(validateObjectKey(`${prefix}x`), () => prefix)

export class Storage extends Context.Service<
  Storage,
  {
    /** Stores the object, replacing any object under the same key; readers see the old or the new, never a mix. */
    readonly put: (
      key: string,
      bytes: Uint8Array,
      metadata: ObjectMetadata
    ) => Effect.Effect<void, InvalidObjectKey | StorageUnavailable>
    readonly get: (key: string) => Effect.Effect<StoredObject, ObjectNotFound | InvalidObjectKey | StorageUnavailable>
    /**
     * Removes whatever the key holds, every version of it where the store keeps versions (S3), so
     * nothing stays readable. Idempotent: removing a key that holds nothing succeeds.
     */
    readonly remove: (key: string) => Effect.Effect<void, InvalidObjectKey | StorageUnavailable>
    readonly exists: (key: string) => Effect.Effect<boolean, InvalidObjectKey | StorageUnavailable>
    /** Every key starting with `prefix`, sorted; S3 is paged through to the end. */
    readonly list: (prefix: string) => Effect.Effect<ReadonlyArray<string>, InvalidObjectKey | StorageUnavailable>
  }
>()("serenya/Storage") {}
