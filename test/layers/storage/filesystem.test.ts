/**
 * The local layer against the shared contract on a temporary folder, plus what only a file
 * system can get wrong: file modes, atomic publication (no torn reads, no temp files left or
 * listed), failures that must be typed errors, and nothing ever written outside the root.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { AppInfoConfig } from "../../../src/config/app.js"
import {
  makeFilesystemStorage,
  OBJECT_FILE_SUFFIX,
  StorageFilesystem,
  TEMP_FILE_PREFIX
} from "../../../src/layers/storage/filesystem.js"
import { InvalidObjectKey, ObjectNotFound, Storage, StorageUnavailable } from "../../../src/services/storage.js"
import { testConfigProvider } from "../../support/settings.js"
import { hostileKeyArbitrary, INVALID_KEYS, metadata, storageContract } from "./contract.js"
import { userIdOf } from "../../support/ids.js"

let tmp = ""
let roots = 0
/** A fresh folder `tmp/<n>/objects`: each test's root has a parent nobody else writes to. */
const freshRoot = () => path.join(tmp, String(++roots), "objects")

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-storage-fs-"))
})
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true })
})

storageContract("filesystem", () => Layer.succeed(Storage, makeFilesystemStorage(freshRoot())))

/** Every path under `dir` (relative, sorted), folders marked with a trailing "/". */
const tree = async (dir: string): Promise<ReadonlyArray<string>> => {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)) + (e.isDirectory() ? "/" : ""))
    .sort()
}

const withRoot = <A, E>(body: (root: string, storage: (typeof Storage)["Service"]) => Effect.Effect<A, E>) =>
  Effect.suspend(() => {
    const root = freshRoot()
    return body(root, makeFilesystemStorage(root))
  })

