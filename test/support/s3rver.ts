/**
 * s3rver (an S3-protocol server on 127.0.0.1) for the tests of the S3 layers, with the two
 * workarounds it needs on this Node: its DES continuation tokens, and a PUT that answers before
 * the object is written. One server per test file: `startS3rver` in beforeAll, `stop` in afterAll.
 */
import * as fs from "node:fs/promises"
import type * as NodeCrypto from "node:crypto"
import { createHash, randomBytes } from "node:crypto"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"

// s3rver ships no types: the little of it we use, declared here.
interface S3rverOptions {
  readonly port: number
  readonly address: string
  readonly silent: boolean
  readonly directory: string
  readonly configureBuckets: ReadonlyArray<{ readonly name: string }>
}
interface S3rverObject {
  readonly bucket: string
  readonly key: string
  readonly content: AsyncIterable<Uint8Array>
  readonly metadata: unknown
}
interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: "object"): string
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>
  putObject(object: S3rverObject): Promise<{ readonly size: number; readonly md5: string }>
}
interface S3rverServer {
  run(): Promise<AddressInfo>
  close(): Promise<void>
  readonly store: S3rverStore
  readonly httpServer?: { closeAllConnections(): void }
}
const require = createRequire(import.meta.url)
const S3rver = require("s3rver") as new (options: S3rverOptions) => S3rverServer

/**
 * s3rver 3.7 encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3
 * (Node ≥ 17) no longer offers without --openssl-legacy-provider: every second page would be
 * a 500. Triple DES with the key repeated three times is the same cipher byte for byte, so
 * while s3rver runs its "des" is served by "des-ede3-cbc". Only this test process is touched.
 */
export const shimDesForS3rver = (): (() => void) => {
  const cryptoModule = require("node:crypto") as typeof NodeCrypto
  const { createCipheriv, createDecipheriv } = cryptoModule
  type Make = (algorithm: string, key: Uint8Array, iv: Uint8Array | null, options?: unknown) => unknown
  const wrap =
    (make: Make): Make =>
    (algorithm, key, iv, options) =>
      algorithm === "des" ? make("des-ede3-cbc", Buffer.concat([key, key, key]), iv) : make(algorithm, key, iv, options)
  Object.assign(cryptoModule, {
    createCipheriv: wrap(createCipheriv as unknown as Make),
    createDecipheriv: wrap(createDecipheriv as unknown as Make)
  })
  return () => Object.assign(cryptoModule, { createCipheriv, createDecipheriv })
}

/**
 * s3rver 3.7 answers a PUT once the body has gone through its MD5 hash, not once the file is
 * written, and serves a GET from whatever the file holds at that moment: a GET right after a PUT
 * can, rarely, get NoSuchKey or a short body, which S3 (read-after-write consistent) never does.
 * This PUT writes the object file (temp file + rename) before answering.
 */
export const writeBeforeAnswering = (store: S3rverStore) => {
  store.putObject = async (object) => {
    const chunks: Array<Uint8Array> = []
    for await (const chunk of object.content) chunks.push(chunk)
    const content = Buffer.concat(chunks)
    const file = store.getResourcePath(object.bucket, object.key, "object")
    const temp = `${file}.tmp-${randomBytes(8).toString("hex")}`
    await fs.mkdir(path.dirname(file), { recursive: true })
    await fs.writeFile(temp, content)
    await fs.rename(temp, file)
    const md5 = createHash("md5").update(content).digest("hex")
    await store.putMetadata(object.bucket, object.key, object.metadata, md5)
    return { size: content.length, md5 }
  }
}

/** Credentials s3rver accepts (it checks none for POST, and S3RVER/S3RVER for signed requests). */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }

export interface RunningS3rver {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  readonly stop: () => Promise<void>
}

/** s3rver on a free port of 127.0.0.1 with `buckets`, in a temporary directory removed on stop. */
export const startS3rver = async (buckets: ReadonlyArray<string>): Promise<RunningS3rver> => {
  const restoreDes = shimDesForS3rver()
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-s3rver-"))
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) })
  writeBeforeAnswering(server.store)
  const address = await server.run()
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      // keep-alive sockets would hold close() open
      server.httpServer?.closeAllConnections()
      await server.close()
      await fs.rm(directory, { recursive: true, force: true })
      restoreDes()
    }
  }
}

/** What a mobile client does with a presigned POST target: its fields as they are, then the file, as multipart/form-data. */
export const postToTarget = async (
  target: { readonly url: string; readonly method: string; readonly fields: Readonly<Record<string, string>> },
  bytes: Uint8Array,
  contentType: string
): Promise<Response> => {
  const form = new FormData()
  for (const [name, value] of Object.entries(target.fields)) form.append(name, value)
  form.append("file", new Blob([bytes], { type: contentType }), "document")
  return fetch(target.url, { method: target.method, body: form })
}
