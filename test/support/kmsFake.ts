/**
 * A KMS stand-in for aws-sdk-client-mock (no KMS emulator exists): it keeps real semantics that
 * the tests rely on — a wrapped key only decrypts under the key and EncryptionContext it was
 * generated with, ReEncrypt moves it to another key — and records every command it was sent.
 */
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ReEncryptCommand
} from "@aws-sdk/client-kms"
import { mockClient } from "aws-sdk-client-mock"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"

const ACCOUNT = "arn:aws:kms:eu-west-1:111122223333:key/"
export const arnOf = (keyId: string) => (keyId.startsWith("arn:") ? keyId : `${ACCOUNT}${keyId.replace(/^alias\//, "")}`)

// The fake's own secret: a wrapped key is AES-GCM(keyArn + context) of the data key.
const SECRET = randomBytes(32)

const aadOf = (arn: string, context: Record<string, string> | undefined) =>
  Buffer.from(JSON.stringify([arn, Object.entries(context ?? {}).sort()]))

const wrap = (arn: string, context: Record<string, string> | undefined, key: Uint8Array): Uint8Array => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", SECRET, iv)
  cipher.setAAD(aadOf(arn, context))
  const body = Buffer.concat([cipher.update(key), cipher.final()])
  const arnBytes = Buffer.from(arn)
  return Buffer.concat([Buffer.from([arnBytes.length]), arnBytes, iv, cipher.getAuthTag(), body])
}

const unwrap = (blob: Uint8Array, context: Record<string, string> | undefined): { arn: string; key: Uint8Array } => {
  const buffer = Buffer.from(blob)
  const length = buffer[0] ?? 0
  const arn = buffer.subarray(1, 1 + length).toString()
  const iv = buffer.subarray(1 + length, 13 + length)
  const tag = buffer.subarray(13 + length, 29 + length)
  const decipher = createDecipheriv("aes-256-gcm", SECRET, iv)
  decipher.setAAD(aadOf(arn, context))
  decipher.setAuthTag(tag)
  try {
    const key = Buffer.concat([decipher.update(buffer.subarray(29 + length)), decipher.final()])
    return { arn, key }
  } catch {
    throw Object.assign(new Error("invalid ciphertext"), { name: "InvalidCiphertextException" })
  }
}

/** Mocks every KMSClient; call `installKmsFake(mock)` again after `mock.reset()`. */
export const makeKmsFake = () => installKmsFake(mockClient(KMSClient))

export const installKmsFake = <M extends ReturnType<typeof mockClient>>(mock: M): M => {
  mock.on(DescribeKeyCommand).callsFake(async (input: { KeyId: string }) => ({
    KeyMetadata: { Arn: arnOf(input.KeyId), KeyId: input.KeyId }
  }))
  mock.on(GenerateDataKeyCommand).callsFake(async (input: { KeyId: string; EncryptionContext?: Record<string, string> }) => {
    const key = randomBytes(32)
    const arn = arnOf(input.KeyId)
    return { KeyId: arn, Plaintext: Uint8Array.from(key), CiphertextBlob: wrap(arn, input.EncryptionContext, key) }
  })
  mock.on(DecryptCommand).callsFake(
    async (input: { CiphertextBlob: Uint8Array; KeyId?: string; EncryptionContext?: Record<string, string> }) => {
      const { arn, key } = unwrap(input.CiphertextBlob, input.EncryptionContext)
      if (input.KeyId && arnOf(input.KeyId) !== arn) {
        throw Object.assign(new Error("incorrect key"), { name: "IncorrectKeyException" })
      }
      return { KeyId: arn, Plaintext: key }
    }
  )
  mock.on(ReEncryptCommand).callsFake(
    async (input: {
      CiphertextBlob: Uint8Array
      SourceEncryptionContext?: Record<string, string>
      DestinationKeyId: string
      DestinationEncryptionContext?: Record<string, string>
    }) => {
      const { arn, key } = unwrap(input.CiphertextBlob, input.SourceEncryptionContext)
      const destination = arnOf(input.DestinationKeyId)
      return { SourceKeyId: arn, KeyId: destination, CiphertextBlob: wrap(destination, input.DestinationEncryptionContext, key) }
    }
  )
  return mock
}
