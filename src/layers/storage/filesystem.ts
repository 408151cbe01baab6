/**
 * The local layer (the `npm start` default): one file per object under DATA_DIR/objects,
 * holding metadata and bytes together so a single rename publishes both. A key's segments are
 * folders and its last segment names the file, plus a suffix no key can contain: so `a` and
 * `a/b` coexist as on S3, and temporary files (`.tmp-<random>`) can never be taken for objects.
 *
 * File layout: "SOB1" | uint32 BE length of the metadata JSON | metadata JSON | bytes.
 */
import { Effect, Result, Layer, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { AppInfoConfig } from "../../config/app.js"
import { withRetry } from "../../services/resilience.js"
import { UserId } from "../../services/ids.js"
import {
  InvalidObjectKey,
  type ObjectMetadata,
  ObjectNotFound,
  Storage,
  StorageUnavailable,
  type StoredObject,
  validateObjectKey,
  validateObjectKeyPrefix
} from "../../services/storage.js"

/** Appended to every object file; "~" is outside the key alphabet, so no folder or temp file ends with it. */
export const OBJECT_FILE_SUFFIX = "~obj"
export const TEMP_FILE_PREFIX = ".tmp-"

const MAGIC = Buffer.from("SOB1", "latin1")
const HEADER_BYTES = MAGIC.length + 4
const DIRECTORY_MODE = 0o700
const FILE_MODE = 0o600

const StoredMetadata = Schema.Struct({
  userId: UserId,
  // ISO text in the file (4.x's Schema.Date is a Date instance and would refuse it)
  uploadedAt: Schema.DateFromString,
  contentType: Schema.optionalKey(Schema.String)
})
const encodeMetadata = Schema.encodeSync(Schema.fromJsonString(StoredMetadata))
const decodeMetadata = Schema.decodeUnknownResult(Schema.fromJsonString(StoredMetadata))

// Too many open files or a busy device pass; anything else (EACCES, ENOSPC, EROFS, ENOTDIR…) needs a person.
const TRANSIENT_CODES = new Set(["EMFILE", "ENFILE", "EAGAIN", "EBUSY", "EINTR"])

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : "UNKNOWN"

const failure = (operation: string) => (cause: unknown): InvalidObjectKey | StorageUnavailable => {
  const code = errorCode(cause)
  if (code === "ENAMETOOLONG") {
    return new InvalidObjectKey({ message: "Invalid object key: a segment is too long for local storage" })
  }
  return new StorageUnavailable({ message: `Local storage ${operation} failed: ${code}`, transient: TRANSIENT_CODES.has(code) })
}

const attempt = <A>(operation: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: failure(operation) })

const corrupt = new StorageUnavailable({ message: "Local storage get failed: the object file is corrupt", transient: false })

const encodeObject = (bytes: Uint8Array, metadata: ObjectMetadata): Buffer => {
  const json = Buffer.from(
    encodeMetadata({
      userId: metadata.userId,
      uploadedAt: metadata.uploadedAt,
      ...(metadata.contentType !== undefined ? { contentType: metadata.contentType } : {})
    }),
    "utf8"
  )
  const header = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(header, 0)
  header.writeUInt32BE(json.length, MAGIC.length)
  return Buffer.concat([header, json, bytes])
}

const decodeObject = (file: Buffer): Effect.Effect<StoredObject, StorageUnavailable> => {
  if (file.length < HEADER_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) return Effect.fail(corrupt)
  const jsonLength = file.readUInt32BE(MAGIC.length)
  if (HEADER_BYTES + jsonLength > file.length) return Effect.fail(corrupt)
  const decoded = decodeMetadata(file.subarray(HEADER_BYTES, HEADER_BYTES + jsonLength).toString("utf8"))
  if (decoded._tag === "Failure") return Effect.fail(corrupt)
  // A fresh copy: the read buffer may be a slice of Node's shared pool.
  return Effect.succeed({ bytes: new Uint8Array(file.subarray(HEADER_BYTES + jsonLength)), metadata: decoded.success })
}

/** Best-effort cleanup of a temporary file: failing to remove it must not hide the original error. */
const discard = (file: string) => Effect.promise(() => fs.rm(file, { force: true }).catch(() => undefined))

