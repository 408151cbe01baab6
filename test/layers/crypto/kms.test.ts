/**
 * The KMS provider against aws-sdk-client-mock (no KMS emulator exists): the exact commands
 * sent, the data-key cache, error mapping, and retries on the `kms` schedule under TestClock.
 */
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ReEncryptCommand
} from "@aws-sdk/client-kms"
import { beforeEach, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import { type DataKeyCachePolicy } from "../../../src/layers/crypto/dataKeyCache.js"
import { makeEnvelopeCrypto } from "../../../src/layers/crypto/envelope.js"
import { kmsProvider } from "../../../src/layers/crypto/kms.js"
import { defaultCachePolicy } from "../../../src/layers/crypto/dataKeyCache.js"
import { makeRetrySchedule } from "../../../src/services/resilience.js"
import { documentContext, fieldContext } from "../../../src/services/crypto.js"
import { arnOf, installKmsFake, makeKmsFake } from "../../support/kmsFake.js"
import { userIdOf } from "../../support/ids.js"

const FIELDS_KEY = "alias/serenya-fields"
const DOCUMENTS_KEY = "alias/serenya-documents"
const policy: DataKeyCachePolicy = { maxAge: "5 minutes", maxUses: 5, maxEntries: 100 }

const fake = makeKmsFake()
beforeEach(() => {
  fake.reset()
  installKmsFake(fake)
})

const client = () => new KMSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })

// The kms schedule's delays are proven in the resilience tests; retries here run live on a
// millisecond schedule of the same shape.
/** The typed error when it is the exit's only failure (v3: a cause whose _tag is "Fail"). */
const onlyFailure = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const [only, ...more] = exit.cause.reasons
  return only !== undefined && more.length === 0 && Cause.isFailReason(only) ? only.error : undefined
}

const fastRetry = makeRetrySchedule({ base: "2 millis", maxRetries: 3, maxDelay: "10 millis" })

const makeCrypto = (keys = { fields: FIELDS_KEY, documents: DOCUMENTS_KEY }) =>
  Effect.flatMap(kmsProvider(client(), keys, fastRetry), (provider) =>
    makeEnvelopeCrypto({ provider, cachePolicy: defaultCachePolicy(policy) })
  )

const message = (i: number) => fieldContext(userIdOf("user-1"), "messages", "content_encrypted", `m${i}`)

