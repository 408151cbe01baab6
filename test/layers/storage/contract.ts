/**
 * The behaviour every Storage layer owes its callers: memory, filesystem and S3 each run this
 * suite, so a program tested on the memory layer behaves the same on disk and on S3. Tests run
 * live (real clock) because two of the layers do real I/O with timeouts and retries.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result, type Layer } from "effect"
import * as fc from "fast-check"
import {
  documentKey,
  InvalidObjectKey,
  type ObjectMetadata,
  ObjectNotFound,
  Storage,
  validateObjectKey
} from "../../../src/services/storage.js"
import { userIdOf } from "../../support/ids.js"

/** Keys the contract must refuse, with what each is trying to do. */
export const INVALID_KEYS: ReadonlyArray<readonly [string, string]> = [
  ["../x", "parent segment"],
  ["a/../../x", "climbing out through a folder"],
  ["/etc/passwd", "absolute path"],
  ["C:\\x", "Windows drive"],
  ["a\\b", "backslash"],
  ["a\u0000b", "NUL byte"],
  ["", "empty key"],
  ["a//b", "empty segment"],
  ["./a", "dot segment"]
]

const KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-".split("")

/** A segment made of key characters that is neither "." nor "..". */
export const segmentArbitrary = fc
  .string({ unit: fc.constantFrom(...KEY_CHARS), minLength: 1, maxLength: 12 })
  .filter((s) => s !== "." && s !== "..")

/** Valid keys: generated segments, and raw strings over the key alphabet plus "/" that the rule accepts. */
export const validKeyArbitrary = fc.oneof(
  fc.array(segmentArbitrary, { minLength: 1, maxLength: 4 }).map((segments) => segments.join("/")),
  fc
    .string({ unit: fc.constantFrom(...KEY_CHARS, "/"), minLength: 1, maxLength: 40 })
    .filter((key) => Result.isSuccess(validateObjectKey(key)))
)

/** Keys with a ".." segment, a NUL byte or a leading "/": all must be refused. */
export const hostileKeyArbitrary = fc.oneof(
  fc
    .tuple(fc.array(segmentArbitrary, { maxLength: 3 }), fc.array(segmentArbitrary, { maxLength: 3 }))
    .map(([before, after]) => [...before, "..", ...after].join("/")),
  fc
    .tuple(validKeyArbitrary, fc.nat())
    .map(([key, at]) => {
      const i = at % (key.length + 1)
      return `${key.slice(0, i)}\u0000${key.slice(i)}`
    }),
  validKeyArbitrary.map((key) => `/${key}`)
)

export const metadata = (overrides: Partial<ObjectMetadata> = {}): ObjectMetadata => ({
  userId: userIdOf("user-1"),
  uploadedAt: new Date("2026-03-01T08:15:30.123Z"),
  contentType: "application/pdf",
  ...overrides
})

const bytesOf = (...values: ReadonlyArray<number>) => Uint8Array.from(values)

// A generic default is what S3 reports for an object stored without a content type.
const DEFAULT_CONTENT_TYPES = [undefined, "binary/octet-stream", "application/octet-stream"]

let suites = 0

