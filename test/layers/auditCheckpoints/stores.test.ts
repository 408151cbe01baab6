/**
 * The audit key and checkpoint adapters: S3 checkpoints are put under Object Lock in compliance
 * mode (s3rver has no Object Lock, so the request is asserted with aws-sdk-client-mock), the
 * latest is found by one listing; the file store is write-once and 0600, for real; KMS derives
 * with GenerateMac (HMAC_SHA_256); the local key file is created once, 0600.
 */
import { GenerateMacCommand, KMSClient } from "@aws-sdk/client-kms"
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { describe, expect, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Effect, Option } from "effect"
import { createHmac } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeFileCheckpoints } from "../../../src/layers/auditCheckpoints/file.js"
import { CHECKPOINT_PREFIX, makeS3Checkpoints } from "../../../src/layers/auditCheckpoints/s3.js"
import { kmsAuditMac } from "../../../src/layers/auditMac/kms.js"
import { loadLocalAuditKey } from "../../../src/layers/auditMac/local.js"
import { type AuditCheckpoint, CHECKPOINT_VERSION, checkpointName } from "../../../src/services/auditCheckpoints.js"

const checkpoint = (position: number): AuditCheckpoint => ({
  version: CHECKPOINT_VERSION,
  position,
  seq: position + 10,
  head: "ab".repeat(32),
  epoch: "2026-12",
  at: "2026-12-06T00:00:00.000Z",
  mac: "cd".repeat(32)
})

describe("S3 checkpoints", () => {
  it.effect("are put with ObjectLockMode COMPLIANCE, a retain-until date, a checksum, under names that list the latest first", () =>
    Effect.gen(function* () {
      const s3 = mockClient(S3Client)
      s3.on(PutObjectCommand).resolves({})
      const now = new Date("2026-12-06T00:00:00Z")
      const store = makeS3Checkpoints(new S3Client({ region: "eu-west-1" }), { bucket: "checkpoints", retentionDays: 2190, now: () => now })
      yield* store.write(checkpoint(7))
      const [call] = s3.commandCalls(PutObjectCommand)
      const input = call!.args[0].input
      expect(input).toMatchObject({
        Bucket: "checkpoints",
        Key: `${CHECKPOINT_PREFIX}${checkpointName(7)}`,
        ObjectLockMode: "COMPLIANCE",
        ContentType: "application/json"
      })
      expect(input.ObjectLockRetainUntilDate).toEqual(new Date(now.getTime() + 2190 * 24 * 60 * 60 * 1000))
      expect(input.ContentMD5).toMatch(/^[A-Za-z0-9+/]{22}==$/)
      expect(checkpointName(8) < checkpointName(7)).toBe(true)

      s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `${CHECKPOINT_PREFIX}${checkpointName(7)}` }] })
      s3.on(GetObjectCommand).resolves({ Body: { transformToString: async () => JSON.stringify(checkpoint(7)) } as never })
      expect(yield* store.latest).toEqual(Option.some(checkpoint(7)))
      expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toMatchObject({ Prefix: CHECKPOINT_PREFIX, MaxKeys: 1 })
      s3.restore()
    })
  )
})

describe("file checkpoints", () => {
  it.effect("are written once (0600), and the latest is the highest position", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serenya-cp-"))
      try {
        const store = makeFileCheckpoints(path.join(dir, "audit-checkpoints"))
        expect(yield* store.latest).toEqual(Option.none())
        yield* store.write(checkpoint(3))
        yield* store.write(checkpoint(12))
        yield* store.write({ ...checkpoint(12), head: "ef".repeat(32) })
        expect(yield* store.latest).toEqual(Option.some(checkpoint(12)))
        const file = path.join(dir, "audit-checkpoints", checkpointName(12))
        expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  )
})

describe("audit key", () => {
  it.effect("KMS: one GenerateMac (HMAC_SHA_256) of the label with the configured key", () =>
    Effect.gen(function* () {
      const kms = mockClient(KMSClient)
      const secret = Buffer.alloc(32, 5)
      kms.on(GenerateMacCommand).callsFake(async (input: { Message: Uint8Array }) => ({
        Mac: createHmac("sha256", secret).update(input.Message).digest()
      }))
      const mac = kmsAuditMac(new KMSClient({ region: "eu-west-1" }), "alias/serenya-audit")
      const key = yield* mac.derive("serenya.audit.chain.v2:2026-12")
      expect(Buffer.from(key).equals(createHmac("sha256", secret).update("serenya.audit.chain.v2:2026-12").digest())).toBe(true)
      expect(kms.commandCalls(GenerateMacCommand)[0]!.args[0].input).toMatchObject({ KeyId: "alias/serenya-audit", MacAlgorithm: "HMAC_SHA_256" })
      kms.restore()
    })
  )

  it.effect("local: created once under DATA_DIR/keys (0600) and read back the same", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serenya-key-"))
      try {
        const first = yield* loadLocalAuditKey(dir)
        const second = yield* loadLocalAuditKey(dir)
        expect(first.equals(second)).toBe(true)
        expect(first).toHaveLength(32)
        expect(fs.statSync(path.join(dir, "keys", "audit-mac.key")).mode & 0o777).toBe(0o600)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  )
})
