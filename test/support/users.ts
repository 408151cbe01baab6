/**
 * Users for program tests, inserted directly: the id is chosen first so that the email and name
 * can be sealed for that row, and `email_hash` is the HMAC the app computes under the test lookup
 * key (UserLookupKeyMemory), so these users are found by sign-in exactly like real ones.
 */
import { SqlClient } from "effect/sql"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { testUserLookupKey } from "../../src/layers/auth/memory.js"
import { normaliseEmail } from "../../src/programs/users.js"
import { Crypto, fieldContext } from "../../src/services/crypto.js"
import { bytea } from "../../src/services/database.js"
import { UserId } from "../../src/services/ids.js"

export const emailHash = (email: string): Buffer => bytea(testUserLookupKey.hmac(normaliseEmail(email)))

export const createUser = (input: { readonly email: string; readonly name?: string }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const crypto = yield* Crypto
    const userId = UserId.make(randomUUID())
    const email = yield* crypto.sealString(normaliseEmail(input.email), fieldContext(userId, "users", "email_encrypted", userId))
    const name =
      input.name === undefined
        ? null
        : bytea(yield* crypto.sealString(input.name, fieldContext(userId, "users", "name_encrypted", userId)))
    yield* sql`
      INSERT INTO users (id, email_hash, email_encrypted, name_encrypted)
      VALUES (${userId}::uuid, ${emailHash(input.email)}, ${bytea(email)}, ${name})`
    return userId
  })

let counter = 0

/** A user with a unique address. */
export const newUser = (name?: string) =>
  createUser({ email: `user-${++counter}-${randomUUID().slice(0, 8)}@example.com`, ...(name === undefined ? {} : { name }) })
