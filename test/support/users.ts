/**
 * Users for program tests, inserted directly: the id is chosen first so that the email and name
 * can be sealed for that row. `email_hash` is sha256 of the lower-cased address until the auth
 * slice defines the real lookup hash.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { createHash, randomUUID } from "node:crypto"
import { UserId } from "../../src/services/ids.js"
import { Crypto, fieldContext } from "../../src/services/crypto.js"

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

export const emailHash = (email: string): Buffer => createHash("sha256").update(email.trim().toLowerCase()).digest()

export const createUser = (input: { readonly email: string; readonly name?: string }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const crypto = yield* Crypto
    const userId = UserId.make(randomUUID())
    const email = yield* crypto.sealString(input.email, fieldContext(userId, "users", "email_encrypted", userId))
    const name =
      input.name === undefined
        ? null
        : asBuffer(yield* crypto.sealString(input.name, fieldContext(userId, "users", "name_encrypted", userId)))
    yield* sql`
      INSERT INTO users (id, email_hash, email_encrypted, name_encrypted)
      VALUES (${userId}::uuid, ${emailHash(input.email)}, ${asBuffer(email)}, ${name})`
    return userId
  })

let counter = 0

/** A user with a unique address. */
export const newUser = (name?: string) =>
  createUser({ email: `user-${++counter}-${randomUUID().slice(0, 8)}@example.com`, ...(name === undefined ? {} : { name }) })
