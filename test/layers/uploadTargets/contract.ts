/**
 * What every UploadTargets layer owes its callers, run against the memory layer and against S3
 * (s3rver): a target is a POST for one key with the declared type, valid for at most an hour; what
 * was uploaded reads back byte for byte, never beyond the bound asked for; nothing uploaded (or an
 * empty object) is UploadNotReceived; removal is idempotent. `upload` plays the client: it sends
 * bytes to a target the way each layer receives them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import { incomingKey, type UploadTarget, UploadTargets } from "../../../src/services/uploadTargets.js"

export type Upload = (target: UploadTarget, bytes: Uint8Array, contentType: string) => Effect.Effect<void, unknown, never>

const failureTag = (effect: Effect.Effect<unknown, { readonly _tag: string }>) =>
  Effect.map(Effect.result(effect), (result) => (result._tag === "Failure" ? result.failure._tag : "succeeded"))

export const uploadTargetsContract = (name: string, layer: () => Layer.Layer<UploadTargets>, upload: Upload) =>
  describe(`UploadTargets contract: ${name}`, () => {
    it.live("a target is a POST to one key with the declared type; what is uploaded reads back as it was, then is removed", () =>
      Effect.gen(function* () {
        const targets = yield* UploadTargets
        const key = incomingKey(randomUUID())
        const bytes = new Uint8Array(randomBytes(70_000))
        const before = Date.now()
        const target = yield* targets.issue({ key, contentType: "application/pdf", maxBytes: bytes.length })
        expect(target.method).toBe("POST")
        expect(target.fields).toMatchObject({ key, "Content-Type": "application/pdf" })
        // 15 minutes by default
        expect(target.expiresAt.getTime() - before).toBeGreaterThanOrEqual(15 * 60_000 - 1_000)
        expect(target.expiresAt.getTime() - before).toBeLessThanOrEqual(15 * 60_000 + 5_000)

        yield* upload(target, bytes, "application/pdf")
        expect(Buffer.from(yield* targets.read(key, bytes.length)).equals(Buffer.from(bytes))).toBe(true)
        // one byte fewer allowed than it holds: refused, not truncated
        expect(yield* failureTag(targets.read(key, bytes.length - 1))).toBe("PayloadTooLarge")

        yield* targets.remove(key)
        expect(yield* failureTag(targets.read(key, bytes.length))).toBe("UploadNotReceived")
        yield* targets.remove(key)
      }).pipe(Effect.provide(layer())))

    it.live("nothing uploaded is UploadNotReceived; a hostile key is refused; an expiry is at most an hour", () =>
      Effect.gen(function* () {
        const targets = yield* UploadTargets
        expect(yield* failureTag(targets.read(incomingKey(randomUUID()), 10))).toBe("UploadNotReceived")
        expect(yield* failureTag(targets.issue({ key: "../etc/passwd", contentType: "text/plain", maxBytes: 1 }))).toBe("InvalidObjectKey")
        expect(yield* failureTag(targets.read("/etc/passwd", 1))).toBe("InvalidObjectKey")
        const before = Date.now()
        const long = yield* targets.issue({ key: incomingKey(randomUUID()), contentType: "text/plain", maxBytes: 1, expiresInSeconds: 86_400 })
        expect(long.expiresAt.getTime() - before).toBeLessThanOrEqual(3600_000 + 5_000)
      }).pipe(Effect.provide(layer())))
  })