describe("KMS provider", () => {
  it.effect("GenerateDataKey asks for AES_256 under the fields key with the partition context; Decrypt sends the context back", () =>
    Effect.gen(function* () {
      const c = yield* makeCrypto()
      const envelope = yield* c.sealString("Hemoglobin 11.2 g/dL", message(1))
      const generate = fake.commandCalls(GenerateDataKeyCommand).map((call) => call.args[0].input)
      expect(generate).toEqual([
        { KeyId: arnOf(FIELDS_KEY), KeySpec: "AES_256", EncryptionContext: { purpose: "fields", userId: userIdOf("user-1") } }
      ])
      expect((yield* c.inspect(envelope)).keyId).toBe(arnOf(FIELDS_KEY))

      // A fresh process: its cache is empty, so opening goes to KMS Decrypt.
      const reader = yield* makeCrypto()
      expect(yield* reader.openString(envelope, message(1))).toBe("Hemoglobin 11.2 g/dL")
      const decrypt = fake.commandCalls(DecryptCommand).map((call) => call.args[0].input)
      expect(decrypt).toHaveLength(1)
      expect(decrypt[0]).toMatchObject({
        KeyId: arnOf(FIELDS_KEY),
        EncryptionContext: { purpose: "fields", userId: userIdOf("user-1") }
      })
      expect(fake.commandCalls(DescribeKeyCommand).map((call) => call.args[0].input)).toContainEqual({ KeyId: FIELDS_KEY })
    }).pipe(Effect.scoped)
  )

  it.effect("documents use the documents key and a fresh data key per document", () =>
    Effect.gen(function* () {
      const c = yield* makeCrypto()
      yield* c.seal(new Uint8Array(10), documentContext(userIdOf("user-1"), "jobs/a_original"))
      yield* c.seal(new Uint8Array(10), documentContext(userIdOf("user-1"), "jobs/b_original"))
      const generate = fake.commandCalls(GenerateDataKeyCommand).map((call) => call.args[0].input)
      expect(generate).toHaveLength(2)
      for (const input of generate) {
        expect(input).toEqual({
          KeyId: arnOf(DOCUMENTS_KEY),
          KeySpec: "AES_256",
          EncryptionContext: { purpose: "documents", userId: userIdOf("user-1") }
        })
      }
    }).pipe(Effect.scoped)
  )

  it.effect("seals inside the cache bounds make one KMS call; past maxUses a new data key", () =>
    Effect.gen(function* () {
      const c = yield* makeCrypto()
      for (let i = 0; i < 5; i++) yield* c.sealString(`message ${i}`, message(i))
      expect(fake.commandCalls(GenerateDataKeyCommand)).toHaveLength(1)
      yield* c.sealString("message 5", message(5))
      expect(fake.commandCalls(GenerateDataKeyCommand)).toHaveLength(2)
    }).pipe(Effect.scoped)
  )

  it.effect("past maxAge a new data key, even with uses left", () =>
    Effect.gen(function* () {
      const c = yield* makeCrypto()
      yield* c.sealString("a", message(1))
      yield* TestClock.adjust("5 minutes")
      yield* c.sealString("b", message(2))
      expect(fake.commandCalls(GenerateDataKeyCommand)).toHaveLength(2)
    }).pipe(Effect.scoped)
  )

  it.effect("reading many fields sealed under one data key makes one Decrypt call", () =>
    Effect.gen(function* () {
      const writer = yield* makeCrypto()
      const envelopes = yield* Effect.forEach([0, 1, 2, 3, 4], (i) => writer.sealString(`m${i}`, message(i)))
      const reader = yield* makeCrypto()
      for (const [i, envelope] of envelopes.entries()) expect(yield* reader.openString(envelope, message(i))).toBe(`m${i}`)
      expect(fake.commandCalls(DecryptCommand)).toHaveLength(1)
    }).pipe(Effect.scoped)
  )

  it.effect("another user's context: KMS refuses the key (InvalidCiphertext) → DecryptionFailed, no retry", () =>
    Effect.gen(function* () {
      const envelope = yield* Effect.flatMap(makeCrypto(), (c) => c.sealString("x", message(1)))
      const reader = yield* makeCrypto()
      const exit = yield* Effect.exit(reader.open(envelope, fieldContext(userIdOf("user-2"), "messages", "content_encrypted", "m1")))
      expect(onlyFailure(exit)?._tag).toBe("DecryptionFailed")
      expect(fake.commandCalls(DecryptCommand)).toHaveLength(1)
    }).pipe(Effect.scoped)
  )

  it.live("throttling is retried, then succeeds", () =>
    Effect.gen(function* () {
      const throttled = Object.assign(new Error("slow down"), { name: "ThrottlingException" })
      fake.on(GenerateDataKeyCommand).rejectsOnce(throttled).rejectsOnce(throttled).callsFake(async (input: { KeyId: string; EncryptionContext?: Record<string, string> }) => {
        const key = new Uint8Array(32).fill(3)
        return { KeyId: arnOf(input.KeyId), Plaintext: key, CiphertextBlob: new Uint8Array([1, 2, 3]) }
      })
      const c = yield* makeCrypto()
      const envelope = yield* c.sealString("x", message(1))
      expect(envelope.length).toBeGreaterThan(0)
      expect(fake.commandCalls(GenerateDataKeyCommand)).toHaveLength(3)
    }).pipe(Effect.scoped)
  )

  it.live("a KMS that keeps throttling → KeyUnavailable (transient) after 1 + 3 attempts", () =>
    Effect.gen(function* () {
      fake.on(GenerateDataKeyCommand).rejects(Object.assign(new Error("throttled"), { name: "ThrottlingException" }))
      const c = yield* makeCrypto()
      const exit = yield* Effect.exit(c.sealString("x", message(1)))
      expect(onlyFailure(exit)).toMatchObject({
        _tag: "KeyUnavailable",
        transient: true
      })
      expect(fake.commandCalls(GenerateDataKeyCommand)).toHaveLength(4)
    }).pipe(Effect.scoped)
  )

  it.effect("a disabled key → KeyUnavailable (not transient), without retries", () =>
    Effect.gen(function* () {
      fake.on(GenerateDataKeyCommand).rejects(Object.assign(new Error("disabled"), { name: "DisabledException" }))
      const c = yield* makeCrypto()
      const exit = yield* Effect.exit(c.sealString("x", message(1)))
      expect(onlyFailure(exit)).toMatchObject({
        _tag: "KeyUnavailable",
        transient: false
      })
      expect(fake.commandCalls(GenerateDataKeyCommand)).toHaveLength(1)
    }).pipe(Effect.scoped)
  )

  it.effect("rewrap after the fields key changed: ReEncrypt with both contexts, never a plaintext key out of KMS", () =>
    Effect.gen(function* () {
      const old = yield* makeCrypto()
      const envelope = yield* old.sealString("Ferritin 8 ng/mL", message(1))
      const next = yield* makeCrypto({ fields: "alias/serenya-fields-2026", documents: DOCUMENTS_KEY })
      const moved = yield* next.rewrap(envelope, message(1))
      const reEncrypt = fake.commandCalls(ReEncryptCommand).map((call) => call.args[0].input)
      expect(reEncrypt).toEqual([
        {
          CiphertextBlob: expect.any(Uint8Array),
          SourceKeyId: arnOf(FIELDS_KEY),
          SourceEncryptionContext: { purpose: "fields", userId: userIdOf("user-1") },
          DestinationKeyId: arnOf("alias/serenya-fields-2026"),
          DestinationEncryptionContext: { purpose: "fields", userId: userIdOf("user-1") }
        }
      ])
      expect((yield* next.inspect(moved)).keyId).toBe(arnOf("alias/serenya-fields-2026"))
      const reader = yield* makeCrypto({ fields: "alias/serenya-fields-2026", documents: DOCUMENTS_KEY })
      expect(yield* reader.openString(moved, message(1))).toBe("Ferritin 8 ng/mL")
    }).pipe(Effect.scoped)
  )
})