export const storageContract = <E>(name: string, makeLayer: () => Layer.Layer<Storage, E>) => {
  const suite = ++suites
  let tests = 0
  // Every test gets a folder of its own, so layers that share a bucket or a folder never see each other's keys.
  const namespace = () => `contract-${suite}-${++tests}`

  const live = (label: string, body: (ns: string) => Effect.Effect<void, unknown, Storage>, timeout?: number) =>
    it.live(label, () => Effect.suspend(() => body(namespace())).pipe(Effect.provide(makeLayer())), timeout)

  describe(`Storage contract: ${name}`, () => {
    live("put then get returns the bytes and the metadata (uploadedAt to the millisecond)", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${ns}/${documentKey("8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9")}`
        const meta = metadata({ userId: userIdOf("user-42"), contentType: "application/pdf" })
        yield* storage.put(key, bytesOf(1, 2, 3), meta)
        const stored = yield* storage.get(key)
        expect(stored.bytes).toEqual(bytesOf(1, 2, 3))
        expect(stored.metadata.userId).toBe(userIdOf("user-42"))
        expect(stored.metadata.uploadedAt).toBeInstanceOf(Date)
        expect(stored.metadata.uploadedAt.getTime()).toBe(meta.uploadedAt.getTime())
        expect(stored.metadata.contentType).toBe("application/pdf")
      }))

    live("an object stored without a content type keeps its user and time", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const { contentType: _, ...withoutType } = metadata()
        yield* storage.put(`${ns}/plain`, bytesOf(9), withoutType)
        const stored = yield* storage.get(`${ns}/plain`)
        expect(stored.metadata.userId).toBe(userIdOf("user-1"))
        expect(stored.metadata.uploadedAt.toISOString()).toBe("2026-03-01T08:15:30.123Z")
        expect(DEFAULT_CONTENT_TYPES).toContain(stored.metadata.contentType)
      }))

    live("binary bytes survive exactly: every byte value, runs of 0x00 and 0xff", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const every = Uint8Array.from({ length: 256 }, (_, i) => i)
        const bytes = new Uint8Array([0, 0, 0, ...every, 0xff, 0xff, 0, 0xff, 0])
        yield* storage.put(`${ns}/binary`, bytes, metadata())
        expect((yield* storage.get(`${ns}/binary`)).bytes).toEqual(bytes)
      }))

    live("an empty object round-trips", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.put(`${ns}/empty`, new Uint8Array(0), metadata())
        const stored = yield* storage.get(`${ns}/empty`)
        expect(stored.bytes).toHaveLength(0)
        expect(yield* storage.exists(`${ns}/empty`)).toBe(true)
      }))

    live("a 1 MiB object round-trips", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const bytes = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff)
        yield* storage.put(`${ns}/large`, bytes, metadata())
        const stored = yield* storage.get(`${ns}/large`)
        expect(stored.bytes.length).toBe(bytes.length)
        expect(Buffer.compare(stored.bytes, bytes)).toBe(0)
      }))

    live("put over an existing key replaces bytes and metadata", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.put(`${ns}/doc`, bytesOf(1, 1, 1, 1), metadata({ userId: userIdOf("first") }))
        const later = new Date("2026-03-02T00:00:00.999Z")
        yield* storage.put(`${ns}/doc`, bytesOf(2), metadata({ userId: userIdOf("second"), uploadedAt: later, contentType: "image/png" }))
        const stored = yield* storage.get(`${ns}/doc`)
        expect(stored.bytes).toEqual(bytesOf(2))
        expect(stored.metadata).toMatchObject({ userId: userIdOf("second"), contentType: "image/png" })
        expect(stored.metadata.uploadedAt.getTime()).toBe(later.getTime())
      }))

    live("exists is true for a stored key and false for any other", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.put(`${ns}/here`, bytesOf(1), metadata())
        expect(yield* storage.exists(`${ns}/here`)).toBe(true)
        expect(yield* storage.exists(`${ns}/elsewhere`)).toBe(false)
        expect(yield* storage.exists(`${ns}/here/below`)).toBe(false)
        expect(yield* storage.exists(`${ns}/her`)).toBe(false)
      }))

    live("get of a key never stored fails with ObjectNotFound naming the key", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const error = yield* Effect.flip(storage.get(`${ns}/never`))
        expect(error).toBeInstanceOf(ObjectNotFound)
        expect(error).toMatchObject({ _tag: "ObjectNotFound", key: `${ns}/never` })
      }))

    live("remove, then get fails with ObjectNotFound and exists is false", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.put(`${ns}/gone`, bytesOf(5), metadata())
        yield* storage.remove(`${ns}/gone`)
        expect(yield* Effect.flip(storage.get(`${ns}/gone`))).toBeInstanceOf(ObjectNotFound)
        expect(yield* storage.exists(`${ns}/gone`)).toBe(false)
        expect(yield* storage.list(`${ns}/`)).toEqual([])
      }))

    live("remove of a key that holds nothing succeeds (idempotent)", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.remove(`${ns}/never-there`)
        yield* storage.put(`${ns}/twice`, bytesOf(1), metadata())
        yield* storage.remove(`${ns}/twice`)
        yield* storage.remove(`${ns}/twice`)
        expect(yield* storage.exists(`${ns}/twice`)).toBe(false)
      }))

    live("a key and a key below it (a, a/b) are separate objects", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.put(`${ns}/a`, bytesOf(1), metadata())
        yield* storage.put(`${ns}/a/b`, bytesOf(2), metadata())
        expect((yield* storage.get(`${ns}/a`)).bytes).toEqual(bytesOf(1))
        expect((yield* storage.get(`${ns}/a/b`)).bytes).toEqual(bytesOf(2))
        yield* storage.remove(`${ns}/a`)
        expect((yield* storage.get(`${ns}/a/b`)).bytes).toEqual(bytesOf(2))
      }))

    live("list returns the keys starting with the prefix, sorted", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const keys = [`${ns}/jobs/b_original`, `${ns}/jobs/a_original`, `${ns}/jobsX`, `${ns}/other/x`, `${ns}/jobs/a/deep`]
        yield* Effect.forEach(keys, (key) => storage.put(key, bytesOf(1), metadata()), { discard: true })
        expect(yield* storage.list(`${ns}/jobs/`)).toEqual([`${ns}/jobs/a/deep`, `${ns}/jobs/a_original`, `${ns}/jobs/b_original`])
        expect(yield* storage.list(`${ns}/jobs/a`)).toEqual([`${ns}/jobs/a/deep`, `${ns}/jobs/a_original`])
        expect(yield* storage.list(`${ns}/jobs`)).toEqual([
          `${ns}/jobs/a/deep`,
          `${ns}/jobs/a_original`,
          `${ns}/jobs/b_original`,
          `${ns}/jobsX`
        ])
        expect(yield* storage.list(`${ns}/`)).toEqual([...keys].sort())
        expect(yield* storage.list(`${ns}/nothing/`)).toEqual([])
        expect(yield* storage.list(`${ns}-nothing`)).toEqual([])
        expect(yield* storage.list("")).toEqual(expect.arrayContaining(keys))
      }))

    live("stored data cannot be changed through the caller's buffers", (ns) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const input = bytesOf(1, 2, 3)
        yield* storage.put(`${ns}/own`, input, metadata())
        input[0] = 99
        const first = yield* storage.get(`${ns}/own`)
        expect(first.bytes).toEqual(bytesOf(1, 2, 3))
        first.bytes[1] = 99
        first.metadata.uploadedAt.setTime(0)
        const second = yield* storage.get(`${ns}/own`)
        expect(second.bytes).toEqual(bytesOf(1, 2, 3))
        expect(second.metadata.uploadedAt.getTime()).toBe(metadata().uploadedAt.getTime())
      }))

    describe("invalid keys are refused with InvalidObjectKey by every operation", () => {
      for (const [key, what] of INVALID_KEYS) {
        live(`${JSON.stringify(key)} (${what})`, () =>
          Effect.gen(function* () {
            const storage = yield* Storage
            const errors = [
              yield* Effect.flip(storage.put(key, bytesOf(1), metadata())),
              yield* Effect.flip(storage.get(key)),
              yield* Effect.flip(storage.exists(key)),
              yield* Effect.flip(storage.remove(key))
            ]
            for (const error of errors) {
              expect(error).toBeInstanceOf(InvalidObjectKey)
              // the message says why, never echoes what was sent
              if (key.length > 1) expect(error.message).not.toContain(key)
            }
          }))
      }

      live("a key over 512 bytes", (ns) =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const key = `${ns}/${"k".repeat(512)}`
          expect(yield* Effect.flip(storage.put(key, bytesOf(1), metadata()))).toBeInstanceOf(InvalidObjectKey)
          expect(yield* Effect.flip(storage.get(key))).toBeInstanceOf(InvalidObjectKey)
        }))

      live("list prefixes that no valid key can start with", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          for (const prefix of ["../", "/", "/etc", "a//", "./", "a/../", "a\u0000", "a\\"]) {
            expect(yield* Effect.flip(storage.list(prefix))).toBeInstanceOf(InvalidObjectKey)
          }
        }))
    })

    live(
      "property: every key validateObjectKey accepts round-trips through put/get/exists/remove",
      (ns) =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const context = yield* Effect.context<never>()
          const check = (key: string, bytes: Uint8Array) =>
            Effect.gen(function* () {
              const full = `${ns}/${key}`
              expect(Result.isSuccess(validateObjectKey(full))).toBe(true)
              yield* storage.put(full, bytes, metadata({ userId: userIdOf(key) }))
              const stored = yield* storage.get(full)
              expect(stored.bytes).toEqual(bytes)
              expect(stored.metadata.userId).toBe(userIdOf(key))
              expect(yield* storage.exists(full)).toBe(true)
              expect(yield* storage.list(`${ns}/`)).toContain(full)
              yield* storage.remove(full)
              expect(yield* storage.exists(full)).toBe(false)
            })
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(validKeyArbitrary, fc.uint8Array({ maxLength: 64 }), (key, bytes) =>
                Effect.runPromiseWith(context)(check(key, bytes))
              ),
              { numRuns: 50 }
            )
          )
        }),
      60_000
    )

    live(
      "property: every key with a '..' segment, a NUL byte or a leading '/' is refused",
      () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const context = yield* Effect.context<never>()
          const check = (key: string) =>
            Effect.gen(function* () {
              expect(Result.isFailure(validateObjectKey(key))).toBe(true)
              expect(yield* Effect.flip(storage.put(key, bytesOf(1), metadata()))).toBeInstanceOf(InvalidObjectKey)
              expect(yield* Effect.flip(storage.get(key))).toBeInstanceOf(InvalidObjectKey)
              expect(yield* Effect.flip(storage.exists(key))).toBeInstanceOf(InvalidObjectKey)
              expect(yield* Effect.flip(storage.remove(key))).toBeInstanceOf(InvalidObjectKey)
            })
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(hostileKeyArbitrary, (key) => Effect.runPromiseWith(context)(check(key))),
              { numRuns: 50 }
            )
          )
        }),
      60_000
    )
  })
}