describe("filesystem storage", () => {
  it.live("an object is one file named after its key, mode 0600, in folders of mode 0700", () =>
    withRoot((root, storage) =>
      Effect.gen(function* () {
        yield* storage.put("jobs/abc_original", Uint8Array.of(1, 2, 3), metadata())
        const file = path.join(root, "jobs", `abc_original${OBJECT_FILE_SUFFIX}`)
        const stat = yield* Effect.promise(() => fs.stat(file))
        expect(stat.mode & 0o777).toBe(0o600)
        for (const dir of [root, path.join(root, "jobs")]) {
          expect((yield* Effect.promise(() => fs.stat(dir))).mode & 0o777).toBe(0o700)
        }
        expect(yield* Effect.promise(() => tree(root))).toEqual(["jobs/", `jobs/abc_original${OBJECT_FILE_SUFFIX}`])
        // metadata and bytes travel in the same file: the bytes are its tail
        const contents = yield* Effect.promise(() => fs.readFile(file))
        expect([...contents.subarray(-3)]).toEqual([1, 2, 3])
      })
    ))

  it.live("no temporary file is left after many puts, overwrites and removes", () =>
    withRoot((root, storage) =>
      Effect.gen(function* () {
        const keys = Array.from({ length: 20 }, (_, i) => `jobs/${i % 5}/doc-${i % 7}`)
        yield* Effect.forEach(keys, (key, i) => storage.put(key, new Uint8Array(1000).fill(i), metadata()), {
          concurrency: 8,
          discard: true
        })
        yield* storage.remove("jobs/0/doc-0")
        const leftovers = (yield* Effect.promise(() => tree(root))).filter((p) => path.basename(p).startsWith(TEMP_FILE_PREFIX))
        expect(leftovers).toEqual([])
      })
    ))

  it.live("temporary files are never objects: not listed, not found, not existing", () =>
    withRoot((root, storage) =>
      Effect.gen(function* () {
        yield* storage.put("jobs/real", Uint8Array.of(1), metadata())
        // what a crash between write and rename leaves behind
        const stray = path.join(root, "jobs", `${TEMP_FILE_PREFIX}0123456789abcdef`)
        yield* Effect.promise(() => fs.copyFile(path.join(root, "jobs", `real${OBJECT_FILE_SUFFIX}`), stray))
        expect(yield* storage.list("")).toEqual(["jobs/real"])
        expect(yield* storage.exists(`jobs/${TEMP_FILE_PREFIX}0123456789abcdef`)).toBe(false)
        expect(yield* Effect.flip(storage.get(`jobs/${TEMP_FILE_PREFIX}0123456789abcdef`))).toBeInstanceOf(ObjectNotFound)
        // a key that merely looks like a temp file is an ordinary object
        yield* storage.put(`jobs/${TEMP_FILE_PREFIX}x`, Uint8Array.of(2), metadata())
        expect(yield* storage.list("jobs/")).toEqual([`jobs/${TEMP_FILE_PREFIX}x`, "jobs/real"])
      })
    ))

  it.live("readers racing writers see a whole old or a whole new object, never a mix", () =>
    withRoot((_, storage) =>
      Effect.gen(function* () {
        const key = "jobs/raced_original"
        const version = (n: number) => new Uint8Array(256 * 1024).fill(n)
        yield* storage.put(key, version(0), metadata({ userId: userIdOf("v0") }))
        const writers = Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i + 1),
          (n) => storage.put(key, version(n), metadata({ userId: userIdOf(`v${n}`) })),
          { concurrency: 4, discard: true }
        )
        const readers = Effect.forEach(
          Array.from({ length: 60 }),
          () =>
            Effect.map(storage.get(key), ({ bytes, metadata }) => {
              const n = bytes[0] ?? -1
              expect(bytes.length).toBe(256 * 1024)
              expect(bytes.every((b) => b === n)).toBe(true)
              expect(metadata.userId).toBe(userIdOf(`v${n}`))
            }),
          { concurrency: 4, discard: true }
        )
        yield* Effect.all([writers, readers], { concurrency: 2, discard: true })
      })
    ))

  it.live("a root that is a regular file: every operation fails with StorageUnavailable, not a defect", () =>
    Effect.gen(function* () {
      const root = freshRoot()
      yield* Effect.promise(() => fs.mkdir(path.dirname(root), { recursive: true }))
      yield* Effect.promise(() => fs.writeFile(root, "not a folder"))
      const storage = makeFilesystemStorage(root)
      const exits: ReadonlyArray<Exit.Exit<unknown, unknown>> = [
        yield* Effect.exit(storage.put("jobs/a_original", Uint8Array.of(1), metadata())),
        yield* Effect.exit(storage.get("jobs/a_original")),
        yield* Effect.exit(storage.exists("jobs/a_original")),
        yield* Effect.exit(storage.remove("jobs/a_original")),
        yield* Effect.exit(storage.list("jobs/"))
      ]
      for (const exit of exits) {
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(false)
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
        expect(error).toBeInstanceOf(StorageUnavailable)
        expect(error).toMatchObject({ transient: false })
      }
      expect(yield* Effect.promise(() => fs.readFile(root, "utf8"))).toBe("not a folder")
    }))

  it.live("a corrupt object file is StorageUnavailable (escalate), not garbage", () =>
    withRoot((root, storage) =>
      Effect.gen(function* () {
        yield* storage.put("jobs/a", Uint8Array.of(1), metadata())
        yield* Effect.promise(() => fs.writeFile(path.join(root, "jobs", `a${OBJECT_FILE_SUFFIX}`), "garbage"))
        const error = yield* Effect.flip(storage.get("jobs/a"))
        expect(error).toBeInstanceOf(StorageUnavailable)
        expect(error).toMatchObject({ transient: false })
      })
    ))

  it.live("an object file whose user id is not a UUID is StorageUnavailable (escalate), not someone's object", () =>
    withRoot((root, storage) =>
      Effect.gen(function* () {
        yield* storage.put("jobs/b", Uint8Array.of(1), metadata())
        const file = path.join(root, "jobs", `b${OBJECT_FILE_SUFFIX}`)
        const original = yield* Effect.promise(() => fs.readFile(file, "latin1"))
        const forged = original.replace(metadata().userId, "not-a-user-id-at-all-000000000000000")
        expect(forged).not.toBe(original)
        yield* Effect.promise(() => fs.writeFile(file, forged, "latin1"))
        const error = yield* Effect.flip(storage.get("jobs/b"))
        expect(error).toBeInstanceOf(StorageUnavailable)
        expect(error).toMatchObject({ transient: false })
      })
    ))

  it.live("a segment longer than the file system allows is an InvalidObjectKey", () =>
    withRoot((_, storage) =>
      Effect.gen(function* () {
        const key = `jobs/${"x".repeat(300)}`
        expect(yield* Effect.flip(storage.put(key, Uint8Array.of(1), metadata()))).toBeInstanceOf(InvalidObjectKey)
        expect(yield* Effect.flip(storage.get(key))).toBeInstanceOf(InvalidObjectKey)
      })
    ))

  it.live("invalid keys create nothing, inside or outside the root", () =>
    withRoot((root, storage) =>
      Effect.gen(function* () {
        const parent = path.dirname(root)
        yield* storage.put("jobs/existing", Uint8Array.of(1), metadata())
        const before = yield* Effect.promise(() => tree(parent))
        const attempt = (key: string) =>
          Effect.gen(function* () {
            expect(yield* Effect.flip(storage.put(key, Uint8Array.of(6, 6, 6), metadata()))).toBeInstanceOf(InvalidObjectKey)
            expect(yield* Effect.flip(storage.remove(key))).toBeInstanceOf(InvalidObjectKey)
          })
        const extra = ["../objects-sibling", "../../x", "jobs/../../escape", "/tmp/serenya-escape", "..\\x", "jobs/\u0000"]
        yield* Effect.forEach([...INVALID_KEYS.map(([key]) => key), ...extra], attempt, { discard: true })
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(hostileKeyArbitrary, (key) => Effect.runPromise(attempt(key))),
            { numRuns: 50 }
          )
        )
        expect(yield* Effect.promise(() => tree(parent))).toEqual(before)
        expect(yield* Effect.promise(() => fs.access("/tmp/serenya-escape~obj").then(() => true, () => false))).toBe(false)
      })
    ))

  it.live("StorageFilesystem keeps objects under DATA_DIR/objects", () =>
    Effect.gen(function* () {
      const dataDir = path.join(tmp, "data-dir")
      const storage = yield* Storage
      yield* storage.put("jobs/j1_original", Uint8Array.of(7), metadata())
      expect(yield* Effect.promise(() => tree(dataDir))).toEqual([
        "objects/",
        "objects/jobs/",
        `objects/jobs/j1_original${OBJECT_FILE_SUFFIX}`
      ])
    }).pipe(
      Effect.provide(
        StorageFilesystem.pipe(Layer.provide(AppInfoConfig.layer), Layer.provide(testConfigProvider({ DATA_DIR: path.join(tmp, "data-dir") })))
      )
    ))
})
