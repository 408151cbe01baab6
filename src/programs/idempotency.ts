/**
 * Idempotency-Key handling shared by every endpoint that honours it (uploads, chat questions).
 * A key belongs to a user and a scope; for 24 h it replays the first answer to the same request
 * and refuses another request (409). The key row is claimed in the same transaction as the work,
 * so of two concurrent requests with one key exactly one does the work and the other replays it
 * (the rows: repos/idempotencyKeys.ts). Here: what a valid key is, and how requests are told apart.
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { bytea } from "../services/database.js"
import { InvalidRequest } from "../services/errors.js"

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255
// Printable ASCII: keys come from a header and go into logs and SQL parameters only.
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]+$/

export const validateIdempotencyKey = (key: string | undefined): Effect.Effect<string | undefined, InvalidRequest> =>
  key === undefined || (key.length <= MAX_IDEMPOTENCY_KEY_LENGTH && IDEMPOTENCY_KEY_PATTERN.test(key))
    ? Effect.succeed(key)
    : Effect.fail(
      new InvalidRequest({
        message: `The Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`
      })
    )

/**
 * Identifies a request: its parts as JSON (self-delimiting), then any raw bytes, bound to the
 * user, scope and key, so equal requests of two users or two keys never hash alike.
 */
export const requestFingerprint = (parts: ReadonlyArray<unknown>, bytes?: Uint8Array): Buffer => {
  const hash = createHash("sha256").update(JSON.stringify(["serenya/idempotency/v1", ...parts]))
  if (bytes !== undefined) hash.update(bytes)
  return hash.digest()
}

export const sameFingerprint = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(bytea(a), bytea(b)) === 0