export const makeFilesystemStorage = (root: string): (typeof Storage)["Service"] => {
  const base = path.resolve(root)

  // Validation already rules out escapes; the resolved path is checked again in case that rule ever drifts.
  const fileFor = (key: string): Effect.Effect<string, InvalidObjectKey> =>
    Effect.flatMap(Effect.fromResult(validateObjectKey(key)), (valid) => {
      const file = path.resolve(base, ...valid.split("/")) + OBJECT_FILE_SUFFIX
      const relative = path.relative(base, file)
      return relative === "" || relative.startsWith("..") || path.isAbsolute(relative)
        ? Effect.fail(new InvalidObjectKey({ message: "Invalid object key: it resolves outside the storage folder" }))
        : Effect.succeed(file)
    })

  const write = (file: string, contents: Buffer) =>
    Effect.gen(function* () {
      const directory = path.dirname(file)
      yield* attempt("put", () => fs.mkdir(directory, { recursive: true, mode: DIRECTORY_MODE }))
      const temp = path.join(directory, `${TEMP_FILE_PREFIX}${randomBytes(8).toString("hex")}`)
      yield* Effect.gen(function* () {
        const handle = yield* attempt("put", () => fs.open(temp, "wx", FILE_MODE))
        yield* attempt("put", async () => {
          await handle.writeFile(contents)
          await handle.sync()
        }).pipe(Effect.ensuring(Effect.promise(() => handle.close().catch(() => undefined))))
        yield* attempt("put", () => fs.rename(temp, file))
      }).pipe(Effect.onError(() => discard(temp)))
      // Makes the rename itself durable; some platforms cannot fsync a folder, and the object is already in place.
      yield* Effect.promise(() =>
        fs.open(directory, "r").then((dir) => dir.sync().finally(() => dir.close())).catch(() => undefined)
      )
    }).pipe(
      // A half-done write must finish (or be cleaned up) before an interruption lands.
      Effect.uninterruptible
    )

  const put: (typeof Storage)["Service"]["put"] = (key, bytes, metadata) =>
    Effect.flatMap(fileFor(key), (file) => write(file, encodeObject(bytes, metadata))).pipe(
      withRetry("storage"),
      Effect.withSpan("Storage.put", { attributes: { "storage.provider": "local", "storage.bytes": bytes.length } })
    )

  const get: (typeof Storage)["Service"]["get"] = (key) =>
    Effect.flatMap(fileFor(key), (file) =>
      Effect.tryPromise({
        try: () => fs.readFile(file),
        catch: (cause) =>
          errorCode(cause) === "ENOENT"
            ? new ObjectNotFound({ message: "No object is stored under this key", key })
            : failure("get")(cause)
      })
    ).pipe(
      Effect.flatMap(decodeObject),
      withRetry("storage"),
      Effect.withSpan("Storage.get", { attributes: { "storage.provider": "local" } })
    )

  const remove: (typeof Storage)["Service"]["remove"] = (key) =>
    Effect.flatMap(fileFor(key), (file) =>
      attempt("remove", () =>
        fs.unlink(file).catch((cause: unknown) => {
          if (errorCode(cause) !== "ENOENT") throw cause
        })
      )
    ).pipe(withRetry("storage"), Effect.withSpan("Storage.remove", { attributes: { "storage.provider": "local" } }))

  const exists: (typeof Storage)["Service"]["exists"] = (key) =>
    Effect.flatMap(fileFor(key), (file) =>
      attempt("exists", () =>
        fs.stat(file).then(
          (stats) => stats.isFile(),
          (cause: unknown) => {
            if (errorCode(cause) === "ENOENT") return false
            throw cause
          }
        )
      )
    ).pipe(withRetry("storage"), Effect.withSpan("Storage.exists", { attributes: { "storage.provider": "local" } }))

  /** Keys under `folder` (relative, "/"-separated, "" for the root), depth first; a missing folder holds none. */
  const walk = async (folder: string, keys: Array<string>): Promise<void> => {
    let entries
    try {
      entries = await fs.readdir(path.join(base, ...folder.split("/")), { withFileTypes: true })
    } catch (cause) {
      if (errorCode(cause) === "ENOENT") return
      throw cause
    }
    for (const entry of entries) {
      const name = `${folder}${entry.name}`
      if (entry.isDirectory()) await walk(`${name}/`, keys)
      // temp files, symlinks and stray files are never objects
      else if (entry.isFile() && entry.name.endsWith(OBJECT_FILE_SUFFIX)) {
        const key = name.slice(0, -OBJECT_FILE_SUFFIX.length)
        if (Result.isSuccess(validateObjectKey(key))) keys.push(key)
      }
    }
  }

  const list: (typeof Storage)["Service"]["list"] = (prefix) =>
    Effect.flatMap(Effect.fromResult(validateObjectKeyPrefix(prefix)), (valid) =>
      attempt("list", async () => {
        const keys: Array<string> = []
        // only the folder the prefix names needs walking
        await walk(valid.slice(0, valid.lastIndexOf("/") + 1), keys)
        return keys.filter((key) => key.startsWith(valid)).sort()
      })
    ).pipe(withRetry("storage"), Effect.withSpan("Storage.list", { attributes: { "storage.provider": "local" } }))

  return { put, get, remove, exists, list }
}

/** Objects under DATA_DIR/objects. */
export const StorageFilesystem: Layer.Layer<Storage, never, AppInfoConfig> = Layer.effect(
  Storage,
  Effect.map(AppInfoConfig, (config) => makeFilesystemStorage(path.join(config.dataDir, "objects")))
)
